"""Statistical tests with stated error rates, and the design checks that size them.

Every test here has two error rates, both chosen by the caller:

* ``false_fail_rate`` (α): the probability that a *correct* value is rejected;
* ``false_pass_rate`` (β): the probability that the *foil* (a stated wrong value at
  distance δ from the truth) is **not** rejected by the same experiment.

A design function returns the smallest sample size for which both rates hold; experiments
refuse to run with fewer samples (``DesignError``).

Tests, rigorous first:

``dkwm``       Dvoretzky–Kiefer–Wolfowitz–Massart: P(sup|F_n − F| > ε) ≤ 2 exp(−2nε²) for any
               distribution (discrete ones included). Rigorous. Design:
               √n · D ≥ √(ln(2/α)/2) + √(ln(2/β)/2), D = sup|F − F_foil|.
``binomial``   exact two-sided Binomial test (Clopper–Pearson style p-value from SciPy).
               Design by Hoeffding (rigorous): √n · δ ≥ √(ln(2/α)/2) + √(ln(1/β)/2).
``hoeffding``  mean of samples bounded in [a, b]: |x̄ − μ| ≤ (b − a)√(ln(2/α)/(2n)). Rigorous.
``clt-z``      z = (estimate − exact)/SE with a normal reference distribution. This is an
               **approximation** (central limit theorem; at the extreme quantiles a
               Bonferroni budget asks for, the normal tail is not guaranteed for skewed or
               heavy-tailed samples). Design: √n · δ ≥ (z_{α/2} + z_β) · sd.
``exact``      deterministic computations compared with a tolerance set by float64
               rounding; "z" is the error in units of the tolerance.
"""
from __future__ import annotations

import math


class DesignError(RuntimeError):
    """An experiment was asked to run with fewer samples than its design requires."""


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


def check_rate(rate: float, name: str) -> None:
    if not isinstance(rate, (int, float)) or not 0 < rate < 1:
        raise ValueError(f"{name} must be a probability strictly between 0 and 1, got {rate!r}")


def _check_gap(delta: float) -> float:
    delta = abs(float(delta))
    if not delta > 0 or not math.isfinite(delta):
        raise ValueError(f"the foil must differ from the exact value (finite gap), got gap {delta}")
    return delta


# ---- design: smallest sample sizes -------------------------------------------------------
def n_for_z_test(sd: float, delta: float, false_fail_rate: float,
                 false_pass_rate: float) -> int:
    """CLT design: √n δ ≥ (z_{α/2} + z_β) sd (normal approximation, stated)."""
    delta = _check_gap(delta)
    if not sd >= 0:
        raise ValueError(f"sd must be non-negative, got {sd}")
    z = z_two_sided(false_fail_rate) + z_one_sided(false_pass_rate)
    return max(2, math.ceil((z * sd / delta) ** 2))


def hoeffding_radius(n: int, alpha: float, width: float = 1.0) -> float:
    """(b − a)√(ln(2/α)/(2n)): |mean − μ| exceeds it with probability ≤ α."""
    return width * math.sqrt(math.log(2 / alpha) / (2 * n))


def n_for_hoeffding(delta: float, false_fail_rate: float, false_pass_rate: float,
                    width: float = 1.0) -> int:
    """Hoeffding design for a mean of values in an interval of length ``width``."""
    delta = _check_gap(delta) / width
    root = (math.sqrt(math.log(2 / false_fail_rate) / 2)
            + math.sqrt(math.log(1 / false_pass_rate) / 2))
    return max(2, math.ceil((root / delta) ** 2))


def dkwm_radius(n: int, alpha: float) -> float:
    """ε with P(sup|F_n − F| > ε) ≤ 2 exp(−2nε²) = α (Massart's constant)."""
    return math.sqrt(math.log(2 / alpha) / (2 * n))


def n_for_dkwm(distance: float, false_fail_rate: float, false_pass_rate: float) -> int:
    """DKWM design: the foil's CDF is at sup-distance ``distance`` from the truth."""
    distance = _check_gap(distance)
    root = (math.sqrt(math.log(2 / false_fail_rate) / 2)
            + math.sqrt(math.log(2 / false_pass_rate) / 2))
    return max(2, math.ceil((root / distance) ** 2))
