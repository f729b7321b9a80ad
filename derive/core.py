"""The derivation engine: a derivation is an ordered list of checked steps.

Verbs (CONTRIBUTING.md shows them in use):

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
* ``form_for_sizes(label, expr, family, sizes, why)``  a general (elementwise) form that
                                  starts a chain, proved equal at each fixed size m to
                                  what ``family(m)`` computes (e.g. SymPy's derivative);
* ``gaussian_expectation(label, f, x, variance, digits)``  E[f(z)], z ~ N(0, variance), by
                                  verified numerical integration (derive.quadrature);
* ``conclude(name, expr, args, why)``  a final, kernel-ready form, checked against the
                                  previous expression; every free symbol must be in ``args``.
                                  A conclusion that restates the previous row carries that
                                  row's check ("given (restates step 5)" for a definition).

Every checked step keeps a ``Claim`` (what it compared: sides, seed, domain, ``at``, sizes)
so that it can be re-checked, e.g. with its claimed side perturbed (tests/test_derivations).

Checks, strongest first (each step records the one it passed, and output shows it):

``exact``            the difference is 0 as SymPy builds it, or after expand / cancel /
                     simplify, or in each sign case of the real symbols under |·|, sign,
                     Piecewise, Max, Min (x > 0, x < 0, x = 0: exhaustive, so a proof);
``sizes m=2..5``     exact at each listed batch size (not a proof for all m);
``random rational``  the difference is 0 at k random rational points evaluated exactly; for a
                     rational function of total degree D the chance that a non-zero difference
                     vanishes at all k points is at most (D/N)^k (Schwartz–Zippel, N = 10^6
                     the size of the sample set); the bound is recorded with the step;
``high precision``   at k random points, evaluated with ``digits`` (60) significant digits,
                     |a − b| ≤ 10^-(digits-10) · max(|a|, |b|, largest term of a sum):
                     relative to the sides, with no absolute floor under which a small wrong
                     value could hide; integer symbols are drawn from 1..24 (or −24..24) so
                     that 2^-L, β^t stay far inside the working precision. A probabilistic
                     check without a rigorous bound, stated as such;
``quadrature``       a number from two integrations on different grids and precisions that
                     agree to the stated digits; the error bound they show is stated.
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
    "Claim",
    "Conclusion",
    "Crosscheck",
    "Derivation",
    "DerivationError",
    "Erratum",
    "GradientCrosscheck",
    "RewriteError",
    "Step",
    "check_equal",
]


# Steps that carry the chain's current expression (``rewrite``/``conclude`` follow the last).
CHAIN_KINDS = ("define", "form", "apply", "rewrite", "conclude")


class DerivationError(Exception):
    """A derivation is malformed (e.g. a conclusion with undeclared free symbols)."""


class RewriteError(DerivationError):
    """A claimed step does not follow from the step it rewrites."""


@dataclasses.dataclass(frozen=True)
class Check:
    """How an equality was established."""

    method: str  # given, sympy, exact, sizes, random-rational, high-precision, quadrature
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
            "quadrature": "checked: numerical integration with a verified error bound",
        }[self.method]
        if self.detail:
            text += f" ({self.detail})"
        return text


@dataclasses.dataclass(frozen=True)
class Claim:
    """What a checked step compared, kept so that the step can be re-checked (and, in the
    tests, re-checked with its claimed side perturbed, which must then fail).

    ``start`` is the side the step starts from (the previous expression, with ``at``
    substituted, or a proved identity's left side); ``claimed`` is the side the step
    asserts. A fixed-size step keeps its ``family`` and ``sizes`` instead.
    """

    start: Any
    claimed: Any
    seed: str
    domain: Mapping | None = None
    at: Mapping | None = None
    previous: int = 0  # index of the step the claim follows from (0: stand-alone)
    family: Callable[[int], tuple] | None = None
    sizes: tuple = ()
    evaluate: Callable[[], tuple] | None = None  # numerical value: () -> (value, error)

    def recheck(self, perturb: Callable[[Any], Any] | None = None) -> Check:
        """Run the step's check again, with ``perturb`` applied to the claimed side."""
        change = perturb or (lambda e: e)
        if self.evaluate is not None:
            return _check_value(change(self.claimed), *self.evaluate())
        if self.family is not None:
            details = []
            for m in self.sizes:
                a, b = self.family(m)
                try:
                    details.append(check_equal(a, change(_sym(b)), seed=f"{self.seed}/{m}",
                                               domain=self.domain))
                except RewriteError as exc:
                    raise RewriteError(f"fails at size m = {m}: {exc}") from None
            detail = f"m = {', '.join(map(str, self.sizes))}"
            weakest = [c for c in details if c.method != "exact"]
            if weakest:
                detail += f"; at some sizes only {weakest[0].method}"
            return Check("sizes", detail,
                         max((c.failure_bound or 0) for c in details) or None)
        return check_equal(self.start, change(self.claimed), seed=self.seed,
                           domain=self.domain)


@dataclasses.dataclass
class Step:
    kind: str  # define | form | apply | rewrite | prove | sizes | conclude | note
    label: str
    expr: Any  # SymPy object (Expr, Matrix, Eq, Boolean ...) or None for notes
    why: str
    check: Check
    lhs: Any = None  # what the row shows on the left of "=" (SymPy object or None)
    index: int = 0
    claim: Claim | None = None  # what was compared (None: given, computed or decided)


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
    given, the directional derivative ⟨∇loss(x), direction(values)⟩ (``values``: a dict).
    ``rtol``/``atol``
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


# Sample sets. Rational functions are evaluated exactly, so their symbols are drawn from a
# large set (it is N in the Schwartz-Zippel bound). Other expressions are evaluated with
# ``digits`` significant digits; their integer symbols (exponents, step counts, depths) are
# drawn small, so that 2^-L, beta^t ... stay well inside the working precision, and real
# symbols are ratios of integers up to 10^6.
RATIONAL_RANGE = 10**6
INTEGER_RANGE_NUMERIC = 24


_KINKS = (sp.Abs, sp.sign, sp.Heaviside, sp.Piecewise, sp.Max, sp.Min)


def _sign_case_symbols(entries: Sequence) -> list:
    """Real symbols inside |·|, sign, Heaviside, Piecewise, Max, Min (at most 3)."""
    found: set = set()
    for x in entries:
        for k in sp.sympify(x).atoms(*_KINKS):
            found |= {s for s in k.free_symbols if s.is_real and not s.is_positive
                      and not s.is_negative and not s.is_zero}
    syms = sorted(found, key=lambda t: t.name)
    return syms if 0 < len(syms) <= 3 else []


def _zero_by_sign_cases(e: Any, syms: Sequence) -> bool:
    """e = 0 for every real value of ``syms``: checked exactly with each symbol replaced by
    a positive symbol, by minus a positive symbol, and by 0 (the three cases are
    exhaustive for a real symbol, so this is a proof, not a sample)."""
    if not syms:
        return _cheap_zero(e) or _simplify_zero(e)
    s, rest = syms[0], syms[1:]
    p = sp.Dummy(s.name, positive=True)
    return all(_zero_by_sign_cases(sp.sympify(e).subs(s, v), rest)
               for v in (p, -p, sp.Integer(0)))


def _sample_value(sym: sp.Symbol, rng: random.Random, n_range: int,
                  int_range: int | None = None) -> sp.Rational:
    """A random rational respecting the symbol's assumptions (positive, nonnegative ...)."""
    if sym.is_integer:
        k = int_range or n_range
        lo = 1 if sym.is_positive else (0 if sym.is_nonnegative else -k)
        hi = lo + k if lo >= 0 else k
        return sp.Integer(rng.randint(lo, hi))
    num = rng.randint(1, n_range)
    den = rng.randint(1, n_range)
    r = sp.Rational(num, den)
    if sym.is_positive or sym.is_nonnegative:
        return r
    return r if rng.random() < 0.5 else -r


def _sample_point(symbols: Iterable[sp.Symbol], rng: random.Random, n_range: int,
                  domain: Mapping | None, int_range: int | None = None) -> dict:
    point = {}
    for s in sorted(symbols, key=lambda t: t.name):
        if domain and s in domain:
            lo, hi = domain[s]
            point[s] = sp.Rational(lo) + (sp.Rational(hi) - sp.Rational(lo)) * sp.Rational(
                rng.randint(1, n_range - 1), n_range)
        else:
            point[s] = _sample_value(s, rng, n_range, int_range)
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


class _Pole(Exception):
    """The sampled point is a singularity of one side: it decides nothing; draw another."""


class _Undecided(RewriteError):
    """The difference could not be evaluated to a number at a sampled point."""


def _finite(v: Any) -> bool:
    return not (v.has(sp.nan) or v.has(sp.zoo) or v.has(sp.oo) or v.has(-sp.oo))


def _exact_value(x: Any, pt: Mapping) -> Any:
    v = sp.simplify(sp.sympify(x).subs(pt))
    if not _finite(v):
        raise _Pole
    return v


def _numeric_value(x: Any, pt: Mapping, digits: int) -> Any:
    """``x`` at ``pt`` to ``digits`` digits: a number (real or complex), or _Undecided."""
    val = sp.N(sp.sympify(x).subs(pt), digits)
    if val.has(AppliedUndef) or val.free_symbols:
        raise _Undecided(f"cannot decide the equality at {pt}: {sp.N(val, 12)} still "
                         f"contains undefined functions or symbols")
    if not _finite(val):
        raise _Pole
    re, im = val.as_real_imag()
    if not (re.is_Number and im.is_Number):
        raise _Undecided(f"cannot decide the equality at {pt}: {sp.N(val, 12)} is not a "
                         f"number (an undefined function of a number?)")
    return val


def _magnitude(x: Any, pt: Mapping, digits: int) -> Any:
    """|x| at ``pt`` as a number, or None when x alone is not numeric there (an undefined
    function that cancels only in the difference)."""
    try:
        m = abs(_numeric_value(x, pt, digits))
    except (_Undecided, _Pole):
        return None
    return m if m.is_Number else None


def _scale(a: Any, b: Any, pt: Mapping, digits: int) -> Any:
    """The magnitude the evaluation's rounding is relative to: the larger side and, for a
    sum, its largest term (a side whose terms cancel to 0 is known only to about
    10^-digits times its terms)."""
    mags = []
    for side in (sp.sympify(a), sp.sympify(b)):
        mags.append(_magnitude(side, pt, digits))
        if isinstance(side, sp.Add):
            mags += [_magnitude(t, pt, digits) for t in side.args]
    known = [m for m in mags if m is not None]
    return max(known) if known else sp.Integer(1)


def _numeric_mismatch(a: Any, b: Any, pt: Mapping, digits: int) -> Any:
    """``a - b`` at ``pt`` if it is not zero relative to the sides' magnitude, else None.

    The tolerance is 10^-(digits-10) times the larger side (or its largest term): there is
    no absolute floor, so a small but wrong value (2^-L against 2^-(L+1)) is never accepted
    because both are small. (Only when neither side is numeric on its own, an undefined
    function cancelling in the difference, is the difference compared with 1.)"""
    vd = _numeric_value(sp.sympify(a) - sp.sympify(b), pt, digits)
    if vd == 0:
        return None
    tol = sp.Float(10, digits) ** (-(digits - 10))
    return None if abs(vd) <= tol * _scale(a, b, pt, digits) else vd


def _mismatch_at(pairs: Sequence[tuple], pt: Mapping, exact: bool, digits: int,
                 numeric_used: list) -> Any:
    """The first non-zero difference at ``pt`` (exactly, or numerically), else None.
    Appends to ``numeric_used`` when an exact evaluation had to fall back to digits."""
    for a, b in pairs:
        if exact:
            v = _exact_value(sp.sympify(a) - sp.sympify(b), pt)
            if v.is_Rational:
                if v != 0:
                    return v
                continue
            # transcendental constants (erf(1/2) ...): compare numerically
            numeric_used.append(True)
            d = _numeric_mismatch(a, b, pt, digits)
        else:
            d = _numeric_mismatch(a, b, pt, digits)
        if d is not None:
            return sp.N(d, 12)
    return None


def _pairs(a: Any, b: Any) -> list[tuple]:
    if _is_matrix(a) or _is_matrix(b):
        return list(zip(sp.Matrix(a), sp.Matrix(b)))
    return [(a, b)]


def check_equal(a: Any, b: Any, *, seed: str = "", points: int = 8,
                domain: Mapping | None = None, digits: int = 60) -> Check:
    """Establish ``a == b``; return the strongest check that passed, or raise RewriteError.

    A difference that is non-zero at a sampled point is a definite failure (for
    non-rational expressions: non-zero relative to the magnitude of the sides, beyond the
    ``digits``-digit rounding); a difference that SymPy cannot simplify to 0 but that
    vanishes at every sampled point passes as a probabilistic check whose nature (and, for
    rational functions, bound) is recorded. One point is tried before ``simplify`` so that
    a wrong step fails fast.
    """
    diff = _difference(a, b)
    entries = _entries(diff)
    if all(x == 0 for x in entries):  # say so: nothing beyond SymPy's own evaluation
        return Check("exact", "the same expression once SymPy evaluates it")
    if all(_cheap_zero(x) for x in entries):
        return Check("exact", "expand/cancel")
    pairs = _pairs(a, b)
    rng = random.Random(hashlib.sha256(seed.encode()).hexdigest())
    free = set().union(*(sp.sympify(x).free_symbols for x in entries))
    rational = _is_rational_function(diff)
    n_range = RATIONAL_RANGE
    int_range = None if rational else INTEGER_RANGE_NUMERIC
    numeric_used: list = []

    def sample(count: int, probe: bool = False) -> None:
        done = tries = 0
        while done < count:
            tries += 1
            if tries > 4 * count + 4:
                raise RewriteError(f"could not evaluate the difference: {tries - 1} sampled "
                                   f"points were singular")
            pt = _sample_point(free, rng, n_range, domain, int_range)
            try:
                bad = _mismatch_at(pairs, pt, rational, digits, numeric_used)
            except _Pole:
                continue
            except _Undecided:
                if probe:  # let simplify try first; only a definite mismatch fails early
                    return
                raise
            if bad is not None:
                raise RewriteError(_witness_text(pt, bad))
            done += 1

    sample(1, probe=True)  # a wrong step fails here, before the (slow) simplify
    if all(_cheap_zero(x) or _simplify_zero(x) for x in entries):
        return Check("exact", "simplify")
    cases = _sign_case_symbols(entries)
    if cases and all(_zero_by_sign_cases(x, cases) for x in entries):
        names = ", ".join(s.name for s in cases)
        return Check("exact", f"by cases: each of {names} positive, negative, zero")
    sample(points - 1)
    if rational and not numeric_used:
        degree = _total_degree(diff)
        bound = float((sp.Rational(degree, n_range)) ** points)
        return Check("random-rational",
                     f"{points} points, degree {degree}, false-pass bound {bound:.1e}", bound)
    return Check("high-precision", f"{points} points at {digits} digits; no rigorous bound")


def _check_value(claimed: Any, value: Any, verified: Any) -> Check:
    """``claimed`` against a verified numerical ``value`` (derive.quadrature.Verified):
    they may differ by the verified error bound plus the rounding of the kept digits."""
    import mpmath

    with mpmath.workdps(verified.digits + 10):
        got = mpmath.mpf(str(sp.N(claimed, verified.digits + 5)))
        allowed = mpmath.mpf(verified.error) + abs(value) * mpmath.mpf(10) ** (
            1 - verified.digits)
        if abs(got - value) > allowed:
            raise RewriteError(f"the value {mpmath.nstr(got, 15)} differs from the "
                               f"numerical integral {mpmath.nstr(value, 15)} by more than "
                               f"its verified error {mpmath.nstr(allowed, 3)}")
    bound = (f"|error| ≤ {verified.error:.0e}" if verified.error
             else "the runs agree exactly (odd parts cancel)")
    return Check("quadrature", f"two runs on halved cells at more digits agree to "
                 f"{verified.digits} significant digits; {bound}")


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
            if step.kind in CHAIN_KINDS:
                return step.expr
        raise DerivationError(f"{self.slug}: no expression yet; start with define()")

    def _last_step(self) -> Step:
        for step in reversed(self.steps):
            if step.kind in CHAIN_KINDS:
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
        claim = Claim(base, expr, f"{self.slug}/{label}", domain, dict(at) if at else None,
                      prev.index)
        try:
            check = claim.recheck()
        except RewriteError as exc:
            raise RewriteError(
                f"{self.slug}: step {len(self.steps) + 1} '{label}' does not follow from "
                f"step {prev.index} '{prev.label}': {exc}") from None
        if at:
            subs = ", ".join(f"{sp.latex(k)} = {sp.latex(v)}" for k, v in at.items())
            why = f"{why}; at ${subs}$" if why else f"at ${subs}$"
        return self._add(Step("rewrite", label, expr, why, check, lhs, claim=claim))

    def prove(self, label: str, lhs: Any, rhs: Any, why: str = "", *,
              domain: Mapping | None = None) -> Check:
        """A stand-alone identity ``lhs = rhs`` (a property of a result); checked."""
        claim = Claim(_sym(lhs), _sym(rhs), f"{self.slug}/{label}", domain)
        try:
            check = claim.recheck()
        except RewriteError as exc:
            raise RewriteError(f"{self.slug}: step {len(self.steps) + 1} '{label}' "
                               f"is false: {exc}") from None
        self._add(Step("prove", label, _sym(rhs), why, check, _sym(lhs), claim=claim))
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

    def _check_sizes(self, label: str, family: Callable[[int], tuple],
                     sizes: Sequence[int]) -> tuple:
        """Check ``family(m)``'s two sides exactly at each size m; name the step on failure."""
        claim = Claim(None, None, f"{self.slug}/{label}", family=family, sizes=tuple(sizes))
        try:
            check = claim.recheck()
        except RewriteError as exc:
            raise RewriteError(f"{self.slug}: step {len(self.steps) + 1} '{label}' "
                               f"{exc}") from None
        return claim, check

    def prove_for_sizes(self, label: str, shown: Any, family: Callable[[int], tuple],
                        sizes: Sequence[int] = (2, 3, 4, 5), why: str = "") -> Check:
        """``family(m)`` returns ``(lhs, rhs)`` built with explicit width m; the identity is
        proved exactly at each m in ``sizes`` (stated as such, not a proof for every m).
        ``shown`` is what the row displays (e.g. an ``Eq`` with a symbolic ``Sum``)."""
        claim, check = self._check_sizes(label, family, sizes)
        self._add(Step("sizes", label, _sym(shown), why, check, claim=claim))
        return check

    def form_for_sizes(self, label: str, expr: Any, family: Callable[[int], tuple],
                       sizes: Sequence[int] = (2, 3, 4, 5), why: str = "", *,
                       lhs: Any = None) -> Any:
        """A general (e.g. elementwise) form, proved at explicit sizes, that starts a chain.

        ``family(m)`` returns ``(reference, instance)``: the quantity computed at width m
        (e.g. SymPy's derivative of the size-m loss) and ``expr`` instantiated at width m
        (the kernel applied to the size-m reductions, best built by substituting into
        ``expr`` itself); they must agree exactly at each m. Unlike ``define`` the row is
        checked ("exact at fixed sizes", not a proof for every size), so a conclusion that
        restates it rests on that proof rather than on a given row."""
        claim, check = self._check_sizes(label, family, sizes)
        return self._add(Step("form", label, _sym(expr), why, check, lhs, claim=claim))

    def gaussian_expectation(self, label: str, f: Any, x: sp.Symbol, *, variance: Any = 1,
                             digits: int = 30, why: str = "", lhs: Any = None) -> Any:
        """E[f(z)], z ~ N(0, variance), by verified numerical integration (not symbolic).

        derive.quadrature integrates ∫ f(x)φ(x)dx twice, on cells of halved width at more
        working digits, and keeps the significant digits on which the runs agree; their
        difference (and each run's own estimate) bounds the error. The value (an sp.Float
        of those digits) continues the chain like ``apply``; the row's check states the
        digits and the bound, and re-checking integrates again."""
        import mpmath

        from . import quadrature

        g = sp.lambdify(x, sp.sympify(f), modules="mpmath")

        def evaluate() -> tuple:
            r = quadrature.gaussian_integral(g, float(variance), digits)
            return r.value, r

        value, verified = evaluate()
        with mpmath.workdps(verified.digits + 5):
            expr = sp.Float(mpmath.nstr(value, verified.digits), verified.digits)
        claim = Claim(None, expr, f"{self.slug}/{label}", evaluate=evaluate)
        check = _check_value(expr, value, verified)
        return self._add(Step("apply", label, expr, why, check, lhs, claim=claim))

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
        check, claim = Check("given"), None
        if check_previous and any(s.kind != "note" for s in self.steps):
            prev = self._last_step()
            claim = Claim(prev.expr, expr, f"{self.slug}/{name}", previous=prev.index)
            try:
                check = claim.recheck()
            except RewriteError as exc:
                raise RewriteError(f"{self.slug}: conclusion '{name}' does not follow from "
                                   f"step {prev.index} '{prev.label}': {exc}") from None
            if _identical(prev.expr, expr):
                # comparing a row with its own restatement checks nothing: the conclusion
                # rests on whatever established that row (given, computed, checked), so say so
                detail = f"restates step {prev.index}"
                check = Check(prev.check.method, "; ".join(
                    x for x in (detail, prev.check.detail) if x), prev.check.failure_bound)
        self.conclusions[name] = Conclusion(name, expr, tuple(args), why, kernel)
        self.values[name] = expr
        return self._add(Step("conclude", name, expr, why, check, lhs, claim=claim))

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


def _identical(a: Any, b: Any) -> bool:
    """The same expression, up to SymPy's automatic canonical form."""
    try:
        return all(x == 0 for x in _entries(_difference(a, b)))
    except (RewriteError, DerivationError):
        return False


def _sym(expr: Any) -> Any:
    if isinstance(expr, str):  # never parse text here: strings could reach eval in sympify
        raise TypeError(f"expected a SymPy expression, got the string {expr!r}")
    if expr is None or isinstance(expr, (sp.Basic, sp.MatrixBase)):
        return expr
    if isinstance(expr, (list, tuple)):
        return sp.Matrix(expr)
    return sp.sympify(expr)
