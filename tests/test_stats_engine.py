"""The statistics engine (proofs.stats): the one design function, deterministic designs,
the assertion protocol, keyword-built results, the seed sweep."""
import dataclasses
import math

import numpy as np
import pytest

from proofs import claims, stats
from proofs.cli import verify_table
from proofs.stats import assertions, design, results, runner, seed_sweep
from proofs.stats.sampler import PowerSums, dropout_relu_power_sums


# ---- the design function ------------------------------------------------------------------
def test_known_sample_sizes():
    # CLT: ((z_0.025 + z_0.2)·sd/δ)² = (1.959964 + 0.841621)² = 7.849 → 8
    assert stats.sample_size(1.0, 0.05, 0.2, sd=1.0) == 8
    # ... scales as (sd/δ)²: 784.9 → 785
    assert stats.sample_size(0.1, 0.05, 0.2, sd=1.0) == 785
    # Hoeffding: ((√(ln 40/2) + √(ln 20/2))/0.1)² = 666.6 → 667
    assert stats.sample_size(0.1, 0.05, 0.05, method="hoeffding") == 667
    # DKWM: (2·√(ln 40/2)/0.1)² = 737.8 → 738
    assert stats.sample_size(0.1, 0.05, 0.05, method="dkwm") == 738
    # the named designs are the same function
    assert stats.n_for_z_test(1.0, 0.1, 0.05, 0.2) == 785
    assert stats.n_for_hoeffding(0.1, 0.05, 0.05) == 667
    assert stats.n_for_dkwm(0.1, 0.05, 0.05) == 738


@pytest.mark.parametrize("method", ["clt-z", "hoeffding", "dkwm"])
def test_sample_size_is_monotone(method):
    def n(gap=0.1, a=1e-6, b=1e-6, sd=1.0):
        return stats.sample_size(gap, a, b, method=method, sd=sd)
    assert n(gap=0.05) > n(gap=0.1) > n(gap=0.2)  # a closer foil needs more samples
    assert n(a=1e-9) > n(a=1e-6) > n(a=1e-3)  # a smaller false-fail rate needs more
    assert n(b=1e-9) > n(b=1e-6) > n(b=1e-3)  # a smaller false-pass rate needs more
    assert n(gap=-0.1) == n(gap=0.1)  # the sign of exact − foil does not matter
    if method == "clt-z":
        assert n(sd=2.0) > n(sd=1.0) > n(sd=0.5)


def test_one_set_of_constants():
    assert stats.INFLATE == design.INFLATE == 1.25
    assert stats.PILOT == design.PILOT
    from proofs.testing import moments
    assert not hasattr(moments, "PILOT") and not hasattr(moments, "INFLATE")
    assert not hasattr(assertions, "PILOT") and not hasattr(assertions, "INFLATE")


def test_cannot_size_is_a_distinct_outcome():
    with pytest.raises(stats.CannotSize, match="more than the cap"):
        stats.sample_size(1e-4, 1e-9, 1e-9, sd=1.0, cap=10_000)
    with pytest.raises(stats.CannotSize, match="infinite"):
        stats.sample_size(0.1, 1e-6, 1e-6, sd=math.inf)
    with pytest.raises(stats.CannotSize, match="too large"):
        stats.check_se(0.5, 1.0, 1e-9, 1e-9)
    assert issubclass(stats.CannotSize, stats.DesignError)
    with pytest.raises(ValueError, match="foil must differ"):
        stats.sample_size(0.0, 1e-6, 1e-6, sd=1.0)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        stats.sample_size(0.1, 1.5, 1e-6, sd=1.0)


def test_sd_from_derived_moments():
    # y = f², f ~ N(0, 1): E y = 1, E y² = E f⁴ = 3, sd(y) = √2
    assert stats.sd_from_moments(1.0, 3.0) == pytest.approx(math.sqrt(2))
    # a fourth moment that does not exist: refused, not a failing test
    with pytest.raises(stats.CannotSize, match="does not exist"):
        stats.sd_from_moments(1.0, math.inf, what="f(z)²")
    with pytest.raises(stats.CannotSize):
        stats.sd_from_moments(1.0, math.nan)


