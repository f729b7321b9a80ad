"""``nnmath gains``: derived variance-preserving gains next to the conventional table.

For each activation f the derived gain is g(q) = √(q/E[f(z)²]), z ~ N(0, q) (activation-
gain; 000 §3.3, 002 §9.4.3): with weights of std g/√fan_in a layer maps the pre-activation
second moment q to g²·E[f(z)²], so q is a fixed point exactly when g = g(q). It is shown
at q = 1 and q = 2 (a gain that is a variance-preserving RESULT does not depend on q, as
for ReLU and leaky ReLU). The backward gain 1/√E[f'(z)²] (q = 1) keeps the gradient
second moment instead. The conventional value is PyTorch's ``torch.nn.init.calculate_gain``
(√2, √(2/(1 + a²)), 5/3, 1, 3/4; it has no value for ELU, GELU, Swish/SiLU or Mish).

A convention is called variance-preserving when SymPy proves it equal to the derived gain
for every q (exact moments); otherwise it is a heuristic, and the row says how it
differs. SELU's α, λ are recomputed here from ELU by derive.custom.scaled_fixed_point.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import sympy as sp

from derive.custom import scaled_fixed_point
from derive.initialization import activation_gain
from derive.safe_parse import X, parse_activation

__all__ = ["add_arguments", "gain_table", "run"]

LEAKY_SLOPE = sp.Rational(1, 100)
DIGITS = 20


def _activations() -> list[tuple[str, sp.Expr, Any, str]]:
    """(name, f, PyTorch's calculate_gain value or None, remark on the convention)."""
    elu = sp.Piecewise((X, X > 0), (sp.exp(X) - 1, True))
    fp = scaled_fixed_point(elu, digits=DIGITS + 10)
    alpha, lam = (sp.Float(sp.N(v, DIGITS + 10), DIGITS + 10) for v in (fp.alpha, fp.lam))
    selu = lam * sp.Piecewise((X, X > 0), (alpha * (sp.exp(X) - 1), True))
    a = LEAKY_SLOPE
    return [
        ("relu", parse_activation("relu(x)"), sp.sqrt(2), "He et al.: E[ReLU(z)²] = q/2"),
        (f"leaky_relu (a = {a})", parse_activation("max(x, 0.01*x)"),
         sp.sqrt(2 / (1 + a**2)), "E[f(z)²] = q(1 + a²)/2"),
        ("tanh", parse_activation("tanh(x)"), sp.Rational(5, 3),
         "5/3 is a rule of thumb; the q = 1 fixed point is smaller"),
        ("sigmoid", parse_activation("sigmoid(x)"), sp.Integer(1),
         "PyTorch returns the linear gain 1; σ is not zero-mean and E[σ(z)²] < 1/2"),
        ("selu", selu, sp.Rational(3, 4),
         "SELU's α, λ make E[selu(z)²] = 1 at q = 1, so LeCun's gain 1 keeps it; 3/4 is "
         "PyTorch's choice for gradient behaviour"),
        ("elu (α = 1)", elu, None, ""),
        ("gelu", parse_activation("x*Phi(x)"), None, ""),
        ("swish / silu", parse_activation("x*sigmoid(x)"), None, ""),
        ("mish", parse_activation("x*tanh(softplus(x))"), None, ""),
    ]


def gain_table(digits: int = DIGITS) -> list[dict]:
    """One dict per activation: derived gains (SymPy), the table value, and the verdict."""
    rows = []
    for name, f, table, remark in _activations():
        g1 = activation_gain(f, X, 1, digits)
        g2 = activation_gain(f, X, 2, digits)
        forward1, forward2 = (_value(g.gain, digits, g.exact) for g in (g1, g2))
        exact = g1.exact and g2.exact and not forward1.has(sp.Float)
        if table is None:
            status, note = "no table value", "PyTorch's calculate_gain has none"
        elif exact and sp.simplify(forward1 - table) == 0 and sp.simplify(forward2 - table) == 0:
            status = "variance-preserving"
            note = f"derived exactly, for every q ({remark})"
        else:
            status = "heuristic"
            gap = sp.N(table - forward1, 6)
            growth = sp.N(table**2 * g1.second_moment, 6)
            note = (f"table − derived(q = 1) = {gap}; with the table gain a layer maps "
                    f"E[z²] = 1 to {growth} ({remark})")
        rows.append({"activation": name, "expression": f, "derived_q1": forward1,
                     "derived_q2": forward2, "backward_q1": _value(g1.backward_gain, digits,
                                                                   g1.exact),
                     "table": table, "exact": exact, "status": status, "note": note})
    return rows


def _value(e: sp.Expr, digits: int, exact: bool) -> sp.Expr:
    return e if exact and not e.has(sp.Float) else sp.Float(sp.N(e, digits), digits)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _show(e: Any, exact: bool = True) -> str:
    """A value to 10 decimals, with its short exact form (e.g. 5/3) when there is one."""
    if e is None:
        return "—"
    text = f"{float(e):.10f}"
    if not e.is_Float and exact and len(sp.sstr(e)) <= 12 and sp.sstr(e) != text:
        text += f" ({sp.sstr(e)})"
    elif not e.is_Float and exact:
        text += " (exact)"
    return text


def run(args: argparse.Namespace) -> int:
    rows = gain_table()
    if args.json:
        def num(e: Any) -> Any:
            return None if e is None else {"value": float(e), "expr": sp.sstr(e)}
        print(json.dumps([{**r, "expression": sp.sstr(r["expression"]),
                           **{k: num(r[k]) for k in ("derived_q1", "derived_q2",
                                                     "backward_q1", "table")}}
                          for r in rows], indent=2))
        return 0
    print("Variance-preserving gain g(q) = √(q/E[f(z)²]), z ~ N(0, q) (std w = g/√fan_in), "
          "vs PyTorch's calculate_gain")
    head = (f"{'activation':<22} {'derived q=1':<24} {'derived q=2':<14} "
            f"{'backward q=1':<14} {'table':<22} status")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['activation']:<22} {_show(r['derived_q1'], r['exact']):<24} "
              f"{float(r['derived_q2']):<14.10f} {float(r['backward_q1']):<14.10f} "
              f"{_show(r['table']):<22} {r['status']}")
    print()
    for r in rows:
        print(f"  {r['activation']}: {r['note']}")
    print("\n(exact) or a short form = SymPy closed form (--json prints every one); otherwise "
          f"mpmath quadrature to {DIGITS} digits (derive.moments.gaussian_moments). "
          "backward = 1/√E[f'(z)²] at q = 1.")
    sys.stdout.flush()
    return 0
