"""Grade a class: run every student's submission against a rubric, each in its own process.

``nnmath grade SUBMISSIONS --rubric RUBRIC`` (``proofs/cli/grade.py``) is the command;
this package is the machinery:

* :mod:`.rubric`  the rubric format (a Python file of ``@check`` functions) and the
  shipped rubrics (``rubrics/``: ``cs231n-layers``, ``hw000``), each with a demo class
  (``demo/<rubric>/``: one correct submission, typical mistakes, and submissions that
  hang, exhaust memory, fail to import or call ``sys.exit``);
* :mod:`.helpers` what checks share: ``pure_call`` (no writes into arguments),
  ``returns``, ``expect`` (float64 reference comparison naming the symptom), ``batch``;
* :mod:`.worker`  the per-submission process (limits, scratch directory, one JSON line
  per event);
* :mod:`.runner`  discovery, the process pool, watchdog and restarts;
* :mod:`.report`  JSON, CSV and Markdown outputs and the terminal summary.

Data are seeded per check from (root seed, rubric, check name): every student gets the
same inputs, whatever the order or the other checks.
"""
from __future__ import annotations

from .helpers import batch, expect, pure_call, returns, unbiased_foil
from .rubric import DEMO_DIR, Check, Rubric, RubricError, check, load_rubric, shipped_rubrics

__all__ = [
    "DEMO_DIR",
    "Check",
    "Rubric",
    "RubricError",
    "batch",
    "check",
    "expect",
    "load_rubric",
    "pure_call",
    "returns",
    "shipped_rubrics",
    "unbiased_foil",
]
