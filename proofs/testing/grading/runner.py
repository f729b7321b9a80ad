"""Grade a folder of submissions: one subprocess per submission, N at a time.

Each submission is copied into a fresh scratch directory (``tempfile``) and run by
:mod:`proofs.testing.grading.worker` in a process of its own (forked from a fork server that
imported NumPy and the grading modules once, see ``START``) with stdin closed, stdout/stderr
captured to files (kept up to ``OUTPUT_KEEP`` characters in the report), its working
directory empty, and the limits of :class:`Limits`. Each check has ``timeout`` seconds of
CPU time (the worker's own timer stops it and goes on with the next check) and 3·timeout + 5
seconds of wall-clock time: the grader watches the results file the worker appends to and
kills the whole process group of a check that outlives it (code that sleeps, or ignores the
timer). When the process dies during a check (killed, memory, crash, ``os._exit``), that
check fails with the cause and a new process grades the remaining checks; when it dies while
the student's files are imported, every check fails with the cause. Nothing a submission
does reaches the grader's process or the others.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .rubric import Rubric

OUTPUT_KEEP = 2000          # characters of a student's stdout/stderr kept in the report
STARTUP_S = 60.0            # the worker's own start (Python, NumPy, rubric) before the student
WALL_FACTOR, WALL_EXTRA_S = 3.0, 5.0   # wall-clock limit per check: 3·timeout + 5 s
IGNORED = {"__pycache__", ".git", ".ipynb_checkpoints", ".DS_Store"}


class SubmissionsError(ValueError):
    """The submissions folder cannot be graded (missing, not a folder, empty)."""


@dataclasses.dataclass(frozen=True)
class Limits:
    timeout: float = 5.0     # CPU seconds per check (and for importing the student's files)
    memory_mb: int = 1024    # address space of the student's process (Python + NumPy included)
    file_mb: int = 16        # largest file (or captured output) the process may write
    seed: int = 0            # root seed of every check's data


@dataclasses.dataclass
class CheckResult:
    name: str
    points: float
    max_points: float
    passed: bool
    message: str
    seconds: float


@dataclasses.dataclass
class StudentResult:
    student: str
    path: str
    checks: list[CheckResult]
    status: str                         # "graded" | "import failed" | "grader error"
    notes: list[str]
    stdout: str
    stderr: str
    seconds: float

    @property
    def score(self) -> float:
        return sum(c.points for c in self.checks)

    @property
    def max_score(self) -> float:
        return sum(c.max_points for c in self.checks)


def find_submissions(folder: str | Path) -> list[Path]:
    """One submission per ``.py`` file or sub-folder of ``folder`` (hidden ones skipped)."""
    root = Path(folder)
    if not root.exists():
        raise SubmissionsError(f"no folder {folder}: expected a folder with one .py file or "
                               "one sub-folder per student")
    if not root.is_dir():
        raise SubmissionsError(f"{folder} is not a folder: expected a folder with one .py "
                               "file or one sub-folder per student")
    subs = sorted(p for p in root.iterdir()
                  if not p.name.startswith((".", "_")) and p.name not in IGNORED
                  and (p.is_dir() or p.suffix == ".py"))
    if not subs:
        raise SubmissionsError(f"{folder} holds no submissions: expected one .py file or one "
                               "sub-folder per student")
    return subs


def _read_events(path: Path) -> list[dict]:
    events: list[dict] = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return events
    for line in text.splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            break  # a line cut by a kill: ignore it and what follows
    return events


def _head(paths: list[Path], strip: str = "") -> str:
    """The first OUTPUT_KEEP characters of the files, one after the other."""
    data, size = b"", 0
    for path in paths:
        with open(path, "rb") as f:
            data += f.read(OUTPUT_KEEP + 1 - len(data)) if len(data) <= OUTPUT_KEEP else b""
            f.seek(0, os.SEEK_END)
            size += f.tell()
    text = data[:OUTPUT_KEEP].decode("utf-8", errors="replace")
    if strip:
        text = text.replace(strip, "")
    if size > OUTPUT_KEEP:
        text += f"\n… (truncated: {size:,} bytes in total)"
    return text


def _death_cause(returncode: int, killed_for_time: bool, limits: Limits) -> str:
    if killed_for_time:
        wall = WALL_FACTOR * limits.timeout + WALL_EXTRA_S
        return (f"stopped at the wall-clock limit ({wall:g} s): the code did not return "
                "(an infinite loop, or waiting for something?)")
    if returncode < 0:
        sig = -returncode
        if sig == signal.SIGXCPU:
            return "stopped at the CPU-time limit: the code did not return (an infinite loop?)"
        if sig == signal.SIGXFSZ:
            return (f"stopped at the output limit: printed or wrote more than "
                    f"{limits.file_mb} MB")
        if sig == signal.SIGKILL:
            return (f"the process was killed (signal 9), most likely for using too much "
                    f"memory (limit {limits.memory_mb} MB)")
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig
        return f"the process crashed ({name})"
    return (f"the process exited with status {returncode} (os._exit or a crash) instead of "
            "returning")


def _run_once(sub_copy: Path, work: Path, rubric: Rubric, checks: list[str],
              exact: dict[str, float], limits: Limits, tmp: Path,
              run_no: int) -> tuple[list[dict], int, bool]:
    """One worker process for the checks ``checks``; its own output files (a process
    stopped at the output limit leaves a full file that would stop the next one)."""
    results = tmp / f"results{run_no}.jsonl"
    job = tmp / f"job{run_no}.json"
    cpu = int(limits.timeout * (len(checks) + 1) + 10)
    job.write_text(json.dumps({
        "rubric": str(rubric.path), "submission": str(sub_copy), "checks": checks,
        "seed": limits.seed, "timeout": limits.timeout, "memory_mb": limits.memory_mb,
        "file_mb": limits.file_mb, "cpu_seconds": cpu, "exact": exact,
        "results": str(results)}), encoding="utf-8")
    out, err = tmp / f"stdout{run_no}", tmp / f"stderr{run_no}"
    proc = _start(job, out, err, work)
    deadline = time.monotonic() + STARTUP_S
    seen = 0
    killed_for_time = False
    while proc.poll() is None:
        time.sleep(0.02 if seen == 0 else 0.05)
        events = _read_events(results)
        if len(events) > seen:
            seen = len(events)
            if any(e.get("event") == "ready" for e in events):
                deadline = time.monotonic() + WALL_FACTOR * limits.timeout + WALL_EXTRA_S
        if time.monotonic() > deadline:
            killed_for_time = seen > 0
            _kill_group(proc)
            break
    _kill_group(proc)  # also any child the student's code left behind
    proc.wait()
    return _read_events(results), proc.returncode, killed_for_time


def _kill_group(proc: Any) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError, AttributeError):
        proc.kill()  # not yet in its own session


# Worker processes start from a fork server that has imported NumPy, SciPy's special
# functions and the grading modules once (about 0.5 s of CPU per process saved); each
# submission still gets a process of its own, forked from a server that never runs
# student code. START = "exec" starts a fresh interpreter per process instead.
START = os.environ.get("NNMATH_GRADE_START", "forkserver")
THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
PRELOAD = ["numpy", "scipy.special", "numeric.reference", "proofs.testing",
           "proofs.testing.grading.worker"]
GRADER_ROOT = str(Path(__file__).resolve().parents[3])  # the folder holding proofs/
_server: Any = None
_server_lock = threading.Lock()


class _Forked:
    """A process forked from the fork server, with the bits of Popen the runner uses."""

    def __init__(self, process: Any):
        self.process = process
        self.pid = process.pid

    def poll(self) -> int | None:
        return self.process.exitcode

    def wait(self) -> int:
        self.process.join()
        return self.process.exitcode

    def kill(self) -> None:
        self.process.kill()

    @property
    def returncode(self) -> int:
        return self.process.exitcode


def _fork_server() -> Any:
    global _server
    with _server_lock:
        if _server is None:
            for key, value in THREAD_ENV.items():  # inherited by the server's NumPy
                os.environ.setdefault(key, value)
            import multiprocessing.forkserver
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(PRELOAD)
            # The server's sys.path starts with its working directory: start it in the
            # folder holding the grader's packages, so that a folder named like them
            # (proofs/, numeric/) where the TA runs `nnmath grade` cannot shadow them.
            here = os.getcwd()
            os.chdir(GRADER_ROOT)
            try:
                multiprocessing.forkserver.ensure_running()
            finally:
                os.chdir(here)
            _server = ctx
    return _server


def _start(job: Path, out: Path, err: Path, work: Path) -> Any:
    if START == "forkserver":
        from .worker import forked_main
        process = _fork_server().Process(target=forked_main, daemon=False,
                                         args=(str(job), str(out), str(err), str(work)))
        process.start()
        return _Forked(process)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [GRADER_ROOT, env.get("PYTHONPATH")]))
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0", MPLBACKEND="Agg", **THREAD_ENV)
    with open(out, "wb") as fo, open(err, "wb") as fe:
        return subprocess.Popen(
            [sys.executable, "-B", "-m", "proofs.testing.grading.worker", str(job)],
            cwd=work, stdin=subprocess.DEVNULL, stdout=fo, stderr=fe, env=env,
            start_new_session=True)


def grade_submission(path: Path, rubric: Rubric, exact: dict[str, float],
                     limits: Limits) -> StudentResult:
    """Grade one submission (a .py file or a folder) in its own process(es)."""
    t0 = time.monotonic()
    student = path.stem if path.is_file() else path.name
    tmp = Path(tempfile.mkdtemp(prefix="nnmath-grade-"))
    try:
        box = tmp / "box"
        work = box / "work"
        work.mkdir(parents=True)
        if path.is_dir():
            sub_copy = box / "submission"
            shutil.copytree(path, sub_copy, symlinks=True,
                            ignore=shutil.ignore_patterns(*IGNORED, "*.pyc"))
        else:
            (box / "submission").mkdir()
            sub_copy = box / "submission" / path.name
            shutil.copy(path, sub_copy)
        sub_root = box / "submission"
        results: dict[str, tuple[bool, str, float]] = {}
        notes: list[str] = []
        status = "graded"
        todo = [c.name for c in rubric.checks]
        run_no = 0
        while todo:
            run_no += 1
            events, code, timed_out = _run_once(sub_copy, work, rubric, todo, exact,
                                                limits, tmp, run_no)
            kinds = [e.get("event") for e in events]
            for e in events:
                if e.get("event") == "result":
                    results[e["check"]] = (bool(e["passed"]), str(e["message"]),
                                           float(e["seconds"]))
            if "done" in kinds:
                break
            cause = _death_cause(code, timed_out, limits)
            if "ready" not in kinds:
                status = "grader error"
                why = f"exit status {code}" if code is not None and code >= 0 else cause
                msg = (f"not graded: the grader's worker failed before importing the "
                       f"submission ({why}; its traceback is in the captured stderr)")
                for name in todo:
                    results.setdefault(name, (False, msg, 0.0))
                notes.append(msg)
                break
            if "imported" not in kinds:
                status = "import failed"
                for name in todo:
                    results.setdefault(name, (False, f"importing the submission: {cause}",
                                              0.0))
                notes.append(f"importing the submission: {cause}")
                break
            started = [e["check"] for e in events if e.get("event") == "start"]
            current = started[-1] if started else None
            if current is not None and current not in results:
                results[current] = (False, cause, limits.timeout if timed_out else 0.0)
                notes.append(f"{current}: {cause}; the remaining checks ran in a new "
                             "process")
            todo = [n for n in todo if n not in results]
        if status == "graded":
            imported = [e for e in _read_events(tmp / "results1.jsonl")
                        if e.get("event") == "imported"]
            if imported and imported[0]["errors"]:
                notes.extend(imported[0]["errors"])
                if all(not passed for passed, _, _ in results.values()):
                    status = "import failed"
        checks = []
        for c in rubric.checks:
            passed, message, seconds = results.get(c.name, (False, "not run", 0.0))
            checks.append(CheckResult(c.name, c.points if passed else 0.0, c.points, passed,
                                      message, seconds))
        return StudentResult(student, str(path), checks, status, notes,
                             _head(sorted(tmp.glob("stdout*")), f"{sub_root}{os.sep}"),
                             _head(sorted(tmp.glob("stderr*")), f"{sub_root}{os.sep}"),
                             round(time.monotonic() - t0, 2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def exact_values(rubric: Rubric) -> dict[str, float]:
    """The rubric's EXACT table evaluated from derive, once, in the grader's process."""
    if not rubric.exact:
        return {}
    from proofs.claims import Context
    ctx = Context()
    return {key: ctx.exact(slug, name, **subs)
            for key, (slug, name, subs) in rubric.exact.items()}


def grade_class(folder: str | Path, rubric: Rubric, limits: Limits = Limits(), jobs: int = 1,
                progress=None) -> list[StudentResult]:
    """Grade every submission in ``folder``; results in the folder's (sorted) order."""
    subs = find_submissions(folder)
    exact = exact_values(rubric)
    if START == "forkserver":
        _fork_server()  # started here, before any thread, since it briefly changes the cwd

    def one(path: Path) -> StudentResult:
        result = grade_submission(path, rubric, exact, limits)
        if progress is not None:
            progress(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, subs))
