"""Rubrics: which student functions a class is graded on, and how.

A rubric is a plain Python file (trusted: the course staff's own) with

* ``TITLE``  one line shown in the reports;
* ``MODULE`` (optional) the file stem a folder submission keeps its functions in, e.g.
  ``"layers"``; without it (or when the folder has no such file) every top-level ``.py``
  file of the folder is imported;
* ``EXACT``  (optional) ``{key: (slug, value name, {symbol: value})}``: exact values taken
  from derive ONCE in the grader (not in every student's process) and handed to the checks
  as ``ctx.exact[key]`` (floats);
* checks: functions decorated with :func:`check`, run in the order they are defined::

      @check(points=2, needs=["affine_forward(x, w, b) -> (out, cache)"])
      def affine_forward(student, ctx):
          out, cache = call(student.affine_forward, x, w, b)   # grading.helpers
          expect_close("out", out, reference.affine_forward(x, w, b))

  ``student`` has one attribute per needed function; ``ctx.rng`` is a NumPy Generator
  seeded from (root seed, rubric name, check name), so every student sees the same data
  and the data do not depend on which other checks run; ``ctx.seed`` is that seed (shown
  in the reports). A check passes by returning, fails by raising ``AssertionError`` with a
  message naming the symptom; any other exception counts as a failure of the student's
  code (its type, message and the line of the student's file are reported).

Shipped rubrics live in ``proofs/testing/grading/rubrics/``; ``nnmath grade --list``
names them (file ``cs231n_layers.py`` is the rubric ``cs231n-layers``).
"""
from __future__ import annotations

import dataclasses
import importlib.util
import re
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

RUBRIC_DIR = Path(__file__).parent / "rubrics"
DEMO_DIR = Path(__file__).parent / "demo"


class RubricError(ValueError):
    """The rubric named or given cannot be used (unknown name, unreadable file, no checks)."""


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    points: float
    needs: tuple[str, ...]      # signatures as written, e.g. "relu_forward(x) -> (out, cache)"
    description: str
    function: Callable[..., Any]

    @property
    def functions(self) -> tuple[str, ...]:
        """The student function names the check calls (the part of each signature before '(')."""
        return tuple(signature_name(s) for s in self.needs)


def signature_name(signature: str) -> str:
    m = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)", signature)
    if not m:
        raise RubricError(f"cannot read a function name from the signature {signature!r}")
    return m.group(1)


def check(*, points: float, needs: list[str] | tuple[str, ...] | str, name: str | None = None):
    """Mark a function ``f(student, ctx)`` as a rubric check worth ``points``."""
    if isinstance(needs, str):
        needs = (needs,)

    def mark(f):
        doc = (f.__doc__ or "").strip().split("\n\n")[0]
        f._nnmath_check = Check(name or f.__name__.replace("_", " ").strip(), float(points),
                                tuple(needs), " ".join(doc.split()), f)
        return f
    return mark


@dataclasses.dataclass
class Rubric:
    name: str
    path: Path
    title: str
    module: str | None
    checks: list[Check]
    exact: dict[str, tuple[str, Any, dict[str, Any]]]

    @property
    def total(self) -> float:
        return sum(c.points for c in self.checks)

    def check_named(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def seed_for(self, root: int, check_name: str) -> list[int]:
        """Seed sequence of one check: independent of the student and of the other checks."""
        return [root, zlib.crc32(self.name.encode()), zlib.crc32(check_name.encode())]


def shipped_rubrics() -> dict[str, Path]:
    """Shipped rubric name -> file."""
    return {p.stem.replace("_", "-"): p for p in sorted(RUBRIC_DIR.glob("*.py"))
            if not p.name.startswith("_")}


def find_rubric(name_or_path: str) -> Path:
    shipped = shipped_rubrics()
    if name_or_path in shipped:
        return shipped[name_or_path]
    path = Path(name_or_path)
    if path.suffix == ".py" and path.is_file():
        return path
    known = ", ".join(shipped)
    if path.suffix == ".py" or "/" in name_or_path:
        raise RubricError(f"no rubric file {name_or_path}; give a shipped rubric ({known}) "
                          "or an existing .py file")
    raise RubricError(f"unknown rubric {name_or_path!r}; shipped rubrics: {known} "
                      "(or give the path of a rubric .py file)")


def import_file(path: Path, module_name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def load_rubric(name_or_path: str | Path) -> Rubric:
    """Load a shipped rubric by name or a rubric file by path (see the module docstring)."""
    path = find_rubric(str(name_or_path))
    shipped = {p.resolve(): n for n, p in shipped_rubrics().items()}
    name = shipped.get(path.resolve(), path.stem.replace("_", "-"))
    try:
        module = import_file(path, "_nnmath_rubric_" + re.sub(r"\W", "_", name))
    except Exception as exc:  # the staff's file: say what is wrong with it, in one line
        where = ""
        if isinstance(exc, SyntaxError):
            where = f" (line {exc.lineno})"
        raise RubricError(f"rubric file {path} cannot be loaded{where}: "
                          f"{type(exc).__name__}: {exc}") from None
    checks = [v._nnmath_check for v in vars(module).values()
              if callable(v) and isinstance(getattr(v, "_nnmath_check", None), Check)]
    checks.sort(key=lambda c: c.function.__code__.co_firstlineno)
    if not checks:
        raise RubricError(f"rubric file {path} defines no checks (functions decorated with "
                          "@check(points=..., needs=[...]) from proofs.testing.grading)")
    names = [c.name for c in checks]
    if len(set(names)) != len(names):
        raise RubricError(f"rubric file {path}: two checks share a name")
    return Rubric(name=name, path=path.resolve(), title=str(getattr(module, "TITLE", name)),
                  module=getattr(module, "MODULE", None), checks=checks,
                  exact=dict(getattr(module, "EXACT", {})))
