"""Designs: the sample size (or the check of a fixed-size experiment) that makes a test
meet both of its error rates. ONE entry point, :func:`sample_size`, and one set of
constants (``PILOT``, ``INFLATE``, ``DESIGN_ENTROPY``, ``MAX_SAMPLES``), used by the
assertion kinds (proofs.stats.assertions), the runner, proofs.testing and
``nnmath activation``.

Every test has two error rates, both chosen by the caller:

* ``false_fail_rate`` (α): the probability that a *correct* value is rejected;
* ``false_pass_rate`` (β): the probability that the *foil* (a stated wrong value at
  distance δ = |exact − foil| from the truth) is **not** rejected by the same experiment.

Methods of :func:`sample_size`, rigorous first:

``dkwm``       Dvoretzky–Kiefer–Wolfowitz–Massart: P(sup|F_n − F| > ε) ≤ 2 exp(−2nε²) for any
               distribution (discrete ones included). Rigorous. Design:
               √n · D ≥ √(ln(2/α)/2) + √(ln(2/β)/2), D = sup|F − F_foil|.
``hoeffding``  mean of samples in an interval of length w (also the design of the exact
               Binomial test): √n · δ/w ≥ √(ln(2/α)/2) + √(ln(1/β)/2). Rigorous.
``clt-z``      z = (estimate − exact)/SE against the normal distribution. An
               **approximation** (central limit theorem; at the extreme quantiles a
               Bonferroni budget asks for, the normal tail is not guaranteed for skewed or
               heavy-tailed samples). Design: √n · δ ≥ (z_{α/2} + z_β) · sd, where sd bounds
               the standard deviation of one sample's contribution.
``exact``      deterministic computations compared with a tolerance set by float64
               rounding ("z" is the error in units of the tolerance); no design.

Where the per-sample sd comes from (``clt-z``), best first:

1. a **stated bound** from moments known to exist, e.g. :func:`sd_from_moments` with a
   derived E[y²] (for a test of E[f²], y = f² and E[y²] = E[f⁴]): no randomness at all.
   An infinite or undefined E[y²] raises :class:`CannotSize` (the CLT test does not apply).
2. a **pilot** of ``PILOT`` samples on the FIXED design stream :func:`design_seed`
   (``SeedSequence(DESIGN_ENTROPY, spawn_key=(crc32(label),))``), inflated by ``INFLATE``.
   Fixed-size experiments (one network, one batch) run once on the same stream and their
   SE, inflated by ``INFLATE``, must satisfy (z_{α/2} + z_β)·SE ≤ δ (:func:`check_se`).

Error accounting. A verdict is wrong when a correct value is rejected (probability α per
test: the test statistic uses the run's OWN samples and SE, so α holds whatever the
design chose) or when the foil is not rejected (probability β per test, given enough
power). The design never looks at the run's seed: it is a deterministic function of the
claim (its label, exact value, foil, bounds) and of (α, β). So a design either refuses
on every seed (a defect of the claim, caught once by the test suite) or on none; it adds
no random failure and nothing to the budget. The pilot's own sampling error affects only
the power (β): ``INFLATE`` = 1.25 covers it (relative error of a 200 000-sample sd is
below 1% for light tails; stated, not proved). The runner's Bonferroni split then bounds
the probability that a correct suite reports any failure by the suite's budget.

When the budget cannot be met (a sample size above the cap, an SE too large for the gap,
moments that do not exist) the design raises :class:`CannotSize`, a distinct outcome
with a message saying what would be needed, instead of running a test that must fail.
"""
from __future__ import annotations

import dataclasses
import math
import zlib

PILOT = 200_000  # samples in a Monte Carlo pilot
INFLATE = 1.25  # safety factor on a pilot's sd or a fixed experiment's SE
DESIGN_ENTROPY = 0x6E6E6D617468  # "nnmath": the fixed seed of every design pilot
MAX_SAMPLES = 50_000_000  # default cap of a designed sample size
METHODS = ("clt-z", "hoeffding", "dkwm")


class DesignError(RuntimeError):
    """An experiment was asked to run with fewer samples than its design requires."""


