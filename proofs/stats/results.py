"""Results of one statistical test: ``TestResult`` and the builders for each method."""
from __future__ import annotations

import dataclasses
import math

from .design import z_two_sided, dkwm_radius


# ---- results -----------------------------------------------------------------------------
@dataclasses.dataclass
class TestResult:
    """One test of one exact value (and its foil) against one experiment."""

    method: str
    estimate: float
    exact: float
    foil: float
    se: float  # standard error (or the tolerance / critical radius for non-z tests)
    z: float  # (estimate − exact) / se
    foil_z: float  # (estimate − foil) / se
    critical: float  # |z| ≤ critical accepts
    n: int
    n_required: int
    false_fail_rate: float
    false_pass_rate: float
    accepted: bool  # the exact value is consistent with the experiment
    foil_rejected: bool
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.accepted and self.foil_rejected


def z_result(estimate: float, se: float, exact: float, foil: float, n: int, n_required: int,
             alpha: float, beta: float, note: str = "") -> TestResult:
    """The CLT z-test: accept the exact value when |z| ≤ z_{α/2}; reject the foil when
    |foil z| > z_{α/2}."""
    crit = z_two_sided(alpha)
    se = float(se)
    if se > 0:
        z, fz = (estimate - exact) / se, (estimate - foil) / se
    else:  # a degenerate experiment: every sample equal
        z = 0.0 if estimate == exact else math.inf
        fz = 0.0 if estimate == foil else math.inf
    return TestResult("clt-z", float(estimate), float(exact), float(foil), se, z, fz, crit,
                      n, n_required, alpha, beta, abs(z) <= crit, abs(fz) > crit,
                      note or "normal approximation (CLT)")


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
    # the sup over the real line is attained at (or just below) support points
    def sup_dist(cdf):
        f = cdf(support)
        below = np.concatenate(([cdf(support[0] - 1)], f[:-1]))
        e_below = np.concatenate(([0.0], ecdf[:-1]))
        tail = 1.0 - cdf(hi)  # mass of the model beyond the largest sample
        return float(max(np.max(np.abs(ecdf - f)), np.max(np.abs(e_below - below)), tail))

    radius = dkwm_radius(n, alpha)
    d_exact, d_foil = sup_dist(cdf_exact), sup_dist(cdf_foil)
    return TestResult("dkwm", float(x.mean()), exact_mean, foil_mean, radius,
                      d_exact / radius, d_foil / radius, 1.0, n, n_required, alpha, beta,
                      d_exact <= radius, d_foil > radius,
                      f"rigorous (DKWM); sup|F_n−F| = {d_exact:.2e}, vs foil {d_foil:.2e}, "
                      f"radius {radius:.2e}")


def binomial_result(successes: int, trials: int, p_exact: float, p_foil: float,
                    alpha: float, beta: float, n_required: int) -> TestResult:
    """Exact two-sided Binomial test of the success probability; z columns are normal
    scores for reading, the verdict uses the exact p-values."""
    from scipy.stats import binomtest

    p_hat = successes / trials
    pv = binomtest(successes, trials, p_exact).pvalue
    pv_foil = binomtest(successes, trials, p_foil).pvalue
    se = math.sqrt(p_exact * (1 - p_exact) / trials)
    return TestResult("binomial", p_hat, p_exact, p_foil, se, (p_hat - p_exact) / se,
                      (p_hat - p_foil) / se, z_two_sided(alpha), trials, n_required, alpha,
                      beta, pv > alpha, pv_foil <= alpha,
                      f"exact Binomial test; p-value {pv:.3g}, foil p-value {pv_foil:.3g}")


def exact_result(estimate, exact, foil, tol: float, note: str = "") -> TestResult:
    """Deterministic comparison: max |estimate − exact| ≤ tol accepts; the foil must be
    farther than tol. The z columns are errors in units of tol."""
    import numpy as np

    est, ex, fo = (np.asarray(v, dtype=float) for v in (estimate, exact, foil))
    err = float(np.max(np.abs(est - ex)))
    ferr = float(np.max(np.abs(est - fo)))
    show = lambda a: float(a.flat[0]) if a.size else float("nan")
    return TestResult("exact", show(est), show(ex), show(fo), tol, err / tol, ferr / tol,
                      1.0, int(est.size), int(est.size), 0.0, 0.0, err <= tol, ferr > tol,
                      note or f"deterministic; max error {err:.2e}, tolerance {tol:.0e}")
