"""Catalog section 5: Gaussian moments of activations (000 §1.2, §3.3).

Public helper: :func:`gaussian_moments` (E[f(z)], E[f(z)²], E[f'(z)²] for z ~ N(0, q)),
used by the derivations below and by other topics (initialisation gain, SELU, user-given
activations).
"""
from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import mpmath
import sympy as sp
from sympy.stats import Normal, density

from .core import Derivation
from .registry import derivation, get

__all__ = ["MOMENT_NAMES", "GaussianMoment", "gaussian_moments"]

GUARD_DIGITS = 5  # extra working digits of the quadrature
MOMENT_NAMES = ("mean", "second_moment", "derivative_second_moment")


@dataclasses.dataclass(frozen=True)
class GaussianMoment:
    """One moment of f(z), z ~ N(0, q).

    ``value`` is an exact SymPy expression when ``exact`` is True (``method`` = "sympy"),
    otherwise an ``sp.Float`` with ``digits`` significant digits from mpmath quadrature
    (``method`` = "quadrature"), whose own error estimate is ``error_estimate``.
    """

    value: sp.Expr
    exact: bool
    method: str
    digits: int | None = None
    error_estimate: float | None = None

    def __float__(self) -> float:
        return float(self.value)


def gaussian_moments(f_expr: Any, x: sp.Symbol, q: Any = 1, digits: int = 30,
                     method: str = "auto") -> dict[str, GaussianMoment]:
    """Moments of an activation under a centred Gaussian pre-activation.

    For z ~ N(0, q) (q is the VARIANCE, not the standard deviation) return

    * ``"mean"``:                      E[f(z)]    = ∫ f(x) φ_q(x) dx,
    * ``"second_moment"``:             E[f(z)²]   = ∫ f(x)² φ_q(x) dx,
    * ``"derivative_second_moment"``:  E[f'(z)²]  = ∫ f'(x)² φ_q(x) dx,

    with φ_q(x) = exp(−x²/(2q))/√(2πq). Kinks (Max, Abs, Heaviside, Piecewise) are split
    into pieces; f' is taken piece by piece, so its value at a kink (a Gaussian-null set)
    does not matter.

    ``method="auto"`` (default) is exact when every piece is a sum of terms c·xⁿ·e^{a·x}
    (c, a free of x: ReLU, leaky ReLU, ELU/SELU, |x|, polynomials; symbolic parameters and
    a symbolic q are allowed): each term is integrated in closed form by completing the
    square and the recursion for truncated normal moments (SymPy arithmetic throughout;
    the tests check it against ``sympy.integrate``), which is fast. Anything else (tanh,
    sigmoid, erf, softplus …) goes straight to mpmath tanh–sinh quadrature of
    (f(x) + f(−x))·φ_q(x) over [0, |kinks|…, ∞) at ``digits + GUARD_DIGITS`` working digits,
    returned as an ``sp.Float`` of ``digits`` significant digits; if the error estimate
    stays above 10^−digits (relative to max(1, |value|)) it raises ``ArithmeticError``.
    ``method="quadrature"`` forces quadrature (q and every parameter must be numbers);
    ``method="sympy"`` forces ``sympy.integrate`` piece by piece, with no time bound.
    Each result says which way it was obtained (``exact``, ``method``).
    Results are cached. Source: the moments used in 000 §1.2 and §3.3.

    >>> x = sp.Symbol("x", real=True)
    >>> m = gaussian_moments(sp.Max(0, x), x)
    >>> m["second_moment"].value, m["second_moment"].exact
    (1/2, True)
    """
    if not isinstance(x, sp.Symbol):
        raise TypeError(f"x must be the SymPy Symbol of the activation's input, got {x!r}")
    if isinstance(f_expr, str) or not isinstance(f_expr, (sp.Expr, int, float)):
        raise TypeError("f_expr must be a SymPy expression in x (build it with SymPy; "
                        f"text is not parsed here), got {type(f_expr).__name__}")
    if method not in ("auto", "quadrature", "sympy"):
        raise ValueError(f"method must be 'auto', 'quadrature' or 'sympy', got {method!r}")
    if not isinstance(digits, int) or isinstance(digits, bool) or not 5 <= digits <= 100:
        raise ValueError(f"digits must be an integer between 5 and 100, got {digits!r}")
    if isinstance(q, bool) or not isinstance(q, (int, float, sp.Expr)):
        raise TypeError(f"q (the variance of z) must be a number or a SymPy expression, "
                        f"got {q!r}")
    q = sp.nsimplify(q, rational=True) if isinstance(q, float) else sp.sympify(q)
    if q.is_positive is not True:
        raise ValueError(f"q is the variance of z and must be positive (a positive number, "
                         f"or a SymPy symbol declared positive=True), got {q!r}")
    return dict(_moments(sp.sympify(f_expr), x, q, digits, method))


