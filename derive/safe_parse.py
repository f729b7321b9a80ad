"""Parse a user's activation text into SymPy, safely: no eval, exec, sympify or parse_expr.

The text is checked for size and bracket depth *before* Python's parser sees it, parsed
with ``ast.parse(mode="eval")``, and every node is checked against an allowlist while the
SymPy expression is built directly from SymPy constructors. Anything else is refused with
an ``UnsafeExpression`` (a ``ValueError``) that says what was wrong and what is accepted.

Accepted: numbers (int, decimal, scientific), the variable ``x``, the constants ``pi`` and
``e``, ``+ - * / **``, unary ``-``/``+``, parentheses, and calls to the functions in
``FUNCTIONS`` with positional arguments. Exponents that are constants must be at most
``MAX_EXPONENT`` in magnitude, so ``9**9**9**9`` is refused before anything is computed,
and every constant part (a subexpression free of x, checked bottom-up as it is built) must
be a real number of magnitude at most ``MAX_CONSTANT``, so ``exp(exp(exp(100)))`` is
refused at ``exp(exp(100))`` before any later step tries to evaluate it.
"""
from __future__ import annotations

import ast
import fractions
import math
from collections.abc import Callable

import sympy as sp

__all__ = ["FUNCTIONS", "UnsafeExpression", "X", "parse_activation"]

MAX_LENGTH = 400  # characters
MAX_DEPTH = 40  # nesting of brackets and of the syntax tree
MAX_NODES = 300
MAX_EXPONENT = 64
MAX_DIGITS = 30  # of an integer literal
MAX_CONSTANT = 1e300  # magnitude of any constant subexpression

X = sp.Symbol("x", real=True)


class UnsafeExpression(ValueError):
    """The activation text is not an expression nnmath accepts."""


def _sigmoid(a: sp.Expr) -> sp.Expr:
    return 1 / (1 + sp.exp(-a))


def _softplus(a: sp.Expr) -> sp.Expr:
    return sp.log(1 + sp.exp(a))


def _normal_cdf(a: sp.Expr) -> sp.Expr:
    return (1 + sp.erf(a / sp.sqrt(2))) / 2


def _relu(a: sp.Expr) -> sp.Expr:
    return sp.Max(0, a)


# name -> (number of arguments, constructor)
FUNCTIONS: dict[str, tuple[int, Callable[..., sp.Expr]]] = {
    "exp": (1, sp.exp), "log": (1, sp.log), "sqrt": (1, sp.sqrt), "abs": (1, sp.Abs),
    "tanh": (1, sp.tanh), "sinh": (1, sp.sinh), "cosh": (1, sp.cosh),
    "sin": (1, sp.sin), "cos": (1, sp.cos), "atan": (1, sp.atan), "arctan": (1, sp.atan),
    "erf": (1, sp.erf), "erfc": (1, sp.erfc), "sigmoid": (1, _sigmoid),
    "softplus": (1, _softplus), "Phi": (1, _normal_cdf), "relu": (1, _relu),
    "max": (2, sp.Max), "min": (2, sp.Min),
}
CONSTANTS = {"pi": sp.pi, "e": sp.E}
VARIABLES = {"x": X}
_BINARY = {ast.Add: sp.Add, ast.Sub: lambda a, b: a - b, ast.Mult: sp.Mul,
           ast.Div: lambda a, b: a / b, ast.Pow: sp.Pow}


def _accepted() -> str:
    return (f"accepted: numbers, x, pi, e, + - * / **, parentheses, and "
            f"{', '.join(sorted(FUNCTIONS))}")


def _precheck(text: str) -> None:
    if not isinstance(text, str):
        raise UnsafeExpression(f"expected the activation as text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise UnsafeExpression(f"expression is {len(text)} characters long; at most "
                               f"{MAX_LENGTH} are accepted")
    if not text.strip():
        raise UnsafeExpression("expression is empty; expected e.g. 'x*tanh(softplus(x))'")
    if not text.isascii() or any(c in text for c in "\x00\n\r;"):
        raise UnsafeExpression("expression may use printable ASCII on one line only")
    depth = deepest = 0
    for c in text:
        if c in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in ")]}":
            depth -= 1
    if deepest > MAX_DEPTH:
        raise UnsafeExpression(f"brackets nest {deepest} deep; at most {MAX_DEPTH} accepted")


