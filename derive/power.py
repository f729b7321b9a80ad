"""Catalog section 15: statistical power of Monte Carlo claims.

A CLT z-test that must reject a correct value with probability ≤ α and keep a foil δ
away with probability ≤ β needs n ≥ (z_{α/2} + z_β)²·σ²/δ² samples, σ² the variance of
one sample's contribution (proofs.stats.design). Everything here lowers σ² without
changing the mean: pairing (common random numbers) and control variates.

Sources: common random numbers, Law and Kelton (2000) §11.2; control variates,
Glasserman (2004) §4.1; GELU and its approximations, 002 §9.2.2 (the forms are read from
the derivation ``gelu``).
"""
from __future__ import annotations

import sympy as sp

from .core import Derivation
from .registry import derivation, get

En = sp.Function("E")
Var = sp.Function("Var")
Cov = sp.Function("Cov")


def _phi(t):
    return sp.exp(-t**2 / 2) / sp.sqrt(2 * sp.pi)


def _half_line(expr, x):
    """∫_0^∞ expr·φ(x) dx by SymPy (a Gaussian half-line moment)."""
    return sp.integrate(expr * _phi(x), (x, 0, sp.oo))


def _quad(fn, lo=-40.0, hi=40.0):
    """∫ fn(x)φ(x) dx by scipy.integrate.quad (float64, independent of mpmath)."""
    import numpy as np
    from scipy import integrate
    return integrate.quad(lambda t: fn(t) * np.exp(-t * t / 2) / np.sqrt(2 * np.pi), lo, hi,
                          epsabs=1e-17, epsrel=1e-12, limit=800, points=(0.0,))[0]


# ---------------------------------------------------------------------------------------
@derivation("paired-design",
            exports=("var_difference", "n_paired", "n_unpaired", "ratio",
                     "example_var_difference", "example_var_sum", "example_ratio"))
