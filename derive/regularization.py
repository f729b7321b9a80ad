"""Catalog section 9: regularisation (003 §5, 002 §9.5.3)."""
from __future__ import annotations

import sympy as sp

from .core import Derivation
from .registry import derivation


# ---------------------------------------------------------------------------------------
@derivation("l2-gradient", exports=("sgd_l2_step", "l2_gradient"))
def l2_gradient(d: Derivation) -> None:
    """∇_θ λ‖θ‖² = 2λθ, so one SGD step on ℓ(θ) + λ‖θ‖² is θ ← (1 − 2ηλ)θ − η∇ℓ(θ).

    Convention: the penalty is λ‖θ‖² as 003 §5 writes it (no ½). With the other common
    convention (λ/2)‖θ‖² the gradient is λθ and the decay factor 1 − ηλ.
    """
    # "lamda" is SymPy's spelling that prints as λ and is a valid Python keyword argument
    lam, eta = d.symbols("lamda eta", positive=True)
    n = 4
    theta = sp.Matrix(sp.symbols(f"theta_1:{n + 1}", real=True))
    grad_loss = sp.Matrix(sp.symbols(f"G_1:{n + 1}", real=True))
    d.assume(f"θ ∈ ℝ^{n} written out coordinate by coordinate (sizes 2..5 checked "
             "separately); G = ∇ℓ(θ) is the gradient of the data loss")
    d.convention("penalty λ‖θ‖² (003 §5); with (λ/2)‖θ‖² replace 2λ by λ throughout")

    penalty = lam * sum(x**2 for x in theta)
    d.define("the L2 penalty (003 §5)", penalty, lhs=sp.Symbol("R"))
    d.apply("gradient", lambda e: sp.Matrix([sp.diff(e, x) for x in theta]),
            lhs=sp.Symbol("grad_R"))
    d.rewrite("a multiple of θ", 2 * lam * theta)

    def family(m):
        th = sp.symbols(f"theta_1:{m + 1}", real=True)
        pen = lam * sum(x**2 for x in th)
        return sp.Matrix([sp.diff(pen, x) for x in th]), 2 * lam * sp.Matrix(th)

    d.prove_for_sizes("∇ λ‖θ‖² = 2λθ for θ of dimension 2..5",
                      sp.Eq(sp.Symbol("grad_R"), 2 * lam * sp.Symbol("theta")),
                      family, sizes=(2, 3, 4, 5))
    d.define("one SGD step on ℓ + λ‖θ‖²", theta - eta * (grad_loss + 2 * lam * theta),
             lhs=sp.Symbol("theta_new"))
    d.rewrite("weight decay form", (1 - 2 * eta * lam) * theta - eta * grad_loss,
              why="shrink θ by the factor 1 − 2ηλ, then take the plain gradient step")
    th, G = d.symbols("theta G", real=True)
    rest = d.symbol("S", nonnegative=True)
    d.define("the penalty seen from one coordinate", lam * (th**2 + rest),
             "θ stands for θ_i and S = Σ_{j≠i} θ_j², which does not depend on θ_i",
             lhs=sp.Symbol("R"))
    d.apply("differentiate in θ_i", lambda e: sp.diff(e, th), "by SymPy",
            lhs=sp.Symbol("dR_dtheta_i"))
    d.conclude("l2_gradient", 2 * lam * th, [th, lam], kernel=False,
               why="the penalty's gradient, coordinate by coordinate")
    d.apply("one SGD step on ℓ + λ‖θ‖², coordinate i", lambda e: th - eta * (G + e),
            "θ_i ← θ_i − η(G_i + ∂R/∂θ_i) with the gradient just computed",
            lhs=sp.Symbol("theta_new_i"))
    d.rewrite("weight decay form", (1 - 2 * eta * lam) * th - eta * G,
              why="shrink θ_i by the factor 1 − 2ηλ, then take the plain gradient step")
    d.conclude("sgd_l2_step", (1 - 2 * eta * lam) * th - eta * G, [th, G, eta, lam],
               kernel=False, why="for 0 < 2ηλ < 1 every step first shrinks θ toward 0")

    d.crosscheck_gradient("∂R/∂θ_1 = 2λθ_1 against a central difference", penalty,
                          theta[0], 2 * lam * theta[0],
                          at={lam: (0.01, 2.0), **{x: (-3.0, 3.0) for x in theta}})

    def sgd_objective(s, kw):
        """s(θ − ηG) − ηR(θ + s): its derivative at s = 0 is the SGD step θ − η(G + R'(θ))
        with the penalty gradient taken numerically (by the test suite)."""
        theta_, eta_ = kw["theta"], kw["eta"]
        return s * (theta_ - eta_ * kw["G"]) - eta_ * kw["lamda"] * (theta_ + s) ** 2

    d.crosscheck_numeric_gradient(
        "the weight-decay step against SGD with a finite-difference penalty gradient",
        (1 - 2 * eta * lam) * th - eta * G, loss=sgd_objective, point=lambda kw: 0.0,
        at={th: (-3.0, 3.0), G: (-3.0, 3.0), eta: (0.001, 0.5), lam: (0.01, 2.0)})


