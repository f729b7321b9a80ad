"""LayerNorm forward and backward: the BatchNorm algebra along a row (003 §2b)."""
from __future__ import annotations

import sympy as sp

from ..core import Derivation
from ..registry import derivation
from ._common import (
    _EPS, _S, _centred, _col, _mean, _no_roots, _np, _np_batch, _plain, _stats, _sym_kw,
)


@derivation("layernorm-forward", exports=("layernorm_normalize",))
def layernorm_forward(d: Derivation) -> None:
    """x̂_j = (x_j − μ)/√(σ² + ε) with μ, σ² the mean and biased variance of the D features of
    ONE sample (a row of X, 003 §2); y_j = γ_j x̂_j + β_j. No batch statistic is involved,
    so each row's output depends on that row only (003 §2b: batch size 1 is fine)."""
    x, mean = d.symbols("x mean", real=True)
    var, eps = d.symbol("var", nonnegative=True), d.symbol("eps", nonnegative=True)
    d.assume("X has shape [batch, D]; statistics are taken along each row over its D ≥ 2 "
             "features (biased variance), γ and β are per-feature vectors (003 §2)")
    j, D = sp.Symbol("j", integer=True), sp.Symbol("D", integer=True, positive=True)
    xb = sp.IndexedBase(r"\hat{x}")

    def normalised(m):
        v = _plain("x", m)
        mu, nu = _stats(v)
        return [(a - mu) / sp.sqrt(nu) for a in v]

    d.prove_for_sizes("a normalised row has mean 0 (ε = 0)",
                      sp.Eq(sp.Sum(xb[j], (j, 1, D)) / D, 0),
                      lambda m: (_mean(normalised(m)), 0),
                      why="the batchnorm-forward identity with samples replaced by features; "
                          "sizes are the row length D")
    d.prove_for_sizes("a normalised row has variance 1 (ε = 0)",
                      sp.Eq(sp.Sum(xb[j] ** 2, (j, 1, D)) / D, 1),
                      lambda m: (_mean([z**2 for z in normalised(m)]), 1))

    def other_rows(n):
        X = sp.Matrix(n, 3, lambda r, c: sp.Symbol(f"x_{r + 1}{c + 1}"))
        out = []
        for r in range(n):
            mu, nu = _stats(list(X.row(r)))
            out += [(X[r, c] - mu) / sp.sqrt(nu + _EPS) for c in range(3)]
        J = sp.Matrix([[sp.diff(o, X[s, c]) for s in range(n) for c in range(3)
                        if s != k // 3] for k, o in enumerate(out)])
        return J, sp.zeros(*J.shape)

    d.prove_for_sizes("no dependence on the other samples",
                      sp.Eq(sp.Symbol(r"\partial\,\mathrm{LN}(X)_{r j}/\partial X_{s k}"), 0),
                      other_rows, sizes=(2, 3),
                      why="the Jacobian block between different rows r ≠ s is zero (SymPy "
                          "differentiates a batch of n rows of D = 3, sizes are n); hence the "
                          "output does not depend on the batch size, and batch size 1 works "
                          "(003 §2b), unlike BatchNorm (batchnorm-batch-of-one)")
    d.define("normalise one row", (x - mean) / sp.sqrt(var + eps),
             "mean, var are the row's statistics (computed by the layer along the last axis)",
             lhs=sp.Symbol(r"\hat{x}"))
    d.conclude("layernorm_normalize", (x - mean) / sp.sqrt(var + eps), [x, mean, var, eps],
               "kernel; the affine part γ_j x̂_j + β_j is batchnorm_affine with per-feature γ, β")

    names = [f"x_{k}" for k in range(1, 5)]
    S = _sym_kw(names + ["eps"])
    v = [S[n] for n in names]
    mu, nu = _stats(v)
    out = sp.Matrix([(a - mu) / sp.sqrt(nu + S["eps"]) for a in v])

    def numpy_row_in_batch(**kw):
        np = _np()
        row = _np_batch(kw, "x", 4)
        batch = np.vstack([row, np.arange(4.0) ** 2, -row[::-1] * 3.0])  # other samples
        mu_, var_ = batch.mean(axis=1, keepdims=True), batch.var(axis=1, keepdims=True)
        return _col(((batch - mu_) / np.sqrt(var_ + kw["eps"]))[0])

    d.crosscheck("one row alone vs the same row inside a NumPy batch of 3", out,
                 numpy_row_in_batch, at={**{S[n]: (-3.0, 3.0) for n in names},
                                         S["eps"]: (0.0, 0.1)})


@derivation("layernorm-backward", exports=("layernorm_backward_input",))
def layernorm_backward(d: Derivation) -> None:
    """∂ℓ/∂x_j = inv_std·(γ_j g_j − mean_k(γ_k g_k) − x̂_j·mean_k(γ_k g_k x̂_k)).

    g_j = ∂ℓ/∂y_j (upstream of the affine map); the reductions are over the D features of
    the row and are taken of the x̂-side upstream γ⊙g: g_mean = mean(γ⊙g),
    g_xhat_mean = mean(γ⊙g⊙x̂), inv_std = 1/√(σ² + ε). With γ ≡ 1 this is the BN form.
    """
    g, xhat, g_mean, g_xhat_mean, gamma = d.symbols("g xhat g_mean g_xhat_mean gamma", real=True)
    inv_std = d.symbol("inv_std", positive=True)
    d.assume("one row x_1..x_D of X (D ≥ 2 features), biased variance, ε > 0")
    d.convention("unlike BatchNorm, γ_j varies along the normalised axis, so it cannot be "
                 "factored out: the reductions are of γ_j g_j. Kernel arguments: g = ∂ℓ/∂y_j, "
                 r"gamma = γ_j, g_mean = $(1/D)\sum_k \gamma_k g_k$, g_xhat_mean = "
                 r"$(1/D)\sum_k \gamma_k g_k \hat x_k$, inv_std = $1/\sqrt{\sigma^2+\varepsilon}$")

    form = inv_std * (gamma * g - g_mean - xhat * g_xhat_mean)

    def autodiff_vs_kernel(m):
        """SymPy's derivative of the size-m row loss, and the kernel form applied to each
        feature j with the row reductions of that same size-m row."""
        x, gs, gams = _plain("x", m), _plain("g", m), _plain("gamma", m)
        mu = sp.Add(*x) / m
        nu = sp.expand(sp.Add(*[(a - mu) ** 2 for a in x]) / m)
        lin = sp.expand(sp.Add(*[gk * gm * (a - mu) for gk, gm, a in zip(gs, gams, x)]))
        loss = lin / sp.sqrt(nu + _EPS)  # Σ_j g_j γ_j x̂_j (β drops out)
        grad = sp.Matrix([sp.diff(loss, a) for a in x]).xreplace({nu + _EPS: _S**2})
        assert _no_roots(grad)
        M, c = _centred(m)
        grad = grad.xreplace(dict(zip(x, [M + ck for ck in c])))
        Z = [ck / _S for ck in c]
        u = [gk * gm for gk, gm in zip(gs, gams)]
        reductions = {g_mean: _mean(u), g_xhat_mean: _mean([a * b for a, b in zip(u, Z)]),
                      inv_std: 1 / _S}
        kernel = sp.Matrix([form.subs({g: gs[k], gamma: gams[k], xhat: Z[k], **reductions})
                            for k in range(m)])
        return grad, kernel

    j = sp.Symbol("j", integer=True)
    xs, ys, betas, gams = (sp.IndexedBase(n) for n in ("x", "y", "beta", r"\gamma"))
    row_mean, row_var = sp.Symbol(r"\mu"), sp.Symbol(r"\sigma^{2}", nonnegative=True)
    d.define("LayerNorm of one row (the definition)",
             gams[j] * (xs[j] - row_mean) / sp.sqrt(row_var + _EPS) + betas[j], lhs=ys[j],
             why="μ and σ² are the mean and biased variance of the D features of the row; "
                 "the loss enters through g_j = ∂ℓ/∂y_j")
    d.form_for_sizes("elementwise form", form, autodiff_vs_kernel,
                     lhs=sp.Symbol(r"\frac{\partial \ell}{\partial x_{j}}"),
                     why="SymPy differentiates the loss Σ_j g_j y_j of a row of D features; "
                         "the form, applied to each feature with the row's reductions "
                         "g_mean, g_xhat_mean and inv_std, equals that derivative exactly "
                         "for D = 2, 3, 4, 5 (the batchnorm-backward algebra with γ g in "
                         "place of γ·g)")
    d.conclude("layernorm_backward_input", form,
               [g, xhat, g_mean, g_xhat_mean, gamma, inv_std], "kernel")
    bn = d.symbol("gamma_BN", real=True)
    d.prove("γ constant along the row gives the BN form",
            (inv_std * (gamma * g - g_mean - xhat * g_xhat_mean)).subs(
                {gamma: bn, g_mean: bn * sp.Symbol("m_g", real=True),
                 g_xhat_mean: bn * sp.Symbol("m_gx", real=True)}),
            bn * inv_std * (g - sp.Symbol("m_g", real=True) - xhat * sp.Symbol("m_gx", real=True)),
            "with γ_j = γ the reductions factor as γ·mean(g), γ·mean(g x̂): "
            "batchnorm_backward_input")

    names = [f"x_{k}" for k in range(1, 5)] + [f"g_{k}" for k in range(1, 5)] \
        + [f"gamma_{k}" for k in range(1, 5)]
    S = _sym_kw(names + ["eps"])
    x = [S[f"x_{k}"] for k in range(1, 5)]
    mu, nu = _stats(x)
    Z = [(a - mu) / sp.sqrt(nu + S["eps"]) for a in x]
    u = [S[f"g_{k}"] * S[f"gamma_{k}"] for k in range(1, 5)]
    kernel = sp.Matrix([(uk - _mean(u) - zk * _mean([a * b for a, b in zip(u, Z)]))
                        / sp.sqrt(nu + S["eps"]) for uk, zk in zip(u, Z)])

    def ln_loss(v, kw):
        np = _np()
        G, gam = _np_batch(kw, "g", 4), _np_batch(kw, "gamma", 4)
        return float(G @ (gam * (v - v.mean()) / np.sqrt(v.var() + kw["eps"]) + 0.3))

    d.crosscheck_numeric_gradient(
        "kernel vs central differences of a NumPy LayerNorm row, D = 4", kernel,
        loss=ln_loss, point=lambda kw: _np_batch(kw, "x", 4),
        at={**{S[n]: (-2.0, 2.0) for n in names}, S["eps"]: (1e-3, 0.5)},
        rtol=1e-5, atol=1e-7)


# =====================================================================================
