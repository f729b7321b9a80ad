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
import math
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
LENGTH_TANH = (sp.Integer(2), sp.Rational(1, 2))
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
                    for a, b in zip(pts, pts[1:]))
        return total / math.sqrt(2 * math.pi)

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


def _first_root(g, lo: float, hi: float) -> float | None:
    """The smallest sign change of g on a geometric grid in [lo, hi], refined by brentq."""
    from scipy import optimize
    grid = [lo * (hi / lo) ** (k / 120) for k in range(121)]
    prev = g(grid[0])
    for a, b in zip(grid, grid[1:]):
        cur = g(b)
        if prev == 0:
            return a
        if prev * cur < 0:
            return optimize.brentq(g, a, b, xtol=1e-16, rtol=1e-15, maxiter=200)
        prev = cur
    return None


def fixed_point(act: Activation, sigma_w2: float, sigma_b2: float, *,
                verify: bool = True) -> Bracketed | None:
    """q* of the length map (the smallest, reached from small q), or None if q grows
    beyond Q_MAX (no fixed point: e.g. ReLU with σ_w² ≥ 2)."""
    def g(q: float) -> float:
        return sigma_w2 * act.float64("T", q) + sigma_b2 - q

    q0 = _first_root(g, 1e-8 if sigma_b2 > 0 else 1e-4, Q_MAX)
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

    q0 = _first_root(g, 1e-8 if sigma_b2 > 0 else 1e-4, Q_MAX)
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


def analyse(act: Activation, sigma_w2: float, sigma_b2: float, *,
            verify: bool = False) -> MeanField:
    """q*, χ₁, the slope of the length map and ξ_q, c*, χ_c and ξ_c at (σ_w², σ_b²)."""
    qb = fixed_point(act, sigma_w2, sigma_b2, verify=verify)
    if qb is None:
        return MeanField(sigma_w2, sigma_b2, None, None, None, None, None, None, None)
    q = qb.value
    chi = sigma_w2 * act.float64("D", q)
    slope = chi + sigma_w2 * act.float64("P", q)
    if chi <= 1:
        c_star, chi_c = 1.0, chi
    else:
        c_star, chi_c = correlation_fixed_point(act, sigma_w2, sigma_b2, q)
    return MeanField(sigma_w2, sigma_b2, qb, chi, slope, _depth(slope), c_star, chi_c,
                     _depth(chi_c))


# ---- derivation helpers -----------------------------------------------------------------
def _hermite(g_np: Any, q: float, order: int = 200) -> float:
    """E[g(√q z)] by Gauss–Hermite quadrature (float64; a starting value only: every root
    built on it is verified by derive.quadrature)."""
    import numpy as np
    t, wt = _nodes(order)
    return float(np.sum(wt * g_np(math.sqrt(q) * t))) / math.sqrt(2 * math.pi)


@functools.lru_cache(maxsize=4)
def _nodes(order: int) -> tuple:
    import numpy as np
    return np.polynomial.hermite_e.hermegauss(order)


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
    (σ_w², σ_b²) = (2, 1/2) by a verified root-find, and without the bias (the foil)."""
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
        for _ in range(400):
            m2 = integrate.quad(lambda t: t * t * math.exp(-t * t / (2 * qq)), 0, math.inf)[0]
            qq = w_ * m2 / math.sqrt(2 * math.pi * qq) + b_
        return qq

    d.crosscheck("ReLU q* by iterating the map (scipy.integrate.quad)", qstar,
                 lambda **kw: relu_iterate(**kw), at={sw: (0.3, 1.2), sb: (0.3, 1.4)},
                 rtol=1e-8, points=3)

    def tanh_root(bias):
        from scipy import integrate, optimize

        def t64(qq):
            h = lambda u: math.tanh(math.sqrt(qq) * u) ** 2 * math.exp(-u * u / 2)  # noqa: E731
            return 2 * integrate.quad(h, 0, math.inf, epsabs=1e-15, epsrel=1e-13)[0] \
                / math.sqrt(2 * math.pi)
        return optimize.brentq(lambda qq: float(w) * t64(qq) + bias - qq, 1e-3, 50,
                               xtol=1e-15, rtol=1e-15)

    d.crosscheck("tanh q* by scipy.optimize.brentq on scipy.integrate.quad", _f(tanh_q),
                 lambda: tanh_root(float(b)), at={}, points=1, rtol=1e-11)
    d.crosscheck("tanh q* without bias by brentq on quad", _f(foil_q),
                 lambda: tanh_root(0.0), at={}, points=1, rtol=1e-10)
