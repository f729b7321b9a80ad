"""``nnmath list``, ``nnmath show`` and ``nnmath errata``: the derive side of the CLI."""
from __future__ import annotations

import argparse
import inspect
import sys
import textwrap


def add_list_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--section", type=int, help="only this catalog section (1-11)")


def run_list(args: argparse.Namespace) -> int:
    import derive

    rows = [(e.slug, e.kinds, e.title, e.source, e.section)
            for e in derive.entries().values()]
    try:
        from .. import claims
        derived = {r[0] for r in rows}
        for c in claims.entries().values():
            if c.slug not in derived:
                rows.append((c.slug, c.kinds, c.title, c.source, c.section))
    except ImportError:  # proofs.claims not built yet
        pass
    rows.sort(key=lambda r: r[4])
    if args.section is not None:
        rows = [r for r in rows if r[4] == args.section]
    width = max((len(r[0]) for r in rows), default=4)
    src = min(max((len(r[3]) for r in rows), default=6), 28)
    print(f"{'slug':<{width}}  {'kind':<7} {'source':<{src}}  title")
    for slug, kinds, title, source, _ in rows:
        source = source if len(source) <= src else source[:src - 1] + "…"
        print(f"{slug:<{width}}  {kinds:<7} {source:<{src}}  {title}")
    return 0


def add_show_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("slug", help="a catalog slug, e.g. batchnorm-backward")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true", help="LaTeX (an align* fragment)")
    fmt.add_argument("--text", action="store_true", help="plain text (the default)")
    parser.add_argument("--standalone", action="store_true",
                        help="a complete LaTeX document for pdflatex (implies --latex)")


def run_show(args: argparse.Namespace) -> int:
    import derive

    try:
        d = derive.get(args.slug)
    except derive.UnknownSlug:
        from .. import claims
        if args.slug in claims.entries():  # a claim-only row (kind C): describe the claim
            sys.stdout.write(_claim_description(claims.entries()[args.slug], args))
            return 0
        suggestions = claims_and_derivations_closest(args.slug)
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        print(f"nnmath show: no derivation or claim named {args.slug!r}{hint} "
              f"(`nnmath list` shows all)", file=sys.stderr)
        return 2
    if args.latex or args.standalone:
        sys.stdout.write(d.to_latex(standalone=args.standalone))
    else:
        sys.stdout.write(d.to_text())
    return 0


def claims_and_derivations_closest(slug: str) -> list[str]:
    import derive

    from .. import claims
    pool = dict.fromkeys([*derive.entries(), *claims.entries()])  # ordered, no repeats
    return derive.closest(slug, list(pool))


def _claim_description(entry, args: argparse.Namespace) -> str:
    """A claim-only catalog row: what is verified, from where, and how to run it."""
    lines = [f"{entry.slug} — {entry.title}", f"source: {entry.source}",
             f"kind: {entry.kinds} (a claim checked by experiment, not a derivation)", "",
             inspect.cleandoc(entry.doc), ""]
    if entry.derivations:
        lines.append("exact values from: " + ", ".join(
            f"`nnmath show {s}`" for s in entry.derivations))
    lines.append(f"run it: nnmath verify {entry.slug}")
    text = "\n".join(lines) + "\n"
    if not (args.latex or args.standalone):
        return text
    from derive.render import escape_text
    paragraphs = [p for p in text.strip().split("\n\n") if p.strip()]
    body = "\n\n".join("\\noindent " + " \\newline\n".join(
        escape_text(line) for line in para.splitlines()) for para in paragraphs)
    if not args.standalone:
        return body + "\n"
    return ("\\documentclass[11pt]{article}\n\\usepackage[T1]{fontenc}\n"
            "\\usepackage{amsmath,amssymb}\n\\usepackage[margin=2cm]{geometry}\n"
            "\\begin{document}\n" + body + "\n\\end{document}\n")


def add_errata_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run_errata(args: argparse.Namespace) -> int:
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