def paired_design(d: Derivation) -> None:
    """Paired (common random numbers) against unpaired: to compare E[f(X)] with E[g(X)],
    evaluate f and g on the same draws and average D = f − g. Var D = Var f + Var g −
    2 Cov(f, g), so n_paired/n_unpaired = Var(f − g)/(Var f + Var g) (the unpaired design
    draws f and g independently, n each, and Var(f̄ − ḡ) = (Var f + Var g)/n). Example:
    f = z², g = 2 ReLU(z)², z ~ N(0, 1): Var D = 3, Var f + Var g = 7, ratio 3/7.
    Source: Law and Kelton (2000) §11.2."""
    Ef, Eg = d.symbols("E_f E_g", real=True)
    Ef2, Eg2 = d.symbols("E_{f^2} E_{g^2}", positive=True)
    Efg = d.symbol("E_{fg}", real=True)
    Vf, Vg = d.symbols("V_f V_g", positive=True)
    C = d.symbol("C", real=True)
    za, zb, delta = d.symbols("z_alpha z_beta delta", positive=True)
    d.assume("f(X) and g(X) have finite second moments; V_f = Var f, V_g = Var g, "
             "C = Cov(f, g) under the common draw X")
    d.assume("the CLT design: n = (z_{α/2} + z_β)²σ²/δ², σ² the per-sample variance of "
             "the averaged quantity, δ = |exact − foil| (proofs.stats.design)")
    D = sp.Symbol("f - g")
    d.define("variance of the paired difference", Ef2 - 2 * Efg + Eg2 - (Ef - Eg)**2,
             "Var D = E[D²] − (E D)², E[(f − g)²] = E[f²] − 2E[fg] + E[g²] by linearity",
             lhs=Var(D))
    d.rewrite("group", (Ef2 - Ef**2) + (Eg2 - Eg**2) - 2 * (Efg - Ef * Eg),
              "collect the terms of f, of g and the cross terms", lhs=Var(D))
    var_d = d.rewrite("in variances and covariance", Vf + Vg - 2 * C,
                      "Var f = E[f²] − (E f)², Cov(f, g) = E[fg] − E f·E g",
                      at={Ef2: Vf + Ef**2, Eg2: Vg + Eg**2, Efg: C + Ef * Eg}, lhs=Var(D))
    d.conclude("var_difference", var_d, [Vf, Vg, C], "", kernel=False, lhs=Var(D))
    n_p = (za + zb)**2 * var_d / delta**2
    n_u = (za + zb)**2 * (Vf + Vg) / delta**2
    d.define("paired size", n_p, "σ² = Var(f − g)", lhs=sp.Symbol("n_paired"))
    d.define("unpaired size (per arm)", n_u,
             "independent arms of n draws each: Var(f̄ − ḡ) = (V_f + V_g)/n",
             lhs=sp.Symbol("n_unpaired"))
    ratio_lhs = sp.Symbol("n_paired") / sp.Symbol("n_unpaired")
    d.define("ratio", n_p / n_u, "the design constants and δ cancel", lhs=ratio_lhs)
    ratio = d.rewrite("simplify", (Vf + Vg - 2 * C) / (Vf + Vg), "", lhs=ratio_lhs)
    d.rewrite("gain from a positive covariance", 1 - 2 * C / (Vf + Vg),
              "pairing helps exactly when Cov(f, g) > 0", lhs=ratio_lhs)
    d.conclude("ratio", ratio, [Vf, Vg, C], "", kernel=False, lhs=ratio_lhs)
    d.values.update(n_paired=n_p, n_unpaired=n_u)

    # example with exact moments
    z = d.symbol("z", real=True)
    d.assume("example: z ~ N(0, 1), f = z², g = 2·ReLU(z)² (both of mean 1)")
    m4_half = _half_line(z**4, z)
    d.define("E[ReLU(z)⁴]", sp.Integral(z**4 * _phi(z), (z, 0, sp.oo)), "half-line moment",
             lhs=En(sp.Symbol("ReLU(z)^4")))
    d.apply("integrate", lambda e: e.doit(), "by SymPy", lhs=En(sp.Symbol("ReLU(z)^4")))
    d.rewrite("3/2", sp.Rational(3, 2), "half of E[z⁴] = 3", lhs=En(sp.Symbol("ReLU(z)^4")))
    ex = {Vf: 3 - 1, Vg: 4 * m4_half - 1, C: 2 * m4_half - 1}
    d.apply("example: V_f, V_g, C", lambda _: sp.Matrix([ex[Vf], ex[Vg], ex[C]]),
            "Var z² = E z⁴ − 1 = 2; Var g = 4E[ReLU⁴] − 1; Cov = E[2z²ReLU(z)²] − 1 = "
            "2E[ReLU⁴] − 1", lhs=sp.Matrix([Vf, Vg, C]))
    d.rewrite("values", sp.Matrix([2, 5, 2]), "", lhs=sp.Matrix([Vf, Vg, C]))
    ex_var = var_d.subs(ex)
    d.apply("example: Var(f − g)", lambda _: ex_var, "var_difference at the example",
            lhs=Var(D))
    d.rewrite("= 3", sp.Integer(3), "f − g = z² − 2ReLU(z)² = −z²·sign(z), so it is also "
              "E[z⁴] = 3", lhs=Var(D))
    ex_ratio = ratio.subs(ex)
    d.apply("example: ratio", lambda _: ex_ratio, "the ratio at the example", lhs=ratio_lhs)
    d.rewrite("= 3/7", sp.Rational(3, 7), "pairing saves 4/7 of the samples", lhs=ratio_lhs)
    d.values.update(example_var_difference=sp.Integer(3), example_var_sum=sp.Integer(7),
                    example_ratio=sp.Rational(3, 7))

    def by_matrix(V_f, V_g, C):
        import numpy as np
        cov = np.array([[V_f, C], [C, V_g]])
        w = np.array([1.0, -1.0])
        return float(w @ cov @ w)

    d.crosscheck("Var(f − g) = wᵀΣw, w = (1, −1), by NumPy", var_d, by_matrix,
                 at={Vf: (0.5, 3.0), Vg: (0.5, 3.0), C: (-0.5, 0.5)})
    d.crosscheck("ratio from the two variances of the mean difference, by NumPy", ratio,
                 lambda V_f, V_g, C: by_matrix(V_f, V_g, C) / (V_f + V_g),
                 at={Vf: (0.5, 3.0), Vg: (0.5, 3.0), C: (-0.5, 0.5)})

    def example_quad(z):
        import numpy as np
        v = _quad(lambda t: (t * t - 2 * max(t, 0.0)**2)**2)
        f = _quad(lambda t: t**4) - 1
        g = _quad(lambda t: 4 * max(t, 0.0)**4) - 1
        return v / (f + g) + 0 * np.asarray(z)

    d.crosscheck("example ratio 3/7 by scipy.integrate.quad", ex_ratio + 0 * z, example_quad,
                 at={z: (0.0, 1.0)}, points=1, rtol=1e-8)


