"""Catalog section 1: softmax and cross-entropy (000 §3.1, 001 Q1).

Convention throughout: ``p = softmax(z)``, ``p_k = e^{z_k} / Σ_j e^{z_j}`` over K ≥ 2 classes;
the loss gradient with respect to the logits z is a column vector (denominator layout).
General-K statements are made for one fixed index i by collecting the classes that are not
written out into a positive remainder R = Σ_{j ∉ {i, k}} e^{z_j}, which does not depend on
the logits being differentiated; vector identities are also proved at explicit widths.
"""
import sympy as sp

from .core import Derivation
from .registry import derivation


from .display import shown


# ---- small builders shared by the derivations (explicit widths K) -----------------------
def _logits(K: int, name: str = "z") -> tuple:
    return sp.symbols(f"{name}_1:{K + 1}", real=True)


def _softmax(z) -> sp.Matrix:
    """softmax(z) as a column of exponentials over their sum (no max-shift: exact algebra)."""
    S = sum(sp.exp(v) for v in z)
    return sp.Matrix([sp.exp(v) / S for v in z])


def _jacobian_p_form(p) -> sp.Matrix:
    """diag(p) − ppᵀ for a column p."""
    p = sp.Matrix(p)
    return sp.diag(*p) - p * p.T


def _np_softmax(z):
    """Float64 softmax (max-shifted), for the cross-check references only."""
    import numpy as np

    e = np.exp(z - np.max(z))
    return e / e.sum()


def _vec(kw: dict, name: str, K: int):
    """The float64 vector (name_1, ..., name_K) from a cross-check's keyword arguments."""
    import numpy as np

    return np.array([kw[f"{name}_{j}"] for j in range(1, K + 1)], dtype=float)


def _np_log(x):
    import numpy as np

    return np.log(x)


_IDX_P = sp.IndexedBase("p")
_I, _K = sp.symbols("i k", integer=True)


