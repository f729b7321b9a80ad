"""Specific tests for catalog sections 1 (softmax/CE), 2 (backprop), 10 (model size) and
11 (pre-processing), beyond the registry-generated ones in test_derivations.py."""
import numpy as np
import pytest
import sympy as sp

import derive
from derive.core import check_equal


def _kernel(slug, name):
    c = derive.get(slug).conclusions[name]
    return sp.lambdify(c.args, c.expr, modules="numpy")


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ---- section 10: model size ---------------------------------------------------------------
def test_003_model_numbers_come_out_of_the_derivations():
    params = derive.get("param-count").values
    acts = derive.get("activation-count").values
    assert params["total_parameters"] == 66756
    assert acts["activations_at_batch_4"] == 8848
    assert acts["activations_per_example"] == 2212
    assert acts["crossover_batch_size"] == 31
    per = acts["activations_per_example"]
    assert per * 30 < params["total_parameters"] < per * 31


def test_parameter_count_of_any_stack_and_bad_stacks():
    from derive.model_size import BatchNorm, Linear, ReLU, activation_count, parameter_count

    layers = [Linear(10, 4), BatchNorm(4), ReLU(4), Linear(4, 3)]
    assert parameter_count(layers) == 10 * 4 + 4 + 2 * 4 + 4 * 3 + 3
    assert activation_count(layers, 5) == 5 * (4 + 4 + 4 + 3)
    n = sp.Symbol("n", positive=True)
    assert sp.expand(activation_count(layers, n) - 15 * n) == 0
    with pytest.raises(ValueError, match="expects width 5"):
        parameter_count([Linear(10, 4), Linear(5, 3)])
    with pytest.raises(TypeError, match="expected one of"):
        parameter_count([Linear(10, 4), "relu"])
    with pytest.raises(ValueError, match="non-empty"):
        parameter_count([])


# ---- section 1: softmax -------------------------------------------------------------------
def test_softmax_jacobian_properties_and_vjp_kernel(rng):
    vjp = _kernel("softmax-jacobian", "softmax_jacobian_vjp")
    for K in (2, 5, 9):
        p = _softmax(rng.normal(size=K) * 3)
        J = np.diag(p) - np.outer(p, p)
        np.testing.assert_allclose(J, J.T)
        np.testing.assert_allclose(J @ np.ones(K), 0, atol=1e-15)
        assert np.linalg.eigvalsh(J).min() > -1e-14
        g = rng.normal(size=K)
        np.testing.assert_allclose(vjp(p, g, p @ g), J.T @ g, atol=1e-14)
    # broadcasts over a batch with the reduction passed per row
    P = _softmax(rng.normal(size=(4, 6)))
    G = rng.normal(size=(4, 6))
    out = vjp(P, G, (P * G).sum(axis=1, keepdims=True))
    want = np.stack([(np.diag(p) - np.outer(p, p)) @ g for p, g in zip(P, G)])
    np.testing.assert_allclose(out, want, atol=1e-14)


def test_softmax_ce_gradient_general_targets_and_bounds(rng):
    d = derive.get("softmax-ce-gradient")
    p, y, _y_sum = d.conclusions["softmax_ce_gradient"].args
    assert sp.simplify(d.values["gradient_when_labels_sum_to_one"] - (p - y)) == 0
    grad = _kernel("softmax-ce-gradient", "softmax_ce_gradient")
    for _ in range(20):
        P = _softmax(rng.normal(size=5) * 5)
        Y = rng.dirichlet(np.ones(5))
        gvec = grad(P, Y, Y.sum())
        np.testing.assert_allclose(gvec, P - Y, atol=1e-15)
        assert np.all(np.abs(gvec) <= 1)
    # unnormalised targets: the general form, not p − y
    P, Y = _softmax(rng.normal(size=3)), np.array([2.0, 0.0, 1.0])
    assert not np.allclose(grad(P, Y, Y.sum()), P - Y)


def test_mse_gradient_vanishes_while_ce_does_not():
    d = derive.get("softmax-mse-gradient")
    assert d.values["mse_gradient_saturated"] == 0
    assert d.values["ce_gradient_saturated"] == 1


