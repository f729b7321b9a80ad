"""Catalog section 2: backpropagation through an MLP (000 §3.1–3.2, 002 §9.2–9.4.1).

Notation of 000 §3.1: h_0 = x, z_i = W_i h_{i−1} + b_i, h_i = σ(z_i) for i = 1..L,
W_i ∈ ℝ^{D_i × D_{i−1}}; δ_i = ∂ℓ/∂z_i (a column). The activation σ is a generic
differentiable function (an undefined SymPy function whose derivative is the undefined σ'),
so every identity holds for any smooth activation. Network-level identities are proved on
explicit small networks against SymPy's own differentiation of the whole composition.
"""
import functools

import sympy as sp

from .core import Derivation
from .registry import derivation
from .display import shown

class SigmaPrime(sp.Function):
    """The derivative σ' of the generic activation (left undefined)."""

    is_real = True

    def _latex(self, printer):
        return r"\sigma'\left(" + printer._print(self.args[0]) + r"\right)"


SigmaPrime.__name__ = "σ'"  # how the terminal printer names it
SIGMA_PRIME = SigmaPrime


class Sigma(sp.Function):
    """A generic real activation σ whose derivative is the (undefined) function σ'."""

    is_real = True

    def fdiff(self, argindex: int = 1):
        return SIGMA_PRIME(self.args[0])

    def _latex(self, printer):
        return r"\sigma\left(" + printer._print(self.args[0]) + r"\right)"


Sigma.__name__ = "sigma"  # printed σ(·) in the terminal


def _mat(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i + 1}{j + 1}"))


def _col(name: str, rows: int) -> sp.Matrix:
    return sp.Matrix(rows, 1, lambda i, j: sp.Symbol(f"{name}_{i + 1}"))


@functools.cache
def mlp(widths: tuple) -> dict:
    """An explicit MLP with the given widths (D_0, ..., D_L), σ at every layer and the loss
    ℓ = gᵀh_L, where g stands for ∂ℓ/∂h_L of any loss (the chain rule only ever uses the
    loss through that gradient). Returns its symbols, forward values and backprop δ's."""
    L = len(widths) - 1
    x, g = _col("x", widths[0]), _col("g", widths[-1])
    W = [None] + [_mat(f"W{i}", widths[i], widths[i - 1]) for i in range(1, L + 1)]
    b = [None] + [_col(f"b{i}", widths[i]) for i in range(1, L + 1)]
    h: list = [x]
    z: list = [None]
    for i in range(1, L + 1):
        z.append(W[i] * h[-1] + b[i])
        h.append(z[-1].applyfunc(Sigma))
    delta: list = [None] * (L + 1)
    delta[L] = z[L].applyfunc(SIGMA_PRIME).multiply_elementwise(g)
    for i in range(L - 1, 0, -1):
        delta[i] = z[i].applyfunc(SIGMA_PRIME).multiply_elementwise(W[i + 1].T * delta[i + 1])
    return dict(L=L, x=x, g=g, W=W, b=b, h=h, z=z, delta=delta, loss=(g.T * h[L])[0, 0])


def _loss_from_layer(net: dict, i: int, v: sp.Matrix) -> sp.Expr:
    """ℓ as a function of fresh pre-activation symbols v standing for z_i."""
    h = v.applyfunc(Sigma)
    for j in range(i + 1, net["L"] + 1):
        h = (net["W"][j] * h + net["b"][j]).applyfunc(Sigma)
    return (net["g"].T * h)[0, 0]


def _direct_dz(net: dict, i: int) -> sp.Matrix:
    """∂ℓ/∂z_i by SymPy: differentiate ℓ(v) in fresh symbols v, then put v = z_i."""
    v = _col(f"v{i}", net["z"][i].rows)
    grad = v.applyfunc(lambda vi: sp.diff(_loss_from_layer(net, i, v), vi))
    return grad.xreplace(dict(zip(v, net["z"][i])))


def _stack(mats) -> sp.Matrix:
    return sp.Matrix([e for m in mats for e in m])  # row-major flattening, stacked


