"""BatchNorm forward and backward (000 §2, 001 Q2): the batch identities at explicit
sizes, the chain and compact forms of the input gradient, and their elementwise kernels."""
from __future__ import annotations

import sympy as sp

from ..core import Derivation
from ..registry import derivation
from ._common import (
    _BETA, _EPS, _GAMMA, _I, _S, _bn_chain_form, _bn_compact_form, _bn_eq37_form, _bn_gradient,
    _centred, _col, _mean, _no_roots, _np, _np_batch, _np_bn, _plain, _samples, _stats, _sym_kw,
)


@derivation("batchnorm-forward",
            exports=("batchnorm_normalize", "batchnorm_affine", "running_average_update"))
def batchnorm_forward(d: Derivation) -> None:
    """Ẑ_i = (Y_i − μ)/√(ν + ε), Ŷ_i = γẐ_i + β per feature (000 §2, 001 Q2).

    With ε = 0 the normalised batch has sample mean 0 and (biased) sample variance 1
    exactly, so Ŷ has sample mean β and variance γ². Train mode uses the batch statistics;
    eval mode uses running averages r ← (1 − ρ)r + ρ·(batch statistic), ρ = 0.1.
    """
    x, mean, var = d.symbol("x", real=True), d.symbol("mean", real=True), \
        d.symbol("var", nonnegative=True)
    eps = d.symbol("eps", nonnegative=True)
    xhat, gamma, beta = d.symbols("xhat gamma beta", real=True)
    d.assume("one feature of a mini-batch of B ≥ 2 samples Y_1..Y_B is normalised at a time; "
             "μ and ν are its sample mean and biased sample variance (divide by B), as in "
             "000 §2 and 001 Q2")
    d.assume("the statements 'mean 0, variance 1' are about the sample moments of the batch "
             "itself, exact for every batch with ν > 0 (not expectations over a population)")
    d.convention("train mode: μ, ν are the statistics of the current mini-batch. Eval mode: "
                 "running statistics r_μ, r_ν, each updated once per training step as "
                 "r ← (1 − ρ)·r + ρ·(batch value) with momentum ρ = 0.1 (PyTorch's convention; "
                 "Keras's 'momentum' is 1 − ρ); the running variance averages the unbiased "
                 "batch variance B/(B − 1)·ν, while train-mode normalisation uses ν itself")

    i, B = _I, sp.Symbol("B", integer=True, positive=True)
    Zb, Yhb = sp.IndexedBase(r"\hat{Z}"), sp.IndexedBase(r"\hat{Y}")
    gam, bet = _GAMMA, _BETA

    def normalised(m, eps_value=0):
        Y = _samples("Y", m)
        mu, nu = _stats(Y)
        return [(y - mu) / sp.sqrt(nu + eps_value) for y in Y]

    d.prove_for_sizes(
        "the normalised batch has mean 0", sp.Eq(sp.Sum(Zb[i], (i, 1, B)) / B, 0),
        lambda m: (_mean(normalised(m)), 0), sizes=(2, 3, 4, 5),
        why="with ε = 0; the deviations Y_i − μ sum to zero, whatever ν is")
    d.prove_for_sizes(
        "the normalised batch has variance 1", sp.Eq(sp.Sum(Zb[i] ** 2, (i, 1, B)) / B, 1),
        lambda m: (_mean([z**2 for z in normalised(m)]), 1), sizes=(2, 3, 4, 5),
        why="with ε = 0 and ν > 0: Σ(Y_i − μ)²/(Bν) = 1 by the definition of ν; since the "
            "mean is 0 this second moment is the variance")
    d.prove_for_sizes(
        "output mean is β", sp.Eq(sp.Sum(Yhb[i], (i, 1, B)) / B, sp.Symbol("beta")),
        lambda m: (_mean([gam * z + bet for z in normalised(m)]), bet), sizes=(2, 3, 4, 5),
        why=r"$\hat Y_i = \gamma \hat Z_i + \beta$ is affine, so its mean is γ·0 + β (000 §2.2)")
    d.prove_for_sizes(
        "output variance is γ²",
        sp.Eq(sp.Sum((Yhb[i] - sp.Symbol("beta")) ** 2, (i, 1, B)) / B, sp.Symbol("gamma")**2),
        lambda m: (_mean([(gam * z) ** 2 for z in normalised(m)]), gam**2),
        sizes=(2, 3, 4, 5),
        why=r"$\hat Y_i - \beta = \gamma \hat Z_i$, so the variance is γ²·1 (000 §2.2)")
    d.prove_for_sizes(
        "with ε > 0 the variance is ν/(ν + ε), slightly below 1",
        sp.Eq(sp.Sum(Zb[i] ** 2, (i, 1, B)) / B, sp.Symbol("nu") / (sp.Symbol("nu") + _EPS)),
        lambda m: (_mean([z**2 for z in normalised(m, _EPS)]), _stats(_samples("Y", m))[1]
                   / (_stats(_samples("Y", m))[1] + _EPS)),
        sizes=(2, 3, 4, 5), why="why 000 §2.2 says to ignore ε for this part")

    d.define("normalise (train mode: batch statistics)", (x - mean) / sp.sqrt(var + eps),
             "x is one entry of the feature, mean = μ and var = ν of its batch; in eval mode "
             "mean and var are the running statistics instead", lhs=xhat)
    d.conclude("batchnorm_normalize", (x - mean) / sp.sqrt(var + eps), [x, mean, var, eps],
               "kernel: the batch reductions mean and var are computed by the layer")
    d.define("scale and shift", gamma * xhat + beta, "the learnable per-feature affine map",
             lhs=sp.Symbol("y"))
    d.conclude("batchnorm_affine", gamma * xhat + beta, [xhat, gamma, beta], "kernel")

    r_mu, r_nu = d.symbol("r_mu", real=True), d.symbol("r_nu", nonnegative=True)
    d.define("eval mode", gamma * (x - r_mu) / sp.sqrt(r_nu + eps) + beta,
             "frozen running statistics replace the batch statistics", lhs=sp.Symbol("y"))
    a = gamma / sp.sqrt(r_nu + eps)
    d.rewrite("eval mode is one affine map per feature", a * x + (beta - a * r_mu),
              "slope γ/√(r_ν + ε) and intercept β − γ r_μ/√(r_ν + ε) are constants at test "
              "time, so each output depends on its own sample only (and the map can be "
              "folded into the preceding linear layer)")

    rho, r0, b = d.symbol("rho", positive=True), d.symbol("r_0", real=True), \
        d.symbol("b", real=True)
    T = sp.Symbol("T", integer=True, positive=True)

    def running(t):
        r = r0
        for _ in range(t):
            r = (1 - rho) * r + rho * b
        return r, b + (1 - rho) ** t * (r0 - b)

    d.prove_for_sizes("running average forgets its start geometrically",
                      sp.Eq(sp.Symbol("r_T"), b + (1 - rho) ** T * (r0 - b)), running,
                      sizes=(1, 2, 3, 4),
                      why="T updates r ← (1 − ρ)r + ρb with a constant batch value b (sizes "
                          "are the number of steps T): the start r_0 decays like (1 − ρ)^T")
    r = d.symbol("r", real=True)
    d.define("running-statistic update", (1 - rho) * r + rho * b,
             "exponential moving average with momentum ρ (weight of the new batch value)",
             lhs=sp.Symbol("r_{new}"))
    d.conclude("running_average_update", (1 - rho) * r + rho * b, [r, b, rho],
               "used by the layer in train mode; not a generated kernel", kernel=False)

    names = [f"Y_{k}" for k in range(1, 5)]
    S = _sym_kw(names + ["gamma", "beta", "eps"])
    Y = [S[n] for n in names]
    mu, nu = _stats(Y)
    out = sp.Matrix([S["gamma"] * (y - mu) / sp.sqrt(nu + S["eps"]) + S["beta"] for y in Y])
    box = {S[n]: (-3.0, 3.0) for n in names}
    d.crosscheck("BN forward at B = 4 against NumPy (mean, var with ddof = 0)", out,
                 lambda **kw: _col(_np_bn(_np_batch(kw, "Y", 4), kw["gamma"], kw["beta"],
                                          kw["eps"])),
                 at={**box, S["gamma"]: (-2.0, 2.0), S["beta"]: (-1.0, 1.0),
                     S["eps"]: (0.0, 0.1)})

    def moments(**kw):
        y = _np_bn(_np_batch(kw, "Y", 4), kw["gamma"], kw["beta"], 0.0)
        return _col([y.mean(), y.var()])

    d.crosscheck("NumPy output mean and variance equal β and γ² (ε = 0)",
                 sp.Matrix([S["beta"], S["gamma"] ** 2]), moments,
                 at={**box, S["gamma"]: (-2.0, 2.0), S["beta"]: (-1.0, 1.0)})


