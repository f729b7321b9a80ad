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
                                     "high-precision", "quadrature"}
        if step.kind in ("rewrite", "prove", "sizes"):
            assert step.check.method not in ("given", "sympy"), (
                f"{slug} step {step.index} '{step.label}' is a claimed equality but unchecked")
        if step.kind in ("rewrite", "sizes") or (step.kind == "prove" and step.lhs is not None
                                                   and step.check.detail != "decided by SymPy"):
            assert step.claim is not None, f"{slug} step {step.index}: nothing to re-check"
    for c in d.conclusions.values():
        free = set().union(*(sp.sympify(x).free_symbols for x in
                             (c.expr if isinstance(c.expr, sp.MatrixBase) else [c.expr])))
        assert free <= set(c.args), f"{slug}: {c.name} has undeclared symbols"


# ---- every re-checkable step, perturbed, must fail its own check ---------------------
EPS = sp.Rational(1, 997)


def _is_zero(e):
    entries = list(e) if isinstance(e, sp.MatrixBase) else [e]
    return all(sp.sympify(x) == 0 or (not sp.sympify(x).free_symbols
                                      and sp.N(x, 30) == 0) for x in entries)


def _additive(e):
    """e plus a small term: 1/997 times its first symbol (or 1; every entry of a matrix)."""
    if isinstance(e, sp.MatrixBase):
        return e + EPS * sp.ones(*e.shape)
    symbols = sorted((s for s in sp.sympify(e).free_symbols if isinstance(s, sp.Symbol)),
                     key=str)
    return e + EPS * (symbols[0] if symbols else 1)


def _relative(e):
    """e times (1 + 1/997) (a zero claimed side gets the small term instead)."""
    return _additive(e) if _is_zero(e) else e * (1 + EPS)


PERTURBATIONS = {"times (1 + 1/997)": _relative, "plus a small term": _additive}


def perturbation_outcomes(d):
    """(step, perturbation name, rejected?) for every re-checkable step of ``d``: rewrites
    (with their ``at=``), proves, conclusions and fixed-size steps, each re-run by its own
    check (same seed, domain, sizes) with the claimed side perturbed."""
    out = []
    for step in d.steps:
        if step.claim is None:
            continue
        for name, perturb in PERTURBATIONS.items():
            try:
                step.claim.recheck(perturb)
            except RewriteError:
                out.append((step, name, True))
            else:
                out.append((step, name, False))
    return out


# The default run perturbs a representative set covering every kind of re-checkable step
# (rewrites with and without at=, proves, fixed-size steps, forms proved at sizes,
# conclusions, numerical integrations, and the 2^-L case an absolute floor once hid); the
# full sweep over every derivation (about 800 perturbations, a few minutes) is marked slow.
FAST_PERTURBATION = {"kaiming-snippet", "batchnorm-backward", "softmax-jacobian",
                     "ema-unroll", "activation-moments", "l2-gradient", "mixup"}
PERTURB_PARAMS = [s if s in FAST_PERTURBATION else pytest.param(s, marks=pytest.mark.slow)
                  for s in SLUGS]


@pytest.mark.parametrize("slug", PERTURB_PARAMS)
def test_every_checked_step_rejects_its_perturbations(slug):
    d = derive.get(slug)
    checked = [s for s in d.steps if s.kind in ("rewrite", "prove", "sizes", "conclude")
               and s.check.method not in ("given", "sympy")]
    for step in checked:  # decided Boolean facts (prove_true) carry no equality to perturb
        if step.claim is None:
            assert step.check.detail == "decided by SymPy", (
                f"{slug} step {step.index} '{step.label}' is checked but cannot be re-checked")
    outcomes = perturbation_outcomes(d)
    missed = [f"step {s.index} '{s.label}' {name}" for s, name, ok in outcomes if not ok]
    assert not missed, f"{slug}: {len(missed)}/{len(outcomes)} perturbations accepted: {missed}"


