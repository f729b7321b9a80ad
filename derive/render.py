"""Output of a derivation: LaTeX fragment, standalone LaTeX document, terminal text, notebook.

What a reader sees (``full=False``, the default) differs from the record of the engine:

* symbols in the document's notation (``derive.notation``), never kernel argument names;
* prose with its mathematics typeset (``derive.prose``): no ``_``, ``^`` or braces as text;
* every display states something: no bare True/False, no ``X = X``, no display that
  repeats the one before; steps that only restate a result as a kernel are left out
  (``full=True`` shows every step, with kernel names);
* long equations broken over lines (``derive.layout``), never shrunk;
* terminal text wrapped to the terminal's width.
"""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
import textwrap
import unicodedata
from typing import TYPE_CHECKING, Any

import sympy as sp
from sympy.logic.boolalg import BooleanAtom

from . import display, layout
from .notation import Forms, forms_for

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
_TEXT_UNICODE = {"–": "--", "—": "---", "“": "``", "”": "''", "‘": "`", "’": "'",
                 "\u00a0": "~", "é": r"\'e", "è": r"\`e", "ö": r"\"o", "ü": r"\"u",
                 "ä": r"\"a", "§": r"\S{}"}


def escape_plain(text: str) -> str:
    """Escape prose for LaTeX text mode as it stands (no search for mathematics);
    ``$...$`` spans are kept as LaTeX mathematics."""
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


def escape_text(text: str, forms: Forms | None = None) -> str:
    """Prose for LaTeX text mode, its mathematics typeset in ``$...$``."""
    from . import prose
    return prose.latex(text, forms)


def _code_latex_names(forms: Forms) -> list[tuple[str, str]]:
    """(SymPy's default LaTeX of a code name, the display LaTeX), longest first: prose
    written by the engine (``at $inv_{std} = 1$``) used SymPy's default printer."""
    pairs = []
    for name, (shown, _) in forms.symbols.items():
        default = sp.latex(sp.Symbol(name))
        if default != shown and re.search(r"[_\\{]", default):
            pairs.append((default, shown))
    return sorted(pairs, key=lambda p: -len(p[0]))


def replace_code_names(math: str, forms: Forms, text: bool = False) -> str:
    """Code names as SymPy's default LaTeX prints them (``inv_{std}``), whole tokens
    only, replaced by their display form (LaTeX, or Unicode when ``text``)."""
    for name, (shown_latex, shown_text) in forms.symbols.items():
        default = sp.latex(sp.Symbol(name))
        if default in (shown_latex, name) or not re.search(r"[_\\{]", default):
            continue
        pattern = r"(?<![A-Za-z\\])" + re.escape(default) + r"(?![A-Za-z])"
        repl = shown_text if text else "{" + shown_latex + "}"
        math = re.sub(pattern, repl.replace("\\", "\\\\"), math)
    return math


def math_span_latex(math: str, forms: Forms | None = None) -> str:
    """An authored ``$...$`` span: Unicode mapped to commands, code names in notation."""
    if forms is not None:
        math = replace_code_names(math, forms)
    return _unicode_in_math(math)


# ---- what the reader sees ------------------------------------------------------------
@dataclasses.dataclass
class Row:
    """One step as shown: its number in this document, the step, and its equation
    (left side or None, right side) or None when the step is prose only."""

    number: int
    step: Step
    lhs: Any
    rhs: Any
    continued: bool = False  # "= rhs" continuing the previous display

    @property
    def has_equation(self) -> bool:
        return self.rhs is not None


def _is_boolean(x: Any) -> bool:
    return x is True or x is False or isinstance(x, BooleanAtom)


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:
        return False


def _shown_same(a: Any, b: Any, d: Derivation) -> bool:
    """Two expressions that print the same in the reader's notation."""
    if a is None or b is None:
        return False
    try:
        return display.latex(a, d) == display.latex(b, d)
    except Exception:
        return False


def _is_kernel_step(d: Derivation, step: Step) -> bool:
    """A conclusion step: the result restated under its code name (a kernel, or a value
    other modules read). The reader's document lists results at the end instead."""
    return step.kind == "conclude"


