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
    assert "\\%" in s and "\\{" in s and "\\&" in s and "\\_" in s and "\\#" in s
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