@derivation("softmax-jacobian", exports=("softmax_jacobian_vjp",))
def softmax_jacobian(d: Derivation) -> None:
    """p_k = e^{z_k}/Σ_j e^{z_j}  ⇒  ∂p_k/∂z_i = p_k(δ_ki − p_i); as a matrix J = diag(p) − ppᵀ.

    J is symmetric, J·1 = 0 (every row sums to 0, so 1 is a null vector: adding a constant
    to all logits changes nothing), and xᵀJx = Σ_k p_k x_k² − (Σ_k p_k x_k)², the variance
    of x under the distribution p, so J is positive semi-definite. Backward pass (the kernel
    ``softmax_jacobian_vjp(p, g, p_dot_g)``): Jᵀg = Jg = p ⊙ (g − pᵀg), with the reduction
    p_dot_g = Σ_k p_k g_k done by the layer. Source: 000 §3.1 (readout Jacobian), 001 Q1(a).
    """
    zi, zk = d.symbol("z_i", real=True), d.symbol("z_k", real=True)
    R = d.symbol("R", positive=True)
    d.assume("K ≥ 2 classes; R = Σ e^{z_j} over the classes j not written out (R > 0, "
             "independent of z_i and z_k)")
    d.convention("gradients with respect to z are columns; J[k, i] = ∂p_k/∂z_i")
    S2 = sp.exp(zi) + sp.exp(zk) + R
    d.define("p_k for k ≠ i", sp.exp(zk) / S2, "softmax, with its denominator split as "
             "e^{z_i} + e^{z_k} + R", lhs=sp.Symbol("p_k"))
    d.apply("differentiate in z_i", lambda e: sp.diff(e, zi), "by SymPy",
            lhs=sp.Derivative(sp.Symbol("p_k"), zi))
    d.rewrite("off-diagonal entry −p_k p_i", -(sp.exp(zk) / S2) * (sp.exp(zi) / S2),
              "only the denominator depends on z_i")
    S1 = sp.exp(zi) + R
    d.define("p_i", sp.exp(zi) / S1, "the same class: denominator e^{z_i} + R",
             lhs=sp.Symbol("p_i"))
    d.apply("differentiate in z_i", lambda e: sp.diff(e, zi), "by SymPy",
            lhs=sp.Derivative(sp.Symbol("p_i"), zi))
    d.rewrite("diagonal entry p_i(1 − p_i)", (sp.exp(zi) / S1) * (1 - sp.exp(zi) / S1),
              "quotient rule")
    d.note("both cases", "the two entries are p_k(δ_ki − p_i) with δ the Kronecker delta: "
           "−p_k p_i for k ≠ i and p_i(1 − p_i) for k = i; as a matrix diag(p) − ppᵀ")

    def matrix_form(K):
        z = _logits(K)
        p = _softmax(z)
        return p.jacobian(z), _jacobian_p_form(p)

    elementwise = sp.Eq(shown(r"\frac{\partial p_k}{\partial z_i}"),
                        _IDX_P[_K] * (sp.KroneckerDelta(_K, _I) - _IDX_P[_I]))
    d.prove_for_sizes("Jacobian of softmax(z) equals diag(p) − ppᵀ", elementwise, matrix_form,
                      sizes=(2, 3, 4, 5), why="SymPy's Jacobian of the explicit K-vector "
                      "softmax(z) against the claimed matrix, entry by entry")

    def p_symbols(K, **assumptions):
        return sp.Matrix(sp.symbols(f"p_1:{K + 1}", **assumptions))

    def symmetric(K):
        J = _jacobian_p_form(p_symbols(K, positive=True))
        return J, J.T

    d.prove_for_sizes("J is symmetric", sp.Eq(shown("J^T"), sp.Symbol("J")), symmetric,
                      why="(ppᵀ)ᵀ = ppᵀ and diag(p) is diagonal")

    def rows_sum_to_zero(K):
        p = p_symbols(K, positive=True)
        p = p.subs(p[K - 1], 1 - sum(p[:K - 1]))  # the probabilities sum to 1
        return _jacobian_p_form(p) * sp.ones(K, 1), sp.zeros(K, 1)

    d.prove_for_sizes("rows sum to 0: the all-ones vector is a null vector",
                      sp.Eq(shown(r"J \mathbf{1}"), 0), rows_sum_to_zero,
                      why="row k sums to p_k − p_k Σ_i p_i = 0 because Σ_i p_i = 1 "
                      "(imposed by writing p_K = 1 − Σ_{k<K} p_k)")

    def quadratic_form(K):
        p = p_symbols(K, positive=True)
        x = sp.Matrix(sp.symbols(f"x_1:{K + 1}", real=True))
        mean = sum(p[k] * x[k] for k in range(K))
        return (x.T * _jacobian_p_form(p) * x)[0, 0], \
            sum(p[k] * x[k] ** 2 for k in range(K)) - mean ** 2

    d.prove_for_sizes("quadratic form", sp.Eq(shown(r"x^{T} J x"),
                      sp.Sum(_IDX_P[_K] * sp.Indexed("x", _K) ** 2, (_K, 1, sp.Symbol("K")))
                      - sp.Sum(_IDX_P[_K] * sp.Indexed("x", _K), (_K, 1, sp.Symbol("K"))) ** 2),
                      quadratic_form, why="expand xᵀ(diag(p) − ppᵀ)x")

    mu = sp.Symbol("mu", real=True)

    def as_variance(K):
        p = p_symbols(K, positive=True)
        p = p.subs(p[K - 1], 1 - sum(p[:K - 1]))
        x = sp.symbols(f"x_1:{K + 1}", real=True)
        mean = sum(p[k] * x[k] for k in range(K))
        return sum(p[k] * x[k] ** 2 for k in range(K)) - mean ** 2, \
            sum(p[k] * (x[k] - mean) ** 2 for k in range(K))

    d.prove_for_sizes("it is a variance", sp.Eq(shown(r"x^{T} J x"), sp.Sum(
        _IDX_P[_K] * (sp.Indexed("x", _K) - mu) ** 2, (_K, 1, sp.Symbol("K")))), as_variance,
        why="with μ = Σ_k p_k x_k and Σ_k p_k = 1: Σ p x² − μ² = Σ p (x − μ)²")
    pn = sp.symbols("p_1:6", nonnegative=True)
    xs = sp.symbols("x_1:6", real=True)
    d.prove_true("J is positive semi-definite",
                 sp.Ge(sum(pk * (xk - mu) ** 2 for pk, xk in zip(pn, xs)), 0),
                 "a sum of non-negative weights times squares (shown for K = 5; every K is "
                 "the same sum) is ≥ 0, so xᵀJx ≥ 0 for every x")

    def vjp(K):
        p = p_symbols(K, positive=True)
        g = sp.Matrix(sp.symbols(f"g_1:{K + 1}", real=True))
        p_dot_g = (p.T * g)[0, 0]
        return _jacobian_p_form(p).T * g, sp.Matrix([p[k] * (g[k] - p_dot_g)
                                                     for k in range(K)])

    pv = sp.MatrixSymbol("p", sp.Symbol("K"), 1)
    gv = sp.MatrixSymbol("g", sp.Symbol("K"), 1)
    d.prove_for_sizes("vector–Jacobian product", sp.Eq(shown(r"J^{T} g"),
                      sp.HadamardProduct(pv, gv - sp.MatrixSymbol(r"(p^{T} g) \mathbf{1}",
                                                                  sp.Symbol("K"), 1)),
                      evaluate=False),
                      vjp, why="the backward pass needs Jᵀg for an upstream gradient g")
    p, g = d.symbol("p", positive=True), d.symbol("g", real=True)
    p_dot_g = d.symbol("p_dot_g", real=True)
    form = p * (g - p_dot_g)

    def kernel_vs_sympy(K):
        """Jᵀg with SymPy's Jacobian of softmax(z), and the kernel applied to each
        component with p = softmax(z) and the reduction p_dot_g of that K-vector."""
        z = _logits(K)
        pz = _softmax(z)
        gK = sp.Matrix(sp.symbols(f"g_1:{K + 1}", real=True))
        reduction = (pz.T * gK)[0, 0]
        return pz.jacobian(z).T * gK, sp.Matrix(
            [form.subs({p: pz[k], g: gK[k], p_dot_g: reduction}) for k in range(K)])

    d.form_for_sizes("component i of Jᵀg", form, kernel_vs_sympy, sizes=(2, 3, 4, 5),
                     why="Σ_k g_k p_k(δ_ki − p_i) = p_i g_i − p_i Σ_k p_k g_k; p, g stand "
                         "for p_i, g_i and p_dot_g for the layer's reduction Σ_k p_k g_k. "
                         "Applied to every component of softmax(z) it equals Jᵀg with "
                         "SymPy's Jacobian of softmax(z), for K = 2, 3, 4, 5",
                     lhs=shown(r"(J^{T} g)_i"))
    d.conclude("softmax_jacobian_vjp", form, [p, g, p_dot_g],
               "elementwise kernel; broadcasts over a batch once p_dot_g is a row sum")

    z3, g3 = _logits(3), _logits(3, "g")
    p3 = _softmax(z3)
    pg3 = (p3.T * sp.Matrix(g3))[0, 0]
    d.crosscheck_numeric_gradient(
        "Jᵀg (K = 3) against central differences of ⟨g, softmax(z)⟩",
        sp.Matrix([p3[k] * (g3[k] - pg3) for k in range(3)]),
        loss=lambda z, kw: float(_vec(kw, "g", 3) @ _np_softmax(z)),
        point=lambda kw: _vec(kw, "z", 3),
        at={**{v: (-4.0, 4.0) for v in z3}, **{v: (-2.0, 2.0) for v in g3}},
        rtol=1e-6, atol=1e-9)


