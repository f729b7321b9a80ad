"""Tests of derive/initialization.py beyond the registry-generated ones: the public
activation_gain helper, the uniform-bounds kernels' values, and cross-derivation facts."""
import numpy as np
import pytest
import sympy as sp
from scipy import integrate, optimize

import derive
from derive.initialization import activation_gain

x = sp.Symbol("x", real=True)


def _gauss_expect(fn, var=1.0):
    dens = lambda t: fn(t) * np.exp(-t * t / (2 * var)) / np.sqrt(2 * np.pi * var)
    return integrate.quad(dens, -np.inf, 0)[0] + integrate.quad(dens, 0, np.inf)[0]


def test_relu_gain_is_exactly_sqrt2_forward_and_backward():
    r = activation_gain(sp.Max(0, x), x)
    assert r.exact and r.gain == sp.sqrt(2) and r.backward_gain == sp.sqrt(2)
    assert r.second_moment == sp.Rational(1, 2)


def test_relu_gain_is_sqrt2_for_symbolic_q():
    q = sp.Symbol("q", positive=True)
    r = activation_gain(sp.Max(0, x), x, q=q)
    assert r.gain == sp.sqrt(2) and sp.simplify(r.second_moment - q / 2) == 0


def test_leaky_relu_gain_matches_the_table_symbolically():
    a = sp.Symbol("a", positive=True)
    r = activation_gain(sp.Piecewise((x, x > 0), (a * x, True)), x)
    assert r.exact
    assert sp.simplify(r.gain - sp.sqrt(2 / (1 + a**2))) == 0


@pytest.mark.parametrize("q", [0.5, 1, 3])
def test_tanh_gain_agrees_with_scipy_quadrature(q):
    r = activation_gain(sp.tanh(x), x, q=q)
    assert not r.exact and "significant digits" in r.precision
    want = np.sqrt(q / _gauss_expect(lambda t: np.tanh(t) ** 2, q))
    assert float(r.gain) == pytest.approx(want, rel=1e-10)
    want_back = 1 / np.sqrt(_gauss_expect(lambda t: (1 - np.tanh(t) ** 2) ** 2, q))
    assert float(r.backward_gain) == pytest.approx(want_back, rel=1e-10)


def test_tanh_table_gain_five_thirds_is_not_variance_preserving_at_q1():
    r = activation_gain(sp.tanh(x), x)
    assert abs(float(r.gain) - 5 / 3) > 0.05
    # with g = 5/3 the second moment is not kept at 1
    assert (5 / 3) ** 2 * float(r.second_moment) > 1.05


def test_selu_gain_at_its_own_constants_is_one_not_three_quarters():
    def selu_sq(t, alpha, lam):
        return (lam * (t if t > 0 else alpha * np.expm1(t))) ** 2

    def equations(p):
        alpha, lam = p
        mean = _gauss_expect(lambda t: lam * (t if t > 0 else alpha * np.expm1(t)))
        return [mean, _gauss_expect(lambda t: selu_sq(t, alpha, lam)) - 1]

    alpha, lam = optimize.fsolve(equations, [1.6, 1.05], xtol=1e-13)
    al, la = sp.Float(alpha, 15), sp.Float(lam, 15)
    f = sp.Piecewise((la * x, x > 0), (la * al * (sp.exp(x) - 1), True))
    r = activation_gain(f, x, digits=15)
    assert float(r.gain) == pytest.approx(1.0, abs=1e-8)
    assert abs(float(r.gain) - 0.75) > 0.2


def test_linear_activation_has_gain_one():
    r = activation_gain(x, x)
    assert r.gain == 1 and r.backward_gain == 1


def test_derivation_value_matches_the_public_function():
    d = derive.get("activation-gain")
    r = activation_gain(sp.tanh(x), x, digits=30)
    assert abs(float(d.values["tanh_gain_q1"]) - float(r.gain)) < 1e-18


