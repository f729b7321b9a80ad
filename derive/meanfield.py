"""Catalog section 14: signal propagation in wide random networks (mean field).

A fully connected network z^{l+1} = W^{l+1}φ(z^l) + b^{l+1}, W_ij ~ N(0, σ_w²/N),
b_i ~ N(0, σ_b²), in the limit of infinite width N (Poole et al. 2016 §2; Schoenholz et al.
2017 §2–3). With z ~ N(0, 1) and E the Gaussian expectation over z:

* length map      q_{l+1} = σ_w² E[φ(√q_l z)²] + σ_b²,        fixed point q*;
* χ₁              χ₁ = σ_w² E[φ'(√q* z)²]  (ordered χ₁ < 1, chaotic χ₁ > 1);
* edge of chaos   χ₁ = 1 at q = q*: σ_w² = 1/E[φ'(√q z)²] where q solves
                  E[φ(√q z)²]/E[φ'(√q z)²] + σ_b² = q (one equation in q);
* depth scales    ξ_q = −1/ln(χ₁ + σ_w² E[φ φ''(√q* z)]),  ξ_c = −1/ln χ_c,
                  χ_c = σ_w² E[φ'(u₁)φ'(u₂)] at the correlation fixed point c*.

Public helpers (used by the derivations below and by ``nnmath activation --meanfield``):
:class:`Activation` (φ, φ', φ'' as float64 and mpmath functions), :func:`fixed_point`,
:func:`edge_of_chaos`, :func:`analyse` (everything for one activation) and
:class:`Bracketed` (a root with a verified enclosure). A root is first found in float64
(``scipy.optimize.brentq`` on ``scipy.integrate.quad``), then *verified*: the defining
function is evaluated at both ends of an interval of relative half-width ``REL`` around
it by derive.quadrature (two runs on halved cells at more digits, error bounded), and the
two values must have opposite signs beyond their error bounds; the root then lies in the
interval (intermediate value theorem; the functions are continuous in q).
"""
from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from functools import partial
from typing import Any

import mpmath
import sympy as sp

from . import quadrature
from .core import Derivation
from .registry import derivation, get

__all__ = ["Activation", "Bracketed", "MeanField", "analyse", "edge_of_chaos",
           "fixed_point"]

DIGITS = 16       # verified digits of each Gaussian integral in a bracket
REL = 1e-11       # relative half-width of a verified bracket
Q_MAX = 1e4       # largest q searched for a fixed point
SOURCE_NOTE = "Poole et al. 2016 §2 (eqs. 3–5); Schoenholz et al. 2017 §3 (eqs. 4–9)"

# configurations of the worked examples and claims (σ_w², σ_b²)
EDGE_SIGMA_B2 = sp.Rational(1, 20)
LENGTH_TANH = (sp.Integer(2), sp.Integer(2))
ORDERED_TANH = (sp.Integer(1), sp.Rational(1, 20))
CHAOTIC_TANH = (sp.Integer(4), sp.Rational(1, 20))


# ---- numerics ---------------------------------------------------------------------------
class Activation:
    """φ, φ', φ'' of a SymPy expression in ``x``; Gaussian expectations of φ², φ'², φφ''
    under N(0, q) in float64 (scipy.integrate.quad) or verified (derive.quadrature)."""

    def __init__(self, f: sp.Expr, x: sp.Symbol):
        from .custom import _kinks
        self.f, self.x = f, x
        self.df = sp.diff(f, x)
        self.d2f = sp.diff(self.df, x)
        self.integrands = {"T": f**2, "D": self.df**2, "P": f * self.d2f}
        self.kinks = [float(k) for k in _kinks(f)]
        self._np: dict = {}
        self._mp: dict = {}

    def _fn(self, which: str, kind: str) -> Any:
        cache = self._np if kind == "np" else self._mp
        if which not in cache:
            modules = ["scipy", "numpy"] if kind == "np" else "mpmath"
            cache[which] = sp.lambdify(self.x, self.integrands[which], modules=modules)
        return cache[which]

    def float64(self, which: str, q: float) -> float:
        """E[g(√q z)] for g = φ² ("T"), φ'² ("D") or φφ'' ("P"), float64 quadrature."""
        import numpy as np
        from scipy import integrate
        g = self._fn(which, "np")
        s = math.sqrt(q)

        def h(z: float) -> float:
            with np.errstate(all="ignore"):
                v = float(g(s * z)) * math.exp(-z * z / 2)
            return v if math.isfinite(v) else 0.0

        cuts = sorted({0.0, *(k / s for k in self.kinks)})
        pts = [-math.inf, *cuts, math.inf]
        total = sum(integrate.quad(h, a, b, epsabs=1e-15, epsrel=1e-13, limit=200)[0]
                    for a, b in itertools.pairwise(pts))
        return total / math.sqrt(2 * math.pi)

    def seed(self, which: str, q: float) -> float:
        """E[g(√q z)] by the trapezoidal rule (:func:`_hermite`): fast, to locate roots."""
        if which not in self._np:
            self._fn(which, "np")
        return _hermite(self._np[which], q)

    def verified(self, which: str, q: float, digits: int = DIGITS) -> quadrature.Verified:
        g = self._fn(which, "mp")
        return quadrature.gaussian_integral(g, q, digits, self.kinks)


@dataclasses.dataclass(frozen=True)
class Bracketed:
    """A root ``value`` with ``lo`` ≤ root ≤ ``hi`` established by verified signs."""

    value: float
    lo: float
    hi: float
    f_lo: float  # the defining function at lo and hi (verified values) and their bounds
    f_hi: float
    err_lo: float
    err_hi: float

    @property
    def error(self) -> float:
        return max(self.value - self.lo, self.hi - self.value)


def _bracket(g64, gver, x0: float) -> Bracketed:
    """Verify a sign change of g around the float64 root x0 (module docstring)."""
    for rel in (REL, 1e-9, 1e-7):
        lo, hi = x0 * (1 - rel), x0 * (1 + rel)
        (vlo, elo), (vhi, ehi) = gver(lo), gver(hi)
        if (vlo - elo > 0 > vhi + ehi) or (vlo + elo < 0 < vhi - ehi):
            return Bracketed(x0, lo, hi, vlo, vhi, elo, ehi)
    raise ArithmeticError(f"the root near {x0:.15g} could not be bracketed by verified "
                          "quadrature")


def _first_root(g, lo: float, hi: float, seed=None) -> float | None:
    """The smallest sign change of g on a geometric grid in [lo, hi], refined by brentq.
    ``seed`` (a cheap approximation of g) locates the cell; g itself decides the signs
    at the cell's ends (widened to the neighbouring cells if needed) and refines."""
    from scipy import optimize
    grid = [lo * (hi / lo) ** (k / 120) for k in range(121)]
    scan = seed or g
    prev = scan(grid[0])
    for k in range(120):
        cur = scan(grid[k + 1])
        if prev == 0 or prev * cur < 0:
            for width in (0, 1, 3):
                a, b = grid[max(k - width, 0)], grid[min(k + 1 + width, 120)]
                ga, gb = g(a), g(b)
                if ga == 0:
                    return a
                if ga * gb < 0:
                    return optimize.brentq(g, a, b, xtol=1e-16, rtol=1e-15, maxiter=200)
        prev = cur
    return None


def fixed_point(act: Activation, sigma_w2: float, sigma_b2: float, *,
                verify: bool = True) -> Bracketed | None:
    """q* of the length map (the smallest, reached from small q), or None if q grows
    beyond Q_MAX (no fixed point: e.g. ReLU with σ_w² ≥ 2)."""
    def g(q: float) -> float:
        return sigma_w2 * act.float64("T", q) + sigma_b2 - q

    def seed(q: float) -> float:
        return sigma_w2 * act.seed("T", q) + sigma_b2 - q

    q0 = _first_root(g, 1e-8 if sigma_b2 > 0 else 1e-4, Q_MAX, seed)
    if q0 is None:
        return None
    if not verify:
        return Bracketed(q0, q0, q0, 0.0, 0.0, 0.0, 0.0)

    def gver(q: float) -> tuple[float, float]:
        r = act.verified("T", q)
        return float(sigma_w2 * r.value + sigma_b2 - mpmath.mpf(q)), sigma_w2 * r.error

    return _bracket(g, gver, q0)


