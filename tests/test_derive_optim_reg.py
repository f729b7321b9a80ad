"""Catalog sections 8 (optimisers) and 9 (regularisation): results beyond the generated tests.

The kernels are lambdified from the concluded expressions here (not read from numeric/),
so these tests check the derivations themselves; independent references are written in
plain NumPy/SciPy.
"""
import time

import numpy as np
import pytest
import sympy as sp

import derive
from derive.core import Derivation, RewriteError
from derive.registry import entries

OPTIM = ["ema-unroll", "ema-bias-correction", "momentum", "adagrad", "rmsprop", "adadelta",
         "adam"]
REG = ["l2-gradient", "ridge-limits", "mixup"]

# The kernel contract (names and argument order) the numeric optimisers rely on.
CONTRACT = {
    "momentum": {"momentum_ema_update": ("m", "g", "gamma"),
                 "heavy_ball_velocity": ("v", "g", "mu")},
    "adagrad": {"adagrad_accumulate": ("s", "g"), "adagrad_step": ("g", "s", "eta", "eps")},
    "rmsprop": {"rmsprop_accumulate": ("s", "g", "gamma"),
                "rmsprop_step": ("g", "s", "eta", "eps")},
    "adadelta": {"adadelta_step": ("g", "s", "d", "eps"),
                 "adadelta_accumulate_delta": ("d", "delta", "gamma"),
                 "adadelta_accumulate_grad": ("s", "g", "gamma")},
    "adam": {"adam_first_moment": ("m", "g", "beta1"), "adam_second_moment": ("v", "g", "beta2"),
             "adam_step": ("m", "v", "t", "eta", "beta1", "beta2", "eps")},
}


def kernel(name):
    """Lambdify a concluded kernel (NumPy), keyed by its conclusion name."""
    for slug in CONTRACT:
        d = derive.get(slug)
        if name in d.conclusions:
            c = d.conclusions[name]
            return sp.lambdify(c.args, c.expr, modules="numpy")
    raise KeyError(name)


@pytest.mark.parametrize("slug", OPTIM + REG)
def test_builds_well_under_two_seconds(slug):
    entry = entries()[slug]
    start = time.perf_counter()
    entry.builder(Derivation(entry.slug, entry.title, entry.source))
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("slug", sorted(CONTRACT))
def test_kernel_names_and_arguments_follow_the_contract(slug):
    d = derive.get(slug)
    got = {c.name: tuple(map(str, c.args)) for c in d.conclusions.values() if c.kernel}
    assert got == CONTRACT[slug]
    for c in d.conclusions.values():
        assert not c.expr.has(sp.Abs, sp.sign, sp.Piecewise), f"{c.name} is not smooth algebra"


# ---- section 8 ----------------------------------------------------------------------
def test_ema_erratum_reproduces_the_source_example_and_refutes_b33():
    d = derive.get("ema-unroll")
    (e,) = d.errata
    assert e.slug == "ema-unroll-weights"
    a = 0.0
    for _ in range(3):  # 004 eq. B.32: inputs 1, 1, 1 with γ = 1/10
        a = 0.1 * a + 0.9 * 1.0
    assert float(e.correct_expr.subs(e.witness)) == pytest.approx(a, rel=1e-15)
    assert abs(float(e.stated_expr.subs(e.witness)) - a) > 0.1
    assert e.difference != 0


def test_the_b33_weight_cannot_pass_the_induction():
    gamma = sp.Symbol("gamma", positive=True)
    T, t = sp.symbols("T t", integer=True, positive=True)
    wrong = gamma**(T - t) * (1 - gamma)**t
    d = Derivation("scratch", "scratch", "test")
    # the γ-ageing of old weights holds for B.33's form too; the new gradient's weight fails
    d.prove("B.33's old weights age by γ", gamma * wrong, wrong.subs(T, T + 1))
    with pytest.raises(RewriteError):
        d.prove("B.33's new-gradient weight", 1 - gamma, wrong.subs({T: T + 1, t: T + 1}))