class CannotSize(DesignError):
    """The experiment cannot be sized at the requested error rates (sample size above
    the cap, SE too large for the gap, or a needed moment that does not exist). This is
    a verdict about the design, not a failed test."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Design:
    """The outcome of a design: ``n`` samples required (1 for a fixed-size experiment
    whose SE passed :func:`check_se`), the per-sample ``sd`` used (None when the method
    needs none), and how it was obtained."""

    n: int
    sd: float | None = None
    note: str = ""


def check_rate(rate: float, name: str) -> None:
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate < 1:
        raise ValueError(f"{name} must be a probability strictly between 0 and 1, got {rate!r}")


def z_two_sided(alpha: float) -> float:
    """The normal quantile z with P(|Z| > z) = alpha."""
    from scipy.special import ndtri
    check_rate(alpha, "false_fail_rate")
    return float(-ndtri(alpha / 2))


def z_one_sided(beta: float) -> float:
    """The normal quantile z with P(Z > z) = beta."""
    from scipy.special import ndtri
    check_rate(beta, "false_pass_rate")
    return float(-ndtri(beta))


def _check_gap(delta: float) -> float:
    delta = abs(float(delta))
    if not delta > 0 or not math.isfinite(delta):
        raise ValueError(f"the foil must differ from the exact value (finite gap), got gap {delta}")
    return delta


def required_se(gap: float, false_fail_rate: float, false_pass_rate: float) -> float:
    """The largest SE with which a CLT z-test separates values ``gap`` apart:
    δ / (z_{α/2} + z_β)."""
    return _check_gap(gap) / (z_two_sided(false_fail_rate) + z_one_sided(false_pass_rate))


def sample_size(gap: float, false_fail_rate: float, false_pass_rate: float, *,
                method: str = "clt-z", sd: float | None = None, width: float = 1.0,
                cap: int | None = None, what: str = "the experiment") -> int:
    """THE design: the smallest n for which ``method`` (module docstring) rejects a
    correct value with probability ≤ α and keeps a foil ``gap`` away with probability
    ≤ β. ``sd``: per-sample standard deviation bound (``clt-z``); ``width``: length of the
    interval holding the samples (``hoeffding``); ``gap`` is the CDFs' sup-distance for
    ``dkwm``. Above ``cap`` (when given), or with an infinite sd, raises CannotSize."""
    check_rate(false_fail_rate, "false_fail_rate")
    check_rate(false_pass_rate, "false_pass_rate")
    if method == "clt-z":
        if sd is None or math.isnan(sd) or sd < 0:
            raise ValueError(f"{what}: the CLT design needs a non-negative sd bound, got {sd}")
        if math.isinf(sd):
            raise CannotSize(f"{what}: the per-sample standard deviation is infinite, so no "
                             f"sample size makes the CLT test meet its error rates")
        root = sd / required_se(gap, false_fail_rate, false_pass_rate)
    elif method == "hoeffding":
        root = ((math.sqrt(math.log(2 / false_fail_rate) / 2)
                 + math.sqrt(math.log(1 / false_pass_rate) / 2)) * width / _check_gap(gap))
    elif method == "dkwm":
        root = ((math.sqrt(math.log(2 / false_fail_rate) / 2)
                 + math.sqrt(math.log(2 / false_pass_rate) / 2)) / _check_gap(gap))
    else:
        raise ValueError(f"unknown design method {method!r}; expected one of {METHODS}")
    n = max(2, math.ceil(root ** 2))
    if cap is not None and n > cap:
        raise CannotSize(f"{what}: separating values {abs(gap):.4g} apart at false-fail "
                         f"{false_fail_rate:.1e} and false-pass {false_pass_rate:.1e} needs "
                         f"{n:,} samples, more than the cap of {cap:,}")
    return n


def check_se(se: float, gap: float, false_fail_rate: float, false_pass_rate: float, *,
             what: str = "the experiment") -> Design:
    """Design check of a fixed-size experiment with (pilot) standard error ``se``:
    (z_{α/2} + z_β)·INFLATE·se ≤ gap, else CannotSize."""
    limit = required_se(gap, false_fail_rate, false_pass_rate)
    if not INFLATE * se <= limit:  # also refuses a NaN se
        raise CannotSize(f"{what}: the design pilot's standard error {se:.3g} (×{INFLATE}) "
                         f"is too large to separate values {abs(gap):.4g} apart at "
                         f"false-fail {false_fail_rate:.1e}, false-pass {false_pass_rate:.1e}:"
                         f" need SE ≤ {limit / INFLATE:.3g}")
    return Design(n=1, sd=INFLATE * se, note=f"SE from a fixed-seed pilot ×{INFLATE}")


def sd_from_moments(mean: float, second: float, *, what: str = "y") -> float:
    """Standard deviation of one sample y from E[y] and E[y²] (known to exist):
    √(E[y²] − E[y]²). For a test of E[f²] pass E[f²] and E[f⁴]. An infinite or undefined
    E[y²] raises CannotSize (the variance the CLT needs does not exist)."""
    mean, second = float(mean), float(second)
    if math.isnan(second) or math.isinf(second) or math.isnan(mean) or math.isinf(mean):
        raise CannotSize(f"E[{what}²] is not finite ({second}): the variance of {what} does "
                         f"not exist, so a CLT test of E[{what}] cannot be sized")
    return math.sqrt(max(second - mean * mean, 0.0))


def pilot_sd(statistic_sd: float) -> float:
    """The design's sd from a pilot's sample sd: INFLATE × sd."""
    return INFLATE * float(statistic_sd)


def design_seed(label: str):
    """The fixed design stream of the assertion ``label`` (independent of the run seed)."""
    import numpy as np
    return np.random.SeedSequence(DESIGN_ENTROPY, spawn_key=(zlib.crc32(label.encode()),))


# ---- the named designs callers already use (all through sample_size) ---------------------
def n_for_z_test(sd: float, delta: float, false_fail_rate: float,
                 false_pass_rate: float) -> int:
    """CLT design: √n δ ≥ (z_{α/2} + z_β) sd (normal approximation, stated)."""
    return sample_size(delta, false_fail_rate, false_pass_rate, method="clt-z", sd=sd)


def n_for_hoeffding(delta: float, false_fail_rate: float, false_pass_rate: float,
                    width: float = 1.0) -> int:
    """Hoeffding design for a mean of values in an interval of length ``width``."""
    return sample_size(delta, false_fail_rate, false_pass_rate, method="hoeffding",
                       width=width)


def n_for_dkwm(distance: float, false_fail_rate: float, false_pass_rate: float) -> int:
    """DKWM design: the foil's CDF is at sup-distance ``distance`` from the truth."""
    return sample_size(distance, false_fail_rate, false_pass_rate, method="dkwm")


def hoeffding_radius(n: int, alpha: float, width: float = 1.0) -> float:
    """(b − a)√(ln(2/α)/(2n)): |mean − μ| exceeds it with probability ≤ α."""
    return width * math.sqrt(math.log(2 / alpha) / (2 * n))


def dkwm_radius(n: int, alpha: float) -> float:
    """ε with P(sup|F_n − F| > ε) ≤ 2 exp(−2nε²) = α (Massart's constant)."""
    return math.sqrt(math.log(2 / alpha) / (2 * n))
