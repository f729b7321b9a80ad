"""Gradient assertions: check_vjp, check_backward (several inputs, cache or functional
style) and check_layer_backward, on the one core ``numeric.finite_differences``.

Every check compares ⟨backward(u), v⟩ with the central difference ⟨u, J v⟩ in random
directions u, v (v scaled to the magnitude of each input) and accepts the difference when
it is within the core's error bound: a bound built from the curvature (second difference),
the agreement of neighbouring steps and the rounding of ⟨u, f⟩ (ε of the input's dtype
times |⟨u, f⟩| and the conditioning Σ_j |x_j|·|g_j|), minimised over steps 10⁻²…10⁻⁹. It
fails, naming the output, when the forward output or a gradient contains NaN or ±inf, when a
gradient has the wrong shape, and when the function wrote into its inputs, its cache or
the upstream gradient. Measured false-alarm rate: 0 failures in 2,000 seeds on correct
affine, ReLU, BatchNorm (variance 1e-6), LayerNorm and softmax-CE (logits ≈ 1000) layers
(tests/test_testing_api.py, slow test).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from numeric.finite_differences import (EPS64, central_gradient, compare, direction_scale,
                                        directional_derivative)

from .compare import mismatch
from .forward import call_named, input_names
from .moments import _rng
from .purity import Snapshot

__all__ = ["check_backward", "check_layer_backward", "check_vjp"]


def _eps(*arrays: Any) -> float:
    eps = EPS64
    for a in arrays:
        dt = getattr(a, "dtype", None)
        if dt is not None and np.issubdtype(dt, np.floating):
            eps = max(eps, float(np.finfo(dt).eps))
    return eps


def _finite_or_fail(value: Any, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"{what} is not a numeric array: {exc}") from None
    bad = ~np.isfinite(arr)
    if bad.any():
        i = tuple(int(k) for k in np.argwhere(bad)[0]) if arr.ndim else ()
        kind = "NaN" if np.isnan(arr).any() else "inf"
        raise AssertionError(f"{what} contains {kind} in {int(bad.sum())} of {arr.size} "
                             f"entries (first at index {i}): overflow, 0/0 or log(0)? (e.g. "
                             f"exp of large logits without subtracting the row maximum)")
    return arr


def _detail(phi_of: Callable[[np.ndarray], float], x: np.ndarray, grad: np.ndarray,
            what: str, eps: float) -> str:
    """For small inputs: the full finite-difference gradient and the symptom of the
    difference (a per-column constant: a missing batch-mean term; a factor; ...)."""
    if x.size > 400:
        return ""
    num, err = central_gradient(phi_of, x, eps=eps, with_error=True)
    problem = mismatch(grad, num, 2 * err + 1e-12 * float(np.max(np.abs(num), initial=0)),
                       f"elementwise, {what} vs central differences")
    return f"\n{problem}" if problem else ""


def _one_direction(f: Callable[[np.ndarray], Any], x: np.ndarray, grad: np.ndarray,
                   u: np.ndarray, rng: np.random.Generator, *, what: str, rtol: float,
                   atol: float, trial: str) -> None:
    eps = _eps(x)
    v = rng.standard_normal(x.shape) * direction_scale(x)
    noise = eps * float(np.sum(np.abs(x) * np.abs(grad)))
    est = directional_derivative(f, x, v, u, eps=eps, noise=noise)
    c = compare(np.sum(grad * v), est, rtol=rtol, atol=atol, what=f"⟨{what}, v⟩")
    if not c.ok:
        detail = _detail(lambda z: float(np.sum(u * np.asarray(f(z), dtype=np.float64))),
                         x, grad, what, eps)
        raise AssertionError(f"{what} is wrong: in random direction {trial}, ⟨{what}, v⟩ = "
                             f"{c.analytic:.10g} but the central difference ⟨u, J v⟩ = "
                             f"{c.numeric:.10g}; they differ by "
                             f"{c.analytic - c.numeric:+.3g} (relative "
                             f"{abs(c.analytic - c.numeric) / max(abs(c.numeric), 1e-300):.2e})"
                             f", more than the finite-difference error bound "
                             f"{c.tolerance:.2g}{detail}")


def check_vjp(forward: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
              vjp: Callable[[np.ndarray], np.ndarray], *, seed: Any = 0, rtol: float = 0.0,
              atol: float = 0.0, trials: int = 3, name: str = "backward") -> None:
    """Check a backward pass: for random directions v (input) and u (output),
    ⟨vjp(u), v⟩ must equal the central difference ⟨u, J v⟩ within the error bound of
    ``numeric.finite_differences`` (plus ``atol + rtol·|⟨u, J v⟩|`` if given).

    ``forward(x) -> y`` must be deterministic (fix dropout masks); ``vjp(u)`` returns
    ∂⟨u, f(x)⟩/∂x for the SAME x. float32 input is checked with float32's ε in the bound.
    Fails on NaN/inf in y or in vjp(u), on a wrong shape and on writes into x or u."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    rng = _rng(seed)
    snap = Snapshot("input", {"x": x})
    y = _finite_or_fail(call_named(forward, (x,), name.replace("backward", "forward")),
                        f"{name}: the forward output")
    for t in range(trials):
        u = rng.standard_normal(y.shape)
        du = Snapshot("upstream gradient", {"u": u})
        g = call_named(vjp, (u,), name)
        du.assert_unchanged(name)
        g = _finite_or_fail(g, f"{name}: the gradient")
        if g.shape != x.shape:
            raise AssertionError(f"{name} returned shape {g.shape}, expected the input's "
                                 f"shape {x.shape}")
        _one_direction(forward, x, g, u, rng, what=name, rtol=rtol, atol=atol,
                       trial=f"{t + 1} of {trials}")
    snap.assert_unchanged(name)


