"""``nnmath codegen [--check]``: write the NumPy kernels generated from the derivations.

Every conclusion with ``kernel=True`` of every derivation whose catalog kinds include K is
turned into a Python function by ``sympy.lambdify`` and written, with the conclusion's
name and argument order, to ``numeric/kernels/<topic>.py`` (topic = the derive module that
registers the derivation, e.g. ``derive/normalization.py`` -> ``kernels/normalization.py``).

Before lambdify sees an expression, codegen rewrites it for floating point (``prepare``;
the kernel docstrings show the result before the last step, "evaluated as ..."):

* ``1/(1 + exp(-u))`` and friends -> σ(u) (``expit``); ``1 − σ(a)`` -> ``σ(−a)``;
  ``log(1 + exp(u))`` -> ``numpy.logaddexp(0, u)``;
* tanh forms as logistic ones inside sums (c a positive number): ``c + c·tanh(u)`` ->
  ``2c·σ(2u)``, ``c − c·tanh(u)`` -> ``2c·σ(−2u)``, ``c − c·tanh(u)²`` and ``sech(u)²`` ->
  ``4c·σ(2u)σ(−2u)``: ½(1 + tanh u) is 0 for u ≲ −19 (gelu_tanh at x ≲ −8) and
  1 − tanh²u cancels for |u| ≳ 8 and is 0 beyond 19, where the σ forms keep every digit;
* **ordered products**: a product of σ factors and a polynomial in the per-element
  arguments is evaluated left to right as ((c·σ…)·x)·x…: constants and parameters, then
  the σ's (a pair σ(a)σ(−a) as one factor), then x once per degree (a polynomial factor
  is distributed, its coefficients multiplying last). A σ that underflows to 0 keeps the
  product 0, where x² or βx overflowing to inf would give inf·0 = NaN
  (gelu_tanh_grad(±1e155), swish_grad(−1.7e308));
* σ is evaluated from t = e^{−|u|} ≤ 1, which never overflows and underflows gradually:
  σ(u) = e^{min(u,0)}/(1 + t), σ(u)σ(−u) = t/(1 + t)² (one exp for both; no cancellation).
  scipy.special.expit would return 0 for u < −709.78, losing x·σ(u) where it is still a
  normal number (x·σ(x) at x = −712 is −4.3e−307);
* ``exp(u) - 1`` -> ``numpy.expm1(u)``, ``log(1 + u)`` -> ``numpy.log1p(u)`` (cancellation;
  applied only where an exp or log is left, because SymPy's ``optimize`` also factors, and
  (u·σ(−u) + 1)·σ(u) gives inf·0 = NaN where u·σ(−u)·σ(u) + σ(u) gives 0 or 1);
* ``1 + erf(u)`` -> ``erfc(-u)`` (no cancellation in the left tail); ``erf``/``erfc`` map to
  ``scipy.special`` (never ``math.erf``, which is scalar-only), imported inside the function
  on first use so that ``import numeric`` stays fast;
* x³ and x⁴ are printed as products x·x·x (NumPy's power is ~100× slower than a multiply);
* numeric constants (e.g. SELU's α, λ) are evaluated once, to 17 significant digits;
* **hoisting**: a maximal sub-product or sub-sum that involves only per-feature arguments
  (reductions and parameters such as ``gamma*inv_std``) is computed once into a temporary
  before any per-element work, so it is evaluated on a (1, C) row, not on every element;
* common subexpressions are shared (``cse``);
* a kernel whose last step combines a hoisted per-feature factor with the per-element part
  takes an optional ``out=`` array and writes that step into it (no temporary, no copy);
* **in place**: when the per-element part is a chain of ufuncs in which every operation has
  at most one non-trivial per-element operand (e.g. γσ⁻¹·(g − ḡ − c·x̂)), the kernel takes
  ``out=`` and, given a non-aliasing ``out``, evaluates the chain step by step into it
  (``out = x̂·(−c); out += g; out += −ḡ; out *= col0``): no per-element temporaries, so
  applied to cache-sized row blocks every step runs in cache (layers.py, _row_chunks).

Per-element arguments are recognised by name (``ELEMENTWISE`` below: x, z, g, xhat, ...);
every other argument is assumed to be a reduction, a parameter or a scalar.

The output is deterministic (same derivations -> byte-identical files), and every file
carries a header naming each derivation with its ``Derivation.fingerprint()``;
``--check`` regenerates in memory and exits 1 naming every stale, missing or orphaned kernel.
This is the only module of ``numeric`` that imports SymPy or derive.
"""
from __future__ import annotations

import inspect
import keyword
import pathlib
import re
import textwrap
from typing import Any

