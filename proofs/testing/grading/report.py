"""Reports of a graded class: grades.json, grades.csv, feedback.csv, summary.md, stdout.

* ``grades.json``  everything: rubric, limits, seed, and per student and per check the
  verdict, the diagnosis message, points, seconds, plus the captured stdout/stderr;
* ``grades.csv``   one row per student: total, then the points of every check (a gradebook);
* ``feedback.csv`` one row per student and check: passed, points, message;
* ``summary.md``   the class summary (scores, pass rate of every check, the most common
  failure messages) and each student's failures.
"""
from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

from .rubric import Rubric
from .runner import Limits, StudentResult


def _pts(x: float) -> str:
    return f"{x:g}"


def to_json(rubric: Rubric, results: list[StudentResult], limits: Limits,
            seconds: float) -> dict:
    return {
        "rubric": {"name": rubric.name, "title": rubric.title, "file": str(rubric.path),
                   "total": rubric.total,
                   "checks": [{"name": c.name, "points": c.points, "needs": list(c.needs),
                               "description": c.description,
                               "data_seed": rubric.seed_for(limits.seed, c.name)}
                              for c in rubric.checks]},
        "limits": {"timeout_s": limits.timeout, "memory_mb": limits.memory_mb,
                   "file_mb": limits.file_mb},
        "seed": limits.seed,
        "seconds": round(seconds, 2),
        "students": [{
            "student": r.student, "path": r.path, "score": r.score, "max": r.max_score,
            "status": r.status, "notes": r.notes, "seconds": r.seconds,
            "checks": [{"name": c.name, "passed": c.passed, "points": c.points,
                        "max_points": c.max_points, "message": c.message,
                        "seconds": c.seconds} for c in r.checks],
            "stdout": r.stdout, "stderr": r.stderr} for r in results],
    }


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _first_line(message: str, width: int = 160) -> str:
    line = " ".join(message.split())
    return line if len(line) <= width else line[:width - 1] + "…"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(rubric: Rubric, results: list[StudentResult], limits: Limits,
                seconds: float) -> str:
    scores = [r.score for r in results]
    lines = [f"# {rubric.title}", "",
             f"Rubric `{rubric.name}` ({_n(len(rubric.checks), 'check')}, "
             f"{_pts(rubric.total)} points); {_n(len(results), 'submission')} graded in "
             f"{seconds:.1f} s; limits per check {limits.timeout:g} s of CPU time and "
             f"{limits.memory_mb} MB; data seed {limits.seed}.",
             "",
             f"Mean {statistics.fmean(scores):.1f}, median {statistics.median(scores):g}, "
             f"full marks {sum(r.score == r.max_score for r in results)} of {len(results)}.",
             "", "## Scores", "", "| student | score | status | failed checks |",
             "|---|---:|---|---|"]
    for r in results:
        failed = ", ".join(c.name for c in r.checks if not c.passed) or "—"
        if r.status != "graded":
            failed = f"all ({r.notes[0] if r.notes else r.status})"
        lines.append(f"| {_md_cell(r.student)} | {_pts(r.score)}/{_pts(r.max_score)} | "
                     f"{r.status} | {_md_cell(failed)} |")
    lines += ["", "## Checks", "", "| check | points | passed | failed by |",
              "|---|---:|---:|---|"]
    for i, c in enumerate(rubric.checks):
        verdicts = [r.checks[i] for r in results]
        failed_by = [r.student for r in results if not r.checks[i].passed]
        shown = ", ".join(failed_by[:12]) + (f" and {len(failed_by) - 12} more"
                                            if len(failed_by) > 12 else "")
        lines.append(f"| {c.name} | {_pts(c.points)} | "
                     f"{sum(v.passed for v in verdicts)}/{len(verdicts)} | "
                     f"{_md_cell(shown) or '—'} |")
    lines += ["", "## Feedback", ""]
    for r in results:
        lines.append(f"### {r.student}: {_pts(r.score)}/{_pts(r.max_score)}")
        lines.append("")
        bad = [c for c in r.checks if not c.passed]
        if not bad:
            lines.append("Every check passed.")
        for v in bad:
            lines.append(f"- **{v.name}** (0/{_pts(v.max_points)}): "
                         + " ".join(v.message.split()))
        for note in r.notes:
            if not any(note in v.message for v in bad):
                lines.append("- note: " + " ".join(note.split()))
        lines.append("")
    return "\n".join(lines)


def write_reports(out: Path, rubric: Rubric, results: list[StudentResult], limits: Limits,
                  seconds: float) -> list[Path]:
    """Write the four report files into ``out`` (created); return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "grades.json", out / "grades.csv", out / "feedback.csv", out / "summary.md"]
    paths[0].write_text(json.dumps(to_json(rubric, results, limits, seconds), indent=1,
                                   ensure_ascii=False) + "\n", encoding="utf-8")
    with open(paths[1], "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student", "score", "max", "status", *[c.name for c in rubric.checks]])
        for r in results:
            w.writerow([r.student, _pts(r.score), _pts(r.max_score), r.status,
                        *[_pts(c.points) for c in r.checks]])
    with open(paths[2], "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student", "check", "passed", "points", "max_points", "message"])
        for r in results:
            for c in r.checks:
                w.writerow([r.student, c.name, int(c.passed), _pts(c.points),
                            _pts(c.max_points), c.message])
    paths[3].write_text(to_markdown(rubric, results, limits, seconds) + "\n",
                        encoding="utf-8")
    return paths


def terminal_summary(rubric: Rubric, results: list[StudentResult], seconds: float,
                     width: int = 110) -> str:
    """One line per student (score, status, the checks failed) and one for the class."""
    name_w = min(max(len(r.student) for r in results), 32)
    lines = [f"{_n(len(results), 'submission')} graded against {rubric.name} "
             f"({_n(len(rubric.checks), 'check')}, {_pts(rubric.total)} points) in "
             f"{seconds:.1f} s"]
    for r in results:
        failed = [c.name for c in r.checks if not c.passed]
        if r.status != "graded":
            why = r.notes[0] if r.notes else r.checks[0].message
            text = f"{r.status}: {why.split(' failed: ', 1)[-1]}"
        else:
            text = ("failed: " + ", ".join(failed)) if failed else "all checks passed"
        head = f"  {r.student:<{name_w}}  {_pts(r.score):>4}/{_pts(r.max_score)}  "
        room = max(width - len(head), 20) if r.status == "graded" else 400
        lines.append(head + _first_line(text, room))
    scores = [r.score for r in results]
    lines.append(f"mean {statistics.fmean(scores):.1f}, median {statistics.median(scores):g}; "
                 f"full marks {sum(r.score == r.max_score for r in results)} of {len(results)}")
    return "\n".join(lines)
