"""Adapters for the common course API styles, so a submission can be checked against the
functional references of ``numeric.reference``.

* ``cache_style(forward, backward)``: a layer written as ``out, cache = forward(x, ...)``
  and ``grads = backward(dout, cache)`` (cache a tuple or dict) becomes the pair
  ``f(*inputs) -> out`` and ``b(dout, *inputs) -> grads`` (the reference signatures); ``b``
  also fails when the backward writes into the cache;
* ``drop_probability(f, convention)``: a dropout written with the KEEP probability
  (``convention="keep"``, 002's p, CS231n's ``dropout_param['p']``) called with the drop
  probability p_drop of the references (000/003), i.e. with 1 − p_drop;
* ``global_seed(f, seed)``: code that draws from the global ``np.random`` is re-seeded on
  every call (and the global state restored afterwards), so its forward is deterministic;
  give the backward a DIFFERENT seed, so a backward that draws a fresh mask instead of
  reusing the forward's is seen;
* ``assert_dropout(forward, x, p_drop, backward=...)``: the keep fraction, the 1/(1 − p)
  rescaling and the reuse of the mask in the backward.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .compare import mismatch
from .forward import call_named, precision_eps
from .purity import Snapshot

__all__ = ["assert_dropout", "cache_style", "drop_probability", "global_seed",
           "keep_mask"]


def cache_style(forward: Callable, backward: Callable, *,
                args: Callable[..., tuple] | None = None) -> tuple[Callable, Callable]:
    """(f, b) with ``f(*inputs) = forward(*args(*inputs))[0]`` and
    ``b(dout, *inputs) = backward(dout, cache)``, cache from a fresh forward call.
    ``args`` maps the reference's inputs to the submission's (e.g. BatchNorm's
    ``lambda x, gamma, beta, eps: (x, gamma, beta, {"mode": "train", "eps": eps})``)."""
    convert = args or (lambda *a: a)
    fname = getattr(forward, "__name__", "forward")
    bname = getattr(backward, "__name__", "backward")

    def run_forward(*inputs: Any) -> tuple:
        result = call_named(forward, tuple(convert(*inputs)), fname)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise AssertionError(f"{fname} should return (out, cache), got "
                                 f"{type(result).__name__}")
        return result

    def f(*inputs: Any) -> Any:
        return run_forward(*inputs)[0]

    def b(dout: Any, *inputs: Any) -> Any:
        cache = run_forward(*inputs)[1]
        snap = Snapshot("cache", {"cache": cache})
        grads = call_named(backward, (dout, cache), bname)
        snap.assert_unchanged(bname)
        return grads
    f.__name__, b.__name__ = fname, bname  # messages name the submission's functions
    return f, b


def drop_probability(f: Callable, convention: str, *, arg: int = 1,
                     key: str | None = None) -> Callable:
    """``f`` called with the DROP probability at position ``arg`` (or, with ``key``, in the
    dict at position ``arg``, e.g. CS231n's ``dropout_param['p']``): with
    ``convention="keep"`` the value passed on is 1 − p_drop."""
    if convention not in ("keep", "drop"):
        raise ValueError(f"convention must be 'keep' or 'drop', got {convention!r}")

    @functools.wraps(f)
    def g(*a: Any, **kw: Any) -> Any:
        args = list(a)
        if key is None:
            args[arg] = 1 - args[arg] if convention == "keep" else args[arg]
        else:
            param = dict(args[arg])
            param[key] = 1 - param[key] if convention == "keep" else param[key]
            args[arg] = param
        return f(*args, **kw)
    return g


def global_seed(f: Callable, seed: int) -> Callable:
    """``f`` with ``np.random.seed(seed)`` before every call; the global state is restored
    afterwards, so the caller's own global stream is untouched."""
    @functools.wraps(f)
    def g(*a: Any, **kw: Any) -> Any:
        state = np.random.get_state()
        np.random.seed(seed)
        try:
            return f(*a, **kw)
        finally:
            np.random.set_state(state)
    return g


def keep_mask(out: Any, x: Any) -> np.ndarray:
    """The 0/1 keep mask a dropout forward used, read off its output (x must have no
    zeros: use continuous random inputs)."""
    return (np.asarray(out) != 0).astype(np.float64) * (np.asarray(x) != 0)


def assert_dropout(forward: Callable[[np.ndarray], Any], x: np.ndarray, p_drop: float, *,
                   backward: Callable[[np.ndarray], Any] | None = None,
                   dout: np.ndarray | None = None, name: str = "dropout",
                   false_fail_rate: float = 1e-9) -> None:
    """Inverted dropout at drop probability ``p_drop`` (x without zeros, e.g. Gaussian):

    1. the fraction of kept units is 1 − p_drop (binomial two-sided z-test at
       ``false_fail_rate``; a fraction near p_drop means keep and drop are swapped);
    2. every kept unit is x/(1 − p_drop) and every dropped one 0 (forward vs
       ``numeric.reference.dropout_forward`` with the mask read off the output);
    3. with ``backward`` (``dout -> dx``, its cache bound by the caller) dx equals
       dout·mask/(1 − p_drop) with the FORWARD's mask.
    """
    from numeric import reference as R

    from .forward import assert_forward

    x = np.asarray(x)
    out = np.asarray(call_named(forward, (np.array(x, copy=True),), name))
    mask = keep_mask(out, x)
    n, kept = mask.size, float(mask.sum())
    q = 1 - p_drop
    z = abs(kept - n * q) / math.sqrt(max(n * q * (1 - q), 1e-300))
    from scipy.stats import norm
    limit = float(norm.isf(false_fail_rate / 2))
    if z > limit:
        swapped = abs(kept / n - p_drop) < abs(kept / n - q)
        raise AssertionError(
            f"{name}: kept {kept / n:.4f} of {n} units, expected 1 − p_drop = {q:g} "
            f"(z = {z:.1f} > {limit:.1f}, false-fail rate {false_fail_rate:g})"
            + ("; that is p_drop itself: keep and drop probabilities swapped?" if swapped
               else ""))
    hints = {f"1 − p_drop = {q:g}: no rescaling by 1/(1 − p_drop)?": q,
             "1/(1 − p_drop) once more: rescaled twice?": 1 / q}
    assert_forward(lambda a: out, lambda a: R.dropout_forward(a, mask, p_drop), x,
                   name=name, hints=hints)
    if backward is not None:
        g = np.random.default_rng(0).standard_normal(x.shape) if dout is None else dout
        dx = call_named(backward, (np.array(g, copy=True),), f"{name} backward")
        want = R.dropout_backward(g, mask, p_drop)
        dx_arr = np.asarray(dx, dtype=np.float64)
        if dx_arr.shape == want.shape and np.any((dx_arr != 0) != (want != 0)):
            differ = int(np.sum((dx_arr != 0) != (want != 0)))
            raise AssertionError(f"{name} backward: dx is zero in a different pattern from "
                                 f"the forward's mask ({differ} of {want.size} entries): "
                                 f"the mask is not reused (a new mask drawn in the "
                                 f"backward?)")
        tol = 64 * precision_eps(dx) * (np.abs(want) + float(np.max(np.abs(want))))
        problem = mismatch(dx, want, tol, f"{name} backward: dx", hints=hints)
        if problem:
            raise AssertionError(problem)
