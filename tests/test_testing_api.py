"""The public testing API: the finite-difference core, assert_forward, check_vjp,
check_backward, purity, float32, adapters, seeding, and the measured false-alarm rate.

False alarms: every check below runs on CORRECT implementations for many seeds and must
never fail: 50 seeds by default, 2,000 in the slow test (the rate stated in
proofs.testing and numeric.finite_differences), including softmax cross-entropy with
logits around 1000 and BatchNorm features of variance 1e-6 (ε = 1e-5).
"""
from types import SimpleNamespace

import numpy as np
import pytest
import sympy as sp

import derive
from numeric import layers as L, reference as R
from numeric.finite_differences import (Estimate, central_gradient, compare,
                                        directional_derivative, line_derivative)
from proofs.testing import (assert_forward, cache_style, check_backward, check_vjp,
                            drop_probability, global_seed)
from proofs.testing.crosscheck import run_crosscheck
from proofs.testing import pytest_plugin as plugin
from proofs.testing.pytest_plugin import function_id


# ---- the core ------------------------------------------------------------------------------
def test_core_gradient_and_its_error_bound():
    x = np.array([0.3, -1.2, 2.0])
    grad, err = central_gradient(lambda v: float(np.sum(np.sin(v) * v)), x, with_error=True)
    exact = np.sin(x) + x * np.cos(x)
    assert np.all(np.abs(grad - exact) <= err) and np.all(err < 1e-5)  # conservative


def test_core_fails_on_nan_and_inf():
    est = line_derivative(lambda t: 2.0 * t)
    assert compare(2.0, est).ok
    assert not compare(float("nan"), est).ok
    assert not compare(float("inf"), est).ok
    assert not compare(2.0, Estimate(float("nan"), 0.0, 1e-3)).ok
    nan_phi = line_derivative(lambda t: float("nan"))
    assert not nan_phi.finite and not compare(0.0, nan_phi).ok
    assert "not finite" in compare(0.0, nan_phi).reason


def test_core_catches_a_small_relative_error_at_large_logits():
    rng = np.random.default_rng(3)
    z, y = 1000 + 3 * rng.standard_normal((8, 5)), rng.integers(0, 5, 8)
    g = R.softmax_cross_entropy(z, y)[1]
    v = rng.standard_normal(z.shape) * 1000
    est = directional_derivative(lambda a: R.softmax_cross_entropy(a, y)[0], z, v)
    assert compare(np.sum(g * v), est).ok
    assert not compare(1.001 * np.sum(g * v), est).ok


# ---- correct implementations on many seeds: the false-alarm rate --------------------------
def _one_seed(seed):
    rng = np.random.default_rng(seed)
    eps = 1e-5
    # softmax cross-entropy, logits around 1000
    z, y = 1000 + rng.uniform(0.1, 30) * rng.standard_normal((8, 5)), rng.integers(0, 5, 8)
    check_backward(lambda a: R.softmax_cross_entropy(a, y)[0],
                   lambda dout, a: dout * R.softmax_cross_entropy(a, y)[1], z,
                   style="inputs", seed=rng)
    # BatchNorm with one feature of variance ~1e-6, every gradient
    x = rng.standard_normal((6, 4)) * 2
    x[:, 0] = 5 + 1e-3 * rng.standard_normal(6)
    gamma, beta = rng.uniform(0.5, 2, 4), rng.standard_normal(4)
    check_backward(lambda a, g, b: R.batchnorm_forward(a, g, b, eps),
                   lambda dout, a, g, b: R.batchnorm_backward(dout, a, g, b, eps),
                   x, gamma, beta, style="inputs", seed=rng)
    # LayerNorm on rows of very different scales
    x = rng.standard_normal((5, 6)) * rng.uniform(1e-3, 10) + rng.uniform(-5, 5)
    check_backward(lambda a, g, b: R.layernorm_forward(a, g, b, eps),
                   lambda dout, a, g, b: R.layernorm_backward(dout, a, g, b, eps),
                   x, gamma[:1].repeat(6), beta[:1].repeat(6), style="inputs", seed=rng)
    # ReLU (kinks anywhere: no margin), affine, dropout with a fixed mask
    x = rng.standard_normal((10, 7))
    check_vjp(R.relu_forward, x, lambda u: R.relu_backward(u, x), seed=rng, trials=1)
    w, b = rng.standard_normal((7, 3)), rng.standard_normal(3)
    check_backward(R.affine_forward, R.affine_backward, x * 100, w, b, style="inputs",
                   seed=rng)
    mask = (rng.random(x.shape) > 0.3).astype(float)
    check_vjp(lambda a: R.dropout_forward(a, mask, 0.3), x,
              lambda u: R.dropout_backward(u, mask, 0.3), seed=rng, trials=1)
    # numeric's float32 layers against the float64 reference, tiny variance included
    x32 = (rng.standard_normal((16, 4)) * 2).astype(np.float32)
    x32[:, 0] = (5 + 1e-3 * rng.standard_normal(16)).astype(np.float32)
    bn = L.BatchNorm(4, dtype=np.float32)
    assert_forward(lambda a, g, b, e: bn.forward(a, train=True), R.batchnorm_forward, x32,
                   np.ones(4, np.float32), np.zeros(4, np.float32), 1e-5)
    loss = L.SoftmaxCrossEntropy()
    z32 = z.astype(np.float32)
    assert_forward(lambda a, t: (loss.forward(a, t), loss.backward()),
                   R.softmax_cross_entropy, z32, y)


