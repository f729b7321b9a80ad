"""Variants of the BN denominator: (σ + ε) of 004 B.2, and why ε is there at all."""
from __future__ import annotations

import sympy as sp

from ..core import Derivation
from ..registry import derivation
from ._common import (
    _EPS, _GAMMA, _I, _centred, _mean, _no_roots, _np, _np_batch, _np_bn, _plain, _stats,
    _sym_kw,
)


@derivation("batchnorm-std-eps", exports=("batchnorm_std_eps_backward_input",))
def batchnorm_std_eps(d: Derivation) -> None:
    """004 B.2 normalises z̄_k = (z_k − μ)/(σ + ε) (ε added to σ, not to σ²). Then
    ∂σ/∂z_j = (z_j − μ)/(Kσ) and ∂z̄_k/∂z_j = (Kδ_jk − 1 − (z_k−μ)(z_j−μ)/(σ(σ+ε)))/(K(σ+ε)).
    Input gradient (kernel batchnorm_std_eps_backward_input):
        ∂L/∂z_j = G/(σ+ε) · (g_j − mean(g) − (z_j − μ)·mean(g·(z − μ))/(σ(σ+ε))),
    with g_k = ∂L/∂ẑ_k; needs σ > 0 (σ is not differentiable at a constant batch)."""
    g, xc, g_mean, g_xc_mean, gamma = d.symbols("g xc g_mean g_xc_mean gamma", real=True)
    sigma, eps = d.symbol("sigma", positive=True), d.symbol("eps", positive=True)
    d.assume("one feature i at a time over a batch z_1..z_K (004's index k), K ≥ 2; "
             "σ = √((1/K)Σ_k (z_k − μ)²) > 0 (biased)")
    d.convention("004 notation: z̄ is the normalised value and ẑ = G z̄ + B the output; "
                 "g_k = ∂L/∂ẑ_k. Kernel arguments: xc = z_j − μ, g_mean = (1/K)Σ_k g_k, "
                 "g_xc_mean = (1/K)Σ_k g_k (z_k − μ), gamma = G_i, sigma = σ, eps = ε")
    d.convention("this is not the √(σ² + ε) of 000/001: for ε > 0 the two layers differ; "
                 "at ε = 0 they coincide (last step)")
    k_, j_ = sp.Symbol("k", integer=True), sp.Symbol("j", integer=True)
    Kb = sp.Symbol("K", integer=True, positive=True)
    zb, mu_s, sg = sp.IndexedBase("z"), sp.Symbol(r"\mu"), sp.Symbol(r"\sigma")
    sig_s = sp.Symbol(r"\varsigma", positive=True)  # stands for σ after differentiation

    def pieces(m):
        z = _plain("z", m)
        mu = sp.Add(*z) / m
        nu = sp.expand(sp.Add(*[(a - mu) ** 2 for a in z]) / m)
        return z, mu, nu

    def dsigma(m):
        z, mu, nu = pieces(m)
        got = sp.Matrix([sp.diff(sp.sqrt(nu), a) for a in z]).xreplace({nu: sig_s**2})
        return got, sp.Matrix([(a - mu) / (m * sig_s) for a in z])

    d.prove_for_sizes("∂σ/∂z_j (004 eq. B.49)",
                      sp.Eq(sp.Symbol(r"\frac{\partial \sigma}{\partial z_{j}}"),
                            (zb[j_] - mu_s) / (Kb * sg)), dsigma,
                      why="SymPy differentiates σ = √ν; √ν is then written σ")

    def jacobian(m):
        z, mu, nu = pieces(m)
        zbar = [(a - mu) / (sp.sqrt(nu) + _EPS) for a in z]
        J = sp.Matrix(m, m, lambda k, jj: sp.diff(zbar[k], z[jj])).xreplace({nu: sig_s**2})
        assert _no_roots(J)
        M, c = _centred(m)
        J = J.xreplace(dict(zip(z, [M + ck for ck in c])))
        key = sp.Matrix(m, m, lambda k, jj: (m * sp.KroneckerDelta(k, jj) - 1
                                             - c[k] * c[jj] / (sig_s * (sig_s + _EPS)))
                        / (m * (sig_s + _EPS)))
        return J, key

    d.prove_for_sizes("full Jacobian (004 Key Equation 21)",
                      sp.Eq(sp.Symbol(r"\frac{\partial \bar z_{k}}{\partial z_{j}}"),
                            (Kb * sp.KroneckerDelta(j_, k_) - 1 - (zb[k_] - mu_s) * (zb[j_] - mu_s)
                             / (sg * (sg + _EPS))) / (Kb * (sg + _EPS))),
                      jacobian, sizes=(2, 3, 4),
                      why="every entry of SymPy's K×K Jacobian of z̄ = (z − μ)/(σ + ε) "
                          "agrees with 004's formula (sizes are K)")
    S_g, S_gc = d.symbol(r"\textstyle\sum_{k} g_{k}", real=True), \
        d.symbol(r"\textstyle\sum_{k} g_{k} (z_{k}-\mu)", real=True)
    K = d.symbol("K", integer=True, positive=True)
    d.define("004 eq. B.53 with Key Equation 21, sums named",
             gamma / (K * (sigma + eps)) * (K * g - S_g - xc * S_gc / (sigma * (sigma + eps))),
             "Σ_k g_k G ∂z̄_k/∂z_j: the δ_jk term picks g_j, the rest are batch sums",
             lhs=sp.Symbol(r"\frac{\partial L}{\partial z_{j}}"))
    form = gamma / (sigma + eps) * (g - g_mean - xc * g_xc_mean / (sigma * (sigma + eps)))
    d.rewrite("name the batch means", form, "Σ_k g_k = K·g_mean, Σ_k g_k(z_k − μ) = "
              "K·g_xc_mean", at={S_g: K * g_mean, S_gc: K * g_xc_mean})
    d.conclude("batchnorm_std_eps_backward_input", form,
               [g, xc, g_mean, g_xc_mean, gamma, sigma, eps], "kernel")
    inv_std, xhat, gxm = sp.Symbol("inv_std", positive=True), sp.Symbol("xhat", real=True), \
        sp.Symbol("g_xhat_mean", real=True)
    d.prove("at ε = 0 it is batchnorm_backward_input",
            form.subs({eps: 0, xc: xhat * sigma, g_xc_mean: gxm * sigma}).subs(sigma, 1 / inv_std),
            gamma * inv_std * (g - g_mean - xhat * gxm),
            "x̂ = xc/σ, mean(g x̂) = g_xc_mean/σ, inv_std = 1/σ")

    names = [f"z_{k}" for k in range(1, 5)] + [f"g_{k}" for k in range(1, 5)]
    S = _sym_kw(names + ["G", "eps"])
    z = [S[f"z_{k}"] for k in range(1, 5)]
    gs = [S[f"g_{k}"] for k in range(1, 5)]
    mu, nu = _stats(z)
    sig = sp.sqrt(nu)
    kernel = sp.Matrix([form.subs({g: gk, xc: a - mu, g_mean: _mean(gs),
                                   g_xc_mean: _mean([b * (c - mu) for b, c in zip(gs, z)]),
                                   gamma: S["G"], sigma: sig, eps: S["eps"]})
                        for gk, a in zip(gs, z)])

    def std_eps_loss(v, kw):
        G = _np_batch(kw, "g", 4)
        return float(G @ (kw["G"] * (v - v.mean()) / (v.std() + kw["eps"]) - 0.2))

    d.crosscheck_numeric_gradient(
        "kernel vs central differences of a NumPy (σ + ε) forward, K = 4", kernel,
        loss=std_eps_loss, point=lambda kw: _np_batch(kw, "z", 4),
        at={**{S[n]: (-2.0, 2.0) for n in names}, S["G"]: (0.5, 2.0),
            S["eps"]: (1e-3, 0.5)}, rtol=1e-5, atol=1e-7)