@functools.lru_cache(maxsize=256)
def _moments(f: sp.Expr, x: sp.Symbol, q: sp.Expr, digits: int,
             method: str) -> tuple:
    f_pw = sp.piecewise_fold(f.rewrite(sp.Piecewise))
    df_pw = sp.piecewise_fold(sp.diff(f_pw, x))
    integrands = {"mean": f_pw, "second_moment": sp.piecewise_fold(f_pw**2),
                  "derivative_second_moment": sp.piecewise_fold(df_pw**2)}
    out = []
    for name in MOMENT_NAMES:
        g = integrands[name]
        pieces = _pieces(g, x)
        use_sympy = method == "sympy" or (
            method == "auto" and pieces is not None
            and all(_is_poly_exp(e, x) for e, _ in pieces))
        if use_sympy:
            out.append((name, _exact(g, pieces, x, q, use_integrate=method == "sympy")))
        else:
            out.append((name, _quadrature(g, x, q, digits)))
    return tuple(out)


def _pieces(g: sp.Expr, x: sp.Symbol) -> list | None:
    """[(expression, interval)] covering ℝ up to finitely many points, from the Piecewise
    form of g (SymPy's ``as_expr_set_pairs``); None when a piece is not a union of
    intervals (e.g. a condition with a symbolic threshold SymPy cannot order)."""
    g = sp.piecewise_fold(g.rewrite(sp.Piecewise))
    if not isinstance(g, sp.Piecewise):
        return [(g, sp.Interval(-sp.oo, sp.oo))]
    try:
        pairs = g.as_expr_set_pairs(sp.Reals)
    except Exception:
        return None
    out = []
    for e, s in pairs:
        for part in (s.args if isinstance(s, sp.Union) else (s,)):
            if isinstance(part, sp.Interval):
                out.append((e, part))
            elif not (isinstance(part, sp.FiniteSet) or part is sp.S.EmptySet):
                return None  # a point set has measure zero; anything else is unknown
    return out


def split_integral(integral: sp.Integral) -> sp.Expr:
    """∫_ℝ g dx as the sum, over the terms of g, of ∫ over the intervals of each term's
    Piecewise form (linearity and additivity of the integral; the finitely many boundary
    points have measure zero)."""
    g, (x, a, b) = integral.function, integral.limits[0]
    if (a, b) != (-sp.oo, sp.oo):
        raise ValueError(f"split_integral expects an integral over ℝ, got {integral}")
    out = []
    for term in sp.Add.make_args(sp.expand(g)):  # each term split at its own kinks
        pieces = _pieces(term, x)
        if pieces is None:
            raise ValueError(f"cannot split {integral} at its kinks")
        out += [integral.func(e, (x, i.start, i.end)) for e, i in pieces if e != 0]
    return sp.Add(*out)


class InertIntegral(sp.Integral):
    """An integral against an unspecified density: ``doit`` leaves it as it is (SymPy could
    only spend time failing to integrate an undefined function). Prints as an Integral."""

    def doit(self, **hints):
        return self


def _is_poly_exp(e: sp.Expr, x: sp.Symbol) -> bool:
    """True when e is a sum of c·xⁿ·exp(a·x) terms (c, a free of x, n a non-negative int)."""
    for term in sp.Add.make_args(sp.expand(e)):
        for factor in sp.Mul.make_args(term):
            if x not in factor.free_symbols or factor == x:
                continue
            if factor.is_Pow and factor.base == x and factor.exp.is_Integer \
                    and factor.exp > 0:
                continue
            if isinstance(factor, sp.exp):
                arg = factor.args[0]
                if arg.is_polynomial(x) and sp.degree(arg, x) <= 1:
                    continue
            return False
    return True