def _tanh_version(expr):
    """Replace the generic σ by tanh (σ' = 1 − tanh²) for a float64 cross-check."""
    return expr.replace(Sigma, sp.tanh).replace(SIGMA_PRIME, lambda a: 1 - sp.tanh(a) ** 2)


def _mlp_parameters(widths: tuple, kw: dict):
    """Every W_i entry (row-major, i = 1..L), then every b_i entry: the order of the
    stacked symbolic gradient."""
    import numpy as np

    L = len(widths) - 1
    names = [f"W{i}_{r + 1}{c + 1}" for i in range(1, L + 1) for r in range(widths[i])
             for c in range(widths[i - 1])]
    names += [f"b{i}_{r + 1}" for i in range(1, L + 1) for r in range(widths[i])]
    return np.array([float(kw[n]) for n in names])


def _numpy_mlp_loss(widths: tuple, p, kw: dict) -> float:
    """ℓ = gᵀ tanh(... tanh(W_1 x + b_1) ...) with the parameters p in _mlp_parameters' order
    (the test suite differentiates it numerically)."""
    import numpy as np

    L = len(widths) - 1
    W, b, k = [], [], 0
    for i in range(1, L + 1):
        n = widths[i] * widths[i - 1]
        W.append(np.asarray(p[k:k + n]).reshape(widths[i], widths[i - 1]))
        k += n
    for i in range(1, L + 1):
        b.append(np.asarray(p[k:k + widths[i]]))
        k += widths[i]
    a = np.array([float(kw[f"x_{r + 1}"]) for r in range(widths[0])])
    g = np.array([float(kw[f"g_{r + 1}"]) for r in range(widths[-1])])
    for Wi, bi in zip(W, b):
        a = np.tanh(Wi @ a + bi)
    return float(g @ a)


