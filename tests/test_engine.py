"""The engine itself: checks, errors and output, on small hand-made derivations."""
import pytest
import sympy as sp

from derive.core import Derivation, DerivationError, RewriteError, check_equal
from derive.render import escape_text


def test_exact_check_recorded():
    x = sp.Symbol("x", real=True)
    assert check_equal((x + 1) ** 2, x**2 + 2 * x + 1).method == "exact"


def test_wrong_equality_names_a_witness():
    x = sp.Symbol("x", real=True)
    with pytest.raises(RewriteError, match="difference"):
        check_equal((x + 1) ** 2, x**2 + 1)


def test_rewrite_error_names_both_steps():
    d = Derivation("t", "t", "none")
    x = d.symbol("x", real=True)
    d.define("start", sp.sin(x) ** 2 + sp.cos(x) ** 2)
    d.rewrite("pythagoras", sp.Integer(1))
    with pytest.raises(RewriteError) as info:
        d.rewrite("bogus", sp.Integer(2))
    assert "'bogus'" in str(info.value) and "'pythagoras'" in str(info.value)


def test_conclusion_must_declare_its_symbols():
    d = Derivation("t", "t", "none")
    x, y = d.symbols("x y", real=True)
    d.define("start", x * y)
    with pytest.raises(DerivationError, match="free symbols"):
        d.conclude("k", x * y, [x])


def test_fixed_sizes_check_and_failure():
    d = Derivation("t", "t", "none")

    def family(m):
        xs = sp.symbols(f"x0:{m}", real=True)
        mu = sum(xs) / m
        return sum(x - mu for x in xs), 0

    c = d.prove_for_sizes("centred sum", sp.Symbol("S"), family)
    assert c.method == "sizes"
    with pytest.raises(RewriteError, match="m = 2"):
        d.prove_for_sizes("wrong", sp.Symbol("S"), lambda m: (sp.Integer(m), 0))


def test_probabilistic_check_states_its_nature():
    x = sp.Symbol("x", positive=True)
    # an identity simplify cannot always see, checked at high precision
    c = check_equal(sp.atan(x) + sp.atan(1 / x), sp.pi / 2)
    assert c.method in ("exact", "high-precision")


def test_text_escaping_is_safe():
    s = escape_text("50% of {x} & y_1 # ~ ^ \\ σ² − μ $\\frac{a}{b}$")
    assert "\\%" in s and "\\{" in s and "\\&" in s and "\\#" in s
    assert "$y_{1}$" in s and "\\_" not in s  # y_1 is mathematics, not text
    assert "\\frac{a}{b}" in s and s.isascii()


def test_strings_never_reach_sympify():
    d = Derivation("t", "t", "none")
    with pytest.raises(TypeError):
        d.define("text", "__import__('os')")


def test_erratum_requires_a_real_difference():
    d = Derivation("t", "t", "none")
    g = d.symbol("g", positive=True)
    with pytest.raises(DerivationError):
        d.erratum("e", source="s", stated="a", correct="b", stated_expr=g, correct_expr=g,
                  witness={g: 2})
    e = d.erratum("e", source="s", stated="a", correct="b", stated_expr=g, correct_expr=2 * g,
                  witness={g: 2})
    assert e.difference == -2


def test_undefined_function_difference_is_refused_not_crashing():
    x = sp.Symbol("x", real=True)
    s = sp.Function("sigma")
    with pytest.raises(RewriteError, match="undefined"):
        check_equal(2 * s(x).diff(x), s(x).diff(x) + 1)


def test_small_wrong_value_is_not_hidden_under_an_absolute_floor():
    """2^-L against 2^-(L+1): both are tiny for large L, but they differ by a factor 2."""
    L = sp.Symbol("L", integer=True, positive=True)
    q0 = sp.Symbol("q0", positive=True)
    with pytest.raises(RewriteError, match="difference"):
        check_equal(q0 / 2**L, q0 / 2 ** (L + 1))
    with pytest.raises(RewriteError):
        check_equal(q0 * sp.exp(-50 * L), q0 * sp.exp(-50 * L) * (1 + sp.Rational(1, 997)))


def test_relative_comparison_accepts_true_identities_of_any_magnitude():
    L = sp.Symbol("L", integer=True, positive=True)
    x = sp.Symbol("x", positive=True)
    assert check_equal(sp.Rational(1, 2) ** L * sp.exp(x), sp.exp(x - L * sp.log(2))).method \
        in ("exact", "high-precision")
    # sides whose terms cancel to 0: the rounding is relative to the terms
    assert check_equal(sp.log(6 * x) - sp.log(2 * x) - sp.log(3), sp.Integer(0)).method \
        in ("exact", "high-precision")


