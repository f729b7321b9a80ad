"""Output of a derivation: LaTeX fragment, standalone LaTeX document, terminal text, notebook.

Justifications are prose: in LaTeX their special characters are escaped and their Unicode
mathematics (Greek letters, −, ², ⊙ ...) mapped to LaTeX commands so that plain
``pdflatex`` compiles the document; ``$...$`` spans inside a justification are LaTeX
mathematics written by the author and pass through unchanged.
"""
from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, Any

import sympy as sp

if TYPE_CHECKING:  # pragma: no cover
    from .core import Derivation, Step

_TEXT_SPECIALS = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "#": r"\#", "%": r"\%",
    "&": r"\&", "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
}

# Unicode mathematics in prose -> LaTeX math (wrapped in \ensuremath in text mode).
UNICODE_MATH = {
    "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "Γ": r"\Gamma", "δ": r"\delta",
    "Δ": r"\Delta", "ε": r"\varepsilon", "ζ": r"\zeta", "η": r"\eta", "θ": r"\theta",
    "Θ": r"\Theta", "ι": r"\iota", "κ": r"\kappa", "λ": r"\lambda", "Λ": r"\Lambda",
    "μ": r"\mu", "ν": r"\nu", "ξ": r"\xi", "Ξ": r"\Xi", "π": r"\pi", "Π": r"\Pi",
    "ρ": r"\rho", "σ": r"\sigma", "Σ": r"\Sigma", "τ": r"\tau", "υ": r"\upsilon",
    "φ": r"\varphi", "ϕ": r"\phi", "Φ": r"\Phi", "χ": r"\chi", "ψ": r"\psi", "Ψ": r"\Psi",
    "ω": r"\omega", "Ω": r"\Omega",
    "−": "-", "–": "-", "—": "-", "×": r"\times", "·": r"\cdot", "⋅": r"\cdot",
    "÷": r"\div", "±": r"\pm", "∓": r"\mp", "≤": r"\le", "≥": r"\ge", "≠": r"\ne",
    "≈": r"\approx", "≡": r"\equiv", "∝": r"\propto", "∼": r"\sim", "→": r"\to",
    "←": r"\leftarrow", "⇒": r"\Rightarrow", "⇔": r"\Leftrightarrow", "↦": r"\mapsto",
    "∞": r"\infty", "∂": r"\partial", "∇": r"\nabla", "∑": r"\sum", "∏": r"\prod",
    "∫": r"\int", "√": r"\surd", "∈": r"\in", "∉": r"\notin", "⊂": r"\subset",
    "∪": r"\cup", "∩": r"\cap", "∀": r"\forall", "∃": r"\exists", "⟂": r"\perp",
    "⊥": r"\perp", "⊙": r"\odot", "⊗": r"\otimes", "∘": r"\circ", "‖": r"\|",
    "⟨": r"\langle", "⟩": r"\rangle", "ᵀ": r"^{\top}", "′": r"'", "…": r"\dots",
    "⋯": r"\cdots", "ℝ": r"\mathbb{R}", "ℕ": r"\mathbb{N}", "𝔼": r"\mathbb{E}",
    "ℓ": r"\ell", "ẑ": r"\hat{z}", "x̂": r"\hat{x}", "ŷ": r"\hat{y}", "ĥ": r"\hat{h}",
    "⌊": r"\lfloor", "⌋": r"\rfloor", "⌈": r"\lceil", "⌉": r"\rceil", "°": r"^{\circ}",
    "⁰": "^{0}", "¹": "^{1}", "²": "^{2}", "³": "^{3}", "⁴": "^{4}", "⁵": "^{5}",
    "⁶": "^{6}", "⁷": "^{7}", "⁸": "^{8}", "⁹": "^{9}", "⁻": "^{-}", "⁺": "^{+}",
    "ⁿ": "^{n}", "ᵗ": "^{t}", "ᵢ": "_{i}", "ⱼ": "_{j}", "ₖ": "_{k}", "ₗ": "_{l}",
    "ₘ": "_{m}", "ₙ": "_{n}", "ₜ": "_{t}", "₀": "_{0}", "₁": "_{1}", "₂": "_{2}",
    "₃": "_{3}", "₄": "_{4}", "ₓ": "_{x}", "½": r"\tfrac12", "¼": r"\tfrac14",
    "¾": r"\tfrac34", "⅓": r"\tfrac13", "𝟙": r"\mathbf{1}", "ℒ": r"\mathcal{L}",
}
_TEXT_UNICODE = {"“": "``", "”": "''", "‘": "`", "’": "'", "\u00a0": "~", "é": r"\'e",
                 "è": r"\`e", "ö": r"\"o", "ü": r"\"u", "ä": r"\"a", "§": r"\S{}"}


