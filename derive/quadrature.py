"""Gaussian integrals by quadrature, with an error bound that is checked, not trusted.

A single tanh–sinh quadrature of ∫_0^∞ g(t)e^{−t²/(2v)}dt can be wrong in every digit
while reporting a tiny error estimate: for g = sin(t)^126·cos(t)^126 (narrow peaks at
every π/2) it returns 6.86e-42 for an integral of 8.33e-40. Here the half line is cut into
a grid of cells of width h up to a point T beyond which the Gaussian weight is below the
working precision (extended while the integrand there is not negligible), each cell is
integrated by Gauss–Legendre at ``digits + 5`` working digits, and the whole computation
is repeated with h halved at ``digits + 10`` (two grids and two precisions). The result
is accepted to the number of
significant digits on which the two runs agree (and which each run's own error estimate
supports); h starts at the narrowest peak of the integrand (found on a coarse grid) and
keeps halving (down to ``MIN_WIDTH``) until they agree to the requested digits or the
time limit of the caller stops it. Fewer than ``MIN_DIGITS`` agreeing digits raise
:class:`QuadratureError`.

Used by :mod:`derive.custom` for the Gaussian moments of a user's activation and for the
half-line integrals of its SELU-like fixed point.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import mpmath

__all__ = ["MIN_DIGITS", "QuadratureError", "Verified", "gaussian_half_line",
           "gaussian_integral"]

MIN_DIGITS = 6     # fewer verified digits than this: the integral is refused
START_WIDTH = 2.0   # widest cell (in units of √v), halved until two runs agree
MIN_WIDTH = 1 / 64  # narrowest cell tried
GUARD = 5          # working digits above the requested ones (the second run adds 10 more)
MAX_T = 2000.0     # largest cut-off point, in standard deviations × √v
FLOOR = 0.01       # agreement is judged relative to at least 1% of ∫|integrand|


class QuadratureError(ArithmeticError):
    """Two independent quadratures of the same integral did not agree."""


@dataclasses.dataclass(frozen=True)
class Verified:
    """A quadrature value with ``digits`` significant digits verified by agreement of two
    runs; ``error`` bounds |value − truth| as far as that agreement shows."""

    value: Any  # mpmath.mpf
    digits: int
    error: float


def gaussian_integral(g: Callable[[Any], Any], v: float, digits: int,
                      kinks: Sequence[float] = ()) -> Verified:
    """∫_ℝ g(x) φ_v(x) dx, φ_v the N(0, v) density (v the VARIANCE), computed as
    ∫_0^∞ (g(t) + g(−t)) φ_v(t) dt (odd parts cancel exactly). ``g`` takes and returns
    mpmath numbers; ``kinks`` are points where g is not smooth (split there)."""
    def integrand(t: Any, norm: Any, vv: Any) -> Any:
        return (g(t) + g(-t)) * mpmath.exp(-t * t / (2 * vv)) * norm

    return _verified(integrand, v, digits, [abs(float(k)) for k in kinks])


def gaussian_half_line(g: Callable[[Any], Any], sign: int, v: float, digits: int,
                       kinks: Sequence[float] = ()) -> Verified:
    """∫ g(x) φ_v(x) over x > 0 (``sign`` = +1) or x < 0 (``sign`` = −1)."""
    def integrand(t: Any, norm: Any, vv: Any) -> Any:
        return g(sign * t) * mpmath.exp(-t * t / (2 * vv)) * norm

    return _verified(integrand, v, digits, [abs(float(k)) for k in kinks if sign * k > 0])


def _cutoff(integrand: Callable, norm: Any, vv: Any, dps: int) -> Any:
    """T with the Gaussian weight below 10^−dps there, moved out while the integrand
    near T is not negligible (a fast-growing g shifts the mass outwards)."""
    t = mpmath.sqrt(2 * vv * (dps + 5) * mpmath.log(10))
    peak = max(abs(integrand(mpmath.mpf(s) * mpmath.sqrt(vv), norm, vv))
               for s in (0.1, 0.5, 1, 2))
    tiny = mpmath.mpf(10) ** (-dps - 5) * max(peak, mpmath.mpf(10) ** (-300))
    while t < MAX_T * mpmath.sqrt(vv):
        near = max(abs(integrand(t * (1 + s), norm, vv)) for s in (0, 0.01, 0.03, 0.07))
        if near < tiny:
            return t
        t *= 1.5
    raise QuadratureError("the integrand does not decay within "
                          f"{MAX_T:g} standard deviations")


def _run(integrand: Callable, v: float, dps: int, width: float,
         kinks: list[float], method: str = "gauss-legendre") -> tuple:
    with mpmath.workdps(dps):
        vv = mpmath.mpf(v)
        norm = 1 / mpmath.sqrt(2 * mpmath.pi * vv)
        top = _cutoff(integrand, norm, vv, dps)
        step = mpmath.mpf(width) * mpmath.sqrt(vv)
        cells = int(mpmath.ceil(top / step))
        points = sorted({mpmath.mpf(0), *(step * k for k in range(1, cells + 1)),
                         *(mpmath.mpf(k) for k in kinks if 0 < k < top)})
        points.append(mpmath.inf)
        value, err = mpmath.quad(lambda t: integrand(t, norm, vv), points, error=True,
                                 method=method)
        return +value, +err


def _verified(integrand: Callable, v: float, digits: int, kinks: list[float]) -> Verified:
    # a coarse scan gives the magnitude; the runs integrate integrand/magnitude, so that
    # mpmath's absolute stopping rule acts on relative error even for tiny integrals
    width, magnitude = _scan(integrand, v)
    scale = 1 / mpmath.mpf(magnitude) if magnitude > 0 else mpmath.mpf(1)

    def scaled(t: Any, norm: Any, vv: Any) -> Any:
        return integrand(t, norm, vv) * scale

    while True:
        prev = _run(scaled, v, digits + GUARD, width, kinks)
        cur = _run(scaled, v, digits + 2 * GUARD, width / 2, kinks)
        agreed, error = _agreement(prev, cur, digits)
        if agreed >= digits or width <= MIN_WIDTH:
            break
        width /= 2
    if agreed < MIN_DIGITS:
        raise QuadratureError(f"quadratures on cells of width {width:g} and {width / 2:g} "
                              f"agree to only {agreed} significant digits "
                              f"({mpmath.nstr(prev[0] / scale, 8)} vs "
                              f"{mpmath.nstr(cur[0] / scale, 8)})")
    # significant digits of the value itself (fewer than ``agreed`` when it is small next
    # to ∫|integrand|, i.e. when positive and negative parts cancel)
    if error == 0:
        significant = agreed
    elif abs(cur[0]) <= 10 * error:  # indistinguishable from 0 at this accuracy
        return Verified(mpmath.mpf(0), agreed, float(error / scale))
    else:
        significant = min(agreed, math.floor(-math.log10(float(error / abs(cur[0])))))
    with mpmath.workdps(max(significant, 1) + 2):
        value = cur[0] / scale
    return Verified(value, max(significant, 1), float(error / scale))


def _scan(integrand: Callable, v: float) -> tuple[float, float]:
    """(first cell width, rough magnitude of the integral). The width is START_WIDTH,
    halved (down to MIN_WIDTH) until it is at most
    the narrowest peak of |integrand| — its width at half height, found on a grid of step
    0.02·√v at 15 digits. Narrow peaks (sin(t)^126 has width ≈ 0.2 every π/2) would be
    missed by wide cells in both runs; starting narrow costs fewer runs."""
    with mpmath.workdps(15):
        vv = mpmath.mpf(v)
        norm = 1 / mpmath.sqrt(2 * mpmath.pi * vv)
        step = 0.02 * math.sqrt(v)
        top = math.sqrt(2 * v * 20 * math.log(10))
        vals = []
        for k in range(int(top / step) + 1):
            y = integrand(mpmath.mpf(k * step), norm, vv)
            vals.append(abs(complex(y)) if isinstance(y, mpmath.mpc) else abs(float(y)))
    big = max(vals)
    if not big > 0 or not math.isfinite(big):
        return START_WIDTH, 0.0
    magnitude = sum(vals) * step
    narrowest = math.inf
    for i in range(1, len(vals) - 1):
        if vals[i] >= vals[i - 1] and vals[i] > vals[i + 1] and vals[i] > 1e-8 * big:
            lo, hi = i, i
            while lo > 0 and vals[lo] > vals[i] / 2:
                lo -= 1
            while hi < len(vals) - 1 and vals[hi] > vals[i] / 2:
                hi += 1
            narrowest = min(narrowest, (hi - lo) * step)
    width = START_WIDTH
    while width > MIN_WIDTH and width > narrowest / math.sqrt(v):
        width /= 2
    return width, magnitude


def _agreement(a: tuple, b: tuple, digits: int) -> tuple[int, float]:
    """Digits on which the two runs agree (capped at ``digits``), relative to the larger of
    the value and FLOOR (in units of the scan's ∫|integrand|, so an integral that cancels to
    0 is judged by its absolute accuracy), and the absolute error bound
    max(|a − b|, each run's own estimate)."""
    (va, ea), (vb, eb) = a, b
    bound = max(abs(va - vb), ea, eb)
    if bound == 0:
        return digits, 0.0
    scale = max(abs(vb), FLOOR)
    ratio = float(bound / scale)
    agreed = digits if ratio == 0 else math.floor(-math.log10(ratio))
    return max(0, min(digits, agreed)), float(bound)
