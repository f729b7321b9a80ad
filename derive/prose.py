"""Prose with mathematics: titles, justifications, assumptions and conventions.

Authors write prose in plain Unicode with inline mathematics (``∂p_k/∂z_i = p_k(δ_ki −
p_i)``, ``e^{z_j}``, ``Σ_k g_k``, code names such as ``inv_std``) and, occasionally,
``$...$`` spans of LaTeX. This module finds the mathematics in a sentence and typesets it:

* ``latex(text, forms)``  LaTeX text mode with every piece of mathematics in ``$...$``
  (sub- and superscripts, Greek, code names in the document's notation), so no ``_``,
  ``^`` or braces reach the page as text;
* ``text(text, forms)``   Unicode for terminals: ``p_k`` as pₖ, ``x^2`` as x², code names
  in the document's notation, no LaTeX macro names.

A word is mathematics when it holds ``_``, ``^``, a Greek letter or another mathematical
sign, an accented letter, a function call such as ``softmax(z)``, or is a code name or a
single letter (other than the words "a", "A" and "I"); numbers and operators between two
such words join them into one formula.
"""
from __future__ import annotations

import re
import unicodedata

from .notation import _SUB as _SUBS
from .notation import _SUP, FUNCTIONS, Forms, auto_latex, auto_text, to_subscript, to_superscript

__all__ = ["latex", "math_latex", "math_text", "text"]

_GREEK = "αβγδεζηθικλμνξπρστυφχψωΓΔΘΛΞΠΣΦΨΩϕℓ"
_MATH_SIGNS = "_^∂Σ∑∏√∞⊙⊗∇∫≤≥≠≈≡∝∈→↦⇒·×±∓²³⁴¹⁰⁻⁺ⁿᵀ′ᵢⱼₖₗₘₙₜ₀₁₂₃₄𝟙𝔼ℝ‖⟨⟩⌊⌋⌈⌉"
_OPERATORS = {"=", "−", "+", "-", "≤", "≥", "<", ">", "·", "×", "/", "→", "≈", "≠", "∝",
              "⊙", "*", "↦", "∈", "±", ":=", "~", "∼", "←", "⇒", "⇔"}
_CALL = re.compile(r"[A-Za-z" + _GREEK + r"][′']*\(")
_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*")
_NAMED_FUNCTIONS = {"exp": r"\exp", "log": r"\log", "ln": r"\ln", "sin": r"\sin",
                    "cos": r"\cos", "tanh": r"\tanh", "max": r"\max", "min": r"\min",
                    "det": r"\det", "sup": r"\sup", "inf": r"\inf", "lim": r"\lim",
                    "sign": r"\operatorname{sign}", "diag": r"\operatorname{diag}",
                    "erf": r"\operatorname{erf}", "tr": r"\operatorname{tr}",
                    "Var": r"\operatorname{Var}", "Cov": r"\operatorname{Cov}",
                    "argmax": r"\operatorname{arg\,max}", "std": r"\mathrm{std}"}
_GREEK_NAMES = {"alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta",
                "theta", "iota", "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "sigma",
                "tau", "phi", "varphi", "chi", "psi", "omega", "Gamma", "Delta", "Theta",
                "Lambda", "Sigma", "Phi", "Psi", "Omega", "ell", "nabla", "partial"}
_NOT_MATH_LETTERS = {"a", "A", "I"}
_SMALL = {v: ("^", "-" if k == "−" else k) for k, v in _SUP.items() if k != "*"}
_SMALL.update({v: ("_", "-" if k == "−" else k) for k, v in _SUBS.items()})
_SMALL["ᵀ"] = ("^", r"\top ")


def _has_accent(word: str) -> bool:
    return any(unicodedata.combining(c) for c in unicodedata.normalize("NFD", word)
               if not c.isascii()) and any(c.isalpha() for c in word)


_CODE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[_.][A-Za-z0-9]+)+_?")  # clip_grad_norm_


def is_code(name: str, forms: Forms | None = None) -> bool:
    """A kernel or SymPy name (``adadelta_accumulate_grad``, ``Sum.change_index``) rather
    than mathematics with a word subscript (``n_in``, ``z_max``, ``L_MSE``)."""
    if not _CODE.fullmatch(name) or (forms is not None and name in forms.symbols):
        return False
    if "." in name:  # sympy.stats, Sum.change_index; not an equation number (B.28)
        return all(part[:1].isalpha() for part in re.split(r"[_.]", name) if part)
    head, *parts = name.rstrip("_").split("_")
    if name.endswith("_"):
        return True
    if head in _GREEK_NAMES:
        return False
    return len(parts) >= 2 or (len(head) >= 3 and any(len(p) >= 3 for p in parts))


