"""Shared symbols and helpers of the normalisation derivations: per-sample symbols,
batch statistics, the three algebraic forms of the BN input gradient, and the float64
references used by the cross-checks."""
from __future__ import annotations

import functools

import sympy as sp

# ---- shared symbols of the fixed-size checks (never shown in the output) ---------------
_GAMMA = sp.Symbol("gamma")
_BETA = sp.Symbol("beta")
_EPS = sp.Symbol("varepsilon", positive=True)
_S = sp.Symbol("s", positive=True)  # stands for √(ν + ε) after differentiation
_I = sp.Symbol("i", integer=True, positive=True)
_K = sp.Symbol("k", integer=True, positive=True)


def _samples(name: str, m: int) -> tuple:
    return sp.symbols(f"{name}_1:{m + 1}", real=True)


def _stats(values) -> tuple:
    """Batch mean and biased batch variance (divide by the batch size), 000 §2."""
    m = len(values)
    mu = sp.Add(*values) / m
    nu = sp.Add(*[(v - mu) ** 2 for v in values]) / m
    return mu, nu


def _mean(values) -> sp.Expr:
    return sp.Add(*values) / len(values)


def _no_roots(expr):
    """True if no fractional power is left (the s-substitution caught every √)."""
    exprs = list(expr) if isinstance(expr, sp.MatrixBase) else [expr]
    return not any(p.exp.is_Rational and not p.exp.is_Integer
                   for e in exprs for p in e.atoms(sp.Pow))


def _plain(name: str, m: int) -> list:
    """Assumption-free symbols (SymPy's assumption queries dominate the differentiation
    time; no assumption is needed for these rational identities)."""
    return list(sp.symbols(f"{name}_1:{m + 1}"))


def _centred(m: int) -> tuple:
    """Coordinates (M, c_1..c_m) with Y_k = M + c_k and c_m = −(c_1 + … + c_{m−1}): a linear
    change of variables for which M is the batch mean and c_k = Y_k − μ exactly."""
    M = sp.Symbol("M")
    c = _plain("c", m - 1)
    return M, c + [-sp.Add(*c)]


@functools.cache
def _bn_gradient(m: int):
    """SymPy's own gradient of the surrogate ℓ = γ Σ_k g_k Ẑ_k with respect to Y_1..Y_m.

    For a fixed upstream gradient g_k = ∂ℓ/∂Ŷ_k, the chain rule makes ∂ℓ/∂Y_i of any loss
    equal to that of this linear surrogate (β drops out). After differentiation √(ν + ε)
    is replaced by s, and Y by the centred coordinates. Returns (c, g, ν(c), grad(c, s)).
    """
    Y, g = _plain("Y", m), _plain("g", m)
    mu = sp.Add(*Y) / m
    nu = sp.expand(sp.Add(*[(y - mu) ** 2 for y in Y]) / m)
    lin = sp.expand(sp.Add(*[gk * (y - mu) for gk, y in zip(g, Y)]))
    loss = _GAMMA * lin / sp.sqrt(nu + _EPS)  # = γ Σ_k g_k Ẑ_k, the common 1/std factored
    grad = sp.Matrix([sp.diff(loss, y) for y in Y]).xreplace({nu + _EPS: _S**2})
    assert _no_roots(grad) and not grad.has(_EPS), "s-substitution missed a root"
    M, c = _centred(m)
    sub = dict(zip(Y, [M + ck for ck in c]))
    grad = grad.xreplace(sub)  # M cancels on expansion: BN ignores a common shift
    return c, g, sp.expand(nu.xreplace(sub)), grad


def _bn_chain_form(dev, g, std):
    """000 §2.3: ∂ℓ/∂ν, ∂ℓ/∂μ, then ∂ℓ/∂Y_i over the three paths (γ·g = g_Z);
    ``dev`` are the deviations Y_k − μ."""
    m = len(dev)
    gZ = [_GAMMA * gk for gk in g]
    d_nu = sp.Add(*[gz * c for gz, c in zip(gZ, dev)]) * sp.Rational(-1, 2) / std**3
    d_mu = sp.Add(*[-gz / std for gz in gZ]) + d_nu * sp.Rational(-2, m) * sp.Add(*dev)
    return sp.Matrix([gz / std + d_nu * 2 * c / m + d_mu / m for gz, c in zip(gZ, dev)])


def _bn_compact_form(dev, g, std):
    """001 eq. 36: γ/std · (g_i − mean(g) − Ẑ_i · mean(g·Ẑ))."""
    Z = [c / std for c in dev]
    g_mean = _mean(g)
    gz_mean = _mean([gk * zk for gk, zk in zip(g, Z)])
    return sp.Matrix([_GAMMA / std * (gk - g_mean - zk * gz_mean) for gk, zk in zip(g, Z)])


def _bn_eq37_form(dev, g, std):
    """001 eq. 37: γ/(m·std) · (m g_i − Σg − Ẑ_i Σ g·Ẑ)."""
    m = len(dev)
    Z = [c / std for c in dev]
    s_g = sp.Add(*g)
    s_gz = sp.Add(*[gk * zk for gk, zk in zip(g, Z)])
    return sp.Matrix([_GAMMA / (m * std) * (m * gk - s_g - zk * s_gz) for gk, zk in zip(g, Z)])


# ---- NumPy references for the float64 cross-checks (independent of SymPy) ----------------
def _np():
    import numpy as np  # only for numeric cross-checks, never while deriving
    return np


def _np_batch(kw, name, m):
    np = _np()
    return np.array([kw[f"{name}_{i}"] for i in range(1, m + 1)], dtype=float)


def _np_bn(x, gamma, beta, eps):
    np = _np()
    return gamma * (x - x.mean()) / np.sqrt(x.var() + eps) + beta


def _col(v):
    """A NumPy vector as a column, the shape lambdify gives a SymPy column Matrix."""
    return _np().asarray(v, dtype=float).reshape(-1, 1)


def _sym_kw(names):
    """Plain (assumption-free) symbols for cross-check expressions, by name."""
    return {n: sp.Symbol(n, real=True) for n in names}


# =====================================================================================