def rows(d: Derivation, full: bool = False) -> list[Row]:
    """The steps a reader sees, numbered 1, 2, ... (``full``: every step, as recorded)."""
    out: list[Row] = []
    last = last_lhs = None  # the last expression displayed, and its left side
    number = 0
    for step in d.steps:
        if not full and _is_kernel_step(d, step):
            continue
        number = step.index if full else number + 1
        lhs, rhs = step.lhs, step.expr
        if rhs is None or _is_boolean(rhs) or (
                isinstance(rhs, sp.Equality) and not full
                and _shown_same(rhs.lhs, rhs.rhs, d)):
            lhs = rhs = None  # True, or an equation whose sides print alike (0 = 0)
        elif lhs is not None and (_same(lhs, rhs) or (not full and _shown_same(lhs, rhs, d))):
            if full:
                pass
            elif getattr(rhs, "is_number", False) or _same(rhs, last):
                lhs = rhs = None  # "8 = 8": the prose states it
            else:
                lhs = None
        elif lhs is None and not full and (_same(rhs, last) or _shown_same(rhs, last, d)):
            rhs = None  # the same expression again: the justification says why
        continued = (lhs is None and rhs is not None and step.index > 1
                     and step.kind in ("apply", "rewrite", "conclude"))
        if rhs is not None and lhs is not None and not full and _shown_same(rhs, last, d) \
                and _shown_same(lhs, last_lhs, d):
            lhs = rhs = None  # the display before, again
        if rhs is not None:
            rhs = display.fresh_dummies(rhs, lhs)
            last, last_lhs = step.expr, lhs
        out.append(Row(number, step, lhs, rhs, continued))
    return out


_PHI_NOTE = "Φ is the standard normal distribution function, Φ(x) = (1 + erf(x/√2))/2"


def conventions(d: Derivation, full: bool = False) -> list[str]:
    """The derivation's conventions, plus the notation the display itself introduces."""
    out = list(d.conventions)
    for row in rows(d, full):
        parts = [p for p in (row.lhs, row.rhs) if isinstance(p, sp.Basic)]
        if any(display.for_display(p).has(display.Phi) for p in parts):
            out.append(_PHI_NOTE)
            break
    return out


def check_text(d: Derivation, step: Step) -> str:
    """The check's description, its sizes named by the document's letter (B = 2, 3, 4)."""
    text = step.check.describe()
    letter = forms_for(d).sizes
    if step.check.method == "sizes":  # "exact at fixed sizes (m = 2, 3)" -> "… B = 2, 3"
        m = re.search(r"at fixed sizes \(m = ([^;)]*)(;[^)]*)?\)", text)
        if m:
            sizes = f"{letter} = {m.group(1)}" if letter else m.group(1)
            rest = f" ({m.group(2)[1:].strip()})" if m.group(2) else ""
            text = text[:m.start()] + f"at sizes {sizes}{rest}" + text[m.end():]
    return text


def _results(d: Derivation, full: bool) -> list[tuple[Any, Any, str]]:
    """(left side, expression, kernel name) of each result, as the Results list shows
    them; a reader's list names a result by the left side it was derived under."""
    out = []
    for c in d.conclusions.values():
        if full:
            out.append((None, c.expr, c.name))
            continue
        lhs = None
        steps = [s for s in d.steps if s.kind == "conclude" and s.label == c.name]
        if steps:
            lhs = steps[0].lhs
            for s in reversed(d.steps[:steps[0].index - 1]):
                if lhs is not None:
                    break
                if s.kind in ("define", "form", "apply", "rewrite"):
                    lhs = s.lhs
                    if s.kind in ("define", "form"):
                        break
        if lhs is not None and not _same(lhs, c.expr):
            out.append((lhs, display.fresh_dummies(c.expr, lhs), c.name))
    return out


def _assumption_lines(d: Derivation) -> list[tuple[str, str]]:
    """(symbols, fact) pairs and the assumptions in words (fact '')."""
    facts = getattr(d, "_symbol_facts", {})
    return [(", ".join(f"${display.latex(s, d)}$" for s in syms), f) for f, syms in
            facts.items()] + [(a, "") for a in d.assumptions]


# ---- LaTeX ---------------------------------------------------------------------------
def latex_of(obj: Any, d: Derivation | None = None) -> str:
    """LaTeX for a SymPy object in the derivation's notation (or text in \\text{})."""
    if obj is None:
        return ""
    if isinstance(obj, str):
        return r"\text{" + escape_text(obj) + "}"
    return display.latex(obj, d)


def _step_text(d: Derivation, row: Row) -> str:
    """The step's number, label, justification and check, as LaTeX text."""
    forms = forms_for(d)
    step = row.step
    label = escape_text(step.label, forms) if row.number else ""
    head = rf"\textbf{{({row.number}) {label}.}}"
    why = escape_text(step.why, forms) if step.why else ""
    check = escape_text(check_text(d, step), forms)
    return rf"{head} {why} \hfill \textit{{[{check}]}}"


def _equation_parts(d: Derivation, row: Row) -> tuple[str, str]:
    left = latex_of(row.lhs, d) if row.lhs is not None else ""
    right = latex_of(row.rhs, d)
    relation = "= " if (left or row.continued) else ""
    return left, relation + right