def _code_spans(piece: str, forms: Forms | None) -> list[tuple[bool, str]]:
    out: list[tuple[bool, str]] = []
    last = 0
    for m in _CODE.finditer(piece):
        if is_code(m.group(0), forms):
            out.append((False, piece[last:m.start()]))
            out.append((True, m.group(0)))
            last = m.end()
    out.append((False, piece[last:]))
    return [p for p in out if p[1]]


def _is_math_word(word: str, forms: Forms | None) -> bool:
    core = word.strip("(),;:.")
    lead = _CODE.match(core)
    if not core or (lead and is_code(lead.group(0), forms)):
        return False  # a code name, possibly called: adam_step(m, …
    if any(c in _MATH_SIGNS or c in _GREEK for c in core) or _has_accent(core):
        return True
    if _CALL.search(core) or re.search(r"[A-Za-z]\[", core):  # f(x), E[m]
        return True
    if (re.fullmatch(r"[A-Za-z0-9()\[\]|′']+", core) and re.search(r"[()\[\]|]", core)
            and re.search(r"[A-Za-z]", core) and not re.search(r"[a-z]{3,}|[A-Z]\d", core)):
        return True  # p)Wx, (W, x|
    if forms is not None and core in forms.symbols and _code_like(core):
        return True
    if len(core) == 1 and core.isalpha() and core.isascii() and core not in _NOT_MATH_LETTERS:
        return True
    return bool(re.fullmatch(r"[A-Za-z]['′]+", core))


def _code_like(name: str) -> bool:
    """A code name, not an English word that happens to be a symbol (mean, var)."""
    return "_" in name or any(c.isdigit() for c in name) or name in {
        "eps", "xhat", "xc", "htilde", "lamda", "varepsilon"}


def _is_joiner(word: str) -> bool:
    return word in _OPERATORS or bool(re.fullmatch(r"[(\[]*[−-]?\d+(\.\d+)?[,;:.)\]]*", word))


def _segments(prose: str, forms: Forms | None) -> list[tuple[bool, str]]:
    """The prose cut into (is_math, piece) runs; whitespace stays in the pieces."""
    tokens = re.split(r"(\s+)", prose)
    math = [bool(t.strip()) and _is_math_word(t, forms) for t in tokens]
    join = [bool(t.strip()) and _is_joiner(t) for t in tokens]
    n = len(tokens)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < n:
        if not math[i]:
            i += 1
            continue
        start = i
        while start >= 2 and not tokens[start - 1].strip() and join[start - 2] and (
                tokens[start - 2] in _OPERATORS or tokens[start - 2 + 2] in _OPERATORS
                or (start - 4 >= 0 and tokens[start - 4] in _OPERATORS)):
            if spans and start - 2 <= spans[-1][1]:
                break
            start -= 2
        end = i
        j = i
        while j + 2 < n and not tokens[j + 1].strip() and (math[j + 2] or join[j + 2]):
            j += 2
            if math[j] or _joinable_end(tokens, j):
                end = j
        spans.append((start, end))
        i = end + 1
    out: list[tuple[bool, str]] = []
    last = 0
    for a, b in spans:
        if a > last:
            out.append((False, "".join(tokens[last:a])))
        out.extend(_trim("".join(tokens[a:b + 1])))
        last = b + 1
    if last < n:
        out.append((False, "".join(tokens[last:])))
    return [p for p in out if p[1]]


def _joinable_end(tokens: list, j: int) -> bool:
    """A number may end a formula when an operator precedes it (``n = 2``)."""
    tok = tokens[j].rstrip(",;:.)")
    prev = tokens[j - 2] if j >= 2 else ""
    return bool(re.fullmatch(r"[−-]?\d+(\.\d+)?", tok)) and prev in _OPERATORS


def _trim(piece: str) -> list[tuple[bool, str]]:
    """Move unbalanced parentheses and trailing punctuation out of a formula."""
    lead = ""
    while piece.startswith("(") and piece.count("(") > piece.count(")"):
        lead += "("
        piece = piece[1:]
    tail = ""
    while piece and (piece[-1] in ",;:." or
                     (piece[-1] == ")" and piece.count(")") > piece.count("("))):
        if piece.endswith("..") or piece.endswith("…"):
            break
        tail = piece[-1] + tail
        piece = piece[:-1]
    out = []
    if lead:
        out.append((False, lead))
    if piece:
        out.append((True, piece))
    if tail:
        out.append((False, tail))
    return out


