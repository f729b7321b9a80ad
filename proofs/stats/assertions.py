"""Assertion kinds a claim returns: each knows its design (sample size) and its test.

``run(seed, false_fail_rate, false_pass_rate)`` first computes the required sample size
(the design check), refuses to run with fewer (``DesignError``), then samples from
``seed`` (a ``numpy.random.SeedSequence``) and returns a ``stats_results.TestResult``.

* ``Moment``        mean / second moment / variance of i.i.d. samples (CLT z-test);
                    the per-sample standard deviation for the design comes from a stated
                    bound or from a pilot run on an independent stream (inflated 1.25×).
* ``Estimate``      a fixed-size experiment returning (estimate, SE); the design check
                    requires (z_{α/2} + z_β)·SE ≤ |exact − foil| using a pilot run.
* ``Distribution``  integer samples against a CDF (DKWM, rigorous).
* ``Proportion``    successes out of trials against a probability (exact Binomial test,
                    Hoeffding design).
* ``Exact``         deterministic computation against an exact value within a tolerance.
* ``Behaviour``     a check that must hold for the real implementation and fail for a
                    foil implementation (e.g. "raises a clear error").
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from . import design as stats_design, results as stats_results
from .design import DesignError
from .results import TestResult

PILOT = 200_000
INFLATE = 1.25


def _children(seed):
    import numpy as np
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    main, pilot = ss.spawn(2)
    return main, pilot


@dataclasses.dataclass
class Moment:
    """CLT test of a moment of i.i.d. samples.

    ``sampler(n, seed) -> sampler.PowerSums``; ``statistic`` is "mean", "second_moment"
    or "variance". ``sd``: a stated upper bound on the standard deviation of one sample's
    contribution (its influence function), or None for a pilot estimate × 1.25.
    ``n``: the sample size to use (default: exactly the design's requirement, rounded up
    to a multiple of 2¹⁶); fewer than the design requires raises DesignError.
    """

    label: str
    exact: float
    foil: float
    sampler: Callable[[int, Any], Any]
    statistic: str = "mean"
    sd: float | None = None
    n: int | None = None
    foil_name: str = ""

    def design(self, alpha: float, beta: float, pilot_seed=None) -> int:
        sd = self.sd
        if sd is None:
            ps = self.sampler(PILOT, pilot_seed)
            sd = INFLATE * getattr(ps, self.statistic)()[1]
            self._sd_note = f"sd from pilot ({PILOT} samples) ×{INFLATE}"
        else:
            self._sd_note = "sd bound stated"
        return stats_design.n_for_z_test(sd, self.exact - self.foil, alpha, beta)

    def run(self, seed, alpha: float, beta: float) -> TestResult:
        main, pilot = _children(seed)
        need = self.design(alpha, beta, pilot)
        n = self.n if self.n is not None else -(-need // 65536) * 65536
        if n < need:
            raise DesignError(f"{self.label}: {n} samples requested but the design needs "
                              f"{need} to separate {self.exact:.6g} from the foil "
                              f"{self.foil:.6g} at false-fail {alpha:.1e}, false-pass {beta:.1e}")
        ps = self.sampler(n, main)
        est, sd = getattr(ps, self.statistic)()
        return stats_results.z_result(est, sd / math.sqrt(ps.n), self.exact, self.foil, ps.n, need,
                              alpha, beta, f"CLT normal approximation; {self._sd_note}")


@dataclasses.dataclass
class Estimate:
    """A fixed-size experiment ``experiment(seed) -> (estimate, se)`` (an approximate
    normal estimate, e.g. an average of many independent units)."""

    label: str
    exact: float
    foil: float
    experiment: Callable[[Any], tuple[float, float]]
    foil_name: str = ""
    note: str = "CLT normal approximation"
    pilot: bool = True  # run a pilot on an independent stream for the design check

    def run(self, seed, alpha: float, beta: float) -> TestResult:
        main, pilot = _children(seed)
        zsum = stats_design.z_two_sided(alpha) + stats_design.z_one_sided(beta)
        gap = abs(self.exact - self.foil)
        if self.pilot:
            _, se_pilot = self.experiment(pilot)
            if zsum * INFLATE * se_pilot > gap:
                raise DesignError(
                    f"{self.label}: the experiment's standard error (pilot {se_pilot:.3g}) is "
                    f"too large to separate the exact value from the foil (gap {gap:.3g}) at "
                    f"false-fail {alpha:.1e}, false-pass {beta:.1e}: need SE ≤ "
                    f"{gap / (zsum * INFLATE):.3g}")
        est, se = self.experiment(main)
        return stats_results.z_result(est, se, self.exact, self.foil, 1, 1, alpha, beta, self.note)


@dataclasses.dataclass
class Distribution:
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
    n: int | None = None

    def design(self, alpha: float, beta: float) -> int:
        import numpy as np
        k = np.arange(self.support[0] - 1, self.support[1] + 1)
        dist = float(np.max(np.abs(self.cdf(k) - self.foil_cdf(k))))
        return stats_design.n_for_dkwm(dist, alpha, beta)

    def run(self, seed, alpha: float, beta: float) -> TestResult:
        main, _ = _children(seed)
        need = self.design(alpha, beta)
        n = self.n if self.n is not None else need
        if n < need:
            raise DesignError(f"{self.label}: {n} draws requested, the DKWM design needs {need}")
        x = self.sampler(n, main)
        return stats_results.dkwm_result(x, self.cdf, self.foil_cdf, self.mean, self.foil_mean,
                                 alpha, beta, need)


@dataclasses.dataclass
class Proportion:
    """Exact Binomial test: ``sampler(n, seed) -> (successes, trials)`` with trials ≥ n."""

    label: str
    exact: float
    foil: float
    sampler: Callable[[int, Any], tuple[int, int]]
    foil_name: str = ""

    def run(self, seed, alpha: float, beta: float) -> TestResult:
        main, _ = _children(seed)
        need = stats_design.n_for_hoeffding(self.exact - self.foil, alpha, beta)
        k, trials = self.sampler(need, main)
        if trials < need:
            raise DesignError(f"{self.label}: {trials} trials, Hoeffding design needs {need}")
        return stats_results.binomial_result(int(k), int(trials), self.exact, self.foil, alpha,
                                     beta, need)


@dataclasses.dataclass
class Exact:
    """Deterministic: ``compute() -> value(s)`` equals ``exact`` within ``tol`` and is
    farther than ``tol`` from ``foil``."""

    label: str
    exact: Any
    foil: Any
    compute: Callable[[], Any]
    tol: float = 1e-9
    foil_name: str = ""
    note: str = ""

    def run(self, seed, alpha: float, beta: float) -> TestResult:
        return stats_results.exact_result(self.compute(), self.exact, self.foil, self.tol, self.note)


@dataclasses.dataclass
class Behaviour:
    """``check(impl) -> (holds: bool, detail: str)``; must hold for ``impl`` and fail for
    ``foil_impl``. Exact/estimate columns show 1 (holds) or 0."""

    label: str
    check: Callable[[Any], tuple[bool, str]]
    impl: Any
    foil_impl: Any
    foil_name: str = ""
    method: str = "behaviour"  # e.g. "vjp" for gradient checks

    def run(self, seed, alpha: float, beta: float) -> TestResult:
        ok, detail = self.check(self.impl)
        foil_ok, foil_detail = self.check(self.foil_impl)
        return TestResult(self.method, float(ok), 1.0, float(foil_ok), 0.0, 0.0 if ok else
                          math.inf, math.inf if not foil_ok else 0.0, 0.0, 1, 1, 0.0, 0.0,
                          ok, not foil_ok, f"{detail}; foil: {foil_detail}")


@dataclasses.dataclass
class Profile:
    """Several estimates from ONE experiment run (e.g. one deep network, every layer).

    ``experiment(seed, pilot: bool) -> list of (label, estimate, se)``, aligned with
    ``exact`` and ``foil`` (lists). The design check runs the experiment in pilot mode (a
    cheaper, stated variant on an independent stream, whose SEs the experiment rescales
    to the full size) and refuses to run when (z_{α/2} + z_β)·1.25·SE exceeds any gap.
    Each entry counts as one assertion in the false-fail budget (``count``)."""

    label: str
    exact: list
    foil: list
    experiment: Callable[[Any, bool], list]
    foil_name: str = ""
    note: str = "CLT normal approximation"

    @property
    def count(self) -> int:
        return len(self.exact)

    def run(self, seed, alpha: float, beta: float) -> list:
        main, pilot = _children(seed)
        zsum = stats_design.z_two_sided(alpha) + stats_design.z_one_sided(beta)
        for (lab, _, se), ex, fo in zip(self.experiment(pilot, True), self.exact, self.foil):
            if zsum * INFLATE * se > abs(ex - fo):
                raise DesignError(f"{self.label} / {lab}: predicted SE {se:.3g} cannot "
                                  f"separate {ex:.4g} from the foil {fo:.4g} at false-fail "
                                  f"{alpha:.1e}, false-pass {beta:.1e}")
        out = []
        for (lab, est, se), ex, fo in zip(self.experiment(main, False), self.exact, self.foil):
            out.append((lab, stats_results.z_result(est, se, ex, fo, 1, 1, alpha, beta, self.note)))
        return out