def escape_text(text: str) -> str:
    """Escape prose for LaTeX text mode; ``$...$`` spans are kept as LaTeX mathematics."""
    parts = text.split("$")
    if len(parts) % 2 == 0:  # an unmatched $: treat it as a literal dollar sign
        parts = [text.replace("$", "\uffff")]
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append("$" + _unicode_in_math(part) + "$")
            continue
        buf = []
        for ch in part:
            if ch == "\uffff":
                buf.append(r"\$")
            elif ch in _TEXT_SPECIALS:
                buf.append(_TEXT_SPECIALS[ch])
            elif ch in _TEXT_UNICODE:
                buf.append(_TEXT_UNICODE[ch])
            elif ch in UNICODE_MATH:
                buf.append(r"\ensuremath{" + UNICODE_MATH[ch] + "}")
            elif ord(ch) < 128:
                buf.append(ch)
            elif ord(ch) in _ACCENTS and buf:  # combining accent on the previous letter
                buf[-1] = rf"\ensuremath{{{_ACCENTS[ord(ch)]}{{{buf[-1]}}}}}"
            elif _accented(ch):
                buf.append(r"\ensuremath{" + _accented(ch) + "}")
            else:
                buf.append(rf"\texttt{{[U+{ord(ch):04X}]}}")
        out.append("".join(buf))
    return "".join(out)


_ACCENTS = {0x302: r"\hat", 0x304: r"\bar", 0x303: r"\tilde", 0x307: r"\dot",
            0x308: r"\ddot", 0x305: r"\bar"}


def _accented(ch: str) -> str:
    """A precomposed accented letter (Ẑ, ḡ, ñ ...) as LaTeX math, or '' if it is not one."""
    parts = unicodedata.normalize("NFD", ch)
    if len(parts) == 2 and parts[0].isascii() and parts[0].isalpha() and ord(parts[1]) in _ACCENTS:
        return f"{_ACCENTS[ord(parts[1])]}{{{parts[0]}}}"
    return ""


def _unicode_in_math(math: str) -> str:
    out = []
    for c in math:
        if c in UNICODE_MATH:
            out.append(UNICODE_MATH[c] + " ")
        elif _accented(c):
            out.append(_accented(c))
        else:
            out.append(c)
    return "".join(out)


def latex_of(obj: Any) -> str:
    """LaTeX for a SymPy object (or plain text in \\text{})."""
    if obj is None:
        return ""
    if isinstance(obj, str):
        return r"\text{" + escape_text(obj) + "}"
    return sp.latex(obj)


def _step_text(step: Step) -> str:
    """The step's number, label, justification and check, as LaTeX text."""
    head = rf"\textbf{{({step.index}) {escape_text(step.label)}.}}"
    why = escape_text(step.why) if step.why else ""
    check = escape_text(step.check.describe())
    return rf"\small {head} {why} \hfill \textit{{[{check}]}}"


def _step_equation(step: Step) -> tuple[str, str] | None:
    """(left side, relation and right side) of the step's row, or None for prose only."""
    if step.kind == "note" or step.expr is None:
        return None
    if step.lhs is not None:
        return latex_of(step.lhs), f"= {latex_of(step.expr)}"
    if step.kind in ("define", "apply", "rewrite", "conclude") and step.index > 1:
        return "", f"= {latex_of(step.expr)}"
    return "", latex_of(step.expr)


