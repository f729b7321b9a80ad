"""Binomial and Poisson distribution functions from ``scipy.special`` (not ``scipy.stats``).

``import scipy.stats`` costs about half a second per process, a twentieth of the
``nnmath verify --quick`` budget, for three functions; these are the same quantities
through the special functions scipy.stats itself is built on:

* ``binomial_cdf(k, n, p) = P(X ≤ k) = I_{1−p}(n − k, k + 1)``, X ~ Binomial(n, p), the
  regularised incomplete beta function ``scipy.special.betainc`` (Boost's ibeta since
  SciPy 1.11, hence the dependency ``scipy>=1.11``; ``bdtr``, the Cephes routine, is wrong
  by 0.2 near the mode at n = 10⁹);
* ``poisson_cdf(k, lam) = P(X ≤ k) = Q(k + 1, λ)``, X ~ Poisson(λ), the regularised upper
  incomplete gamma function ``scipy.special.gammaincc``;
  both take real k (floored, as scipy.stats does) and are 0 for k < 0;
* ``binomial_two_sided_pvalue(k, n, p)``: the exact two-sided Binomial test of
  ``scipy.stats.binomtest`` (the "minlike" rule: the p-value is the probability of every
  outcome no more likely than the observed one, with scipy's relative tolerance 1e-7 on
  "no more likely"; Agresti 2013, Categorical Data Analysis, §1.4.3), with the PMF in
  Loader's (2000) saddle-point form (the algorithm of R's dbinom); the tests compare the
  p-values with scipy.stats.binomtest on a grid.
"""
from __future__ import annotations

import math

import numpy as np

_TIE = 1 + 1e-7  # scipy.stats.binomtest's relative tolerance for "as likely as observed"


def binomial_cdf(k, n: int, p: float):
    """P(X ≤ k) for X ~ Binomial(n, p); k real (floored) or an array; 0 below 0."""
    from scipy.special import betainc

    kk = np.floor(np.asarray(k, dtype=float))
    inside = np.clip(kk, 0, n - 1)
    with np.errstate(invalid="ignore"):
        out = np.where(kk < 0, 0.0, np.where(kk >= n, 1.0,
                                              betainc(n - inside, inside + 1, 1 - p)))
    return out if out.ndim else float(out)


def poisson_cdf(k, lam: float):
    """P(X ≤ k) for X ~ Poisson(λ); k real (floored) or an array; 0 below 0."""
    from scipy.special import gammaincc

    kk = np.floor(np.asarray(k, dtype=float))
    with np.errstate(invalid="ignore"):
        out = np.where(kk < 0, 0.0, gammaincc(np.maximum(kk, 0) + 1, lam))
    return out if out.ndim else float(out)


def _stirling_error(n: float) -> float:
    """log(n!) − log(√(2πn)(n/e)^n) (Loader 2000, "stirlerr")."""
    if n <= 15:
        from scipy.special import gammaln
        return float(gammaln(n + 1) - (n + 0.5) * math.log(n) + n
                     - 0.5 * math.log(2 * math.pi))
    n2 = n * n
    return (1 / 12 - (1 / 360 - (1 / 1260 - (1 / 1680 - 1 / (1188 * n2)) / n2) / n2)
            / n2) / n


def _deviance(x: float, mean: float) -> float:
    """x·log(x/mean) + mean − x without cancellation near x = mean (Loader 2000, "bd0")."""
    if abs(x - mean) < 0.1 * (x + mean):
        v = (x - mean) / (x + mean)
        total, term = (x - mean) * v, 2 * x * v
        for j in range(1, 1000):
            term *= v * v
            new = total + term / (2 * j + 1)
            if new == total:
                return total
            total = new
        return total
    return x * math.log(x / mean) + mean - x


def _binomial_pmf(k: int, n: int, p: float) -> float:
    """P(X = k), X ~ Binomial(n, p), to a few ulp for any n (Loader 2000, "Fast and
    accurate computation of binomial probabilities": saddle-point form)."""
    if k < 0 or k > n:
        return 0.0
    if k == 0:
        return math.exp(n * math.log1p(-p))
    if k == n:
        return math.exp(n * math.log(p))
    q = 1 - p
    log_pmf = (_stirling_error(n) - _stirling_error(k) - _stirling_error(n - k)
               - _deviance(k, n * p) - _deviance(n - k, n * q))
    return math.exp(log_pmf) * math.sqrt(n / (2 * math.pi * k * (n - k)))


def _upper_tail(k: int, n: int, p: float) -> float:
    """P(X ≥ k) = I_p(k, n − k + 1)."""
    from scipy.special import betainc

    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return float(betainc(k, n - k + 1, p))


def _lower_tail(k: int, n: int, p: float) -> float:
    """P(X ≤ k)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return float(binomial_cdf(k, n, p))


def _last_at_most(pmf, bound: float, lo: int, hi: int) -> int:
    """On [lo, hi] where pmf increases, the largest i with pmf(i) ≤ bound (lo − 1 if none)."""
    while lo < hi:
        mid = lo + (hi - lo) // 2
        value = pmf(mid)
        if value < bound:
            lo = mid + 1
        elif value > bound:
            hi = mid - 1
        else:
            return mid
    return lo if pmf(lo) <= bound else lo - 1


def binomial_two_sided_pvalue(k: int, n: int, p: float) -> float:
    """Exact two-sided p-value of observing k successes in n trials if P(success) = p."""
    if not (0 <= k <= n) or not (0 < p < 1):
        raise ValueError(f"need 0 ≤ k ≤ n and 0 < p < 1, got k = {k}, n = {n}, p = {p}")
    observed = _binomial_pmf(k, n, p) * _TIE
    mode_side = p * n
    if k == mode_side:
        return 1.0
    if k < mode_side:  # the other tail: outcomes above the mode no likelier than k
        first = math.ceil(mode_side)
        j = _last_at_most(lambda i: -_binomial_pmf(i, n, p), -observed, first, n)
        count = n - j + int(observed == _binomial_pmf(j, n, p))
        pval = _lower_tail(k, n, p) + _upper_tail(n - count + 1, n, p)
    else:
        j = _last_at_most(lambda i: _binomial_pmf(i, n, p), observed, 0,
                          math.floor(mode_side))
        pval = _lower_tail(j, n, p) + _upper_tail(k, n, p)
    return min(1.0, pval)