def _exact(g: sp.Expr, pieces: list | None, x: sp.Symbol, q: sp.Expr,
           use_integrate: bool = False) -> GaussianMoment:
    if use_integrate or pieces is None or not all(_is_poly_exp(e, x) for e, _ in pieces):
        phi = sp.exp(-x**2 / (2 * q)) / sp.sqrt(2 * sp.pi * q)
        parts = pieces if pieces is not None else [(g, sp.Interval(-sp.oo, sp.oo))]
        value = sp.Add(*[sp.integrate(e * phi, (x, i.start, i.end)) for e, i in parts])
        if value.has(sp.Integral):
            raise ArithmeticError(f"SymPy could not integrate {g} against N(0, {q}); "
                                  "use method='quadrature'")
        return GaussianMoment(sp.simplify(value), True, "sympy")
    value = sp.S.Zero
    for e, interval in pieces:
        for term in sp.Add.make_args(sp.expand(e)):
            value += _poly_exp_term(term, x, q, interval.start, interval.end)
    return GaussianMoment(sp.expand(value), True, "sympy")


def _std_normal_cdf(t: sp.Expr) -> sp.Expr:
    if t == sp.oo:
        return sp.S.One
    if t == -sp.oo:
        return sp.S.Zero
    return (1 + sp.erf(t / sp.sqrt(2))) / 2


def _std_normal_pdf(t: sp.Expr) -> sp.Expr:
    if t in (sp.oo, -sp.oo):
        return sp.S.Zero
    return sp.exp(-t**2 / 2) / sp.sqrt(2 * sp.pi)


def _truncated_moment(k: int, lo: sp.Expr, hi: sp.Expr) -> sp.Expr:
    """J_k = ∫_lo^hi tᵏ φ(t) dt for the standard normal density φ:
    J_0 = Φ(hi) − Φ(lo), J_1 = φ(lo) − φ(hi), J_k = (k−1)J_{k−2} − [t^{k−1}φ(t)]_lo^hi
    (integration by parts; t^{k−1}φ(t) → 0 at ±∞)."""
    if k == 0:
        return _std_normal_cdf(hi) - _std_normal_cdf(lo)
    if k == 1:
        return _std_normal_pdf(lo) - _std_normal_pdf(hi)

    def edge(t: sp.Expr) -> sp.Expr:
        return sp.S.Zero if t in (sp.oo, -sp.oo) else t**(k - 1) * _std_normal_pdf(t)

    return (k - 1) * _truncated_moment(k - 2, lo, hi) - (edge(hi) - edge(lo))


def _poly_exp_term(term: sp.Expr, x: sp.Symbol, q: sp.Expr, a: sp.Expr,
                   b: sp.Expr) -> sp.Expr:
    """∫_a^b c·xⁿ·e^{c₁x + c₀} φ_q(x) dx exactly: with x = √q·y and completing the square,
    e^{c₁√q·y}φ(y) = e^{c₁²q/2}φ(y − c₁√q), then shift t = y − c₁√q and expand
    (t + c₁√q)ⁿ binomially into truncated standard-normal moments J_k."""
    coeff, n, lin = sp.S.One, 0, sp.S.Zero
    for factor in sp.Mul.make_args(term):
        if x not in factor.free_symbols:
            coeff *= factor
        elif factor == x:
            n += 1
        elif factor.is_Pow and factor.base == x:
            n += int(factor.exp)
        else:  # exp(linear in x), guaranteed by _is_poly_exp
            lin += factor.args[0]
    c1, c0 = sp.Poly(lin, x).coeff_monomial(x), sp.Poly(lin, x).coeff_monomial(1)
    s = sp.sqrt(q)
    shift = c1 * s
    lo = -sp.oo if a == -sp.oo else a / s - shift
    hi = sp.oo if b == sp.oo else b / s - shift
    total = sp.Add(*[sp.binomial(n, k) * shift**(n - k) * _truncated_moment(k, lo, hi)
                     for k in range(n + 1)])
    return coeff * sp.exp(c0 + c1**2 * q / 2) * s**n * total


