"""Benchmark: dropout–ReLU samples per second of proofs.stats.sampler (target ≥ 150 M/s on 2 cores).

    python benchmarks/bench_sampler.py [--samples N] [--threads 1 2] [--p 0.5]

Each sample is m·ReLU(z)/(1 − p), z ~ N(0, 1), m ~ Bernoulli(1 − p), generated densely in
float32 chunks (Box–Muller normals, raw-bit masks) and reduced to Σx, Σx² in float64.
Also times the straightforward NumPy version (standard_normal + random, float32) for
comparison, and checks both against the exact mean E = 1/√(2π) (z-score printed).
Note: the wall-clock rate depends on other load on the machine; run it on an idle one.
The CPU-time rate (samples per CPU-second, times the number of threads) is also printed:
on a shared machine it estimates what the same threads deliver on idle cores.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


def naive(n: int, p: float, seed: int) -> tuple[int, float, float]:
    import numpy as np
    rng = np.random.default_rng(seed)
    chunk = 1 << 16
    z = np.empty(chunk, np.float32)
    u = np.empty(chunk, np.float32)
    s1 = s2 = 0.0
    for start in range(0, n, chunk):
        k = min(chunk, n - start)
        rng.standard_normal(dtype=np.float32, out=z)
        rng.random(dtype=np.float32, out=u)
        x = np.maximum(z[:k], 0) * (u[:k] >= p) / np.float32(1 - p)
        s1 += float(x.sum(dtype=np.float64))
        s2 += float(np.dot(x, x))
    return n, s1, s2


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=600_000_000)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--p", type=float, default=0.5, help="drop probability")
    ap.add_argument("--naive", type=int, default=50_000_000,
                    help="samples for the naive comparison (0 to skip)")
    args = ap.parse_args(argv)

    from proofs.stats.sampler import dropout_relu_power_sums
    exact = 1 / math.sqrt(2 * math.pi)
    var = 0.5 / (1 - args.p) - 1 / (2 * math.pi)
    print(f"cores: {os.cpu_count()}, p = {args.p}, {args.samples:,} samples per run")
    dropout_relu_power_sums(1 << 20, 0, args.p, order=2)  # warm up
    best = best_cpu = 0.0
    for threads in args.threads:
        t0, c0 = time.perf_counter(), time.process_time()
        ps = dropout_relu_power_sums(args.samples, 1, args.p, order=2, threads=threads)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        rate = ps.n / dt / 1e6
        cpu_rate = ps.n / cpu / 1e6 * threads
        best, best_cpu = max(best, rate), max(best_cpu, cpu_rate)
        z = (ps.s1 / ps.n - exact) / math.sqrt(var / ps.n)
        print(f"proofs.stats.sampler, {threads} thread(s): {rate:7.1f} M samples/s wall "
              f"({dt:.2f} s), {cpu_rate:7.1f} M/s by CPU time on {threads} core(s); "
              f"mean z vs exact = {z:+.2f}")
    if args.naive:
        t0 = time.perf_counter()
        n, s1, _ = naive(args.naive, args.p, 2)
        dt = time.perf_counter() - t0
        z = (s1 / n - exact) / math.sqrt(var / n)
        print(f"naive NumPy (standard_normal + random, 1 thread): {n / dt / 1e6:7.1f} M/s; "
              f"mean z = {z:+.2f}")
    print(f"best: {best:.1f} M samples/s wall, {best_cpu:.1f} M/s by CPU time "
          f"(target 150 on 2 idle cores); load average now {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
