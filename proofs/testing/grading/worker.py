"""The process one submission runs in: :func:`forked_main` in a process forked from the
grader's fork server, or ``python -m proofs.testing.grading.worker JOB.json``.

Started by :mod:`proofs.testing.grading.runner`, never by hand. It limits itself first
(``resource.setrlimit``: address space from ``--memory``, CPU seconds, file size, no core
dumps), then imports the rubric and the student's files and runs the requested checks one
after the other, each under an interval timer (``--timeout`` seconds of CPU time, so a
busy machine does not fail slow-but-correct code; code that sleeps is stopped by the
grader's wall-clock watchdog). Every
step is appended as one JSON line to the results file named in the job, so the grader
knows what was running when the process died; the student's own output goes to
stdout/stderr, which the grader captures.

This isolates accidents (hangs, memory bombs, crashes, ``sys.exit``, stray prints and files
written to the working directory); it is not a security sandbox for hostile code.
"""
from __future__ import annotations

import json
import os
import resource
import signal
import sys
import time
import traceback
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TextIO

from .rubric import Check, Rubric, load_rubric


TIMER = signal.ITIMER_PROF  # CPU time of this process (user + system): load does not count


class TimeLimitExceeded(BaseException):
    """Raised by the interval timer (BaseException: a student's ``except Exception`` in a
    loop does not swallow it)."""