def edge_of_chaos(act: Activation, sigma_b2: float) -> tuple[Bracketed, Bracketed] | None:
    """(q on the edge, σ_w² on the edge) for bias variance σ_b²: q solves
    T(q)/D(q) + σ_b² − q = 0 (T = E φ², D = E φ'²) and σ_w² = 1/D(q); None if there is no
    such q ≤ Q_MAX. The σ_w² enclosure is [1/D(hi), 1/D(lo)] widened by the quadrature
    bounds (1/D is monotone on the bracket's relative width 2·REL: stated)."""
    def g(q: float) -> float:
        return act.float64("T", q) / act.float64("D", q) + sigma_b2 - q

    def seed(q: float) -> float:
        return act.seed("T", q) / act.seed("D", q) + sigma_b2 - q

    q0 = _first_root(g, 1e-8 if sigma_b2 > 0 else 1e-4, Q_MAX, seed)
    if q0 is None:
        return None
    cache: dict = {}

    def gver(q: float) -> tuple[float, float]:
        t, dd = act.verified("T", q), act.verified("D", q)
        cache[q] = dd
        val = t.value / dd.value + sigma_b2 - mpmath.mpf(q)
        err = t.error / dd.value + abs(t.value) * dd.error / dd.value**2 * 1.01
        return float(val), float(err)

    qb = _bracket(g, gver, q0)
    d_lo, d_hi = cache[qb.lo], cache[qb.hi]
    ends = [float(1 / (d.value + s * d.error)) for d in (d_lo, d_hi) for s in (-1, 1)]
    w_mid = float(2 / (d_lo.value + d_hi.value))
    wb = Bracketed(w_mid, min(ends), max(ends), 0.0, 0.0, 0.0, 0.0)
    return qb, wb


@dataclasses.dataclass(frozen=True)
class MeanField:
    """Mean-field quantities of one activation at (σ_w², σ_b²); None where undefined."""

    sigma_w2: float
    sigma_b2: float
    q_star: Bracketed | None
    chi_1: float | None
    slope: float | None        # dq_{l+1}/dq_l at q*: χ₁ + σ_w² E[φφ'']
    xi_q: float | None
    c_star: float | None
    chi_c: float | None
    xi_c: float | None

    @property
    def phase(self) -> str:
        if self.chi_1 is None:
            return "no fixed point"
        if abs(self.chi_1 - 1) < 1e-9:
            return "edge of chaos"
        return "ordered" if self.chi_1 < 1 else "chaotic"


def _depth(x: float | None) -> float | None:
    if x is None or not x > 0:
        return None
    return math.inf if x == 1 else (-1 / math.log(x) if x < 1 else None)


def correlation_fixed_point(act: Activation, sigma_w2: float, sigma_b2: float,
                            q: float, order: int = 80) -> tuple[float, float]:
    """(c*, χ_c) by 2-D Gauss–Hermite quadrature (float64, ``order`` nodes per axis): the
    stable fixed point of c ↦ (σ_w² E[φ(u₁)φ(u₂)] + σ_b²)/q, u₁ = √q z₁,
    u₂ = √q(c z₁ + √(1 − c²) z₂), and χ_c = σ_w² E[φ'(u₁)φ'(u₂)] there."""
    import numpy as np
    z, w = np.polynomial.hermite_e.hermegauss(order)
    w = w / math.sqrt(2 * math.pi)
    f = sp.lambdify(act.x, act.f, modules=["scipy", "numpy"])
    df = sp.lambdify(act.x, act.df, modules=["scipy", "numpy"])
    z1, z2 = np.meshgrid(z, z, indexing="ij")
    ww = np.outer(w, w)

    def ev(fn, c):
        u1 = math.sqrt(q) * z1
        u2 = math.sqrt(q) * (c * z1 + math.sqrt(max(1 - c * c, 0.0)) * z2)
        with np.errstate(all="ignore"):
            return float(np.sum(ww * np.broadcast_to(fn(u1), z1.shape)
                                * np.broadcast_to(fn(u2), z1.shape)))

    c = 0.0
    for _ in range(2000):
        nxt = (sigma_w2 * ev(f, c) + sigma_b2) / q
        if abs(nxt - c) < 1e-14:
            c = nxt
            break
        c = nxt
    return c, sigma_w2 * ev(df, c)


def _length_slope(act: Activation, sigma_w2: float, q: float) -> float:
    """dq_{l+1}/dq_l = σ_w² d/dq E[φ(√q z)²] at q by a central difference of float64
    quadratures (equal to χ₁ + σ_w²E[φφ''] for smooth φ; a difference also covers kinks,
    where φ'' has a Dirac part)."""
    h = 1e-4 * q
    return sigma_w2 * (act.float64("T", q + h) - act.float64("T", q - h)) / (2 * h)


def analyse(act: Activation, sigma_w2: float, sigma_b2: float, *,
            verify: bool = False) -> MeanField:
    """q*, χ₁, the slope of the length map and ξ_q, c*, χ_c and ξ_c at (σ_w², σ_b²)."""
    qb = fixed_point(act, sigma_w2, sigma_b2, verify=verify)
    if qb is None:
        return MeanField(sigma_w2, sigma_b2, None, None, None, None, None, None, None)
    q = qb.value
    chi = sigma_w2 * act.float64("D", q)
    slope = _length_slope(act, sigma_w2, q)
    if chi <= 1:
        c_star, chi_c = 1.0, chi
    else:
        c_star, chi_c = correlation_fixed_point(act, sigma_w2, sigma_b2, q)
    return MeanField(sigma_w2, sigma_b2, qb, chi, slope, _depth(slope), c_star, chi_c,
                     _depth(chi_c))


# ---- derivation helpers -----------------------------------------------------------------
def _affine(a: Any, b: Any) -> Any:
    """e ↦ a + b·e (a step's operation)."""
    def op(e: Any) -> Any:
        return a + b * e
    return op


def _hermite(g_np: Any, q: float) -> float:
    """E[g(√q z)] in float64 by the trapezoidal rule with step 0.01 on |z| ≤ 38 (for an
    integrand analytic in a strip the error falls like e^{−2πd/h}; a starting value only:
    every root built on it is verified by derive.quadrature)."""
    import numpy as np
    t, wt = _nodes()
    with np.errstate(all="ignore"):
        return float(np.sum(wt * g_np(math.sqrt(q) * t)))


@functools.lru_cache(maxsize=1)
def _nodes() -> tuple:
    import numpy as np
    t = np.linspace(-38.0, 38.0, 7601)
    return t, np.exp(-t * t / 2) * (t[1] - t[0]) / math.sqrt(2 * math.pi)


def _bisect(g: Any, lo: float, hi: float) -> float:
    """The root of g in [lo, hi] (g(lo) > 0 > g(hi) or the reverse), to float64 spacing."""
    glo = g(lo)
    if glo * g(hi) > 0:
        raise ArithmeticError(f"no sign change of the map on [{lo}, {hi}]")
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        gm = g(mid)
        if gm == 0:
            return mid
        if (gm > 0) == (glo > 0):
            lo, glo = mid, gm
        else:
            hi = mid
    return (lo + hi) / 2


def _f(value: float, digits: int = 15) -> sp.Float:
    return sp.Float(repr(float(value)), digits)


