"""Progress of long Monte Carlo runs on stderr: samples done, rate, estimated time left.

One line, rewritten in place (``\\r``), at most five times a second, and only once a run
has lasted ``AFTER`` seconds (short runs print nothing). Off when stderr is not a
terminal, under ``--json`` and with ``--no-progress`` (:func:`for_terminal` decides).
The line is cleared when the run ends, so the verdict table is not interleaved.
"""
from __future__ import annotations

import sys
import time
from typing import TextIO

AFTER = 1.0  # seconds before the first line
EVERY = 0.2  # seconds between lines


def _count(x: float) -> str:
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= size:
            return f"{x / size:.2f} {unit} "
    return f"{x:.0f} "


def _duration(s: float) -> str:
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{s // 60:.0f} min {s % 60:02.0f} s"
    return f"{s // 3600:.0f} h {s % 3600 // 60:02.0f} min"


def line(label: str, done: int, total: int, seconds: float) -> str:
    """``label: 1.23 G of 20.00 G samples (6%), 95.1 M samples/s, about 3 min 16 s left``."""
    rate = done / seconds if seconds > 0 else 0.0
    left = (total - done) / rate if rate > 0 else float("inf")
    eta = _duration(left) if left != float("inf") else "unknown"
    head = f"{label}: " if label else ""
    return (f"{head}{_count(done)}of {_count(total)}samples ({done / total:.0%}), "
            f"{_count(rate)}samples/s, about {eta} left")


class Progress:
    """A progress sink for :class:`proofs.stats.executor.Executor`."""

    def __init__(self, stream: TextIO | None = None, *, after: float = AFTER,
                 every: float = EVERY):
        self.stream = stream if stream is not None else sys.stderr
        self.after, self.every = after, every
        self._last = -1.0
        self._shown = False

    def update(self, label: str, done: int, total: int, seconds: float) -> None:
        now = time.perf_counter()
        if seconds < self.after or now - self._last < self.every:
            return
        self._last = now
        self.stream.write("\r" + line(label, done, total, seconds)[:120] + "\033[K")
        self.stream.flush()
        self._shown = True

    def finish(self) -> None:
        if self._shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
        self._shown = False
        self._last = -1.0


def for_terminal(*, json_output: bool = False, disabled: bool = False,
                 stream: TextIO | None = None) -> Progress | None:
    """A Progress on stderr when it is a terminal and neither ``--json`` nor
    ``--no-progress`` was given; else None."""
    stream = stream if stream is not None else sys.stderr
    if json_output or disabled or not getattr(stream, "isatty", lambda: False)():
        return None
    return Progress(stream)