def test_public_assertions_take_a_derived_bound():
    from proofs.testing import assert_mean, assert_variance

    def normal(n, rng):
        return rng.standard_normal(n)
    assert_mean(normal, 0.0, foil=0.1, sd=1.0, seed=0)
    # N(0, 1): squared deviations have E = 1 and E[(x²)²] = 3, so sd = √2
    assert_variance(normal, 1.0, foil=1.2, sd=stats.sd_from_moments(1.0, 3.0), seed=0)
    calls = []

    def heavy(n, rng):
        calls.append(n)
        return rng.standard_cauchy(n)
    with pytest.raises(stats.CannotSize):  # sized from E[x²] = ∞: refused, nothing drawn
        assert_mean(heavy, 0.0, foil=1.0, sd=math.inf, seed=0)
    assert calls == []


def test_check_se_boundary():
    limit = stats.required_se(1.0, 1e-6, 1e-6)
    assert stats.check_se(0.99 * limit / stats.INFLATE, 1.0, 1e-6, 1e-6).n == 1
    with pytest.raises(stats.CannotSize):
        stats.check_se(1.01 * limit / stats.INFLATE, 1.0, 1e-6, 1e-6)
    with pytest.raises(stats.CannotSize):
        stats.check_se(math.nan, 1.0, 1e-6, 1e-6)


# ---- deterministic designs ------------------------------------------------------------------
def _relu_sampler(n, seed):
    return dropout_relu_power_sums(n, seed, 0.5)


def test_moment_design_does_not_depend_on_the_run_seed():
    a = assertions.Moment("Var, p = 1/2", 0.75, 0.6, _relu_sampler, "variance")
    needs = {r.n_required for s in range(3)
             for _, r in a.run(np.random.SeedSequence(s), 1e-8, 1e-8)}
    assert len(needs) == 1
    assert a.design(1e-8, 1e-8) == a.design(1e-8, 1e-8)


def test_estimate_design_uses_the_fixed_design_stream():
    seen = []

    def experiment(seed):
        seen.append(seed)
        x = np.random.default_rng(seed).standard_normal(10_000)
        return float(x.mean()), float(x.std() / 100)
    a = assertions.Estimate("mean of N(0, 1)", 0.0, 1.0, experiment)
    for s in (1, 2):
        [(label, res)] = a.run(np.random.SeedSequence(s), 1e-6, 1e-6)
        assert label == a.label and res.ok
    pilots = [s for s in seen if s.entropy == design.DESIGN_ENTROPY]
    assert len(pilots) == 2 and pilots[0].spawn_key == pilots[1].spawn_key
    runs = [s for s in seen if s.entropy != design.DESIGN_ENTROPY]
    assert [s.entropy for s in runs] == [1, 2]


def test_profile_design_refuses_on_every_seed_or_none():
    def experiment(seed, pilot):
        return [("a", 1.0, 0.2)]  # SE 0.2 cannot separate 1 from 0.9
    a = assertions.Profile("noisy", [1.0], [0.9], experiment)
    for s in range(3):
        with pytest.raises(stats.CannotSize, match="noisy / a"):
            a.run(np.random.SeedSequence(s), 1e-6, 1e-6)


def test_runner_designs_once_per_claim():
    runner._DESIGNS.clear()
    runner.run_claim("relu-moments", seed=1, quick=True)
    keys = set(runner._DESIGNS)
    runner.run_claim("relu-moments", seed=2, quick=True)
    assert keys and set(runner._DESIGNS) == keys


# ---- one protocol, keyword-built results ------------------------------------------------------
def _one_of_each():
    from scipy import stats as st

    def ints(n, seed):
        return np.random.default_rng(seed).binomial(10, 0.5, n)
    return [
        assertions.Moment("mean", 1 / math.sqrt(2 * math.pi), 0.2, _relu_sampler, sd=1.0),
        assertions.Estimate("est", 0.0, 1.0, lambda s: (0.01, 0.01)),
        assertions.Profile("prof", [0.0, 1.0], [1.0, 2.0],
                           lambda s, pilot: [("x", 0.0, 0.01), ("y", 1.0, 0.01)]),
        assertions.Distribution("dist", ints, lambda k: st.binom.cdf(k, 10, 0.5),
                                lambda k: st.binom.cdf(k, 10, 0.3), 5.0, 3.0, (0, 10)),
        assertions.Proportion("prop", 0.5, 0.3, lambda n, s: (
            int(np.random.default_rng(s).binomial(n, 0.5)), n)),
        assertions.Exact("exact", 1.0, 2.0, lambda: 1.0),
        assertions.Behaviour("beh", lambda impl: (impl, "ok" if impl else "no"), True, False),
    ]


