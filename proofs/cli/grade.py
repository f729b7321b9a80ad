"""``nnmath grade``: grade a folder of student submissions against a rubric.

Each submission (a .py file or a sub-folder) runs in its own process with a time and
memory limit (``proofs.testing.grading``); the reports (JSON, CSV, Markdown) go to --out
and a short summary to stdout. Exit status 0 when grading completed, whatever the
students scored; 2 for bad input (a missing folder, an unknown rubric).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from . import UsageError


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 1, got {value}")
    return value


def _memory_mb(text: str) -> int:
    value = _positive_int(text)
    if value < 300:
        raise argparse.ArgumentTypeError(f"expected at least 300 MB (Python, NumPy and the "
                                         f"grader take about 200 MB of address space), "
                                         f"got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("submissions", nargs="?", metavar="SUBMISSIONS",
                        help="folder with one .py file or one sub-folder per student")
    parser.add_argument("--rubric", metavar="RUBRIC",
                        help="a shipped rubric (see --list) or a rubric .py file")
    parser.add_argument("--list", action="store_true",
                        help="list the shipped rubrics and their demo classes, then exit")
    parser.add_argument("--out", default="grades", metavar="DIR",
                        help="folder for grades.json, grades.csv, feedback.csv, summary.md "
                             "(default ./grades)")
    parser.add_argument("--jobs", type=_positive_int, default=os.cpu_count() or 1,
                        metavar="N", help="submissions graded at a time (default: CPU count)")
    parser.add_argument("--timeout", type=_positive_float, default=5.0, metavar="S",
                        help="CPU-time limit in seconds for each check (default 5, where a "
                             "correct submission needs well under 1); the wall-clock limit "
                             "is 3·S + 5")
    parser.add_argument("--memory", type=_memory_mb, default=1024, metavar="MB",
                        help="address-space limit of each submission's process (default 1024)")
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="root seed of the checks' data (default 0; same for every student)")


def list_rubrics() -> str:
    from proofs.testing.grading import DEMO_DIR, load_rubric, shipped_rubrics

    lines = ["shipped rubrics (nnmath grade SUBMISSIONS --rubric NAME):"]
    for name in shipped_rubrics():
        r = load_rubric(name)
        lines.append(f"  {name:<15} {len(r.checks)} checks, {r.total:g} points: {r.title}")
        demo = DEMO_DIR / name
        if demo.is_dir():
            lines.append(f"  {'':<15} demo class: {demo}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from proofs.testing.grading import RubricError, load_rubric
    from proofs.testing.grading.report import terminal_summary, write_reports
    from proofs.testing.grading.runner import (Limits, SubmissionsError, find_submissions,
                                               grade_class)

    if args.list:
        print(list_rubrics())
        return 0
    if not args.submissions:
        raise UsageError("give the SUBMISSIONS folder (or --list to see the rubrics)")
    if not args.rubric:
        raise UsageError("give --rubric NAME or --rubric FILE.py (--list shows the shipped "
                         "rubrics)")
    if args.seed < 0:
        raise UsageError(f"--seed must be ≥ 0, got {args.seed}")
    try:
        rubric = load_rubric(args.rubric)
    except RubricError as exc:
        raise UsageError(str(exc)) from None
    try:
        find_submissions(args.submissions)
    except SubmissionsError as exc:
        raise UsageError(str(exc)) from None
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {args.out} is a file; expected a folder for the reports")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the --out folder {args.out}: {exc.strerror}") from None
    if not os.access(out, os.W_OK):
        raise UsageError(f"the --out folder {args.out} is not writable")
    limits = Limits(timeout=args.timeout, memory_mb=args.memory, seed=args.seed)
    progress = None
    if sys.stderr.isatty():
        done = [0]

        def progress(result):
            done[0] += 1
            print(f"\r  graded {done[0]} ({result.student})".ljust(60), end="",
                  file=sys.stderr, flush=True)
    t0 = time.monotonic()
    try:
        results = grade_class(args.submissions, rubric, limits, jobs=args.jobs,
                              progress=progress)
    except SubmissionsError as exc:
        raise UsageError(str(exc)) from None
    seconds = time.monotonic() - t0
    if progress is not None:
        print("\r" + " " * 60 + "\r", end="", file=sys.stderr)
    paths = write_reports(out, rubric, results, limits, seconds)
    print(terminal_summary(rubric, results, seconds))
    print(f"reports: {', '.join(str(p) for p in paths)}")
    broken = [r for r in results if r.status == "grader error"]
    if broken:  # the grader's own process failed: a bug (or an impossible limit), not a grade
        print(f"nnmath grade: the grader's worker failed for {len(broken)} submission(s); its "
              f"output for {broken[0].student}:\n{broken[0].stderr}", file=sys.stderr)
        return 1
    return 0
