"""Catalog section 12: attention and the Transformer block (Vaswani et al. 2017 §3.2.1;
Xiong et al. 2020; Radford et al. 2019 §2.3; Yang et al. 2022; Szegedy et al. 2016 §7).

Convention throughout: one attention head maps queries Q ∈ ℝ^{n×d}, keys K ∈ ℝ^{n×d} and
values V ∈ ℝ^{n×d_v} (one row per token) to O = PV with P = softmax over each row of
S = QKᵀ/√d. Gradients are written dX = ∂ℓ/∂X (same shape as X) for a scalar loss ℓ that
depends on O only through the upstream gradient dO. Matrix identities are proved exactly at
explicit sizes (sequence length n = 1, 2, 3 with d = d_v = 2), not for every size.
"""
from __future__ import annotations

import sympy as sp

from .core import Derivation
from .display import shown
from .registry import derivation

# ---- small builders (explicit sizes) ------------------------------------------------------
HEAD_DIM = 2  # d = d_v in the fixed-size proofs
SEQ_SIZES = (1, 2, 3)  # sequence lengths n at which the matrix identities are proved
CHAIN_DIM = 1  # d = d_v in the end-to-end checks (the separate steps use HEAD_DIM)


def _mat(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i + 1}{j + 1}", real=True))


def _row_softmax(S: sp.Matrix, causal: bool = False) -> sp.Matrix:
    """softmax over each row of S; with ``causal`` row i keeps the keys j ≤ i only (the
    masked probabilities are exactly 0: the layer's −∞ scores, exp(−∞) = 0)."""
    n, m = S.shape
    P = sp.zeros(n, m)
    for i in range(n):
        keep = [j for j in range(m) if not causal or j <= i]
        total = sum(sp.exp(S[i, j]) for j in keep)
        for j in keep:
            P[i, j] = sp.exp(S[i, j]) / total
    return P


def _grad(loss: sp.Expr, X: sp.Matrix) -> sp.Matrix:
    """∂loss/∂X entry by entry (SymPy's derivative), the shape of X."""
    return X.applyfunc(lambda x: sp.diff(loss, x))


def _inner(A: sp.Matrix, B: sp.Matrix) -> sp.Expr:
    """⟨A, B⟩ = Σ_ij A_ij B_ij: the loss whose gradient in B is the upstream gradient A."""
    return sum(A[k] * B[k] for k in range(len(A)))


def _softmax_backward(P: sp.Matrix, dP: sp.Matrix) -> sp.Matrix:
    """P ⊙ (dP − rowsum(dP ⊙ P)) written out entry by entry."""
    n, m = P.shape
    out = sp.zeros(n, m)
    for i in range(n):
        r = sum(dP[i, j] * P[i, j] for j in range(m))
        for j in range(m):
            out[i, j] = P[i, j] * (dP[i, j] - r)
    return out


def _head(n: int, d: int = HEAD_DIM):
    return _mat("Q", n, d), _mat("K", n, d), _mat("V", n, d), _mat("G", n, d)


def _forward(Q, K, V, causal=False):
    S = Q * K.T / sp.sqrt(Q.shape[1])
    P = _row_softmax(S, causal)
    return S, P, P * V


def _np_attention_loss(x, kw, n, d, causal=False):
    """Float64 ⟨G, softmax(QKᵀ/√d)V⟩ with (Q, K, V) unpacked from x: the cross-check's
    independent reference (max-shifted softmax, NumPy)."""
    import numpy as np

    Q, K, V = (x[k * n * d:(k + 1) * n * d].reshape(n, d) for k in range(3))
    G = np.array([[kw[f"G_{i + 1}{j + 1}"] for j in range(d)] for i in range(n)])
    S = Q @ K.T / np.sqrt(d)
    if causal:
        S = np.where(np.tril(np.ones((n, n), bool)), S, -np.inf)
    E = np.exp(S - S.max(axis=1, keepdims=True))
    P = E / E.sum(axis=1, keepdims=True)
    return float(np.sum(G * (P @ V)))


