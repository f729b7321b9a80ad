"""Tests generated from the derivation registry: adding a derivation needs no test edit."""
import hashlib
import re
import shutil
import subprocess

import numpy as np
import pytest
import sympy as sp

import derive
from derive.core import RewriteError
from proofs.testing.crosscheck import run_crosscheck

SLUGS = list(derive.entries())


def _seed(*parts):
    return int(hashlib.sha256("/".join(parts).encode()).hexdigest()[:8], 16)


@pytest.mark.parametrize("slug", SLUGS)
def test_builds_and_every_step_is_justified(slug):
    d = derive.get(slug)
    assert d.steps, f"{slug} has no steps"
    assert d.source, f"{slug} names no source"
    assert d.conclusions or d.errata, f"{slug} concludes nothing"
    for step in d.steps:
        assert step.check.method in {"given", "sympy", "exact", "sizes", "random-rational",
                                     "high-precision"}
        if step.kind in ("rewrite", "prove", "sizes"):
            assert step.check.method not in ("given", "sympy"), (
                f"{slug} step {step.index} '{step.label}' is a claimed equality but unchecked")
    for c in d.conclusions.values():
        free = set().union(*(sp.sympify(x).free_symbols for x in
                             (c.expr if isinstance(c.expr, sp.MatrixBase) else [c.expr])))
        assert free <= set(c.args), f"{slug}: {c.name} has undeclared symbols"


@pytest.mark.parametrize("slug", SLUGS)
def test_wrong_rewrite_raises_naming_both_steps(slug):
    d = derive.get(slug)
    if not any(s.kind in ("define", "apply", "rewrite", "conclude") for s in d.steps):
        pytest.skip(f"{slug} has no chain of expressions to perturb (an erratum record)")
    # work on a copy so the cached derivation is untouched
    copy = derive.Derivation(d.slug, d.title, d.source)
    copy.steps = list(d.steps)
    current = copy.current
    free = sorted(getattr(sp.sympify(current) if not isinstance(current, sp.MatrixBase)
                          else current, "free_symbols", set()), key=str)
    bump = sp.Rational(1, 7) * (1 + (free[0] ** 2 if free else 0))
    wrong = current + (sp.ones(*current.shape) * bump if isinstance(current, sp.MatrixBase)
                       else bump)
    with pytest.raises(RewriteError) as info:
        copy.rewrite("deliberately wrong", wrong, "a perturbed copy of the previous step")
    message = str(info.value)
    assert "deliberately wrong" in message
    last = [s for s in d.steps if s.kind in ("define", "apply", "rewrite", "conclude")][-1]
    assert last.label in message


@pytest.mark.parametrize("slug", SLUGS)
def test_result_agrees_with_independent_float64_evaluation(slug):
    """Every cross-check at random points: values against their float64 reference,
    gradients against central differences of the recorded NumPy function (the core
    numeric.finite_differences, run by proofs.testing.crosscheck; derive never computes
    finite differences itself)."""
    d = derive.get(slug)
    assert d.crosschecks, f"{slug} registers no independent numeric cross-check"
    rng = np.random.default_rng(_seed("crosscheck", slug))
    failures = [f for cc in d.crosschecks for f in run_crosscheck(cc, rng, f"{slug}: ")]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("slug", SLUGS)
def test_latex_and_text_render(slug):
    d = derive.get(slug)
    frag = d.to_latex()
    doc = d.to_latex(standalone=True)
    assert frag.startswith("\\begin{align*}") and frag.rstrip().endswith("\\end{align*}")
    assert "[U+" not in doc, f"{slug}: a character has no LaTeX mapping"
    assert doc.isascii(), f"{slug}: non-ASCII reached the LaTeX document"
    notebook = d._repr_latex_()
    assert notebook.startswith("$$") and notebook.count("$$") % 2 == 0
    for prose in re.findall(r"\\text\{([^{}]*)\}", notebook):  # MathJax: literal text only
        assert not set(prose) & set("_^\\%&#$"), f"{slug}: MathJax would choke on {prose!r}"
    assert d.slug in d.to_text()


PDFLATEX = shutil.which("pdflatex")


@pytest.mark.latex
@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex not installed "
                    "(apt-get install texlive-latex-base texlive-latex-recommended)")
@pytest.mark.parametrize("slug", SLUGS)
def test_standalone_document_compiles(slug, tmp_path):
    (tmp_path / "doc.tex").write_text(derive.get(slug).to_latex(standalone=True))
    run = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 1000