# ---------------------------------------------------------------------------------------
BIAS_DIGITS = 30  # digits of the biases (the catalog asks for 30)
DESIGN_DIGITS = 12  # digits of the second moments used only to size experiments


@derivation("gelu-approx-bias",
            exports=("mean_gelu", "bias_tanh", "bias_sigmoid", "mean_gelu_tanh",
                     "mean_gelu_sigmoid", "second_moment_diff_tanh",
                     "second_moment_diff_sigmoid", "var_diff_tanh", "second_moment_gelu",
                     "second_moment_gelu_tanh", "var_gelu", "var_gelu_tanh",
                     "paired_ratio_tanh"))
def gelu_approx_bias(d: Derivation) -> None:
    """b = E[GELU(z) − GELU_tanh(z)], z ~ N(0, 1): ≈ 5.62e-5 (30 digits by verified
    quadrature), and for the sigmoid form xσ(1.702x) ≈ −2.36e-4. E[GELU(z)] = 1/(2√π)
    exactly (Stein's identity E[zΦ(z)] = E[Φ'(z)]). The paired design sizes n from
    Var(GELU − GELU_tanh) ≈ 1.3e-8 instead of Var GELU + Var GELU_tanh ≈ 0.69: about 5e7
    times fewer samples. Forms from the derivation gelu (002 §9.2.2)."""
    x = d.symbol("x", real=True)
    g = get("gelu").values
    gelu, tanh_form, sig_form = g["gelu"], g["gelu_tanh"], g["gelu_sigmoid"]
    d.assume("z ~ N(0, 1); GELU(x) = xΦ(x); the tanh and sigmoid forms with the source's "
             "constants 0.044715 and 1.702 (derivation gelu)")
    d.convention("bias = E[exact − approximation]: positive when the approximation is low "
                 "on average")
    G = sp.Symbol("GELU(z)")
    d.define("Stein", sp.Integral(sp.diff((1 + sp.erf(x / sp.sqrt(2))) / 2, x) * _phi(x),
                                  (x, -sp.oo, sp.oo)),
             "E[zΦ(z)] = E[Φ′(z)] (integrate by parts: zφ(z) = −φ′(z), and Φφ → 0 at ±∞)",
             lhs=En(G))
    d.apply("integrate", lambda e: e.doit(), "by SymPy: ∫φ(x)² dx", lhs=En(G))
    mean_gelu = d.rewrite("1/(2√π)", 1 / (2 * sp.sqrt(sp.pi)), "", lhs=En(G))
    d.conclude("mean_gelu", mean_gelu, [], "", kernel=False, lhs=En(G))

    Dt = sp.Symbol("GELU(z) - GELU_tanh(z)")
    Ds = sp.Symbol("GELU(z) - GELU_sigma(z)")
    why = ("numerical integration (no closed form), verified by a second run on halved "
           "cells at more working digits")
    bias_t = d.gaussian_expectation(f"tanh form: bias to {BIAS_DIGITS} digits",
                                    gelu - tanh_form, x, digits=BIAS_DIGITS, why=why,
                                    lhs=En(Dt))
    d.conclude("bias_tanh", bias_t, [], "", kernel=False, lhs=En(Dt))
    d.prove_true("the tanh form is low on average", bias_t > 0, "b > 0",
                 shown=sp.StrictGreaterThan(En(Dt), 0))
    bias_s = d.gaussian_expectation(f"sigmoid form: bias to {BIAS_DIGITS} digits",
                                    gelu - sig_form, x, digits=BIAS_DIGITS, why=why,
                                    lhs=En(Ds))
    d.conclude("bias_sigmoid", bias_s, [], "", kernel=False, lhs=En(Ds))
    d.prove_true("the sigmoid form is high on average, and 4× further off", sp.And(
        bias_s < 0, sp.Abs(bias_s) > 4 * bias_t), "",
        shown=sp.StrictLessThan(En(Ds), -4 * En(Dt)))
    m2_t = d.gaussian_expectation("E[(GELU − GELU_tanh)²] (design)", (gelu - tanh_form)**2,
                                  x, digits=DESIGN_DIGITS, why=why, lhs=En(Dt**2))
    m2_s = d.gaussian_expectation("E[(GELU − GELU_σ)²] (design)", (gelu - sig_form)**2, x,
                                  digits=DESIGN_DIGITS, why=why, lhs=En(Ds**2))
    m2_g = d.gaussian_expectation("E[GELU²] (design)", gelu**2, x, digits=DESIGN_DIGITS,
                                  why=why, lhs=En(G**2))
    Gt = sp.Symbol("GELU_tanh(z)")
    m2_gt = d.gaussian_expectation("E[GELU_tanh²] (design)", tanh_form**2, x,
                                   digits=DESIGN_DIGITS, why=why, lhs=En(Gt**2))
    var_dt = m2_t - bias_t**2
    var_g = m2_g - mean_gelu**2
    var_gt = m2_gt - (mean_gelu - bias_t)**2
    ratio = var_dt / (var_g + var_gt)
    d.apply("paired-design ratio for the tanh form", lambda _: ratio,
             "Var(f − g)/(Var f + Var g) (derivation paired-design)",
            lhs=sp.Symbol("n_paired") / sp.Symbol("n_unpaired"))
    d.prove_true("pairing needs over 10⁷ times fewer samples", ratio < sp.Rational(1, 10**7),
                 f"ratio = {sp.N(ratio, 4)}")
    d.values.update(mean_gelu=mean_gelu, bias_tanh=bias_t, bias_sigmoid=bias_s,
                    mean_gelu_tanh=mean_gelu - bias_t, mean_gelu_sigmoid=mean_gelu - bias_s,
                    second_moment_diff_tanh=m2_t, second_moment_diff_sigmoid=m2_s,
                    var_diff_tanh=var_dt, second_moment_gelu=m2_g,
                    second_moment_gelu_tanh=m2_gt, var_gelu=var_g, var_gelu_tanh=var_gt,
                    paired_ratio_tanh=ratio)

    def quad_of(fn):
        def reference(x):
            return _quad(fn) + 0 * x
        return reference

    def np_gelu(t):
        import math
        return t * 0.5 * (1 + math.erf(t / math.sqrt(2)))

    def np_tanh(t):
        import math
        return 0.5 * t * (1 + math.tanh(math.sqrt(2 / math.pi) * (t + 0.044715 * t**3)))

    def np_sig(t):
        import math
        return t / (1 + math.exp(-1.702 * t)) if t > -500 else 0.0

    d.crosscheck("tanh bias by scipy.integrate.quad", bias_t + 0 * x,
                 quad_of(lambda t: np_gelu(t) - np_tanh(t)), at={x: (0.0, 1.0)}, points=1,
                 rtol=1e-7, atol=1e-13)
    d.crosscheck("sigmoid bias by scipy.integrate.quad", bias_s + 0 * x,
                 quad_of(lambda t: np_gelu(t) - np_sig(t)), at={x: (0.0, 1.0)}, points=1,
                 rtol=1e-7, atol=1e-13)
    d.crosscheck("E[GELU] = 1/(2√π) by scipy.integrate.quad", mean_gelu + 0 * x,
                 quad_of(np_gelu), at={x: (0.0, 1.0)}, points=1, rtol=1e-10)
    d.crosscheck("E[(GELU − GELU_tanh)²] by scipy.integrate.quad", m2_t + 0 * x,
                 quad_of(lambda t: (np_gelu(t) - np_tanh(t))**2), at={x: (0.0, 1.0)},
                 points=1, rtol=1e-6, atol=1e-16)