def _breakpoints(g: sp.Expr, x: sp.Symbol) -> list:
    pieces = _pieces(g, x)
    points = set()
    for _, interval in pieces or []:
        for end in (interval.start, interval.end):
            if end.is_finite:
                if not end.is_number:
                    raise ValueError("quadrature needs numeric breakpoints; the kink of "
                                     f"{g} is at {end}")
                points.add(end)
    return sorted(points, key=float)


def _quadrature(g: sp.Expr, x: sp.Symbol, q: sp.Expr, digits: int) -> GaussianMoment:
    """mpmath tanh–sinh quadrature of ∫_0^∞ (g(x) + g(−x)) φ_q(x) dx (the Gaussian is even,
    so odd parts cancel exactly), split at the absolute values of the kinks, at
    ``digits + 5`` working digits."""
    extra = (g.free_symbols | q.free_symbols) - {x}
    if extra:
        raise ValueError(f"quadrature needs numbers: {sorted(map(str, extra))} are "
                         "symbolic (substitute values, or keep the activation in the "
                         "c·xⁿ·e^{ax} class for an exact result)")
    f_num = sp.lambdify(x, g, modules="mpmath")
    kinks = sorted({abs(b) for b in _breakpoints(g, x)} - {0}, key=float)
    with mpmath.workdps(digits + GUARD_DIGITS):
        qq = mpmath.mpf(sp.Float(q, digits + GUARD_DIGITS))
        norm = 1 / mpmath.sqrt(2 * mpmath.pi * qq)

        def integrand(t: Any) -> Any:
            return (f_num(t) + f_num(-t)) * mpmath.exp(-t * t / (2 * qq)) * norm

        nodes = [mpmath.mpf(0)]
        nodes += [mpmath.mpf(sp.Float(b, digits + GUARD_DIGITS)) for b in kinks]
        nodes.append(mpmath.inf)
        tolerance = mpmath.mpf(10) ** (-digits)
        value, err = mpmath.quad(integrand, nodes, error=True)
        if err > tolerance * max(1, abs(value)):
            value, err = mpmath.quad(integrand, nodes, error=True, maxdegree=10)
        if err > tolerance * max(1, abs(value)):
            raise ArithmeticError(f"quadrature of {g} against N(0, {q}) reached only an "
                                  f"error estimate {mpmath.nstr(err, 3)}, not "
                                  f"10^-{digits}; ask for fewer digits")
        result = sp.Float(value, digits) if value else sp.Float("0.0", digits)
    return GaussianMoment(result, False, "quadrature", digits, float(err))


# --------------------------------------------------------------------------------------
@derivation("relu-moments",
            exports=("relu_gaussian_mean", "relu_gaussian_second_moment",
                     "relu_gaussian_variance", "sigma"))