@derivation("batchnorm-epsilon", exports=("batchnorm_direct_factor_bound",))
def batchnorm_epsilon(d: Derivation) -> None:
    """The direct-path factor 1/√(ν + ε) of the BN input gradient is at most 1/√ε (equality
    for a constant feature, ν = 0). A constant feature Y_i = c gives Ẑ = 0 and the finite
    input gradient γ/√ε · (g_i − mean g); with ε = 0 it would be 0/0."""
    nu, eps = d.symbol("nu", nonnegative=True), d.symbol("varepsilon", positive=True)
    d.assume("ν ≥ 0 is the batch variance of one feature, ε > 0")
    d.define("square of the direct-path factor", 1 / (nu + eps),
             r"001 eq. 22 / 000 §2.3: $\partial \hat Z_i/\partial Y_i$ along the direct path is "
             "1/√(ν + ε)",
             lhs=sp.Symbol(r"\mathrm{std}^{-2}"))
    d.rewrite("distance to the bound", 1 / eps - nu / (eps * (nu + eps)),
              "1/ε − 1/(ν + ε) = ν/(ε(ν + ε))")
    d.prove_true("the bound", sp.Ge(nu / (eps * (nu + eps)), 0),
                 "ν ≥ 0 and ε > 0 make the subtracted term non-negative, so std⁻² ≤ 1/ε and "
                 "(√ being increasing) 1/√(ν + ε) ≤ 1/√ε, with equality at ν = 0")
    d.define("the direct-path factor", 1 / sp.sqrt(nu + eps), "the square root of step 1",
             lhs=sp.Symbol(r"\mathrm{std}^{-1}"))
    d.rewrite("its value at ν = 0", 1 / sp.sqrt(eps), at={nu: 0},
              why="by the bound it is at most this for every ν ≥ 0, and ν = 0 reaches it")
    d.conclude("batchnorm_direct_factor_bound", 1 / sp.sqrt(eps), [eps],
               "the largest value of 1/√(ν + ε) over ν ≥ 0 (reached at ν = 0)", kernel=False)
    c = sp.Symbol("c", real=True)

    def constant_feature(m):
        Y, gs = _plain("Y", m), _plain("g", m)
        mu, nu_m = _stats(Y)
        std = sp.sqrt(nu_m + _EPS)
        loss = _GAMMA * sp.expand(sp.Add(*[gk * (y - mu) for gk, y in zip(gs, Y)])) / std
        grad = sp.Matrix([sp.diff(loss, y) for y in Y]).subs({y: c for y in Y})
        Zc = sp.Matrix([(y - mu) / std for y in Y]).subs({y: c for y in Y})
        want = sp.Matrix([_GAMMA / sp.sqrt(_EPS) * (gk - _mean(gs)) for gk in gs])
        return sp.Matrix.vstack(Zc, grad), sp.Matrix.vstack(sp.zeros(m, 1), want)

    i, B = _I, sp.Symbol("B", integer=True, positive=True)
    d.prove_for_sizes(r"a constant feature: $\hat Z = 0$ and a finite gradient",
                      sp.Eq(sp.Symbol(r"\mathrm{d}Y_{i}"),
                            _GAMMA / sp.sqrt(_EPS) * (sp.IndexedBase("g")[i]
                                                      - sp.Sum(sp.IndexedBase("g")[i],
                                                               (i, 1, B)) / B)),
                      constant_feature,
                      why="SymPy differentiates, then every Y_i is set to the same c: μ = c, "
                          "ν = 0, every normalised value is 0 and the gradient is bounded by "
                          "2|γ|·max|g|/√ε; at ε = 0 both would be 0/0")

    names = [f"g_{k}" for k in range(1, 5)]
    S = _sym_kw(names + ["c", "gamma", "eps"])
    gs = [S[n] for n in names]
    expr = sp.Matrix([S["gamma"] / sp.sqrt(S["eps"]) * (gk - _mean(gs)) for gk in gs])

    def constant_loss(v, kw):
        return float(_np_batch(kw, "g", 4) @ _np_bn(v, kw["gamma"], 0.0, kw["eps"]))

    d.crosscheck_numeric_gradient(
        "central differences at a constant batch", expr, loss=constant_loss,
        point=lambda kw: _np().full(4, kw["c"]),
        at={**{S[n]: (-1.0, 1.0) for n in names}, S["c"]: (-3.0, 3.0),
            S["gamma"]: (0.5, 2.0), S["eps"]: (1e-3, 0.1)}, rtol=1e-4, atol=1e-6)
