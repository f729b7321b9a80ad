"""``nnmath show SLUG [--latex|--text] [--standalone] [--full]``: a derivation or a claim row.

A derivation prints as plain text for the terminal (the default) or LaTeX (an ``align*``
fragment, or with ``--standalone`` a document ``pdflatex`` compiles). A row with a claim
but no derivation is described: what is verified, where its exact values come from, and
the command that runs it.
"""
from __future__ import annotations

import argparse
import inspect
import sys

from . import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("slug", help="a catalog slug, e.g. batchnorm-backward")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true", help="LaTeX (an align* fragment)")
    fmt.add_argument("--text", action="store_true", help="plain text (the default)")
    parser.add_argument("--standalone", action="store_true",
                        help="a complete LaTeX document for pdflatex (implies --latex)")
    parser.add_argument("--full", action="store_true",
                        help="every step as recorded, including the kernel forms with "
                             "their code names (the default shows the reader's derivation)")


def run(args: argparse.Namespace) -> int:
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
        raise UsageError(f"no derivation or claim named {args.slug!r}{hint} "
                         f"(`nnmath list` shows all)") from None
    from derive import render
    full = getattr(args, "full", False)
    if args.latex or args.standalone:
        sys.stdout.write(render.latex_document(d, full) if args.standalone
                         else render.latex_fragment(d, full))
    else:
        sys.stdout.write(render.text(d, render.terminal_width(), full))
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