@derivation("attention-backward", exports=("attention_scores_backward",))
def attention_backward(d: Derivation) -> None:
    """Backward pass of scaled dot-product attention O = softmax(QKᵀ/√d)V:

        dV = Pᵀ dO,  dP = dO Vᵀ,  dS = P ⊙ (dP − rowsum(dP ⊙ P)),
        dQ = dS K/√d,  dK = dSᵀ Q/√d.

    The kernel ``attention_scores_backward(p, g, p_dot_g) = p·(g − p_dot_g)`` gives dS entry
    by entry from P, g = dP and the row reduction p_dot_g = Σ_j dP_ij P_ij; the layer does
    the matrix products. Under a causal mask (query i sees keys j ≤ i) the masked
    probabilities are 0, so the same kernel gives them gradient 0, as the masked loss does.
    Source: Vaswani et al. 2017 §3.2.1, eq. 1 (the forward pass; the backward is ours).
    """
    n, dh = sp.Symbol("n", integer=True, positive=True), sp.Symbol("d", integer=True,
                                                                      positive=True)
    d.assume("one attention head: Q, K ∈ ℝ^{n×d}, V ∈ ℝ^{n×d_v}; ℓ is any scalar loss "
             "of O, reached through the upstream gradient dO = ∂ℓ/∂O")
    d.assume("identities are proved exactly at n = 1, 2, 3 tokens with d = d_v = 2, the "
             "composed chain at n = 2, 3 with d = d_v = 1 (in "
             "each, SymPy differentiates ℓ = ⟨dO, O⟩ with dO held fixed, which by the "
             "chain rule gives the gradient for any loss)")
    d.convention("S = QKᵀ/√d; P = softmax of each row of S (row i: query i's "
                 "distribution over the keys j); O = PV; dX = ∂ℓ/∂X has the shape of X")
    d.convention("causal mask: query i attends to keys j ≤ i only; the layer sets the "
                 "masked scores to −∞, so their probabilities are exactly 0 and, having no "
                 "effect on ℓ, their gradient is 0")
    dO, Vm, Pm = (sp.MatrixSymbol(name, n, n if name == "P" else dh)
                  for name in ("dO", "V", "P"))

    def dV_family(m):
        Q, K, V, G = _head(m)
        _, P, O = _forward(Q, K, V)
        return _grad(_inner(G, O), V), P.T * G

    d.prove_for_sizes("values: dV = Pᵀ dO", sp.Eq(shown(r"\mathrm{d}V"), Pm.T * dO),
                      dV_family, sizes=SEQ_SIZES,
                      why="O = PV is linear in V; SymPy's derivative of ⟨dO, PV⟩ in each "
                      "entry of V against the claim")

    def dP_family(m):
        P, V, G = _mat("P", m, m), _mat("V", m, HEAD_DIM), _mat("G", m, HEAD_DIM)
        return _grad(_inner(G, P * V), P), G * V.T

    d.prove_for_sizes("probabilities: dP = dO Vᵀ", sp.Eq(shown(r"\mathrm{d}P"),
                      dO * Vm.T), dP_family, sizes=SEQ_SIZES,
                      why="O = PV is linear in P: ∂O_ik/∂P_ij = V_jk")

    def dS_family(m):
        S, dP = _mat("S", m, m), _mat("g", m, m)
        P = _row_softmax(S)
        return _grad(_inner(dP, P), S), _softmax_backward(P, dP)

    d.prove_for_sizes("scores: dS = P ⊙ (dP − rowsum(dP ⊙ P))", sp.Eq(
        shown(r"\mathrm{d}S_{ij}"), shown(r"P_{ij}\left(\mathrm{d}P_{ij} - \sum_k "
                                          r"\mathrm{d}P_{ik} P_{ik}\right)")),
        dS_family, sizes=SEQ_SIZES,
        why="each row of P is a softmax of the same row of S, so row i of dS is the "
        "softmax Jacobian's product J_iᵀ dP_i = p_i ⊙ (dP_i − p_iᵀdP_i) (softmax-jacobian); "
        "rows do not mix")

    def dQdK_family(m):
        Q, K = _mat("Q", m, HEAD_DIM), _mat("K", m, HEAD_DIM)
        dS = _mat("g", m, m)
        S = Q * K.T / sp.sqrt(HEAD_DIM)
        loss = _inner(dS, S)
        c = 1 / sp.sqrt(HEAD_DIM)
        return (_grad(loss, Q).row_join(_grad(loss, K)),
                (dS * K * c).row_join(dS.T * Q * c))

    d.prove_for_sizes("queries and keys: dQ = dS K/√d, dK = dSᵀ Q/√d", sp.Eq(
        shown(r"(\mathrm{d}Q, \mathrm{d}K)"),
        shown(r"(\mathrm{d}S\, K/\sqrt{d},\ \mathrm{d}S^{T} Q/\sqrt{d})")),
        dQdK_family, sizes=SEQ_SIZES,
        why="S_ij = Σ_k Q_ik K_jk/√d is bilinear: ∂S_ij/∂Q_ik = K_jk/√d and "
        "∂S_ij/∂K_jk = Q_ik/√d")

    def chain_family(m, causal=False):
        Q, K, V, G = _head(m, CHAIN_DIM)
        _, P, O = _forward(Q, K, V, causal)
        loss = _inner(G, O)
        dS = _softmax_backward(P, G * V.T)
        c = 1 / sp.sqrt(CHAIN_DIM)
        got = _grad(loss, Q).row_join(_grad(loss, K)).row_join(_grad(loss, V))
        return got, (dS * K * c).row_join(dS.T * Q * c).row_join(P.T * G)

    d.prove_for_sizes("the whole chain", sp.Eq(
        shown(r"\nabla_{(Q, K, V)}\, \ell", "(dQ, dK, dV)"),
        shown(r"(\mathrm{d}S\, K/\sqrt{d},\ \mathrm{d}S^{T} Q/\sqrt{d},\ "
              r"P^{T}\mathrm{d}O)")),
        chain_family, sizes=(2, 3),
        why="at d = d_v = 1 (the steps above have d = 2): the four steps composed, with dS "
        "built from dP = dO Vᵀ, against SymPy's derivative of the whole forward pass")
    d.prove_for_sizes("causal mask", sp.Eq(
        shown(r"\nabla_{(Q, K, V)}\, \ell_{causal}", "(dQ, dK, dV) with the mask"),
        shown(r"\text{the same formulas with } P_{ij} = 0 \text{ for } j > i")),
        lambda m: chain_family(m, causal=True), sizes=(2, 3),
        why="at d = d_v = 1, SymPy differentiates the masked forward pass (row i a softmax "
        "over j ≤ i only); the unmasked formulas with the zero probabilities agree, so "
        "masked entries of dS are P_ij·(…) = 0")

    p, g = d.symbol("p", nonnegative=True), d.symbol("g", real=True)
    p_dot_g = d.symbol("p_dot_g", real=True)
    form = p * (g - p_dot_g)

    def kernel_vs_sympy(m):
        """SymPy's gradient of ⟨dP, softmax_rows(S)⟩ in S, and the kernel applied to every
        entry with that row's reduction Σ_k dP_ik P_ik (causal rows included)."""
        S, dP = _mat("S", m, m), _mat("g", m, m)
        P = _row_softmax(S, causal=True)
        want = _grad(_inner(dP, P), S)
        red = [sum(dP[i, k] * P[i, k] for k in range(m)) for i in range(m)]
        got = sp.Matrix(m, m, lambda i, j: form.subs({p: P[i, j], g: dP[i, j],
                                                       p_dot_g: red[i]}))
        return want, got

    d.form_for_sizes("entry (i, j) of dS", form, kernel_vs_sympy, sizes=SEQ_SIZES,
                     why="p = P_ij, g = dP_ij and p_dot_g = Σ_k dP_ik P_ik (the layer's row "
                     "reduction); applied to every entry of a causally masked n × n score "
                     "matrix it equals SymPy's gradient, masked entries (p = 0) included",
                     lhs=shown(r"\mathrm{d}S_{ij}"))
    d.conclude("attention_scores_backward", form, [p, g, p_dot_g],
               "elementwise kernel; the layer supplies the row sums p_dot_g and does the "
               "products dS K/√d, dSᵀQ/√d, PᵀdO")

    m, dd = 2, HEAD_DIM
    Q, K, V, G = _head(m)
    _, P, _ = _forward(Q, K, V)
    dS = _softmax_backward(P, G * V.T)
    c = 1 / sp.sqrt(dd)
    grad = sp.Matrix(list(dS * K * c) + list(dS.T * Q * c) + list(P.T * G))
    def point(kw):
        import numpy as np
        return np.array([kw[str(s)] for M in (Q, K, V) for s in M])

    box = {s: (-1.5, 1.5) for M in (Q, K, V, G) for s in M}
    d.crosscheck_numeric_gradient(
        "(dQ, dK, dV) at n = 2, d = 2 against central differences of ⟨dO, O⟩ (NumPy)",
        grad, loss=lambda x, kw: _np_attention_loss(x, kw, m, dd), point=point, at=box,
        rtol=1e-6, atol=1e-9)
    Pc = _forward(Q, K, V, causal=True)[1]
    dSc = _softmax_backward(Pc, G * V.T)
    grad_c = sp.Matrix(list(dSc * K * c) + list(dSc.T * Q * c) + list(Pc.T * G))
    d.crosscheck_numeric_gradient(
        "causal (dQ, dK, dV) at n = 2, d = 2 against central differences (NumPy, −∞ mask)",
        grad_c, loss=lambda x, kw: _np_attention_loss(x, kw, m, dd, causal=True),
        point=point, at=box, rtol=1e-6, atol=1e-9)


