"""Independent float64 references for the derivations' numeric cross-checks.

NumPy is imported only when a cross-check runs (the test suite), never while a derivation
is built, so ``nnmath show`` does not pay for it.
"""
from __future__ import annotations

from typing import Any
from collections.abc import Callable


def central_gradient(f: Callable[[Any], float], x: Any, h: float = 1e-6) -> Any:
    """∂f/∂x_j ≈ (f(x + h e_j) − f(x − h e_j)) / 2h for every j: float64 central differences
    of a scalar function, with the shape of ``x`` (error O(h²) plus rounding O(ε/h))."""
    import numpy as np

    x = np.asarray(x, dtype=float)
    grad = np.empty_like(x)
    for j in np.ndindex(x.shape):
        up, dn = x.copy(), x.copy()
        up[j] += h
        dn[j] -= h
        grad[j] = (f(up) - f(dn)) / (2 * h)
    return grad