@derivation("mlp-backprop", exports=("layer_jacobian", "weight_gradient_entry"))
def mlp_backprop(d: Derivation) -> None:
    """For h_i = σ(z_i), z_i = W_i h_{i−1} + b_i and δ_i = ∂ℓ/∂z_i:

        J_i = ∂h_{i+1}/∂h_i = diag(σ'(z_{i+1})) W_{i+1},   ∂ℓ/∂h_i = J_iᵀ ∂ℓ/∂h_{i+1},
        δ_L = σ'(z_L) ⊙ ∂ℓ/∂h_L,   δ_i = σ'(z_i) ⊙ W_{i+1}ᵀ δ_{i+1},
        ∂ℓ/∂W_i = δ_i h_{i−1}ᵀ,     ∂ℓ/∂b_i = δ_i.

    Source: 000 §3.1 (layer Jacobian, hidden-layer chain rule), §3.2 (parameter gradients).
    """
    d.assume("σ is any differentiable activation (a generic SymPy function, σ' its derivative)")
    d.assume("ℓ enters only through g = ∂ℓ/∂h_L (written ℓ = gᵀh_L; g may depend on h_L for a "
             "real loss, which changes nothing at first order)")
    d.convention("gradients are columns shaped like what they differentiate; "
                 "J[r, c] = ∂h_{i+1}[r]/∂h_i[c]")
    # (a) the Jacobian of one layer, widths 3 -> 2
    W, u, bb = _mat("W", 2, 3), _col("h", 3), _col("b", 2)
    zz = W * u + bb
    d.define("one layer, widths 3 → 2", zz.applyfunc(Sigma), "h_{i+1} = σ(W_{i+1} h_i + b_{i+1})",
             lhs=shown("h_{i+1}"))
    d.apply("Jacobian in h_i", lambda e: e.jacobian(list(u)), "by SymPy",
            lhs=shown(r"\frac{\partial h_{i+1}}{\partial h_i}"))
    d.rewrite("diag(σ'(z)) W", sp.diag(*zz.applyfunc(SIGMA_PRIME)) * W,
              "row r is σ'(z_r) times row r of W")
    d.conclude("layer_jacobian", sp.diag(*zz.applyfunc(SIGMA_PRIME)) * W,
               [*W, *u, *bb], "J_i = diag(σ'(z_{i+1})) W_{i+1}", kernel=False)

    widths = (2, 3, 2, 1)
    net = mlp(widths)
    d.note("a whole network", f"an explicit MLP with widths {widths} (L = 3 layers, every "
           "weight matrix non-square); each identity below is checked against SymPy's own "
           "derivative of the full composition ℓ = gᵀσ(W_3 σ(W_2 σ(W_1 x + b_1) + b_2) + b_3)")

    def hidden_chain(_m):
        v = _col("v", widths[1])  # fresh symbols standing for h_1
        hh = v
        for j in (2, 3):
            hh = (net["W"][j] * hh + net["b"][j]).applyfunc(Sigma)
        direct = v.applyfunc(lambda vi: sp.diff((net["g"].T * hh)[0, 0], vi))
        direct = direct.xreplace(dict(zip(v, net["h"][1])))
        J = [None] + [sp.diag(*net["z"][i + 1].applyfunc(SIGMA_PRIME)) * net["W"][i + 1]
                      for i in (1, 2)]
        return direct, J[1].T * (J[2].T * net["g"])

    d.prove_for_sizes("chain rule for a hidden layer", sp.Eq(
        shown(r"\frac{\partial \ell}{\partial h_1}"),
        shown(r"J_1^{T} J_2^{T} \frac{\partial \ell}{\partial h_3}")),
        hidden_chain, sizes=(3,), why="m = D_1; ∂ℓ/∂h_1 by SymPy against the product "
        "of the transposed layer Jacobians (000 §3.1)")

    def weights(_m):
        direct = [net["W"][i].applyfunc(lambda w: sp.diff(net["loss"], w)) for i in (1, 2, 3)]
        formula = [net["delta"][i] * net["h"][i - 1].T for i in (1, 2, 3)]
        return _stack(direct), _stack(formula)

    d.prove_for_sizes("weight gradients", sp.Eq(shown(
        r"\frac{\partial \ell}{\partial W_i}"), shown(r"\delta_i h_{i-1}^{T}")),
        weights, sizes=(3,), why="every entry of W_1, W_2, W_3: SymPy's derivative of ℓ "
        "against the outer product, with δ_3 = σ'(z_3) ⊙ g and δ_i = σ'(z_i) ⊙ "
        "W_{i+1}ᵀδ_{i+1} run from the top")

    def biases(_m):
        direct = [net["b"][i].applyfunc(lambda w: sp.diff(net["loss"], w)) for i in (1, 2, 3)]
        return _stack(direct), _stack(net["delta"][1:])

    d.prove_for_sizes("δ recursion and bias gradients", sp.Eq(shown(
        r"\frac{\partial \ell}{\partial b_i} = \frac{\partial \ell}{\partial z_i}"),
        shown(r"\delta_i = \sigma'(z_i) \odot W_{i+1}^{T} \delta_{i+1}")), biases,
        sizes=(3,), why="z_i depends on b_i through the identity, so SymPy's ∂ℓ/∂b_i is "
        "∂ℓ/∂z_i; checked against the recursion for i = 1, 2, 3")

    # (b) one entry, written out: the chain rule sum collapses to a single term
    Wl, hl, bl = _mat("W", 3, 2), _col("h", 2), _col("b", 3)
    dl = _col("delta", 3)
    zl = Wl * hl + bl
    d.define("entry (2, 1) of ∂ℓ/∂W_i", sum(dl[r] * sp.Derivative(zl[r], Wl[1, 0])
                                              for r in range(3)),
             "Σ_r (∂ℓ/∂z_r)(∂z_r/∂W[2,1]) for a layer of widths 2 → 3",
             lhs=shown(r"\frac{\partial \ell}{\partial W_{21}}"))
    d.apply("differentiate", lambda e: e.doit(), "by SymPy: only z_2 contains W[2,1]")
    d.conclude("weight_gradient_entry", dl[1] * hl[0], [dl[1], hl[0]],
               "δ_i[2] h_{i−1}[1]: the (j, k) entry is δ_j h_k, i.e. δ_i h_{i−1}ᵀ",
               kernel=False)

    tanh_expr = _tanh_version(_stack([*(net["delta"][i] * net["h"][i - 1].T
                                        for i in (1, 2, 3)), *net["delta"][1:]]))
    symbols = sorted(tanh_expr.free_symbols, key=lambda s: s.name)
    d.crosscheck_numeric_gradient(
        "backprop with σ = tanh against central differences of ℓ in every W_i, b_i",
        tanh_expr, loss=lambda p, kw: _numpy_mlp_loss(widths, p, kw),
        point=lambda kw: _mlp_parameters(widths, kw), at={s: (-1.0, 1.0) for s in symbols},
        rtol=1e-6, atol=1e-9)


