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

CAS time is bounded: optional closed-form work (simplifying f', integrating the moments in
closed form) shares a budget of ``time_limit`` seconds, enforced with ``signal.setitimer``
in the main thread (in other threads it is skipped and quadrature is used); everything
else must finish within ``max_seconds`` or :class:`AnalysisTimeout` is raised.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import random
import signal
import threading
import time
from typing import Any
from collections.abc import Callable

import mpmath
import sympy as sp

from .core import Derivation, DerivationError
from .moments import GaussianMoment, gaussian_moments
from .safe_parse import X, UnsafeExpression, parse_activation

__all__ = ["ActivationAnalysis", "AnalysisTimeout", "FixedPoint", "UnsafeExpression",
           "analyse_activation", "scaled_fixed_point"]

TIME_LIMIT = 2.0    # seconds of optional CAS work (simplify f', closed-form integrals)
MAX_SECONDS = 60.0  # the whole analysis
GUARD = 5           # extra working digits of the half-line quadratures
SOURCE = ("your input; methods of 000 §3.3 (Gaussian moments, gain), 002 §9.4.3 "
          "(variance-preserving initialisation), 002 §9.2.2 (SELU fixed point)")
HALF_NAMES = ("a", "b", "c", "d")  # E[f], E[ξ²f], E[f²], E[ξ²f²] on each half line


