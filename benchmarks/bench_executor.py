"""Benchmark of the sampling executor (proofs/stats/executor.py), printed as ratios from one
run:

* samples/s of the unpaired gelu-approx-bias experiment (GELU_tanh of float32 normals,
  the claim's own chunk function) with 1 and 2 local worker processes and a 2-worker
  Dask LocalCluster, for N samples (default 1e9);
* the Dask overhead for that N-sample claim relative to 2 local processes;
* the per-task overhead of each backend (tasks of one tiny chunk);
* from those, the predicted time of a 1e12-sample claim on W workers:
  T(W) ≈ 1e12/(W·r) + (tasks/W)·o, r the per-worker rate and o the per-task overhead.

Pools and clusters are started before timing (their start-up is reported separately).
Every backend must return the same bits; the script checks it.

    python benchmarks/bench_executor.py            # N = 1e9 (about a minute on 2 cores)
    python benchmarks/bench_executor.py --samples 2e8
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from proofs.claims.power import gelu_tanh_chunk32
from proofs.stats import executor as X


def tiny_chunk(stream, m):
    return X.Moments.of([float(m)])


def timed(ex: X.Executor, job: X.Job, n: int, seed: int = 1) -> tuple[float, X.Moments]:
    t0 = time.perf_counter()
    out = ex.run(job, n, seed)
    return time.perf_counter() - t0, out


def task_overhead(ex: X.Executor, tasks: int = 400) -> float:
    """Seconds per task of a job whose tasks do (almost) nothing."""
    job = X.Job(tiny_chunk, (), chunk=1)
    t, _ = timed(ex, job, tasks)
    return t / len(X.plan(tasks, 1, ex.backend.workers))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=float, default=1e9)
    args = ap.parse_args()
    n = int(args.samples)
    job = X.Job(gelu_tanh_chunk32, (), chunk=X.CHUNK)
    print(f"samples per run: {n:.3g}; chunk {X.CHUNK:,} samples; cores {os.cpu_count()}; "
          f"load average {os.getloadavg()[0]:.1f}")

    # the per-worker rate from CPU time: what one core delivers, whatever the load
    cpu0 = time.process_time()
    X.Executor(X.InProcess(1)).run(job, 64 * X.CHUNK, 2)
    cpu_rate = 64 * X.CHUNK / (time.process_time() - cpu0)
    print(f"one worker, by CPU time (independent of load): {cpu_rate / 1e6:.1f} M samples/s")

    results = {}
    rows = []
    for name, make in (("1 process", lambda: X.Processes(1)),
                       ("2 processes", lambda: X.Processes(2)),
                       ("Dask LocalCluster, 2 workers", lambda: X.Dask(workers=2))):
        t0 = time.perf_counter()
        try:
            backend = make()
        except X.ExecutorUnavailable as exc:
            print(f"{name}: skipped ({exc})")
            continue
        with X.Executor(backend) as ex:
            timed(ex, job, X.CHUNK)  # warm-up: workers started and imports done
            start = time.perf_counter() - t0
            seconds, out = timed(ex, job, n)
            over = task_overhead(ex)
        results[name] = out
        rows.append((name, start, seconds, n / seconds, over))
        print(f"{name:30s} start-up {start:5.1f} s   run {seconds:6.1f} s   "
              f"{n / seconds / 1e6:7.1f} M samples/s   per-task overhead {over * 1e3:6.2f} ms")

    same = len({(r.n, r.mean, r.m2) for r in results.values()}) == 1
    print(f"\nall backends returned the same bits: {same}")
    by = {r[0]: r for r in rows}
    if "1 process" in by and "2 processes" in by:
        print(f"2 processes / 1 process (samples/s):       "
              f"{by['2 processes'][3] / by['1 process'][3]:.2f}×")
    if "2 processes" in by and "Dask LocalCluster, 2 workers" in by:
        d, p = by["Dask LocalCluster, 2 workers"], by["2 processes"]
        print(f"Dask / 2 processes (run time, {n:.0e} samples): {d[2] / p[2]:.3f}× "
              f"(overhead {100 * (d[2] / p[2] - 1):+.1f}%)")
        print(f"Dask / 2 processes (samples/s):             {d[3] / p[3]:.2f}×")
    if rows:
        over = by.get("Dask LocalCluster, 2 workers", rows[0])[4]
        tasks = 1e12 / (X.CHUNK * 64)  # 64 chunks per task at that size
        print(f"\npredicted 1e12-sample claim on a Dask cluster: T(W) = 1e12/(W·r) + "
              f"{tasks:,.0f} tasks × {over * 1e3:.1f} ms/W, r = {cpu_rate / 1e6:.0f} M/s "
              f"per worker (CPU time):")
        for w in (2, 8, 32, 128, 512):
            t = 1e12 / (w * cpu_rate) + tasks * over / w
            print(f"  {w:4d} workers: {t / 60:8.1f} min" if t > 120 else
                  f"  {w:4d} workers: {t:8.1f} s")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