def _sigmoid(t):
    return 1 / (1 + sp.exp(-t))


@derivation("constant-init-symmetry",
            exports=("zero_init_relu_weight_gradients", "sigmoid_grad_at_zero",
                     "sigmoid_at_zero", "hidden_weight_gradient_at_symmetric_start",
                     "symmetric_start"))
def constant_init_symmetry(d: Derivation) -> None:
    """If every hidden neuron of a layer starts with the same incoming weights and bias and
    the same outgoing weights (any constant initialisation does this), the neurons compute
    identical activations, receive identical gradients (∂ℓ/∂W_1 has identical rows,
    ∂ℓ/∂W_2 identical columns), and a gradient step keeps that pattern, so by induction
    they stay copies of one neuron forever. Zero initialisation with ReLU gives zero weight
    gradients (whatever value is used for ReLU'(0)), so the weights never move; with a
    sigmoid, σ(0) = 1/2 and σ'(0) = 1/4. Source: 002 §9.4.1.
    """
    c1, c2, dd, u1, u2, eta = _SYM_START
    d.assume("network x ∈ ℝ² → hidden layer of m neurons h = σ(W_1x + b_1), σ any "
             "differentiable activation → output o = W_2h + b_2 ∈ ℝ², loss ℓ = ½‖o − y‖²; "
             "every claim is checked exactly for m = 2 and m = 3 hidden neurons")
    d.assume("symmetric start: every row of W_1 equals (c_1, c_2), every entry of b_1 equals "
             "d, every column of W_2 equals (u_1, u_2) — a constant initialisation is the "
             "case c_1 = c_2 = u_1 = u_2")
    x = _col("x", 2)
    d.define("hidden activations at the start (m = 3)", _symmetric(3)["hidden"],
             "every neuron sees the same pre-activation c_1x_1 + c_2x_2 + d", lhs=sp.Symbol("h"))
    d.rewrite("identical", sp.ones(3, 1) * Sigma(c1 * x[0] + c2 * x[1] + dd),
              "one value repeated")

    def rows_equal(M):
        return M, sp.ones(M.rows, 1) * M[0, :]

    def cols_equal(M):
        return M, M[:, 0] * sp.ones(1, M.cols)

    def statement(lhs, rhs):
        return sp.Eq(shown(lhs), shown(rhs))

    d.prove_for_sizes("∂ℓ/∂W_1 has identical rows", statement(
        r"\frac{\partial \ell}{\partial W_1[j, :]}", r"\frac{\partial \ell}{\partial W_1[1, :]}"),
        lambda m: rows_equal(_symmetric(m)["G1"]), sizes=(2, 3),
        why="SymPy's gradient at the symmetric start (m = hidden width): every neuron gets "
        "the same update")
    d.prove_for_sizes("∂ℓ/∂b_1 has identical entries", statement(
        r"\frac{\partial \ell}{\partial b_1[j]}", r"\frac{\partial \ell}{\partial b_1[1]}"),
        lambda m: rows_equal(_symmetric(m)["gb1"]), sizes=(2, 3), why="likewise")
    d.prove_for_sizes("∂ℓ/∂W_2 has identical columns", statement(
        r"\frac{\partial \ell}{\partial W_2[:, j]}", r"\frac{\partial \ell}{\partial W_2[:, 1]}"),
        lambda m: cols_equal(_symmetric(m)["G2"]), sizes=(2, 3),
        why="each column is δ_2 times the same hidden activation")

    def after_step(m):
        s = _symmetric(m)
        first = sp.Matrix.hstack(s["W1"] - eta * s["G1"], s["b1"] - eta * s["gb1"])
        second = s["W2"] - eta * s["G2"]
        a, b = rows_equal(first)
        c, e = cols_equal(second)
        return _stack([a, c]), _stack([b, e])

    d.prove_for_sizes("an SGD step keeps the pattern", statement(
        r"(W_1, b_1, W_2) - \eta \nabla \ell", r"\text{a symmetric start again}"), after_step,
        sizes=(2, 3), why="W_1 − η∂ℓ/∂W_1 and b_1 − η∂ℓ/∂b_1 keep identical rows, "
        "W_2 − η∂ℓ/∂W_2 identical columns; so the start assumption holds again, and by "
        "induction after every step (any optimiser acting coordinatewise with equal histories "
        "alike)")
    d.prove_for_sizes("zero init with ReLU: no weight or hidden-bias gradient", statement(
        r"\left(\frac{\partial \ell}{\partial W_1}, \frac{\partial \ell}{\partial W_2}, "
        r"\frac{\partial \ell}{\partial b_1}\right)", "0"),
        lambda m: (_zero_init(m, "relu")["grads"], sp.zeros(5 * m, 1)), sizes=(2, 3),
        why="∂ℓ/∂W_1 = (ReLU'(0)·W_2ᵀδ_2)xᵀ with W_2 = 0 and ∂ℓ/∂W_2 = δ_2hᵀ with h = ReLU(0) = "
        "0, whatever value r is used for ReLU'(0); only b_2 moves, so the next step starts "
        "from the same zero weights")
    d.prove_for_sizes("zero init with a sigmoid: output weights", statement(
        r"\frac{\partial \ell}{\partial W_2}", r"-\tfrac12 y \mathbf{1}^{T}"),
        lambda m: (_zero_init(m, "sigmoid")["G2"], -y_half(m)), sizes=(2, 3),
        why="h = σ(0)·1 = ½·1 and δ_2 = −y, so ∂ℓ/∂W_2 = δ_2hᵀ: non-zero but with identical "
        "columns, so the symmetry persists")
    d.prove_for_sizes("zero init with a sigmoid: first-step hidden weights", statement(
        r"\frac{\partial \ell}{\partial W_1}", "0"),
        lambda m: (_zero_init(m, "sigmoid")["G1"], sp.zeros(m, 2)), sizes=(2, 3),
        why="δ_1 = σ'(0)·W_2ᵀδ_2 = 0 while W_2 = 0")
    d.values["zero_init_relu_weight_gradients"] = _zero_init(3, "relu")["grads"]
    zs = d.symbol("z", real=True)
    d.define("sigmoid", _sigmoid(zs), "σ(z) = 1/(1 + e^{−z})", lhs=shown(r"\sigma(z)"))
    d.apply("derivative", lambda e: sp.diff(e, zs), "by SymPy",
            lhs=shown(r"\sigma'(z)"))
    d.apply("at z = 0", lambda e: e.subs(zs, 0), "the pre-activation of a zero-initialised "
            "neuron", lhs=shown(r"\sigma'(0)"))
    d.conclude("sigmoid_grad_at_zero", sp.Rational(1, 4), [], "σ'(0) = σ(0)(1 − σ(0)) = ¼",
               kernel=False)
    d.values["sigmoid_at_zero"] = _sigmoid(sp.Integer(0))
    s3 = _symmetric(3)
    d.values["hidden_weight_gradient_at_symmetric_start"] = s3["G1"]
    d.values["symmetric_start"] = {"W1": s3["W1"], "b1": s3["b1"], "W2": s3["W2"]}

    G1_num = s3["G1"].replace(Sigma, _sigmoid).replace(
        SIGMA_PRIME, lambda a: _sigmoid(a) * (1 - _sigmoid(a)))
    y, b2 = _col("y", 2), _col("b2", 2)
    at = {s: (-1.0, 1.0) for s in (c1, c2, dd, u1, u2, *x, *y, *b2)}
    d.crosscheck_numeric_gradient(
        "∂ℓ/∂W_1 at a constant start (σ = sigmoid) against central differences", G1_num,
        loss=_numpy_symmetric_loss, point=_symmetric_W1, at=at, rtol=1e-6, atol=1e-9)