# ---------------------------------------------------------------------------------------
# The example: X = U S Vᵀ with singular values 3√2 and 2; y has a component outside
# the column space of X, so the unregularised fit does not interpolate.
_X = sp.Matrix([[3, 1], [1, 3], [1, 1]])
_Y = sp.Matrix([1, 2, 4])


@derivation("ridge-limits", exports=("ridge_solution", "theta_star", "norm2", "train_loss",
                                       "X", "y"))
def ridge_limits(d: Derivation) -> None:
    """Least squares with penalty λ‖θ‖²: θ_λ = (XᵀX + λI)⁻¹Xᵀy (normal equations).

    θ_λ → 0 as λ → ∞ and θ_λ → θ* = (XᵀX)⁻¹Xᵀy as λ → 0⁺ (003 §5 (a), (b)). In the SVD
    basis X = Σ s_i u_i v_iᵀ, with c_i = u_iᵀy: ‖θ_λ‖² = Σ s_i²c_i²/(s_i² + λ)², strictly
    decreasing in λ (003 §5 (c)i), and the training loss ‖Xθ_λ − y‖² strictly increases
    (003 §5 (c)ii). Derived on an explicit 3×2 example and, for the monotonicity, for
    symbolic singular values and coefficients.
    """
    lam = d.symbol("lambda", positive=True)
    t1, t2 = d.symbols("theta_1 theta_2", real=True)
    theta = sp.Matrix([t1, t2])
    N, Ltr = sp.Function("N")(lam), sp.Function("L")(lam)  # ‖θ_λ‖² and the training loss
    X, y, I2 = _X, _Y, sp.eye(2)
    d.assume(f"the example X = {X.tolist()}, y = {list(y)} (rank 2, y outside the column "
             "space); λ > 0")
    d.convention("objective ‖Xθ − y‖² + λ‖θ‖² (squared error standing in for 003's "
                 "cross-entropy, so that θ_λ has a closed form)")

    r = X * theta - y
    d.define("ridge objective", (r.T * r)[0] + lam * (theta.T * theta)[0],
             lhs=sp.Symbol("L_lambda"))
    d.apply("gradient", lambda e: sp.Matrix([sp.diff(e, t1), sp.diff(e, t2)]),
            lhs=sp.Symbol("grad_L"))
    d.rewrite("normal equations: 2(XᵀX + λI)θ − 2Xᵀy", 2 * (X.T * X + lam * I2) * theta
              - 2 * X.T * y, why="set to 0 for the minimiser (the objective is convex)")
    sol = sp.solve(list(d.current), [t1, t2], dict=True)[0]
    d.apply("solve for θ", sp.Matrix([sol[t1], sol[t2]]), lhs=sp.Symbol("theta_lambda"))
    theta_lam = (X.T * X + lam * I2).inv() * X.T * y
    d.rewrite("= (XᵀX + λI)⁻¹Xᵀy", theta_lam)
    d.conclude("ridge_solution", theta_lam, [lam], kernel=False,
               why="exact, for every λ > 0")
    d.apply("λ → ∞", lambda e: e.applyfunc(lambda x: sp.limit(x, lam, sp.oo)),
            lhs=sp.Limit(sp.Symbol("theta_lambda"), lam, sp.oo),
            why="003 §5 (a): a huge penalty forces θ = 0")
    d.define("θ_λ again", theta_lam, lhs=sp.Symbol("theta_lambda"))
    d.apply("λ → 0⁺", lambda e: e.applyfunc(lambda x: sp.limit(x, lam, 0, "+")),
            lhs=sp.Limit(sp.Symbol("theta_lambda"), lam, 0, "+"))
    theta_star = (X.T * X).inv() * X.T * y
    d.rewrite("= θ*, the unregularised least-squares solution (003 §5 (b))", theta_star)

    # SVD of the example: XᵀX = [[11, 7], [7, 11]] has eigenvalues 18 and 4.
    v1, v2 = sp.Matrix([1, 1]) / sp.sqrt(2), sp.Matrix([1, -1]) / sp.sqrt(2)
    s1, s2 = sp.sqrt(18), sp.Integer(2)
    d.prove("right singular vectors: XᵀX v_i = s_i² v_i", (X.T * X) * v1.row_join(v2),
            (s1**2 * v1).row_join(s2**2 * v2))
    u1, u2 = X * v1 / s1, X * v2 / s2
    c1, c2 = (u1.T * y)[0], (u2.T * y)[0]
    norm2 = (theta_lam.T * theta_lam)[0]
    d.define("squared norm of θ_λ", norm2, lhs=N)
    d.rewrite("in the SVD basis: Σ s_i²c_i²/(s_i² + λ)², c_i = u_iᵀy",
              s1**2 * c1**2 / (s1**2 + lam)**2 + s2**2 * c2**2 / (s2**2 + lam)**2,
              why=f"θ_λ = Σ s_i c_i/(s_i² + λ)·v_i; here c_1 = {c1}, c_2 = {c2}")
    d.apply("differentiate in λ", lambda e: sp.diff(e, lam),
            lhs=sp.Derivative(N, lam))
    dnorm = -2 * (s1**2 * c1**2 / (s1**2 + lam)**3 + s2**2 * c2**2 / (s2**2 + lam)**3)
    d.rewrite("−2Σ s_i²c_i²/(s_i² + λ)³", dnorm)
    d.prove_true("the norm strictly decreases for λ > 0 (003 §5 (c)i)", dnorm < 0,
                 shown=sp.StrictLessThan(sp.Derivative(N, lam), 0, evaluate=False))

    # the general statement, with symbolic singular values and coefficients
    ss = sp.symbols("s_1:4", positive=True)
    cs = sp.symbols("c_1:4", real=True, nonzero=True)
    general = sum(s**2 * c**2 / (s**2 + lam)**2 for s, c in zip(ss, cs))
    d.define("any X of rank 3 (symbolic s_i > 0, c_i ≠ 0)", general,
             lhs=N)
    d.apply("differentiate in λ", lambda e: sp.diff(e, lam))
    d.prove_true("every term is negative, so the norm strictly decreases", d.current < 0,
                 shown=sp.StrictLessThan(d.current, 0, evaluate=False))

    loss = ((X * theta_lam - y).T * (X * theta_lam - y))[0]
    resid = (y.T * y)[0] - c1**2 - c2**2
    d.define("training loss ‖Xθ_λ − y‖²", loss, lhs=Ltr)
    d.rewrite("in the SVD basis", c1**2 * lam**2 / (s1**2 + lam)**2
              + c2**2 * lam**2 / (s2**2 + lam)**2 + resid,
              why=f"residual of each direction is λc_i/(s_i² + λ); {resid} is the part "
                  "of ‖y‖² outside the column space")
    d.apply("differentiate in λ", lambda e: sp.diff(e, lam),
            lhs=sp.Derivative(Ltr, lam))
    dloss = 2 * lam * (c1**2 * s1**2 / (s1**2 + lam)**3 + c2**2 * s2**2 / (s2**2 + lam)**3)
    d.rewrite("2λΣ c_i²s_i²/(s_i² + λ)³", dloss)
    d.prove_true("the training loss strictly increases for λ > 0 (003 §5 (c)ii)", dloss > 0,
                 shown=sp.StrictGreaterThan(sp.Derivative(Ltr, lam), 0, evaluate=False))
    d.values["theta_star"] = theta_star
    d.values["X"], d.values["y"] = X, y  # the example's data (for experiments)
    d.values["norm2"] = norm2
    d.values["train_loss"] = loss

    def numpy_ridge(**kw):
        import numpy as np
        Xn, yn = np.array(X.tolist(), dtype=float), np.array(list(y), dtype=float)
        sol = np.linalg.solve(Xn.T @ Xn + kw["lambda"] * np.eye(2), Xn.T @ yn)
        return sol.reshape(2, 1)

    def numpy_norm2(**kw):
        return float((numpy_ridge(**kw) ** 2).sum())

    def numpy_loss(**kw):
        import numpy as np
        Xn, yn = np.array(X.tolist(), dtype=float), np.array(list(y), dtype=float)
        return float(((Xn @ numpy_ridge(**kw).ravel() - yn) ** 2).sum())

    at = {lam: (1e-3, 100.0)}
    d.crosscheck("θ_λ against numpy.linalg.solve", theta_lam, numpy_ridge, at=at)
    d.crosscheck("‖θ_λ‖² against numpy.linalg.solve", norm2, numpy_norm2, at=at)
    d.crosscheck("training loss against numpy.linalg.solve", loss, numpy_loss, at=at)