@pytest.mark.parametrize("bad, error", [
    (dict(f_expr="max(0, x)"), TypeError),
    (dict(f_expr=sp.Max(0, x), q=0), ValueError),
    (dict(f_expr=sp.Max(0, x), q=-1.5), ValueError),
    (dict(f_expr=sp.Max(0, x), q="1"), TypeError),
    (dict(f_expr=sp.Max(0, x), digits=5), ValueError),
    (dict(f_expr=sp.Max(0, x), digits=30.0), ValueError),
    (dict(f_expr=sp.Integer(3)), ValueError),
    (dict(f_expr=sp.Max(0, x), x="x"), TypeError),
])
def test_bad_input_is_rejected_with_a_clear_error(bad, error):
    args = dict(f_expr=sp.Max(0, x), x=x)
    args.update(bad)
    with pytest.raises(error):
        activation_gain(**args)


def test_uniform_bound_kernels_broadcast_and_match_variances():
    d = derive.get("uniform-bounds")
    c = d.conclusions
    assert set(c) == {"xavier_uniform_bound", "he_uniform_bound", "lecun_uniform_bound",
                      "lecun_normal_std", "he_normal_std", "xavier_normal_std"}
    fan_in = np.array([[1.0], [64.0], [4096.0]])
    fan_out = np.array([3.0, 512.0])
    fns = {k: sp.lambdify(v.args, v.expr, "numpy") for k, v in c.items()}
    assert [str(a) for a in c["xavier_uniform_bound"].args] == ["n_in", "n_out"]
    # uniform U(−a, a) has variance a²/3; normal std² is the variance
    np.testing.assert_allclose(fns["xavier_uniform_bound"](fan_in, fan_out) ** 2 / 3,
                               2 / (fan_in + fan_out))
    np.testing.assert_allclose(fns["he_uniform_bound"](fan_in) ** 2 / 3, 2 / fan_in)
    np.testing.assert_allclose(fns["lecun_uniform_bound"](fan_in) ** 2 / 3, 1 / fan_in)
    np.testing.assert_allclose(fns["he_normal_std"](fan_in) ** 2, 2 / fan_in)
    np.testing.assert_allclose(fns["lecun_normal_std"](fan_in) ** 2, 1 / fan_in)
    np.testing.assert_allclose(fns["xavier_normal_std"](fan_in, fan_out) ** 2,
                               2 / (fan_in + fan_out))
    assert fns["xavier_uniform_bound"](fan_in, fan_out).shape == (3, 2)


def test_he_ratio_agrees_with_the_distribution_free_derivation():
    from derive.initialization import _relu_ratio
    assert _relu_ratio() == derive.get("relu-second-moment-symmetry").values[
        "relu_second_moment_ratio"]


def test_kaiming_snippet_erratum_and_listing_values():
    d = derive.get("kaiming-snippet")
    (e,) = d.errata
    Din = sp.Symbol("D_in", positive=True)
    assert e.stated_expr == 1 / sp.sqrt(Din) and e.correct_expr == sp.sqrt(2 / Din)
    assert d.values["printed_after_listing"] == sp.Rational(1, 64)
    assert d.values["corrected_after_listing"] == 1
    assert any(x.slug == "kaiming-snippet" for x in derive.errata())


def test_resnet_and_he_values():
    r = derive.get("resnet-variance").values
    assert r["block_factor"] == 2 and r["fixup_block_factor"] == 1
    he = derive.get("he-init").values
    assert he["forward_variance"] == 2 / sp.Symbol("n_in", positive=True)
    assert he["backward_variance"] == 2 / sp.Symbol("n_out", positive=True)


def test_xavier_compromise_is_the_harmonic_mean_not_the_arithmetic_mean():
    v = derive.get("xavier-init").values["compromise_variance"]
    n_in, n_out = sp.Symbol("n_in", positive=True), sp.Symbol("n_out", positive=True)
    at = {n_in: 100, n_out: 10}
    assert v.subs(at) == sp.Rational(2, 110)
    assert v.subs(at) != (sp.Rational(1, 100) + sp.Rational(1, 10)) / 2