def test_every_kind_follows_the_protocol():
    for a in _one_of_each():
        assert isinstance(a, assertions.Assertion), type(a).__name__
        d = a.design(1e-6, 1e-6)
        assert isinstance(d, stats.Design) and d.n >= 1
        out = a.run(np.random.SeedSequence(0), 1e-6, 1e-6, d)
        assert isinstance(out, list) and len(out) == a.count
        for label, res in out:
            assert isinstance(label, str) and isinstance(res, stats.TestResult)
            assert res.ok, (type(a).__name__, res)


def test_claims_return_protocol_assertions():
    for slug in ("relu-moments", "dropout-kept-count", "batchnorm-batch-of-one"):
        for a in claims.get(slug).builder(claims.Context(quick=True)):
            assert isinstance(a, assertions.Assertion), (slug, type(a).__name__)


def test_results_are_built_with_keywords():
    with pytest.raises(TypeError):
        stats.TestResult("clt-z", True, True)  # type: ignore[misc]
    assert all(f.kw_only for f in dataclasses.fields(stats.TestResult))


def test_behaviour_result_has_no_filler_numbers():
    r = results.behaviour_result(True, False, note="holds")
    assert r.ok and r.exact is None and r.estimate is None and r.se is None
    assert r.z is None and r.n is None and r.foil_distance is None
    row = verify_table.table([runner.ClaimReport("c", "t", [runner.Verdict("c", "b", r)], 0.0)])
    assert "inf" not in row and "pass" in row


def test_foil_distance():
    r = stats.z_result(1.0, 0.1, exact=2.0, foil=3.0, n=10, n_required=10, alpha=1e-6,
                       beta=1e-6)
    assert r.foil_distance == pytest.approx(0.5)
    e = stats.exact_result([1.0, 4.0], [1.0, 4.0], [1.0, 1.0], tol=1e-9)
    assert e.foil_distance == pytest.approx(0.75)  # largest over elements
    z = stats.z_result(0.0, 0.1, exact=0.0, foil=0.5, n=10, n_required=10, alpha=1e-6,
                       beta=1e-6)
    assert z.foil_distance > 1e299  # |exact| floored at a tiny number


def test_nan_passes_nothing():
    r = stats.z_result(math.nan, 0.1, 1.0, 2.0, 10, 10, 1e-6, 1e-6)
    assert not r.accepted and not r.ok
    r = stats.z_result(1.0, math.nan, 1.0, 2.0, 10, 10, 1e-6, 1e-6)
    assert not r.accepted and not r.ok


def test_json_carries_foil_distance():
    rep = runner.run(["relu-moments"], seed=1, quick=True)
    out = runner.to_json(rep, seed=1, budget=1e-9)
    a = out["claims"][0]["assertions"][0]
    assert a["foil_distance"] == pytest.approx(abs(a["foil"] - a["exact"]) / abs(a["exact"]))
    assert a["foil_name"]


def test_power_sums_variance_sd_matches_numpy():
    x = np.random.default_rng(0).standard_normal(1000)
    ps = PowerSums.of(x)
    v, sd = ps.variance()
    assert v == pytest.approx(x.var(ddof=1))
    c = x - x.mean()
    assert sd == pytest.approx(np.sqrt(np.mean(c ** 4) - np.mean(c ** 2) ** 2), rel=1e-9)


# ---- the seed sweep ----------------------------------------------------------------------------
def test_parse_seeds():
    assert seed_sweep.parse_seeds("3:7") == range(3, 7)
    assert seed_sweep.parse_seeds("5") == range(5, 6)
    import argparse
    for bad in ("7:3", "a:b", "-1:4"):
        with pytest.raises(argparse.ArgumentTypeError):
            seed_sweep.parse_seeds(bad)


def test_run_seed_reports_failures():
    ok = seed_sweep.run_seed(0, True, 1e-9, ("dropout-kept-count",))
    assert ok.failures == [] and ok.assertions == 2


@pytest.mark.slow
def test_seed_sweep_quick_suite_is_green():
    """Includes the seeds that used to fail (1004, 1031 quick; 4 had a DesignError)."""
    seeds = [4, 1004, 1031, 1032]
    out = seed_sweep.sweep(seeds, quick=True, budget=1e-9, processes=2)
    assert [o.seed for o in out] == seeds
    assert all(o.assertions > 0 for o in out)
    assert not [f for o in out for f in o.failures], seed_sweep.summary(
        out, quick=True, budget=1e-9, wall=0)