def test_ema_weights_total_and_bias_correction_numerically(rng):
    c = derive.get("ema-unroll").conclusions["ema_weight_total"]
    total = sp.lambdify(c.args, c.expr)
    for gamma in rng.uniform(0.05, 0.99, 5):
        for T in (1, 7, 30):
            w = [gamma**(T - k) * (1 - gamma) for k in range(1, T + 1)]
            assert sum(w) == pytest.approx(total(gamma, T), rel=1e-12)
            a = 0.0
            for _ in range(T):
                a = gamma * a + (1 - gamma) * 2.5
            assert a / (1 - gamma**T) == pytest.approx(2.5, rel=1e-12)
    assert list(derive.get("ema-bias-correction").values["example_averages"]) == [
        sp.Rational(9, 10), sp.Rational(99, 100), sp.Rational(999, 1000)]


def test_momentum_forms_give_the_same_iterates_with_gradient_feedback(rng):
    ema, hb = kernel("momentum_ema_update"), kernel("heavy_ball_velocity")
    A = np.diag([1.0, 25.0])  # ill-conditioned quadratic ½ wᵀAw
    eta, gamma = 0.03, 0.85
    w1 = w2 = rng.normal(size=2)
    m, v = np.zeros(2), np.zeros(2)
    for _ in range(60):
        m = ema(m, A @ w1, gamma)
        w1 = w1 - eta * m
        v = hb(v, A @ w2, gamma)
        w2 = w2 - eta * (1 - gamma) * v
    np.testing.assert_allclose(w1, w2, rtol=1e-10, atol=1e-13)


def test_momentum_foil_heavy_ball_without_rescaled_eta_differs(rng):
    ema, hb = kernel("momentum_ema_update"), kernel("heavy_ball_velocity")
    g = rng.normal(size=(5, 3))
    m, v = np.zeros(3), np.zeros(3)
    for gk in g:
        m, v = ema(m, gk, 0.9), hb(v, gk, 0.9)
    np.testing.assert_allclose(m, (1 - 0.9) * v, rtol=1e-12)
    assert not np.allclose(m, v)


def test_momentum_definition_words_erratum():
    (e,) = derive.get("momentum").errata
    assert e.slug == "momentum-definition-words"
    assert e.difference != 0


def test_adagrad_step_decays_like_inverse_sqrt_t(rng):
    acc, step = kernel("adagrad_accumulate"), kernel("adagrad_step")
    g = rng.normal(size=5)
    s = np.zeros(5)
    eta = 0.1
    for t in range(1, 401):
        s = acc(s, g)
        st = step(g, s, eta, 0.0)
        np.testing.assert_allclose(-st * np.sqrt(t), eta * np.sign(g), rtol=1e-12)


def test_rmsprop_step_does_not_decay(rng):
    acc, step = kernel("rmsprop_accumulate"), kernel("rmsprop_step")
    g = rng.normal(size=5)
    s = np.zeros(5)
    for _ in range(300):
        s = acc(s, g, 0.9)
    np.testing.assert_allclose(-step(g, s, 0.1, 1e-8), 0.1 * g / np.sqrt(g * g + 1e-8),
                               rtol=1e-10)


def test_adadelta_kernels_reproduce_zeiler_algorithm_1(rng):
    acc_g, acc_d = kernel("adadelta_accumulate_grad"), kernel("adadelta_accumulate_delta")
    step = kernel("adadelta_step")
    rho, eps = 0.95, 1e-6
    grads = rng.normal(size=(20, 3))
    x = np.zeros(3)
    s, d = np.zeros(3), np.zeros(3)
    ref_x, eg2, edx2 = np.zeros(3), np.zeros(3), np.zeros(3)
    for g in grads:
        s = acc_g(s, g, rho)
        delta = step(g, s, d, eps)
        x = x + delta
        d = acc_d(d, delta, rho)
        eg2 = rho * eg2 + (1 - rho) * g**2
        dx = -np.sqrt(edx2 + eps) / np.sqrt(eg2 + eps) * g
        edx2 = rho * edx2 + (1 - rho) * dx**2
        ref_x += dx
    np.testing.assert_allclose(x, ref_x, rtol=1e-12)
    (e,) = derive.get("adadelta").errata
    assert e.slug == "adadelta-is-rmsprop" and e.difference != 0


