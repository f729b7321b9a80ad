"""Gradient assertions: check_vjp (⟨u, J v⟩ against central differences), check_layer_backward."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .moments import _rng



def check_vjp(forward: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
              vjp: Callable[[np.ndarray], np.ndarray], *, seed: Any = 0, h: float = 1e-6,
              rtol: float = 1e-5, trials: int = 3, name: str = "backward") -> None:
    """Check a backward pass: for random directions v (input) and u (output),
    ⟨vjp(u), v⟩ must equal ⟨u, (f(x + hv) − f(x − hv))/(2h)⟩ (central difference, O(h²)).

    ``forward(x) -> y`` must be deterministic (fix dropout masks) and smooth near x (keep
    points away from kinks such as ReLU at 0); ``vjp(u)`` returns ∂⟨u, f(x)⟩/∂x for the
    SAME x (call forward(x) inside it if your layer caches). float64 only."""
    x = np.asarray(x)
    if x.dtype != np.float64:
        raise TypeError(f"{name}: gradient checks need float64 input, got {x.dtype}")
    rng = _rng(seed)
    y = np.asarray(forward(x))
    for t in range(trials):
        v = rng.standard_normal(x.shape)
        u = rng.standard_normal(y.shape)
        numeric = float(np.sum(u * (forward(x + h * v) - forward(x - h * v)))) / (2 * h)
        forward(x)  # restore any cache to the point x
        analytic = float(np.sum(np.asarray(vjp(u)) * v))
        scale = max(abs(numeric), abs(analytic), 1e-12)
        if abs(analytic - numeric) > rtol * scale + 1e-9:
            detail = _elementwise_detail(forward, x, vjp, u, h)
            raise AssertionError(
                f"{name}: ⟨backward(u), v⟩ = {analytic:.8g} but the central difference "
                f"gives ⟨u, J v⟩ = {numeric:.8g}: they differ by {analytic - numeric:+.3g} "
                f"(relative {abs(analytic - numeric) / scale:.2e} > rtol {rtol:g}) in random "
                f"direction {t + 1} of {trials}{detail}")


def _elementwise_detail(forward, x, vjp, u, h) -> str:
    """For small inputs: the full numerical gradient of ⟨u, f(x)⟩, the largest elementwise
    difference, and whether the difference is constant along the batch axis (the sign of
    a missing mean term)."""
    if x.size > 2000:
        return ""
    num = np.empty_like(x)
    flat = num.reshape(-1)
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = h
        e = e.reshape(x.shape)
        flat[i] = np.sum(u * (forward(x + e) - forward(x - e))) / (2 * h)
    forward(x)
    diff = np.asarray(vjp(u)) - num
    i = np.unravel_index(np.argmax(np.abs(diff)), diff.shape)
    text = (f"; elementwise: largest difference {diff[i]:+.4g} at index {tuple(map(int, i))}"
            f" (yours {diff[i] + num[i]:.6g}, numerical {num[i]:.6g})")
    if x.ndim == 2 and x.shape[0] > 1:
        spread = np.abs(diff - diff.mean(axis=0)).max()
        if spread < 1e-6 * max(np.abs(diff).max(), 1e-12) + 1e-7:
            text += ("; the difference is the same for every row of the batch, per column "
                     f"{np.round(diff[0], 6).tolist()}: a missing batch-mean (Σ over the "
                     "batch) term?")
    return text


def check_layer_backward(layer, x: np.ndarray, *, seed: Any = 0, rtol: float = 1e-5,
                         name: str | None = None) -> None:
    """``check_vjp`` for a layer with ``forward(x, train=True)`` and ``backward(grad)``
    (numeric's protocol). Dropout layers must have their mask frozen
    (``layer.freeze_mask = True`` after one forward)."""
    name = name or type(layer).__name__

    def forward(z):
        return layer.forward(z, train=True)

    def vjp(u):
        layer.forward(x, train=True)
        return layer.backward(u)
    check_vjp(forward, x, vjp, seed=seed, rtol=rtol, name=f"{name}.backward")