@derivation("softmax-ce-gradient",
            exports=("softmax_ce_gradient", "gradient_when_labels_sum_to_one"))
def softmax_ce_gradient(d: Derivation) -> None:
    """L = −Σ_k y_k log p_k, p = softmax(z)  ⇒  ∂L/∂z_i = p_i·Σ_k y_k − y_i for any y.

    When the targets sum to one (a one-hot label, or any label distribution such as label
    smoothing) this is exactly p − y, and then every component lies in [−1, 1]. The kernel
    ``softmax_ce_gradient(p, y, y_sum)`` keeps the general form, with y_sum = Σ_k y_k a
    reduction done by the layer. Source: 001 Q1(a)–(b) (one-hot case), 000 §3.1.
    """
    z = d.symbol("z", real=True)
    R = d.symbol("R", positive=True)
    y, y_rest, c = d.symbol("y", real=True), d.symbol("y_rest", real=True), d.symbol(
        "c", real=True)
    p, y_sum = d.symbol("p", positive=True), d.symbol("y_sum", real=True)
    d.assume("z, y stand for the logit z_i and target y_i of one fixed class i; R = Σ_{k≠i} "
             "e^{z_k} > 0; y_rest = Σ_{k≠i} y_k; c = Σ_{k≠i} y_k z_k; none depends on z_i")
    d.assume("the targets y_k are any real numbers unless a step says they sum to 1")
    S = sp.exp(z) + R
    d.define("the loss as a function of z_i", -y * sp.log(sp.exp(z) / S) - c
             + y_rest * sp.log(S), "for k ≠ i, −y_k log p_k = −y_k z_k + y_k log S",
             lhs=sp.Symbol("L"))
    d.apply("differentiate in z_i", lambda e: sp.diff(e, z), "by SymPy",
            lhs=shown(r"\frac{\partial L}{\partial z_i}"))
    d.rewrite("collect", sp.exp(z) / S * (y + y_rest) - y,
              "the log S terms give (y_i + Σ_{k≠i} y_k)e^{z_i}/S, the log e^{z_i} term gives −y_i")
    d.rewrite("in terms of p_i", p * (y + y_rest) - y, "p_i = e^{z_i}/S",
              at={R: sp.exp(z) * (1 - p) / p})
    d.rewrite("name the label sum", p * y_sum - y, "y_sum = Σ_k y_k = y_i + y_rest",
              at={y_rest: y_sum - y})
    d.conclude("softmax_ce_gradient", p * y_sum - y, [p, y, y_sum],
               "elementwise kernel; y_sum is a row sum done by the layer")

    def gradient_vector(K):
        zs, ys = _logits(K), _logits(K, "y")
        pK = _softmax(zs)
        L = -sum(yk * sp.log(pk) for yk, pk in zip(ys, pK))
        return sp.Matrix([sp.diff(L, v) for v in zs]), pK * sum(ys) - sp.Matrix(ys)

    d.prove_for_sizes("the whole gradient from the definition", sp.Eq(
        shown(r"\nabla_z L"), shown(r"p \sum_k y_k - y")), gradient_vector,
        sizes=(2, 3, 4), why="SymPy differentiates L(z) for explicit K against the claim")
    d.prove("labels that sum to one", (p * y_sum - y).subs(y_sum, 1), p - y,
            "one-hot or any label distribution: y_sum = 1 gives p − y exactly")
    d.values["gradient_when_labels_sum_to_one"] = p - y
    eps = sp.Symbol("epsilon", positive=True)

    def smoothed_sum(K):
        return (1 - eps + eps / K) + (K - 1) * (eps / K), sp.Integer(1)

    d.prove_for_sizes("label smoothing keeps y_sum = 1", sp.Eq(sp.Symbol("y_sum"), 1),
                      smoothed_sum, why="targets (1 − ε)·one-hot + ε/K sum to 1, so the "
                      "gradient is p − y for smoothed labels too")
    s, t = sp.symbols("s t", nonnegative=True)
    d.prove_true("lower bound −1", sp.Ge((p - y).subs({y: 1 - t}), -1),
                 "y = 1 − t with t ≥ 0 (a target is at most 1) and p > 0: p − y ≥ −1")
    d.prove_true("upper bound 1", sp.Le((p - y).subs({p: 1 - s, y: t}), 1),
                 "p = 1 − s with s ≥ 0 (a probability is at most 1) and y = t ≥ 0: p − y ≤ 1")

    z3, y3 = _logits(3), _logits(3, "y")
    p3 = _softmax(z3)
    d.crosscheck_numeric_gradient(
        "p·Σy − y (K = 3, unnormalised targets) against central differences of L",
        p3 * sum(y3) - sp.Matrix(y3),
        loss=lambda zz, kw: float(-_vec(kw, "y", 3) @ _np_log(_np_softmax(zz))),
        point=lambda kw: _vec(kw, "z", 3),
        at={**{v: (-4.0, 4.0) for v in z3}, **{v: (0.0, 2.0) for v in y3}},
        rtol=1e-6, atol=1e-8)