def _verified_root_steps(d: Derivation, name: str, integrand: sp.Expr, x: sp.Symbol,
                         sigma_w2: Any, sigma_b2: Any, what: str) -> float:
    """Rows: E[g] at both ends of the float64 root's bracket (verified quadrature), the
    sign change, the root. Returns the root (float)."""
    g_np = sp.lambdify(x, integrand, modules="numpy")
    w, b = float(sigma_w2), float(sigma_b2)
    q0 = _bisect(lambda q: w * _hermite(g_np, q) + b - q, 1e-4, 100.0)
    lo, hi = q0 * (1 - REL), q0 * (1 + REL)
    E = sp.Function("E")
    vals = []
    for end, qq in (("lower", lo), ("upper", hi)):
        d.gaussian_expectation(
            f"{what}: E at the {end} end q = {qq:.15g}", integrand, x, variance=qq,
            digits=DIGITS, lhs=E(integrand),
            why="verified numerical integration against N(0, q) (two runs on halved cells "
                "at more working digits agree)")
        vals.append(d.current)
    F = [sigma_w2 * v + sigma_b2 - _f(qq, 17) for v, qq in zip(vals, (lo, hi))]
    tol = sp.Float(10) ** (-DIGITS + 1)
    d.prove_true(f"{what}: sign change", sp.And(F[0] > tol, F[1] < -tol),
                 f"the map minus the identity, σ_w²E[·] + σ_b² − q, is positive at the lower "
                 f"end and negative at the upper end (values {sp.N(F[0], 4)} and "
                 f"{sp.N(F[1], 4)}, each exact to 10^−{DIGITS - 1} by the quadrature "
                 "bound): a root lies between (intermediate value theorem)",
                 shown=sp.And(sp.StrictGreaterThan(sp.Symbol(r"F(q_-)"), 0),
                              sp.StrictLessThan(sp.Symbol(r"F(q_+)"), 0)))
    d.define(f"{what}: the fixed point", _f(q0, 15),
             f"q* ∈ [{lo:.15g}, {hi:.15g}]: |q* − {q0:.13g}| ≤ {q0 * REL:.1e} "
             "(relative 1e-11)", lhs=sp.Symbol(f"q^*_{{{name}}}"))
    return q0


# ---- derivations ------------------------------------------------------------------------
@derivation("meanfield-length",
            exports=("q_map", "relu_q_map", "relu_q_star", "tanh_q_star",
                     "tanh_q_star_no_bias", "tanh_sigma_w2", "tanh_sigma_b2"))
def meanfield_length(d: Derivation) -> None:
    """Length map q_{l+1} = σ_w² E[φ(√q_l z)²] + σ_b² (Poole et al. 2016 eq. 3) and its
    fixed point q*: closed form 2σ_b²/(2 − σ_w²) for ReLU (σ_w² < 2); tanh at
    (σ_w², σ_b²) = (2, 2) by a verified root-find, and without the bias (the foil)."""
    z = d.symbol("z", real=True)
    x = d.symbol("x", real=True)
    q, sw, sb = d.symbols("q sigma_w sigma_b", positive=True)
    sw2, sb2 = sw**2, sb**2
    phi = sp.Function("phi")
    rho = sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi)
    d.assume("a fully connected network z^{l+1}_i = Σ_j W_ij φ(z^l_j) + b_i with "
             "W_ij ~ N(0, σ_w²/N), b_i ~ N(0, σ_b²) independent, in the limit of infinite "
             "width N: each pre-activation z^l_i is N(0, q_l) (central limit theorem over j)")
    d.convention("q_l is the variance (mean square) of one pre-activation of layer l; "
                 "z ~ N(0, 1); σ_w² is the variance of a weight times the fan-in N")
    d.convention(f"source: {SOURCE_NOTE}")
    qn = sp.Symbol("q_{l+1}")
    qmap = sw2 * sp.Integral(phi(sp.sqrt(q) * z)**2 * rho, (z, -sp.oo, sp.oo)) + sb2
    d.define("length map", qmap,
             "given layer l, z^{l+1}_i is a sum of N independent terms W_ij φ(z^l_j) of "
             "variance (σ_w²/N)E[φ(z^l)²], plus b_i; write z^l = √q_l z", lhs=qn)
    d.values["q_map"] = qmap

    d.define("ReLU: E[ReLU(√q z)²]", q * sp.Integral(z**2 * rho, (z, 0, sp.oo)),
             "ReLU(√q z) = 0 for z ≤ 0 and √q z otherwise",
             lhs=sp.Function("E")(sp.Max(0, sp.sqrt(q) * z)**2))
    d.apply("integrate", lambda e: e.doit(), "by SymPy")
    d.rewrite("half of q", q / 2, "")
    relu_map = sw2 * q / 2 + sb2
    d.define("ReLU length map", relu_map, "the length map with E[ReLU(√q z)²] = q/2",
             lhs=qn)
    d.apply("fixed point: solve q = σ_w²q/2 + σ_b²",
            lambda e: sp.solve(sp.Eq(e, q), q)[0], "by SymPy (linear in q)")
    qstar = 2 * sb2 / (2 - sw2)
    d.rewrite("closed form", qstar, "")
    d.conclude("relu_q_star", qstar, [sw, sb],
               "q* > 0 exactly when σ_w² < 2; the map's slope σ_w²/2 < 1 makes it "
               "attracting. At σ_w² ≥ 2 (with σ_b² > 0) q_l grows without bound",
               lhs=sp.Symbol("q^*"), kernel=False)
    d.prove("q* is a fixed point", relu_map.subs(q, qstar), qstar, "substitute")
    d.values["relu_q_map"] = relu_map

    w, b = LENGTH_TANH
    tanh_q = _verified_root_steps(d, "tanh", sp.tanh(x)**2, x, w, b,
                                  f"tanh, σ_w² = {w}, σ_b² = {b}")
    d.conclude("tanh_q_star", _f(tanh_q), [], "tanh's q* by the verified root-find",
               lhs=sp.Symbol("q^*"), kernel=False)
    foil_q = _verified_root_steps(d, "tanh,0", sp.tanh(x)**2, x, w, sp.Integer(0),
                                  f"tanh, σ_w² = {w}, no bias")
    d.conclude("tanh_q_star_no_bias", _f(foil_q), [],
               "the fixed point of the map without σ_b² (the claim's foil): the smallest "
               "positive one (q = 0 is also fixed, unstable since σ_w² > 1)",
               lhs=sp.Symbol("q^*_0"), kernel=False)
    d.values.update(tanh_sigma_w2=w, tanh_sigma_b2=b)

    def relu_iterate(**kw):
        from scipy import integrate
        w_, b_ = kw["sigma_w"] ** 2, kw["sigma_b"] ** 2
        qq = 1.0
        for _ in range(120):
            m2 = integrate.quad(lambda t, v=qq: t * t * math.exp(-t * t / (2 * v)), 0,
                                math.inf)[0]
            qq = w_ * m2 / math.sqrt(2 * math.pi * qq) + b_
        return qq

    d.crosscheck("ReLU q* by iterating the map (scipy.integrate.quad)", qstar,
                 lambda **kw: relu_iterate(**kw), at={sw: (0.3, 1.2), sb: (0.3, 1.4)},
                 rtol=1e-8, points=3)

    def tanh_root(bias):
        from scipy import integrate, optimize

        def t64(qq):
            h = lambda u: math.tanh(math.sqrt(qq) * u) ** 2 * math.exp(-u * u / 2)
            return 2 * integrate.quad(h, 0, math.inf, epsabs=1e-15, epsrel=1e-13)[0] \
                / math.sqrt(2 * math.pi)
        return optimize.brentq(lambda qq: float(w) * t64(qq) + bias - qq, 1e-3, 50,
                               xtol=1e-15, rtol=1e-15)

    d.crosscheck("tanh q* by scipy.optimize.brentq on scipy.integrate.quad", _f(tanh_q),
                 lambda: tanh_root(float(b)), at={}, points=1, rtol=1e-11)
    d.crosscheck("tanh q* without bias by brentq on quad", _f(foil_q),
                 lambda: tanh_root(0.0), at={}, points=1, rtol=1e-10)


