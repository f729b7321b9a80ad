"""Display-only symbols: a row's statement shown exactly as written (never checked)."""
import re

import sympy as sp

class Shown(sp.Symbol):
    """A display-only symbol for a row's statement (e.g. the general form of an identity
    proved at fixed sizes): LaTeX exactly as written, and its own terminal text, so neither
    printer re-parses ``_`` and ``^`` in the name. Never used in a checked expression."""

    def __new__(cls, latex: str, text: str | None = None):
        obj = super().__new__(cls, latex)
        obj._text = text if text is not None else _plain(latex)
        return obj

    def _latex(self, printer):
        return self.name

    def _sympystr(self, printer):
        return self._text

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm
        return prettyForm(self._text)


_PLAIN = [(r"\\frac\{((?:[^{}]|\{[^{}]*\})*)\}\{((?:[^{}]|\{[^{}]*\})*)\}", r"\1/\2"), (r"\^\{T\}|\^T", "ᵀ"),
          (r"\\partial ?", "∂"), (r"\\ell", "ℓ"), (r"\\delta", "δ"), (r"\\sigma", "σ"),
          (r"\\odot", "⊙"), (r"\\nabla", "∇"), (r"\\sum", "Σ"), (r"\\mathbf\{1\}", "1"),
          (r"\\tfrac12", "½"), (r"\\\|", "‖"), (r"\\log", "log"), (r"\\lceil", "⌈"),
          (r"\\rceil", "⌉"), (r"\\left|\\right", ""), (r"\\,|\\ ", " "), (r"[{}]", "")]


def _plain(latex: str) -> str:
    """A readable terminal form of a short LaTeX statement (for display-only symbols)."""
    text = latex
    for pattern, repl in _PLAIN:
        text = re.sub(pattern, repl, text)
    return text


def shown(latex: str, text: str | None = None) -> Shown:
    """A display-only symbol: ``latex`` verbatim in LaTeX, ``text`` (or a plain rendering
    of the LaTeX) in the terminal."""
    return Shown(latex, text)