@derivation("softmax-mse-gradient",
            exports=("softmax_mse_gradient", "mse_gradient_saturated", "ce_gradient_saturated"))
def softmax_mse_gradient(d: Derivation) -> None:
    """L = ½‖p − y‖², p = softmax(z)  ⇒  ∇_z L = Jᵀ(p − y) = p ⊙ (e − pᵀe), e = p − y.

    The Jacobian diag(p) − ppᵀ is 0 at a one-hot p, so when the softmax saturates the
    gradient goes to 0 even if the prediction is completely wrong; with cross-entropy the
    gradient p − y stays at magnitude 1 there. Shown for K = 2, logits (s, 0), target class
    2, s → ∞. Source: 001 Q1(c) (the contrast is stated there in words).
    """
    p, y = d.symbol("p", positive=True), d.symbol("y", real=True)
    p_dot_e = d.symbol("p_dot_e", real=True)
    d.convention("p, y stand for p_i, y_i; p_dot_e = Σ_k p_k(p_k − y_k) is a reduction")

    def gradient_vector(K):
        zs, ys = _logits(K), sp.Matrix(_logits(K, "y"))
        pK = _softmax(zs)
        e = pK - ys
        L = (e.T * e)[0, 0] / 2
        pe = (pK.T * e)[0, 0]
        return sp.Matrix([sp.diff(L, v) for v in zs]), sp.Matrix(
            [pK[k] * (e[k] - pe) for k in range(K)])

    d.prove_for_sizes("gradient from the definition", sp.Eq(
        shown(r"\nabla_z \tfrac12 \|p - y\|^2"), shown(r"J^{T}(p - y)")),
        gradient_vector, sizes=(2, 3, 4),
        why="SymPy differentiates ½‖softmax(z) − y‖² for explicit K; the upstream "
        "gradient p − y passes through the softmax Jacobian (softmax-jacobian)")
    form = p * (p - y - p_dot_e)

    def kernel_vs_sympy(K):
        """SymPy's gradient of ½‖softmax(z) − y‖², and the form applied to each component
        with p = softmax(z) and the reduction p_dot_e of that K-vector."""
        zs, ys = _logits(K), sp.Matrix(_logits(K, "y"))
        pK = _softmax(zs)
        e = pK - ys
        L = (e.T * e)[0, 0] / 2
        reduction = (pK.T * e)[0, 0]
        return sp.Matrix([sp.diff(L, v) for v in zs]), sp.Matrix(
            [form.subs({p: pK[k], y: ys[k], p_dot_e: reduction}) for k in range(K)])

    d.form_for_sizes("component i", form, kernel_vs_sympy, sizes=(2, 3, 4),
                     why="softmax-jacobian's VJP p ⊙ (g − pᵀg) with upstream g = p − y; "
                         "applied to every component it equals SymPy's gradient of "
                         "½‖softmax(z) − y‖² for K = 2, 3, 4",
                     lhs=shown(r"\frac{\partial L}{\partial z_i}"))
    d.conclude("softmax_mse_gradient", form, [p, y, p_dot_e],
               "every component carries a factor p_i and the Jacobian", kernel=False)

    pv = sp.symbols("p_1:4", nonnegative=True)
    d.prove("the Jacobian vanishes at a one-hot p",
            _jacobian_p_form(pv).subs({pv[0]: 1, pv[1]: 0, pv[2]: 0}), sp.zeros(3, 3),
            "diag(p) − ppᵀ = diag(e_1) − e_1e_1ᵀ = 0 (K = 3; any K alike)")

    s = d.symbol("s", real=True)
    p1, p2 = sp.exp(s) / (sp.exp(s) + 1), 1 / (sp.exp(s) + 1)
    d.assume("saturation example: K = 2, logits (s, 0), target y = (0, 1); as s → ∞ the "
             "model puts probability → 1 on the wrong class")
    d.define("squared error", (p1 ** 2 + (p2 - 1) ** 2) / 2, "½‖p − y‖² with y = (0, 1)",
             lhs=shown("L_{MSE}"))
    d.apply("differentiate in s", lambda e: sp.diff(e, s), "by SymPy",
            lhs=shown(r"\frac{\partial L_{MSE}}{\partial s}"))
    d.rewrite("factor", 2 * p1 ** 2 * (1 - p1), "p_2 − 1 = −p_1 and ∂p_1/∂s = p_1(1 − p_1): "
              "the Jacobian factor p_1(1 − p_1) appears")
    d.apply("saturate", lambda e: sp.limit(e, s, sp.oo), "limit s → ∞ by SymPy",
            lhs=sp.Limit(shown(r"\frac{\partial L_{MSE}}{\partial s}"), s, sp.oo))
    d.conclude("mse_gradient_saturated", sp.Integer(0), [], "the squared-error gradient "
               "vanishes while the prediction is maximally wrong", kernel=False)
    d.prove("while the error stays finite", sp.limit((p1 ** 2 + (p2 - 1) ** 2) / 2, s, sp.oo),
            sp.Integer(1), "½‖p − y‖² → ½(1 + 1) = 1 (limit by SymPy), its largest value")
    d.define("cross-entropy", -sp.log(p2), "−Σ y_k log p_k with y = (0, 1)",
             lhs=shown("L_{CE}"))
    d.apply("differentiate in s", lambda e: sp.diff(e, s), "by SymPy",
            lhs=shown(r"\frac{\partial L_{CE}}{\partial s}"))
    d.rewrite("p_1 − y_1", p1, "softmax-ce-gradient with Σy = 1")
    d.apply("saturate", lambda e: sp.limit(e, s, sp.oo), "limit s → ∞ by SymPy",
            lhs=sp.Limit(shown(r"\frac{\partial L_{CE}}{\partial s}"), s, sp.oo))
    d.conclude("ce_gradient_saturated", sp.Integer(1), [], "cross-entropy keeps a gradient "
               "of magnitude 1: no Jacobian factor survives the cancellation", kernel=False)

    z3, y3 = _logits(3), _logits(3, "y")
    p3 = _softmax(z3)
    e3 = p3 - sp.Matrix(y3)
    pe3 = (p3.T * e3)[0, 0]
    d.crosscheck_numeric_gradient(
        "p ⊙ (e − pᵀe) (K = 3) against central differences of ½‖p − y‖²",
        sp.Matrix([p3[k] * (e3[k] - pe3) for k in range(3)]),
        loss=lambda zz, kw: 0.5 * float(((_np_softmax(zz) - _vec(kw, "y", 3)) ** 2).sum()),
        point=lambda kw: _vec(kw, "z", 3),
        at={**{v: (-4.0, 4.0) for v in z3}, **{v: (0.0, 1.0) for v in y3}},
        rtol=1e-6, atol=1e-9)