import sympy as sp
from sympy.codegen.rewriting import expm1_opt, log1p_opt, optimize
from sympy.printing.numpy import SciPyPrinter

KERNELS_DIR = pathlib.Path(__file__).resolve().parent / "kernels"

# Argument names that carry one value per element (the batch-sized arrays). All other
# arguments are per-feature reductions, parameters or scalars, and may be hoisted.
ELEMENTWISE = frozenset({
    "x", "z", "g", "xhat", "xc", "p", "y", "m", "v", "s", "d", "delta", "w", "u", "h",
    "theta", "m_new", "v_new",
})


class expit(sp.Function):  # noqa: N801 - lowered to exp's (``_lower``) before printing
    """The logistic function σ(u) = 1/(1 + e^{−u}), evaluated without overflow."""

    nargs = 1


class store_product(sp.Function):  # noqa: N801 - numpy.multiply(a, b, out=out)
    """The kernel's last operation a·b, written into the caller's ``out`` array if given."""


class store_sum(sp.Function):  # noqa: N801 - numpy.add(a, b, out=out)
    """The kernel's last operation a + b, written into the caller's ``out`` array if given."""


class softplus(sp.Function):  # noqa: N801 - printed as numpy.logaddexp(0, u)
    """log(1 + e^u), evaluated without overflow."""

    nargs = 1


class exp_(sp.Function):  # noqa: N801 - printed as numpy.exp; never folded or rewritten
    """e^u, kept as written (used with u ≤ 0 only: it underflows to 0 and never overflows)."""

    nargs = 1


class sigmoid_pair(sp.Function):  # noqa: N801 - σ(a)σ(−a); lowered before printing
    """σ(a)σ(−a) = σ'(a); evaluated as t/(1 + t)² with t = e^{−|a|} (``_lower``)."""

    nargs = 1

    def _sympystr(self, printer: Any) -> str:
        a = self.args[0]
        return f"expit({printer._print(a)})*expit({printer._print(-a)})"


class ordered(sp.Function):  # noqa: N801 - (a*b), evaluated as written
    """The product a·b with a evaluated first: a chain ordered(ordered(c, s), x) is
    ((c·s)·x), never re-associated by SymPy (see ``_order_products``)."""

    nargs = 2

    def _sympystr(self, printer: Any) -> str:
        return _ordered_text(self, printer)


def _ordered_text(e: Any, printer: Any) -> str:
    from sympy.printing.precedence import PRECEDENCE, precedence
    factors = []
    while isinstance(e, ordered):
        factors.append(e.args[1])
        e = e.args[0]
    factors.append(e)
    factors.reverse()  # a factor after the first is parenthesized unless it is atomic, so
    # that Python's left-to-right * evaluates exactly this chain
    parts = [printer._print(f) if isinstance(f, ordered) or precedence(f) > PRECEDENCE["Mul"]
             or (i == 0 and precedence(f) == PRECEDENCE["Mul"]) else f"({printer._print(f)})"
             for i, f in enumerate(factors)]
    return "(" + "*".join(parts) + ")"


class erfc_(sp.Function):  # noqa: N801 - printed as scipy.special.erfc; never re-folded
    """erfc(u) = 1 − erf(u), kept as written (SymPy would fold erfc(−u) to 2 − erfc(u))."""

    nargs = 1


class KernelPrinter(SciPyPrinter):
    """SciPy printer with fully qualified names, readable Piecewise, and our helpers."""

    def __init__(self) -> None:
        super().__init__({"fully_qualified_modules": True, "inline": True,
                          "allow_unknown_functions": False})

    def _print_exp_(self, e: Any) -> str:
        return f"numpy.exp({self._print(e.args[0])})"

    def _print_ordered(self, e: Any) -> str:  # Python's * is left-associative: ((a*b)*c)
        return _ordered_text(e, self)

    def _print_Pow(self, e: Any, rational: bool = False) -> str:
        # x**3, x**4 as products: NumPy's power is ~100x slower than a multiply
        if e.base.is_Symbol and e.exp.is_Integer and e.exp in (3, 4):
            return "(" + "*".join([self._print(e.base)] * int(e.exp)) + ")"
        return super()._print_Pow(e, rational=rational)

    def _print_erfc_(self, e: Any) -> str:
        return f"scipy.special.erfc({self._print(e.args[0])})"

    def _print_store_product(self, e: Any) -> str:
        return f"numpy.multiply({self._print(e.args[0])}, {self._print(e.args[1])}, out=out)"

    def _print_store_sum(self, e: Any) -> str:
        return f"numpy.add({self._print(e.args[0])}, {self._print(e.args[1])}, out=out)"

    def _print_softplus(self, e: Any) -> str:
        return f"numpy.logaddexp(0, {self._print(e.args[0])})"

    def _print_Min(self, e: Any) -> str:  # elementwise, without functools.reduce
        return self._fold("numpy.minimum", e.args)

    def _print_Max(self, e: Any) -> str:
        return self._fold("numpy.maximum", e.args)

    def _fold(self, ufunc: str, args: Any) -> str:
        text = self._print(args[0])
        for a in args[1:]:
            text = f"{ufunc}({text}, {self._print(a)})"
        return text

    def _print_Piecewise(self, e: Any) -> str:
        # numpy.where(c0, e0, numpy.where(c1, e1, e_last)); the last condition must be True
        pairs = list(e.args)
        if pairs[-1].cond != sp.true:
            raise ValueError(f"Piecewise without a final 'otherwise' branch: {e}")
        text = self._print(pairs[-1].expr)
        for pair in reversed(pairs[:-1]):
            text = (f"numpy.where({self._print(pair.cond)}, {self._print(pair.expr)}, "
                    f"{text})")
        return text


