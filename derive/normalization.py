"""Catalog section 3: normalisation (000 §2, 001 Q2, 003 §2–3, 004 B.2).

Batch normalisation of one feature over a mini-batch of B samples (000 §2; 001 Q2 writes m):

    μ = (1/B) Σ_i Y_i,   ν = (1/B) Σ_i (Y_i − μ)²   (biased variance),
    Ẑ_i = (Y_i − μ)/√(ν + ε),   Ŷ_i = γ Ẑ_i + β.

Layer normalisation is the same algebra along a row (over the D features of one sample)
instead of down a column (003 §2). 004 B.2 uses the variant Ẑ = (z − μ)/(σ + ε).

Batch identities are proved exactly at explicit sizes (B = 2..5) with one symbol per
sample; the kernels are elementwise forms in which every batch reduction (Σg, Σg·Ẑ,
1/√(ν+ε) …) is a named argument, so the generated NumPy function broadcasts.

Speed: square roots of the batch variance make SymPy's comparisons slow, so in the
fixed-size checks the denominator √(ν+ε) is replaced, *after* SymPy has differentiated,
by a positive symbol s (ε = s² − ν is a bijection between ε > −ν and s > 0); the identity
is then a rational one in independent symbols, checked exactly.
"""
from __future__ import annotations

import functools

import sympy as sp

from .core import Derivation
from .reference import central_gradient
from .registry import derivation

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


@functools.lru_cache(maxsize=None)
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
@derivation("batchnorm-forward", title="Batch normalisation forward: zero mean, unit "
            "variance, then mean β and variance γ²; train and eval modes",
            source="000 §2.2, 001 Q2, 003 §3", section=3, kinds="D,K")
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
        sizes=(2, 3, 4, 5), why=r"$\hat Y_i - \beta = \gamma \hat Z_i$, so the variance is γ²·1 (000 §2.2)")
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
                 lambda **kw: _col(_np_bn(_np_batch(kw, "Y", 4), kw["gamma"], kw["beta"], kw["eps"])),
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


