"""Results of one statistical test: ``TestResult`` (built with keywords) and the builders
for each method. Fields that a method has no number for (a behaviour check has no
estimate, SE or sample size) are None, and tables leave them blank."""
from __future__ import annotations

import dataclasses
import math

from .design import dkwm_radius, z_two_sided

TINY = 1e-300  # the floor of |exact| in the foil's relative distance


def relative_distance(exact, foil) -> float | None:
    """max |foil − exact| / max(|exact|, TINY), elementwise for arrays; None when either
    is not numeric."""
    import numpy as np
    try:
        e = np.asarray(exact, dtype=float)
        f = np.asarray(foil, dtype=float)
        d = np.abs(f - e) / np.maximum(np.abs(e), TINY)
    except (TypeError, ValueError):
        return None
    return float(np.max(d)) if d.size else None


@dataclasses.dataclass(kw_only=True)
class TestResult:
    """One test of one exact value (and its foil) against one experiment.

    ``z`` = (estimate − exact)/se and ``foil_z`` = (estimate − foil)/se; |z| ≤ critical
    accepts. ``foil_distance`` = |foil − exact| / max(|exact|, tiny) (computed when not
    given; the largest over elements for arrays)."""

    method: str
    accepted: bool  # the exact value is consistent with the experiment
    foil_rejected: bool
    exact: float | None = None
    foil: float | None = None
    estimate: float | None = None
    se: float | None = None  # standard error (or the tolerance / critical radius)
    z: float | None = None
    foil_z: float | None = None
    critical: float | None = None
    n: int | None = None
    n_required: int | None = None
    false_fail_rate: float | None = None
    false_pass_rate: float | None = None
    foil_distance: float | None = None
    note: str = ""

    __test__ = False  # not a pytest test class

    def __post_init__(self) -> None:
        if self.foil_distance is None and self.exact is not None and self.foil is not None:
            self.foil_distance = relative_distance(self.exact, self.foil)

    @property
    def ok(self) -> bool:
        return bool(self.accepted and self.foil_rejected)


def z_result(estimate: float, se: float, exact: float, foil: float, n: int, n_required: int,
             alpha: float, beta: float, note: str = "") -> TestResult:
    """The CLT z-test: accept the exact value when |z| ≤ z_{α/2}; reject the foil when
    |foil z| > z_{α/2}. A NaN estimate or SE accepts nothing."""
    crit = z_two_sided(alpha)
    se, estimate = float(se), float(estimate)
    if se > 0:
        z, fz = (estimate - exact) / se, (estimate - foil) / se
    elif se == 0:  # a degenerate experiment: every sample equal
        z = 0.0 if estimate == exact else math.inf
        fz = 0.0 if estimate == foil else math.inf
    else:
        z = fz = math.nan
    return TestResult(method="clt-z", estimate=estimate, exact=float(exact), foil=float(foil),
                      se=se, z=z, foil_z=fz, critical=crit, n=n, n_required=n_required,
                      false_fail_rate=alpha, false_pass_rate=beta,
                      accepted=bool(abs(z) <= crit), foil_rejected=bool(abs(fz) > crit),
                      note=note or "normal approximation (CLT)")


def dkwm_result(samples, cdf_exact, cdf_foil, exact_mean: float, foil_mean: float,
                alpha: float, beta: float, n_required: int) -> TestResult:
    """DKWM sup-distance test for integer-valued samples.

    ``cdf_exact`` / ``cdf_foil`` are vectorised CDFs on integers. The statistic is the
    sup-distance between the empirical CDF and each CDF; "z" reports it in units of the
    critical radius (so |z| ≤ 1 accepts). The estimate column shows the sample mean.
    """
    import numpy as np

    x = np.asarray(samples)
    n = x.size
    lo, hi = int(x.min()), int(x.max())
    support = np.arange(min(lo, 0), hi + 1)
    counts = np.bincount(x - support[0], minlength=support.size)
    ecdf = np.cumsum(counts) / n

    def sup_dist(cdf):  # the sup over the real line is attained at (or just below) a point
        f = cdf(support)
        below = np.concatenate(([cdf(support[0] - 1)], f[:-1]))
        e_below = np.concatenate(([0.0], ecdf[:-1]))
        tail = 1.0 - cdf(hi)  # mass of the model beyond the largest sample
        return float(max(np.max(np.abs(ecdf - f)), np.max(np.abs(e_below - below)), tail))

    radius = dkwm_radius(n, alpha)
    d_exact, d_foil = sup_dist(cdf_exact), sup_dist(cdf_foil)
    return TestResult(method="dkwm", estimate=float(x.mean()), exact=exact_mean,
                      foil=foil_mean, se=radius, z=d_exact / radius, foil_z=d_foil / radius,
                      critical=1.0, n=n, n_required=n_required, false_fail_rate=alpha,
                      false_pass_rate=beta, accepted=d_exact <= radius,
                      foil_rejected=d_foil > radius,
                      note=f"rigorous (DKWM); sup|F_n−F| = {d_exact:.2e}, vs foil "
                           f"{d_foil:.2e}, radius {radius:.2e}")


def binomial_result(successes: int, trials: int, p_exact: float, p_foil: float,
                    alpha: float, beta: float, n_required: int) -> TestResult:
    """Exact two-sided Binomial test of the success probability; z columns are normal
    scores for reading, the verdict uses the exact p-values."""
    from .discrete import binomial_two_sided_pvalue

    p_hat = successes / trials
    pv = binomial_two_sided_pvalue(successes, trials, p_exact)
    pv_foil = binomial_two_sided_pvalue(successes, trials, p_foil)
    se = math.sqrt(p_exact * (1 - p_exact) / trials)
    return TestResult(method="binomial", estimate=p_hat, exact=p_exact, foil=p_foil, se=se,
                      z=(p_hat - p_exact) / se, foil_z=(p_hat - p_foil) / se,
                      critical=z_two_sided(alpha), n=trials, n_required=n_required,
                      false_fail_rate=alpha, false_pass_rate=beta, accepted=pv > alpha,
                      foil_rejected=pv_foil <= alpha,
                      note=f"exact Binomial test; p-value {pv:.3g}, foil p-value {pv_foil:.3g}")


def exact_result(estimate, exact, foil, tol: float, note: str = "") -> TestResult:
    """Deterministic comparison: max |estimate − exact| ≤ tol accepts; the foil must be
    farther than tol. The z columns are errors in units of tol. NaN accepts nothing."""
    import numpy as np

    est, ex, fo = (np.asarray(v, dtype=float) for v in (estimate, exact, foil))
    err = float(np.max(np.abs(est - ex)))
    ferr = float(np.max(np.abs(est - fo)))

    def first(a):
        return float(a.flat[0]) if a.size else float("nan")
    return TestResult(method="exact", estimate=first(est), exact=first(ex), foil=first(fo),
                      se=tol, z=err / tol, foil_z=ferr / tol, critical=1.0,
                      n=int(est.size), n_required=int(est.size),
                      foil_distance=relative_distance(ex, fo), accepted=err <= tol,
                      foil_rejected=ferr > tol,
                      note=note or f"deterministic; max error {err:.2e}, tolerance {tol:.0e}")


def behaviour_result(holds: bool, foil_holds: bool, *, method: str = "behaviour",
                     note: str = "") -> TestResult:
    """A check that must hold for the implementation and fail for the foil
    implementation: no numbers (the table leaves them blank)."""
    return TestResult(method=method, accepted=bool(holds), foil_rejected=not foil_holds,
                      note=note)
