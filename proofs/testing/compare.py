"""Compare a submission's array with a float64 reference and say what is wrong.

``mismatch(got, want, tol, what)`` returns None when every entry satisfies
|got − want| ≤ tol (tol broadcast against want), else one message that names the output
and the symptom:

* a shape that differs (and whether the transpose would fit);
* NaN or ±inf where the reference is finite (never passes: a comparison with NaN is false,
  so the test is written as "not (difference ≤ tol)");
* a constant factor c (got ≈ c·want), with the usual suspects named when c is N, 1/N,
  √(N/(N−1)), (N−1)/N ... for the batch size N, or 1/(1 − p), 1 − p for a dropout p;
* a difference that is the same in every row (a per-column constant: a missing batch-mean
  term) or in every column (a per-row constant);
* otherwise the largest difference, where, and how many entries are off.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["mismatch"]


def _factors(shape: tuple, hints: dict[str, float]) -> list[tuple[float, str]]:
    out: list[tuple[float, str]] = []
    for axis_name, n in (("N (rows)", shape[0] if len(shape) else 0),
                         ("D (columns)", shape[1] if len(shape) > 1 else 0)):
        if n and n > 1:
            out += [(n, f"{axis_name} = {n}: a sum where a mean belongs?"),
                    (1 / n, f"1/{axis_name[0]}: a mean where a sum belongs, or 1/{axis_name[0]} "
                            f"applied twice?"),
                    (np.sqrt(n / (n - 1)), f"√({n}/{n - 1}): the unbiased variance "
                                           f"(ddof = 1) instead of the biased one?"),
                    (np.sqrt((n - 1) / n), f"√({n - 1}/{n}): the unbiased variance "
                                           f"(ddof = 1) instead of the biased one?"),
                    ((n - 1) / n, f"({n - 1}/{n}): the unbiased variance (ddof = 1)?"),
                    (n / (n - 1), f"({n}/{n - 1}): the unbiased variance (ddof = 1)?")]
    for label, value in hints.items():
        out.append((value, label))
    return out


def mismatch(got: Any, want: Any, tol: Any, what: str, *,
             hints: dict[str, float] | None = None,
             foils: dict[str, Any] | None = None) -> str | None:
    """None if ``got`` matches ``want`` within ``tol`` everywhere, else a diagnosis.
    ``hints`` maps a sentence to a factor worth naming (e.g. {"no 1/(1 − p) rescaling?":
    1 − p}); ``foils`` maps a description of a known mistake to the value it produces
    (e.g. {"statistics over the feature axis": ...}), named when ``got`` matches it."""
    want = np.asarray(want, dtype=np.float64)
    try:
        got = np.asarray(got)
    except Exception as exc:  # ragged lists and the like
        return f"{what} is not an array ({type(exc).__name__}: {exc})"
    if got.dtype == object or not (np.issubdtype(got.dtype, np.number)
                                   or got.dtype == bool):
        return f"{what} has dtype {got.dtype}, expected numbers"
    if got.shape != want.shape:
        if got.size == want.size and got.ndim == 2 and got.shape == want.shape[::-1]:
            return (f"{what} has shape {got.shape}, expected {want.shape}: transposed? "
                    f"(the gradient of a parameter has the parameter's shape)")
        if got.size == want.size:
            return f"{what} has shape {got.shape}, expected {want.shape} (same entries, " \
                   f"wrong shape)"
        return f"{what} has shape {got.shape}, expected {want.shape}"
    got = got.astype(np.float64)
    finite_want = np.isfinite(want)
    bad_nf = ~np.isfinite(got) & finite_want
    if bad_nf.any():
        i = tuple(int(k) for k in np.argwhere(bad_nf)[0])
        kinds = [k for k, m in (("NaN", np.isnan(got)), ("inf", np.isinf(got)))
                 if (m & finite_want).any()]
        return (f"{what} contains {' and '.join(kinds)} in {int(bad_nf.sum())} of {got.size} "
                f"entries where the reference is finite (first at index {i}, reference "
                f"{want[i]:.6g}): overflow, 0/0 or log(0)? (e.g. exp of large logits without "
                f"subtracting the row maximum, or a variance without ε)")
    diff = np.abs(got - want)
    tol_b = np.broadcast_to(np.asarray(tol, dtype=np.float64), want.shape)
    ok = (diff <= tol_b) | (~finite_want & (got == want))
    if ok.all():
        return None
    n_bad = int((~ok).sum())
    i = tuple(int(k) for k in np.unravel_index(np.argmax(np.where(ok, -1.0, diff - tol_b)),
                                               want.shape))
    head = (f"{what} differs from the reference in {n_bad} of {want.size} entries; largest "
            f"excess at index {i}: yours {got[i]:.8g}, reference {want[i]:.8g} (difference "
            f"{got[i] - want[i]:+.3g}, tolerance {tol_b[i]:.2g})")
    for label, foil in (foils or {}).items():
        foil = np.asarray(foil, dtype=np.float64)
        if foil.shape == want.shape and np.all(np.abs(got - foil) <= tol_b):
            return head + f"; it matches the typical mistake: {label}"
    return head + _symptom(got, want, tol_b, hints or {})


def _symptom(got: np.ndarray, want: np.ndarray, tol: np.ndarray, hints: dict) -> str:
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    if not np.isfinite(scale) or scale == 0:
        return ""
    close = 10 * tol + 1e-9 * scale
    # a constant factor got ≈ c·want
    denom = float(np.sum(want * want))
    if denom > 0:
        c = float(np.sum(got * want)) / denom
        if np.all(np.abs(got - c * want) <= close):
            text = f"; yours is the reference times {c:.6g} everywhere"
            for value, label in _factors(want.shape, hints):
                if abs(c - value) <= 1e-6 * max(abs(value), 1) + 2 * float(
                        np.max(close) / scale):
                    return text + f", i.e. off by the factor {label}"
            if abs(c + 1) < 1e-6:
                return text + " (the sign is flipped)"
            return text
    d = got - want
    if want.ndim == 2 and want.shape[0] > 1:
        if np.all(np.abs(d - d[:1]) <= close):
            return ("; the difference is the same in every row (a per-column constant "
                    f"{np.round(d[0, :4], 6).tolist()}{'…' if d.shape[1] > 4 else ''}): a "
                    "missing or extra batch-mean term (a sum over the batch axis)?")
        if want.shape[1] > 1 and np.all(np.abs(d - d[:, :1]) <= close):
            return ("; the difference is the same in every column (a per-row constant): a "
                    "missing or extra mean over the feature axis (wrong axis?)")
    if want.ndim == 2 and want.shape[0] > 1:  # c·want up to a per-column offset (e.g. β)
        gc, wc = got - got.mean(axis=0), want - want.mean(axis=0)
        denom = float(np.sum(wc * wc))
        c = float(np.sum(gc * wc)) / denom if denom > 0 else 1.0
        if abs(c - 1) > 1e-6 and np.all(np.abs(gc - c * wc) <= close):
            text = (f"; up to a constant per column, yours is the reference's deviation from "
                    f"its column mean times {c:.6g}")
            for value, label in _factors(want.shape, hints):
                if abs(c - value) <= 1e-6 * max(abs(value), 1) + 2 * float(
                        np.max(close) / scale):
                    return text + f", i.e. off by the factor {label}"
            return text
    return ""
