"""The derivation engine: a derivation is an ordered list of checked steps.

Verbs (see DESIGN.md):

* ``define(label, expr, why)``    a starting point or definition (not checked: it is given);
* ``apply(label, op, why)``       SymPy performs an operation on the previous expression
                                  (differentiate, integrate, sum, limit, solve ...);
                                  recorded as "computed by SymPy";
* ``rewrite(label, expr, why)``   a person's claimed equality with the previous expression;
                                  **checked**, and a wrong rewrite raises ``RewriteError``
                                  naming both steps;
* ``prove(label, lhs, rhs, why)`` a stand-alone checked identity ``lhs = rhs`` (a property);
* ``prove_for_sizes(label, shown, family, sizes, why)``  an identity about a batch of
                                  size m, proved exactly for each fixed m in ``sizes``;
* ``conclude(name, expr, args, why)``  a final, kernel-ready form, checked against the
                                  previous expression; every free symbol must be in ``args``.

Checks, strongest first (each step records the one it passed, and output shows it):

``exact``            the difference simplifies to 0 (expand / cancel / simplify);
``sizes m=2..5``     exact at each listed batch size (not a proof for all m);
``random rational``  the difference is 0 at k random rational points evaluated exactly; for a
                     rational function of total degree D the chance that a non-zero difference
                     vanishes at all k points is at most (D/N)^k (Schwartz–Zippel, N = size of
                     the sample set); the bound is recorded with the step;
``high precision``   the difference is below 10^-(digits-10) at k random points evaluated
                     with ``digits`` significant digits (for non-rational expressions); a
                     probabilistic check without a rigorous bound, stated as such.
"""
from __future__ import annotations

import dataclasses
import hashlib
import random
from typing import Any
from collections.abc import Callable, Iterable, Mapping, Sequence

import sympy as sp
from sympy.core.function import AppliedUndef

__all__ = [
    "Check",
    "Conclusion",
    "Crosscheck",
    "GradientCrosscheck",
    "Derivation",
    "DerivationError",
    "Erratum",
    "RewriteError",
    "Step",
    "check_equal",
]


class DerivationError(Exception):
    """A derivation is malformed (e.g. a conclusion with undeclared free symbols)."""


class RewriteError(DerivationError):
    """A claimed step does not follow from the step it rewrites."""


@dataclasses.dataclass(frozen=True)
class Check:
    """How an equality was established."""

    method: str  # "given", "sympy", "exact", "sizes", "random-rational", "high-precision"
    detail: str = ""
    failure_bound: float | None = None  # probabilistic checks: P(pass | wrong) <= bound

    def describe(self) -> str:
        text = {
            "given": "given",
            "sympy": "computed by SymPy",
            "exact": "checked: exact",
            "sizes": "checked: exact at fixed sizes",
            "random-rational": "checked: exact at random rational points",
            "high-precision": "checked: high-precision evaluation at random points",
        }[self.method]
        if self.detail:
            text += f" ({self.detail})"
        return text


@dataclasses.dataclass
class Step:
    kind: str  # define | apply | rewrite | prove | sizes | conclude | note
    label: str
    expr: Any  # SymPy object (Expr, Matrix, Eq, Boolean ...) or None for notes
    why: str
    check: Check
    lhs: Any = None  # what the row shows on the left of "=" (SymPy object or None)
    index: int = 0


@dataclasses.dataclass
class Conclusion:
    """A final result: ``expr`` as a function of ``args`` (in that order)."""

    name: str
    expr: Any
    args: tuple
    why: str
    kernel: bool = True  # numeric.codegen writes a kernel for it


@dataclasses.dataclass
class Crosscheck:
    """An independent float64 evaluation the derived result must agree with.

    ``expr`` (SymPy, lambdified by the test) and ``reference`` (a plain NumPy/SciPy callable
    taking the same arguments by name) are compared at random points drawn from ``at``:
    a mapping symbol -> (low, high) interval or a fixed number.
    """

    label: str
    expr: Any
    reference: Callable[..., Any]
    at: Mapping[Any, Any]
    rtol: float = 1e-6
    atol: float = 1e-9
    points: int = 5


