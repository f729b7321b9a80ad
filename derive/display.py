"""Display-only symbols: a row's statement shown exactly as written (never checked)."""
import re

import sympy as sp

class Shown(sp.Symbol):
    """A display-only symbol for a row's statement (e.g. the general form of an identity
    proved at fixed sizes): LaTeX exactly as written, and its own terminal text, so neither
    printer re-parses ``_`` and ``^`` in the name. Never used in a checked expression."""

    def __new__(cls, latex: str, text: str | None = None):
        obj = super().__new__(cls, latex)
        obj._text = text if text is not None else plain(latex)
        return obj

    def _latex(self, printer):
        return self.name

    def _sympystr(self, printer):
        return self._text

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm
        return prettyForm(self._text)


_PLAIN = [(r"\\left|\\right", ""), (r"\\frac\{((?:[^{}]|\{[^{}]*\})*)\}\{((?:[^{}]|\{[^{}]*\})*)\}", r"\1/\2"), (r"\^\{T\}|\^T", "ᵀ"),
          (r"\\partial ?", "∂"), (r"\\ell", "ℓ"), (r"\\delta", "δ"), (r"\\sigma", "σ"),
          (r"\\odot", "⊙"), (r"\\nabla", "∇"), (r"\\sum", "Σ"), (r"\\mathbf\{1\}", "1"),
          (r"\\tfrac12", "½"), (r"\\\|", "‖"), (r"\\log", "log"), (r"\\lceil", "⌈"),
          (r"\\rceil", "⌉"), (r"\\left|\\right", ""), (r"\\,|\\ ", " "), (r"[{}]", "")]


def _command_table() -> list:
    """LaTeX commands -> Unicode, the reverse of render.UNICODE_MATH (\\alpha -> α ...)."""
    from .render import UNICODE_MATH

    table = {}
    for char, cmd in UNICODE_MATH.items():
        if re.fullmatch(r"\\[A-Za-z]+", cmd) and len(char) == 1 and cmd not in table:
            table[cmd] = char
    return [(re.escape(cmd) + r"(?![A-Za-z])", char) for cmd, char in table.items()]


_ACCENT = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303", "dot": "\u0307"}
_STRUCTURE = [
    (r"\\(?:textstyle|displaystyle|scriptstyle|quad|qquad|[,;!])", ""),
    (r"\\(?:text|mathrm|operatorname|mathbf|mathit|mathcal)\{([^{}]*)\}", r"\1"),
    (r"\\sqrt\{([^{}]*)\}", r"√(\1)"),
    (r"\\(hat|bar|tilde|dot)\s*\{?([A-Za-z])\}?",
     lambda m: m.group(2) + _ACCENT[m.group(1)]),
]


def plain(latex: str) -> str:
    """A readable terminal form of a short LaTeX statement (for display-only symbols)."""
    text = latex
    for pattern, repl in _STRUCTURE + _PLAIN[:-1] + _command_table() + _PLAIN[-1:]:
        text = re.sub(pattern, repl, text)
    return text


def shown(latex: str, text: str | None = None) -> Shown:
    """A display-only symbol: ``latex`` verbatim in LaTeX, ``text`` (or a plain rendering
    of the LaTeX) in the terminal."""
    return Shown(latex, text)
