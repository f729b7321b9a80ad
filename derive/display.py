"""Display-only symbols (a row's statement shown exactly as written, never checked) and
the printers that apply the notation layer."""
import functools
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

    def _latex(self, printer):  # word subscripts upright: W_{ZCA}, L_{MSE}
        return re.sub(r"_\{([A-Z]{2,}|[a-z]{3,})\}", r"_{\\mathrm{\1}}", self.name)

    def _sympystr(self, printer):
        return self._text

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        from .prose import math_text
        return prettyForm(math_text(self._text, getattr(printer, "forms", None)))


_PLAIN = [(r"\\left|\\right", ""),
          (r"\\frac\{((?:[^{}]|\{[^{}]*\})*)\}\{((?:[^{}]|\{[^{}]*\})*)\}", r"\1/\2"),
          (r"\^\{T\}|\^T", "ᵀ"),
          (r"\\partial ?", "∂"), (r"\\ell", "ℓ"), (r"\\delta", "δ"), (r"\\sigma", "σ"),
          (r"\\odot", "⊙"), (r"\\nabla", "∇"), (r"\\sum", "Σ"), (r"\\mathbf\{1\}", "𝟙"),
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
    (r"\\mathbf\{1\}", "𝟙"),
    (r"\\overline\{([^{}]*)\}", r"⟨\1⟩"), (r"\\varepsilon|\\epsilon", "ε"),
    (r"\\varphi", "φ"), (r"\\infty", "∞"), (r"\\top", "T"), (r"\\cdot", "·"),
    (r"\\times", "×"), (r"\\dots|\\ldots|\\cdots", "…"), (r"\\le(?![a-z])", "≤"),
    (r"\\ge(?![a-z])", "≥"), (r"\\to(?![a-z])", "→"), (r"\\in(?![a-z])", "∈"),
    (r"\\mathbb\{E\}", "E"), (r"\\mathbb\{R\}", "ℝ"), (r"\\exp", "exp"), (r"\\max", "max"),
    (r"\\min", "min"), (r"\\tanh", "tanh"), (r"\\ln", "ln"), (r"\\operatorname\{([^{}]*)\}", r"\1"),
    (r"\\(?:textstyle|displaystyle|scriptstyle|quad|qquad|[,;!])", ""),
    (r"\\(?:text|mathrm|operatorname|mathbf|mathit|mathcal)\{([^{}]*)\}", r"\1"),
    (r"\\sqrt\{([^{}]*)\}", r"√(\1)"),
    (r"\\(hat|bar|tilde|dot)\s*\{?([A-Za-z])\}?",
     lambda m: m.group(2) + _ACCENT[m.group(1)]),
    (r"\\overline\{([^{}]*)\}", r"⟨\1⟩"),
    (r"\\binom\{([^{}]*)\}\{([^{}]*)\}", r"C(\1, \2)"),
    (r"\\sqrt\{((?:[^{}]|\{[^{}]*\})*)\}", r"√(\1)"), (r"\\sqrt", "√"),
]


def plain(latex: str, forms=None) -> str:
    """A readable terminal form of a short LaTeX statement (for display-only symbols);
    code names printed by SymPy's default LaTeX (``inv_{std}``) in ``forms``' notation."""
    text = latex
    if forms is not None:
        from .render import replace_code_names
        text = replace_code_names(text, forms, text=True)
    for pattern, repl in _STRUCTURE + _PLAIN[:-1] + _command_table() + _PLAIN[-1:]:
        text = re.sub(pattern, repl, text)
    return re.sub(r"\\([A-Za-z]+)", r"\1", text)  # a command without a Unicode form


def shown(latex: str, text: str | None = None) -> Shown:
    """A display-only symbol: ``latex`` verbatim in LaTeX, ``text`` (or a plain rendering
    of the LaTeX) in the terminal."""
    return Shown(latex, text)


# ---- printers that apply the notation layer ------------------------------------------
from sympy.printing.latex import LatexPrinter  # noqa: E402
from sympy.printing.pretty.pretty import PrettyPrinter  # noqa: E402
from sympy.printing.pretty.stringpict import prettyForm  # noqa: E402

from .notation import FUNCTIONS, Forms, forms_for, to_subscript  # noqa: E402


def _positive_first(terms: list) -> list:
    """Sum terms with the positive ones first (Y_i − μ, not −μ + Y_i), else as SymPy
    orders them."""
    def negative(t):
        return t.could_extract_minus_sign() if hasattr(t, "could_extract_minus_sign") else False
    if not terms or not negative(terms[0]):
        return terms
    return [t for t in terms if not negative(t)] + [t for t in terms if negative(t)]


class NotationLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer with symbols and function names from the notation layer."""

    def __init__(self, forms: Forms, settings: dict | None = None):
        super().__init__(settings or {})
        self.forms = forms

    def _as_ordered_terms(self, expr, order=None):
        return _positive_first(super()._as_ordered_terms(expr, order))

    def doprint(self, expr):
        text = super().doprint(expr)
        if not text.isascii():  # Unicode in a name (Θ(w·x)): LaTeX commands for pdflatex
            from .render import _unicode_in_math
            text = _unicode_in_math(text)
        return text

    def _print_Symbol(self, expr, style="plain"):
        shown = self.forms.latex(expr.name)
        if shown is None and "\\" not in expr.name and (
                re.search(r"[A-Za-z]{2}", expr.name) or not expr.name.isascii()):
            from .prose import math_latex  # a name written as a formula: softmax(z), W_T^{EMA}
            shown = math_latex(expr.name, self.forms)
        if shown is None:
            shown = super()._print_Symbol(expr, style)
            if "\\" in expr.name:  # authored LaTeX: words in scripts upright (σ_{w,edge})
                shown = re.sub(r"(?<=[{,])([A-Za-z]{3,})(?=[,}])", r"\\mathrm{\1}", shown)
        return shown

    def _hprint_Function(self, func: str) -> str:
        if func in FUNCTIONS:
            return FUNCTIONS[func][0]
        return super()._hprint_Function(func)

    def _print_IndexedBase(self, expr):
        return self._print(expr.label)

    def _print_Mul(self, expr):  # B\,std, not "Bstd": space before an upright name
        args = list(expr.args)
        root2, inv_root_pi = sp.sqrt(2), 1 / sp.sqrt(sp.pi)
        if root2 in args and inv_root_pi in args and all(
                not (a.is_Rational and a not in (1, -1)) for a in args):  # √(2/π) as written
            args.remove(root2)
            args.remove(inv_root_pi)
            rest = sp.Mul(*args)
            sign = ""
            if rest.could_extract_minus_sign():
                sign, rest = "- ", -rest
            if rest == 1:
                return sign + r"\sqrt{\frac{2}{\pi}}"
            from sympy.printing.precedence import PRECEDENCE
            return sign + r"\sqrt{\frac{2}{\pi}}\, " + self.parenthesize(rest, PRECEDENCE["Mul"])
        return re.sub(r"([A-Za-z0-9}]) (\\mathrm\{)", r"\1\\,\2", super()._print_Mul(expr))

    def _print_Rational(self, expr):
        shown = decimal(expr)
        return shown if shown is not None else super()._print_Rational(expr)


def decimal(r) -> str | None:
    """A rational with a denominator 2^a·5^b of at least 1000 as the decimal a source
    writes (8943/200000 -> 0.044715), else None."""
    q = int(r.q)
    if q < 1000:
        return None
    while q % 2 == 0:
        q //= 2
    while q % 5 == 0:
        q //= 5
    if q != 1:
        return None
    text = format(sp.Float(r, 30), "f").rstrip("0")
    digits = len(str(r.q))
    return f"{float(r):.{digits}f}".rstrip("0") if len(text) > 40 else text


class NotationPrettyPrinter(PrettyPrinter):
    """SymPy's Unicode pretty printer with the notation layer and subscript indices."""

    def __init__(self, forms: Forms, settings: dict | None = None):
        super().__init__(settings or {})
        self.forms = forms

    def _as_ordered_terms(self, expr, order=None):
        return _positive_first(super()._as_ordered_terms(expr, order))

    def _print_Symbol(self, e, bold_name=False):
        shown = self.forms.text(e.name)
        if shown is None and re.search(r"[\\_^{]", e.name):
            from .prose import math_text
            shown = math_text(plain(e.name, self.forms), self.forms)
        return prettyForm(shown) if shown is not None else super()._print_Symbol(e, bold_name)

    def _print_Function(self, e, sort=False, func_name=None, left="(", right=")"):
        name = type(e).__name__
        if func_name is None and name in FUNCTIONS:
            func_name = FUNCTIONS[name][1]
        return super()._print_Function(e, sort=sort, func_name=func_name, left=left,
                                       right=right)

    def _print_IndexedBase(self, e):
        return self._print(e.label)

    def _print_Rational(self, e):
        shown = decimal(e)
        return prettyForm(shown) if shown is not None else super()._print_Rational(e)

    def _print_MatrixSymbol(self, e):
        return self._print_Symbol(sp.Symbol(e.name))

    def _print_Indexed(self, e):
        base = self._print(e.base.label)
        index = ",".join(sp.sstr(i).replace(" ", "") for i in e.indices)
        sub = to_subscript(index.replace("-", "−"))
        if sub is not None and base.height() == 1:
            return prettyForm(base.s + sub)
        return prettyForm(base.s + "[" + ", ".join(sp.sstr(i) for i in e.indices) + "]")