# ---- one formula -> LaTeX ------------------------------------------------------------
def _group(s: str, i: int) -> tuple[str, int]:
    """The argument of ``_`` or ``^`` at s[i:]: a braced group or a run of letters and
    digits (a lone sign such as ``−`` followed by one); returns (argument, next index)."""
    if i < len(s) and s[i] == "{":
        depth = 0
        for j in range(i, len(s)):
            depth += {"{": 1, "}": -1}.get(s[j], 0)
            if depth == 0:
                return s[i + 1:j], j + 1
        return s[i + 1:], len(s)
    if i < len(s) and s[i] == "(":
        depth = 0
        for j in range(i, len(s)):
            depth += {"(": 1, ")": -1}.get(s[j], 0)
            if depth == 0:
                return s[i + 1:j], j + 1
    m = re.match(r"[−-]?(?:[A-Za-z0-9]+|[" + _GREEK + r"∞*′])", s[i:])
    if m:
        return m.group(0), i + m.end()
    return (s[i], i + 1) if i < len(s) else ("", i)


def math_latex(s: str, forms: Forms | None = None) -> str:
    """One formula written in prose (``p_k(δ_ki − p_i)``) as LaTeX math."""
    from .render import UNICODE_MATH, _accented

    out: list[str] = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\":  # an authored LaTeX command
            m = re.match(r"\\[A-Za-z]+|\\.", s[i:])
            tok = m.group(0) if m else c
            out.append(tok)
            i += len(tok)
            continue
        m = _IDENT.match(s, i) if c.isascii() and c.isalpha() else None
        if m:
            name = m.group(0)
            shown = _ident_latex(name, forms)
            if shown is None:  # not a code name: the head only, then _ is a subscript
                head = re.findall(r"[A-Za-z][A-Za-z0-9]*", name)[0]
                shown = _word_latex(head, s, i + len(head))
                i += len(head)
            else:
                i += len(name)
            out.append(shown)
            continue
        if c in "_^":
            arg, i = _group(s, i + 1)
            if re.fullmatch(r"[a-z]{1,2}|[A-Za-z]|[A-Za-z]?\d+", arg):
                inner = arg  # indices: italic letters
            elif re.fullmatch(r"[A-Za-z]{2,}", arg):
                inner = rf"\mathrm{{{arg}}}"  # a word: W_T^HB, z_max
            else:
                inner = math_latex(arg, forms)
            out.append(c + "{" + inner + "}")
            continue
        if c == "{":
            out.append(r"\{")
        elif c == "}":
            out.append(r"\}")
        elif c in "%#&$":
            out.append("\\" + c)
        elif c == "~":
            out.append(r"\sim ")
        elif c == "…" or s.startswith("..", i):
            out.append(r"\dots ")
            if c == ".":
                i += 1
        elif c in _SMALL:  # a run of Unicode sub- or superscripts: one group
            kind = _SMALL[c][0]
            j = i
            while j < len(s) and s[j] in _SMALL and _SMALL[s[j]][0] == kind:
                j += 1
            out.append(kind + "{" + "".join(_SMALL[x][1] for x in s[i:j]) + "}")
            i = j
            continue
        elif c == "√":  # √(ν + ε) and √t as \sqrt{...}
            arg, j = _group(s, i + 1)
            if arg:
                out.append(r"\sqrt{" + math_latex(arg, forms) + "}")
                i = j
                continue
            out.append(r"\surd ")
        elif c == "Σ" and (s[i + 1:i + 2] == "_" or re.match(r" [a-z]", s[i + 1:i + 3])):
            out.append(r"\sum")
        elif c in UNICODE_MATH:
            cmd = UNICODE_MATH[c]
            out.append(cmd + (" " if cmd[-1:].isalpha() else ""))
        elif _accented(c):
            out.append(_accented(c))
        elif unicodedata.combining(c) and out:
            from .render import _ACCENTS
            acc = _ACCENTS.get(ord(c))
            if acc:
                out[-1] = f"{acc}{{{out[-1].strip()}}}"
        elif c in "“”‘’":
            out.append("'" if c in "’′" else "")
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _ident_latex(name: str, forms: Forms | None) -> str | None:
    """A code name (``inv_std``, ``n_in``) in the document's notation, else None."""
    if forms is not None and name in forms.symbols and _code_like(name):
        return forms.symbols[name][0]
    if name in FUNCTIONS:
        return FUNCTIONS[name][0]
    if "_" in name:
        head, _, sub = name.partition("_")
        if (len(head) > 1 and head not in _GREEK_NAMES) or len(sub) > 2:
            return auto_latex(name)
    return None