# ---- attention-score-variance --------------------------------------------------------------
def _expect(poly: sp.Expr, variables: tuple, moments: dict) -> sp.Expr:
    """E[poly] for independent variables with E[x^k] = moments[k] (a polynomial's
    expectation is the sum over its monomials of coefficient × Π_x E[x^{k_x}])."""
    p = sp.Poly(sp.expand(poly), *variables)
    total = sp.Integer(0)
    for powers, coeff in p.terms():
        term = coeff
        for k in powers:
            term *= moments[k]
        total += term
    return total


def _enumerate_moment(d: int, support, probs, aligned: bool, power: int):
    """E[(q·k)^power] (or E[(q·q)^power] when ``aligned``) by enumerating every vector of a
    finite distribution (float64; the cross-check's independent reference)."""
    import itertools

    import numpy as np

    support, probs = np.asarray(support, float), np.asarray(probs, float)
    total = 0.0
    for idx in itertools.product(range(len(support)), repeat=d if aligned else 2 * d):
        x = support[list(idx)]
        w = float(np.prod(probs[list(idx)]))
        s = float(x @ x) if aligned else float(x[:d] @ x[d:])
        total += w * s ** power
    return total


@derivation("attention-score-variance",
            exports=("score_mean", "score_variance", "scaled_variance", "aligned_mean",
                     "aligned_variance", "aligned_mean_muP"))
def attention_score_variance(d: Derivation) -> None:
    """q, k ∈ ℝ^d with independent entries of mean 0 and variance 1:
    E[q·k] = 0 and Var[q·k] = d, so the scaled score q·k/√d has variance 1 at every width
    (Vaswani et al. 2017 §3.2.1, footnote 4). For aligned vectors (q = k, the correlated
    regime that μP plans for after training) q·q has mean d and variance d(μ₄ − 1), μ₄ the
    fourth moment of an entry: q·q/√d grows like √d, while q·q/d has mean 1 and variance
    (μ₄ − 1)/d → 0, so 1/d is the width-stable scale (Yang et al. 2022, attention 1/d).
    """
    dim = d.symbol("d", integer=True, positive=True)
    mu4 = d.symbol("mu_4", positive=True)
    d.assume("the 2d entries q_1..q_d, k_1..k_d are independent with E = 0, E[x²] = 1 and "
             "fourth moment μ₄ (3 for Gaussian entries); identities in the width are "
             "proved exactly at d = 1, 2, 3, 4 by expanding the polynomial and taking "
             "expectations monomial by monomial")
    d.convention("score s = q·k = Σ_i q_i k_i; the layer's score is s/√d; the aligned "
                 "case takes k = q")
    moments = {0: 1, 1: 0, 2: 1, 3: sp.Symbol("mu_3", real=True), 4: mu4}
    qs = sp.IndexedBase("q")
    ks = sp.IndexedBase("k")
    i = sp.Symbol("i", integer=True)

    def vecs(m):
        q = sp.symbols(f"q_1:{m + 1}", real=True)
        k = sp.symbols(f"k_1:{m + 1}", real=True)
        return q, k

    def mean_family(m):
        q, k = vecs(m)
        return _expect(sum(a * b for a, b in zip(q, k)), q + k, moments), sp.Integer(0)

    score = sp.Sum(qs[i] * ks[i], (i, 1, dim))
    d.prove_for_sizes("mean of the score", sp.Eq(shown(r"E[q \cdot k]"), 0), mean_family,
                      sizes=(1, 2, 3, 4),
                      why="each term E[q_i k_i] = E[q_i]E[k_i] = 0 by independence")

    def var_family(m):
        q, k = vecs(m)
        s = sum(a * b for a, b in zip(q, k))
        return _expect(s ** 2, q + k, moments) - _expect(s, q + k, moments) ** 2, \
            sp.Integer(m)

    d.prove_for_sizes("variance of the score", sp.Eq(shown(r"\mathrm{Var}[q \cdot k]"), dim),
                      var_family, sizes=(1, 2, 3, 4),
                      why="(Σ_i q_i k_i)² has cross terms q_i k_i q_j k_j (i ≠ j) of mean 0 "
                      "and d squares q_i² k_i² of mean E[q_i²]E[k_i²] = 1")
    d.values["score_mean"] = sp.Integer(0)
    d.values["score_variance"] = dim
    c = d.symbol("c", positive=True)
    d.define("a scaled score", c ** 2 * dim, "Var[c·s] = c²·Var[s] for a constant c",
             lhs=shown(r"\mathrm{Var}[c\, q \cdot k]"))
    d.rewrite("with c = 1/√d", sp.Integer(1), "the 1/√d of scaled dot-product attention "
              "cancels the growth: unit variance at every width", at={c: 1 / sp.sqrt(dim)})
    d.conclude("scaled_variance", sp.Integer(1), [], "unit variance at every width",
               kernel=False, lhs=shown(r"\mathrm{Var}[q \cdot k/\sqrt{d}]"))
    d.note("why it matters", "without the scale the scores have standard deviation √d, "
           "so at d = 1024 a row of scores spans tens of units and the softmax saturates "
           "(catalog attention-saturation)")
    del score

    def aligned_mean_family(m):
        q, _ = vecs(m)
        return _expect(sum(a * a for a in q), q, moments), sp.Integer(m)

    d.prove_for_sizes("aligned vectors: mean", sp.Eq(shown(r"E[q \cdot q]"), dim),
                      aligned_mean_family, sizes=(1, 2, 3, 4),
                      why="E[q_i²] = 1 for each of the d terms: the mean grows like d, "
                      "not like √d")

    def aligned_var_family(m):
        q, _ = vecs(m)
        s = sum(a * a for a in q)
        return _expect(s ** 2, q, moments) - _expect(s, q, moments) ** 2, m * (mu4 - 1)

    d.prove_for_sizes("aligned vectors: variance", sp.Eq(
        shown(r"\mathrm{Var}[q \cdot q]"), dim * (mu4 - 1)), aligned_var_family,
        sizes=(1, 2, 3, 4), why="the d squares q_i² are independent with variance μ₄ − 1")
    d.values["aligned_mean"] = dim
    d.values["aligned_variance"] = dim * (mu4 - 1)
    d.define("aligned score with the 1/d (μP) scale", dim / dim,
             "E[q·q/d] = d/d", lhs=shown(r"E[q \cdot q / d]"))
    d.conclude("aligned_mean_muP", sp.Integer(1), [], lhs=shown(r"E[q \cdot q / d]"),
               why="width-independent; its variance "
               "d(μ₄ − 1)/d² = (μ₄ − 1)/d vanishes as d grows, whereas E[q·q/√d] = √d "
               "diverges", kernel=False)
    d.prove("and with 1/√d it grows", dim / sp.sqrt(dim), sp.sqrt(dim),
            "E[q·q/√d] = d/√d = √d")

    rademacher = ((-1.0, 1.0), (0.5, 0.5))  # mean 0, variance 1, μ₄ = 1
    three_point = ((-3 ** 0.5, 0.0, 3 ** 0.5), (1 / 6, 2 / 3, 1 / 6))  # μ₄ = 3
    for m in (2, 3):
        d.crosscheck(f"Var[q·k] = d at d = {m}: exact enumeration of three-point entries "
                     "(±√3 w.p. 1/6 each, 0 w.p. 2/3; NumPy)", dim,
                     lambda m=m, **kw: _enumerate_moment(m, *three_point, False, 2),
                     at={dim: m}, rtol=1e-12, atol=1e-12)
    d.crosscheck("Var[q·q] = d(μ₄ − 1) at d = 3, three-point entries (μ₄ = 3)",
                 dim * (mu4 - 1),
                 lambda **kw: _enumerate_moment(3, *three_point, True, 2)
                 - _enumerate_moment(3, *three_point, True, 1) ** 2,
                 at={dim: 3, mu4: 3}, rtol=1e-12, atol=1e-12)
    d.crosscheck("Var[q·q] = 0 at d = 4 for Rademacher entries (μ₄ = 1)", dim * (mu4 - 1),
                 lambda **kw: _enumerate_moment(4, *rademacher, True, 2)
                 - _enumerate_moment(4, *rademacher, True, 1) ** 2,
                 at={dim: 4, mu4: 1}, rtol=1e-12, atol=1e-12)


