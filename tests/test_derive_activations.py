"""Catalog section 7 (activation functions): values the derivations must produce.

The reference digits below are the published constants (002 §9.2.2, Klambauer et al. 2017)
and are only compared against; the derivations compute their own values.
"""
import numpy as np
import pytest
import sympy as sp
from scipy import optimize, special, stats

import derive

SLUGS = ["sigmoid-derivative", "tanh-derivative", "relu-family", "elu-derivative",
         "selu-fixed-point", "gelu", "swish"]


def kernel(slug, name):
    c = derive.get(slug).conclusions[name]
    return sp.lambdify(c.args, c.expr, modules=["scipy", "numpy"])


@pytest.mark.parametrize("slug", SLUGS)
def test_registered_with_kernels(slug):
    e = derive.entries()[slug]
    assert e.section == 7 and derive.Kind.K in e.kinds
    assert any(c.kernel for c in derive.get(slug).conclusions.values())


def test_sigmoid_maximum_and_stable_kernels():
    d = derive.get("sigmoid-derivative")
    assert d.values["max_sigmoid_grad"] == sp.Rational(1, 4)
    x = np.array([-800.0, -30.0, -1.0, 0.0, 2.0, 800.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow anywhere
        s = kernel("sigmoid-derivative", "sigmoid")(x)
        g = kernel("sigmoid-derivative", "sigmoid_grad")(x)
    np.testing.assert_allclose(s, special.expit(x), rtol=1e-14, atol=0)
    np.testing.assert_allclose(g, special.expit(x) * special.expit(-x), rtol=1e-12, atol=0)
    assert g.max() <= 0.25


def test_relu_family_conventions_at_zero():
    assert kernel("relu-family", "relu_grad")(0.0) == 0
    assert kernel("relu-family", "leaky_relu_grad")(0.0, 0.1) == pytest.approx(0.1)
    assert kernel("relu-family", "prelu_grad_alpha")(-2.0) == -2.0
    assert kernel("relu-family", "prelu_grad_alpha")(3.0) == 0


def test_elu_continuity_solution():
    assert derive.get("elu-derivative").values["alpha_continuous_derivative"] == [1]


def test_selu_constants_match_published_digits():
    v = derive.get("selu-fixed-point").values
    published_alpha = sp.Float("1.6732632423543772848170429916717", 40)
    published_lambda = sp.Float("1.0507009873554804934193349852946", 40)
    assert abs(v["alpha"] - published_alpha) < sp.Float("1e-30")
    assert abs(v["lambda"] - published_lambda) < sp.Float("1e-30")
    assert v["alpha"]._prec >= 130  # at least ~40 decimal digits stored
    assert v["spectral_radius"] < 1
    J = np.array(v["jacobian"].tolist(), dtype=float)
    # Klambauer et al. (2017) eq. 5 quote J ≈ [[0, 0.088834], [0, 0.782648]] at ω = 0, τ = 1
    np.testing.assert_allclose(J, [[0, 0.088834], [0, 0.782648]], atol=1e-6)


def test_selu_kernel_has_zero_mean_unit_variance_under_quad():
    f = kernel("selu-fixed-point", "selu")
    m = sum(quad_part(lambda z: f(z) * stats.norm.pdf(z), lo, hi)
            for lo, hi in ((-40, 0), (0, 40)))
    q = sum(quad_part(lambda z: f(z) ** 2 * stats.norm.pdf(z), lo, hi)
            for lo, hi in ((-40, 0), (0, 40)))
    assert abs(m) < 1e-12 and abs(q - 1) < 1e-12


def quad_part(f, lo, hi):
    from scipy.integrate import quad
    return quad(f, lo, hi, epsabs=1e-14, epsrel=1e-13)[0]


def test_gelu_errors_against_dense_grid():
    v = derive.get("gelu").values
    u = np.linspace(-12, 12, 2_400_001)
    exact = u * stats.norm.cdf(u)
    e_tanh = np.max(np.abs(kernel("gelu", "gelu_tanh")(u) - exact))
    e_sig = np.max(np.abs(kernel("gelu", "gelu_sigmoid")(u) - exact))
    assert float(v["max_abs_error_tanh"]) == pytest.approx(e_tanh, rel=1e-6)
    assert float(v["max_abs_error_sigmoid"]) == pytest.approx(e_sig, rel=1e-6)
    assert v["c_taylor"].equals(2 / (3 * sp.pi) - sp.Rational(1, 6))
    assert abs(float(v["c_taylor"]) - 0.044715) > 5e-4


def test_swish_minimum_against_scipy():
    v = derive.get("swish").values
    res = optimize.minimize_scalar(lambda u: u * special.expit(u), bracket=(-3, -1, 0), tol=1e-12)
    assert float(v["min_50"]) == pytest.approx(res.fun, rel=1e-10)
    assert float(v["argmin_50"]) == pytest.approx(res.x, abs=1e-5)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        # the generated kernel (codegen evaluates σ from e^{−|u|}): no overflow
        from numeric.kernels import kernels as K
        out = K.swish(np.array([-1000.0, 1000.0]), 1.0)
    np.testing.assert_allclose(out, [0.0, 1000.0])
