"""Can a user's activation be analysed: is it real and finite on ℝ, do its moments exist?

Run by :mod:`derive.custom` before any moment is computed. A failed check raises
:class:`ActivationRefused` with a one-line reason about the EXPRESSION (not about the
library that noticed it).

Domain. Every part of f that needs a sign must have it for every real x: b**p with a
constant non-integer p needs b ≥ 0 (b > 0 when p < 0); b**(negative integer), and so
division, needs b ≠ 0; b**(an expression in x) needs b > 0; log(a) needs a > 0. Each is
decided by SymPy's assumptions (x is real), else refuted by a scan of b on a grid of
[−20, 20] and out to ±10⁶ (a violating point, or a sign change for b ≠ 0), else by
``sympy.solveset`` for the real zeros of b (none: proved; one: refuted there), else
accepted on the scan's evidence with a note.

Growth. L± = lim_{x→±∞} log|g(x)|/x², by ``sympy.limit`` of log(g²)/(2x²) on the tail
(x = ±t, t > 0), else numerically: the largest log|g|/x² over 41 points of
[1000, 1010] (and [−1010, −1000]). For z ~ N(0, v) (v the VARIANCE),
E|g(z)|^p = ∫ |g|^p e^{−x²/(2v)} dx/√(2πv) is finite when p·L < 1/(2v) on both sides and
infinite when p·L > 1/(2v); at equality it is finite iff x²|g|^p e^{−x²/(2v)} → 0 on that
side (comparison with ∫dx/x²; SymPy decides the limit, else the case is refused as
undecided). A numerical L is trusted only 0.02 away from the threshold.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import sympy as sp

from .safe_parse import X, UnsafeExpression

__all__ = ["ActivationRefused", "check_domain", "growth", "moment_exists"]

Within = Callable[[str, Callable[[], Any], float], Any]  # (what, fn, seconds) -> value|None
_T = sp.Symbol("t", positive=True)
NUMERIC_AT = 1000.0
MARGIN = 0.02


class ActivationRefused(UnsafeExpression):
    """A valid expression that nnmath cannot analyse (not real or not finite for some
    real x, moments that do not exist, or limits of time, memory or accuracy reached)."""


# ---- domain ----------------------------------------------------------------------------
def _conditions(f: sp.Expr) -> list[tuple[sp.Expr, str, sp.Expr]]:
    """(b, condition, the part of f that needs it), condition one of '>0', '>=0', '!=0'."""
    out = []
    for node in sp.preorder_traversal(f):
        if isinstance(node, sp.Pow):
            b, p = node.base, node.exp
            if X not in b.free_symbols:
                if X in p.free_symbols and not (b.is_positive or b == sp.E):
                    raise ActivationRefused(f"{sp.sstr(node)} is not real for most x: a "
                                            "power with exponent in x needs a positive base")
                continue
            if X in p.free_symbols:
                out.append((b, ">0", node))
            elif p.is_integer:
                if p.is_negative:
                    out.append((b, "!=0", node))
            else:
                out.append((b, ">0" if p.is_negative else ">=0", node))
        elif isinstance(node, sp.log):
            out.append((node.args[0], ">0", node))
    return out


_WORDS = {">0": "positive", ">=0": "non-negative", "!=0": "non-zero"}


def _grid() -> Any:
    import numpy as np
    far = np.geomspace(20, 1e6, 200)
    return np.unique(np.concatenate([-far[::-1], np.linspace(-20, 20, 40_001), far]))


def _scan(b: sp.Expr, cond: str) -> float | None:
    """A grid point where ``cond`` fails for b (None if none is seen)."""
    import numpy as np

    grid = _grid()
    fn = sp.lambdify(X, b, modules=["scipy", "numpy"])
    with np.errstate(all="ignore"):
        vals = np.asarray(fn(grid), dtype=np.complex128) * np.ones_like(grid)
    bad = np.abs(vals.imag) > 0
    re = vals.real
    ok = np.isfinite(re) & ~bad
    if cond == ">0":
        bad |= ok & (re <= 0)
    elif cond == ">=0":
        bad |= ok & (re < 0)
    else:
        bad |= ok & (re == 0)
        flips = np.flatnonzero(ok[:-1] & ok[1:] & (np.sign(re[:-1]) * np.sign(re[1:]) < 0))
        if flips.size and not bad.any():  # a sign change: bisect to the zero between
            lo, hi = float(grid[flips[0]]), float(grid[flips[0] + 1])
            f_lo = float(np.real(fn(lo)))
            for _ in range(60):
                mid = (lo + hi) / 2
                f_mid = float(np.real(fn(mid)))
                if f_mid == 0:
                    return mid
                lo, hi, f_lo = (mid, hi, f_mid) if f_mid * f_lo > 0 else (lo, mid, f_lo)
            return (lo + hi) / 2
    idx = np.flatnonzero(bad)
    if idx.size:
        return float(grid[idx[np.argmin(np.abs(grid[idx]))]])  # the one nearest 0
    return None


def _assumed(b: sp.Expr, cond: str) -> bool:
    if cond == ">0":
        return b.is_positive is True
    if cond == ">=0":
        return b.is_nonnegative is True
    return b.is_nonzero is True or b.is_positive is True or b.is_negative is True


def check_domain(f: sp.Expr, within: Within, name: str = "f") -> list[str]:
    """Refuse f (called ``name`` in messages) unless it is real and finite for every real
    x (module docstring); return notes for conditions accepted on numerical evidence only.
    Run on f' too: E[f'²] needs f' finite (|x|^½ has f' = ±1/(2√|x|), infinite at 0)."""
    notes = []
    for b, cond, part in _conditions(f):
        if _assumed(b, cond):
            continue
        where = _scan(b, cond)
        if where is None:
            def zeros_of(b: sp.Expr = b) -> Any:
                return sp.solveset(b, X, sp.Reals)

            zeros = within(f"the real zeros of {sp.sstr(b)}", zeros_of, 5.0)
            if zeros is sp.S.EmptySet:
                continue
            if isinstance(zeros, sp.FiniteSet) and zeros and cond != ">=0":
                real = [z for z in zeros if z.is_real]
                if real:
                    where = float(min(real, key=lambda z: abs(float(z))))
            if where is None:
                notes.append(f"{sp.sstr(b)} {cond[0]} {cond[1:]} for every real x was "
                             "checked on a grid only (SymPy could not decide it)")
                continue
        at = f"{where:.6g}"
        need = ("an activation must be defined for all real inputs" if name == "f" else
                "the analysis needs f' finite for every real x (E[f'(z)²], the backward gain)")
        raise ActivationRefused(
            f"{name} is not real and finite for every real x: {sp.sstr(part)} needs "
            f"{sp.sstr(b)} to be {_WORDS[cond]}, which fails at x = {at} ({need})")
    return notes


# ---- growth and existence of moments ------------------------------------------------------
def _tail(g: sp.Expr, side: int) -> sp.Expr:
    """g(side·t) for large t > 0, with the Piecewise branch that holds there."""
    h = sp.piecewise_fold(g.subs(X, side * _T).rewrite(sp.Piecewise))
    if isinstance(h, sp.Piecewise):
        for expr, cond in h.args:
            if cond == sp.true or bool(cond.subs(_T, 10**9)):
                return expr
    return h


def _numeric_growth(g: sp.Expr, side: int) -> float:
    import mpmath
    fn = sp.lambdify(X, g, modules="mpmath")
    best = -math.inf
    with mpmath.workdps(30):
        for k in range(41):
            t = mpmath.mpf(NUMERIC_AT) * (1 + mpmath.mpf(k) / 4000)
            val = fn(side * t)
            if isinstance(val, mpmath.mpc):
                if val.imag != 0:
                    raise ActivationRefused(f"f is not real at x = {side * float(t):g}")
                val = val.real
            if val != 0:
                best = max(best, float(mpmath.log(abs(val)) / (t * t)))
    return best


def growth(g: sp.Expr, side: int, within: Within, name: str = "f") -> tuple[Any, bool]:
    """(L, exact): L = lim log|g(x)|/x² as x → side·∞ (a SymPy number, ±oo), ``exact``
    False when it is a numerical estimate; L is None when neither way decides it."""
    where = f"x → {'+' if side > 0 else '−'}∞"
    h = within(f"the branch of {name} as {where}", lambda: _tail(g, side), 3.0)
    if h is not None and h == 0:
        return -sp.oo, True
    if h is not None:
        lim = within(f"SymPy's limit of log|{name}(x)|/x² as {where} (estimated "
                     "numerically instead)",
                     lambda: sp.limit(sp.log(h**2) / (2 * _T**2), _T, sp.oo), 1.0)
        if lim is not None and (lim in (sp.oo, -sp.oo) or (lim.is_number and lim.is_real)):
            return lim, True
    est = within(f"log|{name}(x)|/x² near {where} numerically",
                 lambda: _numeric_growth(g, side), 3.0)
    return (None if est is None else sp.Float(est, 6)), False


def moment_exists(g: sp.Expr, p: int, v: sp.Expr, side: int, L: Any, exact: bool,
                  within: Within) -> bool | None:
    """Is ∫_{side·tail} |g|^p φ_v finite? True, False, or None (undecided)."""
    if L is None:
        return None
    if L is sp.S.NegativeInfinity:
        return True
    if L is sp.S.Infinity:
        return False
    crit = 1 / (2 * v)
    if exact:
        gap = sp.nsimplify(p * L - crit)
        if gap.is_negative:
            return True
        if gap.is_positive:
            return False
        h = _tail(g, side)
        lim = within("the borderline tail", lambda: sp.limit(
            _T**4 * h**(2 * p) * sp.exp(-_T**2 / v), _T, sp.oo), 5.0)
        if lim == 0:
            return True
        if lim is not None and (lim == sp.oo or lim.is_positive):
            return False
        return None
    gap = float(p * L - crit)
    return True if gap < -MARGIN else False if gap > MARGIN else None