def relu_moments(d: Derivation) -> None:
    """z ~ N(0, σ²), h = ReLU(z) = max(0, z):
    E[h] = σ/√(2π), E[h²] = σ²/2, Var h = σ²(1/2 − 1/(2π)); 000 §1.2 uses σ = 1.
    Computed by integrating against the Gaussian density over the half line z > 0."""
    z = d.symbol("z", real=True)
    sigma = d.symbol("sigma", positive=True)
    d.assume("z ~ N(0, σ²) (sympy.stats Normal), general standard deviation σ > 0")
    d.convention("ReLU(z) = max(0, z); σ is the standard deviation (σ² the variance)")
    pdf = density(Normal("z", 0, sigma))(z)
    E = sp.Function("E")
    relu = sp.Max(0, z)

    d.define("mean as an integral", sp.Integral(z * pdf, (z, 0, sp.oo)),
             "expectation against the N(0, σ²) density; ReLU(z) = 0 for z ≤ 0, so only "
             "the half line z > 0 contributes", lhs=E(relu))
    d.apply("integrate", lambda e: e.doit(), "by SymPy")
    mean = sigma / sp.sqrt(2 * sp.pi)
    d.conclude("relu_gaussian_mean", mean, [sigma], "E[ReLU z]", kernel=False, lhs=E(relu))

    d.define("second moment as an integral", sp.Integral(z**2 * pdf, (z, 0, sp.oo)),
             "again only z > 0 contributes", lhs=E(relu**2))
    d.apply("integrate", lambda e: e.doit(), "by SymPy")
    second = sigma**2 / 2
    d.conclude("relu_gaussian_second_moment", second, [sigma],
               "half of E[z²] = σ², as relu-second-moment-symmetry says", kernel=False,
               lhs=E(relu**2))

    d.define("variance", second - mean**2, "Var h = E[h²] − (E h)²",
             lhs=sp.Function("Var")(relu))
    var = d.rewrite("factor σ²", sigma**2 * (sp.Rational(1, 2) - 1 / (2 * sp.pi)), "")
    d.conclude("relu_gaussian_variance", var, [sigma], "Var ReLU(z)", kernel=False)
    d.rewrite("000 §1.2 (σ = 1)", sp.Rational(1, 2) - 1 / (2 * sp.pi),
              "the standard-normal case", at={sigma: 1})
    d.values["sigma"] = sigma

    def ref(fn):
        def reference(sigma):
            from scipy import stats
            return stats.norm(0, sigma).expect(fn)
        return reference

    d.crosscheck("E[ReLU z] by scipy.stats.norm.expect", mean, ref(lambda t: max(t, 0.0)),
                 at={sigma: (0.2, 3.0)}, rtol=1e-7)
    d.crosscheck("E[ReLU(z)²] by scipy.stats.norm.expect", second,
                 ref(lambda t: max(t, 0.0)**2), at={sigma: (0.2, 3.0)}, rtol=1e-7)

    def var_ref(sigma):
        import numpy as np
        from scipy import integrate, stats
        m1 = integrate.quad(lambda t: t * stats.norm.pdf(t, 0, sigma), 0, np.inf)[0]
        m2 = integrate.quad(lambda t: t * t * stats.norm.pdf(t, 0, sigma), 0, np.inf)[0]
        return m2 - m1**2

    d.crosscheck("Var ReLU(z) by scipy.integrate.quad", var, var_ref,
                 at={sigma: (0.2, 3.0)}, rtol=1e-7)