# ---- floating-point rewrites ------------------------------------------------------------

def _sigmoid_rewrite(expr: Any) -> Any:
    """Replace 1/(1+e^a)^n by expit(−a)^n, then e^a·expit(−a)^n by expit(a)·expit(−a)^(n−1)."""

    def one_plus_exp(base: Any) -> Any:
        if isinstance(base, sp.Add) and len(base.args) == 2 and sp.S.One in base.args:
            other = next(t for t in base.args if t != sp.S.One)
            if isinstance(other, sp.exp):
                return other.args[0]
        return None

    def pow_rule(e: Any) -> Any:
        if isinstance(e, sp.Pow) and e.exp.is_Integer and e.exp < 0:
            a = one_plus_exp(e.base)
            if a is not None:
                return expit(-a) ** (-e.exp)
        return e

    def mul_rule(e: Any) -> Any:
        if not isinstance(e, sp.Mul):
            return e
        factors = list(e.args)
        for i, f in enumerate(factors):
            if isinstance(f, sp.exp):
                a = f.args[0]
                for j, h in enumerate(factors):
                    base, n = (h.base, h.exp) if isinstance(h, sp.Pow) else (h, sp.S.One)
                    if isinstance(base, expit) and n.is_Integer and n >= 1 \
                            and sp.simplify(base.args[0] + a) == 0:
                        rest = [t for k, t in enumerate(factors) if k not in (i, j)]
                        return sp.Mul(*rest, expit(a), base ** (n - 1))
        return e

    def softplus_rule(e: Any) -> Any:
        if isinstance(e, sp.log):
            a = one_plus_exp(e.args[0])
            if a is not None:
                return softplus(a)
        return e

    def complement_rule(e: Any) -> Any:
        # 1 − σ(a) = σ(−a): no cancellation where σ(a) → 1 (σ'(30) = σ(30)σ(−30) to 1 ulp,
        # where σ(30)(1 − σ(30)) keeps only 3 digits)
        if isinstance(e, sp.Add) and sp.S.One in e.args:
            for t in e.args:
                coeff, rest = t.as_coeff_Mul()
                if coeff == -1 and isinstance(rest, expit):
                    others = [u for u in e.args if u not in (sp.S.One, t)]
                    return sp.Add(*others, expit(-rest.args[0]))
        return e

    expr = expr.replace(lambda e: isinstance(e, sp.log), softplus_rule)
    expr = expr.replace(lambda e: isinstance(e, sp.Pow), pow_rule)
    for _ in range(3):  # e^a·σ(−a)^n may need more than one pass
        expr = expr.replace(lambda e: isinstance(e, sp.Mul), mul_rule)
    return expr.replace(lambda e: isinstance(e, sp.Add), complement_rule)


def _erf_rewrite(expr: Any) -> Any:
    """c + c·erf(u) -> c·erfc(−u) and c − c·erf(u) -> c·erfc(u) inside sums (c > 0)."""

    def rule(e: Any) -> Any:
        if not isinstance(e, sp.Add):
            return e
        terms = list(e.args)
        for i, t in enumerate(terms):
            coeff, rest = t.as_coeff_Mul()
            if not isinstance(rest, sp.erf):
                continue
            for j, c in enumerate(terms):
                if j != i and c.is_Number and c.is_positive and c == abs(coeff):
                    arg = rest.args[0]
                    new = c * erfc_(-arg if coeff > 0 else arg)
                    others = [x for k, x in enumerate(terms) if k not in (i, j)]
                    return sp.Add(new, *others)
        return e

    return expr.replace(lambda e: isinstance(e, sp.Add), rule)