_SYM_START = sp.symbols("c_1 c_2 d u_1 u_2 eta", real=True)
_RELU_AT_ZERO = sp.Symbol("r", nonnegative=True)


class ReLU(sp.Function):
    """max(0, z); its derivative is Heaviside(z) with the value r at 0 left open."""

    def fdiff(self, argindex=1):
        return sp.Heaviside(self.args[0], _RELU_AT_ZERO)

    @classmethod
    def eval(cls, arg):
        return sp.Integer(0) if arg.is_zero else None


def y_half(m: int) -> sp.Matrix:
    y = _col("y", 2)
    return y * sp.ones(1, m) / 2


def _two_layer(m: int, act) -> dict:
    """x ∈ ℝ² → σ(W_1x + b_1) ∈ ℝ^m → W_2h + b_2 ∈ ℝ², ℓ = ½‖o − y‖²; gradients by SymPy."""
    x, y, b2 = _col("x", 2), _col("y", 2), _col("b2", 2)
    W1, b1, W2 = _mat("W1", m, 2), _col("b1", m), _mat("W2", 2, m)
    hidden = (W1 * x + b1).applyfunc(act)
    out = W2 * hidden + b2
    loss = ((out - y).T * (out - y))[0, 0] / 2
    grad = {name: M.applyfunc(lambda w: sp.diff(loss, w))
            for name, M in (("G1", W1), ("gb1", b1), ("G2", W2))}
    return dict(W1=W1, b1=b1, W2=W2, b2=b2, hidden=hidden, **grad)


