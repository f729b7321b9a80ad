"""``nnmath codegen [--check]``: write, or check, the kernels generated from derive.

The work is ``numeric.codegen`` (the one numeric module that imports SymPy and derive):
``write()`` regenerates ``numeric/kernels/*.py``; ``check()`` regenerates in memory and
names every stale, missing or orphaned file (exit 1 when there is one).
"""
from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 naming every stale or missing kernel")


def run(args: argparse.Namespace) -> int:
    from numeric import codegen

    if args.check:
        problems = codegen.check()
        for p in problems:
            print(f"codegen --check: {p}", file=sys.stderr)
        if problems:
            print("run `nnmath codegen` to regenerate numeric/kernels/*.py", file=sys.stderr)
            return 1
        print("codegen --check: every generated kernel is up to date")
        return 0
    written, errors = codegen.write()
    for e in errors:
        print(f"codegen: {e}", file=sys.stderr)
    for name in written:
        print(f"wrote numeric/kernels/{name}")
    if not written:
        print("codegen: every kernel already up to date")
    return 1 if errors else 0