def _evaluate_constants(expr: Any) -> Any:
    """Numeric sub-expressions other than plain rationals become 17-digit floats."""

    def is_const(e: Any) -> bool:
        return (isinstance(e, sp.Expr) and not e.free_symbols and not e.is_Rational
                and not e.is_Atom and e.is_real is not False)

    return expr.replace(is_const, lambda e: sp.Float(sp.N(e, 30), 17))


def _tanh_rewrite(expr: Any) -> Any:
    """tanh forms as logistic ones, which do not cancel: inside sums (c > 0)
    c + c·tanh(u) -> 2c·σ(2u), c − c·tanh(u) -> 2c·σ(−2u), c − c·tanh(u)² -> 4c·σ(2u)σ(−2u);
    and sech(u)² -> 4·σ(2u)σ(−2u). (½(1 + tanh u) is 0 for u ≲ −19 and 1 − tanh²u is 0
    for |u| ≳ 19, where σ(2u) and σ(2u)σ(−2u) keep every digit.)"""

    def square_of_sech(e: Any) -> Any:
        u = e.base.args[0]
        return 4 * expit(2 * u) * expit(-2 * u)

    def rule(e: Any) -> Any:
        terms = list(e.args)
        for i, t in enumerate(terms):
            coeff, rest = t.as_coeff_Mul()
            if isinstance(rest, sp.tanh):
                u = rest.args[0]
                new = 2 * abs(coeff) * expit(2 * u if coeff > 0 else -2 * u)
            elif isinstance(rest, sp.Pow) and isinstance(rest.base, sp.tanh) \
                    and rest.exp == 2 and coeff < 0:
                u = rest.base.args[0]
                new = -4 * coeff * expit(2 * u) * expit(-2 * u)
            else:
                continue
            for j, c in enumerate(terms):
                if j != i and c.is_Number and c.is_positive and c == abs(coeff):
                    others = [x for k, x in enumerate(terms) if k not in (i, j)]
                    return sp.Add(new, *others)
        return e

    expr = expr.replace(lambda e: isinstance(e, sp.Pow) and isinstance(e.base, sp.sech)
                        and e.exp == 2, square_of_sech)
    for _ in range(4):  # one rule per sum and pass
        new = expr.replace(lambda e: isinstance(e, sp.Add), rule)
        if new == expr:
            break
        expr = new
    return expr


def _order_products(expr: Any) -> Any:
    """A product of logistic factors σ(·) and a polynomial in the per-element arguments,
    e.g. k·x·(1 + c·x²)·σ(2w)σ(−2w), is evaluated one factor at a time, as
    k·((s·x) + c·((s·x)·x)·x) with s = σ(2w)σ(−2w): first the σ's (a pair σ(a)σ(−a) as one
    factor, ``sigmoid_pair``), then x once per degree (a polynomial factor is distributed),
    and only then the constants and parameters (k, c, β). The σ's are at most 1, so where
    one underflows to 0 the product stays 0 (x is finite), while x·x alone would overflow
    to inf and give inf·0 = NaN (x² at |x| = 1e155; u = βx itself at x = −1.7e308); for
    |x| ≥ 1 the partial products grow towards the term's magnitude, so none overflows
    unless the term (without its constant) does. Constants last: where s is subnormal but
    s·x is normal, a constant below 1 applied to s first would round away another bit."""

    def per_element(e: Any) -> bool:
        return any(s.name in ELEMENTWISE for s in e.free_symbols)

    def pair_up(sigmas: list) -> list:
        out, rest = [], list(sigmas)
        while rest:
            s = rest.pop(0)
            partner = next((t for t in rest if sp.expand(t.args[0] + s.args[0]) == 0), None)
            if partner is None:
                out.append(s)
                continue
            rest.remove(partner)
            a = s.args[0] if not s.args[0].could_extract_minus_sign() else partner.args[0]
            out.append(sigmoid_pair(a))
        return out

    def chain(first: Any, factors: list) -> Any:
        e = first
        for f in factors:
            e = f if e is None else ordered(e, f)
        return e

    def rule(m: Any) -> Any:
        consts, sigmas, xs, sums = [], [], [], []
        for f in m.args:
            base, n = f.as_base_exp()
            whole = n.is_Integer and n > 0
            if not per_element(f):
                consts.append(f)
            elif isinstance(base, expit) and whole:
                sigmas += [base] * int(n)
            elif base.is_Symbol and whole:
                xs += [base] * int(n)
            elif isinstance(f, sp.Add):
                sums.append(f)
            else:
                return m  # an unknown per-element factor: leave the product as it is
        if not sigmas:
            return m
        sigmas = pair_up(sigmas)
        if not xs and not sums:
            return sp.Mul(*consts, *sigmas)
        gens = sorted({s for s in m.free_symbols if s.name in ELEMENTWISE}, key=str)
        poly_terms: list[tuple[Any, list]] = [(sp.S.One, [])]
        if sums:
            try:
                poly = sp.Poly(sp.Mul(*sums), *gens)
            except sp.PolynomialError:
                return m
            if any(per_element(c) for c in poly.coeffs()):
                return m
            poly_terms = [(c, [g for g, k in zip(gens, mon) for _ in range(k)])
                          for mon, c in poly.terms()]
        head = chain(None, [*sigmas, *sorted(xs, key=str)])
        return sp.Mul(*consts) * sp.Add(*(c * chain(head, mon) for c, mon in poly_terms))

    return expr.replace(lambda e: isinstance(e, sp.Mul), rule)


