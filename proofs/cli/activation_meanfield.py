"""``nnmath activation "EXPR" --meanfield [--sigma-b2 V] [--sigma-w2 W ...]``.

The mean-field analysis of a wide random network with activation φ = EXPR (catalog §14,
derive.meanfield): the edge of chaos for the bias variance σ_b² (σ_w² with χ₁ = 1 at the
length map's fixed point, by a verified bracket), and at each σ_w² asked for: the fixed
point q* of the length map q ↦ σ_w²E[φ(√q z)²] + σ_b², χ₁ = σ_w²E[φ'(√q* z)²], the phase,
the depth scales ξ_q = −1/ln(slope of the length map at q*) and ξ_c = −1/ln χ_c, and the
correlation fixed point c*. The text is parsed by derive.safe_parse; the analysis runs
under ``--max-seconds`` and the memory limit of ``nnmath activation``.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time

from derive.meanfield import MeanFieldReport, analyse_text

from . import UsageError

__all__ = ["format_report", "run_meanfield"]


def _num(v: float | None, digits: int = 12) -> str:
    if v is None:
        return "—"
    if math.isinf(v):
        return "∞"
    return f"{v:.{digits}g}"


def format_report(r: MeanFieldReport, text: str) -> str:
    out = [f"mean field of φ(x) = {text} in a wide random network: z^(l+1) = W φ(z^l) + b, "
           f"W_ij ~ N(0, σ_w²/N), b_i ~ N(0, σ_b²), σ_b² = {r.sigma_b2:g}",
           "(Poole et al. 2016; Schoenholz et al. 2017; `nnmath show activation-meanfield`)",
           ""]
    if r.edge_sigma_w2 is not None:
        w = r.edge_sigma_w2
        out.append(f"edge of chaos (χ₁ = 1) at σ_b² = {r.sigma_b2:g}:")
        out.append(f"  σ_w² = {w.value:.13g}, within [{w.lo:.15g}, {w.hi:.15g}] "
                   f"(|error| ≤ {w.error:.1e}; verified quadrature)")
        if r.edge_q is not None:
            q = r.edge_q
            out.append(f"  q*   = {q.value:.13g}, within [{q.lo:.15g}, {q.hi:.15g}] "
                       "(a sign change of E[φ²]/E[φ'²] + σ_b² − q, verified quadrature)")
        else:
            out.append("  q*   = ∞ (see notes)")
    else:
        out.append(f"edge of chaos at σ_b² = {r.sigma_b2:g}: none found (see notes)")
    out += ["", f"  {'σ_w²':>14} {'q*':>16} {'χ₁':>16} {'phase':>15} {'ξ_q':>10} "
                f"{'c*':>10} {'ξ_c':>10}"]
    for m in r.rows:
        qv = m.q_star.value if m.q_star is not None else None
        out.append(f"  {_num(m.sigma_w2, 13):>14} {_num(qv):>16} {_num(m.chi_1):>16} "
                   f"{m.phase:>15} {_num(m.xi_q, 6):>10} {_num(m.c_star, 6):>10} "
                   f"{_num(m.xi_c, 6):>10}")
    out += ["",
            "q*: the length map's fixed point reached from small q (float64 quadrature); "
            "χ₁ < 1 ordered, > 1 chaotic;",
            "ξ_q = −1/ln(dq_(l+1)/dq_l at q*), ξ_c = −1/ln χ_c (χ_c = χ₁ when c* = 1); "
            "'—': no fixed point (q grows without bound) or ξ undefined"]
    if r.notes:
        out += ["", "notes:"] + [f"  • {n}" for n in r.notes]
    return "\n".join(out) + "\n"


def _json(r: MeanFieldReport, text: str) -> dict:
    def br(b):
        return None if b is None else {"value": b.value, "lo": b.lo, "hi": b.hi}

    def num(v):
        return None if v is None else (str(v) if not math.isfinite(v) else v)
    return {"expression": text, "sigma_b2": r.sigma_b2, "homogeneous": r.homogeneous,
            "edge": {"q": br(r.edge_q), "sigma_w2": br(r.edge_sigma_w2)},
            "rows": [{"sigma_w2": m.sigma_w2, "q_star": m.q_star and m.q_star.value,
                      "chi_1": num(m.chi_1), "phase": m.phase, "slope": num(m.slope),
                      "xi_q": num(m.xi_q), "c_star": num(m.c_star), "chi_c": num(m.chi_c),
                      "xi_c": num(m.xi_c)} for m in r.rows],
            "notes": list(r.notes)}


def run_meanfield(args: argparse.Namespace) -> int:
    from derive.safe_parse import UnsafeExpression
    if not (math.isfinite(args.sigma_b2) and args.sigma_b2 >= 0):
        raise UsageError(f"--sigma-b2 must be a finite number ≥ 0, got {args.sigma_b2}")
    sigma_w2s = tuple(args.sigma_w2) if args.sigma_w2 else (1.0, 2.0)
    for w in sigma_w2s:
        if not (math.isfinite(w) and 0 < w <= 1e3):
            raise UsageError(f"--sigma-w2 must be a number in (0, 1000], got {w}")
    if not (math.isfinite(args.max_seconds) and 0 < args.max_seconds <= 3600):
        raise UsageError(f"--max-seconds must be in (0, 3600], got {args.max_seconds}")
    started = time.perf_counter()
    try:
        r = analyse_text(args.expression, args.sigma_b2, sigma_w2s,
                         max_seconds=args.max_seconds)
    except UnsafeExpression as exc:  # ActivationRefused, AnalysisTimeout: about the text
        raise UsageError(f"refused: {exc}") from None
    seconds = time.perf_counter() - started
    if args.json:
        data = _json(r, args.expression)
        data["seconds"] = round(seconds, 3)
        print(json.dumps(data, indent=2, allow_nan=False))
    else:
        sys.stdout.write(format_report(r, args.expression))
        print(f"\ntime: {seconds:.2f} s")
    return 0