def check_backward(forward: Callable, backward: Callable, *inputs: Any,
                   wrt: Sequence[int] | None = None, style: str = "cache",
                   seed: Any = 0, rtol: float = 0.0, atol: float = 0.0,
                   name: str | None = None) -> None:
    """Check every gradient a backward function returns, in the usual course styles:

    * ``style="cache"``: ``out, cache = forward(*inputs)``, ``grads = backward(dout, cache)``
      (cache a tuple or dict; the CS231n style);
    * ``style="inputs"``: ``out = forward(*inputs)``, ``grads = backward(dout, *inputs)``
      (the style of ``numeric.reference``).

    ``grads`` is one array or a tuple, the gradients of ``inputs[j]`` for j in ``wrt``
    (default: the first one, two, ... inputs, as many as ``backward`` returns). Each
    gradient is checked in its own random direction and named after the forward's
    parameter ("dx", "dgamma", ...). Also fails when the forward or backward writes into
    an input, the cache or dout. Example::

        check_backward(batchnorm_forward, batchnorm_backward, x, gamma, beta,
                       {"mode": "train", "eps": 1e-5})   # -> dx, dgamma, dbeta
    """
    if style not in ("cache", "inputs"):
        raise ValueError(f"style must be 'cache' or 'inputs', got {style!r}")
    name = str(name or getattr(backward, "__name__", "backward"))
    fname = getattr(forward, "__name__", "forward")
    names = input_names(forward, count=len(inputs))
    rng = _rng(seed)
    args = [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in inputs]
    snap = Snapshot("input", dict(zip(names, args)))

    def out_of(result: Any) -> Any:
        if style == "cache":
            if not (isinstance(result, tuple) and len(result) == 2):
                raise AssertionError(f"{fname} should return (out, cache), got "
                                     f"{type(result).__name__}")
            return result[0]
        return result

    result = call_named(forward, tuple(args), fname)
    snap.assert_unchanged(fname)
    out = _finite_or_fail(out_of(result), f"{fname}: the output")
    u = rng.standard_normal(out.shape)
    dout = u.copy()
    du = Snapshot("upstream gradient", {"dout": dout})
    if style == "cache":
        cache_snap = Snapshot("cache", {"cache": result[1]})
        grads = call_named(backward, (dout, result[1]), name)
        cache_snap.assert_unchanged(name)
    else:
        grads = call_named(backward, (dout, *args), name)
    du.assert_unchanged(name)
    snap.assert_unchanged(name)
    grads = tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)
    wrt = tuple(range(len(grads))) if wrt is None else tuple(wrt)
    if len(wrt) != len(grads):
        raise AssertionError(f"{name} returned {len(grads)} gradient(s), expected "
                             f"{len(wrt)} (for {', '.join(names[j] for j in wrt)})")
    for j, g in zip(wrt, grads):
        what = f"{name}: d{names[j]}"
        point = np.asarray(args[j])
        g = _finite_or_fail(g, what)
        if g.shape != point.shape:
            hint = " (transposed?)" if g.shape == point.shape[::-1] else ""
            raise AssertionError(f"{what} has shape {g.shape}, expected {names[j]}'s shape "
                                 f"{point.shape}{hint}")

        def f(z: np.ndarray, j: int = j) -> Any:
            trial = list(args)
            trial[j] = z
            return out_of(forward(*trial))
        _one_direction(f, point.astype(np.float64) if point.dtype.kind != "f" else point,
                       g, u, rng, what=what, rtol=rtol, atol=atol, trial="1 of 1")


def check_layer_backward(layer: Any, x: np.ndarray, *, seed: Any = 0, rtol: float = 0.0,
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