def _lower(expr: Any) -> Any:
    """σ in terms of t = e^{−|u|} (≤ 1: it never overflows, and it underflows gradually):
    σ(u) -> e^{min(u, 0)}/(1 + t) and σ(u)σ(−u) -> t/(1 + t)². No cancellation anywhere;
    unlike scipy.special.expit, which returns 0 for u < −709.78, σ(u) keeps its subnormal
    value there, so x·σ(u) stays right where it is a normal number (x·σ(x) at x = −712 is
    −4.3e−307). Every exp is written ``exp_`` so that CSE shares t."""

    def sigma(e: Any) -> Any:
        u = e.args[0]
        low = sp.Min(u, 0)
        return (1 if low == 0 else exp_(low)) / (1 + exp_(-sp.Abs(u)))

    def pair(e: Any) -> Any:
        t = exp_(-sp.Abs(e.args[0]))
        return t / (1 + t) ** 2

    expr = expr.replace(lambda e: isinstance(e, sp.exp), lambda e: exp_(e.args[0]))
    expr = expr.replace(lambda e: isinstance(e, sigmoid_pair), pair)
    return expr.replace(lambda e: isinstance(e, expit), sigma)


def rewrite(expr: Any) -> Any:
    """The floating-point rewrites (see the module docstring), with σ(a)σ(−a) still written
    as such (``sigmoid_pair``): the form the kernel docstrings show."""
    expr = _tanh_rewrite(expr)
    expr = _sigmoid_rewrite(expr)
    expr = _erf_rewrite(expr)
    if expr.has(sp.exp, sp.log):  # optimize() also factors, e.g. a·σ(−u)σ(u) + σ(u) into
        # (a·σ(−u) + 1)·σ(u), whose inf·0 gives NaN where u·σ(−u) overflows
        expr = optimize(expr, [expm1_opt, log1p_opt])
    expr = _evaluate_constants(expr)
    return _order_products(expr)


def prepare(expr: Any) -> Any:
    """The floating-point rewrites applied before lambdify (see the module docstring)."""
    return _lower(rewrite(expr))


# ---- hoisting of per-feature subexpressions --------------------------------------------

def _hoist(expr: Any, element: set, prefix: str = "col") -> tuple[list, Any]:
    """Pull maximal element-free, non-trivial sub-sums/products out of ``expr``."""
    hoisted: list[tuple[sp.Symbol, Any]] = []
    seen: dict[Any, sp.Symbol] = {}

    def trivial(e: Any) -> bool:
        if e.is_Atom:
            return True
        coeff, rest = e.as_coeff_Mul()
        return coeff.is_Number and rest.is_Atom

    def name_for(e: Any) -> sp.Symbol:
        if e not in seen:
            seen[e] = sp.Symbol(f"{prefix}{len(seen)}")
            hoisted.append((seen[e], e))
        return seen[e]

    def walk(e: Any) -> Any:
        if e.is_Atom or not (e.free_symbols & element):
            return e
        if isinstance(e, (sp.Add, sp.Mul)):
            small = [a for a in e.args if not (a.free_symbols & element)]
            big = [walk(a) for a in e.args if a.free_symbols & element]
            group = e.func(*small) if small else None
            if group is None or trivial(group):
                return e.func(*small, *big)
            return e.func(name_for(group), *big, evaluate=False)
        new_args = []
        for a in e.args:
            if isinstance(a, sp.Expr) and not a.is_Atom and not (a.free_symbols & element):
                new_args.append(a if trivial(a) else name_for(a))
            else:
                new_args.append(walk(a) if isinstance(a, sp.Basic) else a)
        return e.func(*new_args)

    return hoisted, walk(expr)