# =====================================================================================
# Batch sizes at which the backward identities are proved exactly: m = 5 would double the
# build time (SymPy differentiating √ν at five explicit points) for no new information.
BACKWARD_SIZES = (2, 3, 4)


@derivation("batchnorm-backward", exports=("batchnorm_backward_input",))
def batchnorm_backward(d: Derivation) -> None:
    """∂ℓ/∂Y_i = γ/√(ν+ε) · (g_i − mean(g) − Ẑ_i·mean(g·Ẑ)), exact for every ε ≥ 0.

    g_i = ∂ℓ/∂Ŷ_i is the upstream gradient (000 §2.3 masks it by a ReLU first); the kernel
    batchnorm_backward_input(g, xhat, g_mean, g_xhat_mean, gamma, inv_std) receives the
    batch reductions g_mean = mean_i g_i, g_xhat_mean = mean_i g_i Ẑ_i and
    inv_std = 1/√(ν + ε). Also: Σ_i ∂ℓ/∂Y_i = 0 always, and
    Σ_i (∂ℓ/∂Y_i)·Ẑ_i = γ ε (ν + ε)^(−3/2) · ∂ℓ/∂γ, which vanishes for ε = 0 only.
    """
    def prove_at_sizes(*args, sizes=BACKWARD_SIZES, **kwargs):
        return d.prove_for_sizes(*args, sizes=sizes, **kwargs)

    g, xhat, g_mean, g_xhat_mean = d.symbols("g xhat g_mean g_xhat_mean", real=True)
    gamma = d.symbol("gamma", real=True)
    inv_std = d.symbol("inv_std", positive=True)
    nu = d.symbol("nu", nonnegative=True)
    eps = d.symbol("varepsilon", positive=True)
    B = sp.Symbol("B", integer=True, positive=True)
    d.assume("one feature (000's column j) at a time: a mini-batch Y_1..Y_B, B ≥ 2, of "
             "values of that feature; μ, ν are its mean and biased variance (divide by B)")
    d.assume("ε > 0 unless stated; every result below is exact for every ε > 0")
    d.convention("notation of 000 §2.3 (per feature): Y_i enters BN; std = √(ν + ε); "
                 r"$\hat Z_i = (Y_i - \mu)/\mathrm{std}$; "
                 r"$\hat Y_i = \gamma \hat Z_i + \beta$; H_i = ReLU($\hat Y_i$); "
                 r"$g_i = \partial \ell / \partial \hat Y_i$ and $g_{Z,i} = \gamma g_i$; "
                 r"$\mathrm{d}Y_i = \partial \ell/\partial Y_i$")
    d.convention(r"dictionary to 001 Q2: z_i = Y_i, σ² = ν, ẑ_i = $\hat Z_i$, "
                 r"y_i = $\hat Y_i$, dy_i = g_i, $\mathrm{d}\hat z_i$ = $g_{Z,i}$, m = B")
    d.convention("kernel arguments: x̂ = $\\hat Z_i$, g_mean = (1/B)Σ_k g_k, "
                 r"g_xhat_mean = $(1/B)\sum_k g_k \hat Z_k$, inv_std = 1/std")
    d.convention("ReLU'(0) = 0: the mask 1{$\\hat Y$ > 0} of 000 is 0 at $\\hat Y$ = 0")
    d.convention(r"in the fixed-size checks SymPy differentiates $\ell = \sum_k g_k \hat Y_k$ "
                 "with g held fixed: by the chain rule this gives ∂ℓ/∂Y_i for any loss ℓ; "
                 "after differentiating, √(ν + ε) is written s (a positive symbol) so that "
                 "the comparison is between rational functions")

    i = _I
    gb, Zb, Yb = sp.IndexedBase("g"), sp.IndexedBase(r"\hat{Z}"), sp.IndexedBase("Y")
    dYb = sp.IndexedBase(r"\mathrm{d}Y")
    mu_s, std_s = sp.Symbol(r"\mu"), sp.Symbol(r"\mathrm{std}")

    # (1) the ReLU in front of the loss (000 §2.3)
    d.define("ReLU between BN and the loss (000 §2.3)",
             sp.Piecewise((sp.Symbol(r"\frac{\partial \ell}{\partial H_{i}}"),
                           sp.Symbol(r"\hat{Y}_{i}", real=True) > 0), (0, True)),
             "000 §2.3 backpropagates first through H = ReLU($\\hat Y$): "
             "the upstream gradient of BN "
             "is ∂ℓ/∂H where the unit is active and 0 where it is not. From here on g_i is "
             "taken as given, so all that follows holds whatever layer follows BN",
             lhs=sp.Symbol("g_{i}"))

    # (2)-(3) parameter gradients, by SymPy's differentiation at fixed sizes
    def param_grad(m, wrt):
        Y, gs = _plain("Y", m), _plain("g", m)
        mu, nu_m = _stats(Y)
        Z = [(y - mu) / sp.sqrt(nu_m + _EPS) for y in Y]
        loss = sp.Add(*[gk * (_GAMMA * zk + _BETA) for gk, zk in zip(gs, Z)])
        want = sp.Add(*gs) if wrt is _BETA else sp.Add(*[gk * zk for gk, zk in zip(gs, Z)])
        return sp.diff(loss, wrt), want

    prove_at_sizes("dβ (000 §2.3; 001 eq. 16)",
                      sp.Eq(sp.Symbol(r"\frac{\partial \ell}{\partial \beta}"),
                            sp.Sum(gb[i], (i, 1, B))),
                      lambda m: param_grad(m, _BETA),
                      why=r"β shifts every output by the same amount: "
                          r"$\partial \hat Y_i/\partial\beta = 1$")
    prove_at_sizes("dγ (000 §2.3; 001 eq. 19)",
                      sp.Eq(sp.Symbol(r"\frac{\partial \ell}{\partial \gamma}"),
                            sp.Sum(gb[i] * Zb[i], (i, 1, B))),
                      lambda m: param_grad(m, _GAMMA),
                      why=r"$\partial \hat Y_i/\partial \gamma = \hat Z_i$")

    # (4)-(6) the three partial derivatives of 000 §2.3, each checked against SymPy
    d_nu_shown = sp.Eq(sp.Symbol(r"\frac{\partial \ell}{\partial \nu}"),
                       -sp.Rational(1, 2) * std_s**-3
                       * sp.Sum(_GAMMA * gb[i] * (Yb[i] - mu_s), (i, 1, B)))

    def d_nu_family(m):
        Y, gs = _plain("Y", m), _plain("g", m)
        mu, v = sp.Symbol("mu"), sp.Symbol("v", nonnegative=True)
        loss = sp.Add(*[gk * (_GAMMA * (y - mu) / sp.sqrt(v + _EPS) + _BETA)
                        for gk, y in zip(gs, Y)])
        want = sp.Add(*[_GAMMA * gk * (y - mu) for gk, y in zip(gs, Y)]) \
            * sp.Rational(-1, 2) * (v + _EPS) ** sp.Rational(-3, 2)
        return sp.diff(loss, v), want

    prove_at_sizes("∂ℓ/∂ν (000 §2.3; 001 eqs. 27–29)", d_nu_shown, d_nu_family,
                      why=r"ν reaches every $\hat Z_k$ through std = √(ν + ε), and "
                          r"$\partial \hat Z_k/\partial \nu = -\tfrac12 (Y_k - \mu)\,"
                          r"\mathrm{std}^{-3}$; μ is held fixed (a separate node of the graph)")

    d_mu_shown = sp.Eq(sp.Symbol(r"\frac{\partial \ell}{\partial \mu}"),
                       sp.Sum(-_GAMMA * gb[i] / std_s, (i, 1, B))
                       + sp.Symbol(r"\frac{\partial \ell}{\partial \nu}") * (-2 / B)
                       * sp.Sum(Yb[i] - mu_s, (i, 1, B)))

    def d_mu_family(m):
        Y, gs = _plain("Y", m), _plain("g", m)
        mu = sp.Symbol("mu")
        v = sp.expand(sp.Add(*[(y - mu) ** 2 for y in Y]) / m)  # ν as a function of μ, Y
        lin = sp.expand(sp.Add(*[gk * (y - mu) for gk, y in zip(gs, Y)]))
        loss = _GAMMA * lin / sp.sqrt(v + _EPS)  # γ Σ g_k Z_k, 1/std factored out
        got = sp.diff(loss, mu).xreplace({v + _EPS: _S**2})
        d_nu = sp.Add(*[_GAMMA * gk * (y - mu) for gk, y in zip(gs, Y)]) \
            * sp.Rational(-1, 2) / _S**3
        want = sp.Add(*[-_GAMMA * gk / _S for gk in gs]) \
            + d_nu * sp.Rational(-2, m) * sp.Add(*[y - mu for y in Y])
        assert _no_roots(got)
        return got, want

    prove_at_sizes("∂ℓ/∂μ (000 §2.3; 001 eqs. 24–25)", d_mu_shown, d_mu_family,
                      why=r"μ reaches $\hat Z_k$ directly (factor −1/std) and through ν, "
                          r"with ∂ν/∂μ = −(2/B)Σ_k(Y_k − μ); here ν is differentiated as a "
                          "function of μ, as in 000")

    dY_chain_shown = sp.Eq(dYb[i], _GAMMA * gb[i] / std_s
                           + sp.Symbol(r"\frac{\partial \ell}{\partial \nu}")
                           * 2 * (Yb[i] - mu_s) / B
                           + sp.Symbol(r"\frac{\partial \ell}{\partial \mu}") / B)

    def chain_vs_sympy(m):
        c, gs, _, grad = _bn_gradient(m)
        return grad, _bn_chain_form(c, gs, _S)

    prove_at_sizes("chain form (000 §2.3; 001 eq. 32) = SymPy's derivative",
                      dY_chain_shown, chain_vs_sympy, sizes=(2, 3, 4),
                      why="three paths from Y_i: direct (1/std), through ν (∂ν/∂Y_i = "
                          "2(Y_i − μ)/B) and through μ (∂μ/∂Y_i = 1/B); compared with SymPy "
                          "differentiating ℓ(Y) as a whole, every component i")

    def compact_vs_chain(m):
        _, c = _centred(m)
        gs = _plain("g", m)
        return _bn_chain_form(c, gs, _S), _bn_compact_form(c, gs, _S)

    g_bar = sp.Sum(gb[i], (i, 1, B)) / B
    gz_bar = sp.Sum(gb[i] * Zb[i], (i, 1, B)) / B
    prove_at_sizes("compact form (001 eq. 36) = chain form",
                      sp.Eq(dYb[i], _GAMMA / std_s * (gb[i] - g_bar - Zb[i] * gz_bar)),
                      compact_vs_chain, why="001's closed form, at explicit sizes")

    def eq37_vs_eq36(m):
        _, c = _centred(m)
        gs = _plain("g", m)
        return _bn_eq37_form(c, gs, _S), _bn_compact_form(c, gs, _S)

    prove_at_sizes("001 eq. 37 = eq. 36",
                      sp.Eq(dYb[i], _GAMMA / (B * std_s)
                            * (B * gb[i] - sp.Sum(gb[i], (i, 1, B))
                               - Zb[i] * sp.Sum(gb[i] * Zb[i], (i, 1, B)))),
                      eq37_vs_eq36, why="1/B taken out of the bracket")

    # (7)-(11) the same algebra for every B: elementwise, batch sums as named symbols
    S_g = d.symbol(r"\textstyle\sum_{k} g_{k}", real=True)
    S_gc = d.symbol(r"\textstyle\sum_{k} g_{k} (Y_{k}-\mu)", real=True)
    S_c = d.symbol(r"\textstyle\sum_{k} (Y_{k}-\mu)", real=True)
    yc = d.symbol(r"(Y_{i}-\mu)", real=True)
    d_nu = -sp.Rational(1, 2) * gamma * inv_std**3 * S_gc
    d_mu = -gamma * inv_std * S_g + d_nu * (-2 / B) * S_c
    chain_any_B = gamma * g * inv_std + d_nu * 2 * yc / B + d_mu / B

    def sums_at(m, dev, gs, i):
        """The named batch sums, g_i, Y_i − μ and 1/std at batch size m (component i)."""
        return {S_g: sp.Add(*gs), S_gc: sp.Add(*[gk * ck for gk, ck in zip(gs, dev)]),
                S_c: sp.Add(*dev), yc: dev[i], g: gs[i], inv_std: 1 / _S, gamma: _GAMMA,
                B: m}

    def chain_any_B_vs_sympy(m):
        c, gs, _, grad = _bn_gradient(m)
        return grad, sp.Matrix([chain_any_B.subs(sums_at(m, c, gs, k)) for k in range(m)])

    d.form_for_sizes("chain form for any B, batch sums named", chain_any_B,
                     chain_any_B_vs_sympy, sizes=BACKWARD_SIZES,
                     why="000 §2.3 with ∂ℓ/∂ν and ∂ℓ/∂μ inserted; g is g_i, inv_std = 1/std. "
                         "With the sums of a batch of size B inserted it equals SymPy's "
                         "derivative of ℓ(Y_1..Y_B), every component, for each B checked",
                     lhs=sp.Symbol(r"\mathrm{d}Y_{i}"))
    d.rewrite("the ν-path of ∂ℓ/∂μ vanishes", d.current.subs(S_c, 0),
              "deviations from the batch mean sum to zero: Σ_k Y_k = Bμ", at={S_c: 0})
    d.rewrite("name the batch means",
              gamma * inv_std * g - gamma * inv_std * g_mean
              - gamma * inv_std * xhat * g_xhat_mean,
              r"$Y_k - \mu = \mathrm{std}\,\hat Z_k$, so $\sum_k g_k (Y_k-\mu) = "
              r"B\,\mathrm{std}\,\overline{g\hat Z}$; $\sum_k g_k = B\bar g$",
              at={S_gc: B * g_xhat_mean / inv_std, yc: xhat / inv_std, S_g: B * g_mean})
    compact = gamma * inv_std * (g - g_mean - xhat * g_xhat_mean)
    d.rewrite("factor γ/std: 001 eq. 36", compact,
              "the compact form; no step used ε = 0, so it is exact for every ε")
    d.conclude("batchnorm_backward_input", compact,
               [g, xhat, g_mean, g_xhat_mean, gamma, inv_std],
               "kernel; the layer computes g_mean, g_xhat_mean, inv_std per feature and the "
               "parameter gradients dβ = Σg, dγ = Σg·x̂")

    def kernel_vs_sympy(m):
        c, gs, _, grad = _bn_gradient(m)
        Z = [ck / _S for ck in c]
        reductions = {g_mean: _mean(gs), g_xhat_mean: _mean([a * b for a, b in zip(gs, Z)]),
                      inv_std: 1 / _S, gamma: _GAMMA}
        return grad, sp.Matrix([compact.subs({**reductions, g: gs[k], xhat: Z[k]})
                                for k in range(m)])

    prove_at_sizes("the kernel on a batch's reductions = SymPy's derivative",
                   sp.Eq(dYb[i], _GAMMA / std_s * (gb[i] - g_bar - Zb[i] * gz_bar)),
                   kernel_vs_sympy,
                   why="the conclusion, applied to each i with g_mean, g_xhat_mean and "
                       "inv_std of a batch of size B, reproduces ∂ℓ/∂Y_i of that batch")

    # (12)-(13) the two sums of the input gradient
    def sum_dY(m):
        return sp.Add(*_bn_gradient(m)[3]), 0

    prove_at_sizes("Σ_i dY_i = 0, for every ε",
                      sp.Eq(sp.Sum(dYb[i], (i, 1, B)), 0), sum_dY,
                      why="in the compact form Σ_i (g_i − $\\bar g$) = 0 and Σ_i $\\hat Z_i$ = 0; "
                          "checked on "
                          "SymPy's own derivative: adding a constant to every Y_i leaves BN's "
                          "output unchanged")

    def sum_dY_Z(m):
        c, gs, nu_m, grad = _bn_gradient(m)
        Z = [ck / _S for ck in c]
        eps_of_s = _S**2 - nu_m  # ε written through s = √(ν + ε)
        lhs = sp.Add(*[dy * z for dy, z in zip(grad, Z)])
        rhs = _GAMMA * eps_of_s / _S**3 * sp.Add(*[gk * z for gk, z in zip(gs, Z)])
        return lhs, rhs

    dgamma = sp.Symbol(r"\frac{\partial \ell}{\partial \gamma}")
    prove_at_sizes("Σ_i dY_i $\\hat Z_i$ carries an ε term",
                      sp.Eq(sp.Sum(dYb[i] * Zb[i], (i, 1, B)),
                            _GAMMA * eps / (nu + eps) ** sp.Rational(3, 2) * dgamma),
                      sum_dY_Z,
                      why="found by letting SymPy factor the sum at B = 3 (it is proportional "
                          "to ε); checked on SymPy's own derivative. It is 0 for ε = 0, but "
                          "for ε > 0 only when ∂ℓ/∂γ = 0")

    S_gz = d.symbol(r"\textstyle\sum_{k} g_{k} \hat{Z}_{k}", real=True)
    S_z = d.symbol(r"\textstyle\sum_{k} \hat{Z}_{k}", real=True)
    S_zz = d.symbol(r"\textstyle\sum_{k} \hat{Z}_{k}^{2}", real=True)

    def sum_zz(m):
        Y = _samples("Y", m)
        mu, nu_m = _stats(Y)
        return sp.Add(*[((y - mu) / sp.sqrt(nu_m + _EPS)) ** 2 for y in Y]), \
            m * nu_m / (nu_m + _EPS)

    prove_at_sizes("Σ $\\hat Z_i^2$ = Bν/(ν + ε)", sp.Eq(S_zz, B * nu / (nu + eps)), sum_zz,
                      why="only ε = 0 gives exactly B")
    summed = gamma * inv_std * (S_gz - g_mean * S_z - g_xhat_mean * S_zz)

    def summed_vs_sympy(m):
        c, gs, _, grad = _bn_gradient(m)
        Z = [ck / _S for ck in c]
        gz = [a * b for a, b in zip(gs, Z)]
        sums = {gamma: _GAMMA, inv_std: 1 / _S, S_gz: sp.Add(*gz), g_mean: _mean(gs),
                S_z: sp.Add(*Z), g_xhat_mean: _mean(gz), S_zz: sp.Add(*[z**2 for z in Z])}
        return sp.Add(*[dy * z for dy, z in zip(grad, Z)]), summed.subs(sums)

    d.form_for_sizes("the same for every B, sums named", summed, summed_vs_sympy,
                     sizes=BACKWARD_SIZES,
                     why=r"multiply the compact form by $\hat Z_i$ and sum over i; with the "
                         "sums of a batch of size B inserted it equals Σ_i dY_i Ẑ_i of "
                         "SymPy's derivative, for each B checked",
                     lhs=sp.Sum(dYb[i] * Zb[i], (i, 1, B)))
    d.rewrite("insert the two sums of $\\hat Z$", gamma * inv_std * (S_gz - g_xhat_mean * B * nu
                                                             * inv_std**2),
              r"$\sum_k \hat Z_k = 0$ and $\sum_k \hat Z_k^2 = B\nu/(\nu+\varepsilon)$",
              at={S_z: 0, S_zz: B * nu * inv_std**2})
    d.rewrite("g_xhat_mean is the mean of g·$\\hat Z$",
              gamma * inv_std * S_gz * (1 - nu * inv_std**2),
              at={g_xhat_mean: S_gz / B})
    d.rewrite("the ε term", gamma * eps / (nu + eps) ** sp.Rational(3, 2) * S_gz,
              "1 − ν/(ν + ε) = ε/(ν + ε); and Σ_k g_k $\\hat Z_k$ = ∂ℓ/∂γ",
              at={inv_std: 1 / sp.sqrt(nu + eps)})

    # float64 cross-checks: NumPy forward pass and central differences
    names = [f"Y_{k}" for k in range(1, 5)] + [f"G_{k}" for k in range(1, 5)]
    S = _sym_kw(names + ["gamma", "beta", "eps"])
    Y = [S[f"Y_{k}"] for k in range(1, 5)]
    mu, nu_m = _stats(Y)
    Z = [(y - mu) / sp.sqrt(nu_m + S["eps"]) for y in Y]
    masked = [sp.Piecewise((S[f"G_{k}"], S["gamma"] * Z[k - 1] + S["beta"] > 0), (0, True))
              for k in range(1, 5)]
    sub = {g_mean: _mean(masked), g_xhat_mean: _mean([a * b for a, b in zip(masked, Z)]),
           gamma: S["gamma"], inv_std: 1 / sp.sqrt(nu_m + S["eps"])}
    kernel = sp.Matrix([compact.subs({**sub, g: gk, xhat: zk}) for gk, zk in zip(masked, Z)])

    def relu_loss(y, kw):
        np = _np()
        G = _np_batch(kw, "G", 4)
        return float(G @ np.maximum(_np_bn(y, kw["gamma"], kw["beta"], kw["eps"]), 0.0))

    at = {**{S[n]: (-2.0, 2.0) for n in names}, S["gamma"]: (0.5, 2.0),
          S["beta"]: (-0.5, 0.5), S["eps"]: (1e-3, 0.5)}
    d.crosscheck_numeric_gradient(
        "kernel through ReLU (000 §2.3) vs central differences of a NumPy forward, B = 4",
        kernel, loss=relu_loss, point=lambda kw: _np_batch(kw, "Y", 4), at=at, rtol=1e-5,
        atol=1e-7)

    eps_term = S["gamma"] * S["eps"] / (nu_m + S["eps"]) ** sp.Rational(3, 2) * sp.Add(
        *[S[f"G_{k}"] * Z[k - 1] for k in range(1, 5)])

    def bn_loss(v, kw):
        return float(_np_batch(kw, "G", 4) @ _np_bn(v, kw["gamma"], 0.0, kw["eps"]))

    def zhat(kw):
        y = _np_batch(kw, "Y", 4)
        return (y - y.mean()) / _np().sqrt(y.var() + kw["eps"])

    d.crosscheck_numeric_gradient(
        "Σ dY·$\\hat Z$ against central differences (ε term)", eps_term, loss=bn_loss,
        point=lambda kw: _np_batch(kw, "Y", 4), direction=zhat,
        at={**at, S["eps"]: (0.05, 0.5)}, rtol=1e-4, atol=1e-7)


# =====================================================================================