def _tanh_root(w: float, b: float) -> float:
    """tanh's q* at (σ_w², σ_b²) in float64 (Gauss–Hermite, bisection): a parameter of the
    rows that use it, not itself verified."""
    t2 = sp.lambdify(sp.Symbol("x"), sp.tanh(sp.Symbol("x"))**2, modules="numpy")
    q0 = _bisect(lambda q: w * _hermite(t2, q) + b - q, 1e-4, 100.0)
    return q0


@derivation("meanfield-chi",
            exports=("chi_1", "relu_chi", "tanh_chi_ordered", "tanh_chi_chaotic",
                     "tanh_q_star_ordered", "tanh_q_star_chaotic", "ordered_sigma_w2",
                     "chaotic_sigma_w2", "chi_sigma_b2", "tanh_edge_q",
                     "tanh_edge_sigma_w2"))
def meanfield_chi(d: Derivation) -> None:
    """χ₁ = σ_w² E[φ'(√q* z)²] (Poole et al. 2016 eq. 7; Schoenholz et al. 2017 eq. 5): the
    factor by which the squared distance of two infinitesimally close inputs grows per
    layer. ReLU: χ₁ = σ_w²/2. tanh at σ_b² = 1/20: χ₁ at σ_w² = 1 (ordered) and 4
    (chaotic), and the edge of chaos χ₁ = 1 by a verified root-find."""
    z = d.symbol("z", real=True)
    x = d.symbol("x", real=True)
    q, sw, _ = d.symbols("q sigma_w sigma_b", positive=True)
    sw2 = sw**2
    phi = sp.Function("phi")
    rho = sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi)
    E = sp.Function("E")
    d.assume("the mean-field network of meanfield-length at its fixed point q*: two "
             "inputs whose pre-activations z, z + δ differ by an infinitesimal δ "
             "independent of W^{l+1}")
    d.convention("χ₁ < 1: ordered phase (nearby inputs converge); χ₁ > 1: chaotic phase "
                 "(they separate); χ₁ = 1: the edge of chaos")
    d.convention(f"source: {SOURCE_NOTE}")
    d.note("perturbation", "z^{l+1} + δ^{l+1} = W(φ(z + δ)) + b, so δ^{l+1} = Wφ'(z)δ to first "
           "order; given layer l, E[(δ^{l+1}_i)²] = σ_w² mean_j φ'(z_j)²δ_j², which tends to "
           "σ_w² E[φ'(√q* z)²]·E[δ²] when δ is independent of z")
    chi = sw2 * sp.Integral(phi(sp.sqrt(q) * z).diff(z)**2 / q * rho, (z, -sp.oo, sp.oo))
    d.define("χ₁", sw2 * sp.Integral(sp.Subs(sp.Derivative(phi(x), x), x, sp.sqrt(q) * z)**2
                                    * rho, (z, -sp.oo, sp.oo)),
             "the growth factor of E[δ²] per layer, at q = q*", lhs=sp.Symbol(r"\chi_1"))
    d.values["chi_1"] = chi
    d.define("ReLU: E[ReLU'(√q z)²]", sp.Integral(rho, (z, 0, sp.oo)),
             "ReLU' = 1 for z > 0 and 0 for z < 0: the probability that z > 0",
             lhs=E(sp.Heaviside(z)**2))
    d.apply("integrate", lambda e: e.doit(), "by SymPy")
    d.define("ReLU χ₁", sw2 * sp.Rational(1, 2), "independent of q*", lhs=sp.Symbol(r"\chi_1"))
    d.conclude("relu_chi", sw2 / 2, [sw], "χ₁ = 1 at σ_w² = 2 (He initialisation) for "
               "every σ_b²", kernel=False, lhs=sp.Symbol(r"\chi_1"))

    tanh_d = (1 - sp.tanh(x)**2)**2
    d.prove("tanh′² = sech⁴", sp.diff(sp.tanh(x), x)**2, tanh_d, "")
    b = float(ORDERED_TANH[1])
    chis = {}
    for name, (w_, b_) in (("ordered", ORDERED_TANH), ("chaotic", CHAOTIC_TANH)):
        qs = _tanh_root(float(w_), float(b_))
        d.define(f"tanh q* at σ_w² = {w_}, σ_b² = {b_}", _f(qs),
                 "the length map's fixed point, float64 root-find (Gauss–Hermite, "
                 "bisection); a parameter of the next row", lhs=sp.Symbol("q^*"))
        d.values[f"tanh_q_star_{name}"] = _f(qs)
        d.gaussian_expectation(f"E[tanh′(√q* z)²] at q* = {qs:.15g}", tanh_d, x,
                               variance=qs, digits=DIGITS, lhs=E(tanh_d))
        d.apply(f"χ₁ = σ_w² E[tanh′²], σ_w² = {w_}", partial(sp.Mul, w_), "")
        chis[name] = d.current
        d.conclude(f"tanh_chi_{name}", d.current, [],
                   f"{name} phase: χ₁ {'<' if name == 'ordered' else '>'} 1",
                   lhs=sp.Symbol(r"\chi_1"), kernel=False)
    d.prove_true("the two phases", sp.And(chis["ordered"] < 1, chis["chaotic"] > 1),
                 "σ_w² = 1 is ordered, σ_w² = 4 chaotic at σ_b² = 1/20")
    d.values.update(ordered_sigma_w2=ORDERED_TANH[0], chaotic_sigma_w2=CHAOTIC_TANH[0],
                    chi_sigma_b2=ORDERED_TANH[1])

    # edge of chaos at σ_b² = 1/20
    sb2 = EDGE_SIGMA_B2
    tanh_t = sp.tanh(x)**2
    d.note("edge of chaos", "χ₁ = 1 and q = σ_w²E[tanh(√q z)²] + σ_b² together: the first "
           "gives σ_w² = 1/E[sech⁴(√q z)]; put into the second, q solves the single "
           "equation G(q) = E[tanh²(√q z)]/E[sech⁴(√q z)] + σ_b² − q = 0")
    t2 = sp.lambdify(x, tanh_t, modules="numpy")
    d4 = sp.lambdify(x, tanh_d, modules="numpy")
    q0 = _bisect(lambda qq: _hermite(t2, qq) / _hermite(d4, qq) + b - qq, 1e-3, 20.0)
    lo, hi = q0 * (1 - REL), q0 * (1 + REL)
    ends = {}
    for end, qq in (("lower", lo), ("upper", hi)):
        tv = d.gaussian_expectation(f"E[tanh²] at the {end} end q = {qq:.15g}", tanh_t, x,
                                    variance=qq, digits=DIGITS, lhs=E(tanh_t))
        dv = d.gaussian_expectation(f"E[sech⁴] at the {end} end q = {qq:.15g}", tanh_d, x,
                                    variance=qq, digits=DIGITS, lhs=E(tanh_d))
        ends[end] = (tv, dv, qq)
    G = {k: tv / dv + sb2 - _f(qq, 17) for k, (tv, dv, qq) in ends.items()}
    tol = sp.Float(10) ** (-DIGITS + 2)
    d.prove_true("sign change of G", sp.And(G["lower"] > tol, G["upper"] < -tol),
                 f"G(q₋) = {sp.N(G['lower'], 4)} > 0 > G(q₊) = {sp.N(G['upper'], 4)}, each "
                 f"exact to 10^−{DIGITS - 2} (quadrature bounds): the edge's q lies in "
                 f"[{lo:.15g}, {hi:.15g}]",
                 shown=sp.And(sp.StrictGreaterThan(sp.Symbol("G(q_-)"), 0),
                              sp.StrictLessThan(sp.Symbol("G(q_+)"), 0)))
    w_lo, w_hi = (1 / ends["lower"][1]), (1 / ends["upper"][1])
    half = abs(w_hi - w_lo) / 2 + sp.Float(10) ** (-DIGITS + 2)
    d.define("the edge's q", _f(q0), f"|q − {q0:.13g}| ≤ {q0 * REL:.1e}",
             lhs=sp.Symbol("q_{edge}"))
    d.conclude("tanh_edge_q", _f(q0), [], "", lhs=sp.Symbol("q_{edge}"), kernel=False)
    w_mid = (w_lo + w_hi) / 2
    d.define("σ_w² on the edge", sp.Float(w_mid, 15),
             f"1/E[sech⁴(√q z)] at the two ends are {sp.N(w_lo, 15)} and {sp.N(w_hi, 15)}; "
             f"σ_w² lies between them (1/E[sech⁴] is monotone on the bracket): "
             f"|σ_w² − {sp.N(w_mid, 13)}| ≤ {sp.N(half, 2)}",
             lhs=sp.Symbol(r"\sigma_{w,edge}^2"))
    d.conclude("tanh_edge_sigma_w2", sp.Float(w_mid, 15), [],
               "Schoenholz et al. 2017 (Fig. 1) draw this curve; ≈ 1.76 at σ_b² = 0.05",
               lhs=sp.Symbol(r"\sigma_{w,edge}^2"), kernel=False)

    def edge_ref():
        from scipy import integrate, optimize

        def e(fn, qq):
            h = lambda u: fn(math.sqrt(qq) * u) * math.exp(-u * u / 2)
            return 2 * integrate.quad(h, 0, math.inf, epsabs=1e-15, epsrel=1e-13)[0] \
                / math.sqrt(2 * math.pi)

        def chi_minus_one(w):  # nested: q*(σ_w²) by brentq, then χ₁ − 1
            qs = optimize.brentq(lambda qq: w * e(lambda u: math.tanh(u)**2, qq) + b - qq,
                                 1e-6, 50, xtol=1e-15)
            return w * e(lambda u: (1 - math.tanh(u)**2)**2, qs) - 1
        return optimize.brentq(chi_minus_one, 1.2, 3.0, xtol=1e-14)

    d.crosscheck("edge σ_w² by brentq on χ₁(σ_w²) − 1 (nested scipy root-finds)",
                 sp.Float(w_mid, 15), edge_ref, at={}, points=1, rtol=1e-9)

    def chi_ref(w_, b_):
        from scipy import integrate, optimize

        def e(fn, qq):
            h = lambda u: fn(math.sqrt(qq) * u) * math.exp(-u * u / 2)
            return 2 * integrate.quad(h, 0, math.inf, epsabs=1e-15, epsrel=1e-13)[0] \
                / math.sqrt(2 * math.pi)
        qs = optimize.brentq(lambda qq: w_ * e(lambda u: math.tanh(u)**2, qq) + b_ - qq,
                             1e-6, 50, xtol=1e-15)
        return w_ * e(lambda u: (1 - math.tanh(u)**2)**2, qs)

    for name, (w_, b_) in (("ordered", ORDERED_TANH), ("chaotic", CHAOTIC_TANH)):
        d.crosscheck(f"χ₁ ({name}) by scipy.integrate.quad", chis[name],
                     lambda w_=w_, b_=b_: chi_ref(float(w_), float(b_)), at={}, points=1,
                     rtol=1e-10)

    def relu_chi_ref(sigma_w):
        import numpy as np
        rng = np.random.default_rng(0)
        u = rng.standard_normal(2_000_000)
        return sigma_w**2 * float(np.mean(u > 0))

    d.crosscheck("ReLU χ₁ by Monte Carlo (2·10⁶ draws)", sw2 / 2, relu_chi_ref,
                 at={sw: (0.5, 2.0)}, rtol=3e-3, points=2)


