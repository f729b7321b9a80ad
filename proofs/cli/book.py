"""``nnmath book [--sections N ...] [--slugs SLUG ...] [--out DIR] [--seed N] [--quick]``.

One document for a course: every derivation by catalog section (with a table of
contents), in the reader's notation; the errata chapter; the claims with the verdict table
of a seeded ``nnmath verify``; the figures when matplotlib is installed. Written as
``DIR/nnmath-book.tex`` and compiled to ``DIR/nnmath-book.pdf`` when pdflatex is present.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from . import UsageError, nonnegative_int

_PREAMBLE = (
    "\\documentclass[11pt]{article}\n\\usepackage[T1]{fontenc}\n"
    "\\usepackage{amsmath,amssymb}\n\\usepackage[margin=2cm]{geometry}\n"
    "\\usepackage{graphicx}\n\\usepackage{longtable}\n\\sloppy\n\\allowdisplaybreaks\n"
    "\\setcounter{tocdepth}{2}\n"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..stats.runner import DEFAULT_SEED
    parser.add_argument("--sections", type=int, nargs="+", metavar="N",
                        help="only these catalog sections (default: all)")
    parser.add_argument("--slugs", nargs="+", metavar="SLUG",
                        help="only these derivations and claims (default: all)")
    parser.add_argument("--out", default="nnmath-book", metavar="DIR",
                        help="output directory (default ./nnmath-book)")
    parser.add_argument("--seed", type=nonnegative_int, default=DEFAULT_SEED,
                        help=f"root seed of the verify run (default {DEFAULT_SEED})")
    parser.add_argument("--quick", action="store_true",
                        help="verify with the quick subset and smaller grids")
    parser.add_argument("--no-verify", action="store_true",
                        help="leave out the verdict table (no experiments are run)")
    parser.add_argument("--no-pdf", action="store_true", help="write the LaTeX only")


def _selection(args: argparse.Namespace) -> tuple[list[str], list[str], dict[int, str]]:
    """(derivation slugs, claim slugs, sections) chosen by --sections / --slugs."""
    import derive
    from derive.catalog import SECTIONS

    from .. import claims

    derivations = derive.entries()
    claim_entries = claims.entries()
    sections = dict(SECTIONS)
    if args.sections:
        unknown = [s for s in args.sections if s not in SECTIONS]
        if unknown:
            raise UsageError(f"--sections: no catalog section {unknown[0]} "
                             f"(sections: {', '.join(map(str, SECTIONS))})")
        sections = {s: SECTIONS[s] for s in args.sections}
    if args.slugs:
        known = set(derivations) | set(claim_entries)
        for slug in args.slugs:
            if slug not in known:
                hint = derive.closest(slug, sorted(known))
                raise UsageError(f"--slugs: no derivation or claim {slug!r}"
                                 + (f"; did you mean {', '.join(hint)}?" if hint else ""))
    d_slugs = [s for s, e in derivations.items() if e.section in sections
               and (not args.slugs or s in args.slugs)]
    c_slugs = [s for s, e in claim_entries.items() if e.section in sections
               and (not args.slugs or s in args.slugs)]
    return d_slugs, c_slugs, sections


def _derivation_chapters(d_slugs: list[str], sections: dict[int, str]) -> str:
    import derive
    from derive import render

    entries = derive.entries()
    out = []
    for number, name in sections.items():
        in_section = [s for s in d_slugs if entries[s].section == number]
        if not in_section:
            continue
        out.append(f"\\section{{{render.escape_text(name)}}}\n")
        for slug in in_section:
            print(f"  deriving {slug}", file=sys.stderr)
            d = derive.get(slug)
            out.append(f"\\subsection{{{render.escape_text(d.title, render.forms_for(d))}}}\n")
            out.append(f"\\noindent\\texttt{{nnmath show {slug}}}\\par\\smallskip\n")
            out.append(render.latex_body(d, heading="subsubsection*"))
    return "".join(out)


def _errata_chapter(d_slugs: list[str]) -> str:
    import derive
    from derive import display, render

    found = [e for e in derive.errata() if not d_slugs or e.decided_by in d_slugs]
    if not found:
        return ""
    out = ["\\section{Errata}\n",
           "Statements of the sources that a derivation refutes, each with the correct "
           "form and a point where the two differ.\n\\begin{itemize}\n"]
    for e in found:
        witness = ", ".join(f"${display.latex(k)} = {display.latex(v)}$"
                            for k, v in e.witness.items())
        out.append(
            f"\\item \\textbf{{{render.escape_text(e.source)}}} (decided by "
            f"\\texttt{{nnmath show {e.decided_by}}}): the source states "
            f"{render.escape_text(e.stated)}; correct: {render.escape_text(e.correct)}."
            f"\\\\ Stated form ${display.latex(e.stated_expr)}$, derived form "
            f"${display.latex(e.correct_expr)}$; at {witness or 'every point'} they differ "
            f"by ${display.latex(e.difference)}$.\n")
    out.append("\\end{itemize}\n")
    return "".join(out)


def _cell(x: object, z: bool = False) -> str:
    from .verify_table import _fmt
    text = _fmt(x, z)
    return {"∞": "$\\infty$", "−∞": "$-\\infty$"}.get(text, text.replace("−", "-"))


def _claims_chapter(c_slugs: list[str], args: argparse.Namespace) -> str:
    if args.no_verify or not c_slugs:
        return ""
    from derive.render import escape_text

    from ..stats import runner
    from .verify_table import legend

    reports = runner.run(c_slugs, seed=args.seed, quick=args.quick,
                         progress=lambda m: print("  verify " + m, file=sys.stderr))
    out = ["\\section{Claims checked by experiment}\n",
           f"Verdicts of \\texttt{{nnmath verify{' --quick' if args.quick else ''} "
           f"--seed {args.seed}}} on this machine. A claim passes when its experiment "
           "accepts the exact value and rejects the foil.\n\n",
           "{\\footnotesize\\setlength{\\tabcolsep}{3pt}\n"
           "\\begin{longtable}{p{4cm}lrrrrrrl}\n"
           "assertion & method & exact & foil & estimate & SE & $z$ & foil $z$ & verdict"
           "\\\\ \\hline\\endhead\n"]
    for r in reports:
        out.append(f"\\multicolumn{{9}}{{p{{0.85\\linewidth}}}}"
                   f"{{\\textbf{{{escape_text(r.slug)}}}: {escape_text(r.title)}}}\\\\\n")
        if r.error:
            out.append(f"\\multicolumn{{9}}{{p{{0.85\\linewidth}}}}{{ERROR: "
                       f"{escape_text(r.error[:200])}}}\\\\\n")
        for v in r.verdicts:
            t = v.result
            if t is None:
                out.append(f"{escape_text(v.label)} & \\multicolumn{{8}}{{l}}{{ERROR}}\\\\\n")
                continue
            verdict = "pass" if t.ok else ("FAIL: foil kept" if t.accepted else "FAIL")
            if t.method in ("clt-z", "binomial", "dkwm", "exact"):
                cells = [_cell(t.exact), _cell(t.foil), _cell(t.estimate), _cell(t.se),
                         _cell(t.z, True), _cell(t.foil_z, True)]
            else:
                cells = ["", "", "", "", "", ""]
            out.append(" & ".join([escape_text(v.label), t.method, *cells, verdict])
                       + "\\\\\n")
    out.append("\\end{longtable}}\n\n\\paragraph{Legend.}\n\\begin{itemize}\n")
    for item in legend(width=10_000)[1:]:
        out.append(f"\\item {escape_text(item.strip())}\n")
    out.append("\\end{itemize}\n")
    return "".join(out)


def _figures(out_dir: Path, args: argparse.Namespace) -> str:
    from .. import plots

    if plots.unavailable():
        return ""
    paths = plots.write_all(str(out_dir / "figures"), seed=args.seed, quick=args.quick)
    if not paths:
        return ""
    body = ["\\section{Figures}\n"]
    for p in paths:
        rel = Path(p).resolve().relative_to(out_dir.resolve())
        body.append(f"\\begin{{center}}\\includegraphics[width=0.8\\linewidth]{{{rel}}}"
                    f"\\end{{center}}\n")
    return "".join(body)


def run(args: argparse.Namespace) -> int:
    d_slugs, c_slugs, sections = _selection(args)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    parts = [_PREAMBLE, "\\title{nnmath: machine-checked mathematics of neural-network "
             "training}\n\\author{course book}\n\\date{\\today}\n\\begin{document}\n"
             "\\maketitle\n\\tableofcontents\n\\newpage\n",
             _derivation_chapters(d_slugs, sections), _errata_chapter(d_slugs),
             _claims_chapter(c_slugs, args), _figures(out_dir, args), "\\end{document}\n"]
    tex = out_dir / "nnmath-book.tex"
    tex.write_text("".join(parts))
    print(f"wrote {tex}")
    pdflatex = shutil.which("pdflatex")
    if args.no_pdf or pdflatex is None:
        if pdflatex is None:
            print("pdflatex not found: LaTeX only (apt-get install texlive-latex-base "
                  "texlive-latex-recommended)", file=sys.stderr)
        return 0
    for _ in range(2):  # twice: the table of contents
        run_ = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error",
                               tex.name], cwd=out_dir, capture_output=True, text=True,
                              check=False, timeout=600)
        if run_.returncode != 0:
            print(run_.stdout[-3000:], file=sys.stderr)
            raise RuntimeError(f"pdflatex failed on {tex} (log: {tex.with_suffix('.log')})")
    print(f"wrote {tex.with_suffix('.pdf')}")
    return 0