def latex_fragment(d: Derivation, full: bool = False) -> str:
    """The derivation for pasting into an amsmath document: each step's text, then its
    equation, broken over lines when it is long (``layout``)."""
    out = []
    for row in rows(d, full):
        out.append("{\\small\\sloppy\\noindent " + _step_text(d, row) + "\\par}\n")
        if row.has_equation:
            left, right = _equation_parts(d, row)
            out.append(layout.display_math(left, right, row.lhs, row.rhs, d))
    return "".join(out)


def _itemize(items: list[str]) -> str:
    if not items:
        return "none stated\n"
    return "\\begin{itemize}\n" + "".join(f"  \\item {x}\n" for x in items) + "\\end{itemize}\n"


def latex_preamble(extra: str = "") -> str:
    return ("\\documentclass[11pt]{article}\n\\usepackage[T1]{fontenc}\n"
            "\\usepackage{amsmath,amssymb}\n\\usepackage[margin=2cm]{geometry}\n"
            "\\usepackage{graphicx}\n\\sloppy\n\\allowdisplaybreaks\n" + extra)


def latex_body(d: Derivation, full: bool = False, heading: str = "paragraph") -> str:
    """Source, assumptions, conventions, steps, results and errata (no preamble)."""
    forms = forms_for(d)
    assumptions = [f"{syms}: {escape_text(fact, forms)}" if fact else escape_text(syms, forms)
                   for syms, fact in _assumption_lines(d)]
    h = "\\" + heading
    parts = [
        f"\\noindent\\textbf{{Source:}} {escape_text(d.source, forms)}\n\n",
        f"{h}{{Assumptions.}}\n", _itemize(assumptions),
        f"{h}{{Conventions.}}\n",
        _itemize([escape_text(c, forms) for c in conventions(d, full)]),
        f"{h}{{Derivation.}}\n", latex_fragment(d, full),
    ]
    results = _results(d, full)
    if results:
        parts.append(f"{h}{{Results.}}\n")
        for lhs, expr, name in results:
            left = (display.latex(lhs, d) if lhs is not None else
                    rf"\texttt{{{escape_plain(name)}}}")
            parts.append(layout.display_math(left, "= " + display.latex(expr, d), lhs, expr, d))
    if d.errata:
        parts.append(f"{h}{{Errata.}}\n\\begin{{itemize}}\n")
        for e in d.errata:
            parts.append(
                f"  \\item {escape_text(e.source, forms)}: the source states "
                f"{escape_text(e.stated, forms)}; correct: {escape_text(e.correct, forms)}. "
                f"Stated form ${display.latex(e.stated_expr, d)}$, derived form "
                f"${display.latex(e.correct_expr, d)}$.\n")
        parts.append("\\end{itemize}\n")
    return "".join(parts)


def latex_document(d: Derivation, full: bool = False) -> str:
    """A complete document that plain ``pdflatex`` compiles."""
    forms = forms_for(d)
    return "".join([
        latex_preamble(),
        f"\\title{{{escape_text(d.title, forms)}}}\n",
        f"\\author{{nnmath derivation \\texttt{{{escape_plain(d.slug)}}}}}\n",
        "\\date{}\n\\begin{document}\n\\maketitle\n",
        latex_body(d, full),
        "\\end{document}\n",
    ])


# ---- notebook ------------------------------------------------------------------------
def _mathjax_text(prose_text: str, d: Derivation | None = None) -> str:
    """Prose for MathJax: words in \\text{} (wrapped into lines of at most 80 characters),
    mathematics as mathematics, multi-letter names braced."""
    from . import prose

    forms = forms_for(d)
    pieces = []
    for k, part in enumerate(prose_text.split("$")):
        if k % 2:
            pieces.append((True, math_span_latex(part, forms)))
            continue
        for is_math, piece in prose._segments(part, forms):
            pieces.append((is_math, prose.math_latex(piece, forms) if is_math else piece))
    out, line = [], 0
    for is_math, piece in pieces:
        if is_math:
            out.append("{" + piece + "}")
            line += len(piece) // 2
            continue
        words = re.split(r"(\s+)", piece)
        chunk = ""
        for w in words:
            if line + len(chunk) + len(w) > 80 and chunk.strip():
                out.append(r"\text{" + chunk.translate(_MATHJAX_TEXT) + "}")
                out.append(r"\\ & ")
                chunk, line = "", 0
            chunk += w
        if chunk:
            out.append(r"\text{" + chunk.translate(_MATHJAX_TEXT) + "}")
            line += len(chunk)
    return " ".join(out)