def test_no_false_alarm_on_50_seeds():
    for seed in range(50):
        _one_seed(seed)


@pytest.mark.slow
def test_no_false_alarm_on_2000_seeds():
    for seed in range(2000):
        _one_seed(100_000 + seed)


# ---- check_vjp / check_backward cannot pass garbage ----------------------------------------
def _softmax_no_shift(z):
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def test_softmax_without_max_shift_is_caught():
    z = 1000 + np.random.default_rng(0).standard_normal((4, 3))
    p = R.softmax(z)
    with pytest.raises(AssertionError, match="forward output contains NaN"), \
            np.errstate(all="ignore"):
        check_vjp(_softmax_no_shift, z, lambda u: p * (u - (u * p).sum(1, keepdims=True)),
                  name="softmax backward")


def test_nan_or_wrong_shape_gradient_is_caught_and_named():
    x = np.random.default_rng(1).standard_normal((4, 3))
    with pytest.raises(AssertionError, match="relu backward: the gradient contains NaN"):
        check_vjp(R.relu_forward, x, lambda u: u * np.nan, name="relu backward")
    with pytest.raises(AssertionError, match=r"returned shape \(3, 4\)"):
        check_vjp(R.relu_forward, x, lambda u: u.T, name="relu backward")
    w, b = np.ones((3, 2)), np.zeros(2)
    with pytest.raises(AssertionError, match="db contains inf"):
        check_backward(R.affine_forward,
                       lambda d, a, ww, bb: (*R.affine_backward(d, a, ww, bb)[:2],
                                             np.full(2, np.inf)),
                       x, w, b, style="inputs")


def test_wrong_gradient_names_the_output_and_the_batch_mean_symptom():
    rng = np.random.default_rng(2)
    x, gamma, beta = rng.standard_normal((8, 3)), np.ones(3), np.zeros(3)

    def forward(x, gamma, beta):
        return R.batchnorm_forward(x, gamma, beta, 1e-5)

    def backward(dout, a, g, b):
        dx, dg, db = R.batchnorm_backward(dout, a, g, b, 1e-5)
        return dx + dout.mean(0) / np.sqrt(a.var(0) + 1e-5), dg, db  # the mean term dropped
    with pytest.raises(AssertionError) as info:
        check_backward(forward, backward,
                       x, gamma, beta, style="inputs", name="bn_backward")
    message = str(info.value)
    assert "bn_backward: dx is wrong" in message
    assert "the same in every row" in message and "batch-mean" in message


