"""What a reader sees, for every registered derivation (issue 10).

* no display of a bare boolean, of ``X = X``, or repeating the display before it;
* no text-mode ``_`` or ``^`` in the prose of the LaTeX document (code names in
  typewriter excepted), no LaTeX macro names or braces in the terminal;
* no multi-letter code name typeset as an italic product of letters;
* ``COLUMNS=80``: no terminal line over 80 columns;
* the standalone document and the fragment (in a bare amsmath article) compile with no
  Overfull box over 1 pt (``latex`` marker; the full sweep is ``slow``).

The default run checks a few derivations the course uses most; ``-m slow`` sweeps the
whole registry.
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import unicodedata

import pytest
import sympy as sp

import derive
from derive import display, render

ALL = list(derive.entries())
FAST = ["softmax-jacobian", "dropconnect", "adam"]
SWEEP = [pytest.param(s, marks=pytest.mark.slow) for s in ALL if s not in FAST]
SLUGS = FAST + SWEEP
PDFLATEX = shutil.which("pdflatex")


@functools.cache
def built(slug: str):
    return derive.get(slug)


def _displayed(d):
    for row in render.rows(d):
        if row.has_equation:
            yield row


@pytest.mark.parametrize("slug", SLUGS)
def test_every_display_states_something(slug):
    d = built(slug)
    previous = None
    for row in _displayed(d):
        where = f"{slug} step {row.number} '{row.step.label}'"
        assert not isinstance(row.rhs, sp.logic.boolalg.BooleanAtom), f"{where}: a bare boolean"
        assert row.rhs is not True and row.rhs is not False, f"{where}: a bare boolean"
        if row.lhs is not None:
            assert render.latex_of(row.lhs, d) != render.latex_of(row.rhs, d), f"{where}: X = X"
        shown = (render.latex_of(row.lhs, d), render.latex_of(row.rhs, d))
        assert shown != previous, f"{where}: repeats the display before it"
        previous = shown


@pytest.mark.parametrize("slug", SLUGS)
def test_kernel_steps_only_in_full(slug):
    d = built(slug)
    kernels = {c.name for c in d.conclusions.values() if c.kernel}
    assert not kernels & {r.step.label for r in render.rows(d) if r.step.kind == "conclude"}
    assert len(render.rows(d, full=True)) == len(d.steps)


def _without_code(doc: str) -> str:
    return re.sub(r"\\texttt\{(?:[^{}]|\{\})*\}", "", doc)


@pytest.mark.parametrize("slug", SLUGS)
def test_prose_has_no_text_mode_specials(slug):
    doc = _without_code(render.latex_document(built(slug)))
    for bad in ("\\_", "textasciicircum", "\\textbackslash", "[U+"):
        assert bad not in doc, f"{slug}: {bad!r} in the LaTeX document"


@pytest.mark.parametrize("slug", SLUGS)
def test_terminal_has_no_markup(slug):
    text = render.text(built(slug), 80)
    for leak in (r"\\[A-Za-z]{2,}", r"\bvarepsilon\b", r"[^\W_]__[^\W_]", r"\b\w+_\{"):
        found = re.findall(leak, text)
        assert not found, f"{slug}: markup {found[:3]} in the terminal output"


def _math_words(latex: str) -> list[str]:
    """Runs of two or more italic letters left once commands (with their braced
    arguments, for upright ones) are removed."""
    s = re.sub(r"\\(?:mathrm|operatorname|text|mathbf|mathbb|mathcal|texttt)\{[^{}]*\}", "", latex)
    s = re.sub(r"_\{?[a-z]{2}\}?", "", s)  # a pair of indices (δ_ki, E_fg)
    s = re.sub(r"\\[A-Za-z]+", " ", s)
    return re.findall(r"[A-Za-z]{2,}", s)


@pytest.mark.parametrize("slug", SLUGS)
def test_no_code_name_as_italic_product(slug):
    d = built(slug)
    names = set()
    for row in _displayed(d):
        for part in (row.lhs, row.rhs):
            if isinstance(part, (sp.Basic, sp.MatrixBase)):
                names |= {s for s in part.free_symbols if isinstance(s, sp.Symbol)}
    bad = {s.name: display.latex(s, d) for s in names
           if not isinstance(s, display.Shown) and _math_words(display.latex(s, d))}
    assert not bad, f"{slug}: multi-letter names set as italic products: {bad}"


@pytest.mark.parametrize("slug", SLUGS)
def test_terminal_fits_80_columns(slug, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    text = render.text(built(slug), render.terminal_width())
    for line in text.splitlines():
        shown = sum(1 for c in line if not unicodedata.combining(c))
        assert shown <= 80, f"{slug}: {shown} columns: {line!r}"


def test_nnmath_show_follows_columns():
    env = dict(os.environ, COLUMNS="60")
    out = subprocess.run([sys.executable, "-m", "proofs.cli", "show", "softmax-jacobian"],
                         capture_output=True, text=True, env=env, timeout=120, check=True)
    widths = [sum(1 for c in line if not unicodedata.combining(c))
              for line in out.stdout.splitlines()]
    assert max(widths) <= 60 and "J" in out.stdout
    assert "softmax_jacobian_vjp" not in out.stdout  # kernel names only with --full
    assert "softmax_jacobian_vjp" in render.text(built("softmax-jacobian"), 60, full=True)


_ARTICLE = ("\\documentclass{article}\n\\usepackage[T1]{fontenc}\n"
            "\\usepackage{amsmath,amssymb}\n\\begin{document}\n%s\\end{document}\n")


def _overfull(tex: str, tmp_path, name: str) -> list[float]:
    (tmp_path / f"{name}.tex").write_text(tex)
    run = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error",
                          f"{name}.tex"], cwd=tmp_path, capture_output=True, text=True,
                         check=False,
                         timeout=180)
    assert run.returncode == 0, run.stdout[-2000:]
    log = (tmp_path / f"{name}.log").read_text(errors="replace")
    return [float(x) for x in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)
            if float(x) > 1]


@pytest.mark.latex
@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex not installed "
                    "(apt-get install texlive-latex-base texlive-latex-recommended)")
@pytest.mark.parametrize("slug", [pytest.param(s, marks=pytest.mark.slow) for s in ALL])
def test_documents_fit_the_page(slug, tmp_path):
    d = built(slug)
    assert not _overfull(render.latex_document(d), tmp_path, "doc"), \
        f"{slug}: the standalone document has lines wider than the page"
    assert not _overfull(_ARTICLE % render.latex_fragment(d), tmp_path, "frag"), \
        f"{slug}: the fragment runs off a plain amsmath article"
    assert "resizebox" not in render.latex_document(d)


@pytest.mark.latex
@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex not installed")
def test_softmax_fragment_fits_a_plain_article(tmp_path):
    d = built("softmax-jacobian")
    assert not _overfull(_ARTICLE % render.latex_fragment(d), tmp_path, "frag")


def test_verify_table_fits_120_columns_with_legend_and_foil():
    from proofs.cli.verify_table import table
    from proofs.stats import results, runner

    rows = [
        results.z_result(0.4, 0.002, 0.3989, 0.3191, 10_000, 9_000, 1e-4, 1e-4),
        results.exact_result([8.0], [8.0], [6.0], 1e-12),
        results.behaviour_result(True, False, note="finite: True; foil: finite: False"),
        results.behaviour_result(True, False, method="vjp", note="⟨backward(u), v⟩ = ⟨u, J v⟩"),
    ]
    verdicts = [runner.Verdict("c", f"assertion {i} " + "x" * 50 * (i == 0), r)
                for i, r in enumerate(rows)]
    text = table([runner.ClaimReport("dropout-mean", "E[m·h/(1 − p)] = E[h]", verdicts, 1.0)])
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 120
    assert "legend:" in text and "foil" in lines[0] and "foil z" in lines[0]
    assert "0.3191" in text  # the foil's value is shown
    behaviour = next(line for line in lines if "finite: True" in line)
    assert "inf" not in behaviour and " 1 " not in behaviour  # no filler numbers


def test_book_writes_a_course_document(tmp_path):
    from proofs.cli import main

    status = main(["book", "--sections", "10", "--no-verify", "--no-pdf",
                   "--out", str(tmp_path)])
    assert status == 0
    tex = (tmp_path / "nnmath-book.tex").read_text()
    assert "\\tableofcontents" in tex and "\\section{" in tex and "\\subsection{" in tex
    assert "param-count" in tex and "\\documentclass" in tex
    assert main(["book", "--sections", "99", "--out", str(tmp_path)]) == 2
