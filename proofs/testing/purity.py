"""Purity: did a function write into its inputs, its cache or the upstream gradient?

``Snapshot(named values)`` copies every array it can reach (inside tuples, lists and
dicts, the usual shapes of a cache); ``snapshot.assert_unchanged(who)`` raises
``AssertionError`` naming the first modified array, e.g.
"batchnorm_backward wrote into its input dout in place (20 of 20 entries changed; at
index (0, 0): was 0.5, now 0)". Comparison is exact (NaN equals NaN), so any write of a
different value is seen; rewriting an entry with its own value is harmless and not
reported. A write into a view of an input (``out = x; out[out < 0] = 0``) changes the
input and is reported the same way.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

__all__ = ["Snapshot"]


def _arrays(value: Any, path: str, depth: int = 0) -> Iterator[tuple[str, np.ndarray]]:
    if isinstance(value, np.ndarray):
        yield path, value
    elif depth < 4 and isinstance(value, (tuple, list)):
        for i, v in enumerate(value):
            yield from _arrays(v, f"{path}[{i}]", depth + 1)
    elif depth < 4 and isinstance(value, Mapping):
        for k, v in value.items():
            yield from _arrays(v, f"{path}[{k!r}]", depth + 1)


class Snapshot:
    """Copies of the arrays reachable from ``values`` (name -> value), to compare later."""

    def __init__(self, what: str, values: Mapping[str, Any]):
        self.what = what  # "input", "cache", "upstream gradient"
        self._saved = [(name, arr, arr.copy()) for key, v in values.items()
                       for name, arr in _arrays(v, key)]

    def changes(self) -> list[str]:
        """One sentence per modified array (empty when nothing changed)."""
        out = []
        for name, arr, before in self._saved:
            if arr.shape != before.shape:
                out.append(f"its {self.what} {name} in place (its shape changed from "
                           f"{before.shape} to {arr.shape})")
                continue
            same = (arr == before) | (_isnan(arr) & _isnan(before))
            if not np.all(same):
                bad = np.argwhere(~np.asarray(same))
                i = tuple(int(k) for k in bad[0]) if arr.ndim else ()
                out.append(f"its {self.what} {name} in place ({len(bad)} of {arr.size} "
                           f"entries changed; at index {i}: was {_num(before[i])}, "
                           f"now {_num(arr[i])})")
        return out

    def assert_unchanged(self, who: str) -> None:
        changes = self.changes()
        if changes:
            raise AssertionError(f"{who} wrote into " + "; and into ".join(changes)
                                 + ": compute into a new array instead (e.g. x.copy() or "
                                   "np.where) so the caller's arrays stay intact")


def _isnan(a: np.ndarray) -> np.ndarray:
    return np.isnan(a) if np.issubdtype(a.dtype, np.inexact) else np.zeros(a.shape, bool)


def _num(v: Any) -> str:
    try:
        return f"{float(v):.6g}"
    except (TypeError, ValueError):
        return repr(v)