_MATHJAX_TEXT = str.maketrans({"{": "(", "}": ")", "\\": "", "$": "", "%": " percent",
                               "&": "and", "#": "no.", "~": "∼", "_": " ", "^": " "})


def notebook_latex(d: Derivation, full: bool = False) -> str:
    """For Jupyter's ``_repr_latex_``: one MathJax display per step (its label,
    justification and check as text rows above its equation)."""
    blocks = [rf"$$\begin{{align*}}& {_mathjax_text(d.title, d)}\end{{align*}}$$"]
    for row in rows(d, full):
        step = row.step
        note = f"({row.number}) {step.label}. {step.why} [{check_text(d, step)}]"
        lines = [rf"& {_mathjax_text(note, d)}"]
        if row.has_equation:
            left, right = _equation_parts(d, row)
            lines.append(rf"{left} &{right}")
        blocks.append("$$\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}$$")
    return "\n".join(blocks)


# ---- terminal ------------------------------------------------------------------------
def terminal_width() -> int:
    """COLUMNS if set, else the terminal's width, else 80."""
    try:
        return max(40, int(os.environ["COLUMNS"]))
    except (KeyError, ValueError):
        return max(40, shutil.get_terminal_size((80, 24)).columns)


def plain_text(prose_text: str, d: Derivation | None = None) -> str:
    """Prose for terminals: mathematics in Unicode, no markup."""
    from . import prose
    return prose.text(prose_text, forms_for(d))


def _pretty(expr: Any, d: Derivation, width: int, indent: str = "    ") -> str:
    try:
        art = display.pretty(expr, d, width - len(indent))
    except Exception:
        art = sp.sstr(expr)
    return "\n".join((indent + line).rstrip() for line in art.splitlines())


def _pretty_row(row: Row, d: Derivation, width: int) -> str:
    if row.lhs is None:
        art = _pretty(row.rhs, d, width - 2 if row.continued else width)
        if row.continued:
            lines = art.splitlines()
            return "\n".join(("  = " if i == len(lines) // 2 else "    ") + line[4:]
                             if False else line for i, line in enumerate(lines))
        return art
    try:
        return _pretty(sp.Eq(row.lhs, row.rhs, evaluate=False), d, width)
    except Exception:
        return (_pretty(row.lhs, d, width) + "\n    =\n" + _pretty(row.rhs, d, width))


def _wrap(text_: str, width: int, indent: str = "", hang: str = "    ") -> str:
    return textwrap.fill(text_, width=width, initial_indent=indent, subsequent_indent=hang,
                         break_long_words=True, break_on_hyphens=False)


def text(d: Derivation, width: int | None = None, full: bool = False) -> str:
    """Plain text for terminals (Unicode pretty-printing), at most ``width`` columns."""
    width = width or terminal_width()
    lines = [_wrap(f"{d.slug} — {plain_text(d.title, d)}", width),
             _wrap(f"source: {plain_text(d.source, d)}", width)]
    facts = getattr(d, "_symbol_facts", {})
    assumptions = [", ".join(display.pretty(s, d, 1000) for s in syms) + f": {fact}"
                   for fact, syms in facts.items()]
    assumptions += [plain_text(a, d) for a in d.assumptions]
    if assumptions:
        lines.append("assumptions:")
        lines += [_wrap(a, width, "  • ", "    ") for a in assumptions]
    notes = conventions(d, full)
    if notes:
        lines.append("conventions:")
        lines += [_wrap(plain_text(c, d), width, "  • ", "    ") for c in notes]
    lines.append("")
    for row in rows(d, full):
        s = row.step
        head = f"({row.number}) {plain_text(s.label, d)}"
        if s.why:
            head += f" — {plain_text(s.why, d)}"
        head += f"   [{plain_text(check_text(d, s), d)}]"
        lines.append(_wrap(head, width))
        if row.has_equation:
            lines.append(_pretty_row(row, d, width))
        lines.append("")
    results = _results(d, full)
    if results:
        lines.append("results:")
        for lhs, expr, name in results:
            if lhs is None:
                c = d.conclusions[name]
                lines.append(_wrap(f"  {name}({', '.join(map(str, c.args))}) =", width))
                lines.append(_pretty(expr, d, width, "      "))
            else:
                lines.append(_pretty(sp.Eq(lhs, expr, evaluate=False), d, width, "  "))
    if d.errata:
        lines.append("errata:")
        for e in d.errata:
            lines.append(_wrap(f"{plain_text(e.source, d)}: states {plain_text(e.stated, d)}; "
                               f"correct: {plain_text(e.correct, d)}", width, "  ", "    "))
    return "\n".join(lines).rstrip() + "\n"