def _row(step: Step) -> str:
    intertext = rf"\intertext{{{_step_text(step)}}}"
    equation = _step_equation(step)
    if equation is None:
        return intertext
    left, right = equation
    return intertext + "\n" + f"{left} &{right}"


def latex_fragment(d: Derivation) -> str:
    """An ``align*`` block: one row per step, each with its justification and check."""
    rows = [_row(s) for s in d.steps]
    body = " \\\\\n".join(rows)
    return "\\begin{align*}\n" + body + "\n\\end{align*}\n"


def _itemize(items: list[str]) -> str:
    if not items:
        return "none stated\n"
    return "\\begin{itemize}\n" + "".join(
        f"  \\item {escape_text(x)}\n" for x in items) + "\\end{itemize}\n"


# \fit{math}: displayed at natural size, or shrunk to the line width when it is wider.
_FIT_MACRO = (
    "\\newsavebox{\\nnmathbox}\n"
    "\\newcommand{\\fit}[1]{\\sbox{\\nnmathbox}{$\\displaystyle #1$}%\n"
    "  \\ifdim\\wd\\nnmathbox>\\linewidth\\resizebox{\\linewidth}{!}{\\usebox{\\nnmathbox}}%\n"
    "  \\else\\usebox{\\nnmathbox}\\fi}\n")


def _fitted(math: str) -> str:
    return "\\begin{center}\\fit{" + math + "}\\end{center}\n"


def _fitted_steps(d: Derivation) -> str:
    """The steps for the standalone document: each equation shrunk to the page if needed."""
    out = []
    for step in d.steps:
        out.append("\\par\\noindent{" + _step_text(step) + "}\\par\n")
        equation = _step_equation(step)
        if equation is not None:
            out.append(_fitted(" ".join(part for part in equation if part)))
    return "".join(out)


def latex_document(d: Derivation) -> str:
    """A complete document that plain ``pdflatex`` compiles."""
    parts = [
        "\\documentclass[11pt]{article}\n",
        "\\usepackage[T1]{fontenc}\n\\usepackage{amsmath,amssymb}\n",
        "\\usepackage[margin=2cm]{geometry}\n\\usepackage{graphicx}\n", _FIT_MACRO,
        f"\\title{{{escape_text(d.title)}}}\n",
        f"\\author{{nnmath derivation \\texttt{{{escape_text(d.slug)}}}}}\n",
        "\\date{}\n\\begin{document}\n\\maketitle\n",
        f"\\noindent\\textbf{{Source:}} {escape_text(d.source)}\n\n",
        "\\paragraph{Assumptions.}\n", _itemize(d.stated_assumptions()),
        "\\paragraph{Conventions.}\n", _itemize(d.conventions),
        "\\paragraph{Derivation.}\n", _fitted_steps(d),
    ]
    if d.conclusions:
        parts.append("\\paragraph{Results.}\n")
        parts.extend(_fitted(
            rf"\text{{{escape_text(c.name)}}}\left({', '.join(sp.latex(a) for a in c.args)}"
            rf"\right) = {sp.latex(c.expr)}") for c in d.conclusions.values())
    if d.errata:
        parts.append("\\paragraph{Errata.}\n\\begin{itemize}\n")
        for e in d.errata:
            parts.append(
                f"  \\item \\texttt{{{escape_text(e.slug)}}} ({escape_text(e.source)}): "
                f"the source states {escape_text(e.stated)}; correct: "
                f"{escape_text(e.correct)}. Stated form ${sp.latex(e.stated_expr)}$, "
                f"derived form ${sp.latex(e.correct_expr)}$.\n")
        parts.append("\\end{itemize}\n")
    parts.append("\\end{document}\n")
    return "".join(parts)


_SUBSCRIPTED = re.compile(r"([^\W\d_][\w′']*(?:[_^](?:\{[^{}]*\}|[\w,′+\-−]+))+)")
_MATHJAX_TEXT = str.maketrans({"{": "(", "}": ")", "\\": "", "$": "", "%": " percent",
                               "&": "and", "#": "no.", "~": "∼", "_": " ", "^": " "})


