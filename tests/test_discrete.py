"""proofs.stats.discrete against scipy.stats (which it replaces on the verify path)."""
import numpy as np
import pytest
from scipy import stats

from proofs.stats.discrete import binomial_cdf, binomial_two_sided_pvalue, poisson_cdf


def _cases():
    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 20, 1000, 10**6, 10**9):
        for p in (0.001, 0.3, 0.5, 0.95):
            sd = max(1.0, (n * p * (1 - p)) ** 0.5)
            ks = {0, n, int(n * p), int(n * p) + 1}
            ks |= {int(min(n, max(0, n * p + z * sd))) for z in (-8, -5, -2, 0.01, 2, 5, 8)}
            ks |= {int(v) for v in rng.binomial(n, p, size=4)}
            for k in sorted(ks):
                yield k, n, p


def test_two_sided_pvalue_is_scipy_binomtest():
    """Agreement to 1e-9 relative, including near the mode at n = 10⁹ (where the Cephes
    bdtr is wrong by 0.2) and in the far tails (p-values ~1e-19)."""
    worst = 0.0
    for k, n, p in _cases():
        ours = binomial_two_sided_pvalue(k, n, p)
        ref = stats.binomtest(k, n, p).pvalue
        assert np.isfinite(ours) and 0 <= ours <= 1
        worst = max(worst, abs(ours - ref) / max(ref, 1e-300))
    assert worst < 1e-9, worst


def test_cdfs_are_scipy_cdfs():
    x = np.array([-3, -0.5, 0, 0.5, 1, 2.7, 6, 19, 20, 25, 60])
    np.testing.assert_allclose(binomial_cdf(x, 20, 0.3), stats.binom.cdf(x, 20, 0.3),
                               rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(poisson_cdf(x, 6.0), stats.poisson.cdf(x, 6.0),
                               rtol=1e-12, atol=1e-300)
    assert binomial_cdf(3, 20, 0.3) == pytest.approx(stats.binom.cdf(3, 20, 0.3), rel=1e-13)


@pytest.mark.parametrize("k, n, p", [(-1, 10, 0.5), (11, 10, 0.5), (3, 10, 0.0), (3, 10, 1.0)])
def test_pvalue_refuses_impossible_arguments(k, n, p):
    with pytest.raises(ValueError, match="need 0 ≤ k ≤ n and 0 < p < 1"):
        binomial_two_sided_pvalue(k, n, p)


def test_verify_path_does_not_import_scipy_stats():
    """The point of the module: a verify run's exact tests avoid scipy.stats' import."""
    import subprocess
    import sys
    code = ("import sys; from proofs.stats.discrete import binomial_two_sided_pvalue as f, "
            "binomial_cdf, poisson_cdf; f(3, 20, 0.3); binomial_cdf(3, 20, .3); "
            "poisson_cdf(3, 6.); print('scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