# ---- label-smoothing ----------------------------------------------------------------------
def _np_smoothed_ce(z, c: int, eps: float):
    """Float64 cross-entropy of logits z against (1 − ε)·onehot(c) + ε/K (SciPy)."""
    import numpy as np
    from scipy import special

    K = z.size
    y = np.full(K, eps / K)
    y[c] += 1 - eps
    return float(-(y * special.log_softmax(z)).sum())


def _np_best_gap(K: int, eps: float) -> float:
    """The minimising gap of the smoothed loss over logits (Δ, 0, …, 0), by
    scipy.optimize.minimize_scalar (Brent): the cross-check's independent reference."""
    import numpy as np
    from scipy import optimize

    def loss(gap):
        z = np.zeros(K)
        z[0] = gap
        return _np_smoothed_ce(z, 0, eps)
    return float(optimize.minimize_scalar(loss, bracket=(0.0, 5.0), tol=1e-12).x)


@derivation("label-smoothing",
            exports=("label_smoothing_target", "label_smoothing_gradient",
                     "optimal_logit_gap"))
def label_smoothing(d: Derivation) -> None:
    """Label smoothing (Szegedy et al. 2016 §7): targets y = (1 − ε)·onehot + ε/K over K
    classes. They sum to 1, so the cross-entropy gradient in the logits is p − y
    (softmax-ce-gradient); the kernel is
    ``label_smoothing_gradient(p, y, eps, K) = p − (1 − ε)y − ε/K`` with y the one-hot
    entry. With the wrong-class logits equal (the minimiser is symmetric in them) the loss
    is minimised at the finite logit gap Δ* = log(1 + K(1 − ε)/ε) (K = 10, ε = 0.1:
    log 91 = 4.5108595065); with one-hot targets (ε = 0) the gradient p_c − 1 < 0 never
    vanishes and the gap grows without bound.
    """
    gap = d.symbol("Delta", real=True)
    K = d.symbol("K", positive=True)
    eps = d.symbol("varepsilon", positive=True)
    d.assume("K ≥ 2 classes, 0 < ε < 1; the true class is c")
    d.assume("for the optimal gap: the K − 1 wrong-class logits are equal (the loss is "
             "symmetric in them and convex, so its minimiser is symmetric) and the logits "
             "are (Δ, 0, …, 0) up to a common shift, which softmax ignores")
    d.convention("ε is the smoothing weight spread uniformly: y_c = 1 − ε + ε/K and "
                 "y_k = ε/K for k ≠ c (Szegedy et al. 2016 §7 with u(k) = 1/K)")

    def target_sum(m):
        return (1 - eps + eps / m) + (m - 1) * eps / m, sp.Integer(1)

    d.prove_for_sizes("the targets sum to 1", sp.Eq(shown(r"\sum_k y_k"), 1), target_sum,
                      sizes=(2, 3, 4, 10),
                      why="(1 − ε + ε/K) + (K − 1)·ε/K = 1")

    def gradient_family(m):
        zs = sp.symbols(f"z_1:{m + 1}", real=True)
        S = sum(sp.exp(v) for v in zs)
        p = [sp.exp(v) / S for v in zs]
        y = [1 - eps + eps / m] + [eps / m] * (m - 1)
        L = -sum(yk * sp.log(pk) for yk, pk in zip(y, p))
        return (sp.Matrix([sp.diff(L, v) for v in zs]),
                sp.Matrix([pk - yk for pk, yk in zip(p, y)]))

    d.prove_for_sizes("the gradient is p − y", sp.Eq(shown(r"\nabla_z L"),
                      shown("p - y")), gradient_family, sizes=(2, 3, 4),
                      why="SymPy differentiates the smoothed cross-entropy of softmax(z) "
                      "(class 1 true); softmax-ce-gradient with Σ_k y_k = 1")
    p, y = d.symbol("p", positive=True), d.symbol("y", nonnegative=True)
    d.define("the smoothed target", (1 - eps) * y + eps / K,
             "y is the one-hot entry (1 for the true class, 0 otherwise)",
             lhs=shown(r"y^{LS}"))
    d.conclude("label_smoothing_target", (1 - eps) * y + eps / K, [y, eps, K],
               "elementwise kernel")
    d.define("its gradient entry", p - ((1 - eps) * y + eps / K),
             "p − y^{LS} from the step above", lhs=shown(r"\partial L/\partial z_k"))
    d.rewrite("expand", p - (1 - eps) * y - eps / K, "")
    d.conclude("label_smoothing_gradient", p - (1 - eps) * y - eps / K, [p, y, eps, K],
               "elementwise kernel (divide by the batch size for a mean loss)")

    yc = 1 - eps + eps / K
    pc = sp.exp(gap) / (sp.exp(gap) + K - 1)
    d.define("the loss at logits (Δ, 0, …, 0)",
             -yc * sp.log(pc) - (K - 1) * (eps / K) * sp.log(1 / (sp.exp(gap) + K - 1)),
             "p_c = e^Δ/(e^Δ + K − 1) and each wrong class has p_k = 1/(e^Δ + K − 1)",
             lhs=shown(r"L(\Delta)"))
    d.apply("differentiate in Δ", lambda e: sp.diff(e, gap), "by SymPy",
            lhs=shown(r"L'(\Delta)"))
    d.rewrite("it is p_c − y_c", pc - yc, "the gradient entry of the true class")
    d.apply("differentiate again", lambda e: sp.diff(e, gap), "by SymPy",
            lhs=shown(r"L''(\Delta)"))
    d.rewrite("p_c(1 − p_c)", (K - 1) * sp.exp(gap) / (sp.exp(gap) + K - 1) ** 2,
              "the sigmoid-like derivative of p_c")
    j = sp.Symbol("j", nonnegative=True)
    d.prove_true("L is strictly convex in Δ",
                 sp.Gt(((K - 1) * sp.exp(gap) / (sp.exp(gap) + K - 1) ** 2).subs(K, 2 + j), 0),
                 "K − 1 ≥ 1 and e^Δ > 0 (written K = 2 + j, j ≥ 0): the stationary point "
                 "is the unique minimum", shown=sp.Gt(shown(r"L''(\Delta)"), 0))
    best = sp.log(1 + K * (1 - eps) / eps)
    d.prove("L′ vanishes at Δ* = log(1 + K(1 − ε)/ε)", (pc - yc).subs(gap, best),
            sp.Integer(0), "e^{Δ*} = (K(1 − ε) + ε)/ε, so p_c = (K(1 − ε) + ε)/K = y_c")
    d.define("the optimal logit gap", best, "the unique zero of L′", lhs=shown(r"\Delta^*"))
    d.conclude("optimal_logit_gap", best, [K, eps], kernel=False, lhs=shown(r"\Delta^*"),
               why="finite for every ε > 0")
    at10 = best.subs({K: 10, eps: sp.Rational(1, 10)})
    d.prove("at K = 10, ε = 0.1", at10, sp.log(91), "1 + 10·0.9/0.1 = 91")
    val = sp.Float(sp.N(sp.log(91), 40), 30)
    d.prove_true("numerically", abs(sp.log(91) - val) < sp.Float(10) ** -28,
                 "evaluated at 40 digits", shown=sp.Eq(shown(r"\Delta^*_{K=10,\ \varepsilon=0.1}",
                                                             "Δ*(K = 10, ε = 0.1)"), val))
    d.define("towards one-hot targets", best, "the optimal gap as ε shrinks",
             lhs=shown(r"\Delta^*"))
    d.apply("ε → 0⁺", lambda e: sp.limit(e, eps, 0, "+"), "limit by SymPy",
            lhs=sp.Limit(shown(r"\Delta^*"), eps, 0, "+"))
    d.note("one-hot targets", "at ε = 0, L′ = p_c − 1 < 0 for every finite Δ: no finite "
           "minimiser, gradient descent keeps widening the gap (the over-confidence that "
           "label smoothing removes)")

    for k_val in (3, 10):
        d.crosscheck(f"Δ* at K = {k_val} against scipy.optimize.minimize_scalar of the "
                     "float64 smoothed cross-entropy", best,
                     lambda k_val=k_val, **kw: _np_best_gap(k_val, kw["varepsilon"]),
                     at={K: k_val, eps: (0.02, 0.5)}, rtol=1e-6, atol=1e-6)
    zs = sp.symbols("z_1:5", real=True)
    S = sum(sp.exp(v) for v in zs)
    onehot = [1, 0, 0, 0]
    grad = sp.Matrix([sp.exp(v) / S - (1 - eps) * o - eps / 4 for v, o in zip(zs, onehot)])

    def point(kw):
        import numpy as np
        return np.array([kw[f"z_{i}"] for i in range(1, 5)])

    d.crosscheck_numeric_gradient(
        "the kernel form p − (1 − ε)y − ε/K (K = 4) against central differences of the "
        "smoothed cross-entropy (SciPy log_softmax)", grad,
        loss=lambda z, kw: _np_smoothed_ce(z, 0, kw["varepsilon"]), point=point,
        at={**{v: (-3.0, 3.0) for v in zs}, eps: (0.0, 0.5)}, rtol=1e-6, atol=1e-9)


