"""assert_forward: a submission's outputs against a float64 reference, with dtype-aware
tolerances, a diagnosis of the difference and a purity check of the inputs.

Tolerance (per entry i of each output, when ``rtol``/``atol`` are not given)::

    tol_i = 64·ε·|ref_i|  +  8·δ_i  +  √ε·max|ref|

* ε is the machine epsilon of the submission's precision (the coarsest floating dtype
  among its floating inputs and its output: 2.2e-16 for float64, 1.2e-7 for float32);
  the reference is always computed in float64 from the same input values;
* δ_i (the conditioning) is the largest change of the reference's entry i when every
  floating input is multiplied by (1 + ε·r), r uniform in [−1, 1] (two draws): what
  rounding the inputs to the submission's precision can do to that entry. It is large
  where the quantity is ill-conditioned (BatchNorm of a feature with tiny variance, logits
  around 1000) and negligible elsewhere;
* √ε·max|ref| (1.5e-8 of the output's scale in float64, 3.5e-4 in float32) admits a
  different but stable order of operations (e.g. a one-pass variance).

With ``rtol``/``atol`` given the tolerance is exactly atol + rtol·|ref_i|. NaN or ±inf
where the reference is finite always fails. A mistake of the size of ε relative to the
variance (ε left out of BatchNorm) is seen only where the variance is small: test with a
feature of tiny variance too.
"""
from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from .compare import mismatch
from .purity import Snapshot

__all__ = ["assert_forward", "call_named", "input_names", "precision_eps"]

OUTPUT_NAMES = {
    "affine_backward": ("dx", "dw", "db"),
    "batchnorm_backward": ("dx", "dgamma", "dbeta"),
    "layernorm_backward": ("dx", "dgamma", "dbeta"),
    "softmax_cross_entropy": ("loss", "dlogits"),
}


def _bn_unbiased(x, gamma, beta, eps):
    n = x.shape[0]
    return (x - x.mean(0)) / np.sqrt(x.var(0) * n / max(n - 1, 1) + eps) * gamma + beta


def _bn_backward_parts(dout, x, gamma, beta, eps, *, mean_g=True, var_term=True, n=None):
    xhat = (x - x.mean(0)) / np.sqrt(x.var(0) + eps)
    g = np.asarray(dout, dtype=np.float64)
    n = x.shape[0] if n is None else n  # n = 1: sums where the means belong
    dx = g - (g.sum(0) / n if mean_g else 0) - (xhat * (g * xhat).sum(0) / n if var_term
                                                 else 0)
    return gamma / np.sqrt(x.var(0) + eps) * dx, (g * xhat).sum(0), g.sum(0)