@derivation("relu-second-moment-symmetry", exports=("relu_second_moment_ratio",))
def relu_second_moment_symmetry(d: Derivation) -> None:
    """If z has a density ρ with ρ(−z) = ρ(z), then E[ReLU(z)²] = ½E[z²]. No Gaussian
    assumption: the substitution u = −z maps the negative half line onto the positive one
    (000 §3.3 uses this for He initialisation)."""
    z = d.symbol("z", real=True)
    u = d.symbol("u", real=True)
    rho = sp.Function("rho")
    d.assume("z has a density ρ, an arbitrary (undefined) function with ρ(−z) = ρ(z)")
    d.assume("E[z²] is finite; symmetry makes E z = 0")
    d.convention("ReLU(z) = max(0, z)")
    E = sp.Function("E")
    relu = sp.Max(0, z)

    d.define("E[ReLU(z)²] as an integral", InertIntegral(relu**2 * rho(z), (z, -sp.oo, sp.oo)),
             "", lhs=E(relu**2))
    half = d.apply("only z > 0 contributes", split_integral,
                   "ReLU(z)² = 0 for z ≤ 0: the intervals of the Piecewise form "
                   "(Piecewise.as_expr_set_pairs)")
    split = relu**2 + sp.Max(0, -z)**2
    d.prove("split of z²", z**2, split.rewrite(sp.Piecewise),
            "z² = ReLU(z)² + ReLU(−z)²: every z is either negative or non-negative")
    d.define("E[z²] as an integral", InertIntegral(split * rho(z), (z, -sp.oo, sp.oo)),
             "by the split of z²", lhs=E(z**2))
    d.apply("split at 0", split_integral,
            "additivity of the integral over the negative and the positive half line")

    def substitute(e: sp.Expr) -> sp.Expr:
        return sp.Add(*[t.transform(-z, u) if isinstance(t, sp.Integral)
                        and t.limits[0][2] == 0 else t for t in sp.Add.make_args(e)])

    d.apply("substitute u = −z on the negative half line", substitute,
            "Integral.transform by SymPy")
    d.apply("symmetry ρ(−u) = ρ(u)",
            lambda e: e.xreplace({rho(-u): rho(u)}).xreplace({u: z}),
            "then rename the integration variable u to z; the two halves coincide")
    d.apply("ratio E[ReLU(z)²]/E[z²]", lambda e: half / e, "the half-line integral cancels")
    d.conclude("relu_second_moment_ratio", sp.Rational(1, 2), [],
               "E[ReLU(z)²] = ½E[z²] for every symmetric density", kernel=False)

    b = d.symbol("b", positive=True)

    def ratio(dist_fn):
        def reference(b):
            import numpy as np
            from scipy import integrate
            pdf = dist_fn(b)
            m2 = integrate.quad(lambda t: t * t * pdf(t), -np.inf, np.inf)[0]
            r2 = integrate.quad(lambda t: t * t * pdf(t), 0, np.inf)[0]
            return r2 / m2
        return reference

    def laplace(b):
        from scipy import stats
        return stats.laplace(0, b).pdf

    def student(b):
        from scipy import stats
        return stats.t(5, 0, b).pdf

    def uniform(b):
        from scipy import stats
        return stats.uniform(-b, 2 * b).pdf

    for name, fn in (("Laplace(0, b)", laplace), ("Student t(5) scaled by b", student),
                     ("Uniform(−b, b)", uniform)):
        d.crosscheck(f"ratio for {name} by scipy.integrate.quad", sp.Rational(1, 2) + 0 * b,
                     ratio(fn), at={b: (0.3, 3.0)}, rtol=1e-7)


@derivation("activation-moments",
            exports=("relu_mean", "relu_second_moment", "relu_derivative_second_moment",
                     "elu_mean", "tanh_mean", "tanh_second_moment",
                     "tanh_derivative_second_moment", "relu", "tanh"))