def test_float32_gradient_check_uses_float32_tolerances():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 4)).astype(np.float32)
    bn = L.BatchNorm(4, dtype=np.float32)
    check_vjp(lambda a: bn.forward(a, train=True), x,
              lambda u: (bn.forward(x, train=True), bn.backward(u.astype(np.float32)))[1],
              seed=1, name="float32 BN backward")


# ---- assert_forward --------------------------------------------------------------------------
def test_assert_forward_float32_and_user_tolerances():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((8, 3))
    x[:, 0] = 3 + 1e-3 * rng.standard_normal(8)
    g, b = np.ones(3), np.zeros(3)

    def no_eps(a, gg, bb, e):
        return (a - a.mean(0)) / a.std(0) * gg + bb
    assert_forward(R.batchnorm_forward, R.batchnorm_forward, x.astype(np.float32),
                   g.astype(np.float32), b.astype(np.float32), 1e-5)
    with pytest.raises(AssertionError, match="without ε"):
        assert_forward(no_eps, R.batchnorm_forward, x.astype(np.float32),
                       g.astype(np.float32), b.astype(np.float32), 1e-5)
    def shifted(a, gg, bb, e):
        return R.batchnorm_forward(a, gg, bb, e) + 1e-4
    assert_forward(shifted, R.batchnorm_forward, x, g, b, 1e-5, atol=1e-3)
    with pytest.raises(AssertionError, match="same in every row"):
        assert_forward(shifted, R.batchnorm_forward, x, g, b, 1e-5)


def test_assert_forward_reports_errors_counts_and_nan():
    x = np.random.default_rng(6).standard_normal((4, 3))
    with pytest.raises(AssertionError, match=r"raised ValueError: .*shapes \(4, 3\)"):
        assert_forward(lambda a: a.reshape(5, 5), R.relu_forward, x)
    with pytest.raises(AssertionError, match=r"returned 1 value\(s\), expected 3 "
                                             r"\(dx, dw, db\)"):
        assert_forward(lambda d, a, w, b: d, R.affine_backward, np.ones((4, 2)), x,
                       np.ones((3, 2)), np.zeros(2))
    with pytest.raises(AssertionError, match="output contains NaN"):
        assert_forward(lambda a: np.maximum(a, 0) * np.nan, R.relu_forward, x)


# ---- purity ----------------------------------------------------------------------------------
def test_writes_into_the_cache_are_caught():
    def forward(x, gamma, beta, param):
        out = R.batchnorm_forward(x, gamma, beta, param["eps"])
        return out, {"x": x, "gamma": gamma, "eps": param["eps"]}

    def backward(dout, cache):
        cache["x"] -= cache["x"].mean(0)  # "centre once, reuse": modifies the cache
        return R.batchnorm_backward(dout, cache["x"], cache["gamma"], 0, cache["eps"])
    _, b = cache_style(forward, backward,
                       args=lambda x, g, be, eps: (x, g, be, {"mode": "train", "eps": eps}))
    x = np.random.default_rng(7).standard_normal((5, 3)) + 2
    with pytest.raises(AssertionError, match=r"backward wrote into its cache cache\['x'\]"):
        assert_forward(b, R.batchnorm_backward, np.ones((5, 3)), x, np.ones(3), np.zeros(3),
                       1e-5)


# ---- adapters --------------------------------------------------------------------------------
def test_global_seed_makes_draws_repeatable_and_restores_the_state():
    def dropout(x, p):
        return x * (np.random.rand(*x.shape) < p) / p
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    f = global_seed(drop_probability(dropout, "keep"), 9)
    x = np.ones((4, 4))
    assert np.array_equal(f(x, 0.25), f(x, 0.25))  # keep probability 0.75
    assert np.array_equal(np.random.get_state()[1], before)
    kept = (f(np.ones((200, 200)), 0.25) != 0).mean()
    assert abs(kept - 0.75) < 0.02
    g = drop_probability(lambda x, param: param["p"], "keep", key="p")
    assert g(x, {"p": 0.2}) == pytest.approx(0.8)