@functools.cache
def _symmetric(m: int) -> dict:
    c1, c2, dd, u1, u2, _ = _SYM_START
    net = _two_layer(m, Sigma)
    start = {"W1": sp.Matrix([[c1, c2]] * m), "b1": sp.Matrix([dd] * m),
             "W2": sp.Matrix([[u1] * m, [u2] * m])}
    at: dict = {}
    for name in start:
        at.update(zip(net[name], start[name]))
    out = {k: net[k].xreplace(at) for k in ("hidden", "G1", "gb1", "G2")}
    return {**out, **start}


@functools.cache
def _zero_init(m: int, activation: str) -> dict:
    net = _two_layer(m, ReLU if activation == "relu" else _sigmoid)
    zero = {w: 0 for name in ("W1", "b1", "W2", "b2") for w in net[name]}
    out = {k: net[k].xreplace(zero) for k in ("G1", "gb1", "G2")}
    out["grads"] = _stack([out["G1"], out["G2"], out["gb1"]])
    return out


def _symmetric_W1(kw: dict):
    """W_1 at the symmetric start: three identical rows (c_1, c_2)."""
    import numpy as np

    return np.array([[kw["c_1"], kw["c_2"]]] * 3, dtype=float)


def _numpy_symmetric_loss(W, kw: dict) -> float:
    """ℓ(W_1) of the sigmoid network of constant-init-symmetry, the rest at the symmetric
    start (differentiated numerically by the test suite)."""
    import numpy as np

    b1 = np.full(3, kw["d"], dtype=float)
    W2 = np.array([[kw["u_1"]] * 3, [kw["u_2"]] * 3], dtype=float)
    x = np.array([kw["x_1"], kw["x_2"]])
    y = np.array([kw["y_1"], kw["y_2"]])
    b2 = np.array([kw["b2_1"], kw["b2_2"]])
    hidden = 1 / (1 + np.exp(-(W @ x + b1)))
    return float(0.5 * np.sum((W2 @ hidden + b2 - y) ** 2))


