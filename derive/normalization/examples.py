"""The worked LayerNorm and BatchNorm examples of 003 §2a and §3a, recomputed exactly."""
from __future__ import annotations

import sympy as sp

from ..core import Derivation
from ..registry import derivation
from ._common import _np, _stats


def _rows_normalised(X: sp.Matrix, gamma, beta, axis: int) -> sp.Matrix:
    """Exact LayerNorm (axis = 1, along rows) or BatchNorm (axis = 0, down columns), ε = 0."""
    out = sp.zeros(*X.shape)
    lines = range(X.rows) if axis == 1 else range(X.cols)
    for r in lines:
        v = list(X.row(r)) if axis == 1 else list(X.col(r))
        mu, nu = _stats(v)
        zs = [sp.radsimp((x - mu) / sp.sqrt(nu)) for x in v]
        for k, z in enumerate(zs):
            row, col = (r, k) if axis == 1 else (k, r)
            out[row, col] = gamma[col] * z + beta[col]
    return out


def _rounding_report(d: Derivation, name: str, printed: sp.Matrix, exact: sp.Matrix) -> list:
    """Compare a printed 2-decimal matrix with the exact one; record each entry that is
    not the correctly rounded exact value (as ``<name>_discrepancies``, the name lowered
    with spaces as underscores: ``layernorm_output_discrepancies``) and describe it."""
    found = []
    for r in range(exact.rows):
        for c in range(exact.cols):
            x = exact[r, c]
            rounded = sp.Rational(sp.floor(100 * x + sp.Rational(1, 2)), 100)
            if printed[r, c] != rounded:
                found.append(((r + 1, c + 1), printed[r, c], x, rounded))
    d.values[f"{name.lower().replace(' ', '_')}_discrepancies"] = found
    text = "; ".join(f"entry {rc}: printed {float(p):.2f}, exact ${sp.latex(x)}$ = "
                     f"{float(x):.4f}, correctly rounded {float(q):.2f}"
                     for rc, p, x, q in found) or "none"
    d.note(f"rounding of the printed {name}", f"entries of 003's printed answer that are not "
           f"the exact value rounded to 2 decimals (they come from rounding intermediate "
           f"values before multiplying by γ): {text}")
    return found


def _np_norm(X, gamma, beta, axis):
    np = _np()
    X = np.asarray(X, dtype=float)
    mu = X.mean(axis=axis, keepdims=True)
    var = X.var(axis=axis, keepdims=True)
    return (X - mu) / np.sqrt(var) * np.asarray(gamma, float) + np.asarray(beta, float)


_GAMMA_003 = [1, 2, 3, 4]  # 003 §2a and §3a use the same γ and β
_BETA_003 = [0, -1, 1, 0]


@derivation("data188-layernorm",
            exports=("data188_layernorm_output", "printed", "layernorm_output_discrepancies"))