class AnalysisTimeout(TimeoutError):
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
                                  "limit of the analysis; simplify the expression or raise "
                                  "max_seconds") from None


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

    @property
    def exact(self) -> bool:
        return all(m.exact for ms in self.moments.values() for m in ms.values())

    def moment(self, name: str, variance: Any = 1) -> GaussianMoment:
        return self.moments[sp.sympify(variance)][name]

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
                name: {**num(m.value), "exact": m.exact, "method": m.method,
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
                       time_limit: float = TIME_LIMIT,
                       max_seconds: float = MAX_SECONDS) -> ActivationAnalysis:
    """Analyse the activation written in ``text`` (a function of ``x``), e.g. Mish
    ``"x*tanh(log(1+exp(x)))"``; see the module docstring for what is derived.

    ``q`` (> 0) is the second variance at which moments and gains are reported besides 1;
    ``digits`` the significant digits of quadrature results (15–60); ``time_limit`` the
    seconds SymPy may spend on optional closed forms; ``max_seconds`` the whole budget.
    Unsafe or unsupported text raises :class:`UnsafeExpression` before anything is
    evaluated; bad options raise ValueError/TypeError.
    """
    f = parse_activation(text)  # first: nothing is computed for a refused text
    q = _variance(q)
    if isinstance(digits, bool) or not isinstance(digits, int) or not 15 <= digits <= 60:
        raise ValueError(f"digits must be an integer between 15 and 60, got {digits!r}")
    for name, value in (("time_limit", time_limit), ("max_seconds", max_seconds)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise ValueError(f"{name} must be a non-negative number of seconds, got {value!r}")
    started = time.monotonic()
    clock = _Clock(float(time_limit), float(max_seconds))

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
    raw = clock.required("differentiating f", lambda: sp.diff(f, X))
    d.apply("differentiate", lambda _: raw, "SymPy", lhs=sp.Derivative(fn(X), X))
    deriv, simplified = _simplify_derivative(d, raw, clock)
    d.conclude("activation_grad", deriv, [X], "kernel for f'", lhs=sp.Derivative(fn(X), X))

    variances = [sp.Integer(1)] + ([q] if q != 1 else [])
    moments = {v: _moments(f, v, digits, clock) for v in variances}
    gains = {}
    for v in variances:
        _moment_steps(d, f, deriv, v, moments[v])
        gains[v] = _gain_steps(d, v, moments[v], digits)
    fp = _fixed_point(d, f, moments[sp.Integer(1)], digits, clock)
    _crosschecks(d, f, deriv, moments)
    for v, gs in gains.items():
        d.values[f"forward_gain_q{v}"] = gs["forward"]
        d.values[f"backward_gain_q{v}"] = gs["backward"]
    return ActivationAnalysis(text.strip(), f, deriv, simplified, q, moments, gains, fp, d,
                              digits, tuple(clock.notes), time.monotonic() - started)


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
    if isinstance(q, bool) or isinstance(q, str) or not isinstance(q, (int, float, sp.Expr)):
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


def _moments(f: sp.Expr, v: sp.Expr, digits: int, clock: _Clock) -> dict:
    """gaussian_moments (exact for c·xⁿ·e^{ax} pieces, else quadrature); then, within the
    CAS budget, a closed-form attempt for the quadrature ones, kept only if it agrees."""
    def numeric(n: int) -> dict:
        return gaussian_moments(f, X, v, n)

    try:
        got = clock.required(f"the moments under N(0, {v})", lambda: numeric(digits))
    except ArithmeticError:
        fewer = 15
        clock.notes.append(f"quadrature under N(0, {v}) did not reach {digits} digits; "
                           f"computed to {fewer}")
        got = clock.required(f"the moments under N(0, {v})", lambda: numeric(fewer))
    if all(m.exact for m in got.values()):
        return got
    closed = clock.attempt(f"closed form of the moments under N(0, {v})",
                           lambda: gaussian_moments(f, X, v, digits, method="sympy"))
    if closed is None:
        return got
    out = dict(got)
    for name, m in got.items():
        c = closed[name]
        if m.exact or not c.exact:
            continue
        tol = sp.Float(10) ** (-(m.digits or digits) + 3) * max(1, abs(m.value))
        if abs(sp.N(c.value, (m.digits or digits) + 5) - m.value) <= tol:
            out[name] = GaussianMoment(c.value, True, "sympy (agrees with quadrature)")
        else:
            clock.notes.append(f"SymPy's closed form of {name} under N(0, {v}) disagrees "
                               "with quadrature; the quadrature value is kept")
    return out


_LABELS = {"mean": ("E[f(z)]", lambda f, df: f),
           "second_moment": ("E[f(z)²]", lambda f, df: f**2),
           "derivative_second_moment": ("E[f'(z)²]", lambda f, df: df**2)}


def _how(m: GaussianMoment) -> str:
    if m.exact:
        return f"exact ({m.method}; derive.moments.gaussian_moments)"
    return (f"mpmath tanh–sinh quadrature to {m.digits} significant digits, error estimate "
            f"{m.error_estimate:.1e} (no closed form found)")


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
            d.apply("integrate", lambda _, m=m: m.value, _how(m), lhs=lhs)
        else:
            d.define("numerically", m.value, _how(m), lhs=lhs)
        d.values[f"{name}_q{v}"] = m.value


def _gain_steps(d: Derivation, v: sp.Expr, ms: dict, digits: int) -> dict:
    g, M, D, qs = sp.symbols("g M D q", positive=True)
    m2, dd = ms["second_moment"].value, ms["derivative_second_moment"].value
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


def _halves_quadrature(f: sp.Expr, digits: int, clock: _Clock) -> tuple[dict, float]:
    """The same eight half-line integrals by mpmath tanh–sinh quadrature, split at f's
    kinks; returns the values and the largest error estimate."""
    kinks = _kinks(f)
    values, worst = {}, 0.0
    with mpmath.workdps(digits + GUARD):
        norm = 1 / mpmath.sqrt(2 * mpmath.pi)
        for name, g in _half_integrands(f).items():
            g_num = sp.lambdify(X, g, modules="mpmath")
            for sign, s in (("+", 1), ("-", -1)):
                inner = sorted({abs(float(k)) for k in kinks if s * k > 0})
                nodes = [mpmath.mpf(0), *map(mpmath.mpf, inner), mpmath.inf]

                def integrand(t: Any, s=s, g_num=g_num) -> Any:
                    return g_num(s * t) * mpmath.exp(-t * t / 2) * norm

                def run(nodes=nodes, integrand=integrand) -> tuple:
                    val, err = mpmath.quad(integrand, nodes, error=True)
                    if err > mpmath.mpf(10) ** (-digits) * max(1, abs(val)):
                        val, err = mpmath.quad(integrand, nodes, error=True, maxdegree=10)
                    return val, err

                val, err = clock.required("half-line quadrature", run)
                values[name + sign] = sp.Float(val, digits)
                worst = max(worst, float(err) / max(1.0, abs(float(val))))
    return values, worst


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
    worst = 0.0
    if halves is None:
        halves, worst = _halves_quadrature(f, digits, clock)
    how = ("exact (half-line Gaussian integrals by derive.moments.gaussian_moments)" if exact
           else f"mpmath quadrature on each half line to {digits} digits (largest relative "
                f"error estimate {worst:.1e})")
    d.note("SELU-like scaling", "f_{λ,α}(x) = λf(x) for x > 0 and λαf(x) for x ≤ 0 (002 "
           "§9.2.2 builds SELU this way from ELU); the fixed point asks E[f_{λ,α}(ξ)] = 0 and "
           "E[f_{λ,α}(ξ)²] = 1. Half-line pieces: a± = E[f(ξ); ±ξ > 0], b± = E[ξ²f(ξ); ±], "
           f"c± = E[f(ξ)²; ±], d± = E[ξ²f(ξ)²; ±], computed {how}")
    at = {sym[k]: v for k, v in halves.items()}
    # the pieces must add up to the full moments (an independent consistency check)
    for full, k in (("mean", "a"), ("second_moment", "c")):
        gap = sp.N(halves[k + "+"] + halves[k + "-"] - unit[full].value, digits)
        if abs(gap) > sp.Float(10) ** (-(digits - 8)) * max(1, abs(unit[full].value)):
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
    negligible = sp.Float(10) ** (-(digits - 5))
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
        return FixedPoint(False, reason, None, None, halves, exact, odd)

    d.define("second moment of the scaled activation", second, "", lhs=lhs_sec)
    d.apply("solve E[f_{λ,α}²] = 1 for λ > 0",
            lambda e: 1 / sp.sqrt(sp.expand(e / lam**2)),
            "λ²(c₊ + α²c₋) = 1 with λ > 0", lhs=lam)
    l_val = d.apply("substitute", lambda e: _number(e.subs(at).subs(alpha, a_val), digits), how,
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
        radius = sp.Float(radius, digits)
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
    return FixedPoint(True, reason, a_val, l_val, halves, exact, odd, Jv, radius, contracts)


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