def _make_cse(element: set):
    def cse(expr: Any) -> tuple[list, Any]:
        """lambdify's hook: (replacements, reduced expression), hoisted ones first."""
        hoisted, body = _hoist(expr, element) if element else ([], expr)
        repl, (body,) = sp.cse([body], symbols=sp.numbered_symbols("tmp"),
                               optimizations=None, order="canonical")
        per_element = set(element)  # a temporary computed from x is per-element too
        for name, value in repl:
            if value.free_symbols & per_element:
                per_element.add(name)
        return hoisted + repl, _store_last(body, per_element)
    return cse


def _store_last(body: Any, element: set) -> Any:
    """Make the last product or sum of a per-element kernel write into ``out``: a·b with a
    the per-feature (hoisted) factor when there is one."""
    if not element or not (body.free_symbols & element) or \
            not isinstance(body, (sp.Mul, sp.Add)) or len(body.args) < 2:
        return body
    args = sorted(body.args, key=lambda t: (bool(t.free_symbols & element),
                                            sp.default_sort_key(t)))
    first, rest = args[0], body.func(*args[1:])
    if first.is_Number or first.free_symbols & element:
        return body  # only a per-feature factor/term is worth a separate, stored last step
    return (store_product if isinstance(body, sp.Mul) else store_sum)(first, rest)


# ---- in-place evaluation into ``out`` ---------------------------------------------------

# NumPy ufuncs (one argument) that may appear in an in-place chain.
_INPLACE_UFUNCS = frozenset({"exp", "log", "expm1", "log1p", "sqrt", "tanh", "sinh", "cosh",
                             "sin", "cos", "abs", "absolute", "sign", "negative"})


def _inplace_steps(body: Any, element: set, printer: Any) -> list[str] | None:
    """Ufunc calls evaluating the per-element expression ``body`` (hoisted names already
    substituted) into ``out``, each one reading at most one per-element operand besides
    ``out``; None when that is impossible (two non-trivial per-element operands of one
    operation would need a second buffer, or a function that is not a NumPy ufunc)."""
    steps: list[str] = []

    def per_element(e: Any) -> bool:
        return bool(e.free_symbols & element)

    def source(e: Any) -> str | None:  # a symbol is read directly; else evaluate into out
        return printer.doprint(e) if e.is_Symbol else ("out" if into_out(e) else None)

    def into_out(e: Any) -> bool:
        if isinstance(e, (sp.Add, sp.Mul)):
            ufunc = "numpy.add" if isinstance(e, sp.Add) else "numpy.multiply"
            rows = [a for a in e.args if not per_element(a)]
            atoms = [(ufunc, a) for a in e.args if per_element(a) and a.is_Symbol]
            inner = [a for a in e.args if per_element(a) and not a.is_Symbol]
            if isinstance(e, sp.Add):  # − u is a subtraction, not a product with −1
                negated = [a for a in inner if a.could_extract_minus_sign()
                           and (-a).is_Symbol]
                atoms += [("numpy.subtract", -a) for a in negated]
                inner = [a for a in inner if a not in negated]
            if len(inner) > 1:
                return False
            operands = [(f, printer.doprint(a)) for f, a in atoms]
            if rows:
                operands.append((ufunc, printer.doprint(e.func(*rows))))
            if inner:
                if not into_out(inner[0]):
                    return False
                first = "out"
            elif operands[0][0] != ufunc:
                return False
            else:
                first = operands.pop(0)[1]
            for f, op in operands:
                steps.append(f"{f}({first}, {op}, out=out)")
                first = "out"
            return True
        if isinstance(e, sp.Pow) and not per_element(e.exp):
            src = source(e.base)
            if src is None:
                return False
            if e.exp == -1:
                steps.append(f"numpy.reciprocal({src}, out=out)")
            elif e.exp == 2:
                steps.append(f"numpy.square({src}, out=out)")
            elif e.exp == sp.Rational(1, 2):
                steps.append(f"numpy.sqrt({src}, out=out)")
            else:
                steps.append(f"numpy.power({src}, {printer.doprint(e.exp)}, out=out)")
            return True
        if isinstance(e, sp.Function) and len(e.args) == 1 and isinstance(e.args[0], sp.Expr):
            name = re.fullmatch(r"numpy\.(\w+)\(out__\)",
                                printer.doprint(e.func(sp.Symbol("out__"))))
            if name is None or name.group(1) not in _INPLACE_UFUNCS:
                return False
            src = source(e.args[0])
            if src is None:
                return False
            steps.append(f"numpy.{name.group(1)}({src}, out=out)")
            return True
        return False

    if not per_element(body) or body.is_Symbol or not into_out(body):
        return None
    return steps