@derivation("sigmoid-bce-gradient", exports=("sigmoid_bce_gradient",))
def sigmoid_bce_gradient(d: Derivation) -> None:
    """L(z, y) = −y log σ(z) − (1 − y) log(1 − σ(z))  ⇒  ∂L/∂z = σ(z) − y, for any y ∈ [0, 1]."""
    z = d.symbol("z", real=True)
    y = d.symbol("y", real=True)
    d.assume("y is a probability in [0, 1] (a hard or soft binary label)")
    sigma = 1 / (1 + sp.exp(-z))
    loss = -(y * sp.log(sigma) + (1 - y) * sp.log(1 - sigma))
    L = sp.Function("L")(z)
    d.define("binary cross-entropy of σ(z)", loss, "σ(z) = 1/(1 + e^{−z})", lhs=L)
    d.apply("differentiate in z", lambda e: sp.diff(e, z), "chain rule, by SymPy",
            lhs=sp.Derivative(L, z))
    d.rewrite("collect", -y * (1 - sigma) + (1 - y) * sigma,
              "σ' = σ(1 − σ), so (log σ)' = 1 − σ and (log(1 − σ))' = −σ")
    d.rewrite("expand", sigma - y, "the ±yσ terms cancel")
    d.conclude("sigmoid_bce_gradient", sigma - y, [z, y], "the kernel form")
    d.crosscheck_gradient("∂L/∂z against a central difference of L", loss, z, sigma - y,
                          at={z: (-6.0, 6.0), y: (0.0, 1.0)})