# ---------------------------------------------------------------------------------------
@derivation("control-variates",
            exports=("controlled_variance", "beta_star", "optimal_variance", "vrf",
                     "relu2_mean", "relu2_var", "relu2_beta", "relu2_vrf", "z2_mean",
                     "gelu_mean", "gelu_var", "relu_mean", "gelu_relu_beta", "gelu_relu_vrf"))
def control_variates(d: Derivation) -> None:
    """Estimate E[f] by the mean of f − β(c − μ_c), with a control c of known mean μ_c:
    unbiased for every β, variance V_f − 2βC + β²V_c, least at β* = C/V_c, where it is
    V_f(1 − ρ²), ρ = C/√(V_f V_c). Examples, z ~ N(0, 1): f = ReLU(z)², c = z² (μ_c = 1):
    β* = 1/2, 1 − ρ² = 3/5; f = GELU(z), c = ReLU(z) (μ_c = 1/√(2π)): 1 − ρ² ≈ 0.03.
    Source: Glasserman (2004) §4.1."""
    Vf, Vc = d.symbols("V_f V_c", positive=True)
    C = d.symbol("C", real=True)
    beta = d.symbol("beta", real=True)
    d.assume("f and the control c have finite variances V_f, V_c > 0 and covariance C; "
             "μ_c = E[c] is known exactly")
    Y = sp.Symbol("f - beta (c - mu_c)")
    d.define("variance of the controlled sample", Vf - 2 * beta * C + beta**2 * Vc,
             "Var(f − βc) for a constant β; subtracting the constant βμ_c changes no "
             "variance, and E[f − β(c − μ_c)] = E f for every β", lhs=Var(Y))
    controlled = d.current
    d.values["controlled_variance"] = controlled
    d.apply("∂/∂β", lambda e: sp.diff(e, beta), "by SymPy", lhs=sp.Derivative(Var(Y), beta))
    b_star = sp.solve(sp.Eq(d.current, 0), beta)[0]
    d.apply("stationary point", lambda _: b_star, "∂/∂β = 0 solved for β by SymPy",
            lhs=sp.Symbol("beta^*"))
    d.rewrite("C/V_c", C / Vc, "", lhs=sp.Symbol("beta^*"))
    d.conclude("beta_star", C / Vc, [C, Vc], "", kernel=False, lhs=sp.Symbol("beta^*"))
    d.prove_true("a minimum", sp.diff(controlled, beta, 2) > 0,
                 "the second derivative 2V_c is positive", shown=2 * Vc > 0)
    d.apply("variance at β*", lambda _: controlled.subs(beta, C / Vc),
            "β* substituted into step 1", lhs=Var(Y))
    opt = d.rewrite("V_f(1 − ρ²)", Vf * (1 - C**2 / (Vf * Vc)), "ρ² = C²/(V_f V_c)",
                    lhs=Var(Y))
    d.conclude("optimal_variance", opt, [Vf, Vc, C], "", kernel=False, lhs=Var(Y))
    vrf = sp.simplify(opt / Vf)
    d.apply("variance-reduction factor", lambda _: vrf, "divided by V_f: the sample size "
            "shrinks by this factor", lhs=sp.Symbol("1 - rho^2"))
    d.rewrite("1 − ρ²", 1 - C**2 / (Vf * Vc), "", lhs=sp.Symbol("1 - rho^2"))
    d.conclude("vrf", 1 - C**2 / (Vf * Vc), [Vf, Vc, C], "", kernel=False,
               lhs=sp.Symbol("1 - rho^2"))

    # example 1: exact
    z = d.symbol("z", real=True)
    d.assume("examples: z ~ N(0, 1)")
    m2, m4 = _half_line(z**2, z), _half_line(z**4, z)  # E[ReLU²] = 1/2, E[ReLU⁴] = 3/2
    ex = {Vf: m4 - m2**2, Vc: sp.Integer(2), C: m4 - m2 * 1}
    d.apply("f = ReLU(z)², c = z²: V_f, V_c, C", lambda _: sp.Matrix([ex[Vf], ex[Vc], ex[C]]),
            "E[ReLU²] = 1/2, E[ReLU⁴] = E[ReLU(z)²z²] = 3/2 (half-line integrals by "
            "SymPy), Var z² = 2", lhs=sp.Matrix([Vf, Vc, C]))
    d.rewrite("values", sp.Matrix([sp.Rational(5, 4), 2, 1]), "", lhs=sp.Matrix([Vf, Vc, C]))
    d.apply("β* and 1 − ρ²",
            lambda _: sp.Matrix([(C / Vc).subs(ex), (1 - C**2 / (Vf * Vc)).subs(ex)]),
            "", lhs=sp.Matrix([sp.Symbol("beta^*"), sp.Symbol("1 - rho^2")]))
    d.rewrite("1/2 and 3/5", sp.Matrix([sp.Rational(1, 2), sp.Rational(3, 5)]), "",
              lhs=sp.Matrix([sp.Symbol("beta^*"), sp.Symbol("1 - rho^2")]))
    d.values.update(relu2_mean=m2, relu2_var=ex[Vf], relu2_beta=sp.Rational(1, 2),
                    relu2_vrf=sp.Rational(3, 5), z2_mean=sp.Integer(1))

    # example 2: GELU with the control ReLU (moments of GELU from gelu-approx-bias)
    b = get("gelu-approx-bias").values
    x = d.symbol("x", real=True)
    gelu = get("gelu").values["gelu"]
    relu_mean = _half_line(z, z)
    cross = d.gaussian_expectation(
        "E[GELU(z)·ReLU(z)] = ∫_0^∞ x²Φ(x)φ(x)dx", sp.Piecewise((x * gelu, x > 0), (0, True)),
        x, digits=DESIGN_DIGITS, lhs=En(sp.Symbol("GELU(z) ReLU(z)")),
        why="numerical integration, verified by a second run on halved cells")
    ex2 = {Vf: b["var_gelu"], Vc: m2 - relu_mean**2, C: cross - b["mean_gelu"] * relu_mean}
    vrf2 = (1 - C**2 / (Vf * Vc)).subs(ex2)
    d.apply("f = GELU(z), c = ReLU(z): 1 − ρ²", lambda _: vrf2,
             "V_f from gelu-approx-bias, V_c = 1/2 − 1/(2π), C = E[GELU·ReLU] − "
            "E[GELU]E[ReLU]", lhs=sp.Symbol("1 - rho^2"))
    d.prove_true("the control removes over 90% of the variance", vrf2 < sp.Rational(1, 10),
                 f"1 − ρ² = {sp.N(vrf2, 4)}")
    d.values.update(gelu_mean=b["mean_gelu"], gelu_var=b["var_gelu"], relu_mean=relu_mean,
                    gelu_relu_beta=(C / Vc).subs(ex2), gelu_relu_vrf=vrf2)

    def by_regression(V_f, V_c, C):
        """Residual variance of the least-squares fit of f on c, from a 2×2 covariance."""
        import numpy as np
        cov = np.array([[V_f, C], [C, V_c]])
        coef = np.linalg.solve(cov[1:, 1:], cov[1:, :1])[0, 0]
        return cov[0, 0] - coef * cov[1, 0]

    d.crosscheck("V_f(1 − ρ²) = least-squares residual variance (NumPy)", opt, by_regression,
                 at={Vf: (1.0, 3.0), Vc: (1.0, 3.0), C: (-0.9, 0.9)})
    d.crosscheck("β* = argmin over a grid of β (NumPy)", C / Vc,
                 lambda V_f, V_c, C: _grid_argmin(V_f, V_c, C),
                 at={Vf: (1.0, 3.0), Vc: (1.0, 3.0), C: (-0.9, 0.9)}, rtol=1e-6)

    def gelu_vrf_quad(z):
        import math
        gel = lambda t: t * 0.5 * (1 + math.erf(t / math.sqrt(2)))
        rel = lambda t: max(t, 0.0)
        mf, mc = _quad(gel), _quad(rel)
        vf = _quad(lambda t: gel(t)**2) - mf**2
        vc = _quad(lambda t: rel(t)**2) - mc**2
        c = _quad(lambda t: gel(t) * rel(t)) - mf * mc
        return 1 - c * c / (vf * vc) + 0 * z

    d.crosscheck("GELU/ReLU 1 − ρ² by scipy.integrate.quad", vrf2 + 0 * z, gelu_vrf_quad,
                 at={z: (0.0, 1.0)}, points=1, rtol=1e-6)


def _grid_argmin(V_f, V_c, C):
    import numpy as np
    lo, hi = -2.0, 2.0
    for _ in range(6):  # refine a grid minimum of the quadratic
        b = np.linspace(lo, hi, 2001)
        k = int(np.argmin(V_f - 2 * b * C + b * b * V_c))
        step = b[1] - b[0]
        lo, hi = b[k] - step, b[k] + step
    return (lo + hi) / 2