def test_adam_first_step_is_eta_per_coordinate(rng):
    m1, v1, step = (kernel("adam_first_moment"), kernel("adam_second_moment"),
                    kernel("adam_step"))
    g = rng.normal(size=6) * np.array([1e-3, 1e-1, 1, 10, 1e3, 1e5])
    for b1, b2 in ((0.9, 0.999), (0.5, 0.6)):
        m, v = m1(np.zeros(6), g, b1), v1(np.zeros(6), g, b2)
        inc = step(m, v, 1, 0.01, b1, b2, 1e-8)
        np.testing.assert_allclose(inc, -0.01 * g / (np.abs(g) + 1e-8), rtol=1e-9)
        np.testing.assert_allclose(np.abs(inc), 0.01, rtol=1e-4)


# ---- section 9 ----------------------------------------------------------------------
def test_ridge_solution_limits_and_monotonicity():
    from derive.regularization import _X, _Y
    d = derive.get("ridge-limits")
    X, y = np.array(_X.tolist(), float), np.array(list(_Y), float)
    theta_star = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(np.array(d.values["theta_star"], float).ravel(), theta_star,
                               rtol=1e-12)
    c = d.conclusions["ridge_solution"]
    sol = sp.lambdify(c.args, c.expr)
    grid = np.logspace(-6, 6, 200)
    thetas = np.array([np.asarray(sol(x), float).ravel() for x in grid])
    norms = (thetas**2).sum(axis=1)
    losses = ((thetas @ X.T - y) ** 2).sum(axis=1)
    assert np.all(np.diff(norms) < 0) and np.all(np.diff(losses) > 0)
    np.testing.assert_allclose(thetas[0], theta_star, rtol=1e-5)
    assert np.abs(thetas[-1]).max() < 1e-4


def test_l2_weight_decay_matches_sgd_on_penalised_loss(rng):
    d = derive.get("l2-gradient")
    c = d.conclusions["sgd_l2_step"]
    f = sp.lambdify(c.args, c.expr)
    theta, G = rng.normal(size=4), rng.normal(size=4)
    eta, lam = 0.05, 0.3
    np.testing.assert_allclose(f(theta, G, eta, lam), theta - eta * (G + 2 * lam * theta))
    # the foil: decay factor 1 − ηλ belongs to the (λ/2)‖θ‖² convention, not to 003's
    assert not np.allclose(f(theta, G, eta, lam), (1 - eta * lam) * theta - eta * G)


def test_mixup_moments_shape_and_erratum():
    from scipy import stats
    d = derive.get("mixup")
    var = sp.lambdify(list(d.conclusions["mixup_variance"].args),
                      d.conclusions["mixup_variance"].expr)
    for a in (0.1, 0.2, 1.0, 4.0):
        assert stats.beta(a, a).mean() == pytest.approx(0.5)
        assert stats.beta(a, a).var() == pytest.approx(var(a), rel=1e-12)
    pdf = stats.beta(0.2, 0.2).pdf
    assert pdf(0.001) > pdf(0.2) > pdf(0.5) < pdf(0.8) < pdf(0.999)
    (e,) = d.errata
    assert e.slug == "mixup-beta-zero" and e.stated_expr == sp.oo
    with pytest.raises(ValueError):  # no Beta(0, 0) in SciPy either
        stats.beta(0, 0).rvs(random_state=np.random.default_rng(1))
