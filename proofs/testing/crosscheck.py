"""Run a derivation's numeric cross-checks (``derive.core.Crosscheck`` and
``GradientCrosscheck``) at random points; used by the test suite.

derive records what to compare and never imports numeric; this runner lives where both
may be imported. A value cross-check compares the lambdified derived expression with its
float64 reference (|got − want| ≤ atol + rtol·|want|); a gradient cross-check compares it
with central differences of the recorded scalar NumPy function, computed by the one core
``numeric.finite_differences`` (tolerance: its error bound + atol + rtol·|gradient|).
NaN or ±inf on either side always fails.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from numeric.finite_differences import central_gradient, directional_derivative

__all__ = ["draw", "run_crosscheck"]


def draw(at: dict, rng: np.random.Generator) -> dict:
    """One point: a uniform draw for every (low, high) interval, fixed values kept."""
    return {s: (float(rng.uniform(*spec)) if isinstance(spec, tuple) else spec)
            for s, spec in at.items()}


def _lambdified(cc: Any) -> Any:
    import sympy as sp

    syms = list(cc.at)
    f = sp.lambdify(syms, cc.expr, modules=["scipy", "numpy"])
    return lambda values: np.asarray(f(*[values[s] for s in syms]), dtype=float)


def run_crosscheck(cc: Any, rng: np.random.Generator, where: str = "") -> list[str]:
    """Failures (one sentence each) of ``cc`` at ``cc.points`` random points."""
    derived = _lambdified(cc)
    failures = []
    for _ in range(cc.points):
        values = draw(cc.at, rng)
        kw = {str(s): v for s, v in values.items()}
        got = derived(values)
        if hasattr(cc, "loss"):  # a GradientCrosscheck
            x0 = np.asarray(cc.point(kw), dtype=float)

            def loss(x: np.ndarray, kw: dict = kw) -> float:
                return float(np.asarray(cc.loss(x, kw), dtype=float))
            if cc.direction is None:
                want, err = central_gradient(loss, x0, with_error=True)
                got = got.reshape(want.shape) if got.size == want.size else got
            else:
                est = directional_derivative(loss, x0, np.asarray(cc.direction(kw), float))
                want, err = np.asarray(est.value), np.asarray(est.error)
        else:
            want = np.asarray(cc.reference(**kw), dtype=float)
            err = np.zeros(np.shape(want))
        if np.shape(got) != np.shape(want):
            got = got.reshape(np.shape(want)) if got.size == np.size(want) else got
        if np.shape(got) != np.shape(want):
            failures.append(f"{where}crosscheck '{cc.label}': shape {np.shape(got)} vs "
                            f"{np.shape(want)} at {values}")
            continue
        tol = err + cc.atol + cc.rtol * np.abs(want)
        ok = np.abs(got - want) <= tol  # False for NaN on either side
        if not np.all(ok):
            i = np.unravel_index(np.argmin(ok), np.shape(ok)) if np.ndim(ok) else ()
            failures.append(f"{where}crosscheck '{cc.label}' at {values}: derived "
                            f"{np.asarray(got)[i]!r} vs numeric {np.asarray(want)[i]!r} "
                            f"(tolerance {np.asarray(tol)[i]:.2g})")
    return failures