@derivation("arccos-kernel",
            exports=("relu_gaussian_product", "relu_step_product", "arccos_kernel",
                     "relu_ntk"))
def arccos_kernel(d: Derivation) -> None:
    """E[ReLU(w·x)ReLU(w·y)] = ‖x‖‖y‖(sin θ + (π − θ)cos θ)/(2π), w ~ N(0, I) (Cho & Saul
    2009 eq. 6, degree n = 1, whose k₁ = 2·this); the NNGP kernel of one hidden ReLU layer
    with read-out variance σ_w² is σ_w² times it; E[Θ(w·x)Θ(w·y)] = (π − θ)/(2π) (degree 0).
    NTK of f(x) = n^{-1/2}Σ_j v_j ReLU(w_j·x), w_j ~ N(0, I), v_j ~ N(0, 1) (Jacot et al.
    2018): Θ(x, y) = E[ReLU ReLU] + (x·y)E[Θ Θ]."""
    r, a = d.symbols("r alpha", real=True)
    theta = d.symbol("theta", positive=True)
    nx, ny, sw = d.symbols("n_x n_y sigma_w", positive=True)
    c = d.symbol("c", real=True)
    E = sp.Function("E")
    d.assume("w ~ N(0, I_d); x, y ≠ 0 with angle θ ∈ (0, π), ‖x‖ = n_x, ‖y‖ = n_y")
    d.convention("θ = arccos(x·y/(‖x‖‖y‖)); c = cos θ; Cho & Saul's k₁ is 2× the "
                 "expectation here (their definition has a factor 2)")
    d.convention("source: Cho & Saul 2009 §2.1 (eq. 6); Jacot et al. 2018 §4 (two-layer "
                 "case)")
    d.note("reduction to the plane", "w·x and w·y depend only on the projection of w on "
           "span(x, y), a standard Gaussian in 2-D: take x = n_x(1, 0), y = n_y(cos θ, "
           "sin θ), w = r(cos α, sin α); both products are positive exactly for "
           "α ∈ (θ − π/2, π/2)")
    d.define("radial part", sp.Integral(r**3 * sp.exp(-r**2 / 2) / (2 * sp.pi), (r, 0, sp.oo)),
             "r²·(density r e^{−r²/2}/(2π) in polar coordinates)", lhs=sp.Symbol("R_1"))
    d.apply("integrate", lambda e: e.doit(), "by SymPy")
    radial = d.current
    d.define("angular part", sp.Integral(sp.cos(a) * sp.cos(a - theta),
                                         (a, theta - sp.pi / 2, sp.pi / 2)),
             "cos α · cos(α − θ) over the wedge", lhs=sp.Symbol("A_1"))
    d.apply("integrate", lambda e: e.doit(), "by SymPy")
    d.rewrite("collect", (sp.sin(theta) + (sp.pi - theta) * sp.cos(theta)) / 2, "")
    angular = d.current
    prod = nx * ny * (sp.sin(theta) + (sp.pi - theta) * sp.cos(theta)) / (2 * sp.pi)
    d.define("E[ReLU(w·x)ReLU(w·y)]", nx * ny * radial * angular, "n_x n_y R₁ A₁",
             lhs=E(sp.Symbol(r"\mathrm{ReLU}(w^\top x)\mathrm{ReLU}(w^\top y)")))
    d.rewrite("arc-cosine form", prod, "")
    d.values["relu_gaussian_product"] = prod
    d.prove("θ = 0: half the squared norm", prod.subs({theta: 0, ny: nx}), nx**2 / 2,
            "E[ReLU(w·x)²] = ‖x‖²/2, as in meanfield-length")
    d.define("NNGP kernel", sw**2 * prod, "read-out weights of variance σ_w²/n over n "
             "units: k(x, y) = σ_w² E[ReLU(w·x)ReLU(w·y)]", lhs=sp.Symbol("k(x,y)"))
    kern = sw**2 * nx * ny * (sp.sqrt(1 - c**2) + c * sp.acos(-c)) / (2 * sp.pi)
    d.rewrite("in c = cos θ", kern, "sin θ = √(1 − c²) on (0, π) and π − arccos c = "
              "arccos(−c) (no cancellation near c = 1)", at={theta: sp.acos(c)},
              domain={c: (-1, 1)})
    d.conclude("arccos_kernel", kern, [c, nx, ny, sw],
               "the kernel as a function of c, n_x, n_y (elementwise in c)",
               lhs=sp.Symbol("k(x,y)"))

    d.define("radial part, degree 0", sp.Integral(r * sp.exp(-r**2 / 2) / (2 * sp.pi),
                                                  (r, 0, sp.oo)),
             "the step functions carry no factor r", lhs=sp.Symbol("R_0"))
    d.apply("integrate", lambda e: e.doit(), "by SymPy")
    step = d.current * (sp.pi - theta)
    d.define("E[Θ(w·x)Θ(w·y)]", step, "R₀ times the wedge's angle π − θ",
             lhs=E(sp.Symbol(r"\Theta(w^\top x)\Theta(w^\top y)")))
    d.rewrite("degree 0", (sp.pi - theta) / (2 * sp.pi), "")
    d.values["relu_step_product"] = (sp.pi - theta) / (2 * sp.pi)
    ntk = prod + nx * ny * sp.cos(theta) * (sp.pi - theta) / (2 * sp.pi)
    d.define("NTK", ntk, "Θ = Σ_j (∂f/∂v_j)² + Σ_j ∂f/∂w_j·∂f/∂w_j over the n units: "
             "(1/n)Σ_j ReLU(w_j·x)ReLU(w_j·y) + (1/n)Σ_j v_j²(x·y)Θ(w_j·x)Θ(w_j·y), "
             "whose limit is E[ReLU ReLU] + (x·y)E[ΘΘ] with x·y = n_x n_y cos θ",
             lhs=sp.Symbol(r"\Theta(x,y)"))
    ntk_c = nx * ny * (sp.sqrt(1 - c**2) + 2 * c * sp.acos(-c)) / (2 * sp.pi)
    d.rewrite("in c = cos θ", ntk_c, "", at={theta: sp.acos(c)}, domain={c: (-1, 1)})
    d.conclude("relu_ntk", ntk_c, [c, nx, ny], "elementwise in c",
               lhs=sp.Symbol(r"\Theta(x,y)"))

    def mc(kind):
        def reference(theta, n_x, n_y, sigma_w=1.0):
            from scipy import integrate
            cx, sx = math.cos(theta), math.sin(theta)

            def inner(al):
                u, v = n_x * math.cos(al), n_y * (cx * math.cos(al) + sx * math.sin(al))
                if kind == "k":
                    return max(u, 0) * max(v, 0) * 2 / (2 * math.pi)
                return (max(u, 0) * max(v, 0) * 2
                        + n_x * n_y * cx * (u > 0) * (v > 0)) / (2 * math.pi)
            val = integrate.quad(inner, -math.pi, math.pi, points=[theta - math.pi / 2,
                                                                   math.pi / 2], limit=200)
            return sigma_w**2 * val[0]
        return reference

    d.crosscheck("kernel by scipy.integrate.quad over the angle (radial moment 2)",
                 sw**2 * prod, mc("k"),
                 at={theta: (0.1, 3.0), nx: (0.5, 2.0), ny: (0.5, 2.0), sw: (0.5, 2.0)},
                 rtol=1e-8)
    d.crosscheck("NTK by scipy.integrate.quad over the angle", ntk, mc("ntk"),
                 at={theta: (0.1, 3.0), nx: (0.5, 2.0), ny: (0.5, 2.0)}, rtol=1e-8)