def test_integer_symbols_stay_representable_in_numeric_checks():
    """1 - b^t with t up to 10^6 would round to 1 at 60 digits; t is drawn small instead."""
    t = sp.Symbol("t", integer=True, positive=True)
    b = sp.Symbol("b", positive=True)
    beta = b / (1 + b)  # in (0, 1)
    with pytest.raises(RewriteError):
        check_equal(sp.sqrt(1 - beta**t), sp.sqrt(1 - beta**t) + beta ** (t + 200))
    with pytest.raises(RewriteError):
        check_equal(sp.sqrt(1 - sp.Rational(1, 2) ** t), sp.Integer(1))


def test_checks_state_their_kind_and_bound():
    x, y = sp.symbols("x y", real=True)
    c = check_equal(x / (x**2 + 1) + y, y + x / (x**2 + 1) + 0 * x)
    assert c.method == "exact"
    c = check_equal(sp.atan(x) + sp.atan(1 / x), sp.pi / 2 * sp.sign(x))
    assert c.method in ("exact", "high-precision")
    if c.method == "high-precision":
        assert "no rigorous bound" in c.describe() and c.failure_bound is None


def test_nan_never_passes():
    x = sp.Symbol("x", real=True)
    with pytest.raises(RewriteError):
        check_equal(sp.nan * x, x)


def test_claim_recheck_and_perturbation():
    d = Derivation("t", "t", "none")
    x = d.symbol("x", real=True)
    d.define("start", (x + 1) ** 2)
    d.rewrite("expand", x**2 + 2 * x + 1, at=None)
    step = d.steps[-1]
    assert step.claim is not None and step.claim.recheck().method == "exact"
    with pytest.raises(RewriteError):
        step.claim.recheck(lambda e: e * (1 + sp.Rational(1, 997)))
    d.rewrite("at x = 2", sp.Integer(9), at={x: 2})
    assert d.steps[-1].claim.at == {x: 2}
    with pytest.raises(RewriteError):
        d.steps[-1].claim.recheck(lambda e: e + sp.Rational(1, 997))


def test_conclusion_restating_a_definition_is_labelled_given():
    d = Derivation("t", "t", "none")
    x = d.symbol("x", real=True)
    d.define("rule", 2 * x)
    d.conclude("k", 2 * x, [x])
    assert d.steps[-1].check.method == "given"
    assert "restates step 1" in d.steps[-1].check.describe()


def test_kinks_are_proved_exactly_by_sign_cases():
    x = sp.Symbol("x", real=True)
    u = sp.exp(-sp.Abs(x))
    stable = sp.Piecewise((1, x >= 0), (u, True)) / (1 + u)
    c = check_equal(1 / (1 + sp.exp(-x)), stable)
    assert c.method == "exact" and "cases" in c.detail
    with pytest.raises(RewriteError):
        check_equal(1 / (1 + sp.exp(-x)), sp.Piecewise((1, x > 0), (u, True)) / (1 + 2 * u))


def test_form_for_sizes_starts_a_checked_chain():
    d = Derivation("t", "t", "none")
    g, g_mean = d.symbols("g g_mean", real=True)

    def centred(m):  # the form applied to each entry with that batch's mean
        gs = sp.symbols(f"g_1:{m + 1}", real=True)
        mean = sum(gs) / m
        return (sp.Matrix([gk - mean for gk in gs]),
                sp.Matrix([(g - g_mean).subs({g: gk, g_mean: mean}) for gk in gs]))

    d.form_for_sizes("centred", g - g_mean, centred, sizes=(2, 3))
    d.conclude("k", g - g_mean, [g, g_mean])
    assert d.steps[-1].check.method == "sizes" and "restates step 1" in d.steps[-1].check.detail
    with pytest.raises(RewriteError, match="m = 2"):
        d.form_for_sizes("wrong", 2 * g - g_mean, lambda m: (
            sp.Matrix([0]), sp.Matrix([(2 * g - g_mean).subs({g: 1, g_mean: 1})])))


def test_gaussian_expectation_is_verified_and_recheckable():
    d = Derivation("t", "t", "none")
    x = d.symbol("x", real=True)
    value = d.gaussian_expectation("E[x²]", x**2, x, variance=1, digits=20)
    assert abs(value - 1) < sp.Float(10) ** -18
    step = d.steps[-1]
    assert step.check.method == "quadrature" and "20 significant digits" in step.check.detail
    assert "verified error bound" in step.check.describe()
    with pytest.raises(RewriteError):
        step.claim.recheck(lambda e: e * (1 + sp.Rational(1, 997)))