def _inplace_body(body: list[str], expr: Any, element: set, args: list) -> list[str]:
    """``body`` (lambdify's lines) with the in-place path added when it applies: lambdify's
    return expression is kept for ``out=None`` and for an ``out`` sharing memory with a
    per-element argument; otherwise the ufunc chain of _inplace_steps writes into ``out``."""
    if not element or not body or not body[-1].startswith("    return ") or \
            any(not re.match(r"    col\d+ = ", line) for line in body[:-1]):
        return body
    _, reduced = _hoist(expr, element)
    steps = _inplace_steps(reduced, element, KernelPrinter())
    if steps is None or len(steps) < 2:
        return body
    result = body[-1][len("    return "):]
    # The first step may read ``out`` itself (ufuncs handle exact overlap); an argument
    # read by a later step must not share memory with ``out``, which earlier steps wrote.
    later = [a.name for a in args if a in element
             and any(re.search(rf"\b{a.name}\b", step) for step in steps[1:])]
    guard = ["    if out is None:", f"        return {result}"]
    if later:
        shared = " or ".join(f"numpy.may_share_memory(out, {name})" for name in later)
        guard += [f"    if {shared}:  # evaluate with temporaries, then store",
                  f"        out[...] = {result}", "        return out"]
    return [*body[:-1], *guard, *(f"    {step}" for step in steps), "    return out"]


# ---- one function, one file -------------------------------------------------------------

def _plain(sym: sp.Symbol) -> sp.Symbol:
    """The argument without assumptions; a Python keyword (λ is ``lambda``) gets a ``_``."""
    return sp.Symbol(sym.name + "_" if keyword.iskeyword(sym.name) else sym.name)


def kernel_source(conclusion: Any, derivation: Any) -> str:
    """The Python source of one kernel function (named like the conclusion)."""
    args = list(conclusion.args)
    names = [a.name for a in args]
    if len(set(names)) != len(names) or not all(n.isidentifier() for n in names):
        raise ValueError(f"{derivation.slug}: kernel {conclusion.name!r} has arguments "
                         f"{names}; expected distinct Python identifiers")
    expr = sp.sympify(conclusion.expr).xreplace({a: _plain(a) for a in args})
    if isinstance(expr, sp.MatrixBase):
        raise ValueError(f"{derivation.slug}: kernel {conclusion.name!r} is a matrix; "
                         "kernels must be elementwise scalar expressions")
    plain_args = [_plain(a) for a in args]
    shown = rewrite(expr)
    expr = _lower(shown)
    element = {a for a in plain_args if a.name in ELEMENTWISE}
    fn = sp.lambdify(plain_args, expr, modules=["scipy", "numpy"], printer=KernelPrinter(),
                     cse=_make_cse(element), dummify=False, docstring_limit=0)
    src = inspect.getsource(fn)
    lines = src.rstrip().splitlines()
    header, body = lines[0], lines[1:]
    header = header.replace("_lambdifygenerated", conclusion.name, 1)
    body = _inplace_body(body, expr, element, plain_args)
    if "out=out" in "\n".join(body):
        header = header.replace("):", ", out=None):", 1)
    body_text = "\n".join(body)
    imports = []
    if "scipy.special" in body_text:
        imports.append("    import scipy.special  # on first use: keeps `import numeric` fast")
    if expr.has(sp.Piecewise) and re.search(r"exp|cosh|sinh|/|\*\*", body_text):
        # numpy.where evaluates every branch everywhere and discards the unselected values;
        # those may overflow (e.g. expm1(x) at x = 1000 on the x > 0 side): silence only that.
        imports.append("    # numpy.where evaluates every branch; unselected values (which may "
                       "overflow) are discarded")
        imports.append('    with numpy.errstate(over="ignore", invalid="ignore"):')
        body_text = textwrap.indent(body_text, "    ")
    doc = _docstring(conclusion, derivation, shown)
    return "\n".join([header, doc, *imports, body_text]) + "\n"


def _docstring(conclusion: Any, derivation: Any, prepared: Any) -> str:
    formula = f"{conclusion.name}({', '.join(a.name for a in conclusion.args)}) = " \
              f"{sp.sstr(conclusion.expr)}"
    parts = [conclusion.why.strip() or conclusion.name]
    parts.append("")
    parts.extend(textwrap.wrap(formula, 84, subsequent_indent="    ",
                               break_long_words=False, break_on_hyphens=False))
    if sp.sstr(prepared) != sp.sstr(conclusion.expr):
        parts.append("")
        parts.extend(textwrap.wrap(f"evaluated as {sp.sstr(prepared)}", 84,
                                   subsequent_indent="    ", break_long_words=False,
                                   break_on_hyphens=False))
    if derivation.conventions:
        parts.append("")
    for c in derivation.conventions:
        parts.extend(textwrap.wrap(f"Convention: {c}", 84, subsequent_indent="    "))
    parts.append("")
    parts.append(f"Derivation: {derivation.slug} ({derivation.source}); "
                 f"`nnmath show {derivation.slug}`.")
    text = "\n".join(("    " + p) if p else "" for p in parts)
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return f'    """{text.lstrip()}\n    """'