@dataclasses.dataclass
class GradientCrosscheck:
    """A derived gradient the test suite compares with central differences (declarative:
    derive records the functions, it never differentiates numerically; the runner,
    ``proofs.testing.crosscheck``, uses the one core ``numeric.finite_differences``).

    At random points drawn from ``at`` (as for ``Crosscheck``), with ``values`` the drawn
    numbers by name: ``expr`` (SymPy, lambdified by the test) must equal the gradient of the
    scalar float64 function ``loss(x, values)`` at ``x = point(values)`` (an array or a
    number; ``expr``'s entries in the order of ``x.ravel()``), or, when ``direction`` is
    given, the directional derivative ⟨∇loss(x), direction(values)⟩ (``values``: a dict). ``rtol``/``atol``
    are added to the finite-difference error bound.
    """

    label: str
    expr: Any
    loss: Callable[..., Any]
    point: Callable[..., Any]
    at: Mapping[Any, Any]
    direction: Callable[..., Any] | None = None
    rtol: float = 1e-6
    atol: float = 1e-9
    points: int = 5


@dataclasses.dataclass
class Erratum:
    """A statement in a source that the derivation refutes."""

    slug: str
    source: str
    stated: str  # what the source says, in our own words
    correct: str  # the correct statement
    stated_expr: Any  # the source's form, as a SymPy object
    correct_expr: Any  # the derived form
    witness: dict  # a point where the two differ
    difference: Any  # stated - correct evaluated at the witness (non-zero)
    decided_by: str = ""


def _is_matrix(x: Any) -> bool:
    return isinstance(x, sp.MatrixBase)


def _difference(a: Any, b: Any) -> Any:
    if isinstance(a, str) or isinstance(b, str):  # text would reach eval inside sympify
        raise TypeError("compare SymPy expressions, not strings")
    if isinstance(a, sp.Equality) or isinstance(b, sp.Equality):
        raise DerivationError("compare expressions, not equations (use lhs=/expr=)")
    if _is_matrix(a) or _is_matrix(b):
        a, b = sp.Matrix(a), sp.Matrix(b)
        if a.shape != b.shape:
            raise RewriteError(f"shapes differ: {a.shape} vs {b.shape}")
        return a - b
    return sp.sympify(a) - sp.sympify(b)


def _entries(x: Any) -> list:
    return list(x) if _is_matrix(x) else [x]


def _cheap_zero(e: Any) -> bool:
    if e == 0:
        return True
    for f in (sp.expand, sp.cancel, lambda t: sp.expand(sp.together(t))):
        try:
            if f(e) == 0:
                return True
        except Exception:
            pass
    if isinstance(e, sp.Basic) and e.has(sp.Piecewise):  # compare branch by branch
        try:
            folded = sp.piecewise_fold(e)
        except Exception:
            return False
        if isinstance(folded, sp.Piecewise) and not any(
                b.has(sp.Piecewise) for b, _ in folded.args):
            return all(_cheap_zero(branch) for branch, _ in folded.args)
    return False


def _simplify_zero(e: Any) -> bool:
    try:
        s = sp.simplify(e)
        if s == 0:
            return True
        return sp.simplify(sp.expand_log(sp.expand(s, force=True), force=True)) == 0
    except Exception:
        return False


def _sample_value(sym: sp.Symbol, rng: random.Random, n_range: int) -> sp.Rational:
    """A random rational respecting the symbol's assumptions (positive, nonnegative ...)."""
    if sym.is_integer:
        lo = 1 if sym.is_positive else (0 if sym.is_nonnegative else -n_range)
        return sp.Integer(rng.randint(lo, lo + n_range))
    num = rng.randint(1, n_range)
    den = rng.randint(1, n_range)
    r = sp.Rational(num, den)
    if sym.is_positive or sym.is_nonnegative:
        return r
    return r if rng.random() < 0.5 else -r


def _sample_point(symbols: Iterable[sp.Symbol], rng: random.Random, n_range: int,
                  domain: Mapping | None) -> dict:
    point = {}
    for s in sorted(symbols, key=lambda t: t.name):
        if domain and s in domain:
            lo, hi = domain[s]
            point[s] = sp.Rational(lo) + (sp.Rational(hi) - sp.Rational(lo)) * sp.Rational(
                rng.randint(1, n_range - 1), n_range)
        else:
            point[s] = _sample_value(s, rng, n_range)
    return point