# ---- seeding ---------------------------------------------------------------------------------
def test_function_id_drops_the_parametrisation():
    assert function_id("tests/t.py::test_bn[alice-3]") == "tests/t.py::test_bn"
    assert function_id("tests/t.py::TestC::test_bn[x]") == "tests/t.py::TestC::test_bn"


_FIRST_DRAWS: dict = {}


@pytest.mark.parametrize("student", ["alice", "bob"])
def test_every_submission_sees_the_same_data(student, nnmath_rng):
    _FIRST_DRAWS[student] = nnmath_rng.standard_normal(3)
    values = list(_FIRST_DRAWS.values())
    assert all(np.array_equal(values[0], v) for v in values)


def test_the_seed_is_shown_on_failure():
    report = SimpleNamespace(failed=True, sections=[])
    item = SimpleNamespace(stash=pytest.Stash())
    item.stash[plugin.SEED_KEY] = [7, 12345]
    hook = plugin.pytest_runtest_makereport.__wrapped__ if hasattr(
        plugin.pytest_runtest_makereport, "__wrapped__") else plugin.pytest_runtest_makereport
    gen = hook(item, None)
    next(gen)
    with pytest.raises(StopIteration):
        gen.send(SimpleNamespace(get_result=lambda: report))
    assert report.sections == [("nnmath", "nnmath_rng seed: [7, 12345] (numpy.random."
                                          "default_rng([7, 12345]); --nnmath-seed=7)")]


# ---- the derivations' gradient cross-checks run on the same core ----------------------------
def test_declarative_gradient_crosscheck_runner():
    x = sp.Symbol("x", real=True)
    d = derive.Derivation("demo", "demo", "none")
    d.crosscheck_gradient("right", sp.sin(x) * x, x, sp.sin(x) + x * sp.cos(x),
                          at={x: (-3.0, 3.0)})
    d.crosscheck_gradient("off by 1e-4", sp.sin(x) * x, x,
                          (sp.sin(x) + x * sp.cos(x)) * (1 + sp.Rational(1, 10_000)),
                          at={x: (0.5, 3.0)})
    d.crosscheck_numeric_gradient("NaN gradient", sp.nan * x, loss=lambda v, kw: v ** 2,
                                  point=lambda kw: kw["x"], at={x: (1.0, 2.0)})
    right, off, nan = (run_crosscheck(cc, np.random.default_rng(0)) for cc in d.crosschecks)
    assert not right
    assert off and "off by 1e-4" in off[0]
    assert nan and "NaN gradient" in nan[0]


def test_reference_set_agrees_with_the_layers():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((6, 4))
    bn, ln = L.BatchNorm(4), L.LayerNorm(4)
    np.testing.assert_allclose(R.batchnorm_forward(x, np.ones(4), np.zeros(4), 1e-5),
                               bn.forward(x, train=True), rtol=1e-13)
    np.testing.assert_allclose(R.layernorm_forward(x, np.ones(4), np.zeros(4), 1e-5),
                               ln.forward(x, train=True), rtol=1e-13)
    assert R.he_normal_std(8) == pytest.approx(0.5)
    assert R.dropout_forward(np.ones(2), np.array([1.0, 0.0]), 0.5).tolist() == [2.0, 0.0]


@pytest.mark.parametrize("name, layer, args", [
    ("sigmoid", L.Sigmoid(), ()), ("tanh", L.Tanh(), ()), ("leaky_relu", L.LeakyReLU(0.1), (0.1,)),
    ("elu", L.ELU(0.7), (0.7,)), ("selu", L.SELU(), ()), ("gelu", L.GELU(), ()),
    ("swish", L.Swish(1.5), (1.5,))])
def test_reference_activations(name, layer, args):
    x = np.random.default_rng(9).standard_normal((5, 4)) * 2
    f, b = getattr(R, f"{name}_forward"), getattr(R, f"{name}_backward")
    np.testing.assert_allclose(f(x, *args), layer.forward(x, train=True), rtol=1e-13)
    check_vjp(lambda a: f(a, *args), x, lambda u: b(u, x, *args), seed=1, name=name)