def fresh_dummies(expr, *context):
    """Rename a Sum's summation index when the same letter is free in the displayed
    equation (``dY_i = … Σ_i …`` becomes ``Σ_k``), so that no index has two meanings."""
    if not isinstance(expr, sp.Basic) or not expr.has(sp.Sum):
        return expr
    free = set(expr.free_symbols)
    for c in context:
        if isinstance(c, sp.Basic):
            free |= c.free_symbols
    taken = {s.name for s in free} | {s.name for s in expr.atoms(sp.Symbol)}

    def rename(s):
        new_limits, body = [], s.function
        for lim in s.limits:
            var = lim[0]
            if var in free or any(var in o.free_symbols for o in ()):
                letter = next((c for c in "kjlnrq" if c not in taken), None)
                if letter is None:
                    new_limits.append(lim)
                    continue
                taken.add(letter)
                new = sp.Symbol(letter, **{k: v for k, v in var.assumptions0.items()
                                           if k in ("integer", "positive", "nonnegative")})
                body = body.xreplace({var: new})
                new_limits.append((new, *lim[1:]))
            else:
                new_limits.append(lim)
        return sp.Sum(body, *new_limits)

    return expr.replace(lambda e: isinstance(e, sp.Sum), rename)


def with_decimals(expr):
    """Rationals a source writes as decimals (0.044715, not 8943/200000) as Floats, for
    display only."""
    if not isinstance(expr, (sp.Basic, sp.MatrixBase)):
        return expr
    try:
        rationals = [r for r in expr.atoms(sp.Rational) if decimal(r) is not None]
    except AttributeError:
        return expr
    if not rationals:
        return expr
    return expr.xreplace({r: sp.Float(decimal(r), 30) for r in rationals})


Phi = sp.Function("Phi")  # the standard normal distribution function, for display


@functools.lru_cache(maxsize=512)
def _phi_form(expr):
    reps = {}
    for f in expr.atoms(sp.erf):
        q = sp.nsimplify(f.args[0] / sp.sqrt(2))
        if q.is_Rational and q != 0:
            reps[f] = (1 - 2 * Phi(-2 * q)) if q > 0 else (2 * Phi(2 * q) - 1)
    if not reps:
        return expr
    out = expr.xreplace(reps)
    candidates = [sp.factor_terms(sp.expand(out)), sp.radsimp(sp.expand(out))]
    if sp.count_ops(out) < 60:
        candidates.append(sp.simplify(out))
    return min(candidates, key=sp.count_ops)


def with_phi(expr):
    """erf at multiples of √2 written with Φ, the standard normal distribution function,
    as the sources write them: 1/2 − erf(√2/2)/2 = Φ(−1) (display only)."""
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(with_phi)
    if isinstance(expr, sp.Equality):
        return sp.Eq(with_phi(expr.lhs), with_phi(expr.rhs), evaluate=False)
    if not isinstance(expr, sp.Expr) or not expr.has(sp.erf) or expr.free_symbols - {
            s for s in expr.free_symbols if s.is_Symbol}:
        return expr
    if any(not f.args[0].is_number for f in expr.atoms(sp.erf)):
        return expr  # erf of a variable (GELU's Φ(x)) stays as derived
    try:
        return _phi_form(expr)
    except Exception:
        return expr


def short_floats(expr, digits: int = 17):
    """Floats inside a larger expression at the 17 significant digits that fix a float64
    (a lone number, or one side of an equation, keeps every digit it was computed to)."""
    if isinstance(expr, sp.Equality):
        return sp.Eq(short_floats(expr.lhs, digits), short_floats(expr.rhs, digits),
                     evaluate=False)
    if not isinstance(expr, sp.Basic) or isinstance(expr, sp.Float):
        return expr
    floats = [f for f in expr.atoms(sp.Float) if len(str(f).lstrip("-0.")) > digits + 1]
    if not floats:
        return expr
    return expr.xreplace({f: sp.Float(f, digits) for f in floats})


def for_display(expr):
    """The form a reader sees: Φ for erf at multiples of √2, decimals as the sources
    write them, floats at 17 significant digits inside expressions."""
    return short_floats(with_decimals(with_phi(expr)))


def latex(expr, d=None, **settings) -> str:
    """LaTeX of a SymPy object in derivation ``d``'s notation."""
    return NotationLatexPrinter(forms_for(d), settings).doprint(for_display(expr))


def pretty(expr, d=None, width: int = 80) -> str:
    """Unicode art of a SymPy object in derivation ``d``'s notation, at most ``width``
    columns wide (SymPy continues longer lines on the next with ↪)."""
    printer = NotationPrettyPrinter(forms_for(d), {"use_unicode": True,
                                                   "num_columns": max(width, 20),
                                                   "wrap_line": True})
    return printer.doprint(for_display(expr))
