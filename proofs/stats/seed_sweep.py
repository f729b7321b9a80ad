"""Seed sweep: run ``nnmath verify`` in-process over many seeds and report every failure.

    python -m proofs.stats.seed_sweep --quick --seeds 0:1000
    python -m proofs.stats.seed_sweep --seeds 0:100            # the full suite

Each seed runs the whole suite exactly as ``nnmath verify [--quick] --seed S`` does
(proofs.stats.runner, default budget 1e-9), in ``--processes`` worker processes (default
2). With a false-fail budget B per run, a correct suite fails on a given seed with
probability at most B (up to the normal approximation of the CLT tests), so any failure
in a sweep of a thousand seeds is a defect, not bad luck. ``--time-limit`` stops starting
new seeds after that many seconds; the report says exactly how many seeds ran. Exit
status 1 when any seed failed.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import dataclasses
import json
import os
import sys
import time
from collections.abc import Iterable

# one BLAS thread per worker process: the workers already fill the cores, and BLAS
# threads spinning against each other make a loaded machine several times slower
# (set before NumPy is imported; results do not depend on it)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")


@dataclasses.dataclass
class SeedOutcome:
    seed: int
    claims: int
    assertions: int
    failures: list[str]
    seconds: float
    cpu_seconds: float


def run_seed(seed: int, quick: bool, budget: float,
             slugs: tuple[str, ...] | None = None) -> SeedOutcome:
    """One verify run; failures as 'slug / assertion: verdict or error' lines."""
    from . import runner

    t0 = time.perf_counter()
    reports = runner.run(slugs or None, seed=seed, quick=quick, budget=budget)
    failures = []
    for r in reports:
        if r.error:
            failures.append(f"{r.slug}: {r.error}")
        for v in r.verdicts:
            if v.ok:
                continue
            if v.result is None:
                what = v.error.splitlines()[-1] if v.error else "no result"
            elif not v.result.accepted:
                what = f"exact value rejected (z = {v.result.z})"
            else:
                what = f"foil not rejected (foil z = {v.result.foil_z})"
            failures.append(f"{r.slug} / {v.label}: {what}")
    return SeedOutcome(seed, len(reports), sum(len(r.verdicts) for r in reports), failures,
                       time.perf_counter() - t0, sum(r.cpu_seconds for r in reports))


def parse_seeds(text: str) -> range:
    """'A:B' (B exclusive) or a single seed."""
    try:
        if ":" in text:
            a, b = (int(x) for x in text.split(":"))
        else:
            a = int(text)
            b = a + 1
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"seeds must be 'A:B' (B exclusive) or one integer, got {text!r}") from None
    if a < 0 or b <= a:
        raise argparse.ArgumentTypeError(f"seeds must be non-negative with A < B, got {text!r}")
    return range(a, b)


def sweep(seeds: Iterable[int], *, quick: bool, budget: float, processes: int = 2,
          time_limit: float | None = None, slugs: tuple[str, ...] | None = None,
          progress=None) -> list[SeedOutcome]:
    """Run the seeds (at most ``processes`` at a time); results in seed order."""
    t0 = time.perf_counter()
    todo = iter(seeds)
    out: list[SeedOutcome] = []
    with cf.ProcessPoolExecutor(max_workers=processes) as pool:
        running: set[cf.Future] = set()

        def submit_more() -> None:
            while len(running) < processes:
                if time_limit is not None and time.perf_counter() - t0 > time_limit:
                    return
                seed = next(todo, None)
                if seed is None:
                    return
                running.add(pool.submit(run_seed, seed, quick, budget, slugs))
        submit_more()
        while running:
            done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for f in done:
                running.discard(f)
                res = f.result()
                out.append(res)
                if progress:
                    bad = sum(1 for r in out if r.failures)
                    progress(f"seed {res.seed}: {len(res.failures)} failures "
                             f"({len(out)} seeds done, {bad} failed, "
                             f"{time.perf_counter() - t0:.0f} s)"
                             + "".join(f"\n  seed {res.seed}: {f}" for f in res.failures))
            submit_more()
    return sorted(out, key=lambda r: r.seed)


def summary(outcomes: list[SeedOutcome], *, quick: bool, budget: float,
            wall: float) -> str:
    bad = [o for o in outcomes if o.failures]
    n_ass = sum(o.assertions for o in outcomes)
    seeds = [o.seed for o in outcomes]
    span = f"{min(seeds)}–{max(seeds)}" if seeds else "none"
    lines = [f"{'quick' if quick else 'full'} suite, budget {budget:g}: {len(outcomes)} seeds "
             f"({span}), {n_ass:,} assertion verdicts, {len(bad)} seeds with failures; "
             f"{wall:.0f} s wall, {sum(o.cpu_seconds for o in outcomes):.0f} s CPU"]
    for o in bad:
        lines += [f"  seed {o.seed}: {f}" for f in o.failures]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from .runner import DEFAULT_BUDGET

    p = argparse.ArgumentParser(prog="python -m proofs.stats.seed_sweep",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=parse_seeds, default=range(0, 100),
                   help="seed range A:B, B exclusive (default 0:100)")
    p.add_argument("--quick", action="store_true", help="the quick suite")
    p.add_argument("--processes", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--budget", type=float, default=DEFAULT_BUDGET,
                   help="suite-wide false-fail probability per run (default 1e-9)")
    p.add_argument("--time-limit", type=float, default=None,
                   help="start no new seed after this many seconds")
    p.add_argument("--json", metavar="FILE", help="also write every outcome as JSON")
    p.add_argument("slugs", nargs="*", help="claims to run (default: the whole suite)")
    args = p.parse_args(argv)
    if args.processes < 1:
        p.error(f"--processes must be at least 1, got {args.processes}")
    if not 0 < args.budget < 1:
        p.error(f"--budget must be strictly between 0 and 1, got {args.budget}")
    t0 = time.perf_counter()
    outcomes = sweep(args.seeds, quick=args.quick, budget=args.budget,
                     processes=args.processes, time_limit=args.time_limit,
                     slugs=tuple(args.slugs) or None,
                     progress=lambda m: print(m, file=sys.stderr, flush=True))
    text = summary(outcomes, quick=args.quick, budget=args.budget,
                   wall=time.perf_counter() - t0)
    print(text)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump([dataclasses.asdict(o) for o in outcomes], fh, indent=1)
    return 1 if any(o.failures for o in outcomes) else 0


if __name__ == "__main__":
    raise SystemExit(main())