def test_stable_softmax_is_finite_where_the_naive_form_overflows():
    log_softmax = _kernel("stable-softmax", "log_softmax")
    softmax_shifted = _kernel("stable-softmax", "softmax_shifted")
    z = np.array([1e4, -1e4, 9990.0, 0.0])
    m = z.max()
    s = np.exp(z - m).sum()
    ls = log_softmax(z, m, np.log(s))
    ps = softmax_shifted(z, m, s)
    assert np.all(np.isfinite(ls)) and np.all(np.isfinite(ps))
    np.testing.assert_allclose(ps.sum(), 1.0)
    np.testing.assert_allclose(np.exp(ls), ps, atol=1e-300)
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(z) / np.exp(z).sum()
    assert not np.all(np.isfinite(naive))
    # shift invariance, numerically
    np.testing.assert_allclose(softmax_shifted(z + 7.5, m + 7.5, s), ps)


# ---- section 2: backpropagation -----------------------------------------------------------
def test_backprop_recursion_foil_is_rejected(rng):
    from derive.backprop import _tanh_version, mlp

    net = mlp((2, 3, 2, 1))
    direct = net["b"][1].applyfunc(lambda b: sp.diff(net["loss"], b))  # ∂ℓ/∂z_1 by SymPy
    assert check_equal(direct, net["delta"][1]).method == "exact"
    # foil: the recursion without the local derivative σ'(z_1); with σ = tanh at a random
    # point the two differ (the derivation's check would reject it as a rewrite)
    foil = net["W"][2].T * net["delta"][2]
    wrong, right = _tanh_version(direct - foil), _tanh_version(direct - net["delta"][1])
    syms = sorted(wrong.free_symbols | right.free_symbols, key=lambda s: s.name)
    f_wrong, f_right = sp.lambdify(syms, wrong), sp.lambdify(syms, right)
    for _ in range(5):
        v = rng.uniform(-1, 1, len(syms))
        assert np.abs(f_wrong(*v)).max() > 1e-6  # the foil is off by (1 − σ') factors
        assert np.abs(f_right(*v)).max() < 1e-12


def test_constant_init_values():
    d = derive.get("constant-init-symmetry")
    assert d.values["sigmoid_grad_at_zero"] == sp.Rational(1, 4)
    assert d.values["sigmoid_at_zero"] == sp.Rational(1, 2)
    assert all(g == 0 for g in d.values["zero_init_relu_weight_gradients"])
    G1 = d.values["hidden_weight_gradient_at_symmetric_start"]
    assert G1.shape == (3, 2) and G1[0, :] == G1[1, :] == G1[2, :]


def test_same_sign_gradients_numerically(rng):
    d = derive.get("same-sign-gradients")
    c = d.conclusions["neuron_weight_gradient"]
    f = sp.lambdify(c.args, c.expr, modules="numpy")
    for _ in range(50):
        delta = rng.normal()
        a = np.maximum(rng.normal(size=3), 0)  # ReLU outputs
        grad = np.asarray(f(delta, *a), dtype=float).ravel()
        assert np.all(grad * delta >= 0)
    grad = np.asarray(f(1.0, 1.0, -1.0, 0.0), dtype=float).ravel()  # centred inputs
    assert grad[0] * grad[1] < 0


# ---- section 11: pre-processing -----------------------------------------------------------
def test_zca_closed_form_whitens_a_random_covariance(rng):
    d = derive.get("standardize-whiten")
    c = d.conclusions["zca_matrix"]
    zca = sp.lambdify(c.args, c.expr, modules="numpy")
    X = rng.normal(size=(500, 2)) @ np.array([[2.0, 0.0], [1.2, 0.5]])
    X = X - X.mean(axis=0)
    S = X.T @ X / len(X)
    W = np.asarray(zca(S[0, 0], S[0, 1], S[1, 1]), dtype=float)
    np.testing.assert_allclose(W, W.T)
    Xw = X @ W.T
    np.testing.assert_allclose(Xw.T @ Xw / len(X), np.eye(2), atol=1e-12)