@derivation("same-sign-gradients", exports=("neuron_weight_gradient",))
def same_sign_gradients(d: Derivation) -> None:
    """For a neuron z = Σ_j w_j a_j + b, ∂ℓ/∂w_j = δ·a_j with δ = ∂ℓ/∂z. If every input a_j ≥ 0
    (outputs of a sigmoid or a ReLU), every weight gradient of that neuron is δ times a
    non-negative number: all share the sign of δ (or vanish), so one gradient step moves all
    its weights in the same direction, and reaching weights that need mixed-sign changes
    takes a zig-zag path. Zero-centred inputs remove the restriction. Source: 002 §9.2.1
    (sigmoid outputs are not zero-centred), §9.3.2 (why centre the data).
    """
    a = sp.Matrix(sp.symbols("a_1:4", nonnegative=True))
    w = _col("w", 3)
    bias = d.symbol("b", real=True)
    delta = d.symbol("delta", real=True)
    d.assume("$a_j \\ge 0$: the inputs are outputs of a sigmoid or ReLU layer (three inputs "
             "written out; any number behaves alike)")
    d.assume("ℓ is any differentiable function of the neuron's pre-activation z")
    ell_prime = sp.Function("ell'", real=True)

    class Ell(sp.Function):
        def fdiff(self, argindex=1):
            return ell_prime(self.args[0])

    z = (w.T * a)[0, 0] + bias
    d.define("loss through one neuron", Ell(z), "z = Σ_j w_j a_j + b", lhs=shown(r"\ell"))
    d.apply("gradient in the weights", lambda e: w.applyfunc(lambda wj: sp.diff(e, wj)),
            "by SymPy", lhs=shown(r"\frac{\partial \ell}{\partial w}"))
    d.rewrite("δ times the inputs", delta * a, "δ = ℓ'(z) = ∂ℓ/∂z",
              at={ell_prime(z): delta})
    d.conclude("neuron_weight_gradient", delta * a, [delta, *a], "∂ℓ/∂w_j = δ a_j",
               kernel=False)
    d.prove_true("each component has the sign of δ", sp.And(*[
        sp.Ge(delta * (delta * aj), 0) for aj in a]), "δ·(δ a_j) = δ² a_j ≥ 0")
    d.prove_true("all components share one sign", sp.And(*[
        sp.Ge((delta * a[i]) * (delta * a[j]), 0) for i in range(3) for j in range(i + 1, 3)]),
        "pairwise products δ² a_i a_j ≥ 0: no two weight gradients have opposite signs")
    dpos = sp.Symbol("delta", positive=True)
    mixed = dpos * sp.Matrix([1, -1, 0])
    d.prove_true("zero-centred inputs lift the restriction", sp.Lt(mixed[0] * mixed[1], 0),
                 "with a = (1, −1, 0) and δ ≠ 0 two weight gradients have opposite signs",
                 shown=sp.Lt(shown(r"\frac{\partial \ell}{\partial w_1}"
                                       r"\frac{\partial \ell}{\partial w_2}"), 0))
    t = sp.Symbol("t", real=True)
    zt = (w.T * a)[0, 0] + bias
    dl = (sp.tanh(zt) - t) * (1 - sp.tanh(zt) ** 2)
    d.crosscheck_numeric_gradient(
                 "δ·a for ℓ = ½(tanh z − t)² against central differences in w",
                 dl * a, loss=_numpy_neuron_loss,
                 point=lambda kw: [kw[f"w_{j}"] for j in (1, 2, 3)],
                 at={**{s: (-1.0, 1.0) for s in (*w, bias, t)}, **{s: (0.0, 2.0) for s in a}},
                 rtol=1e-6, atol=1e-9)


def _numpy_neuron_loss(w, kw: dict) -> float:
    """ℓ(w) = ½(tanh(w·a + b) − t)² (differentiated numerically by the test suite)."""
    import numpy as np

    a = np.array([kw[f"a_{j}"] for j in (1, 2, 3)], dtype=float)
    return float(0.5 * (np.tanh(np.asarray(w) @ a + kw["b"]) - kw["t"]) ** 2)