# ---------------------------------------------------------------------------------------
@derivation("mixup", exports=("mixup_mean", "mixup_variance"))
def mixup(d: Derivation) -> None:
    """λ ~ Beta(a, a), density λ^(a−1)(1 − λ)^(a−1)/B(a, a) on (0, 1), a > 0.

    E λ = 1/2 for every a; Var λ = 1/(4(2a + 1)) → 1/4 as a → 0 (mass piling at 0 and 1);
    for a < 1 the density decreases on (0, ½), increases on (½, 1) and is unbounded at both
    ends (U-shaped). 002 §9.5.3 writes a = b = 0: then the normalising integral diverges,
    so there is no such distribution (erratum).
    """
    a = d.symbol("a", positive=True)
    lam = d.symbol("lambda", positive=True)
    r, q, delta = d.symbols("r q delta", positive=True)
    f = sp.Function("f")(lam)  # the Beta(a, a) density
    d.assume("λ ~ Beta(a, a) with a > 0; x' = λx_i + (1 − λ)x_j, y' = λy_i + (1 − λ)y_j "
             "(002 eqs. 9.51–9.52)")
    d.convention("B(p, q) = ∫_0^1 λ^(p−1)(1 − λ)^(q−1) dλ = Γ(p)Γ(q)/Γ(p + q) for p, q > 0")

    def B(p, r):
        return sp.gamma(p) * sp.gamma(r) / sp.gamma(p + r)

    d.define("mean", B(a + 1, a) / B(a, a), lhs=sp.Integral(lam * f, (lam, 0, 1)),
             why="∫ λ·λ^(a−1)(1 − λ)^(a−1) dλ = B(a + 1, a)")
    d.rewrite("Γ(a + 1) = aΓ(a), Γ(2a + 1) = 2aΓ(2a)", sp.Rational(1, 2),
              why="the mean is 1/2 for every a > 0 (λ and 1 − λ have the same law)")
    d.conclude("mixup_mean", sp.Rational(1, 2), [a], kernel=False,
               why="E λ for λ ~ Beta(a, a), any a > 0")
    d.define("second moment", B(a + 2, a) / B(a, a), lhs=sp.Integral(lam**2 * f, (lam, 0, 1)))
    d.rewrite("same Γ recursions", (a + 1) / (2 * (2 * a + 1)))
    d.apply("variance: E[λ²] − (E λ)²", lambda e: e - sp.Rational(1, 2)**2,
            "with the mean 1/2 above", lhs=sp.Symbol("Var"))
    d.rewrite("simplify", 1 / (4 * (2 * a + 1)))
    d.conclude("mixup_variance", 1 / (4 * (2 * a + 1)), [a], kernel=False,
               why="Var λ for λ ~ Beta(a, a)")
    d.apply("a → 0⁺", sp.Limit(1 / (4 * (2 * a + 1)), a, 0, "+"),
            lhs=sp.Limit(sp.Symbol("Var"), a, 0, "+"),
            why="the largest variance a [0, 1] variable with mean ½ can have: "
                "all mass at 0 and 1 (no blending at all)")

    logf = (sp.log(sp.gamma(2 * a)) - 2 * sp.log(sp.gamma(a)) + (a - 1) * sp.log(lam)
            + (a - 1) * sp.log(1 - lam))
    d.define("log-density on (0, 1)", logf, lhs=sp.log(f))
    d.apply("differentiate in λ", lambda e: sp.diff(e, lam),
            lhs=sp.Derivative(sp.log(f), lam),
            why="f > 0, so f′ has the sign of (log f)′")
    dlog = (a - 1) * (1 - 2 * lam) / (lam * (1 - lam))
    d.rewrite("common denominator", dlog)
    left = sp.factor(sp.cancel(dlog.subs({a: 1 - r, lam: 1 / (2 + q)})))
    right = sp.factor(sp.cancel(dlog.subs({a: 1 - r, lam: 1 - 1 / (2 + q)})))
    d.prove_true("a < 1 (a = 1 − r, r > 0), λ ∈ (0, ½) (λ = 1/(2 + q), q > 0): f decreases",
                 left < 0, shown=sp.StrictLessThan(left, 0, evaluate=False))
    d.prove_true("a < 1, λ ∈ (½, 1) (λ = 1 − 1/(2 + q)): f increases", right > 0,
                 shown=sp.StrictGreaterThan(right, 0, evaluate=False))
    d.define("the λ-dependent factor of the density, a = 1 − r",
             lam**(-r) * (1 - lam)**(-r), lhs=f * sp.gamma(a)**2 / sp.gamma(2 * a))
    d.apply("λ → 0⁺", lambda e: sp.limit(e, lam, 0, "+"),
            lhs=sp.Limit(lam**(-r) * (1 - lam)**(-r), lam, 0, "+"),
            why="unbounded at 0 (and at 1 by the symmetry λ → 1 − λ): U-shaped")

    d.note("a = b = 0 (002 §9.5.3)",
           "the density would be proportional to 1/(λ(1 − λ)); its normalising integral "
           "over (δ, 1 − δ) is computed next and diverges as δ → 0")
    F = sp.log(lam) - sp.log(1 - lam)
    d.prove("an antiderivative: d/dλ[log λ − log(1 − λ)] = 1/(λ(1 − λ))",
            sp.diff(F, lam), 1 / (lam * (1 - lam)))
    d.define("∫_δ^(1−δ) dλ/(λ(1 − λ))", F.subs(lam, 1 - delta) - F.subs(lam, delta),
             lhs=sp.Integral(1 / (lam * (1 - lam)), (lam, delta, 1 - delta)),
             why="fundamental theorem of calculus, 0 < δ < ½")
    d.rewrite("collect", 2 * sp.log(1 - delta) - 2 * sp.log(delta))
    d.apply("δ → 0⁺", lambda e: sp.limit(e, delta, 0, "+"),
            lhs=sp.Limit(sp.Integral(1 / (lam * (1 - lam)), (lam, delta, 1 - delta)),
                         delta, 0, "+"),
            why="the integral diverges: Beta(0, 0) cannot be normalised")

    d.erratum(
        "mixup-beta-zero", source="002 §9.5.3 (MixUp)",
        stated="(slide caption) that the blend weight is drawn from Beta(a, b) with a = b = 0",
        correct="Beta(a, b) requires a, b > 0: at a = b = 0 the normalising integral "
                "∫_0^1 dλ/(λ(1 − λ)) is infinite, so no distribution exists; a small positive "
                "a = b (the text's a = b ≈ 0, e.g. 0.2) gives the intended U shape with "
                "weights near 0 and 1",
        stated_expr=sp.oo, correct_expr=B(a, a), witness={a: sp.Rational(1, 5)})

    def beta_mean(a):
        from scipy import stats
        return stats.beta(a, a).mean()

    def beta_var(a):
        from scipy import stats
        return stats.beta(a, a).var()

    def beta_logpdf(x, kw):
        from scipy import stats
        return stats.beta.logpdf(x, kw["a"], kw["a"])

    d.crosscheck("E λ = 1/2 against scipy.stats.beta", sp.Rational(1, 2), beta_mean,
                 at={a: (0.05, 5.0)})
    d.crosscheck("Var λ against scipy.stats.beta", 1 / (4 * (2 * a + 1)), beta_var,
                 at={a: (0.05, 5.0)})
    d.crosscheck_numeric_gradient(
        "(log f)′ against a central difference of scipy.stats.beta.logpdf", dlog,
        loss=beta_logpdf, point=lambda kw: kw["lambda"], at={a: (0.1, 3.0), lam: (0.05, 0.95)},
        rtol=1e-5, atol=1e-6)