def _is_rational_function(e: Any) -> bool:
    try:
        return all(sp.sympify(x).is_rational_function() for x in _entries(e))
    except Exception:
        return False


def _total_degree(e: Any) -> int:
    deg = 1
    for x in _entries(e):
        num, den = sp.fraction(sp.together(x))
        for part in (num, den):
            free = sorted(part.free_symbols, key=lambda t: t.name)
            if free:
                deg = max(deg, sp.Poly(sp.expand(part), *free).total_degree())
    return deg


def check_equal(a: Any, b: Any, *, seed: str = "", points: int = 8,
                domain: Mapping | None = None, digits: int = 60) -> Check:
    """Establish ``a == b``; return the strongest check that passed, or raise RewriteError.

    A difference that is non-zero at a sampled point is a definite failure; a difference
    that SymPy cannot simplify to 0 but that vanishes at every sampled point passes as a
    probabilistic check whose nature (and, for rational functions, bound) is recorded.
    """
    diff = _difference(a, b)
    entries = _entries(diff)
    if all(_cheap_zero(x) for x in entries):
        return Check("exact", "expand/cancel")
    if all(_cheap_zero(x) or _simplify_zero(x) for x in entries):
        return Check("exact", "simplify")
    rng = random.Random(hashlib.sha256(seed.encode()).hexdigest())
    free = set().union(*(sp.sympify(x).free_symbols for x in entries))
    n_range = 10**6
    rational = _is_rational_function(diff)
    for _ in range(points):
        pt = _sample_point(free, rng, n_range, domain)
        for x in entries:
            v = sp.sympify(x).subs(pt)
            if rational:
                v = sp.nsimplify(sp.cancel(v)) if v.free_symbols else sp.simplify(v)
                if v.is_Rational:
                    if v != 0:
                        raise RewriteError(_witness_text(pt, v))
                    continue
                rational = False  # transcendental constants (erf(1/2) ...): compare numerically
                val = sp.N(v, digits)
                if val.free_symbols or abs(val) > sp.Float(10) ** (-(digits - 10)):
                    raise RewriteError(_witness_text(pt, sp.N(val, 12)))
            else:
                val = sp.N(v, digits)
                if val.has(AppliedUndef) or val.free_symbols:
                    raise RewriteError(
                        f"cannot decide the equality at {pt}: the difference "
                        f"{sp.N(val, 12)} still contains undefined functions or symbols")
                if not val.is_number:
                    raise RewriteError(f"could not evaluate difference at {pt}: {val}")
                if abs(val) > sp.Float(10) ** (-(digits - 10)):
                    raise RewriteError(_witness_text(pt, sp.N(val, 12)))
    if rational:
        degree = _total_degree(diff)
        bound = float((sp.Rational(degree, n_range)) ** points)
        return Check("random-rational",
                     f"{points} points, degree {degree}, false-pass bound {bound:.1e}", bound)
    return Check("high-precision", f"{points} points at {digits} digits; no rigorous bound")


def _witness_text(pt: Mapping, value: Any) -> str:
    where = ", ".join(f"{k} = {v}" for k, v in pt.items())
    return f"the difference is {value} at {where or 'every point'}"