# ---- preln-residual-growth ----------------------------------------------------------------
def _np_residual_stack(L: int, v: float, var0: float, scale: float, pre: bool,
                       d: int = 6, reps: int = 4000) -> float:
    """Float64 reference: mean of x_L² over a fixed-seed ensemble of residual stacks
    x_{l+1} = x_l + scale·LN(x_l)W (pre) or LN(x_l + LN(x_l)W) (post), W ~ N(0, v/d),
    in NumPy (no numeric): an independent Monte Carlo check of the variance recursion."""
    import numpy as np

    rng = np.random.default_rng(12)
    x = rng.standard_normal((reps, 1, d)) * np.sqrt(var0)

    def ln(t):
        c = t - t.mean(-1, keepdims=True)
        return c / np.sqrt((c ** 2).mean(-1, keepdims=True))
    for _ in range(L):
        w = rng.standard_normal((reps, d, d)) * np.sqrt(v / d)
        x = x + scale * ln(x) @ w if pre else ln(x + ln(x) @ w)
    return float((x ** 2).mean())


@derivation("preln-residual-growth",
            exports=("preln_variance", "gpt2_scale", "gpt2_variance", "postln_variance"))
def preln_residual_growth(d: Derivation) -> None:
    """Pre-LN residual stream x_{l+1} = x_l + F_l(LN(x_l)) with branch outputs of variance
    v uncorrelated with x_l: Var x_L = Var x_0 + L·v, growing linearly with depth.
    GPT-2 (Radford et al. 2019 §2.3) scales the residual output projections by 1/√N_r
    with N_r = 2N residual branches (N blocks, attention and MLP in each): each adds v/(2N)
    and the whole stack adds v in total. Post-LN x_{l+1} = LN(x_l + F_l(x_l)) resets the
    per-token variance to 1 at every layer (γ = 1, β = 0, ε → 0). Xiong et al. 2020 §3.
    """
    v, var0 = d.symbol("v", positive=True), d.symbol("V_0", positive=True)
    L, N = d.symbol("L", integer=True, positive=True), d.symbol("N", integer=True,
                                                                   positive=True)
    a = d.symbol("a", positive=True)
    d.assume("each branch output F_l has mean 0, variance v per coordinate and is "
             "uncorrelated with the stream x_l (e.g. a fresh zero-mean random weight "
             "matrix at initialisation applied to LN(x_l))")
    d.assume("variances are per coordinate; for Post-LN, the variance of a token's "
             "features about their mean, which LN makes 1 exactly when ε = 0 "
             "(layernorm-forward)")
    d.convention("layers are counted per residual branch: a Transformer block has two "
                 "(attention and MLP), so N blocks make L = 2N additions")
    c = d.symbol("c", real=True)
    vx = d.symbol("V_x", positive=True)
    d.define("one residual addition", vx + v + 2 * c,
             "Var(x + F) = Var x + Var F + 2 Cov(x, F), with V_x = Var x and c = Cov(x, F)",
             lhs=shown(r"\mathrm{Var}(x + F)"))
    d.rewrite("uncorrelated branch", vx + v, "Cov(x, F) = c = 0", at={c: 0})

    def stack(m):
        s = var0
        for _ in range(m):
            s = s + v
        return s, var0 + m * v

    d.prove_for_sizes("L additions", sp.Eq(shown(r"\mathrm{Var}\, x_{L}", "Var x_L"),
                                           var0 + L * v), stack, sizes=(1, 2, 3, 4, 8),
                      why="apply the step above L times (the sizes are the depths L)")
    d.values["preln_variance"] = var0 + L * v
    d.define("branches scaled by a", var0 + L * a ** 2 * v,
             "each branch output multiplied by a has variance a²v", lhs=shown(
                 r"\mathrm{Var}\, x_{L}", "Var x_L"))
    d.rewrite("GPT-2: a = 1/√(2N), L = 2N", var0 + v,
              "N blocks × two branches; the stack adds v in total, whatever the depth",
              at={a: 1 / sp.sqrt(2 * N), L: 2 * N})
    d.values["gpt2_scale"] = 1 / sp.sqrt(2 * N)
    d.conclude("gpt2_variance", var0 + v, [var0, v], kernel=False,
               why="depth-independent (Radford et al. 2019 §2.3)")

    def post(m):
        xs = sp.symbols(f"y_1:{m + 1}", real=True)
        mu = sum(xs) / m
        nu = sum((t - mu) ** 2 for t in xs) / m
        z = [(t - mu) / sp.sqrt(nu) for t in xs]
        return sum(t ** 2 for t in z) / m - (sum(z) / m) ** 2, sp.Integer(1)

    d.prove_for_sizes("Post-LN: the stream after each block has variance 1", sp.Eq(
        shown(r"\mathrm{Var}\, \mathrm{LN}(x_l + F_l)"), 1), post, sizes=(2, 3, 4),
        why="the sizes are the widths: LN (γ = 1, β = 0, ε = 0) of any vector y = x_l + F_l "
        "with ν > 0 has feature mean 0 and variance 1, so depth adds nothing")
    d.values["postln_variance"] = sp.Integer(1)

    for pre, scale, Lv, want, what in (
            (True, 1.0, 4, var0 + 4 * v, "Pre-LN, L = 4"),
            (True, 1 / 8 ** 0.5, 8, var0 + v, "Pre-LN with GPT-2's 1/√(2N), N = 4")):
        d.crosscheck(f"{what}: Var x_L against a fixed-seed NumPy ensemble of 4000 stacks "
                     "(tolerance 5%: Monte Carlo)", want,
                     lambda pre=pre, scale=scale, Lv=Lv, **kw: _np_residual_stack(
                         Lv, kw["v"], kw["V_0"], scale, pre),
                     at={v: (0.5, 2.0), var0: (0.5, 2.0)}, rtol=0.05, atol=0.0, points=2)
    d.crosscheck("Post-LN, L = 4: per-token variance 1 (NumPy ensemble)", sp.Integer(1),
                 lambda **kw: _np_residual_stack(4, kw["v"], kw["V_0"], 1.0, False),
                 at={v: (0.5, 2.0), var0: (0.5, 2.0)}, rtol=1e-9, atol=0.0, points=2)


