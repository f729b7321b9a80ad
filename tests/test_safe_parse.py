"""The activation parser refuses everything but a small arithmetic language, before any
evaluation. Each hostile input tries to create a sentinel file; none may succeed."""
import pytest
import sympy as sp

from derive.safe_parse import MAX_LENGTH, X, UnsafeExpression, parse_activation


def hostile_inputs(sentinel):
    s = str(sentinel)
    return {
        "import os": f"__import__('os').system('touch {s}')",
        "attribute chain": "().__class__.__bases__[0].__subclasses__()",
        "attribute on x": "x.__class__.__subclasses__()",
        "exec": f"exec(\"open('{s}','w')\")",
        "eval": f"eval(\"open('{s}','w')\")",
        "open": f"open('{s}', 'w')",
        "tower of powers": "9**9**9**9",
        "power of a power": "((2**64)**64)**64",
        "deep brackets": "(" * 10_000 + "x" + ")" * 10_000,
        "deep unary": "-" * 300 + "x",
        "one megabyte": "x+" * 500_000 + "x",
        "dotted name": "numpy.exp(x)",
        "dotted name 2": "os.system",
        "lambda": "(lambda: x)()",
        "comprehension": "[x for x in (1, 2)]",
        "generator": "sum(x for x in (1, 2))",
        "f-string": "f'{x}'",
        "subscript": "x[0]",
        "keyword call": "exp(x=1)",
        "starred": "exp(*[x])",
        "walrus": "(y := x)",
        "string": "'x'",
        "bytes": "b'x'",
        "boolean": "True",
        "complex": "1j*x",
        "compare": "x < 1",
        "conditional": "x if x > 0 else 0",
        "unknown function": "gamma(x)",
        "sympy name": "Symbol('y')",
        "unknown variable": "y*x",
        "statement": "import os",
        "two statements": "x; x",
        "newline": "x\n__import__('os')",
        "empty": "   ",
        "unicode": "x·x",
        "huge literal": "1" * 40 + "*x",
        "not a function of x": "2+3",
        "imaginary result": "(-1)**0.5*x",
        "division by zero": "x/0",
        "constant tower": "x*exp(exp(exp(100)))",
        "constant beyond 1e300": "x*exp(1000)",
        "non-real constant": "x + log(-1)",
        "non-real root": "x*(-8)**(1/3)",
    }


@pytest.mark.parametrize("name", list(hostile_inputs("s")))
def test_hostile_input_is_refused_and_nothing_runs(name, tmp_path):
    sentinel = tmp_path / "sentinel"
    text = hostile_inputs(sentinel)[name]
    with pytest.raises(UnsafeExpression) as info:
        parse_activation(text)
    assert str(info.value)  # a message that says what was wrong
    assert not sentinel.exists()


def test_length_limit_is_stated():
    with pytest.raises(UnsafeExpression, match=f"at most {MAX_LENGTH}"):
        parse_activation("x" * (MAX_LENGTH + 1))


@pytest.mark.parametrize("text, expected", [
    ("x*tanh(log(1+exp(x)))", X * sp.tanh(sp.log(1 + sp.exp(X)))),
    ("x*sigmoid(1.702*x)", X / (1 + sp.exp(-sp.Rational(1702, 1000) * X))),
    ("x*Phi(x)", X * (1 + sp.erf(X / sp.sqrt(2))) / 2),
    ("max(0, x)", sp.Max(0, X)),
    ("0.5*x*(1+tanh(sqrt(2/pi)*(x+0.044715*x**3)))",
     sp.Rational(1, 2) * X
     * (1 + sp.tanh(sp.sqrt(2 / sp.pi) * (X + sp.Rational(44715, 10**6) * X**3)))),
    ("-x**2 + 2**x", -X**2 + 2**X),
    ("x*tanh(softplus(x))", X * sp.tanh(sp.log(1 + sp.exp(X)))),
])
def test_accepted_expressions_build_exact_sympy(text, expected):
    got = parse_activation(text)
    assert sp.simplify(got - expected) == 0


def test_decimals_are_exact_rationals():
    assert parse_activation("0.1*x") == X / 10


@pytest.mark.parametrize("text, words", [
    ("x*exp(exp(exp(100)))", "exp(exp(100)) is too large"),
    ("x*exp(1000)", "too large"),
    ("sqrt(-2)*x", "not real"),
])
def test_constant_parts_are_checked_before_anything_is_evaluated(text, words):
    import time
    start = time.monotonic()
    with pytest.raises(UnsafeExpression, match=words.replace("(", r"\(").replace(")", r"\)")):
        parse_activation(text)
    assert time.monotonic() - start < 2


def test_large_but_finite_constants_are_accepted():
    assert parse_activation("x*exp(100)") == X * sp.exp(100)
