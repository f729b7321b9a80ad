"""A user's own activation, analysed like the catalog's: ``derive.activation("…")``.

The text is parsed by :mod:`derive.safe_parse` (Python's ``ast`` against an allowlist; it
never reaches eval, exec, sympify or parse_expr). For the activation f the analysis gives

* f' (SymPy's derivative, simplified when SymPy manages within the time budget);
* the Gaussian moments E[f(z)], E[f(z)²], E[f'(z)²] for z ~ N(0, 1) and z ~ N(0, q)
  (q is a VARIANCE), exact where SymPy integrates them, else mpmath quadrature to a stated
  number of digits (:func:`derive.moments.gaussian_moments`; each value is flagged);
* the variance-preserving gain √(q/E[f(z)²]) (forward, PyTorch's ``calculate_gain``
  convention std w = g/√fan_in; activation-gain, 000 §3.3, 002 §9.4.3) and the backward
  gain 1/√E[f'(z)²];
* the SELU-like fixed point (002 §9.2.2): scale f to f_{λ,α}(x) = λf(x) for x > 0 and
  λαf(x) for x ≤ 0 and ask for E[f_{λ,α}(ξ)] = 0, E[f_{λ,α}(ξ)²] = 1, ξ ~ N(0, 1). With
  a± = E[f(ξ); ±ξ > 0] and c± = E[f(ξ)²; ±ξ > 0] this is α = −a₊/a₋, λ = 1/√(c₊ + α²c₋),
  a fixed point only when α is finite and positive;
* whether the moment map contracts there. The map is selu-fixed-point's: (μ, ν) ↦ (mean,
  variance) of f_{λ,α}(z) for z ~ N(μω, ντ) at ω = 0, τ = 1, so z ~ N(0, ν) and the first
  column of the Jacobian is 0. Differentiating the Gaussian density in its variance,
  d/dν E[g(z)] = ½E[(z² − 1)g(z)] at ν = 1, so at the fixed point (mean 0, second moment 1)
      J = [[0, ½(E[ξ²f_{λ,α}] − E[f_{λ,α}])], [0, ½(E[ξ²f_{λ,α}²] − 1)]],
  whose spectral radius is |J₂₂|; the map contracts near the fixed point iff it is < 1.
  For ELU this reproduces selu-fixed-point's α, λ and spectral radius (tests check it).

Before anything is integrated, :mod:`derive.admissible` checks that f is real and finite
for every real x and that E|f|, E[f²], E[f'²] exist under N(0, 1) and N(0, q) (growth of
f and f' against the Gaussian tail); a failed check raises :class:`ActivationRefused`
with a one-line reason. It also decides whether E[f⁴] and E[f'⁴] exist: they are derived
too (``fourth_moments``) and size the Monte Carlo check of ``nnmath activation``.

Quadrature values are verified (:mod:`derive.quadrature`: two runs on grids of halved
width at different precisions must agree) and carry only the digits they agree on.

Limits: optional closed-form work (simplifying f', integrating the moments in closed
form) shares a budget of ``time_limit`` seconds, enforced with ``signal.setitimer`` in the
main thread (in other threads it is skipped and quadrature is used); the whole analysis
must finish within ``max_seconds`` (else :class:`AnalysisTimeout`) and within
``max_memory`` bytes of address space beyond what the process already uses (an
``RLIMIT_AS`` soft limit set for the duration of the analysis; else ActivationRefused).
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
from functools import partial
import os
import random
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import mpmath
import sympy as sp

from . import admissible, quadrature
from .admissible import ActivationRefused
from .core import Derivation, DerivationError
from .moments import MOMENT_NAMES, GaussianMoment, _exact, _is_poly_exp, _pieces, \
    gaussian_moments
from .safe_parse import X, UnsafeExpression, parse_activation

__all__ = ["ActivationAnalysis", "ActivationRefused", "AnalysisTimeout", "FixedPoint",
           "UnsafeExpression", "analyse_activation", "scaled_fixed_point"]

TIME_LIMIT = 2.0    # seconds of optional CAS work (simplify f', closed-form integrals)
MAX_SECONDS = 60.0  # the whole analysis
MAX_MEMORY = 2 * 2**30  # bytes of address space the analysis may add
GUARD = 5           # extra working digits of the half-line quadratures
DESIGN_DIGITS = 8   # digits of E[f⁴], E[f'⁴] (they only size the Monte Carlo check)
SOURCE = ("your input; methods of 000 §3.3 (Gaussian moments, gain), 002 §9.4.3 "
          "(variance-preserving initialisation), 002 §9.2.2 (SELU fixed point)")
HALF_NAMES = ("a", "b", "c", "d")  # E[f], E[ξ²f], E[f²], E[ξ²f²] on each half line


class AnalysisTimeout(ActivationRefused, TimeoutError):
    """The analysis did not finish within its time limit."""


class _Expired(BaseException):
    """Raised by the alarm. A BaseException, so that SymPy's ``except Exception`` blocks
    cannot swallow it."""


@contextlib.contextmanager
def _alarm(seconds: float):
    """Raise _Expired after ``seconds`` (main thread only); restores any outer timer."""
    def expire(signum: int, frame: Any) -> None:
        raise _Expired()

    started = time.monotonic()
    old_handler = signal.signal(signal.SIGALRM, expire)
    outer, _ = signal.setitimer(signal.ITIMER_REAL, max(seconds, 1e-3))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        if outer > 0:  # someone else's timer was running: give it back what is left
            signal.setitimer(signal.ITIMER_REAL,
                             max(outer - (time.monotonic() - started), 1e-3))


class _Clock:
    """The CAS budget and the overall deadline of one analysis."""

    def __init__(self, time_limit: float, max_seconds: float):
        self.cas_left = time_limit
        self.max_seconds = max_seconds
        self.deadline = time.monotonic() + max_seconds
        self.main = (threading.current_thread() is threading.main_thread()
                     and hasattr(signal, "setitimer"))
        self.notes: list[str] = []

    def attempt(self, what: str, fn: Callable[[], Any], cap: float | None = None) -> Any:
        """``fn()`` within the remaining CAS budget, or None (with a note) if it does not
        finish or fails."""
        if not self.main:
            self.notes.append(f"{what}: not attempted (the CAS time limit can only be "
                              "enforced in the main thread)")
            return None
        limit = min(self.cas_left, cap if cap is not None else math.inf,
                    self.deadline - time.monotonic())
        if limit < 0.05:
            self.notes.append(f"{what}: not attempted (CAS time budget used up)")
            return None
        started = time.monotonic()
        try:
            with _alarm(limit):
                return fn()
        except _Expired:
            self.notes.append(f"{what}: SymPy gave up after {limit:.1f} s (time limit)")
            return None
        except (ArithmeticError, ValueError, TypeError, NotImplementedError,
                RecursionError, AttributeError, DerivationError) as exc:
            self.notes.append(f"{what}: SymPy could not do it ({type(exc).__name__})")
            return None
        finally:
            self.cas_left -= time.monotonic() - started

    def within(self, what: str, fn: Callable[[], Any], seconds: float) -> Any:
        """``fn()`` within ``seconds`` (and the deadline), or None if it does not finish or
        SymPy fails; not charged to the CAS budget (used by derive.admissible)."""
        if not self.main:
            try:
                return fn()
            except _SYMPY_FAILURES:
                return None
        left = self.deadline - time.monotonic()
        if left < 0.05:
            raise AnalysisTimeout(f"{what}: the analysis exceeded its {self.max_seconds:g} s "
                                  "limit")
        limit = min(seconds, left)
        try:
            with _alarm(limit):
                return fn()
        except _Expired:
            if limit >= left:  # it was the deadline, not the step's own allowance
                raise AnalysisTimeout(f"{what} did not finish within the "
                                      f"{self.max_seconds:g} s limit of the analysis") from None
            self.notes.append(f"{what}: not decided within {limit:.1f} s")
            return None
        except _SYMPY_FAILURES:
            return None

    def required(self, what: str, fn: Callable[[], Any]) -> Any:
        """``fn()`` within the overall deadline; AnalysisTimeout if it does not finish."""
        if not self.main:
            return fn()
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise AnalysisTimeout(f"{what}: the analysis exceeded its {self.max_seconds:g} s "
                                  "limit")
        try:
            with _alarm(left):
                return fn()
        except _Expired:
            raise AnalysisTimeout(f"{what} did not finish within the {self.max_seconds:g} s "
                                  "limit of the analysis; ask for fewer digits, simplify "
                                  "the expression or raise the time limit") from None


_SYMPY_FAILURES = (ArithmeticError, ValueError, TypeError, NotImplementedError, RecursionError,
                   AttributeError)


def _address_space() -> int | None:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


@contextlib.contextmanager
def _memory_limit(extra: int):
    """An RLIMIT_AS soft limit of (current address space + ``extra``) bytes while the block
    runs (never above an existing limit); allocations beyond it raise MemoryError."""
    try:
        import resource
    except ImportError:  # not POSIX: no memory limit
        yield
        return
    current = _address_space()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if current is None:
        yield
        return
    limit = current + extra
    for cap in (soft, hard):
        if cap != resource.RLIM_INFINITY:
            limit = min(limit, cap)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


# ---- results -------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class FixedPoint:
    """The SELU-like scaling f_{λ,α} of the activation (see the module docstring)."""

    exists: bool
    reason: str                  # why it exists (and how exact), or why there is none
    alpha: sp.Expr | None
    lam: sp.Expr | None
    halves: dict                 # a±, b±, c±, d± (see HALF_NAMES) as SymPy numbers
    exact: bool
    odd: bool                    # f(−x) = −f(x), so α = 1
    jacobian: sp.Matrix | None = None
    spectral_radius: sp.Expr | None = None
    contracts: bool | None = None
    digits: int | None = None    # verified significant digits (None: exact)


@dataclasses.dataclass(frozen=True)
class ActivationAnalysis:
    """Everything :func:`analyse_activation` derives for one activation."""

    text: str
    expression: sp.Expr
    derivative: sp.Expr
    derivative_simplified: bool
    q: sp.Expr
    moments: dict            # variance (SymPy number) -> {name: GaussianMoment}
    gains: dict              # variance -> {"forward": expr, "backward": expr}
    fixed_point: FixedPoint
    derivation: Derivation
    digits: int
    notes: tuple = ()
    seconds: float = 0.0
    # variance -> {name: E[y²] of the y whose mean the moment is (E[f²], E[f⁴], E[f'⁴]),
    # a GaussianMoment, or None where it is infinite}; sizes the Monte Carlo check
    fourth_moments: dict = dataclasses.field(default_factory=dict)

    @property
    def exact(self) -> bool:
        return all(m.exact for ms in self.moments.values() for m in ms.values())

    def moment(self, name: str, variance: Any = 1) -> GaussianMoment:
        """The moment ``name`` (one of MOMENT_NAMES) under N(0, variance)."""
        if name not in MOMENT_NAMES:
            raise ValueError(f"unknown moment {name!r}; expected one of {MOMENT_NAMES}")
        v = _variance(variance)  # refuses text: nothing reaches sympify
        if v not in self.moments:
            raise ValueError(f"moments were computed for variances "
                             f"{', '.join(map(sp.sstr, self.moments))}, not {sp.sstr(v)}")
        return self.moments[v][name]

    def to_dict(self) -> dict:
        """A JSON-ready summary (exact values as SymPy strings, and as floats)."""
        def num(e: Any) -> dict | None:
            if e is None:
                return None
            value = float(sp.N(e, 17)) if e.is_finite is not False else float("inf")
            return {"value": value, "expr": sp.sstr(e), "latex": sp.latex(e)}

        moments = {}
        for v, ms in self.moments.items():
            moments[sp.sstr(v)] = {
                name: {**(num(m.value) or {}), "exact": m.exact, "method": m.method,
                       "digits": m.digits, "error_estimate": m.error_estimate}
                for name, m in ms.items()}
        fp = self.fixed_point
        return {
            "expression": sp.sstr(self.expression), "latex": sp.latex(self.expression),
            "derivative": sp.sstr(self.derivative),
            "derivative_latex": sp.latex(self.derivative),
            "derivative_simplified": self.derivative_simplified,
            "q": sp.sstr(self.q), "digits": self.digits, "moments": moments,
            "gains": {sp.sstr(v): {k: num(g) for k, g in gs.items()}
                      for v, gs in self.gains.items()},
            "fixed_point": {
                "exists": fp.exists, "reason": fp.reason, "alpha": num(fp.alpha),
                "lambda": num(fp.lam), "exact": fp.exact, "odd": fp.odd,
                "halves": {k: num(v) for k, v in fp.halves.items()},
                "jacobian": None if fp.jacobian is None else
                [[float(sp.N(e, 17)) for e in fp.jacobian.row(i)] for i in range(2)],
                "spectral_radius": num(fp.spectral_radius), "contracts": fp.contracts},
            "notes": list(self.notes), "seconds": round(self.seconds, 3),
        }


# ---- the analysis --------------------------------------------------------------------
def analyse_activation(text: str, q: Any = 2, digits: int = 30,
                       time_limit: float = TIME_LIMIT, max_seconds: float = MAX_SECONDS,
                       max_memory: int = MAX_MEMORY) -> ActivationAnalysis:
    """Analyse the activation written in ``text`` (a function of ``x``), e.g. Mish
    ``"x*tanh(log(1+exp(x)))"``; see the module docstring for what is derived.

    ``q`` (> 0) is the second variance at which moments and gains are reported besides 1;
    ``digits`` the significant digits asked of quadrature results (15–60; fewer are kept
    when fewer are verified); ``time_limit`` the seconds SymPy may spend on optional closed
    forms; ``max_seconds`` the whole budget; ``max_memory`` the bytes of address space the
    analysis may add. Unsafe or unsupported text raises :class:`UnsafeExpression` before
    anything is evaluated; an expression that cannot be analysed (not real, moments that do
    not exist, limits reached) raises :class:`ActivationRefused` (AnalysisTimeout for
    time); bad options raise ValueError/TypeError.
    """
    f = parse_activation(text)  # first: nothing is computed for a refused text
    q = _variance(q)
    if isinstance(digits, bool) or not isinstance(digits, int) or not 15 <= digits <= 60:
        raise ValueError(f"digits must be an integer between 15 and 60, got {digits!r}")
    for name, value in (("time_limit", time_limit), ("max_seconds", max_seconds)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise ValueError(f"{name} must be a non-negative number of seconds, got {value!r}")
    if isinstance(max_memory, bool) or not isinstance(max_memory, int) or max_memory < 2**26:
        raise ValueError(f"max_memory must be a whole number of bytes of at least 2**26, "
                         f"got {max_memory!r}")
    started = time.monotonic()
    clock = _Clock(float(time_limit), float(max_seconds))
    try:
        with _memory_limit(max_memory):
            a = clock.required("the analysis", lambda: _analyse(text, f, q, digits, clock))
    except MemoryError:
        raise ActivationRefused(f"analysing f = {sp.sstr(f)} needs more than "
                                f"{max_memory / 2**30:.3g} GiB of memory (its values or "
                                "expressions grow too large)") from None
    except RecursionError:
        raise ActivationRefused(f"f = {sp.sstr(f)} is nested too deeply for SymPy to "
                                "analyse") from None
    return dataclasses.replace(a, notes=tuple(clock.notes),
                               seconds=time.monotonic() - started)


def _analyse(text: str, f: sp.Expr, q: sp.Expr, digits: int, clock: _Clock
             ) -> ActivationAnalysis:
    clock.notes.extend(admissible.check_domain(f, clock.within))
    raw = sp.diff(f, X)
    clock.notes.extend(admissible.check_domain(raw, clock.within, "f'"))
    variances = [sp.Integer(1)] + ([q] if q != 1 else [])
    fourth_exists = _check_moments_exist(f, raw, variances, clock)

    d = Derivation("custom-activation", f"Your activation f(x) = {sp.sstr(f)}", SOURCE)
    d.assume("ξ ~ N(0, 1); z ~ N(0, v) with v the VARIANCE (v = 1 and v = q); the "
             "pre-activation is a zero-mean Gaussian (wide-layer limit)")
    d.assume("weights i.i.d., zero-mean, independent of the input, std g/√fan_in")
    d.convention("at a kink f' takes SymPy's value (e.g. Heaviside(0) = 1/2): a set of "
                 "Gaussian measure zero, so no moment depends on it")
    fn = sp.Function("f")
    d.define("the activation", f, f"parsed from {text.strip()!r} (allowlist parser)",
             lhs=fn(X))
    d.conclude("activation", f, [X], "kernel for f", lhs=fn(X))
    d.apply("differentiate", lambda _: raw, "SymPy", lhs=sp.Derivative(fn(X), X))
    deriv, simplified = _simplify_derivative(d, raw, clock)
    d.conclude("activation_grad", deriv, [X], "kernel for f'", lhs=sp.Derivative(fn(X), X))

    moments, fourth = {}, {}
    for v in variances:
        moments[v], fourth[v] = _moments(f, v, digits, clock, fourth_exists[v])
    gains = {}
    for v in variances:
        _moment_steps(d, f, deriv, v, moments[v])
        gains[v] = _gain_steps(d, v, moments[v], digits)
    try:
        fp = _fixed_point(d, f, moments[sp.Integer(1)], digits, clock)
    except quadrature.QuadratureError as exc:
        raise ActivationRefused(f"the half-line integrals of f (SELU-like fixed point) "
                                f"could not be computed reliably: {exc}") from None
    _crosschecks(d, f, deriv, moments)
    for v, gs in gains.items():
        d.values[f"forward_gain_q{v}"] = gs["forward"]
        d.values[f"backward_gain_q{v}"] = gs["backward"]
    return ActivationAnalysis(text.strip(), f, deriv, simplified, q, moments, gains, fp, d,
                              digits, fourth_moments=fourth)


_POWERS = {"mean": ("E[f(z)]", 1), "second_moment": ("E[f(z)²]", 2),
           "derivative_second_moment": ("E[f'(z)²]", 2)}


def _check_moments_exist(f: sp.Expr, df: sp.Expr, variances: list,
                         clock: _Clock) -> dict:
    """Refuse f unless E|f|, E[f²], E[f'²] exist under every N(0, v); return, per v,
    whether E[f⁴] and E[f'⁴] exist (derive.admissible: growth against the Gaussian tail)."""
    tails = {}
    for name, g in (("f", f), ("f'", df)):
        for side in (1, -1):
            tails[name, side] = admissible.growth(g, side, clock.within, name)
    out = {}
    for v in variances:
        exists = {}
        for name, g, p, label in (("f", f, 1, "E|f(z)|"), ("f", f, 2, "E[f(z)²]"),
                                  ("f'", df, 2, "E[f'(z)²]"), ("f", f, 4, "E[f(z)⁴]"),
                                  ("f'", df, 4, "E[f'(z)⁴]")):
            answer: bool | None = True
            for side in (1, -1):
                L, exact = tails[name, side]
                one = admissible.moment_exists(g, p, v, side, L, exact, clock.within)
                if one is not True:
                    answer = one
                    break
            exists[label] = answer
            if p < 4 and answer is not True:
                raise ActivationRefused(_no_moment(label, v, name, tails, answer))
        out[v] = exists
    return out


def _no_moment(label: str, v: sp.Expr, name: str, tails: dict, answer: bool | None) -> str:
    side, (L, _) = max(((s, tails[name, s]) for s in (1, -1)),
                       key=lambda item: math.inf if item[1][0] is None else float(item[1][0]))
    where = "+∞" if side > 0 else "−∞"
    if answer is None:
        return (f"cannot decide whether {label} is finite for z ~ N(0, {sp.sstr(v)}): how "
                f"fast {name}(x) grows as x → {where} is not known to SymPy")
    rate = ("faster than exp(c·x²) for every c" if L is sp.S.Infinity
            else f"like exp({sp.sstr(L)}·x²)")
    return (f"{label} is infinite for z ~ N(0, {sp.sstr(v)}): {name}(x) grows {rate} as "
            f"x → {where}, too fast for the Gaussian density exp(−x²/{sp.sstr(2 * v)}); "
            "the moments of this activation do not exist")


def scaled_fixed_point(f_expr: sp.Expr, digits: int = 30,
                       max_seconds: float = MAX_SECONDS) -> FixedPoint:
    """The SELU-like fixed point of an activation given as a SymPy expression in
    ``derive.safe_parse.X`` (e.g. ELU as a Piecewise gives SELU's α and λ)."""
    if not isinstance(f_expr, sp.Expr) or X not in f_expr.free_symbols:
        raise TypeError("f_expr must be a SymPy expression in derive.safe_parse.X (the real "
                        f"symbol x), got {f_expr!r}")
    clock = _Clock(0.0, max_seconds)
    unit = clock.required("the moments under N(0, 1)",
                          lambda: gaussian_moments(f_expr, X, 1, digits))
    d = Derivation("scaled-fixed-point", "SELU-like fixed point", SOURCE)
    return _fixed_point(d, f_expr, unit, digits, clock)


def _variance(q: Any) -> sp.Expr:
    if isinstance(q, (bool, str)) or not isinstance(q, (int, float, sp.Expr)):
        raise TypeError(f"q (a variance) must be a positive number, got {q!r}")
    if isinstance(q, float):
        if not math.isfinite(q):
            raise ValueError(f"q must be a finite positive variance, got {q}")
        q = sp.Rational(repr(q))  # the decimal as written, exactly
    q = sp.sympify(q)
    if not q.is_number or q.is_positive is not True or q > 10**6 or q < sp.Rational(1, 10**6):
        raise ValueError(f"q is a variance and must be a number between 1e-6 and 1e6, got {q}")
    return q


def _simplify_derivative(d: Derivation, raw: sp.Expr, clock: _Clock) -> tuple:
    """SymPy's simplify within half the CAS budget; keep it only if it is not longer, and
    record it as a checked rewrite (the check is time-bounded too)."""
    candidate = clock.attempt("simplifying f'", lambda: sp.simplify(raw),
                              cap=clock.cas_left / 2)
    if candidate is None or candidate == raw or sp.count_ops(candidate) > sp.count_ops(raw):
        return raw, False
    added = clock.attempt("checking the simplified f'", lambda: d.rewrite(
        "simplify", candidate, "sympy.simplify", lhs=sp.Derivative(sp.Function("f")(X), X)))
    return (candidate, True) if added is not None else (raw, False)


def _closed_form_class(g: sp.Expr) -> bool:
    """Every piece of g is a sum of c·xⁿ·e^{ax} (derive.moments integrates it exactly)."""
    pieces = _pieces(g, X)
    return pieces is not None and all(_is_poly_exp(e, X) for e, _ in pieces)


def _moments(f: sp.Expr, v: sp.Expr, digits: int, clock: _Clock,
             exists: dict) -> tuple[dict, dict]:
    """(moments, fourth): E[f], E[f²], E[f'²] and, for the Monte Carlo design, E[y²] of
    each y averaged there (E[f²], E[f⁴], E[f'⁴]; None where infinite). Exact for
    c·xⁿ·e^{ax} pieces (derive.moments), else verified quadrature (derive.quadrature);
    then, within the CAS budget, a closed-form attempt for the quadrature ones, kept only
    if it agrees."""
    f_pw = sp.piecewise_fold(f.rewrite(sp.Piecewise))
    df_pw = sp.piecewise_fold(sp.diff(f_pw, X))
    integrands = {"mean": f_pw, "second_moment": sp.piecewise_fold(f_pw**2),
                  "derivative_second_moment": sp.piecewise_fold(df_pw**2)}
    fourth_integrands = {"mean": integrands["second_moment"],
                         "second_moment": sp.piecewise_fold(f_pw**4)
                         if exists["E[f(z)⁴]"] else None,
                         "derivative_second_moment": sp.piecewise_fold(df_pw**4)
                         if exists["E[f'(z)⁴]"] else None}
    exact = _closed_form_class(f_pw)
    kinks = [float(k) for k in _kinks(f)]

    def one(label: str, g: sp.Expr, digits: int = digits) -> GaussianMoment:
        if exact:
            return _exact(g, _pieces(g, X), X, v)
        return _verified_moment(label, g, v, digits, kinks)

    got: dict = {}
    for name in MOMENT_NAMES:
        label, g = _LABELS[name][0], integrands[name]
        got[name] = clock.required(f"{label} under N(0, {v})", partial(one, label, g))
    fourth: dict = {}
    for name, g4 in fourth_integrands.items():
        fourth[name] = None if g4 is None else clock.required(
            f"the Monte Carlo variance bound under N(0, {v})",
            partial(one, "a fourth moment", g4, DESIGN_DIGITS))
    fourth["mean"] = got["second_moment"]
    if all(m.exact for m in got.values()):
        return got, fourth
    closed = clock.attempt(f"closed form of the moments under N(0, {v})",
                           lambda: gaussian_moments(f, X, v, digits, method="sympy"))
    if closed is None:
        return got, fourth
    out = dict(got)
    for name, m in got.items():
        c = closed[name]
        if m.exact or not c.exact:
            continue
        tol = sp.Float(10) ** (-(m.digits or digits) + 1) * max(1, abs(m.value))
        if abs(sp.N(c.value, (m.digits or digits) + 5) - m.value) <= tol:
            out[name] = GaussianMoment(c.value, True, "sympy (agrees with quadrature)")
        else:
            clock.notes.append(f"SymPy's closed form of {name} under N(0, {v}) disagrees "
                               "with quadrature; the quadrature value is kept")
    fourth["mean"] = out["second_moment"]
    return out, fourth


def _verified_moment(label: str, g: sp.Expr, v: sp.Expr, digits: int,
                     kinks: list) -> GaussianMoment:
    g_num = sp.lambdify(X, g, modules="mpmath", cse=True)
    try:
        r = quadrature.gaussian_integral(g_num, float(v), digits, kinks)
    except quadrature.QuadratureError as exc:
        raise ActivationRefused(f"{label} under N(0, {sp.sstr(v)}) could not be computed "
                                f"reliably: {exc}") from None
    if isinstance(r.value, mpmath.mpc):
        raise ActivationRefused(f"{label} under N(0, {sp.sstr(v)}) is not real: f is not "
                                "real for some real x")
    value = sp.Float(r.value, r.digits) if r.value else sp.Float("0.0", digits)
    return GaussianMoment(value, False, "quadrature", r.digits, r.error)


_LABELS = {"mean": ("E[f(z)]", lambda f, df: f),
           "second_moment": ("E[f(z)²]", lambda f, df: f**2),
           "derivative_second_moment": ("E[f'(z)²]", lambda f, df: df**2)}


def _how(m: GaussianMoment) -> str:
    if m.exact:
        return f"exact ({m.method}; derive.moments.gaussian_moments)"
    return (f"quadrature verified to {m.digits} significant digits (two runs on grids of "
            f"halved width agree; error bound {m.error_estimate:.1e}; no closed form found)")


def _moment_steps(d: Derivation, f: sp.Expr, df: sp.Expr, v: sp.Expr, ms: dict) -> None:
    E = sp.Function("E")
    phi = sp.exp(-X**2 / (2 * v)) / sp.sqrt(2 * sp.pi * v)
    for name, (label, integrand) in _LABELS.items():
        lhs = E(sp.Symbol(label[2:-1].replace("²", "^2")))
        d.define(f"{label}, z ~ N(0, {v})", sp.Integral(integrand(f, df) * phi,
                                                         (X, -sp.oo, sp.oo)),
                 f"expectation against the N(0, {v}) density", lhs=lhs)
        m = ms[name]
        if m.exact:
            d.apply("integrate", m.value, _how(m), lhs=lhs)
        else:
            d.define("numerically", m.value, _how(m), lhs=lhs)
        d.values[f"{name}_q{v}"] = m.value


def _gain_steps(d: Derivation, v: sp.Expr, ms: dict, digits: int) -> dict:
    g, M, D, qs = sp.symbols("g M D q", positive=True)
    m2, dd = ms["second_moment"].value, ms["derivative_second_moment"].value
    digits = min([digits, *(m.digits for m in ms.values() if not m.exact and m.digits)])
    out = {}
    d.define(f"forward gain at q = {v}", sp.sqrt(qs / M), "activation-gain: q ↦ g²·E[f(z)²] "
             "keeps q fixed iff g = √(q/M), M = E[f(z)²]", lhs=g)
    out["forward"] = d.apply("substitute", lambda e: _number(e.subs({qs: v, M: m2}), digits),
                             f"M = {sp.N(m2, 12)}", lhs=g) if m2 != 0 else sp.oo
    d.define(f"backward gain at q = {v}", 1 / sp.sqrt(D), "the gradient second moment is "
             "multiplied by g²·E[f'(z)²] per layer (fan_out convention): g = 1/√D", lhs=g)
    out["backward"] = d.apply("substitute", lambda e: _number(e.subs(D, dd), digits),
                              f"D = E[f'(z)²] = {sp.N(dd, 12)}", lhs=g) if dd != 0 else sp.oo
    return out


def _number(e: sp.Expr, digits: int = 30) -> sp.Expr:
    """Light exact tidying (radsimp/nsimplify are not used: they may be slow); a value
    that contains a quadrature result is evaluated to ``digits`` digits."""
    return sp.Float(sp.N(e, digits), digits) if e.has(sp.Float) else sp.powsimp(e)


# ---- the SELU-like fixed point ----------------------------------------------------------
def _half_integrands(f: sp.Expr) -> dict:
    return {"a": f, "b": X**2 * f, "c": f**2, "d": X**2 * f**2}


def _halves_exact(f: sp.Expr, digits: int, clock: _Clock) -> dict | None:
    """a±, b±, c±, d± from gaussian_moments of f·1{±x > 0} (and x²f·1, x·f·1); None when
    any of them comes back from quadrature (then the cheaper own quadrature is used)."""
    out = {}
    for sign, cond in (("+", X > 0), ("-", X <= 0)):
        def cut(e: sp.Expr, cond=cond) -> sp.Expr:
            return sp.Piecewise((e, cond), (0, True))

        m1 = clock.required("half-line moments", lambda: gaussian_moments(cut(f), X, 1, digits))
        m2 = clock.required("half-line moments",
                            lambda: gaussian_moments(cut(X * f), X, 1, digits))
        m3 = clock.required("half-line moments",
                            lambda: gaussian_moments(cut(X**2 * f), X, 1, digits))
        if not all(m.exact for m in (m1["mean"], m1["second_moment"], m2["second_moment"],
                                     m3["mean"])):
            return None
        out["a" + sign] = m1["mean"].value
        out["c" + sign] = m1["second_moment"].value
        out["d" + sign] = m2["second_moment"].value
        out["b" + sign] = m3["mean"].value
    return out


def _kinks(f: sp.Expr) -> list:
    """Finite numeric breakpoints of f's Piecewise form (for splitting quadratures)."""
    try:
        pw = sp.piecewise_fold(f.rewrite(sp.Piecewise))
        if not isinstance(pw, sp.Piecewise):
            return []
        points = set()
        for _, s in pw.as_expr_set_pairs(sp.Reals):
            for part in (s.args if isinstance(s, sp.Union) else (s,)):
                if isinstance(part, sp.Interval):
                    points |= {e for e in (part.start, part.end) if e.is_finite and e.is_number}
        return sorted(points, key=float)
    except Exception:
        return []


def _halves_quadrature(f: sp.Expr, digits: int, clock: _Clock) -> tuple[dict, float, int]:
    """The same eight half-line integrals by verified quadrature (derive.quadrature), split
    at f's kinks; returns the values, the largest relative error bound and the fewest
    verified digits."""
    kinks = [float(k) for k in _kinks(f)]
    values, worst, fewest = {}, 0.0, digits
    for name, g in _half_integrands(f).items():
        g_num = sp.lambdify(X, g, modules="mpmath", cse=True)
        for sign, s in (("+", 1), ("-", -1)):
            r = clock.required("half-line quadrature", partial(
                quadrature.gaussian_half_line, g_num, s, 1.0, digits, kinks))
            values[name + sign] = sp.Float(r.value, r.digits) if r.value else sp.S.Zero
            worst = max(worst, r.error / max(1e-300, abs(float(r.value))))
            fewest = min(fewest, r.digits)
    return values, worst, fewest


def _is_odd(f: sp.Expr, digits: int) -> bool:
    """f(−x) = −f(x): exactly by expand, else at 8 random points to ``digits`` digits."""
    s = f.subs(X, -X) + f
    if sp.expand(s) == 0:
        return True
    rng = random.Random(0)
    g = sp.lambdify(X, s, modules="mpmath")
    with mpmath.workdps(digits + GUARD):
        try:
            return all(abs(g(mpmath.mpf(rng.uniform(-4, 4)))) < mpmath.mpf(10) ** (-digits)
                       for _ in range(8))
        except (ArithmeticError, ValueError, TypeError):
            return False


def _fixed_point(d: Derivation, f: sp.Expr, unit: dict, digits: int,
                 clock: _Clock) -> FixedPoint:
    alpha, lam = sp.symbols("alpha lambda", positive=True)
    sym = {k + s: sp.Symbol(f"{k}_{{{s}}}", real=True) for k in HALF_NAMES for s in "+-"}
    halves = None
    if all(m.exact for m in unit.values()):
        halves = _halves_exact(f, digits, clock)
    exact = halves is not None
    worst, fewest = 0.0, None
    if halves is None:
        halves, worst, fewest = _halves_quadrature(f, digits, clock)
        unit_digits = [m.digits for m in unit.values() if not m.exact and m.digits]
        fewest = min([fewest, *unit_digits])
    how = ("exact (half-line Gaussian integrals by derive.moments.gaussian_moments)" if exact
           else f"verified quadrature on each half line, {fewest} significant digits "
                f"(largest relative error bound {worst:.1e})")
    d.note("SELU-like scaling", "f_{λ,α}(x) = λf(x) for x > 0 and λαf(x) for x ≤ 0 (002 "
           "§9.2.2 builds SELU this way from ELU); the fixed point asks E[f_{λ,α}(ξ)] = 0 and "
           "E[f_{λ,α}(ξ)²] = 1. Half-line pieces: a± = E[f(ξ); ±ξ > 0], b± = E[ξ²f(ξ); ±], "
           f"c± = E[f(ξ)²; ±], d± = E[ξ²f(ξ)²; ±], computed {how}")
    at = {sym[k]: v for k, v in halves.items()}
    # the pieces must add up to the full moments (an independent consistency check)
    for full, k in (("mean", "a"), ("second_moment", "c")):
        gap = sp.N(halves[k + "+"] + halves[k + "-"] - unit[full].value, digits)
        agreed = digits if fewest is None else fewest
        if abs(gap) > sp.Float(10) ** (-(agreed - 2)) * max(1, abs(unit[full].value)):
            raise ArithmeticError(f"the half-line pieces of {full} do not add up to the "
                                  f"full moment (difference {sp.N(gap, 3)}): numerical "
                                  "trouble; try fewer digits")
    mean = lam * (sym["a+"] + alpha * sym["a-"])
    second = lam**2 * (sym["c+"] + alpha**2 * sym["c-"])
    E = sp.Function("E")
    lhs_mean, lhs_sec = E(sp.Symbol("f_{lambda,alpha}")), E(sp.Symbol("f_{lambda,alpha}^2"))
    d.define("mean of the scaled activation", mean, "linearity of E on each half line",
             lhs=lhs_mean)
    a_plus, a_minus = halves["a+"], halves["a-"]
    negligible = sp.Float(10) ** (-((fewest or digits) - 5))
    zero_minus = a_minus == 0 or (not exact and abs(a_minus) < negligible)
    zero_plus = a_plus == 0 or (not exact and abs(a_plus) < negligible)
    odd = False
    if zero_minus and zero_plus:
        reason = ("a₊ = a₋ = 0: E[f_{λ,α}(ξ)] = 0 for every α, so the mean condition does not "
                  "determine α (no SELU-like fixed point is singled out)")
    elif zero_minus:
        reason = (f"a₋ = E[f(ξ); ξ ≤ 0] = 0 while a₊ = {sp.N(a_plus, 6)}: no finite α can "
                  "cancel the mean (as for ReLU)")
    else:
        d.apply("solve the mean condition for α",
                lambda e: sp.solve(sp.Eq(e / lam, 0), alpha)[0],
                "λ(a₊ + αa₋) = 0 with λ ≠ 0 is linear in α (sympy.solve)", lhs=alpha)
        a_val = d.apply("substitute", lambda e: e.subs(at), how, lhs=alpha)
        odd = _is_odd(f, digits)
        if odd and not exact:
            a_val = sp.Integer(1)
            d.define("f is odd", a_val, "f(−x) = −f(x) (checked at random points), so "
                     "a₋ = −a₊ exactly", lhs=alpha)
        if not (a_val > 0):
            reason = (f"α = −a₊/a₋ = {sp.N(a_val, 6)} is not positive: both half lines give "
                      f"means of the same sign (a₊ = {sp.N(a_plus, 6)}, a₋ = "
                      f"{sp.N(a_minus, 6)}), so no SELU-like scaling centres f")
        else:
            reason = ""
    if reason:
        d.note("no SELU-like fixed point", reason)
        return FixedPoint(False, reason, None, None, halves, exact, odd, digits=fewest)

    d.define("second moment of the scaled activation", second, "", lhs=lhs_sec)
    d.apply("solve E[f_{λ,α}²] = 1 for λ > 0",
            lambda e: 1 / sp.sqrt(sp.expand(e / lam**2)),
            "λ²(c₊ + α²c₋) = 1 with λ > 0", lhs=lam)
    l_val = d.apply("substitute",
                    lambda e: _number(e.subs(at).subs(alpha, a_val), fewest or digits), how,
                    lhs=lam)
    # Jacobian of (μ, ν) ↦ (mean, variance) at the fixed point, ω = 0, τ = 1
    j12 = lam * (sym["b+"] + alpha * sym["b-"] - sym["a+"] - alpha * sym["a-"]) / 2
    j22 = (lam**2 * (sym["d+"] + alpha**2 * sym["d-"]) - 1) / 2
    J = sp.Matrix([[0, j12], [0, j22]])
    d.define("Jacobian of the moment map at the fixed point", J,
             "selu-fixed-point's map (ω = 0, τ = 1: z ~ N(0, ν), so ∂/∂μ = 0); "
             "d/dν E[g(z)] = ½E[(z² − 1)g(z)] at ν = 1, with mean 0 and second moment 1",
             lhs=sp.Symbol("J"))
    Jv = d.apply("substitute", lambda e: e.subs(at).subs({alpha: a_val, lam: l_val}), how,
                 lhs=sp.Symbol("J"))
    radius = sp.Abs(Jv[1, 1])
    if not exact:
        radius = sp.Float(radius, fewest or digits)
    contracts = bool(radius < 1)
    shown = sp.Eq(sp.Symbol(r"\rho(J)"), sp.N(radius, 20))
    if contracts:
        d.prove_true("spectral radius < 1: the moment map contracts near the fixed point",
                     radius < 1, "J is triangular with eigenvalues 0 and J₂₂", shown=shown)
    else:
        d.prove_true("spectral radius ≥ 1: the moment map does not contract there",
                     radius >= 1, "J is triangular with eigenvalues 0 and J₂₂", shown=shown)
    why = "exact" if exact else f"{digits}-digit quadrature"
    reason = ("f is odd, so α = 1 and only λ rescales it" if odd else
              f"α = −a₊/a₋ > 0 and λ = 1/√(c₊ + α²c₋) ({why})")
    d.values.update(alpha=a_val, **{"lambda": l_val}, jacobian=Jv, spectral_radius=radius)
    return FixedPoint(True, reason, a_val, l_val, halves, exact, odd, Jv, radius, contracts,
                      fewest)


def _crosschecks(d: Derivation, f: sp.Expr, df: sp.Expr, moments: dict) -> None:
    """Independent float64 checks (run by tests/test_custom_activation.py)."""
    d.crosscheck_gradient("f' against central differences", f, X, df, at={X: (-4.0, 4.0)},
                          rtol=1e-5, atol=1e-7)
    f_num = sp.lambdify(X, f, modules=["scipy", "numpy"])
    for v, ms in moments.items():
        def second(v=float(v)) -> float:
            import numpy as np
            from scipy import integrate
            dens = lambda t: f_num(t)**2 * np.exp(-t * t / (2 * v)) / np.sqrt(2 * np.pi * v)
            with np.errstate(over="ignore"):  # e^t -> inf far out gives the right limit
                return sum(integrate.quad(dens, a, b, limit=200)[0]
                           for a, b in ((-np.inf, 0.0), (0.0, np.inf)))

        d.crosscheck(f"E[f(z)²], z ~ N(0, {v}), by scipy.integrate.quad",
                     ms["second_moment"].value, second, at={}, points=1, rtol=1e-7)