@derivation("meanfield-depth-scales",
            exports=("relu_c_map", "relu_chi_c", "relu_xi_c", "tanh_length_slope",
                     "tanh_xi_q_ordered", "tanh_xi_c_ordered"))
def meanfield_depth_scales(d: Derivation) -> None:
    """Correlation map c_{l+1} = (σ_w² E[φ(u₁)φ(u₂)] + σ_b²)/q* (Poole et al. 2016 eq. 5),
    its slope χ_c at the fixed point c*, and the depth scales of Schoenholz et al. 2017
    (eqs. 7–9): |q_l − q*| ~ e^{−l/ξ_q}, |c_l − c*| ~ e^{−l/ξ_c}, with
    ξ_q = −1/ln(χ₁ + σ_w² E[φφ''(√q* z)]) and ξ_c = −1/ln χ_c; at c* = 1, χ_c = χ₁, so ξ_c
    diverges at the edge of chaos. ReLU in closed form (through arccos-kernel); tanh
    by verified quadrature."""
    c = d.symbol("c", real=True)
    x = d.symbol("x", real=True)
    sw, sb = d.symbols("sigma_w sigma_b", positive=True)
    sw2, sb2 = sw**2, sb**2
    d.assume("the mean-field network of meanfield-length at its length fixed point q*; two "
             "inputs with pre-activation correlation c, i.e. (u₁, u₂) = √q*(z₁, c z₁ + "
             "√(1 − c²) z₂)")
    d.convention("ξ is measured in layers; ξ = ∞ means slower than exponential (a power "
                 "law)")
    d.convention(f"source: {SOURCE_NOTE}")
    qs = 2 * sb2 / (2 - sw2)
    prod = get("arccos-kernel").values["relu_gaussian_product"]
    th, nx, ny = (next(s for s in prod.free_symbols if s.name == n)
                  for n in ("theta", "n_x", "n_y"))
    kernel_q = prod.subs({nx: sp.sqrt(qs), ny: sp.sqrt(qs), th: sp.acos(c)})
    d.define("ReLU correlation map", (sw2 * kernel_q + sb2) / qs,
             "E[ReLU(u₁)ReLU(u₂)] from arccos-kernel with ‖x‖ = ‖y‖ = √q*, cos θ = c; "
             "q* = 2σ_b²/(2 − σ_w²) from meanfield-length", lhs=sp.Symbol("c_{l+1}"))
    cmap = d.current
    d.values["relu_c_map"] = cmap
    d.prove("c* = 1 is fixed", cmap.subs(c, 1), sp.Integer(1),
            "identical inputs stay identical")
    d.apply("slope χ_c = dc_{l+1}/dc", lambda e: sp.diff(e, c), "by SymPy")
    d.apply("at c → 1⁻", lambda e: sp.limit(e, c, 1, "-"), "by SymPy (limit)")
    d.rewrite("χ_c = χ₁", sw2 / 2, "the same factor as χ₁ of meanfield-chi")
    d.conclude("relu_chi_c", sw2 / 2, [sw], "", lhs=sp.Symbol(r"\chi_c"), kernel=False)
    xi = -1 / sp.log(sw2 / 2)
    d.define("ξ_c", xi, "c_l − 1 shrinks by χ_c per layer", lhs=sp.Symbol(r"\xi_c"))
    d.conclude("relu_xi_c", xi, [sw], "", lhs=sp.Symbol(r"\xi_c"), kernel=False)
    d.prove_true("ξ_c diverges at the edge", sp.Eq(sp.limit(xi, sw, sp.sqrt(2), "-"), sp.oo),
                 "as σ_w² → 2⁻ (χ₁ → 1)",
                 shown=sp.Eq(sp.Limit(xi, sw, sp.sqrt(2), "-"), sp.oo))
    d.note("ReLU ξ_q", "the ReLU length map is linear with slope σ_w²/2 (meanfield-length): "
           "ξ_q = ξ_c")

    # tanh: slope of the length map by Stein's lemma
    d.note("slope of the length map", "d/dq σ_w²E[φ(√q z)²] = σ_w²E[zφφ'(√q z)]/√q = "
           "σ_w²E[φ'² + φφ''] (Gaussian integration by parts E[z g(z)] = E[g'(z)]), so "
           "the slope at q* is χ₁ + σ_w²E[φφ''(√q* z)]")
    tanh = sp.tanh(x)
    pp = tanh * sp.diff(tanh, x, 2)
    E = sp.Function("E")
    lengths = get("meanfield-length").values
    chis = get("meanfield-chi").values
    slopes = {}
    for name, (w_, b_), qstar in (
            ("length", LENGTH_TANH, lengths["tanh_q_star"]),
            ("ordered", ORDERED_TANH, chis["tanh_q_star_ordered"])):
        qf = float(qstar)
        chi = (chis["tanh_chi_ordered"] if name == "ordered" else
               w_ * d.gaussian_expectation(
                   f"E[tanh′²] at q* = {qf:.15g} (σ_w² = {w_}, σ_b² = {b_})",
                   (1 - tanh**2)**2, x, variance=qf, digits=DIGITS, lhs=E((1 - tanh**2)**2)))
        d.gaussian_expectation(f"E[tanh·tanh′′] at q* = {qf:.15g} (σ_w² = {w_}, "
                                    f"σ_b² = {b_})", pp, x, variance=qf, digits=DIGITS,
                                    lhs=E(pp))
        d.apply(f"slope χ₁ + σ_w²E[φφ′′] at σ_w² = {w_}", _affine(chi, w_),
                f"χ₁ = {sp.N(chi, 12)}")
        slopes[name] = d.current
        if name == "length":
            d.conclude("tanh_length_slope", slopes["length"], [],
                       "at meanfield-length's tanh configuration: errors of q shrink by "
                       "this factor per layer", kernel=False, lhs=sp.Symbol("s"))
    d.define("ξ_q (ordered tanh)", -1 / sp.log(slopes["ordered"]), "",
             lhs=sp.Symbol(r"\xi_q"))
    d.apply("evaluate", lambda e: sp.N(e, 15), "")
    d.conclude("tanh_xi_q_ordered", d.current, [], "σ_w² = 1, σ_b² = 1/20", kernel=False,
               lhs=sp.Symbol(r"\xi_q"))
    d.define("ξ_c (ordered tanh)", -1 / sp.log(chis["tanh_chi_ordered"]),
             "c* = 1 in the ordered phase, so χ_c = χ₁", lhs=sp.Symbol(r"\xi_c"))
    d.apply("evaluate", lambda e: sp.N(e, 15), "")
    d.conclude("tanh_xi_c_ordered", d.current, [], "σ_w² = 1, σ_b² = 1/20", kernel=False,
               lhs=sp.Symbol(r"\xi_c"))

    def cmap_slope(sigma_w, sigma_b):
        h = 1e-6
        f = sp.lambdify([c, sw, sb], cmap, modules="math")
        return (f(1.0, sigma_w, sigma_b) - f(1.0 - h, sigma_w, sigma_b)) / h

    d.crosscheck("ReLU χ_c by a one-sided difference of the correlation map", sw2 / 2,
                 cmap_slope, at={sw: (0.5, 1.3), sb: (0.3, 1.0)}, rtol=1e-3, points=3)

    def slope_ref(w_, b_, qstar):
        from scipy import integrate

        def qmap(qq):
            h_ = lambda u: math.tanh(math.sqrt(qq) * u)**2 * math.exp(-u * u / 2)
            return w_ * 2 * integrate.quad(h_, 0, math.inf, epsabs=1e-15, epsrel=1e-13)[0] \
                / math.sqrt(2 * math.pi) + b_
        hh = 1e-5 * qstar
        return (qmap(qstar + hh) - qmap(qstar - hh)) / (2 * hh)

    d.crosscheck("tanh length-map slope by central differences of the map (scipy quad)",
                 slopes["length"],
                 lambda: slope_ref(float(LENGTH_TANH[0]), float(LENGTH_TANH[1]),
                                   float(lengths["tanh_q_star"])),
                 at={}, points=1, rtol=1e-6)