def test_recheck_without_perturbation_reproduces_the_check():
    d = derive.get("batchnorm-backward")
    for step in d.steps:
        if step.claim is not None:
            assert step.claim.recheck().method == step.check.method, step.label


@pytest.mark.parametrize("slug", SLUGS)
def test_each_value_has_one_identifier_name(slug):
    """d.conclude(name, …) already stores d.values[name]: no second, alias name for the
    same value (issue 9). Equal numbers (1/2 twice) may be different quantities; an equal
    expression or matrix stored beside a conclusion is an alias."""
    d = derive.get(slug)
    for name in d.values:
        assert name.isidentifier(), f"{slug}: value name {name!r} is not an identifier"
    for cname, c in d.conclusions.items():
        for name, value in d.values.items():
            if name in d.conclusions:
                continue
            alias = value is c.expr or (isinstance(value, (sp.Basic, sp.MatrixBase))
                                        and not isinstance(value, sp.Number)
                                        and value == c.expr)
            assert not alias, f"{slug}: {name!r} repeats the conclusion {cname!r}"


@pytest.mark.parametrize("slug", SLUGS)
def test_no_conclusion_is_labelled_checked_against_its_own_restatement(slug):
    d = derive.get(slug)
    for step in d.steps:
        if step.kind != "conclude" or step.claim is None:
            continue
        prev = d.steps[step.claim.previous - 1]
        if prev.kind == "define" and _same(prev.expr, step.expr):
            assert step.check.method == "given", (
                f"{slug}: '{step.label}' restates given step {prev.index} but is labelled "
                f"'{step.check.describe()}'")


def _same(a, b):
    if isinstance(a, sp.MatrixBase) or isinstance(b, sp.MatrixBase):
        return sp.Matrix(a).shape == sp.Matrix(b).shape and sp.Matrix(a) - sp.Matrix(b) == \
            sp.zeros(*sp.Matrix(a).shape)
    return sp.sympify(a) - sp.sympify(b) == 0


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
    assert "\\documentclass" not in frag and ("\\[" in frag or "\\begin{align*}" in frag)
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
                         check=False,
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 1000


# ---- labels say what supports each row ------------------------------------------------
@pytest.mark.parametrize("slug", SLUGS)
def test_given_rows_are_labelled_given_and_conclusions_are_linked(slug):
    d = derive.get(slug)
    for step in d.steps:
        if step.kind in ("define", "note"):
            assert step.check.method == "given" and step.check.describe().startswith("given")
        if step.check.method == "given":
            assert "checked" not in step.check.describe()
        if step.kind == "conclude":
            assert step.claim is not None, (
                f"{slug}: conclusion '{step.label}' is not linked to any earlier row")


def _chain(d, step):
    """The rows a conclusion rests on, following each row's link to the one it follows."""
    out = [step]
    while out[-1].claim is not None and out[-1].claim.previous:
        out.append(d.steps[out[-1].claim.previous - 1])
    return out


@pytest.mark.parametrize("slug, kernel", [
    ("batchnorm-backward", "batchnorm_backward_input"),
    ("layernorm-backward", "layernorm_backward_input"),
    ("softmax-jacobian", "softmax_jacobian_vjp"),
    ("softmax-mse-gradient", "softmax_mse_gradient"),
])
def test_kernel_form_rests_on_a_checked_chain_to_the_definition(slug, kernel):
    """The form a kernel is generated from is proved against SymPy's derivative of the
    definition at explicit sizes (a ``form`` row), and every row between is checked."""
    d = derive.get(slug)
    step = next(s for s in d.steps if s.kind == "conclude" and s.label == kernel)
    chain = _chain(d, step)
    assert chain[-1].kind == "form", [s.label for s in chain]
    assert all(s.check.method not in ("given", "sympy") for s in chain), \
        [(s.label, s.check.describe()) for s in chain]
    assert chain[-1].check.method == "sizes"
    with pytest.raises(RewriteError):  # the proof really compares the kernel's form
        chain[-1].claim.recheck(_relative)
    assert re.search(r"checked: exact at\s+(fixed\s+)?sizes", d.to_text())  # what show prints
