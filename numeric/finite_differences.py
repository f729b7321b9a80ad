"""Central differences with an error bound: the one gradient-checking core of nnmath.

Used by ``numeric.gradcheck``, ``proofs.testing`` (check_vjp, check_backward) and the
derivations' gradient cross-checks (tests/test_derivations.py). Pure NumPy.

Along a line x + t·v a scalar φ(t) (e.g. ⟨u, f(x + t v)⟩) has derivative φ'(0) = ⟨u, J v⟩.
For a ladder of steps h_k = 10⁻², 10⁻³, …, 10⁻⁹ (v is scaled to the magnitude of x, so h is
a RELATIVE step) we evaluate

    D_k = (φ(h_k) − φ(−h_k)) / 2h_k                      central difference, error O(h²)
    S_k = |φ(h_k) − 2φ(0) + φ(−h_k)| / 2h_k             curvature (≈ h|φ''|/2) and kinks
    C_k = |D_k − D_{k+1}|                                consistency of neighbouring steps
    R_k = ε·(4(|φ(h_k)| + |φ(0)| + |φ(−h_k)|) + noise) / h_k    rounding, a priori

and keep the step with the smallest bound E_k = 4S_k + 4C_k + 16R_k. Why this bounds the
error |D_k − φ'(0)|: for a smooth φ the truncation error h²|φ'''|/6 is below C_k (the h²
term changes between neighbouring steps) and, unless φ'' ≈ 0, far below S_k; at a kink
within h_k of 0 (ReLU), the error of D_k is exactly S_k for a piecewise-linear φ; rounding
noise of size η in φ contributes ≈ η/h_k to D_k, and comparable, independent amounts to
S_k and C_k, while R_k adds the a-priori rounding of φ's own magnitude and of a caller's
``noise`` estimate (the conditioning: ε·Σ_j |x_j|·|∂φ/∂x_j|, e.g. logits around 1000 make
φ's rounding 1000·ε although φ itself is small). The bound therefore scales with the
magnitude of φ and with the conditioning of the evaluation, and it is computed in the
precision of φ (pass ``eps`` = float32's ε for float32 code).

``compare(analytic, estimate)`` accepts |analytic − D| ≤ E + atol + rtol·|D| and FAILS
whenever either side is NaN or ±inf (written as ``not (difference ≤ tolerance)``).
False-alarm rate, measured by tests/test_numeric_gradients.py and tests/test_testing_api.py:
zero failures over 2,000 seeds (slow test; 50 seeds by default) on correct affine, ReLU,
BatchNorm (including features with variance 1e-6 and ε = 1e-5), LayerNorm, dropout and
softmax cross-entropy with logits around 1000.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "STEPS",
    "Comparison",
    "Estimate",
    "central_gradient",
    "compare",
    "direction_scale",
    "directional_derivative",
    "line_derivative",
]

STEPS = tuple(10.0 ** -k for k in range(2, 10))
EPS64 = float(np.finfo(np.float64).eps)


@dataclasses.dataclass
class Estimate:
    """A finite-difference derivative ``value`` with an error bound ``error`` (inf when the
    function was not finite near the point) and the relative ``step`` used."""

    value: float
    error: float
    step: float

    @property
    def finite(self) -> bool:
        return bool(np.isfinite(self.value) and np.isfinite(self.error))


@dataclasses.dataclass
class Comparison:
    """``analytic`` (a backward pass or a derived formula) against a finite-difference
    ``numeric`` value, accepted when |analytic − numeric| ≤ ``tolerance``."""

    analytic: float
    numeric: float
    tolerance: float
    what: str = "derivative"

    @property
    def ok(self) -> bool:
        return bool(abs(self.analytic - self.numeric) <= self.tolerance)  # False on NaN

    @property
    def reason(self) -> str:
        if not np.isfinite(self.analytic):
            return f"the {self.what} is {self.analytic} (not finite)"
        if not np.isfinite(self.numeric) or not np.isfinite(self.tolerance):
            return ("the function is not finite near the point, so no finite difference "
                    "exists there")
        return (f"{self.analytic:.10g} vs finite difference {self.numeric:.10g}: difference "
                f"{self.analytic - self.numeric:+.3g} exceeds the bound {self.tolerance:.2g}")

    def __str__(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.what}: {self.reason}"


def line_derivative(phi: Callable[[float], float], *, eps: float = EPS64,
                    noise: float = 0.0, steps: tuple = STEPS) -> Estimate:
    """φ'(0) by central differences over a ladder of steps, with the error bound of the
    module docstring (``noise``: the caller's estimate of φ's absolute rounding noise)."""
    p0 = float(phi(0.0))
    rows = []
    for h in steps:
        up, dn = float(phi(h)), float(phi(-h))
        d = (up - dn) / (2 * h)
        s = abs(up - 2 * p0 + dn) / (2 * h)
        r = eps * (4 * (abs(up) + abs(p0) + abs(dn)) + noise) / h
        rows.append((d, s, r, h))
    best = Estimate(float("nan"), float("inf"), float("nan"))
    for k, (d, s, r, h) in enumerate(rows):
        nb = rows[k + 1][0] if k + 1 < len(rows) else rows[k - 1][0]
        bound = 4 * s + 4 * abs(d - nb) + 16 * r
        if np.isfinite(d) and np.isfinite(bound) and bound < best.error:
            best = Estimate(d, bound, h)
    return best


def direction_scale(x: np.ndarray) -> np.ndarray:
    """Per-entry scale of a perturbation of x: max(|x_j|, rms(x)), or 1 where x is all
    zero, so that a step t is relative to the magnitude of x (rounding of x + t·v stays
    at ε/t relative)."""
    x = np.asarray(x, dtype=np.float64)
    rms = float(np.sqrt(np.mean(x * x))) if x.size else 0.0
    scale = np.maximum(np.abs(x), rms)
    return np.where(scale > 0, scale, 1.0)


def directional_derivative(f: Callable[[np.ndarray], Any], x: np.ndarray, v: np.ndarray,
                           u: np.ndarray | None = None, *, eps: float | None = None,
                           noise: float = 0.0) -> Estimate:
    """⟨u, (f(x + hv) − f(x − hv))/2h⟩ → ⟨u, J v⟩ with an error bound (``u`` omitted: f is
    scalar). The point is x + t·v in x's dtype; ``eps`` defaults to that dtype's ε."""
    x = np.asarray(x)
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float64)
    eps = float(np.finfo(dtype).eps) if eps is None else eps

    def phi(t: float) -> float:
        y = np.asarray(f((x + t * v).astype(dtype)), dtype=np.float64)
        return float(np.sum(y) if u is None else np.sum(u * y))

    return line_derivative(phi, eps=eps, noise=noise)


def central_gradient(f: Callable[[np.ndarray], Any], x: Any, *, eps: float | None = None,
                     with_error: bool = False) -> Any:
    """∂f/∂x_j ≈ (f(x + h s_j e_j) − f(x − h s_j e_j)) / 2h s_j for every j, for a scalar f,
    with the shape of x (s = direction_scale(x)). With ``with_error`` returns (gradient,
    error bound per entry)."""
    x = np.array(x, dtype=np.float64 if eps is None else np.asarray(x).dtype, copy=True)
    scale = direction_scale(x)
    grad, err = np.empty(x.shape), np.empty(x.shape)
    for j in np.ndindex(x.shape):
        v = np.zeros(x.shape)
        v[j] = scale[j]
        est = directional_derivative(f, x, v, eps=eps)
        grad[j], err[j] = est.value / scale[j], est.error / scale[j]
    return (grad, err) if with_error else grad


def compare(analytic: Any, estimate: Estimate, *, rtol: float = 0.0, atol: float = 0.0,
            what: str = "derivative") -> Comparison:
    """Accept |analytic − estimate.value| ≤ estimate.error + atol + rtol·|estimate.value|;
    NaN or ±inf on either side fails."""
    a = float(np.asarray(analytic, dtype=np.float64))
    tol = estimate.error + atol + rtol * abs(estimate.value)
    return Comparison(a, estimate.value, tol if np.isfinite(tol) else float("nan"), what)
