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

import re
from typing import Any

import sympy as sp

from . import display

__all__ = ["COLUMNS", "display_math", "width"]

COLUMNS = 48  # pretty-printer columns that fit 345 pt of 10-11 pt display mathematics


def width(expr: Any, d: Any = None) -> int:
    """The estimated width of ``expr`` in pretty-printer columns."""
    try:
        art = display.pretty(expr, d, 100000)
    except Exception:
        return len(sp.sstr(expr))
    return max((len(line) for line in art.splitlines()), default=0)


def _signed(text: str, first: bool) -> str:
    if first:
        return text
    if text.startswith("-"):
        return "- " + text[1:].lstrip()
    return "+ " + text


def _factor_out(expr: Any) -> tuple[Any, Any] | None:
    """(factor, sum) with expr = factor·sum and sum an Add of several terms, or None."""
    if not isinstance(expr, sp.Expr) or isinstance(expr, sp.Add):
        return None
    num, den = sp.fraction(expr)
    factors = sp.Mul.make_args(num)
    adds = [f for f in factors if isinstance(f, sp.Add)]
    if adds:
        big = max(adds, key=lambda a: len(a.args))
        rest = sp.Mul(*[f for f in factors if f is not big]) / den
        return rest, big
    if den != 1:
        expanded = sp.expand(num)
        if isinstance(expanded, sp.Add):
            return 1 / den, expanded
    return None


def lines_of(expr: Any, room: int, d: Any = None) -> list[str] | None:
    """``expr`` as LaTeX lines each at most ``room`` columns wide (continuation lines
    start with their sign), or None when it cannot be broken."""
    if width(expr, d) <= room:
        return [display.latex(expr, d)]
    if isinstance(expr, sp.Add):
        lines: list[str] = []
        current: list[str] = []
        used = 0
        for k, term in enumerate(display._positive_first(list(expr.as_ordered_terms()))):
            w = width(term, d) + 3
            if w > room:  # a term wider than the line: break it on its own lines
                inner = lines_of(term, room - 2, d) or [display.latex(term, d)]
                if current:
                    lines.append(" ".join(current))
                    current, used = [], 0
                lines.append(_signed(inner[0], k == 0))
                lines.extend(inner[1:])
                continue
            if current and used + w > room:
                lines.append(" ".join(current))
                current, used = [], 0
            current.append(_signed(display.latex(term, d), k == 0 and not lines))
            used += w
        if current:
            lines.append(" ".join(current))
        return lines
    if isinstance(expr, sp.Mul) and sum(isinstance(f, sp.Add) for f in expr.args) > 1:
        return _product_lines(expr, room, d)
    if isinstance(expr, (sp.MatMul, sp.HadamardProduct)) or (
            isinstance(expr, sp.Mul) and any(isinstance(f, sp.MatrixBase) for f in expr.args)):
        factors = list(expr.args)
        if len(factors) > 1 and all(width(f, d) <= room for f in factors):
            lines, current, used = [], [], 0
            for f in factors:
                w = width(f, d) + 1
                if current and used + w > room:
                    lines.append(" ".join(current))
                    current, used = [], 0
                current.append(display.latex(f, d))
                used += w
            lines.append(" ".join(current))
            return [lines[0]] + [r"\cdot " + x for x in lines[1:]]
    split = _factor_out(expr)
    if split is None:
        return None
    factor, total = split
    head = display.latex(factor, d) if factor != 1 else ""
    if head == "-1":
        head = "-"
    inner_room = room - width(factor, d) - 4
    if inner_room < COLUMNS // 3:
        return None
    broken = lines_of(total, inner_room, d)
    if broken is None or len(broken) < 2:
        return None
    inner = broken
    inner[0] = f"{head} \\biggl[{inner[0]}"
    inner[-1] = f"{inner[-1]}\\biggr]"
    return inner


def _product_lines(expr: Any, room: int, d: Any) -> list[str] | None:
    """A product of several sums: each sum in its own bracket, broken if it must be."""
    coeff = sp.Mul(*[f for f in expr.args if not isinstance(f, sp.Add)])
    lines: list[str] = []
    head = display.latex(coeff, d) if coeff != 1 else ""
    head = "-" if head == "-1" else head
    for k, factor in enumerate(f for f in expr.args if isinstance(f, sp.Add)):
        inner = lines_of(factor, room - 4, d) or [display.latex(factor, d)]
        inner[0] = (head + " " if k == 0 and head else "") + r"\biggl(" + inner[0]
        inner[-1] = inner[-1] + r"\biggr)"
        lines.extend(inner)
    return lines


def _rows(left: str, relation: str, body: list[str]) -> list[str]:
    rows = [f"{left} &{relation}{body[0]}"]
    rows += [r"&\quad " + b for b in body[1:]]
    return rows