# ---- any activation (nnmath activation EXPR --meanfield) --------------------------------
@dataclasses.dataclass(frozen=True)
class MeanFieldReport:
    """The mean-field analysis of one activation at bias variance σ_b² (see :func:`report`).

    ``edge_q``/``edge_sigma_w2``: the edge of chaos (verified brackets), None when the
    equation has no root with q ≤ Q_MAX; for a positively homogeneous φ (ReLU-like) the
    edge is σ_w² = 1/E[φ'(z)²] with q* = ∞ when σ_b² > 0 (``homogeneous``).
    ``rows``: :class:`MeanField` at each σ_w² asked for, and at the edge."""

    expression: sp.Expr
    sigma_b2: float
    homogeneous: bool
    edge_q: Bracketed | None
    edge_sigma_w2: Bracketed | None
    rows: tuple
    notes: tuple = ()


def _homogeneous(act: Activation) -> bool:
    """φ(λx) = λφ(x) for λ > 0, checked at 21 points and λ = 2, 3 (float64)."""
    import numpy as np
    f = sp.lambdify(act.x, act.f, modules=["scipy", "numpy"])
    t = np.linspace(-3.0, 3.0, 21)
    with np.errstate(all="ignore"):
        ok = all(np.allclose(np.asarray(f(lam * t), dtype=float) * np.ones_like(t),
                             lam * np.asarray(f(t), dtype=float) * np.ones_like(t),
                             rtol=1e-12, atol=1e-12) for lam in (2.0, 3.0))
    return bool(ok)


def report(f: sp.Expr, x: sp.Symbol, sigma_b2: float,
           sigma_w2s: tuple = (1.0, 2.0)) -> MeanFieldReport:
    """q*, χ₁, the length-map slope and ξ_q, c*, χ_c and ξ_c at each σ_w² of ``sigma_w2s``
    (float64 quadrature; q* by bisection and brentq) and the edge of chaos for
    ``sigma_b2`` (verified brackets, :func:`edge_of_chaos`), for the activation φ = f(x)."""
    act = Activation(f, x)
    notes = []
    homogeneous = _homogeneous(act)
    edge = edge_of_chaos(act, sigma_b2)
    edge_q = edge_w = None
    if edge is not None:
        edge_q, edge_w = edge
    elif homogeneous:
        d1 = act.verified("D", 1.0)
        w = float(1 / d1.value)
        err = float(d1.error / d1.value**2) * 1.01 + abs(w) * 1e-15
        edge_w = Bracketed(w, w - err, w + err, 0.0, 0.0, 0.0, 0.0)
        notes.append("φ is positively homogeneous (φ(λx) = λφ(x), λ > 0): E[φ'(√q z)²] "
                     "does not depend on q, so χ₁ = 1 at σ_w² = 1/E[φ'(z)²] for every q; "
                     + ("with σ_b² > 0 the length map has no fixed point there (q* = ∞)"
                        if sigma_b2 > 0 else "with σ_b² = 0 every q is fixed there"))
    else:
        notes.append(f"no edge of chaos with q ≤ {Q_MAX:g}: E[φ(√q z)²]/E[φ'(√q z)²] + "
                     "σ_b² − q has no sign change")
    rows = [analyse(act, float(w), sigma_b2) for w in sigma_w2s]
    if edge_w is not None and edge_q is not None:
        at_edge = analyse(act, edge_w.value, sigma_b2)
        rows.append(at_edge)
        first = at_edge.q_star.value if at_edge.q_star is not None else None
        slope = _length_slope(act, edge_w.value, edge_q.value)
        if first is None or abs(first - edge_q.value) > 1e-6 * edge_q.value or slope > 1:
            notes.append(f"the χ₁ = 1 solution q = {edge_q.value:.10g} is NOT the attracting "
                         f"fixed point of the length map at σ_w² = {edge_w.value:.10g} "
                         f"(slope there {slope:.6g}; the fixed point reached from small q "
                         f"is {'none' if first is None else f'{first:.10g}'}): no edge of "
                         "chaos at an attracting fixed point for this σ_b²")
    if any(r.chi_1 is not None and r.chi_1 > 1 for r in rows):
        notes.append("chaotic rows: c* < 1 and χ_c by 80×80-node Gauss–Hermite quadrature "
                     "of the correlation map (float64, not verified)")
    return MeanFieldReport(f, sigma_b2, homogeneous, edge_q, edge_w, tuple(rows),
                           tuple(notes))