def _mathjax_text(prose: str) -> str:
    """Prose for MathJax (with or without its textmacros extension): plain words in
    \\text{}, identifiers with sub- or superscripts (y_sum, e^{z_i}) as mathematics."""
    parts = []
    for i, piece in enumerate(_SUBSCRIPTED.split(plain_text(prose))):
        if i % 2:
            parts.append(piece.replace("−", "-").replace("′", "'"))
        elif piece:
            parts.append(r"\text{" + piece.translate(_MATHJAX_TEXT) + "}")
    return " ".join(parts)


def notebook_latex(d: Derivation) -> str:
    """For Jupyter's ``_repr_latex_``: one MathJax display per step (its label,
    justification and check as a text row above its equation), so that no display grows
    past MathJax's input buffer."""
    blocks = [rf"$${_mathjax_text(d.title)}$$"]
    for step in d.steps:
        note = f"({step.index}) {step.label}. {step.why} [{step.check.describe()}]"
        rows = [rf"& {_mathjax_text(note)}"]
        if step.expr is not None:
            left = latex_of(step.lhs) if step.lhs is not None else ""
            chained = step.kind in ("apply", "rewrite", "conclude") and step.index > 1
            relation = "&=" if left or chained else "&"
            rows.append(rf"{left} {relation} {latex_of(step.expr)}")
        blocks.append("$$\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}$$")
    return "\n".join(blocks)


def _terminal_names(expr: Any) -> Any:
    """Symbols named in LaTeX (``\\hat{Z}``, ``\\frac{...}``) renamed to plain text."""
    from .display import Shown, plain

    try:
        latex_named = {s for s in expr.free_symbols
                       if "\\" in s.name and not isinstance(s, Shown)}
        if not latex_named:
            return expr
        return expr.xreplace({s: sp.Symbol(plain(s.name).strip()) for s in latex_named})
    except AttributeError:  # not a SymPy object with symbols
        return expr


def _pretty(expr: Any, indent: str = "    ") -> str:
    expr = _terminal_names(expr)
    try:
        art = sp.pretty(expr, use_unicode=True, num_columns=100)
    except Exception:
        art = sp.sstr(expr)
    return "\n".join(indent + line for line in art.splitlines())


def _pretty_step(s: Step) -> str:
    if s.lhs is None:
        return _pretty(s.expr)
    try:
        return _pretty(sp.Eq(s.lhs, s.expr, evaluate=False))
    except Exception:
        return _pretty(s.lhs) + "\n    =\n" + _pretty(s.expr)


def plain_text(prose: str) -> str:
    """Prose for terminals: ``$...$`` LaTeX spans turned into readable plain text."""
    from .display import plain

    parts = prose.split("$")
    if len(parts) % 2 == 0:
        return prose
    return "".join(plain(p) if i % 2 else p for i, p in enumerate(parts))


def text(d: Derivation) -> str:
    """Plain text for terminals (Unicode pretty-printing)."""
    lines = [f"{d.slug} — {d.title}", f"source: {d.source}"]
    if d.stated_assumptions():
        lines.append("assumptions:")
        lines += [f"  • {plain_text(a)}" for a in d.stated_assumptions()]
    if d.conventions:
        lines.append("conventions:")
        lines += [f"  • {plain_text(c)}" for c in d.conventions]
    lines.append("")
    for s in d.steps:
        lines.append(f"({s.index}) {plain_text(s.label)}" + (f" — {plain_text(s.why)}" if s.why else "")
                     + f"   [{s.check.describe()}]")
        if s.expr is not None:
            lines.append(_pretty_step(s))
        lines.append("")
    if d.conclusions:
        lines.append("results:")
        for c in d.conclusions.values():
            lines.append(f"  {c.name}({', '.join(map(str, c.args))}) =")
            lines.append(_pretty(c.expr, "      "))
    if d.errata:
        lines.append("errata:")
        for e in d.errata:
            lines.append(f"  {e.slug} ({e.source}): states {e.stated}; correct: {e.correct}")
    return "\n".join(lines).rstrip() + "\n"