class Derivation:
    """An ordered list of checked steps with its assumptions, conventions and source."""

    def __init__(self, slug: str, title: str, source: str):
        self.slug = slug
        self.title = title
        self.source = source
        self.assumptions: list[str] = []
        self.conventions: list[str] = []
        self.steps: list[Step] = []
        self.conclusions: dict[str, Conclusion] = {}
        self.crosschecks: list[Crosscheck | GradientCrosscheck] = []
        self.errata: list[Erratum] = []
        self.values: dict[str, Any] = {}  # named results other modules may read
        self._symbols: dict[str, sp.Symbol] = {}
        self._symbol_facts: dict[str, list[sp.Symbol]] = {}

    # ---- symbols and statements -------------------------------------------------------
    def symbol(self, name: str, **assumptions: Any) -> sp.Symbol:
        """A SymPy symbol; its assumptions are listed with the derivation."""
        s = sp.Symbol(name, **assumptions)
        self._symbols[name] = s
        facts = ", ".join(k for k, v in assumptions.items() if v)
        if facts:
            group = self._symbol_facts.setdefault(facts, [])
            if s not in group:
                group.append(s)
        return s

    def stated_assumptions(self) -> list[str]:
        """Symbol assumptions grouped by fact (``$z, y$: real``), then those in words."""
        grouped = [f"${', '.join(sp.latex(s) for s in syms)}$: {facts}"
                   for facts, syms in self._symbol_facts.items()]
        return grouped + self.assumptions

    def symbols(self, names: str, **assumptions: Any) -> tuple:
        return tuple(self.symbol(n, **assumptions) for n in names.split())

    def assume(self, text: str) -> None:
        """A modelling assumption (independence, distribution ...), in words."""
        self.assumptions.append(text)

    def convention(self, text: str) -> None:
        """A convention (e.g. ReLU'(0) = 0; p is the drop probability)."""
        self.conventions.append(text)

    # ---- steps ------------------------------------------------------------------------
    @property
    def current(self) -> Any:
        for step in reversed(self.steps):
            if step.kind in ("define", "apply", "rewrite", "conclude"):
                return step.expr
        raise DerivationError(f"{self.slug}: no expression yet; start with define()")

    def _last_step(self) -> Step:
        for step in reversed(self.steps):
            if step.kind in ("define", "apply", "rewrite", "conclude"):
                return step
        raise DerivationError(f"{self.slug}: no expression yet; start with define()")

    def _add(self, step: Step) -> Any:
        step.index = len(self.steps) + 1
        self.steps.append(step)
        return step.expr

    def define(self, label: str, expr: Any, why: str = "", *, lhs: Any = None) -> Any:
        """Start a chain: ``lhs = expr`` is given (a definition or a model)."""
        return self._add(Step("define", label, _sym(expr), why, Check("given"), lhs))

    def apply(self, label: str, op: Callable[[Any], Any] | Any, why: str = "", *,
              lhs: Any = None, evaluate: bool = True) -> Any:
        """SymPy computes the next expression: ``op(current)``, or ``op`` itself if it is an
        unevaluated SymPy object (``Integral``, ``Sum``, ``Limit``, ``Derivative``) whose
        ``.doit()`` is taken. Trusted as SymPy's own result. ``evaluate=False`` keeps the
        result as returned (e.g. a re-indexed, still unevaluated sum)."""
        expr = op(self.current) if callable(op) and not isinstance(op, sp.Basic) else op
        if evaluate and isinstance(expr, sp.Basic) and hasattr(expr, "doit"):
            expr = expr.doit()
        return self._add(Step("apply", label, _sym(expr), why, Check("sympy"), lhs))

    def rewrite(self, label: str, expr: Any, why: str = "", *, at: Mapping | None = None,
                lhs: Any = None, domain: Mapping | None = None) -> Any:
        """A claimed equality with the previous expression (after substituting ``at``);
        checked. A wrong rewrite raises RewriteError naming both steps."""
        prev = self._last_step()
        base = prev.expr.subs(at) if at else prev.expr
        expr = _sym(expr)
        try:
            check = check_equal(base, expr, seed=f"{self.slug}/{label}", domain=domain)
        except RewriteError as exc:
            raise RewriteError(
                f"{self.slug}: step {len(self.steps) + 1} '{label}' does not follow from "
                f"step {prev.index} '{prev.label}': {exc}") from None
        if at:
            subs = ", ".join(f"{sp.latex(k)} = {sp.latex(v)}" for k, v in at.items())
            why = f"{why}; at ${subs}$" if why else f"at ${subs}$"
        return self._add(Step("rewrite", label, expr, why, check, lhs))

    def prove(self, label: str, lhs: Any, rhs: Any, why: str = "", *,
              domain: Mapping | None = None) -> Check:
        """A stand-alone identity ``lhs = rhs`` (a property of a result); checked."""
        try:
            check = check_equal(lhs, rhs, seed=f"{self.slug}/{label}", domain=domain)
        except RewriteError as exc:
            raise RewriteError(f"{self.slug}: step {len(self.steps) + 1} '{label}' "
                               f"is false: {exc}") from None
        self._add(Step("prove", label, _sym(rhs), why, check, _sym(lhs)))
        return check

    def prove_true(self, label: str, statement: Any, why: str = "", *,
                   shown: Any = None) -> None:
        """A Boolean fact SymPy decides (e.g. an inequality between numbers, a matrix's
        eigenvalues being non-negative). Raises if SymPy does not return True."""
        value = sp.simplify(statement) if isinstance(statement, sp.Basic) else statement
        if value is not True and value != sp.true:
            raise RewriteError(f"{self.slug}: step {len(self.steps) + 1} '{label}' is not "
                               f"established: SymPy gives {value}")
        if shown is None and (statement is True or statement == sp.true):
            shown = None  # SymPy already reduced it to True: the label says what was decided
        elif shown is None:
            shown = statement
        self._add(Step("prove", label, shown, why, Check("exact", "decided by SymPy")))

    def prove_for_sizes(self, label: str, shown: Any, family: Callable[[int], tuple],
                        sizes: Sequence[int] = (2, 3, 4, 5), why: str = "") -> Check:
        """``family(m)`` returns ``(lhs, rhs)`` built with explicit width m; the identity is
        proved exactly at each m in ``sizes`` (stated as such, not a proof for every m).
        ``shown`` is what the row displays (e.g. an ``Eq`` with a symbolic ``Sum``)."""
        details = []
        for m in sizes:
            a, b = family(m)
            try:
                c = check_equal(a, b, seed=f"{self.slug}/{label}/{m}")
            except RewriteError as exc:
                raise RewriteError(f"{self.slug}: step {len(self.steps) + 1} '{label}' "
                                   f"fails at size m = {m}: {exc}") from None
            details.append(c)
        method = "sizes"
        weakest = [c for c in details if c.method != "exact"]
        detail = f"m = {', '.join(map(str, sizes))}"
        if weakest:
            detail += f"; at some sizes only {weakest[0].method}"
        check = Check(method, detail, max((c.failure_bound or 0) for c in details) or None)
        self._add(Step("sizes", label, _sym(shown), why, check))
        return check

    def note(self, label: str, text: str) -> None:
        """A sentence in the flow of the derivation (no expression)."""
        self._add(Step("note", label, None, text, Check("given")))

    def conclude(self, name: str, expr: Any, args: Sequence[sp.Symbol], why: str = "", *,
                 lhs: Any = None, kernel: bool = True, check_previous: bool = True) -> Any:
        """The final, kernel-ready form; checked against the previous expression (unless
        ``check_previous=False``, for a result that starts a new chain of its own)."""
        expr = _sym(expr)
        free = set().union(*(sp.sympify(x).free_symbols for x in _entries(expr)))
        missing = free - set(args)
        if missing:
            raise DerivationError(
                f"{self.slug}: conclusion '{name}' has free symbols {sorted(map(str, missing))}"
                f" not among its args {[str(a) for a in args]}")
        check = Check("given")
        if check_previous and any(s.kind != "note" for s in self.steps):
            prev = self._last_step()
            try:
                check = check_equal(prev.expr, expr, seed=f"{self.slug}/{name}")
            except RewriteError as exc:
                raise RewriteError(f"{self.slug}: conclusion '{name}' does not follow from "
                                   f"step {prev.index} '{prev.label}': {exc}") from None
        self.conclusions[name] = Conclusion(name, expr, tuple(args), why, kernel)
        self.values[name] = expr
        return self._add(Step("conclude", name, expr, why, check, lhs))

    # ---- independent numeric checks and errata ----------------------------------------
    def crosscheck(self, label: str, expr: Any, reference: Callable[..., Any], *,
                   at: Mapping, rtol: float = 1e-6, atol: float = 1e-9,
                   points: int = 5) -> None:
        """Register an independent float64 evaluation (run by the test suite)."""
        self.crosschecks.append(Crosscheck(label, _sym(expr), reference, dict(at), rtol,
                                           atol, points))

    def crosscheck_gradient(self, label: str, f: Any, wrt: sp.Symbol, grad: Any, *,
                            at: Mapping, rtol: float = 1e-6, atol: float = 1e-8,
                            points: int = 5) -> None:
        """Register: ``grad`` agrees with the float64 central difference of the SymPy
        scalar ``f`` in the symbol ``wrt`` (computed by the test suite)."""
        names = sorted({str(s) for s in sp.sympify(f).free_symbols} | {str(wrt)})
        syms = [sp.Symbol(n) for n in names]
        f_plain = sp.sympify(f).subs({s: sp.Symbol(s.name) for s in sp.sympify(f).free_symbols})
        key = str(wrt)
        cache: dict = {}

        def loss(x: Any, kw: dict) -> Any:
            if "f" not in cache:  # lambdify (which imports SciPy) only when the test runs
                cache["f"] = sp.lambdify(syms, f_plain, modules=["scipy", "numpy"])
            return cache["f"](*[x if n == key else kw[n] for n in names])

        self.crosscheck_numeric_gradient(label, grad, loss=loss, point=lambda kw: kw[key],
                                         at=at, rtol=rtol, atol=atol, points=points)

    def crosscheck_numeric_gradient(self, label: str, grad: Any, *,
                                    loss: Callable[..., Any], point: Callable[..., Any],
                                    at: Mapping, direction: Callable[..., Any] | None = None,
                                    rtol: float = 1e-6, atol: float = 1e-9,
                                    points: int = 5) -> None:
        """Register: ``grad`` (SymPy) is the gradient of the float64 scalar
        ``loss(x, values)`` at ``x = point(values)`` (or its derivative along
        ``direction(values)``); see ``GradientCrosscheck``."""
        self.crosschecks.append(GradientCrosscheck(label, _sym(grad), loss, point, dict(at),
                                                   direction, rtol, atol, points))
    def erratum(self, slug: str, *, source: str, stated: str, correct: str,
                stated_expr: Any, correct_expr: Any, witness: Mapping,
                decided_by: str | None = None) -> Erratum:
        """Record a statement of a source that this derivation refutes; the two forms must
        differ at ``witness`` (checked here, exactly)."""
        a, b = _sym(stated_expr), _sym(correct_expr)
        diff = _difference(a, b)
        diff_at = sp.simplify(diff.subs(dict(witness)) if hasattr(diff, "subs") else diff)
        if all(x == 0 for x in _entries(diff_at)):
            raise DerivationError(f"{self.slug}: erratum '{slug}': the stated and correct "
                                  f"forms agree at the witness {dict(witness)}")
        e = Erratum(slug, source, stated, correct, a, b, dict(witness), diff_at,
                    decided_by or self.slug)
        self.errata.append(e)
        return e

    # ---- results and output -----------------------------------------------------------
    @property
    def result(self) -> Any:
        """The last conclusion's expression."""
        if not self.conclusions:
            raise DerivationError(f"{self.slug} has no conclusion")
        return list(self.conclusions.values())[-1].expr

    def fingerprint(self) -> str:
        """A hash of every conclusion (name, args, expression): codegen's staleness key."""
        h = hashlib.sha256()
        for c in self.conclusions.values():
            h.update(f"{c.name}|{[str(a) for a in c.args]}|{sp.srepr(c.expr)}\n".encode())
        return h.hexdigest()[:16]

    def to_latex(self, standalone: bool = False) -> str:
        from . import render
        return render.latex_document(self) if standalone else render.latex_fragment(self)

    def to_text(self) -> str:
        from . import render
        return render.text(self)

    def _repr_latex_(self) -> str:
        from . import render
        return render.notebook_latex(self)

    def __repr__(self) -> str:
        return f"<Derivation {self.slug}: {len(self.steps)} steps>"


def _sym(expr: Any) -> Any:
    if isinstance(expr, str):  # never parse text here: strings could reach eval in sympify
        raise TypeError(f"expected a SymPy expression, got the string {expr!r}")
    if expr is None or isinstance(expr, (sp.Basic, sp.MatrixBase)):
        return expr
    if isinstance(expr, (list, tuple)):
        return sp.Matrix(expr)
    return sp.sympify(expr)