@derivation("activation-meanfield",
            exports=("tanh_edge_sigma_w2", "mish_edge_sigma_w2", "mish_edge_q",
                     "mish_sigma_b2", "mish_derivative_at_0"))
def activation_meanfield(d: Derivation) -> None:
    """The general procedure of :func:`report` (what ``nnmath activation EXPR --meanfield``
    runs; on tanh it is meanfield-chi's, compared in tests/test_meanfield.py) applied to Mish
    φ(x) = x·tanh(softplus x) at σ_b² = 1/20: the edge of chaos by a verified bracket."""
    x = d.symbol("x", real=True)
    d.assume("the mean-field network of meanfield-length; φ given as a SymPy expression "
             "(from derive.safe_parse for text), with finite Gaussian moments")
    d.convention("the edge of chaos for σ_b² solves E[φ(√q z)²]/E[φ'(√q z)²] + σ_b² = q, "
                 "σ_w² = 1/E[φ'(√q z)²] (meanfield-chi)")
    d.convention(f"source: {SOURCE_NOTE}")
    sb2 = float(EDGE_SIGMA_B2)
    ref = get("meanfield-chi").values["tanh_edge_sigma_w2"]
    d.note("tanh", f"for φ = tanh the procedure is meanfield-chi's, which gives σ_w² = "
           f"{sp.N(ref, 12)} at σ_b² = 1/20 (tests/test_meanfield.py runs the general code "
           "on tanh and compares)")
    d.values["tanh_edge_sigma_w2"] = ref
    mish = x * sp.tanh(sp.log(1 + sp.exp(x)))
    m_edge = edge_of_chaos(Activation(mish, x), sb2)
    assert m_edge is not None
    mq, mw = m_edge
    d.define("Mish: the edge's q", _f(mq.value),
             f"the sign of E[φ²]/E[φ'²] + σ_b² − q changes on [{mq.lo:.15g}, {mq.hi:.15g}] "
             f"(values {mq.f_lo:.3e} ± {mq.err_lo:.0e} and {mq.f_hi:.3e} ± {mq.err_hi:.0e}, "
             "verified quadrature)", lhs=sp.Symbol("q_{edge}"))
    d.conclude("mish_edge_q", _f(mq.value), [], "", kernel=False, lhs=sp.Symbol("q_{edge}"))
    d.define("Mish: σ_w² on the edge", _f(mw.value),
             f"σ_w² ∈ [{mw.lo:.15g}, {mw.hi:.15g}]: |σ_w² − {mw.value:.12g}| ≤ "
             f"{mw.error:.1e}", lhs=sp.Symbol(r"\sigma_{w,edge}^2"))
    d.conclude("mish_edge_sigma_w2", _f(mw.value), [], "φ(x) = x tanh(log(1 + eˣ)), "
               "σ_b² = 1/20", kernel=False, lhs=sp.Symbol(r"\sigma_{w,edge}^2"))
    d.values["mish_sigma_b2"] = EDGE_SIGMA_B2
    E = sp.Function("E")
    pp = mish * sp.diff(mish, x, 2)
    act = Activation(mish, x)
    p_mq = act.verified("P", mq.value)
    d_mq = 1 / mw.value
    slope = mw.value * (d_mq + float(p_mq.value))
    d.define("Mish: slope of the length map at the edge's q",
             _f(slope, 12), f"χ₁ + σ_w²E[φφ′′] with E[φφ′′] = {float(p_mq.value):.12g} "
             f"(verified quadrature, |error| ≤ {p_mq.error:.0e}) and χ₁ = 1",
             lhs=sp.Symbol("s"))
    d.prove_true("the edge's fixed point repels", _f(slope, 12) > 1,
                 "slope > 1: q = q_edge is an UNSTABLE fixed point of the length map; the "
                 "attracting one at this σ_w² is smaller (≈ 0.48, where χ₁ ≈ 0.94), and it "
                 "disappears near σ_w² ≈ 2.11 (saddle-node) while χ₁ < 1 there: at σ_b² = "
                 "1/20 Mish has no edge of chaos at an attracting fixed point; "
                 "a network started at q_edge stays critical only while q stays near it",
                 shown=sp.StrictGreaterThan(sp.Symbol("s"), 1))
    del E, pp
    d.define("Mish′(0)", sp.diff(mish, x).subs(x, 0), "(a foil of the claim: χ₁ taken at "
             "q = 0, the fixed point of the map without σ_b², is σ_w² Mish′(0)²)",
             lhs=sp.Symbol(r"\varphi'(0)"))
    d.apply("simplify", lambda e: sp.nsimplify(sp.simplify(e)), "tanh(log 2) = 3/5")
    d.conclude("mish_derivative_at_0", sp.Rational(3, 5), [], "", kernel=False,
               lhs=sp.Symbol(r"\varphi'(0)"))

    def mish_ref():
        from scipy import integrate, optimize

        def mish_np(u):
            return u * math.tanh(math.log1p(math.exp(-abs(u))) + max(u, 0.0))

        def dmish(u, h=1e-5):
            return (mish_np(u + h) - mish_np(u - h)) / (2 * h)

        def e(fn, qq):
            h_ = lambda u: fn(math.sqrt(qq) * u) * math.exp(-u * u / 2)
            return sum(integrate.quad(h_, a, b, epsabs=1e-14, epsrel=1e-12)[0]
                       for a, b in ((-math.inf, 0), (0, math.inf))) / math.sqrt(2 * math.pi)

        def g(qq):  # E[φ²]/E[φ'²] + σ_b² − q
            return e(lambda u: mish_np(u)**2, qq) / e(lambda u: dmish(u)**2, qq) + sb2 - qq
        qe = optimize.brentq(g, 0.7, 1.2, xtol=1e-14)
        return 1 / e(lambda u: dmish(u)**2, qe)

    d.crosscheck("Mish edge σ_w² by brentq on the edge equation (scipy.integrate.quad, φ' "
                 "by central differences)", _f(mw.value), mish_ref, at={}, points=1,
                 rtol=1e-7)


def analyse_text(text: str, sigma_b2: float, sigma_w2s: tuple = (1.0, 2.0), *,
                 max_seconds: float = 60.0, max_memory: int | None = None) -> MeanFieldReport:
    """:func:`report` for the activation written in ``text`` (parsed by derive.safe_parse;
    refused text raises UnsafeExpression before anything is evaluated), under the time and
    memory limits of ``nnmath activation`` (derive.custom). An activation whose integrals
    cannot be computed or verified raises ActivationRefused (AnalysisTimeout for time)."""
    from .admissible import ActivationRefused
    from .custom import MAX_MEMORY, _Clock, _memory_limit
    from .safe_parse import X, parse_activation
    f = parse_activation(text)
    if not (math.isfinite(sigma_b2) and sigma_b2 >= 0):
        raise ValueError(f"σ_b² must be a finite number ≥ 0, got {sigma_b2}")
    for w in sigma_w2s:
        if not (math.isfinite(w) and w > 0):
            raise ValueError(f"σ_w² must be a finite positive number, got {w}")
    if f.free_symbols - {X}:
        raise ActivationRefused(f"f = {sp.sstr(f)} has symbols other than x")
    clock = _Clock(0.0, float(max_seconds))
    try:
        with _memory_limit(max_memory or MAX_MEMORY):
            return clock.required("the mean-field analysis",
                                  lambda: report(f, X, float(sigma_b2), tuple(sigma_w2s)))
    except MemoryError:
        raise ActivationRefused(f"the mean-field analysis of f = {sp.sstr(f)} needs more "
                                "memory than the limit") from None
    except (quadrature.QuadratureError, ArithmeticError, OverflowError, TypeError) as exc:
        raise ActivationRefused(f"the mean-field integrals of f = {sp.sstr(f)} could not be "
                                f"computed reliably: {exc}") from None