@derivation("stable-softmax", exports=("log_softmax", "softmax_shifted"))
def stable_softmax(d: Derivation) -> None:
    """softmax(z + c) = softmax(z) for every constant c, and
    log Σ_k e^{z_k} = m + log Σ_k e^{z_k − m} for every m. With m = max_k z_k every shifted
    exponential lies in (0, 1] and their sum in [1, K], so nothing overflows:

        log_softmax(z, z_max, log_sum_exp_shifted) = z − z_max − log_sum_exp_shifted,
        softmax_shifted(z, z_max, sum_exp_shifted)  = e^{z − z_max} / sum_exp_shifted,

    where sum_exp_shifted = Σ_k e^{z_k − z_max} and its log are reductions done by the layer.
    Source: the softmax readout of 000 §3.1 and 001 Q1; the shift is standard numerics.
    """
    z = d.symbol("z", real=True)
    R = d.symbol("R", positive=True)
    m = d.symbol("z_max", real=True)
    s = d.symbol("sum_exp_shifted", positive=True)
    lse = d.symbol("log_sum_exp_shifted", real=True)
    d.assume("z stands for the logit z_i of one class; R = Σ_{k≠i} e^{z_k} > 0")
    d.convention("z_max = max_k z_k in the layer; the identities hold for any real shift")

    def shift_invariance(K):
        zs, c = _logits(K), sp.Symbol("c", real=True)
        return _softmax([v + c for v in zs]), _softmax(zs)

    d.prove_for_sizes("shift invariance", sp.Eq(sp.Symbol("softmax(z + c)"),
                      sp.Symbol("softmax(z)")), shift_invariance,
                      why="e^{c} multiplies numerator and denominator alike")

    def shifted_sum(K):
        zs = _logits(K)
        return sum(sp.exp(v) for v in zs), sp.exp(m) * sum(sp.exp(v - m) for v in zs)

    d.prove_for_sizes("factor out the shift", sp.Eq(shown(r"\sum_k e^{z_k}"), shown(
        r"e^{z_{max}} \sum_k e^{z_k - z_{max}}")), shifted_sum,
        why="so log Σ_k e^{z_k} = z_max + log Σ_k e^{z_k − z_max} (log of a product of "
        "positive numbers)")
    d.define("log-probability", sp.log(sp.exp(z) / (sp.exp(z) + R)), "log of softmax",
             lhs=shown(r"\log p_i"))
    d.rewrite("log of a quotient", z - sp.log(sp.exp(z) + R), "log e^{z} = z; the "
              "denominator would overflow for large z")
    d.rewrite("shift by z_max", z - m - sp.log(s), "name sum_exp_shifted = Σ_k e^{z_k − z_max},"
              " so e^{z_i} + R = e^{z_max}·sum_exp_shifted", at={R: sp.exp(m) * s - sp.exp(z)})
    d.rewrite("name its log", z - m - lse, "log_sum_exp_shifted = log sum_exp_shifted "
              "∈ [0, log K]", at={s: sp.exp(lse)})
    d.conclude("log_softmax", z - m - lse, [z, m, lse],
               "elementwise; every term is finite when the logits are")
    d.define("probability", sp.exp(z) / (sp.exp(z) + R), "softmax", lhs=sp.Symbol("p_i"))
    d.rewrite("shift by z_max", sp.exp(z - m) / s, "numerator and denominator times "
              "e^{−z_max}; e^{z − z_max} ∈ (0, 1]", at={R: sp.exp(m) * s - sp.exp(z)})
    d.conclude("softmax_shifted", sp.exp(z - m) / s, [z, m, s],
               "elementwise; the denominator is at least 1")

    z3 = _logits(3)
    zmax = sp.Max(*z3)
    sum_shift = sum(sp.exp(v - zmax) for v in z3)
    from scipy import special  # reference implementations, float64

    def ref(fn):
        return lambda **kw: fn(_vec(kw, "z", 3)).reshape(-1, 1)

    d.crosscheck("log_softmax at logits of magnitude up to 1e4 against scipy.special",
                 sp.Matrix([v - zmax - sp.log(sum_shift) for v in z3]),
                 ref(special.log_softmax), at={v: (-1e4, 1e4) for v in z3},
                 rtol=1e-12, atol=1e-9)
    d.crosscheck("softmax_shifted at logits of magnitude up to 1e4 against scipy.special",
                 sp.Matrix([sp.exp(v - zmax) / sum_shift for v in z3]),
                 ref(special.softmax), at={v: (-1e4, 1e4) for v in z3},
                 rtol=1e-12, atol=1e-300)
