"""Catalog section 11: pre-processing — standardisation and whitening (002 §9.3).

Conventions: a data matrix has one example per row; means and (co)variances are population
statistics over the m examples (divide by m). Whitening is written for a 2×2 covariance,
either through its spectral decomposition Σ = UΛUᵀ (every symmetric positive-definite 2×2
matrix has one, with U a rotation) or directly in its entries a, b, c.
"""
import sympy as sp

from .core import Derivation
from .registry import derivation
from .display import shown


def _rotation(u: sp.Symbol) -> sp.Matrix:
    """The rotation by θ = 2·atan(u), written rationally: cos θ = (1 − u²)/(1 + u²),
    sin θ = 2u/(1 + u²). It covers every rotation except θ = π (which is −I, and −I gives
    the same Σ as I)."""
    c, s = (1 - u ** 2) / (1 + u ** 2), 2 * u / (1 + u ** 2)
    return sp.Matrix([[c, -s], [s, c]])


def _numpy_zca(**kw):
    """Float64 ZCA matrix Σ^{−1/2} from numpy's symmetric eigendecomposition."""
    import numpy as np

    S = np.array([[kw["a"], kw["b"]], [kw["b"], kw["c"]]], dtype=float)
    lam, U = np.linalg.eigh(S)
    return U @ np.diag(lam ** -0.5) @ U.T


def _numpy_standardize(**kw):
    import numpy as np

    x = np.array([kw[f"x_{j}"] for j in (1, 2, 3, 4)], dtype=float)
    return ((x - x.mean()) / x.std()).reshape(-1, 1)


@derivation("standardize-whiten", exports=("zca_matrix", "sqrt_covariance",
                                             "standardised_moments", "whitened_covariance"))
