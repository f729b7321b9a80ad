"""derive.activation / derive.custom: a user's activation analysed like the catalog's."""
import math
import shutil
import subprocess
import threading

import numpy as np
import pytest
import sympy as sp

import derive
from derive.custom import AnalysisTimeout, analyse_activation, scaled_fixed_point
from derive.safe_parse import X, UnsafeExpression
from proofs.testing.crosscheck import run_crosscheck
from test_safe_parse import hostile_inputs

MISH = "x*tanh(log(1+exp(x)))"


def _extra_hostile(sentinel):
    s = str(sentinel)
    return {
        "allowed function around an import": f"exp(__import__('os').system('touch {s}'))",
        "allowed function around open": f"relu(open('{s}', 'w'))",
        "getattr": "getattr(x, '__class__')",
        "dunder name": "__builtins__",
    }


@pytest.fixture(scope="module")
def mish():
    return derive.activation(MISH)


@pytest.mark.parametrize("name", list(hostile_inputs("s")) + list(_extra_hostile("s")))
def test_api_refuses_hostile_input_and_nothing_runs(name, tmp_path):
    sentinel = tmp_path / "sentinel"
    text = {**hostile_inputs(sentinel), **_extra_hostile(sentinel)}[name]
    with pytest.raises(UnsafeExpression) as info:
        derive.activation(text)
    assert str(info.value)
    assert not sentinel.exists()


def test_bad_options_are_refused_clearly():
    with pytest.raises(ValueError, match="variance"):
        analyse_activation("tanh(x)", q=-1.0)
    with pytest.raises(TypeError, match="q"):
        analyse_activation("tanh(x)", q="2")
    with pytest.raises(ValueError, match="digits"):
        analyse_activation("tanh(x)", digits=3)


def test_mish_derivative_matches_central_differences(mish):
    f = sp.lambdify(X, mish.expression, "numpy")
    df = sp.lambdify(X, mish.derivative, "numpy")
    x = np.random.default_rng(6).uniform(-6, 6, 200)
    h = 1e-5
    np.testing.assert_allclose(df(x), (f(x + h) - f(x - h)) / (2 * h), rtol=1e-7, atol=1e-9)


def test_mish_moments_agree_with_scipy_and_monte_carlo(mish):
    from scipy import integrate

    from proofs.testing import assert_mean

    f = sp.lambdify(X, mish.expression, "numpy")
    df = sp.lambdify(X, mish.derivative, "numpy")
    for v in (1, 2):
        m = {k: float(mv.value) for k, mv in mish.moments[sp.Integer(v)].items()}
        assert not mish.moments[sp.Integer(v)]["mean"].exact  # Mish: quadrature, flagged

        def dens(t, g, v=v):
            return g(t) * math.exp(-t * t / (2 * v)) / math.sqrt(2 * math.pi * v)

        for name, g in (("mean", f), ("second_moment", lambda t: f(t) ** 2),
                        ("derivative_second_moment", lambda t: df(t) ** 2)):
            edge = 30 * math.sqrt(v)  # the Gaussian tail beyond 30 sd is below 1e-190
            ref = sum(integrate.quad(dens, lo, hi, args=(g,), epsabs=1e-14, limit=200)[0]
                      for lo, hi in ((-edge, 0), (0, edge)))
            assert m[name] == pytest.approx(ref, rel=1e-9)
        rng = np.random.default_rng([6, v])
        z = rng.standard_normal(400_000) * math.sqrt(v)
        assert_mean(f(z), m["mean"], foil=math.sqrt(v / (2 * math.pi)),
                    false_fail_rate=1e-7, name=f"Mish E[f], v = {v}")
        assert_mean(df(z) ** 2, m["derivative_second_moment"],
                    false_fail_rate=1e-7, name=f"Mish E[f'^2], v = {v}")
        with pytest.raises(AssertionError):  # the ReLU value is rejected by the same test
            assert_mean(f(z), math.sqrt(v / (2 * math.pi)), false_fail_rate=1e-7)


def test_mish_gain_is_the_activation_gain_helper(mish):
    from derive.initialization import activation_gain

    g = activation_gain(mish.expression, X, 1, 30)
    assert float(mish.gains[sp.Integer(1)]["forward"]) == pytest.approx(float(g.gain), 1e-25)
    assert float(mish.gains[sp.Integer(1)]["backward"]) == pytest.approx(
        float(g.backward_gain), 1e-25)


@pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning")
def test_mish_has_a_contracting_selu_like_fixed_point(mish):
    # quad samples t far out, where log(1 + e^t) overflows to inf and tanh(inf) = 1 is right
    fp = mish.fixed_point
    assert fp.exists and not fp.odd and fp.alpha > 1
    # the scaled activation really has mean 0 and second moment 1 (scipy, float64)
    from scipy import integrate

    f = sp.lambdify(X, mish.expression, "numpy")
    a, lam = float(fp.alpha), float(fp.lam)

    def scaled(t):
        return lam * f(t) * (1.0 if t > 0 else a)

    phi = lambda t: math.exp(-t * t / 2) / math.sqrt(2 * math.pi)
    mean = sum(integrate.quad(lambda t: scaled(t) * phi(t), lo, hi, epsabs=1e-13)[0]
               for lo, hi in ((-np.inf, 0), (0, np.inf)))
    second = sum(integrate.quad(lambda t: scaled(t) ** 2 * phi(t), lo, hi, epsabs=1e-13)[0]
                 for lo, hi in ((-np.inf, 0), (0, np.inf)))
    assert abs(mean) < 1e-10 and second == pytest.approx(1, abs=1e-10)
    # spectral radius = |d/dν Var f_{λ,α}(√ν ξ)| at ν = 1, by a central difference in ν
    def var(nu):
        def dens(t, k):
            return scaled(t) ** k * math.exp(-t * t / (2 * nu)) / math.sqrt(2 * math.pi * nu)

        m1, m2 = (sum(integrate.quad(dens, lo, hi, args=(k,), epsabs=1e-13)[0]
                      for lo, hi in ((-np.inf, 0), (0, np.inf))) for k in (1, 2))
        return m2 - m1 ** 2

    h = 1e-4
    slope = (var(1 + h) - var(1 - h)) / (2 * h)
    assert float(fp.spectral_radius) == pytest.approx(abs(slope), rel=1e-6)
    assert fp.contracts is (float(fp.spectral_radius) < 1)


def test_elu_gives_selu_and_reproduces_the_selu_derivation():
    elu = sp.Piecewise((X, X > 0), (sp.exp(X) - 1, True))
    fp = scaled_fixed_point(elu, digits=40)
    assert fp.exists and fp.exact
    ref = derive.get("selu-fixed-point").values
    assert abs(sp.N(fp.alpha - ref["alpha_exact"], 50)) < 1e-40
    assert abs(sp.N(fp.lam - ref["lambda_exact"], 50)) < 1e-40
    assert abs(sp.N(fp.spectral_radius - ref["spectral_radius"], 50)) < 1e-40
    J = ref["jacobian"]
    for i in range(2):
        for j in range(2):
            assert abs(sp.N(fp.jacobian[i, j] - J[i, j], 50)) < 1e-40


def test_relu_has_no_fixed_point_and_exact_gain_sqrt2():
    r = derive.activation("relu(x)")
    assert r.exact
    assert r.gains[sp.Integer(1)]["forward"] == sp.sqrt(2)
    assert r.gains[sp.Integer(2)]["forward"] == sp.sqrt(2)
    assert not r.fixed_point.exists and "a₋" in r.fixed_point.reason


def test_even_activation_has_no_positive_alpha():
    r = derive.activation("x**2", q=3)
    assert not r.fixed_point.exists and "not positive" in r.fixed_point.reason
    assert r.moment("second_moment", 3).value == 27  # E[z⁴] = 3q², exact


def test_odd_activations_get_alpha_one():
    lin = derive.activation("x")
    fp = lin.fixed_point
    assert fp.exists and fp.odd and fp.alpha == 1 and fp.lam == 1
    assert fp.spectral_radius == 1 and fp.contracts is False  # identity: E[ξ⁴] − 1 = 2
    t = derive.activation("tanh(x)", time_limit=0)
    assert t.fixed_point.odd and t.fixed_point.alpha == 1
    assert float(t.fixed_point.lam) == pytest.approx(float(t.gains[sp.Integer(1)]["forward"]),
                                                     rel=1e-25)


def test_derivation_renders_and_its_crosschecks_pass(mish, tmp_path):
    d = mish.derivation
    assert "custom-activation" in d.to_text()
    for cc in d.crosschecks:
        assert not run_crosscheck(cc, np.random.default_rng(1))
    if shutil.which("pdflatex"):
        (tmp_path / "d.tex").write_text(d.to_latex(standalone=True))
        out = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                              "d.tex"], cwd=tmp_path, capture_output=True, timeout=120,
                             check=False)
        assert out.returncode == 0, out.stdout[-2000:]


def test_cas_time_is_bounded_and_threads_use_quadrature():
    r = analyse_activation("x*sigmoid(x)", time_limit=0)
    assert any("budget" in n for n in r.notes)
    box = {}
    thread = threading.Thread(target=lambda: box.update(r=analyse_activation("sin(x)*x")))
    thread.start()
    thread.join(120)
    assert any("main thread" in n for n in box["r"].notes)


