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