def activation_moments(d: Derivation) -> None:
    """For z ~ N(0, q): E[f(z)], E[f(z)²], E[f'(z)²] by :func:`gaussian_moments`, exact
    where SymPy integrates (ReLU, ELU) and 30-digit mpmath quadrature otherwise (tanh)."""
    x = d.symbol("x", real=True)
    q = d.symbol("q", positive=True)
    d.assume("z ~ N(0, q): density exp(−x²/(2q))/√(2πq); q is the variance")
    d.convention("derivatives at kinks are taken piecewise (a null set under N(0, q)); "
                 "ReLU'(0) = 0")
    E = sp.Function("E")
    phi = sp.exp(-x**2 / (2 * q)) / sp.sqrt(2 * sp.pi * q)
    relu = sp.Max(0, x)
    m = gaussian_moments(relu, x, q)
    labels = {"mean": relu, "second_moment": relu**2,
              "derivative_second_moment": sp.Heaviside(x)**2}
    want = {"mean": sp.sqrt(q) / sp.sqrt(2 * sp.pi), "second_moment": q / 2,
            "derivative_second_moment": sp.Rational(1, 2)}
    for name in MOMENT_NAMES:
        d.define(f"ReLU {name.replace('_', ' ')}",
                 sp.Integral(labels[name] * phi, (x, -sp.oo, sp.oo)),
                 "against the N(0, q) density", lhs=E(labels[name]))
        d.apply("gaussian_moments (exact)", m[name].value,
                "closed-form Gaussian integral of each piece c·xⁿ·e^{ax}, by SymPy")
        d.rewrite("closed form", want[name], "")
        d.conclude(f"relu_{name}", want[name], [q], "", kernel=False)
    sigma = sp.Symbol("sigma", positive=True)
    relu_values = get("relu-moments").values
    d.prove("agrees with relu-moments at σ² = q", m["second_moment"].value,
            relu_values["relu_gaussian_second_moment"].subs(sigma, sp.sqrt(q)), "")

    alpha = d.symbol("alpha", positive=True)
    elu = sp.Piecewise((alpha * (sp.exp(x) - 1), x <= 0), (x, True))
    me = gaussian_moments(elu, x, 1)
    d.define("ELU mean at q = 1", sp.Integral(elu * phi.subs(q, 1), (x, -sp.oo, sp.oo)),
             r"ELU(x) = $\alpha(e^x - 1)$ for x ≤ 0, x otherwise",
             lhs=E(sp.Function("ELU")(x)))
    d.apply("gaussian_moments (exact)", me["mean"].value,
            "closed-form Gaussian integral of each piece, α symbolic")
    elu_mean = d.rewrite("collect",
                         1 / sp.sqrt(2 * sp.pi) - alpha / 2 + alpha * sp.exp(sp.Rational(1, 2))
                         * (1 - sp.erf(1 / sp.sqrt(2))) / 2,
                         r"$E[z; z > 0] = 1/\sqrt{2\pi}$; $E[e^z; z \le 0] = e^{1/2}\Phi(-1)$ "
                         r"by completing the square, "
                         r"$\Phi(-1) = (1 - \mathrm{erf}(1/\sqrt{2}))/2$")
    d.conclude("elu_mean", elu_mean, [alpha], "", kernel=False)

    tanh_integrands = {"mean": sp.tanh(x), "second_moment": sp.tanh(x)**2,
                       "derivative_second_moment": sp.diff(sp.tanh(x), x)**2}
    tanh_values = {}
    for name in MOMENT_NAMES:
        g = tanh_integrands[name]
        d.gaussian_expectation(
            f"tanh {name.replace('_', ' ')} at q = 1 (numerical integration)", g, x,
            variance=1, digits=30, lhs=E(g),
            why="numerical, not symbolic (no closed form): ∫ f(x)φ(x)dx by mpmath, "
                "verified by a second run on halved cells at more working digits")
        if name == "mean":
            d.prove("tanh is odd", sp.tanh(-x), -sp.tanh(x),
                    "so its integral against the even density φ is 0")
            d.rewrite("exactly 0", sp.Integer(0), "an odd integrand against an even "
                      "density (the numerical value agrees)")
        tanh_values[name] = d.current
        d.conclude(f"tanh_{name}", d.current, [], "", kernel=False)
    d.values.update(relu={k: v.value for k, v in m.items()},
                    tanh=tanh_values, elu_mean=elu_mean)

    def quad_moment(fn, q):
        import numpy as np
        from scipy import integrate, stats
        pdf = stats.norm(0, np.sqrt(q)).pdf
        return sum(integrate.quad(lambda t: fn(t) * pdf(t), a, b, epsabs=1e-13,
                                  epsrel=1e-12)[0]
                   for a, b in ((-np.inf, 0), (0, np.inf)))

    refs = {"mean": lambda t: max(t, 0.0), "second_moment": lambda t: max(t, 0.0)**2,
            "derivative_second_moment": lambda t: 1.0 if t > 0 else 0.0}
    for name in MOMENT_NAMES:
        d.crosscheck(f"ReLU {name} by scipy.integrate.quad", want[name],
                     lambda q, fn=refs[name]: quad_moment(fn, q), at={q: (0.2, 4.0)},
                     rtol=1e-8)
    d.crosscheck("ELU mean by scipy.integrate.quad", elu_mean,
                 lambda alpha: quad_moment(
                     lambda t: t if t > 0 else alpha * math.expm1(t), 1.0),
                 at={alpha: (0.5, 2.0)}, rtol=1e-8)
    tanh_refs = {"mean": math.tanh, "second_moment": lambda t: math.tanh(t)**2,
                 "derivative_second_moment": lambda t: (1 - math.tanh(t)**2)**2}
    for name in MOMENT_NAMES:
        d.crosscheck(f"tanh {name} by scipy.integrate.quad", tanh_values[name],
                     lambda fn=tanh_refs[name]: quad_moment(fn, 1.0), at={}, points=1,
                     rtol=1e-9, atol=1e-12)