@derivation("batchnorm-backward", title="Batch normalisation backward: dβ, dγ and the input "
            "gradient, chain form (000 §2.3) = compact form (001 eq. 36/37)",
            source="000 §2.3, 001 Q2 (eqs. 14–37)", section=3, kinds="D,K")
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
             "000 §2.3 backpropagates first through H = ReLU($\\hat Y$): the upstream gradient of BN "
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
                      why=r"β shifts every output by the same amount: $\partial \hat Y_i/\partial\beta = 1$")
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
    d.define("chain form for any B, batch sums named",
             gamma * g * inv_std + d_nu * 2 * yc / B + d_mu / B,
             "000 §2.3 with ∂ℓ/∂ν and ∂ℓ/∂μ inserted; g is g_i, inv_std = 1/std",
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

    # (12)-(13) the two sums of the input gradient
    def sum_dY(m):
        return sp.Add(*_bn_gradient(m)[3]), 0

    prove_at_sizes("Σ_i dY_i = 0, for every ε",
                      sp.Eq(sp.Sum(dYb[i], (i, 1, B)), 0), sum_dY,
                      why="in the compact form Σ_i (g_i − $\\bar g$) = 0 and Σ_i $\\hat Z_i$ = 0; checked on "
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
    d.define("the same for every B, sums named",
             gamma * inv_std * (S_gz - g_mean * S_z - g_xhat_mean * S_zz),
             r"multiply the compact form by $\hat Z_i$ and sum over i",
             lhs=sp.Sum(dYb[i] * Zb[i], (i, 1, B)))
    d.rewrite("insert the two sums of $\\hat Z$", gamma * inv_std * (S_gz - g_xhat_mean * B * nu
                                                             * inv_std**2),
              r"$\sum_k \hat Z_k = 0$ and $\sum_k \hat Z_k^2 = B\nu/(\nu+\varepsilon)$",
              at={S_z: 0, S_zz: B * nu * inv_std**2})
    d.rewrite("g_xhat_mean is the mean of g·$\\hat Z$", gamma * inv_std * S_gz * (1 - nu * inv_std**2),
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

    def relu_loss_gradient(**kw):
        np = _np()
        G = _np_batch(kw, "G", 4)

        def loss(y):
            return float(G @ np.maximum(_np_bn(y, kw["gamma"], kw["beta"], kw["eps"]), 0.0))

        return _col(central_gradient(loss, _np_batch(kw, "Y", 4)))

    at = {**{S[n]: (-2.0, 2.0) for n in names}, S["gamma"]: (0.5, 2.0),
          S["beta"]: (-0.5, 0.5), S["eps"]: (1e-3, 0.5)}
    d.crosscheck("kernel through ReLU (000 §2.3) vs central differences of a NumPy forward, "
                 "B = 4", kernel, relu_loss_gradient, at=at, rtol=1e-5, atol=1e-7)

    eps_term = S["gamma"] * S["eps"] / (nu_m + S["eps"]) ** sp.Rational(3, 2) * sp.Add(
        *[S[f"G_{k}"] * Z[k - 1] for k in range(1, 5)])

    def eps_term_numeric(**kw):
        np = _np()
        y, G = _np_batch(kw, "Y", 4), _np_batch(kw, "G", 4)
        grad = central_gradient(lambda v: float(G @ _np_bn(v, kw["gamma"], 0.0, kw["eps"])), y)
        return float(grad @ ((y - y.mean()) / np.sqrt(y.var() + kw["eps"])))

    d.crosscheck("Σ dY·$\\hat Z$ against central differences (ε term)", eps_term, eps_term_numeric,
                 at={**at, S["eps"]: (0.05, 0.5)}, rtol=1e-4, atol=1e-7)


# =====================================================================================
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
    """Compare a printed 2-decimal matrix with the exact one; record and describe each
    entry that is not the correctly rounded exact value."""
    found = []
    for r in range(exact.rows):
        for c in range(exact.cols):
            x = exact[r, c]
            rounded = sp.Rational(sp.floor(100 * x + sp.Rational(1, 2)), 100)
            if printed[r, c] != rounded:
                found.append(((r + 1, c + 1), printed[r, c], x, rounded))
    d.values[f"{name}_discrepancies"] = found
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


@derivation("data188-layernorm", title="LayerNorm worked example of 003 §2a, exactly",
            source="003 §2a", section=3, kinds="E,X")
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


@derivation("data188-batchnorm", title="BatchNorm worked example of 003 §3a, exactly",
            source="003 §3a", section=3, kinds="E")
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
@derivation("layernorm-forward", title="LayerNorm forward: the BN algebra along a row; "
            "independent of the batch", source="003 §2", section=3, kinds="D,K")
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


@derivation("layernorm-backward", title="LayerNorm backward: the BN input gradient along a "
            "row, with per-feature γ", source="003 §2, 001 Q2", section=3, kinds="D,K")
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

    def autodiff_vs_form(m):
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
        u_mean, uz_mean = _mean(u), _mean([a * b for a, b in zip(u, Z)])
        return grad, sp.Matrix([(uk - u_mean - zk * uz_mean) / _S for uk, zk in zip(u, Z)])

    j, D = sp.Symbol("j", integer=True), sp.Symbol("D", integer=True, positive=True)
    ub, zb = sp.IndexedBase(r"(\gamma g)"), sp.IndexedBase(r"\hat{x}")
    d.prove_for_sizes("SymPy's derivative along a row",
                      sp.Eq(sp.Symbol(r"\frac{\partial \ell}{\partial x_{j}}"),
                            (ub[j] - sp.Sum(ub[j], (j, 1, D)) / D
                             - zb[j] * sp.Sum(ub[j] * zb[j], (j, 1, D)) / D)
                            / sp.Symbol(r"\sqrt{\sigma^2+\varepsilon}")),
                      autodiff_vs_form,
                      why="the batchnorm-backward algebra with the batch index replaced by "
                          "the feature index and γ g in place of γ·g; sizes are D")
    d.define("elementwise form", inv_std * (gamma * g - g_mean - xhat * g_xhat_mean),
             "the row reductions are named arguments", lhs=sp.Symbol(r"\frac{\partial \ell}"
                                                                     r"{\partial x_{j}}"))
    d.conclude("layernorm_backward_input", inv_std * (gamma * g - g_mean - xhat * g_xhat_mean),
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

    def numeric(**kw):
        np = _np()
        G, gam = _np_batch(kw, "g", 4), _np_batch(kw, "gamma", 4)

        def loss(v):
            return float(G @ (gam * (v - v.mean()) / np.sqrt(v.var() + kw["eps"]) + 0.3))

        return _col(central_gradient(loss, _np_batch(kw, "x", 4)))

    d.crosscheck("kernel vs central differences of a NumPy LayerNorm row, D = 4", kernel,
                 numeric, at={**{S[n]: (-2.0, 2.0) for n in names}, S["eps"]: (1e-3, 0.5)},
                 rtol=1e-5, atol=1e-7)


# =====================================================================================
@derivation("batchnorm-std-eps", title="BatchNorm with (σ + ε) in the denominator (004 B.2): "
            "∂σ/∂z_j and the full Jacobian", source="004 B.2 (eqs. B.43–B.53, Key "
            "Equation 21)", section=3, kinds="D,K")
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

    def numeric(**kw):
        G = _np_batch(kw, "g", 4)

        def loss(v):
            return float(G @ (kw["G"] * (v - v.mean()) / (v.std() + kw["eps"]) - 0.2))

        return _col(central_gradient(loss, _np_batch(kw, "z", 4)))

    d.crosscheck("kernel vs central differences of a NumPy (σ + ε) forward, K = 4", kernel,
                 numeric, at={**{S[n]: (-2.0, 2.0) for n in names}, S["G"]: (0.5, 2.0),
                              S["eps"]: (1e-3, 0.5)}, rtol=1e-5, atol=1e-7)


@derivation("batchnorm-epsilon", title="Why ε: the factor 1/√(ν + ε) ≤ 1/√ε, and a constant "
            "feature gives finite gradients", source="000 §2.1, 001 Q2", section=3, kinds="D")
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
    d.conclude("batchnorm_direct_factor_bound", 1 / sp.sqrt(eps), [eps],
               "the largest value of 1/√(ν + ε) over ν ≥ 0 (reached at ν = 0)", kernel=False,
               check_previous=False)
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

    def numeric(**kw):
        G = _np_batch(kw, "g", 4)
        y0 = _np().full(4, kw["c"])
        return _col(central_gradient(
            lambda v: float(G @ _np_bn(v, kw["gamma"], 0.0, kw["eps"])), y0, h=1e-7))

    d.crosscheck("central differences at a constant batch", expr, numeric,
                 at={**{S[n]: (-1.0, 1.0) for n in names}, S["c"]: (-3.0, 3.0),
                     S["gamma"]: (0.5, 2.0), S["eps"]: (1e-3, 0.1)}, rtol=1e-4, atol=1e-6)