# ---- attention-saturation -----------------------------------------------------------------
SATURATION_WIDTHS = (16, 1024)


@derivation("attention-saturation",
            exports=("max_probability_scaled", "max_probability_d16",
                     "max_probability_d1024"))
def attention_saturation(d: Derivation) -> None:
    """Unscaled attention scores have standard deviation √d. For any fixed gaps between
    the scores, the largest softmax probability tends to 1 as the scale σ of the scores
    grows, and the softmax Jacobian J = diag(p) − ppᵀ (positive semi-definite,
    softmax-jacobian) has ‖J‖₂ ≤ tr J = 1 − Σ p_i² ≤ 2(1 − p_max) → 0: gradients through a
    saturated softmax vanish. With two keys and scores σz_j, z_j independent N(0, 1), the
    expected largest probability is E[logistic(σ√2·|Z|)], computed by
    verified quadrature at σ = 1 (scaled by 1/√d, any d) and σ = √d (unscaled) for
    d = 16, 1024. Vaswani et al. 2017 §3.2.1 (the reason for 1/√d).
    """
    sig = d.symbol("sigma", positive=True)
    g1, g2 = d.symbols("g_1 g_2", positive=True)
    d.assume("the query has norm exactly √d and the keys k_j are independent N(0, I_d), so "
             "the unscaled scores q·k_j are independent N(0, d) = σz_j with σ = √d; "
             "scaled by 1/√d, σ = 1 at every width")
    d.assume("the expected values are for n = 2 keys (one 1-dimensional integral); the "
             "limits are shown for n = 3 with the largest score ahead by gaps g_1, g_2 > 0")
    d.convention("p_max = max_j p_j; tr J = Σ_j p_j(1 − p_j)")
    d.define("largest probability, n = 3", 1 / (1 + sp.exp(-sig * g1) + sp.exp(-sig * g2)),
             "divide numerator and denominator by e^{σ z_max}; the others trail by σg_1, σg_2",
             lhs=shown(r"p_{max}"))
    d.apply("σ → ∞", lambda e: sp.limit(e, sig, sp.oo), "limit by SymPy",
            lhs=sp.Limit(shown(r"p_{max}"), sig, sp.oo))
    p = sp.symbols("p_1:4", positive=True)
    d.prove("trace of the Jacobian", sum(pk * (1 - pk) for pk in p).subs(
        p[2], 1 - p[0] - p[1]), (1 - sum(pk ** 2 for pk in p)).subs(p[2], 1 - p[0] - p[1]),
        "Σ p_j(1 − p_j) = Σ p_j − Σ p_j² = 1 − Σ p_j² (n = 3, Σ p_j = 1)")
    pm, rest = d.symbols("p_m r", positive=True)
    d.prove_true("tr J ≤ 2(1 − p_max)", sp.Ge(2 * (1 - pm) - (1 - pm ** 2), 0).subs(
        pm, 1 - rest), "1 − Σp_j² ≤ 1 − p_max² = (1 − p_max)(1 + p_max) ≤ 2(1 − p_max); "
        "written with p_max = 1 − r, r ≥ 0: 2r − (2r − r²) = r² ≥ 0",
        shown=sp.Le(shown(r"\mathrm{tr}\, J"), 2 * (1 - shown("p_{max}"))))
    d.note("the Jacobian vanishes", "J is positive semi-definite, so ‖J‖₂ ≤ tr J ≤ "
           "2(1 − p_max) → 0 as σ → ∞: the gradient reaching the scores vanishes")

    x = d.symbol("x", real=True)
    values = {}
    for label, s_val in (("scaled", sp.Integer(1)),
                         *((f"d{w}", sp.sqrt(w)) for w in SATURATION_WIDTHS)):
        what = "scaled scores (σ = 1)" if label == "scaled" else \
            f"unscaled, d = {label[1:]} (σ = √{label[1:]})"
        values[label] = d.gaussian_expectation(
            f"E[p_max], n = 2, {what}", 1 / (1 + sp.exp(-s_val * sp.sqrt(2) * sp.Abs(x))), x,
            digits=12, why="p_max = logistic(σ|z_1 − z_2|), z_1 − z_2 = √2·Z, Z ~ N(0, 1); "
            "verified quadrature", lhs=shown(r"E[p_{max}]"))
    d.values["max_probability_scaled"] = values["scaled"]
    d.values["max_probability_d16"] = values["d16"]
    d.conclude("max_probability_d1024", values["d1024"], [], kernel=False,
               lhs=shown(r"E[p_{max}]_{d = 1024}", "E[p_max] at d = 1024"),
               why="already near 1 without the 1/√d scale; with it, the value at σ = 1 "
               "for every width")

    def mc(sigma_value):
        def reference(**kw):
            import numpy as np
            z = np.random.default_rng(7).standard_normal((400_000, 2))
            s = sigma_value * z
            e = np.exp(s - s.max(1, keepdims=True))
            return float((e / e.sum(1, keepdims=True)).max(1).mean())
        return reference
    for label, s_val in (("scaled", 1.0), ("d16", 4.0), ("d1024", 32.0)):
        d.crosscheck(f"E[p_max] ({label}) against a fixed-seed NumPy Monte Carlo of 400,000 "
                     "pairs of scores (tolerance 0.3%)", values[label], mc(s_val), at={},
                     rtol=3e-3, atol=0.0, points=1)