def _set_limits(job: dict) -> None:
    mb = int(job["memory_mb"])
    if mb > 0:
        resource.setrlimit(resource.RLIMIT_AS, (mb * 2**20, mb * 2**20))
    cpu = int(job["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    size = int(job["file_mb"]) * 2**20
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _on_alarm(signum, frame):
    raise TimeLimitExceeded


class Results:
    def __init__(self, path: str):
        self.file: TextIO = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115

    def write(self, **event: Any) -> None:
        self.file.write(json.dumps(event) + "\n")
        self.file.flush()


def where_in_submission(tb, root: Path) -> str:
    """'layers.py line 12 in batchnorm_forward' for the deepest frame in the student's files."""
    found = ""
    for frame in traceback.extract_tb(tb):
        try:
            rel = Path(frame.filename).resolve().relative_to(root)
        except ValueError:
            continue
        found = f"{rel} line {frame.lineno}" + (f" in {frame.name}"
                                                 if frame.name != "<module>" else "")
    return found


def describe_exception(exc: BaseException, root: Path, limit_s: float, memory_mb: int,
                       importing: bool = False) -> str:
    if isinstance(exc, TimeLimitExceeded):
        return (f"stopped at the time limit ({limit_s:g} s of CPU time): the code did not "
                "return (an infinite loop?)")
    where = where_in_submission(exc.__traceback__, root)
    at = f" at {where}" if where else ""
    if isinstance(exc, SystemExit):
        if importing:
            return (f"the file called sys.exit({exc.code!r}){at} while being imported "
                    "(guard script code with `if __name__ == \"__main__\":`)")
        return f"the code called sys.exit({exc.code!r}){at}; a graded function must return"
    if isinstance(exc, MemoryError):
        return (f"stopped at the memory limit ({memory_mb} MB){at}: MemoryError "
                f"{str(exc)[:200]}".rstrip())
    text = " ".join(str(exc).split())
    if len(text) > 600:
        text = text[:600] + " …"
    return f"{type(exc).__name__}: {text}{at}"


def import_submission(sub: Path, module_hint: str | None, results: Results, limit_s: float,
                      memory_mb: int) -> tuple[dict[str, Any], list[str]]:
    """Import the student's files; return (name -> object, import error messages)."""
    from .rubric import import_file

    if sub.is_file():
        files = [sub]
        root = sub.parent
    else:
        root = sub
        hinted = sub / f"{module_hint}.py" if module_hint else None
        if hinted is not None and hinted.is_file():
            files = [hinted]
        else:
            files = sorted(p for p in sub.glob("*.py")
                           if not p.name.startswith(("test_", "_")) and p.name != "setup.py")
    sys.path.append(str(root))  # helper modules of a folder submission (never shadowing)
    namespace: dict[str, Any] = {}
    errors: list[str] = []
    if not files:
        errors.append("the submission contains no .py file")
    for i, path in enumerate(files):
        signal.setitimer(TIMER, limit_s)
        try:
            module = import_file(path, f"_nnmath_submission_{i}")
        except BaseException as exc:  # a student's file may raise anything, even SystemExit
            signal.setitimer(TIMER, 0)
            msg = describe_exception(exc, root.resolve(), limit_s, memory_mb, importing=True)
            errors.append(f"importing {path.name} failed: {msg}")
            continue
        signal.setitimer(TIMER, 0)
        for key, value in vars(module).items():
            if not key.startswith("_"):
                namespace.setdefault(key, value)
    results.write(event="imported", errors=errors, files=[p.name for p in files])
    return namespace, errors


def run_check(rubric: Rubric, chk: Check, namespace: dict[str, Any], root_seed: int,
              exact: dict[str, float]) -> None:
    """Run one check on the student's namespace with its data seeded as every student's is:
    ``ctx.rng`` from (root seed, rubric, check), and ``np.random`` and ``random`` seeded
    from the same numbers for code that draws from the global generators. Raises what the
    check raises (AssertionError: failed)."""
    import random

    import numpy as np

    seed = rubric.seed_for(root_seed, chk.name)
    student = SimpleNamespace(**{f: namespace[f] for f in chk.functions})
    ctx = SimpleNamespace(rng=np.random.default_rng(seed), seed=seed, exact=exact,
                          name=chk.name)
    np.random.seed(np.random.SeedSequence(seed).generate_state(1)[0])
    random.seed(repr(seed))
    chk.function(student, ctx)


def run(job: dict) -> None:
    _set_limits(job)
    results = Results(job["results"])
    signal.signal(signal.SIGPROF, _on_alarm)
    import numpy  # noqa: F401  (imported before the student's code runs)

    rubric = load_rubric(job["rubric"])
    results.write(event="ready")
    limit_s = float(job["timeout"])
    memory_mb = int(job["memory_mb"])
    sub = Path(job["submission"])
    root = (sub.parent if sub.is_file() else sub).resolve()
    namespace, import_errors = import_submission(sub, rubric.module, results, limit_s,
                                                 memory_mb)
    for name in job["checks"]:
        chk = rubric.check_named(name)
        results.write(event="start", check=name)
        t0 = time.perf_counter()
        missing = [s for s, f in zip(chk.needs, chk.functions)
                   if not callable(namespace.get(f))]
        if missing:
            if import_errors:
                message = "not graded: " + "; ".join(import_errors)
            else:
                message = f"the submission defines no function {', '.join(missing)}"
            results.write(event="result", check=name, passed=False, message=message,
                          seconds=0.0)
            continue
        signal.setitimer(TIMER, limit_s)
        try:
            run_check(rubric, chk, namespace, int(job["seed"]), dict(job["exact"]))
        except AssertionError as exc:
            signal.setitimer(TIMER, 0)
            passed, message = False, str(exc) or "assertion failed (no message)"
            own = where_in_submission(exc.__traceback__, root)
            if own:  # raised inside the student's code: their own assert
                message = f"an assert in the submission failed at {own}: {exc}".rstrip(": ")
        except BaseException as exc:
            signal.setitimer(TIMER, 0)
            passed, message = False, describe_exception(exc, root, limit_s, memory_mb)
        else:
            signal.setitimer(TIMER, 0)
            passed, message = True, ""
        results.write(event="result", check=name, passed=passed, message=message,
                      seconds=round(time.perf_counter() - t0, 4))
    results.write(event="done")


def forked_main(job_path: str, out_path: str, err_path: str, cwd: str) -> None:
    """Entry point in a process forked from the grader's fork server (NumPy, SciPy and the
    grading modules already imported, no student code ever run there): a new session, stdin
    from /dev/null, stdout/stderr to the given files, the scratch directory as cwd."""
    os.setsid()
    for fd, path, flags in ((0, os.devnull, os.O_RDONLY),
                            (1, out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                            (2, err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
        new = os.open(path, flags, 0o600)
        os.dup2(new, fd)
        os.close(new)
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115
    sys.stdout = open(1, "w", encoding="utf-8", errors="replace", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", errors="replace", buffering=1, closefd=False)  # noqa: SIM115
    os.chdir(cwd)
    sys.dont_write_bytecode = True
    sys.argv = [sys.argv[0] if sys.argv else "worker", job_path]
    main()


def main() -> None:
    job = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    try:
        run(job)
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(3)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # skip any atexit handler the student's code registered


if __name__ == "__main__":
    main()