def test_a_hard_input_stops_at_the_deadline():
    import time

    start = time.monotonic()
    with pytest.raises(AnalysisTimeout):
        analyse_activation("sin(exp(x*x))*x", digits=60, max_seconds=1.5, time_limit=0)
    assert time.monotonic() - start < 15


# ---- edges: domain, existence of moments, verified quadrature, limits (issue 14) --------
from derive.custom import ActivationRefused  # noqa: E402


@pytest.mark.parametrize("text, words", [
    ("1/x", "1/x needs x to be non-zero, which fails at x = 0"),
    ("1/x**2", "needs x to be non-zero"),
    ("1/(x - 0.3)", "fails at x = 0.3"),
    ("sqrt(x)", "sqrt\\(x\\) needs x to be non-negative"),
    ("log(x)", "log\\(x\\) needs x to be positive"),
    ("x**x", "x\\*\\*x needs x to be positive"),
    ("exp(x**2)", "E\\|f\\(z\\)\\| is infinite for z ~ N\\(0, 1\\)"),
    ("exp(x**2/4)", "E\\[f\\(z\\)²\\] is infinite for z ~ N\\(0, 1\\)"),
    ("exp(x**2/5)", "E\\[f\\(z\\)²\\] is infinite for z ~ N\\(0, 2\\)"),
    ("exp(exp(exp(x)))", "grows faster than exp\\(c·x²\\) for every c"),
    ("abs(x)**0.5", "f' is not real and finite for every real x"),
])
def test_valid_but_unanalysable_expressions_are_refused_in_one_line(text, words):
    import time
    start = time.monotonic()
    with pytest.raises(ActivationRefused, match=words) as info:
        derive.activation(text, max_seconds=20)
    assert "\n" not in str(info.value)
    assert "mpf" not in str(info.value) and "InvalidOperation" not in str(info.value)
    assert time.monotonic() - start < 20


def test_moments_that_exist_only_for_small_variance_are_derived_there():
    # E[f²] for exp(x²/5) exists at v = 1 (2/5 < 1/2) and not at v = 2; with q = 1 it works
    a = derive.activation("exp(x**2/5)", q=1, digits=15)
    # E[exp(2x²/5)] = (1 − 4/5)^(-1/2) = √5, computed here by sympy, not typed
    want = sp.integrate(sp.exp(2 * X**2 / 5 - X**2 / 2), (X, -sp.oo, sp.oo)) / sp.sqrt(2 * sp.pi)
    assert float(a.moment("second_moment").value) == pytest.approx(float(want), rel=1e-13)
    assert a.fourth_moments[sp.Integer(1)]["second_moment"] is None  # E[f⁴] is infinite


def test_heavy_tails_get_exact_fourth_moments():
    a = derive.activation("x**4")
    four = a.fourth_moments[sp.Integer(1)]
    assert four["second_moment"].value == sp.factorial2(15)  # E[z¹⁶] = 15!!
    assert four["derivative_second_moment"].value == 256 * sp.factorial2(11)  # E[(4z³)⁴]
    assert four["mean"].value == a.moment("second_moment").value == sp.factorial2(7)


def test_quadrature_is_verified_where_one_rule_is_wrong():
    """sin(x)^126 cos(x)^126 has narrow peaks every π/2; a single tanh–sinh quadrature
    reports 6.86e-42 "to 30 digits". The independent reference is the Fourier series
    sin²ⁿ(y) = 2^(−2n)[C(2n, n) + 2Σ_k (−1)^k C(2n, n−k) cos(2ky)] with y = 2z and
    E[cos(4kz)] = e^(−8k²) for z ~ N(0, 1)."""
    from derive.quadrature import gaussian_integral

    n = 63
    ref = sp.Rational(1, 2**(2 * n)) * sp.Rational(1, 2**(2 * n)) * (
        sp.binomial(2 * n, n) + 2 * sum((-1)**k * sp.binomial(2 * n, n - k) * sp.exp(-8 * k * k)
                                        for k in range(1, n + 1)))
    g = sp.lambdify(X, (sp.sin(X) * sp.cos(X))**(2 * n), "mpmath")
    r = gaussian_integral(g, 1.0, 15)
    assert r.digits >= 12
    assert float(r.value) == pytest.approx(float(sp.N(ref, 30)), rel=10.0**-r.digits * 10)


def test_memory_limit_turns_a_huge_allocation_into_memory_error():
    from derive.custom import _memory_limit
    with _memory_limit(2**28), pytest.raises(MemoryError):
        bytearray(2**31)
    assert len(bytearray(2**28)) == 2**28  # the limit is lifted afterwards


def test_time_limit_covers_the_whole_analysis():
    import time
    start = time.monotonic()
    with pytest.raises(AnalysisTimeout, match="did not finish within the 2 s limit"):
        derive.activation("sin(x)**63*cos(x)**63", max_seconds=2)
    assert time.monotonic() - start < 8