# ---- postln-gradient-scale ----------------------------------------------------------------
def _np_postln_ratio(n: int, v: float, d: int, reps: int = 20000) -> float:
    """Float64 reference: mean over a fixed-seed ensemble of Π_k σ²_{y_k}, the sample
    variances of y_k = x_k + F_k along n Post-LN blocks (x_k = LN(y_{k−1}),
    F_k = x_k W_k, W_k ~ N(0, v/d)), NumPy only."""
    import numpy as np

    rng = np.random.default_rng(21)
    x = rng.standard_normal((reps, 1, d))
    x = (x - x.mean(-1, keepdims=True)) / x.std(-1, keepdims=True)
    prod = np.ones(reps)
    for _ in range(n):
        y = x + x @ (rng.standard_normal((reps, d, d)) * np.sqrt(v / d))
        var = y.var(-1)[:, 0]
        prod *= var
        x = (y - y.mean(-1, keepdims=True)) / np.sqrt(var)[:, None, None]
    return float(prod.mean())


@derivation("postln-gradient-scale",
            exports=("block_variance", "gradient_ratio", "gradient_scale_large_width",
                     "preln_skip_ratio"))
def postln_gradient_scale(d: Derivation) -> None:
    """A simplified form of Xiong et al. 2020 §3: in a Post-LN stack
    x_{k+1} = LN(y_k), y_k = x_k + F_k(x_k), the skip path's backward map is the product of
    the LayerNorm Jacobians (1/σ_{y_k})(I − 11ᵀ/d − ŷ_kŷ_kᵀ/d); on the gradients orthogonal
    to 1 and every ŷ_k each factor is exactly 1/σ_{y_k}. With F_k = x_kW_k, W_k ~ N(0, v/d)
    fresh per block, E[σ²_{y_k}] = 1 + v(d − 1)/d independently for every block, so the
    gradient norm² reaching block l from block L shrinks by a factor of mean
    E[Π σ²] = (1 + v(d − 1)/d)^{L−l}: with equal stream and branch variance (v = 1) about
    2^{L−l}, i.e. the norm by 2^{−(L−l)/2}. In Pre-LN, x_{k+1} = x_k + F_k(LN(x_k)), the
    skip path is the identity: the gradient along it keeps its norm at every depth.
    """
    v = d.symbol("v", positive=True)
    n = d.symbol("n", integer=True, positive=True)
    width = d.symbol("d", integer=True, positive=True)
    d.assume("LayerNorm with γ = 1, β = 0 and ε = 0 (numeric's ε = 1e-5 changes σ² by a "
             "relative ε/σ² ≈ 1e-5); σ²_y is the sample variance of a token's d features")
    d.assume("the branch is F_k = x_kW_k with W_k ~ N(0, v/d) entries, fresh per block; "
             "since ‖x_k‖² = d after LN, F_k given the past is N(0, vI): the σ²_{y_k} are "
             "independent and identically distributed across blocks")
    d.assume("'the gradient along the skip path' is the part of ∂ℓ/∂x_l that bypasses the "
             "branches (their own backward adds further terms); it is followed for "
             "gradients orthogonal to 1 and to every ŷ_k, a subspace of dimension at least "
             "d − 1 − n for n blocks")
    d.convention("n = L − l blocks between the top and block l")

    def ln_jacobian(m):
        y = sp.Matrix(sp.symbols(f"y_1:{m + 1}", real=True))
        mu = sum(y) / m
        s = sp.sqrt(sum((t - mu) ** 2 for t in y) / m)
        yhat = (y - mu * sp.ones(m, 1)) / s
        one = sp.ones(m, 1)
        return yhat.jacobian(y), (sp.eye(m) - one * one.T / m - yhat * yhat.T / m) / s

    d.prove_for_sizes("LayerNorm's Jacobian", sp.Eq(shown(r"\partial \hat y/\partial y"),
                      shown(r"\frac{1}{\sigma_y}\left(I - \frac{1 1^T}{d} - "
                            r"\frac{\hat y \hat y^T}{d}\right)")), ln_jacobian,
                      sizes=(2, 3), why="SymPy's Jacobian of (y − ȳ)/σ_y at explicit "
                      "widths (the sizes), σ_y² the biased sample variance")
    d.note("on the common subspace", "for g ⊥ 1 and g ⊥ ŷ the bracket leaves g unchanged, "
           "so Jᵀg = g/σ_y exactly: the skip path divides the gradient norm by σ_{y_k} in "
           "each block")
    s2x = d.symbol("s_x^2", positive=True)

    def block_var(m):
        x = sp.symbols(f"x_1:{m + 1}", real=True)
        f = sp.symbols(f"f_1:{m + 1}", real=True)
        y = [a + b for a, b in zip(x, f)]
        ybar = sum(y) / m
        xbar = sum(x) / m
        s2y = sum((t - ybar) ** 2 for t in y) / m
        sx = sum((t - xbar) ** 2 for t in x) / m
        return _expect(s2y, f, {0: 1, 1: 0, 2: v}), sx + v * sp.Rational(m - 1, m)

    d.prove_for_sizes("expected σ² of a block's input", sp.Eq(
        shown(r"E[\sigma^2_y]"), s2x + v * (width - 1) / width), block_var,
        sizes=(2, 3, 4), why="y = x + F with F ~ N(0, vI): the cross term has mean 0 and "
        "the sample variance of F has mean v(d − 1)/d (the sizes are the widths d); s_x² "
        "is the sample variance of x")
    d.define("after a LayerNorm", s2x + v * (width - 1) / width, "", lhs=shown(
        r"E[\sigma^2_y]"))
    d.rewrite("x = LN(previous)", 1 + v * (width - 1) / width, "LN's output has s_x² = 1",
              at={s2x: 1})
    d.conclude("block_variance", 1 + v * (width - 1) / width, [v, width], kernel=False,
               lhs=shown(r"E[\sigma^2_y]"), why="the same for every block")

    def product(m):
        e = 1 + v * (width - 1) / width
        return sp.Mul(*[e] * m), e ** m

    d.prove_for_sizes("over n blocks", sp.Eq(shown(r"E\left[\prod_k \sigma^2_{y_k}\right]"),
                      (1 + v * (width - 1) / width) ** n), product, sizes=(1, 2, 3, 8),
                      why="the expectation of a product of independent factors is the "
                      "product of their expectations (the sizes are n)")
    ratio = (1 + v * (width - 1) / width) ** n
    d.values["gradient_ratio"] = ratio
    d.define("the ratio ‖g_L‖²/‖g_l‖² along the skip path", ratio, "its mean, from above",
             lhs=shown(r"E[\|g_L\|^2/\|g_l\|^2]"))
    d.apply("d → ∞", lambda e: sp.limit(e, width, sp.oo), "limit by SymPy",
            lhs=sp.Limit(shown(r"E[\|g_L\|^2/\|g_l\|^2]"), width, sp.oo))
    d.rewrite("equal stream and branch variance", 2 ** n, "v = 1", at={v: 1})
    d.values["gradient_scale_large_width"] = (1 + v) ** (-n / 2)
    d.note("Xiong et al.'s picture", "the gradient norm at block l is about 2^{−(L−l)/2} of "
           "the norm at the top: the lowest blocks of a deep Post-LN stack learn slowest, "
           "which is why Post-LN needs learning-rate warm-up")
    d.define("Pre-LN skip path", sp.Integer(1), "x_{k+1} = x_k + F_k(LN(x_k)): the skip "
             "path's Jacobian is I, so along it ‖g_l‖ = ‖g_L‖ at every depth",
             lhs=shown(r"\|g_L\|^2/\|g_l\|^2"))
    d.conclude("preln_skip_ratio", sp.Integer(1), [], kernel=False,
               lhs=shown(r"\|g_L\|^2/\|g_l\|^2"), why="Pre-LN")
    for m_val, d_val in ((3, 8), (4, 32)):
        d.crosscheck(f"E[Π σ²] over n = {m_val} blocks at d = {d_val} against a fixed-seed "
                     "NumPy ensemble of 20,000 stacks (tolerance 3%: Monte Carlo)", ratio,
                     lambda m_val=m_val, d_val=d_val, **kw: _np_postln_ratio(
                         m_val, kw["v"], d_val),
                     at={n: m_val, width: d_val, v: (0.5, 1.5)}, rtol=0.03, atol=0.0,
                     points=2)