def parse_activation(text: str) -> sp.Expr:
    """The activation ``text`` (a function of ``x``) as a SymPy expression in ``X``."""
    _precheck(text)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise UnsafeExpression(f"not a valid expression: {exc.msg} at column "
                               f"{exc.offset}; {_accepted()}") from None
    except (RecursionError, MemoryError, ValueError):
        raise UnsafeExpression("expression too complex to parse") from None
    count = sum(1 for _ in ast.walk(tree))
    if count > MAX_NODES:
        raise UnsafeExpression(f"expression has {count} syntax nodes; at most {MAX_NODES}")
    expr = _build(tree.body, 0)
    if not isinstance(expr, sp.Expr):
        raise UnsafeExpression("expression does not evaluate to a number-valued formula")
    if expr.has(sp.I, sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise UnsafeExpression("expression is not real-valued and finite (it contains "
                               "an imaginary unit, infinity or an undefined value)")
    if X not in expr.free_symbols:
        raise UnsafeExpression("expression does not depend on x; expected a function of x")
    return expr


def _number(value: object) -> sp.Expr:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UnsafeExpression(f"literal {value!r} is not a real number; {_accepted()}")
    if isinstance(value, int):
        if len(str(abs(value))) > MAX_DIGITS:
            raise UnsafeExpression(f"integer literal longer than {MAX_DIGITS} digits")
        return sp.Integer(value)
    if not math.isfinite(value):
        raise UnsafeExpression("number literal is not finite")
    frac = fractions.Fraction(repr(value))  # the decimal the user wrote, exactly
    return sp.Rational(frac.numerator, frac.denominator)


def _build(node: ast.AST, depth: int) -> sp.Expr:
    if depth > MAX_DEPTH:
        raise UnsafeExpression(f"expression nests deeper than {MAX_DEPTH}")
    if isinstance(node, ast.Constant):
        return _number(node.value)
    if isinstance(node, ast.Name):
        if node.id in VARIABLES:
            return VARIABLES[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        raise UnsafeExpression(f"unknown name {node.id!r}: the variable is x; constants are "
                               f"pi and e")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _build(node.operand, depth + 1)
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left = _build(node.left, depth + 1)
        right = _build(node.right, depth + 1)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        if isinstance(node.op, ast.Div) and right == 0:
            raise UnsafeExpression("division by zero")
        return _constant_ok(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise UnsafeExpression("only plain function names may be called (no attributes, "
                                   f"subscripts or calls of calls); {_accepted()}")
        name = node.func.id
        if name not in FUNCTIONS:
            raise UnsafeExpression(f"function {name!r} is not allowed; {_accepted()}")
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise UnsafeExpression(f"{name}() takes positional arguments only")
        arity, make = FUNCTIONS[name]
        if len(node.args) != arity:
            raise UnsafeExpression(f"{name}() takes {arity} argument(s), got {len(node.args)}")
        return _constant_ok(make(*(_build(a, depth + 1) for a in node.args)))
    raise UnsafeExpression(f"{type(node).__name__} is not allowed in an activation; "
                           f"{_accepted()}")


def _constant_ok(expr: sp.Expr) -> sp.Expr:
    """A constant part (free of x) must be a finite real number of magnitude at most
    MAX_CONSTANT. Its parts were checked already, so evaluating it is cheap (mpmath keeps
    exponents as integers: exp of a number below 1e300 has a 300-digit exponent at most)."""
    if not isinstance(expr, sp.Expr) or expr.free_symbols:
        return expr
    try:
        value = complex(sp.N(expr, 15))
    except (TypeError, ValueError, ArithmeticError):
        raise UnsafeExpression(f"constant {sp.sstr(expr)} is not a finite real number") from None
    if value.imag != 0:
        raise UnsafeExpression(f"constant {sp.sstr(expr)} is not real (value {value:.6g}); "
                               "the activation must be real for every real x")
    if not abs(value.real) <= MAX_CONSTANT:
        raise UnsafeExpression(f"constant {sp.sstr(expr)} is too large (beyond "
                               f"{MAX_CONSTANT:g} in magnitude); constants must be at most "
                               f"{MAX_CONSTANT:g}")
    return expr


def _check_power(base: sp.Expr, exponent: sp.Expr) -> None:
    if exponent.is_number:
        if not exponent.is_real or abs(float(exponent)) > MAX_EXPONENT:
            raise UnsafeExpression(f"exponent {exponent} too large: constant exponents must "
                                   f"be real and at most {MAX_EXPONENT} in magnitude")
        if base.is_number:  # a constant power: bound the size of the number it makes
            digits = abs(float(exponent)) * abs(float(sp.log(sp.Abs(base) + 1, 10).evalf(15)))
            if digits > 4 * MAX_EXPONENT:
                raise UnsafeExpression(f"constant power too large (about {digits:.0f} digits)")