def _known_mistakes() -> dict[str, list[tuple[str, Callable]]]:
    """Typical mistakes per reference: (description, function with the reference's
    signature producing the mistaken outputs); named in a message when matched."""
    from numeric import reference as R

    def sce_sum(z, y):
        loss, d = R.softmax_cross_entropy(z, y)
        return loss * z.shape[0], d * z.shape[0]

    def sce_grad_sum(z, y):
        loss, d = R.softmax_cross_entropy(z, y)
        return loss, d * z.shape[0]
    return {
        "batchnorm_forward": [
            ("BatchNorm without ε (√ν instead of √(ν + ε))",
             lambda x, g, b, eps: R.batchnorm_forward(x, g, b, 0.0)),
            ("statistics over the feature axis (a LayerNorm), not over the batch",
             R.layernorm_forward),
            ("the unbiased variance (ddof = 1)", _bn_unbiased)],
        "batchnorm_backward": [
            ("dx without the batch-mean term mean(dout)",
             lambda *a: _bn_backward_parts(*a, mean_g=False)),
            ("dx without the term x̂·mean(dout·x̂) (the path through the variance)",
             lambda *a: _bn_backward_parts(*a, var_term=False)),
            ("dx without either batch-mean term (μ and ν treated as constants)",
             lambda *a: _bn_backward_parts(*a, mean_g=False, var_term=False)),
            ("dx with sums where the batch means belong (a missing 1/N)",
             lambda *a: _bn_backward_parts(*a, n=1))],
        "layernorm_forward": [
            ("LayerNorm over the batch axis (a BatchNorm)", R.batchnorm_forward),
            ("LayerNorm without ε", lambda x, g, b, eps: R.layernorm_forward(x, g, b, 0.0))],
        "layernorm_backward": [
            ("the gradient of a normalisation over the batch axis (BatchNorm)",
             R.batchnorm_backward)],
        "softmax_cross_entropy": [
            ("the summed loss and gradient (sum instead of mean over the batch)", sce_sum),
            ("a gradient without the 1/N of the mean", sce_grad_sum)],
        "dropout_forward": [
            ("no rescaling by 1/(1 − p_drop)", lambda x, m, p: x * m),
            ("rescaling by 1/p_drop (keep and drop probabilities swapped)",
             lambda x, m, p: x * m / p)],
        "dropout_backward": [
            ("no rescaling by 1/(1 − p_drop)", lambda d, m, p: d * m),
            ("rescaling by 1/p_drop (keep and drop probabilities swapped)",
             lambda d, m, p: d * m / p)],
    }


def precision_eps(*values: Any) -> float:
    """Machine epsilon of the coarsest floating dtype among ``values`` (float64 if none)."""
    eps = float(np.finfo(np.float64).eps)
    for v in values:
        dt = getattr(v, "dtype", None)
        if dt is not None and np.issubdtype(dt, np.floating):
            eps = max(eps, float(np.finfo(dt).eps))
    return eps


def input_names(*functions: Callable, count: int) -> list[str]:
    """Positional parameter names of the first function that has ``count`` of them."""
    for f in functions:
        try:
            params = [p.name for p in inspect.signature(f).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            continue
        if len(params) >= count:
            return params[:count]
    return [f"argument {k + 1}" for k in range(count)]


def call_named(f: Callable, args: tuple, name: str) -> Any:
    """f(*args); an exception inside f becomes an AssertionError naming the call and the
    argument shapes (the traceback is kept as the cause)."""
    try:
        return f(*args)
    except Exception as exc:
        shapes = ", ".join(str(getattr(a, "shape", type(a).__name__)) for a in args)
        raise AssertionError(f"{name} raised {type(exc).__name__}: {exc} (called with "
                             f"arguments of shapes {shapes})") from exc


def _perturbed(args: tuple, eps: float, rng: np.random.Generator) -> tuple:
    out: list[Any] = []
    for a in args:
        if isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating):
            out.append(a * (1 + eps * rng.uniform(-1, 1, a.shape)))
        elif isinstance(a, numbers.Real) and not isinstance(a, (bool, numbers.Integral)):
            out.append(float(a) * (1 + eps * rng.uniform(-1, 1)))
        else:
            out.append(a)
    return tuple(out)


def _as_tuple(value: Any) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _matches(got: Any, foil: Any, tol: Any) -> bool:
    try:
        g, f = np.asarray(got, dtype=np.float64), np.asarray(foil, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return g.shape == f.shape and bool(np.all(np.abs(g - f) <= tol))


def _f64(a: Any) -> Any:
    if isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating):
        return a.astype(np.float64)
    return a