def standardize_whiten(d: Derivation) -> None:
    """Standardise each feature: x̂ = (x − μ)/s with μ = mean, s² = mean of (x − μ)²; then
    x̂ has mean 0 and variance 1 exactly. Whitening with covariance Σ = UΛUᵀ:
    PCA W = Λ^{−1/2}Uᵀ and ZCA W = UΛ^{−1/2}Uᵀ = Σ^{−1/2} both give WΣWᵀ = I; the ZCA
    matrix is symmetric (it is the whitening that rotates back to the original axes). For
    Σ = [[a, b], [b, c]]: Σ^{1/2} = (Σ + sI)/t and Σ^{−1/2} = (adj Σ + sI)/(st), where
    s = √(ac − b²) and t = √(a + c + 2s). Source: 002 §9.3.1 (centring, rescaling), §9.3.3
    (decorrelation, whitening, ZCA).
    """
    d.convention("population statistics: divide by the number of examples m")

    def standardised(m):
        x = sp.symbols(f"x_1:{m + 1}", real=True)
        mu = sum(x) / m
        s = sp.sqrt(sum((v - mu) ** 2 for v in x) / m)
        z = [(v - mu) / s for v in x]
        return sp.Matrix([sum(z) / m, sum(v ** 2 for v in z) / m]), sp.Matrix([0, 1])

    d.prove_for_sizes("standardised data: mean 0, variance 1", sp.Eq(
        shown(r"\left(\frac1m \sum_i \hat{x}_i,\ \frac1m \sum_i \hat{x}_i^2\right)",
              "(mean x̂, mean x̂²)"), shown(r"(0,\ 1)", "(0, 1)")), standardised,
        why="x̂_i = (x_i − μ)/s; Σ(x_i − μ) = 0 and Σ(x_i − μ)² = m s² (features not all "
        "equal, so s > 0)", sizes=(2, 3, 4))

    u = d.symbol("u", real=True)
    l1, l2 = d.symbol("ell_1", positive=True), d.symbol("ell_2", positive=True)
    d.assume("Σ = UΛUᵀ with U the rotation by θ = 2 atan u and Λ = diag(ℓ_1², ℓ_2²), "
             "ℓ_1, ℓ_2 > 0 (the spectral theorem: every 2×2 covariance of full rank)")
    U = _rotation(u)
    half = sp.diag(l1, l2)  # Λ^{1/2}
    inv_half = sp.diag(1 / l1, 1 / l2)  # Λ^{−1/2}
    Sigma = U * half ** 2 * U.T
    d.prove("U is orthogonal", U.T * U, sp.eye(2), "cos² + sin² = 1 in rational form")
    pca = inv_half * U.T
    zca = U * inv_half * U.T
    S_im, P_im, Z_im = (sp.ImmutableMatrix(M) for M in (Sigma, pca, zca))
    d.define("covariance after PCA whitening", sp.MatMul(
        sp.ImmutableMatrix(inv_half), sp.ImmutableMatrix(U.T), S_im, sp.ImmutableMatrix(U),
        sp.ImmutableMatrix(inv_half), evaluate=False),
        "W = Λ^{−1/2}Uᵀ; Cov(Wx) = WΣWᵀ", lhs=shown(r"W_{PCA} \Sigma W_{PCA}^{T}",
                                                    "W_PCA Σ W_PCAᵀ"))
    d.apply("multiply out", lambda e: e.doit().applyfunc(sp.cancel), "by SymPy")
    d.rewrite("identity", sp.eye(2), "decorrelated and unit variance")
    d.define("covariance after ZCA whitening", sp.MatMul(Z_im, S_im, Z_im.T, evaluate=False),
             "W = UΛ^{−1/2}Uᵀ: PCA whitening followed by the rotation U back to the original "
             "axes", lhs=shown(r"W_{ZCA} \Sigma W_{ZCA}^{T}", "W_ZCA Σ W_ZCAᵀ"))
    d.apply("multiply out", lambda e: e.doit().applyfunc(sp.cancel), "by SymPy")
    d.rewrite("identity", sp.eye(2), "so ZCA whitens too")
    d.prove("ZCA is PCA rotated back", Z_im, U * P_im, "W_ZCA = U·W_PCA")
    d.prove("the ZCA matrix is symmetric", Z_im, Z_im.T, "(UΛ^{−1/2}Uᵀ)ᵀ = UΛ^{−1/2}Uᵀ")
    d.prove("its square inverts Σ", (Z_im * Z_im * S_im).applyfunc(sp.cancel), sp.eye(2),
            "W_ZCA² = UΛ^{−1}Uᵀ = Σ^{−1}: W_ZCA = Σ^{−1/2}, the symmetric positive-definite "
            "inverse square root")

    a, c = d.symbol("a", positive=True), d.symbol("c", positive=True)
    b = d.symbol("b", real=True)
    d.assume("Σ = [[a, b], [b, c]] positive definite: a, c > 0 and ac − b² > 0")
    S = sp.Matrix([[a, b], [b, c]])
    s = sp.sqrt(a * c - b ** 2)
    t = sp.sqrt(a + c + 2 * s)
    R = (S + s * sp.eye(2)) / t
    d.define("a symmetric square root", R, "s = √det Σ, t = √(tr Σ + 2s)",
             lhs=shown(r"\Sigma^{1/2}", "Σ^½"))
    d.apply("square it", lambda e: (e * e).applyfunc(sp.expand), "by SymPy")
    d.rewrite("it is Σ", S, "Cayley–Hamilton: Σ² = (tr Σ)Σ − (det Σ)I")
    W_formula = (sp.Matrix([[c, -b], [-b, a]]) + s * sp.eye(2)) / (s * t)
    d.define("the square root again", R, lhs=shown(r"\Sigma^{1/2}", "Σ^½"))
    d.apply("invert it", lambda e: e.adjugate() / e.det(), "a 2×2 inverse is adj/det",
            lhs=shown(r"W_{ZCA} = \Sigma^{-1/2}", "W_ZCA = Σ^−½"))
    d.rewrite("(adj Σ + sI)/(st)", W_formula, "det(Σ + sI) = st² and the adjugate of "
              "Σ + sI is adj Σ + sI", lhs=shown(r"W_{ZCA}", "W_ZCA"))
    d.prove("it inverts Σ^{1/2}", (W_formula * R).applyfunc(sp.expand), sp.eye(2),
            "so W_ZCA = (Σ^{1/2})^{−1} = Σ^{−1/2}")
    whitened = (W_formula * S * W_formula.T).applyfunc(sp.expand)
    d.prove("it whitens", whitened, sp.eye(2), "W_ZCA Σ W_ZCAᵀ = I in the entries a, b, c")
    d.prove("it is symmetric", W_formula, W_formula.T, "the adjugate of a symmetric "
            "matrix is symmetric")
    d.conclude("zca_matrix", W_formula, [a, b, c], "ZCA whitening matrix of a 2×2 "
               "covariance", kernel=False)
    d.values["zca_matrix"] = W_formula
    d.values["sqrt_covariance"] = R
    d.values["whitened_covariance"] = whitened  # proved = I above
    d.values["standardised_moments"] = sp.Matrix([0, 1])  # (mean, mean square), proved above
    d.crosscheck("closed-form ZCA matrix against numpy's eigendecomposition",
                 W_formula, _numpy_zca, at={a: (0.5, 3.0), c: (0.5, 3.0), b: (-0.4, 0.4)},
                 rtol=1e-10, atol=1e-12)
    xs = sp.symbols("x_1:5", real=True)
    mu = sum(xs) / 4
    sd = sp.sqrt(sum((v - mu) ** 2 for v in xs) / 4)
    d.crosscheck("standardisation (m = 4) against numpy's mean and std",
                 sp.Matrix([(v - mu) / sd for v in xs]), _numpy_standardize,
                 at={v: (-5.0, 5.0) for v in xs}, rtol=1e-10, atol=1e-12)