def data188_layernorm(d: Derivation) -> None:
    """003 §2a: LayerNorm of a 3×4 matrix with γ = [1,2,3,4], β = [0,−1,1,0], ε = 0, in exact
    arithmetic: row 2 is [−1, −5/3, 0, 20/3]; the printed 0.01 is exactly 0."""
    d.assume("ε = 0 as 003 §2a says; statistics along each row, variance divides by D = 4")
    X = sp.Matrix([[4, 4, 8, 8], [0, 2, 2, 8], [1, 1, 1, 5]])
    d.define("input of 003 §2a", X, "γ = [1, 2, 3, 4], β = [0, −1, 1, 0] act per column",
             lhs=sp.Symbol("X"))
    exact = _rows_normalised(X, _GAMMA_003, _BETA_003, axis=1)
    d.apply("LayerNorm along rows, exactly", lambda _: exact,
            "row means 6, 3, 2 and variances 4, 9, 3; computed in exact arithmetic",
            lhs=sp.Symbol(r"\mathrm{LN}(X)"))
    r3 = sp.sqrt(3)
    claimed = sp.Matrix([[-1, -3, 4, 4], [-1, sp.Rational(-5, 3), 0, sp.Rational(20, 3)],
                         [-r3 / 3, -2 * r3 / 3 - 1, 1 - r3, 4 * r3]])
    d.rewrite("closed form", claimed, "row 3 divides by √3: −1/√3, −2/√3 − 1, 1 − √3, 4√3")
    d.conclude("data188_layernorm_output", claimed, [], "the exact answer of 003 §2a",
               kernel=False)
    printed = sp.Matrix([[-1, -3, 4, 4],
                         [-1, sp.Rational(-166, 100), sp.Rational(1, 100), sp.Rational(668, 100)],
                         [sp.Rational(-58, 100), sp.Rational(-216, 100), sp.Rational(-74, 100),
                          sp.Rational(692, 100)]])
    d.values["printed"] = printed
    _rounding_report(d, "LayerNorm output", printed, exact)
    d.erratum("data188-layernorm-0.01", source="003 §2a",
              stated="LayerNorm(X)[2, 3] ≈ 0.01", correct="it is exactly 0: "
              "(−1/3)·3 + 1 = 0; the 0.01 comes from rounding −1/3 to −0.33 before multiplying",
              stated_expr=printed[1, 2], correct_expr=exact[1, 2], witness={})
    d.crosscheck("NumPy LayerNorm of the same input", exact,
                 lambda: _np_norm([[4, 4, 8, 8], [0, 2, 2, 8], [1, 1, 1, 5]],
                                  _GAMMA_003, _BETA_003, axis=1), at={})


@derivation("data188-batchnorm",
            exports=("data188_batchnorm_output", "printed", "batchnorm_output_discrepancies"))
def data188_batchnorm(d: Derivation) -> None:
    """003 §3a: BatchNorm (statistics down each column) of a 3×4 matrix with γ = [1,2,3,4],
    β = [0,−1,1,0], ε = 0, exactly: column 1 is [−1/√2, −1/√2, √2]."""
    d.assume("ε = 0 as 003 §3a says; statistics down each column (batch of 3), variance "
             "divides by 3")
    X = sp.Matrix([[2, 2, 1, 1], [2, 5, 4, 1], [5, 5, 10, 10]])
    d.define("input of 003 §3a", X, "γ = [1, 2, 3, 4], β = [0, −1, 1, 0] act per column",
             lhs=sp.Symbol("X"))
    exact = _rows_normalised(X, _GAMMA_003, _BETA_003, axis=0)
    d.apply("BatchNorm down columns, exactly", lambda _: exact,
            "column means 3, 4, 5, 4 and variances 2, 2, 14, 18", lhs=sp.Symbol(r"\mathrm{BN}(X)"))
    r2, r14 = sp.sqrt(2), sp.sqrt(14)
    claimed = sp.Matrix([[-r2 / 2, -2 * r2 - 1, 1 - 6 * r14 / 7, -2 * r2],
                         [-r2 / 2, r2 - 1, 1 - 3 * r14 / 14, -2 * r2],
                         [r2, r2 - 1, 1 + 15 * r14 / 14, 4 * r2]])
    d.rewrite("closed form", claimed, "column 1 is [−1/√2, −1/√2, √2]")
    d.conclude("data188_batchnorm_output", claimed, [], "the exact answer of 003 §3a",
               kernel=False)
    printed = sp.Matrix([[-71, -382, -221, -284], [-71, 42, 19, -284],
                         [141, 42, 502, 564]]) / 100
    d.values["printed"] = printed
    _rounding_report(d, "BatchNorm output", printed, exact)
    d.crosscheck("NumPy BatchNorm of the same input", exact,
                 lambda: _np_norm([[2, 2, 1, 1], [2, 5, 4, 1], [5, 5, 10, 10]],
                                  _GAMMA_003, _BETA_003, axis=0), at={})


# =====================================================================================
