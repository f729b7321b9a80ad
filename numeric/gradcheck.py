"""Gradient checks of a layer through inner products: ⟨u, J v⟩ two ways.

For a map f: x ↦ y with Jacobian J, a backward pass computes the vector–Jacobian product
Jᵀu. For random directions u (output-shaped) and v (input-shaped, scaled to the magnitude
of x),

    ⟨Jᵀu, v⟩  (backward pass)   and   ⟨u, (f(x + hv) − f(x − hv)) / 2h⟩  (central difference)

must agree within the error bound of ``numeric.finite_differences`` (a ladder of steps;
the bound scales with the curvature, kinks and rounding of ⟨u, f⟩). The same is done for
every parameter. NaN or inf on either side fails. Hold dropout masks fixed
(``Dropout.freeze_mask = True``; done here for the layer and its sub-layers).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .finite_differences import Comparison, compare, direction_scale, directional_derivative

__all__ = ["GradCheck", "check_layer"]

GradCheck = Comparison  # one comparison: ``analytic`` (backward) vs ``numeric``; ``.ok``


def check_layer(layer: Any, x: np.ndarray, *, rng: np.random.Generator, train: bool = True,
                rtol: float = 0.0, atol: float = 0.0) -> list[Comparison]:
    """Compare ``layer.backward`` with central differences of ``layer.forward`` in random
    directions, for the input and every parameter. Returns one ``Comparison`` per argument
    (its ``what`` is "d/dx", "d/dgamma", ...); ``rtol``/``atol`` loosen the error bound."""
    if x.dtype != np.float64:
        raise ValueError(f"check_layer: use float64 input for gradient checks, got {x.dtype}")
    for sub in getattr(layer, "layers", [layer]):
        if hasattr(sub, "freeze_mask"):
            sub.freeze_mask = True
    y = layer.forward(x, train=train)
    u = rng.standard_normal(y.shape)
    grad_x = np.array(layer.backward(u), copy=True)
    grads = {k: np.array(g, copy=True) for k, g in layer.grads.items()}
    eps = float(np.finfo(np.float64).eps)

    def one(what: str, f, point: np.ndarray, grad: np.ndarray) -> Comparison:
        v = rng.standard_normal(point.shape) * direction_scale(point)
        noise = eps * float(np.sum(np.abs(point) * np.abs(np.nan_to_num(grad))))
        est = directional_derivative(f, point, v, u, noise=noise)
        return compare(np.sum(grad * v), est, rtol=rtol, atol=atol, what=what)

    results = [one("d/dx", lambda z: layer.forward(z, train=train), x, grad_x)]
    for key, p in layer.params.items():
        saved = p.copy()

        def with_param(q, p=p):
            p[...] = q
            return layer.forward(x, train=train)
        try:
            results.append(one(f"d/d{key}", with_param, saved, grads[key]))
        finally:
            p[...] = saved
    return results
