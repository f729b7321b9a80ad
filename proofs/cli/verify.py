"""``nnmath verify [SLUG ...] [--seed N] [--json] [--quick] [--plots DIR]
[--workers N [--dask] | --scheduler ADDRESS] [--heavy]``.

Runs the claims (all, the quick subset, or the named ones), prints the verdict table
(claim, exact, estimate, SE, z, foil z, verdict), progress on stderr, and exits 1 if any
claim fails, 2 on an unknown slug.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from . import UsageError, nonnegative_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..stats.runner import DEFAULT_BUDGET, DEFAULT_SEED
    parser.add_argument("slugs", nargs="*", metavar="SLUG", help="claims to run (default: all)")
    parser.add_argument("--seed", type=nonnegative_int, default=DEFAULT_SEED,
                        help=f"root seed of every experiment (default {DEFAULT_SEED})")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--quick", action="store_true",
                        help="the fast subset with smaller parameter grids (< 10 s)")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET,
                        help="suite-wide false-fail probability, split over all assertions "
                             f"(default {DEFAULT_BUDGET:g})")
    parser.add_argument("--plots", metavar="DIR",
                        help="also write PNG figures to DIR (needs matplotlib)")
    parser.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    parser.add_argument("--workers", type=_positive_int, metavar="N",
                        help="sample on N local worker processes (same estimates as the "
                             "default in-process run)")
    parser.add_argument("--dask", action="store_true",
                        help="with --workers N: a Dask LocalCluster of N workers "
                             "(needs pip install \".[dask]\")")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="sample on the Dask cluster of this scheduler, e.g. "
                             "tcp://127.0.0.1:8786 (needs pip install \".[dask]\")")
    parser.add_argument("--heavy", action="store_true",
                        help="also run the heavy assertions (billions of samples, e.g. the "
                             "unpaired gelu-approx-bias test); use --workers or --scheduler")


def _positive_int(text: str) -> int:
    value = nonnegative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number ≥ 1, got {value}")
    return value


def _executor(args: argparse.Namespace):
    """The sampling executor the options ask for (proofs.stats.executor); UsageError when
    Dask is asked for but missing or unreachable."""
    from ..stats import executor, progress
    if args.dask and args.scheduler:
        raise UsageError("give either --scheduler ADDRESS (an existing cluster) or "
                         "--workers N --dask (a local cluster), not both")
    sink = progress.for_terminal(json_output=args.json, disabled=args.no_progress)
    try:
        return executor.make(args.workers, dask=args.dask, scheduler=args.scheduler,
                             progress=sink)
    except executor.ExecutorUnavailable as exc:
        raise UsageError(str(exc)) from None


def _check_plots_dir(path: str) -> None:
    """--plots DIR must be usable BEFORE the run: matplotlib present, DIR a directory (made
    if missing) that we may write to; else UsageError (one line, exit 2)."""
    from .. import plots
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"--plots: {path!r} exists and is not a directory; give a "
                         "directory for the PNG figures")
    problem = plots.unavailable()
    if problem:
        raise UsageError(f"--plots: {problem}")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--plots: cannot create the directory {path!r}: "
                         f"{exc.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"--plots: the directory {path!r} is not writable")


def run(args: argparse.Namespace) -> int:
    from .. import claims
    from ..stats import runner

    if not 0 < args.budget < 1:
        raise UsageError(f"--budget must be in (0, 1), got {args.budget}")
    for slug in args.slugs:
        try:
            claims.get(slug)
        except claims.UnknownClaim as exc:
            raise UsageError(str(exc)) from None
    if args.plots:
        _check_plots_dir(args.plots)
    progress = None if args.no_progress else runner.stderr_progress
    from ..stats import executor
    with _executor(args) as ex, executor.use(ex):
        reports = runner.run(args.slugs or None, seed=args.seed, quick=args.quick,
                             budget=args.budget, progress=progress, heavy=args.heavy)
    if args.json:
        print(json.dumps(runner.to_json(reports, seed=args.seed, budget=args.budget),
                         indent=2))
    else:
        from .verify_table import table
        print(table(reports))
    if args.plots:
        from .. import plots
        for path in plots.write_all(args.plots, seed=args.seed, quick=args.quick):
            print(f"wrote {path}", file=sys.stderr)
    return 0 if all(r.ok for r in reports) else 1