def _word_latex(word: str, s: str, after: int) -> str:
    """A run of letters: a function name, Greek name, single letter or upright word."""
    if word in _NAMED_FUNCTIONS:
        return _NAMED_FUNCTIONS[word] + " "
    if word in _GREEK_NAMES:
        return "\\" + ("varepsilon" if word == "epsilon" else word) + " "
    if len(word) == 1:
        return word
    if len(word) == 2:
        return word[0] + r"\," + word[1]  # a product of two letters (pp, Jx)
    if re.fullmatch(r"[A-Za-z]\d+", word):
        return f"{word[0]}_{{{word[1:]}}}"
    return rf"\mathrm{{{word}}}"


# ---- one formula -> Unicode text -----------------------------------------------------
def math_text(s: str, forms: Forms | None = None) -> str:
    """One formula written in prose as Unicode text: ``p_k`` → pₖ, ``x^2`` → x²,
    ``e^{z_j}`` → exp(zⱼ), code names in the document's notation."""
    out: list[str] = []
    i = 0
    while i < len(s):
        c = s[i]
        m = _IDENT.match(s, i) if c.isascii() and c.isalpha() else None
        if m:
            name = m.group(0)
            shown = None
            if forms is not None and name in forms.symbols and _code_like(name):
                shown = forms.symbols[name][1]
            elif "_" in name:
                head, _, sub = name.partition("_")
                if (len(head) > 1 and head not in _GREEK_NAMES) or len(sub) > 2:
                    shown = auto_text(name)
            if shown is None:
                head = re.findall(r"[A-Za-z][A-Za-z0-9]*", name)[0]
                out.append(head)
                i += len(head)
            else:
                out.append(shown)
                i += len(name)
            continue
        if c in "_^":
            arg, j = _group(s, i + 1)
            inner = math_text(arg, forms)
            table = to_subscript if c == "_" else to_superscript
            small = table(inner.replace(" ", ""))
            if small is not None:
                out.append(small)
            elif c == "^" and out and out[-1] == "e":
                out[-1] = f"exp({inner})"
            elif c == "_":
                out.append(f"[{inner}]")
            else:
                out.append(f"^({inner})" if len(inner) > 1 else "^" + inner)
            i = j
            continue
        if c in "{}":
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


# ---- whole sentences ------------------------------------------------------------------
def latex(prose: str, forms: Forms | None = None) -> str:
    """A sentence for LaTeX text mode, its mathematics in ``$...$``."""
    from .render import escape_plain, math_span_latex

    parts = prose.split("$")
    if len(parts) % 2 == 0:
        parts = [prose.replace("$", "\uffff")]
    out = []
    for k, part in enumerate(parts):
        if k % 2:
            out.append(_inline(math_span_latex(part, forms)))
            continue
        for is_math, piece in _segments(part, forms):
            if is_math:
                out.append(_inline(math_latex(piece, forms)))
                continue
            for code, bit in _code_spans(piece, forms):  # code names in typewriter
                out.append(r"\texttt{" + escape_plain(bit).replace("\\_", "\\_\\allowbreak{}")
                           .replace(".", ".\\allowbreak{}") + "}" if code else escape_plain(bit))
    return "".join(out)


def _inline(math: str) -> str:
    """``$math$``, split at top-level ", " so that a long list can break between items."""
    pieces, depth, start = [], 0, 0
    for i, c in enumerate(math):
        depth += {"{": 1, "}": -1, "(": 1, ")": -1}.get(c, 0)
        if c == "," and depth == 0 and math[i + 1:i + 2] == " " and math[i - 1:i] != "\\":
            pieces.append(math[start:i])
            start = i + 1
    pieces.append(math[start:])
    return ", ".join("$" + p.strip() + "$" for p in pieces if p.strip())


def text(prose: str, forms: Forms | None = None) -> str:
    """A sentence for terminals: mathematics in Unicode, no markup."""
    from .display import plain

    parts = prose.split("$")
    if len(parts) % 2 == 0:
        parts = [prose]
    out = []
    for k, part in enumerate(parts):
        if k % 2:
            out.append(math_text(plain(part, forms), forms))
            continue
        for is_math, piece in _segments(part, forms):
            out.append(math_text(piece, forms) if is_math else piece)
    return "".join(out)
