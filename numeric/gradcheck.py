"""Gradient checks through inner products: ⟨u, J v⟩ two ways.

For a map f: x ↦ y with Jacobian J, a backward pass computes the vector–Jacobian product
Jᵀu. For random directions u (output-shaped) and v (input-shaped),

    ⟨Jᵀu, v⟩  (backward pass)   and   ⟨u, (f(x + hv) − f(x − hv)) / 2h⟩  (central difference)

must agree to O(h²); the same is done for every parameter. Use float64, keep x away from
kinks (e.g. |x| ≥ 0.1 for ReLU-like layers with h·|v| ≪ 0.1), and hold dropout masks fixed
(``Dropout.freeze_mask = True``). This is what DESIGN.md asks of every layer.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

__all__ = ["GradCheck", "check_layer"]


@dataclasses.dataclass
class GradCheck:
    """One comparison: ``analytic`` (backward) vs ``numeric`` (central difference)."""

    wrt: str
    analytic: float
    numeric: float
    rtol: float
    atol: float

    @property
    def ok(self) -> bool:
        return abs(self.analytic - self.numeric) <= self.atol + self.rtol * abs(self.numeric)

    def __str__(self) -> str:
        return (f"{'ok  ' if self.ok else 'FAIL'} d/d{self.wrt}: backward {self.analytic:.12g}"
                f" vs central difference {self.numeric:.12g}")


def check_layer(layer: Any, x: np.ndarray, *, rng: np.random.Generator, train: bool = True,
                h: float = 1e-5, rtol: float = 1e-6, atol: float = 1e-9) -> list[GradCheck]:
    """Compare ``layer.backward`` with central differences of ``layer.forward`` in random
    directions, for the input and every parameter. Returns one ``GradCheck`` per argument."""
    if x.dtype != np.float64:
        raise ValueError(f"check_layer: use float64 input for gradient checks, got {x.dtype}")
    for sub in getattr(layer, "layers", [layer]):
        if hasattr(sub, "freeze_mask"):
            sub.freeze_mask = True
    y = layer.forward(x, train=train)
    u = rng.standard_normal(y.shape)
    grad_x = layer.backward(u)
    grads = {k: np.array(g, copy=True) for k, g in layer.grads.items()}

    def f_dot_u() -> float:
        return float(np.sum(u * layer.forward(x_cur, train=train)))

    results = []
    v = rng.standard_normal(x.shape)
    x_cur = x + h * v
    up = f_dot_u()
    x_cur = x - h * v
    down = f_dot_u()
    results.append(GradCheck("x", float(np.sum(grad_x * v)), (up - down) / (2 * h), rtol, atol))
    x_cur = x
    for key, p in layer.params.items():
        v = rng.standard_normal(p.shape)
        saved = p.copy()
        p += h * v
        up = f_dot_u()
        p[...] = saved - h * v
        down = f_dot_u()
        p[...] = saved
        results.append(GradCheck(key, float(np.sum(grads[key] * v)), (up - down) / (2 * h),
                                 rtol, atol))
    return results
