"""Assertion kinds a claim returns. All follow one protocol, :class:`Assertion`:

* ``label``, ``foil_name``, ``count`` (how many tests it contributes to the budget);
* ``design(false_fail_rate, false_pass_rate) -> Design``: deterministic, takes no seed
  (proofs.stats.design: stated bounds, or a pilot on the fixed design stream of the
  label); raises ``CannotSize`` when the rates cannot be met;
* ``run(seed, false_fail_rate, false_pass_rate, design=None) -> [(label, TestResult)]``:
  samples from ``seed`` (a ``numpy.random.SeedSequence``) and tests; ``design`` is the
  (cached) result of ``design(...)``, computed when not given.

Kinds:

* ``Moment``        mean / second moment / variance of i.i.d. samples (CLT z-test); the
                    per-sample sd for the design is a stated bound or a pilot (×INFLATE).
* ``Estimate``      a fixed-size experiment returning (estimate, SE); design check
                    (z_{α/2} + z_β)·INFLATE·SE_pilot ≤ |exact − foil|.
* ``Profile``       several estimates from ONE experiment run (e.g. every layer of one
                    network); the same design check per entry.
* ``Distribution``  integer samples against a CDF (DKWM, rigorous).
* ``Proportion``    successes out of trials against a probability (exact Binomial test,
                    Hoeffding design).
* ``Exact``         deterministic computation against an exact value within a tolerance.
* ``Behaviour``     a check that must hold for the real implementation and fail for a
                    foil implementation (e.g. "raises a clear error"); no numbers.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from . import design as D
from . import results as R
from .design import Design, DesignError
from .results import TestResult

CHUNK_ROUND = 1 << 16  # designed sample sizes are rounded up to a multiple of this

__all__ = ["Assertion", "Behaviour", "Distribution", "Estimate", "Exact", "Moment",
           "Profile", "Proportion"]


@runtime_checkable
class Assertion(Protocol):
    """What the runner needs from every assertion kind (module docstring)."""

    label: str
    foil_name: str

    @property
    def count(self) -> int: ...

    def design(self, false_fail_rate: float, false_pass_rate: float) -> Design: ...

    def run(self, seed: Any, false_fail_rate: float, false_pass_rate: float,
            design: Design | None = None) -> list[tuple[str, TestResult]]: ...


class _Single:
    """One test per assertion: ``count`` = 1, ``run`` = [(label, self.test(...))]."""

    label: str

    @property
    def count(self) -> int:
        return 1

    def design(self, false_fail_rate: float, false_pass_rate: float) -> Design:
        return Design(n=1, note="no design: a deterministic check")

    def test(self, seed: Any, alpha: float, beta: float, design: Design) -> TestResult:
        raise NotImplementedError

    def run(self, seed: Any, false_fail_rate: float, false_pass_rate: float,
            design: Design | None = None) -> list[tuple[str, TestResult]]:
        if design is None:
            design = self.design(false_fail_rate, false_pass_rate)
        return [(self.label, self.test(seed, false_fail_rate, false_pass_rate, design))]


def _main_stream(seed):
    """The run's sampling stream (the first child of the assertion's seed)."""
    import numpy as np
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return ss.spawn(1)[0]


@dataclasses.dataclass
class Moment(_Single):
    """CLT test of a moment of i.i.d. samples.

    ``sampler(n, seed) -> sampler.PowerSums``; ``statistic`` is "mean", "second_moment"
    or "variance". ``sd``: a stated upper bound on the standard deviation of one sample's
    contribution (its influence function; e.g. ``design.sd_from_moments`` of derived
    moments), or None for a pilot on the fixed design stream × INFLATE.
    ``n``: the sample size to use (default: the design's requirement rounded up to a
    multiple of 2¹⁶); fewer than the design requires raises DesignError.
    """

    label: str
    exact: float
    foil: float
    sampler: Callable[[int, Any], Any]
    statistic: str = "mean"
    sd: float | None = None
    n: int | None = None
    foil_name: str = ""
    foil_why: str = ""  # why no closer plausible mistake exists (foils > 2× off)

    def design(self, false_fail_rate: float, false_pass_rate: float) -> Design:
        if self.sd is not None:
            sd, note = self.sd, "sd bound stated"
        else:
            pilot = self.sampler(D.PILOT, D.design_seed(self.label))
            sd = D.pilot_sd(getattr(pilot, self.statistic)()[1])
            note = f"sd from a fixed-seed pilot ({D.PILOT:,} samples) ×{D.INFLATE}"
        n = D.sample_size(self.exact - self.foil, false_fail_rate, false_pass_rate, sd=sd,
                          cap=D.MAX_SAMPLES, what=self.label)
        return Design(n=n, sd=sd, note=note)

    def test(self, seed, alpha: float, beta: float, design: Design) -> TestResult:
        n = self.n if self.n is not None else -(-design.n // CHUNK_ROUND) * CHUNK_ROUND
        if n < design.n:
            raise DesignError(f"{self.label}: {n} samples requested but the design needs "
                              f"{design.n} to separate {self.exact:.6g} from the foil "
                              f"{self.foil:.6g} at false-fail {alpha:.1e}, false-pass "
                              f"{beta:.1e}")
        ps = self.sampler(n, _main_stream(seed))
        est, sd = getattr(ps, self.statistic)()
        return R.z_result(est, sd / math.sqrt(ps.n), self.exact, self.foil, ps.n, design.n,
                          alpha, beta, f"CLT normal approximation; {design.note}")


@dataclasses.dataclass
class Estimate(_Single):
    """A fixed-size experiment ``experiment(seed) -> (estimate, se)`` (an approximate
    normal estimate, e.g. an average of many independent units). The design runs it
    once on the fixed design stream and checks its SE (``design.check_se``)."""

    label: str
    exact: float
    foil: float
    experiment: Callable[[Any], tuple[float, float]]
    foil_name: str = ""
    foil_why: str = ""  # why no closer plausible mistake exists (foils > 2× off)
    note: str = "CLT normal approximation"

    def design(self, false_fail_rate: float, false_pass_rate: float) -> Design:
        _, se = self.experiment(D.design_seed(self.label))
        return D.check_se(se, self.exact - self.foil, false_fail_rate, false_pass_rate,
                          what=self.label)

    def test(self, seed, alpha: float, beta: float, design: Design) -> TestResult:
        est, se = self.experiment(_main_stream(seed))
        return R.z_result(est, se, self.exact, self.foil, 1, 1, alpha, beta, self.note)


@dataclasses.dataclass
class Profile:
    """Several estimates from ONE experiment run (e.g. one deep network, every layer).

    ``experiment(seed, pilot: bool) -> list of (label, estimate, se)``, aligned with
    ``exact`` and ``foil`` (lists). The design runs the experiment in pilot mode (a
    cheaper, stated variant whose SEs the experiment rescales to the full size) on the
    fixed design stream, and checks every entry's SE (``design.check_se``). Each entry
    counts as one assertion in the false-fail budget (``count``)."""

    label: str
    exact: list
    foil: list
    experiment: Callable[[Any, bool], list]
    foil_name: str = ""
    foil_why: str = ""  # why no closer plausible mistake exists (foils > 2× off)
    note: str = "CLT normal approximation"

    @property
    def count(self) -> int:
        return len(self.exact)

    def design(self, false_fail_rate: float, false_pass_rate: float) -> Design:
        worst = 0.0
        for (lab, _, se), ex, fo in zip(self.experiment(D.design_seed(self.label), True),
                                        self.exact, self.foil):
            D.check_se(se, ex - fo, false_fail_rate, false_pass_rate,
                       what=f"{self.label} / {lab}")
            worst = max(worst, se / D.required_se(ex - fo, false_fail_rate, false_pass_rate))
        return Design(n=1, note=f"every SE from a fixed-seed pilot ×{D.INFLATE} within its "
                                f"limit (largest at {worst:.0%} of its limit)")

    def run(self, seed, false_fail_rate: float, false_pass_rate: float,
            design: Design | None = None) -> list[tuple[str, TestResult]]:
        if design is None:
            self.design(false_fail_rate, false_pass_rate)
        rows = self.experiment(_main_stream(seed), False)
        return [(f"{self.label}: {lab}",
                 R.z_result(est, se, ex, fo, 1, 1, false_fail_rate, false_pass_rate,
                            self.note))
                for (lab, est, se), ex, fo in zip(rows, self.exact, self.foil)]


@dataclasses.dataclass
class Distribution(_Single):
    """DKWM test of integer samples: ``sampler(n, seed) -> int array``.

    ``cdf``/``foil_cdf`` are vectorised CDFs on integers; ``support`` an integer range
    (lo, hi) covering (almost all of) both distributions, used to compute the design's
    sup-distance exactly."""

    label: str
    sampler: Callable[[int, Any], Any]
    cdf: Callable[[Any], Any]
    foil_cdf: Callable[[Any], Any]
    mean: float
    foil_mean: float
    support: tuple[int, int]
    foil_name: str = ""
    foil_why: str = ""  # why no closer plausible mistake exists (foils > 2× off)
    n: int | None = None

    def design(self, false_fail_rate: float, false_pass_rate: float) -> Design:
        import numpy as np
        k = np.arange(self.support[0] - 1, self.support[1] + 1)
        dist = float(np.max(np.abs(self.cdf(k) - self.foil_cdf(k))))
        return Design(n=D.sample_size(dist, false_fail_rate, false_pass_rate, method="dkwm",
                                      what=self.label),
                      note="DKWM, sup-distance of the CDFs")

    def test(self, seed, alpha: float, beta: float, design: Design) -> TestResult:
        n = self.n if self.n is not None else design.n
        if n < design.n:
            raise DesignError(f"{self.label}: {n} draws requested, the DKWM design needs "
                              f"{design.n}")
        x = self.sampler(n, _main_stream(seed))
        return R.dkwm_result(x, self.cdf, self.foil_cdf, self.mean, self.foil_mean, alpha,
                             beta, design.n)


@dataclasses.dataclass
class Proportion(_Single):
    """Exact Binomial test: ``sampler(n, seed) -> (successes, trials)`` with trials ≥ n."""

    label: str
    exact: float
    foil: float
    sampler: Callable[[int, Any], tuple[int, int]]
    foil_name: str = ""
    foil_why: str = ""  # why no closer plausible mistake exists (foils > 2× off)

    def design(self, false_fail_rate: float, false_pass_rate: float) -> Design:
        return Design(n=D.sample_size(self.exact - self.foil, false_fail_rate,
                                      false_pass_rate, method="hoeffding", what=self.label),
                      note="Hoeffding")

    def test(self, seed, alpha: float, beta: float, design: Design) -> TestResult:
        k, trials = self.sampler(design.n, _main_stream(seed))
        if trials < design.n:
            raise DesignError(f"{self.label}: {trials} trials, Hoeffding design needs "
                              f"{design.n}")
        return R.binomial_result(int(k), int(trials), self.exact, self.foil, alpha, beta,
                                 design.n)


@dataclasses.dataclass
class Exact(_Single):
    """Deterministic: ``compute() -> value(s)`` equals ``exact`` within ``tol`` and is
    farther than ``tol`` from ``foil``."""

    label: str
    exact: Any
    foil: Any
    compute: Callable[[], Any]
    tol: float = 1e-9
    foil_name: str = ""
    foil_why: str = ""  # why no closer plausible mistake exists (foils > 2× off)
    note: str = ""

    def test(self, seed, alpha: float, beta: float, design: Design) -> TestResult:
        return R.exact_result(self.compute(), self.exact, self.foil, self.tol, self.note)


@dataclasses.dataclass
class Behaviour(_Single):
    """``check(impl) -> (holds: bool, detail: str)``; must hold for ``impl`` and fail for
    ``foil_impl``. The result carries no numbers."""

    label: str
    check: Callable[[Any], tuple[bool, str]]
    impl: Any
    foil_impl: Any
    foil_name: str = ""
    foil_why: str = ""  # why no closer plausible mistake exists (foils > 2× off)
    method: str = "behaviour"  # e.g. "vjp" for gradient checks

    def test(self, seed, alpha: float, beta: float, design: Design) -> TestResult:
        ok, detail = self.check(self.impl)
        foil_ok, foil_detail = self.check(self.foil_impl)
        return R.behaviour_result(ok, foil_ok, method=self.method,
                                  note=f"{detail}; foil: {foil_detail}")
