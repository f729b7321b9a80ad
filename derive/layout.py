"""Displayed equations that fit the line: long ones broken over lines, never shrunk.

The width of an expression is estimated from SymPy's two-dimensional text layout (which
stacks fractions, sums and powers as LaTeX does): one column is about 6 pt of 11 pt
mathematics. A display narrower than ``COLUMNS`` is set on one line; a wider one is
broken at top-level ``+``/``−`` signs (an ``align*`` continuation with the relation
aligned), after a common factor is pulled out of a long numerator (``γ/std · [ … ]``),
and each line packed up to the limit. ``COLUMNS`` suits the 345 pt text width of a plain
``article``, so the same displays fit a fragment pasted into any amsmath document.
"""
from __future__ import annotations

from typing import Any

import sympy as sp

from . import display

__all__ = ["COLUMNS", "display_math", "width"]

COLUMNS = 52  # pretty-printer columns that fit 345 pt of 11 pt display mathematics


def width(expr: Any, d: Any = None) -> int:
    """The estimated width of ``expr`` in pretty-printer columns."""
    try:
        art = display.pretty(expr, d, 100000)
    except Exception:
        return len(sp.sstr(expr))
    return max((len(line) for line in art.splitlines()), default=0)


def _terms(expr: Any) -> list:
    if isinstance(expr, sp.Add):
        return list(sp.Add.make_args(expr))
    return [expr]


def _signed(term: Any, d: Any, first: bool) -> str:
    text = display.latex(term, d)
    if first:
        return text
    if text.startswith("-"):
        return "- " + text[1:].lstrip()
    return "+ " + text


def _pack(terms: list, d: Any, room: int) -> list[list]:
    lines: list[list] = [[]]
    used = 0
    for t in terms:
        w = width(t, d) + 3
        if lines[-1] and used + w > room:
            lines.append([])
            used = 0
        lines[-1].append(t)
        used += w
    return lines


def _factor_out(expr: Any) -> tuple[Any, Any] | None:
    """(factor, sum) with expr = factor·sum and sum an Add, or None."""
    if isinstance(expr, sp.Add):
        return sp.Integer(1), expr
    num, den = sp.fraction(sp.together(expr)) if expr.is_commutative else (expr, 1)
    num = sp.factor_terms(num)
    factors = sp.Mul.make_args(num)
    adds = [f for f in factors if isinstance(f, sp.Add)]
    if not adds:
        num_expanded = sp.expand(num)
        if isinstance(num_expanded, sp.Add) and den != 1:
            return 1 / den, num_expanded
        return None
    big = max(adds, key=lambda a: len(a.args))
    rest = sp.Mul(*[f for f in factors if f is not big]) / den
    return rest, big


def display_math(left: str, right: str, lhs: Any, rhs: Any, d: Any = None) -> str:
    """A display (``\\[ … \\]`` or a broken ``align*``) of ``left right`` (``right``
    starts with its relation, e.g. ``= …``)."""
    relation = "= " if right.startswith("= ") else ""
    total = (width(lhs, d) + 3 if lhs is not None else 0) + width(rhs, d)
    if (total <= COLUMNS or not isinstance(rhs, sp.Basic)
            or isinstance(rhs, sp.MatrixBase)):
        return "\\[" + f"{left} {right}".strip() + "\\]\n"
    room = COLUMNS - (width(lhs, d) + 3 if lhs is not None else 2)
    room = max(room, COLUMNS // 2)
    split = _factor_out(rhs)
    if split is None:
        return "\\[" + f"{left} {right}".strip() + "\\]\n"
    factor, total_sum = split
    terms = _terms(total_sum)
    if len(terms) < 2:
        return "\\[" + f"{left} {right}".strip() + "\\]\n"
    bracket = factor != 1
    lines = _pack(terms, d, room - (4 if bracket else 0))
    body = []
    for k, group in enumerate(lines):
        text = " ".join(_signed(t, d, k == 0 and i == 0) for i, t in enumerate(group))
        body.append(text)
    if bracket:
        head = display.latex(factor, d)
        if head == "-1":
            head = "-"
        body[0] = head + r" \biggl[" + body[0]
        body[-1] = body[-1] + r"\biggr]"
    rows = [f"{left} &{relation}{body[0]}"] + [r"&\quad " + b for b in body[1:]]
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}\n"
