"""The verdict table of ``nnmath verify``: at most 120 columns, a legend, the foil's value,
and only the numbers that mean something for each method.

One block per claim (its slug on a line of its own), one row per assertion:

    assertion  method  exact  foil  estimate  SE  z  foil z  verdict

What the columns mean depends on the method, and the legend under the table says so:
``clt-z`` and ``binomial`` report a standard error and z-scores; ``dkwm`` reports sample
means, the DKWM radius and the sup-distance of the empirical CDF in units of it; ``exact``
reports the first element, the tolerance and errors in units of it; ``vjp`` and
``behaviour`` checks have no numbers (their note says what was compared).
"""
from __future__ import annotations

import math
from typing import Any

__all__ = ["WIDTH", "legend", "table"]

WIDTH = 120
_NUM = 11  # width of a number column
_COLUMNS = ("exact", "foil", "estimate", "SE", "z", "foil z")
_NUMERIC = {"clt-z", "binomial", "dkwm", "exact"}


def _fmt(x: Any, z: bool = False) -> str:
    if x is None:
        return ""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    if z:
        return f"{v:+.2f}" if abs(v) < 1e4 else f"{v:+.1e}"
    return f"{v:.6g}" if len(f"{v:.6g}") <= _NUM else f"{v:.3e}"


def _verdict(t: Any) -> str:
    if t.ok:
        return "pass"
    if t.accepted:
        return "FAIL: foil kept"
    return "FAIL"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def table(reports: list, width: int = WIDTH) -> str:
    """The verdict table with its legend, every line at most ``width`` columns."""
    label_w = width - 2 - 1 - 9 - 1 - 4 * (_NUM + 1) - 2 * 8 - 1 - 8
    label_w = max(label_w, 20)
    head = (f"  {'assertion':<{label_w}} {'method':<9}"
            + "".join(f" {c:>{_NUM}}" for c in _COLUMNS[:4])
            + "".join(f" {c:>7}" for c in _COLUMNS[4:]) + "  verdict")
    lines = [head, "─" * min(len(head), width)]
    criticals = []
    for r in reports:
        title = getattr(r, "title", "")
        if title:  # titles carry mathematics (p_i, Σ_k): shown in Unicode
            from derive.prose import text as prose_text
            title = prose_text(title)
        lines.append(_cut(r.slug + (f" — {title}" if title else ""), width))
        if r.error:
            lines.append(_cut(f"  ERROR while building the claim: {r.error}", width))
        for v in r.verdicts:
            if len(v.label) > label_w:  # the whole label on its own line, numbers below
                lines.append(_cut(f"  {v.label}", width))
                label = " " * (label_w + 2)
            else:
                label = f"  {v.label:<{label_w}}"
            if v.result is None:
                err = v.error.splitlines()[-1] if v.error else "no result"
                lines.append(_cut(f"{label} ERROR {err}", width))
                continue
            t = v.result
            if t.method in _NUMERIC:
                cells = [_fmt(t.exact), _fmt(t.foil), _fmt(t.estimate), _fmt(t.se)]
                row = (f"{label} {t.method:<9}" + "".join(f" {c:>{_NUM}}" for c in cells)
                       + f" {_fmt(t.z, True):>7} {_fmt(t.foil_z, True):>7}  {_verdict(t)}")
                if t.critical is not None and t.method in ("clt-z", "binomial"):
                    criticals.append(float(t.critical))
            else:
                note = _cut(t.note or "compared; see the claim", 4 * (_NUM + 1) + 16 - 1)
                row = f"{label} {t.method:<9} {note:<{4 * (_NUM + 1) + 16 - 1}}  {_verdict(t)}"
            lines.append(_cut(row, width))
    n_ass = sum(len(r.verdicts) for r in reports)
    n_fail = sum(1 for r in reports for v in r.verdicts if not v.ok) + sum(
        1 for r in reports if r.error)
    lines.append("")
    lines.append(f"{len(reports)} claims, {n_ass} assertions, {n_fail} failed; "
                 f"{sum(r.seconds for r in reports):.1f} s "
                 f"({sum(getattr(r, 'cpu_seconds', 0.0) for r in reports):.1f} s of CPU time)")
    lines.append("")
    lines.extend(legend(criticals, width))
    return "\n".join(line.rstrip() for line in lines)


def legend(criticals: list[float] | None = None, width: int = WIDTH) -> list[str]:
    """What the columns mean, wrapped to ``width``."""
    import textwrap

    crit = ""
    if criticals:
        lo, hi = min(criticals), max(criticals)
        crit = (f" (here {lo:.2f}" + (f" to {hi:.2f}" if hi - lo > 0.005 else "") + ")")
    items = [
        "exact: the value derived exactly in derive (`nnmath show`).",
        "foil: a plausible wrong value (a common mistake) that the same experiment must "
        "reject; a claim passes only if it accepts the exact value AND rejects the foil.",
        "estimate: the experiment's value (mean of the samples; for exact, the first "
        "element).",
        "SE: standard error of the estimate (dkwm: the DKWM radius of the empirical CDF; "
        "exact: the tolerance).",
        "z = (estimate − exact)/SE and foil z = (estimate − foil)/SE: |z| within the "
        f"critical value accepts the exact value{crit}, |foil z| beyond it rejects the "
        "foil. dkwm: the CDF's sup-distance to each law in units of the radius (≤ 1 "
        "accepts); exact: the largest error in units of the tolerance (≤ 1 accepts).",
        "vjp, behaviour: checks without an estimate (a gradient against central "
        "differences, or a behaviour the foil implementation lacks); the note says what "
        "was compared.",
    ]
    out = ["legend:"]
    for item in items:
        out.extend(textwrap.wrap(item, width=width, initial_indent="  ",
                                 subsequent_indent="    "))
    return out