def assert_forward(f: Callable, reference: Callable, *inputs: Any, name: str | None = None,
                   rtol: float | None = None, atol: float | None = None,
                   outputs: tuple[str, ...] | None = None,
                   hints: dict[str, float] | None = None,
                   mistakes: dict[str, Callable] | None = None) -> None:
    """Assert ``f(*inputs)`` equals ``reference(*inputs)`` (float64) output by output.

    ``f`` gets copies of the inputs in their own dtype (float32 stays float32) and must
    leave them unchanged; the reference gets float64 copies. Outputs that are tuples are
    compared entry by entry and named by ``outputs`` (default: the reference's known
    names, e.g. ("dx", "dgamma", "dbeta")). Tolerances: see the module docstring.
    ``hints`` names factors worth recognising in a message, e.g.
    ``{"no 1/(1 − p) rescaling?": 1 - p}``; ``mistakes`` maps a description of a typical
    mistake to a function with the reference's signature that makes it (the references of
    ``numeric.reference`` come with their own: no ε, wrong axis, unbiased variance, missing
    batch-mean terms, sum instead of mean, no rescaling, ...); a matching output is named.
    Raises AssertionError with the diagnosis.

    Example::

        from numeric import reference as R
        assert_forward(my_batchnorm_forward, R.batchnorm_forward, x, gamma, beta, 1e-5)
    """
    name = str(name or getattr(f, "__name__", "submission"))
    args = tuple(np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in inputs)
    names = input_names(f, reference, count=len(inputs))
    snap = Snapshot("input", dict(zip(names, args)))
    got = call_named(f, args, name)
    snap.assert_unchanged(name)
    ref_args = tuple(_f64(a) for a in inputs)
    want = reference(*ref_args)
    got_t, want_t = _as_tuple(got), _as_tuple(want)
    labels = outputs or OUTPUT_NAMES.get(getattr(reference, "__name__", ""), ())
    if len(got_t) != len(want_t):
        raise AssertionError(f"{name} returned {len(got_t)} value(s), expected {len(want_t)}"
                             + (f" ({', '.join(labels)})" if labels else ""))
    eps = precision_eps(*inputs, *got_t)
    user = rtol is not None or atol is not None
    deltas = [np.zeros(np.shape(w)) for w in want_t]
    if not user:
        rng = np.random.default_rng(0)
        for _ in range(2):
            again = _as_tuple(reference(*_perturbed(ref_args, eps, rng)))
            deltas = [np.maximum(dl, np.abs(np.asarray(a, float) - np.asarray(w, float)))
                      for dl, a, w in zip(deltas, again, want_t)]
    known = dict(_known_mistakes().get(getattr(reference, "__name__", ""), []))
    foils = []
    for label, fn in {**known, **(mistakes or {})}.items():
        try:
            with np.errstate(all="ignore"):
                foils.append((label, _as_tuple(fn(*ref_args))))
        except Exception:  # a mistake that cannot be evaluated here is simply not named
            continue
    tols: list[Any] = []
    labels_k: list[str] = []
    for k, (w, dl) in enumerate(zip(want_t, deltas)):
        w = np.asarray(w, dtype=np.float64)
        labels_k.append(labels[k] if k < len(labels) else (f"output {k + 1}"
                                                           if len(want_t) > 1 else "output"))
        if user:
            tols.append((atol or 0.0) + (rtol or 0.0) * np.abs(w))
        else:
            scale = float(np.max(np.abs(w))) if w.size else 0.0
            tols.append(64 * eps * np.abs(w) + 8 * np.nan_to_num(dl, nan=np.inf)
                        + np.sqrt(eps) * scale)
    # a mistake that explains more of the outputs is named first
    score = {lab: sum(_matches(g, f, t) for g, f, t in zip(got_t, ft, tols))
             for lab, ft in foils}
    problems = []
    for k, (g, w) in enumerate(zip(got_t, want_t)):
        named = {lab: ft[k] for lab, ft in foils if k < len(ft)}
        fitting = [lab for lab in named if _matches(g, named[lab], tols[k])]
        best = max((score[lab] for lab in fitting), default=0)
        named = {lab: named[lab] for lab in fitting if score[lab] == best}
        problem = mismatch(g, w, tols[k], f"{name}: {labels_k[k]}", hints=hints, foils=named)
        if problem:
            problems.append(problem)
    if problems:
        raise AssertionError("\n".join(problems))