def topic_of(entry: Any) -> str:
    """The derive topic (``derive.normalization.batchnorm`` -> ``normalization``)."""
    return entry.builder.__module__.split(".")[1]


def generate() -> tuple[dict[str, str], dict[str, str], list[str], set[str]]:
    """Build every K derivation; return ({file name: source}, {slug: fingerprint}, errors,
    names of files left out because one of their derivations failed)."""
    import derive

    by_topic: dict[str, list] = {}
    errors: list[str] = []
    broken: set[str] = set()
    for slug, entry in derive.entries().items():
        if derive.Kind.K not in entry.kinds:
            continue
        try:
            d = derive.get(slug)
        except Exception as exc:
            errors.append(f"{slug}: derivation does not build: {type(exc).__name__}: {exc}")
            broken.add(f"{topic_of(entry)}.py")
            continue
        by_topic.setdefault(topic_of(entry), []).append(d)
    files: dict[str, str] = {}
    prints: dict[str, str] = {}
    for topic, derivations in sorted(by_topic.items()):
        chunks, header = [], []
        for d in derivations:
            kernels = [c for c in d.conclusions.values() if c.kernel]
            if not kernels:
                continue
            prints[d.slug] = d.fingerprint()
            header.append(f"#   {d.slug:<28} {d.fingerprint()}  "
                          f"{', '.join(c.name for c in kernels)}")
            for c in kernels:
                try:
                    chunks.append(kernel_source(c, d))
                except Exception as exc:
                    errors.append(f"{d.slug}: kernel {c.name}: {type(exc).__name__}: {exc}")
                    broken.add(f"{topic}.py")
        if not chunks:
            continue
        names = re.findall(r"^def (\w+)\(", "\n".join(chunks), flags=re.M)
        text = "\n".join([
            f'"""Kernels generated from derive/{topic}.py. GENERATED by `nnmath codegen`: '
            'do not edit."""',
            "# GENERATED FILE - DO NOT EDIT. Regenerate with `nnmath codegen`;",
            "# `nnmath codegen --check` fails when this file is stale.",
            "# derivation                   fingerprint       kernels",
            *header,
            "import numpy",
            "",
            f"__all__ = {names!r}",
            "", "",
            "\n\n".join(chunks),
        ])
        files[f"{topic}.py"] = text.rstrip() + "\n"
    for name in broken:  # never overwrite or delete a file with a partial result
        files.pop(name, None)
    return files, prints, errors, broken


def _header_prints(text: str) -> dict[str, str]:
    return dict(re.findall(r"^#   (\S+)\s+([0-9a-f]{16})\s", text, flags=re.M))


def _generated_files(directory: pathlib.Path) -> list[pathlib.Path]:
    """The generated modules in ``directory`` (everything but ``__init__.py``)."""
    return [p for p in sorted(directory.glob("*.py")) if not p.stem.startswith("_")]


def check(directory: pathlib.Path = KERNELS_DIR) -> list[str]:
    """Every problem with the committed kernels (empty list: up to date)."""
    files, prints, problems, broken = generate()
    for name, text in files.items():
        path = directory / name
        if not path.exists():
            problems.append(f"{name}: missing (kernels of {', '.join(_header_prints(text))})")
            continue
        old = path.read_text()
        if old != text:
            old_prints = _header_prints(old)
            stale = [s for s in _header_prints(text) if old_prints.get(s) != prints[s]]
            what = ", ".join(stale) if stale else "contents differ (codegen changed)"
            problems.append(f"{name}: stale: {what}")
    for path in _generated_files(directory):
        if path.name not in files and path.name not in broken:
            problems.append(f"{path.name}: orphaned (no K derivation in derive/"
                            f"{path.name} produces it)")
    return problems


def write(directory: pathlib.Path = KERNELS_DIR) -> tuple[list[str], list[str]]:
    """Write every kernel file; return (written file names, errors)."""
    files, _, errors, broken = generate()
    written = []
    for name, text in files.items():
        path = directory / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written.append(name)
    for path in _generated_files(directory):
        if path.name not in files and path.name not in broken:
            path.unlink()
            written.append(f"{path.name} (removed)")
    return written, errors
