"""``nnmath errata [--json]``: the statements in the sources that nnmath refutes.

Every erratum is recorded by the derivation that decides it (catalog X rows): what the
source states, the correct form, and a witness point where the two differ.
"""
from __future__ import annotations

import argparse
import textwrap


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    import json

    import sympy as sp

    import derive

    found = derive.errata()
    if args.json:
        print(json.dumps([{
            "slug": e.slug, "source": e.source, "stated": e.stated, "correct": e.correct,
            "stated_form": sp.sstr(e.stated_expr), "derived_form": sp.sstr(e.correct_expr),
            "witness": {str(k): sp.sstr(v) for k, v in e.witness.items()},
            "difference_at_witness": sp.sstr(e.difference), "decided_by": e.decided_by,
        } for e in found], indent=2))
        return 0
    wrap = textwrap.TextWrapper(width=96, initial_indent="    ", subsequent_indent="    ")
    for e in found:
        print(f"{e.slug}  [{e.source}]  decided by `nnmath show {e.decided_by}`")
        print(wrap.fill("source states: " + e.stated))
        print(wrap.fill("correct:       " + e.correct))
        witness = ", ".join(f"{k} = {v}" for k, v in e.witness.items())
        print(wrap.fill(f"stated form {sp.sstr(e.stated_expr)} vs derived form "
                        f"{sp.sstr(e.correct_expr)}; at {witness or 'any point'} they differ "
                        f"by {sp.sstr(e.difference)}"))
        print()
    print(f"{len(found)} errata")
    return 0