def display_math(left: str, right: str, lhs: Any, rhs: Any, d: Any = None) -> str:
    """A display of ``left right`` (``right`` starts with its relation, e.g. ``= …``):
    one line when it fits, else an ``align*`` broken at ``+``/``−`` signs; a matrix too
    wide for the line is shown entry by entry."""
    relation = "= " if right.startswith("= ") else ""
    one_line = "\\[" + f"{left} {right}".strip() + "\\]\n"
    lhs_w = width(lhs, d) + 3 if lhs is not None else (2 if relation else 0)
    if not isinstance(rhs, (sp.Basic, sp.MatrixBase)) or lhs_w + width(rhs, d) <= COLUMNS:
        return one_line
    rows: list[str] = []
    if (isinstance(lhs, sp.MatrixBase) and isinstance(rhs, sp.MatrixBase)
            and lhs.shape == rhs.shape):  # an identity between matrices, entry by entry
        for i in range(rhs.rows):
            for j in range(rhs.cols):
                index = f"{i + 1}" if rhs.cols == 1 else f"{i + 1},{j + 1}"
                body = lines_of(lhs[i, j], COLUMNS - 10, d) or [display.latex(lhs[i, j], d)]
                tail = "= " + display.latex(rhs[i, j], d)
                if len(body) == 1 and width(lhs[i, j], d) + width(rhs[i, j], d) < COLUMNS - 10:
                    rows.append(rf"\text{{entry }}{index}: &{body[0]} {tail}")
                else:
                    rows += _rows(rf"\text{{entry }}{index}:", "", body)
                    rows.append(f"&{tail}")
        return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}\n"
    if lhs is not None and lhs_w > COLUMNS // 2:  # a long left side gets lines of its own
        left_lines = (lines_of(lhs, COLUMNS, d) if not isinstance(lhs, sp.MatrixBase)
                      else None) or [left]
        rows = [f"&{left_lines[0]}"] + [r"&\quad " + x for x in left_lines[1:]]
        left, lhs_w = "", 2
    room = max(COLUMNS - lhs_w, COLUMNS // 2)
    if isinstance(rhs, sp.MatrixBase):
        for i in range(rhs.rows):
            for j in range(rhs.cols):
                index = f"{i + 1}" if rhs.cols == 1 else f"{i + 1}{j + 1}"
                name = (rf"\bigl[{left}\bigr]_{{{index}}}" if left.strip()
                        else rf"\text{{entry }}{index}")
                body, named = _broken(rhs[i, j], COLUMNS - 8, d)
                rows += _rows(name, "= ", body) + _where(named, d)
        return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}\n"
    body, named = _broken(rhs, room, d)
    rows += _rows(left, relation, body) + _where(named, d)
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}\n"


def _broken(expr: Any, room: int, d: Any) -> tuple[list[str], list[tuple[Any, Any]]]:
    """Lines of ``expr`` within ``room``, naming sub-expressions when breaking at signs
    is not enough; returns (lines, [(name, part) ...])."""
    body = lines_of(expr, room, d)
    if body is not None:
        return body, []
    expr, named = name_parts(expr, room, d)
    return lines_of(expr, room, d) or [display.latex(expr, d)], named


def _where(named: list[tuple[Any, Any]], d: Any) -> list[str]:
    rows: list[str] = []
    for k, (sym, part) in enumerate(named):
        lead = r"\text{where } " if k == 0 else r"\text{and } "
        part_lines = lines_of(part, COLUMNS - 10, d) or [display.latex(part, d)]
        rows += _rows(lead + display.latex(sym, d), "= ", part_lines)
    return rows


def _free_letter(d: Any) -> str:
    """A capital letter the derivation uses nowhere (symbols or prose), for named parts."""
    used: set[str] = set()
    if d is not None:
        for step in getattr(d, "steps", []):
            used |= set(re.findall(r"(?<![A-Za-z])([A-Z])(?![a-z])", f"{step.label} {step.why}"))
            for part in (step.expr, step.lhs):
                if isinstance(part, (sp.Basic, sp.MatrixBase)):
                    used |= {str(x)[:1] for x in part.free_symbols}
    return next((c for c in "PQRSUVWTNMDCBGH" if c not in used), "Z")


def name_parts(expr: Any, room: int, d: Any = None) -> tuple[Any, list[tuple[Any, Any]]]:
    """Replace the widest sums inside ``expr`` by named parts A₁, A₂ … until it fits
    ``room``; returns (the shorter expression, [(name, part) ...])."""
    named: list[tuple[Any, Any]] = []
    letter = _free_letter(d)
    taken = {s.name for s in expr.free_symbols} if isinstance(expr, sp.Basic) else set()
    while isinstance(expr, sp.Basic) and width(expr, d) > room and len(named) < 6:
        parts = [a for a in sp.preorder_traversal(expr)
                 if isinstance(a, sp.Add) and a != expr and len(a.args) > 1]
        if not parts:
            break
        part = max(parts, key=lambda a: width(a, d))
        k = len(named) + 1
        while f"{letter}_{k}" in taken:
            k += 1
        sym = sp.Symbol(f"{letter}_{k}")
        taken.add(sym.name)
        expr = expr.xreplace({part: sym})
        named.append((sym, part))
    return expr, named
