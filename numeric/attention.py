"""Attention and the Transformer residual block (catalog section 12; Vaswani et al. 2017
§3.2.1–3.2.2; Xiong et al. 2020 for Pre-LN/Post-LN).

Scaled dot-product attention, per head: S = QKᵀ/√d, P = softmax of each row of S,
O = PV (one row per token, d the head width). Backward (catalog attention-backward,
``nnmath show attention-backward``):

    dV = PᵀdO,  dP = dO Vᵀ,  dS = attention_scores_backward(P, dP, rowsum(dP ⊙ P))
    = P ⊙ (dP − rowsum(dP ⊙ P)),  dQ = dS K/√d,  dK = dSᵀQ/√d;

the elementwise algebra is the generated kernel, the products and the row reduction are
done here. Causal mask: query i sees keys j ≤ i; masked scores are −∞, so their
probabilities are exactly 0 and the kernel gives them gradient 0.

Softmax numerics (float32 as well as float64): every row is shifted by its maximum before
``exp`` (the generated ``softmax_shifted`` kernel), so each exponential lies in (0, 1] and
the row sum in [1, n]: no overflow at any finite score, and no row is all zeros (the
diagonal is never masked). The computation stays in the input's dtype. In float32 each
probability then carries a relative error of about (|s_ij − max_j s_ij| + n)·2⁻²⁴ (the
rounding of the shifted score is amplified by exp's condition number |s − max|); an
unshifted float32 softmax overflows to inf/NaN once a score exceeds log(FLT_MAX) ≈ 88.72.
tests/test_attention.py checks both statements.

Shapes: inputs are (batch, tokens, features); a 2-d (tokens, features) input is one
sequence. Projections have no biases (the block's LayerNorms carry the shifts).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import init as initialisers
from .kernels import kernels as K
from .layers import LayerNorm, Layer, Linear, ReLU, check_array, check_count

__all__ = ["Attention", "ResidualBlock", "attention_backward", "attention_forward",
           "attention_scores", "causal_mask", "softmax_rows"]


def causal_mask(n: int) -> np.ndarray:
    """Boolean (n, n): True where query i may attend to key j (j ≤ i)."""
    return np.tril(np.ones((n, n), dtype=bool))


def softmax_rows(s: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """softmax over the last axis, max-shifted (kernel softmax_shifted), in s's dtype;
    entries where ``mask`` is False get probability exactly 0."""
    if mask is not None:
        s = np.where(mask, s, np.array(-np.inf, s.dtype))
    s_max = s.max(axis=-1, keepdims=True)
    e = np.exp(s - s_max)
    return K.softmax_shifted(s, s_max, e.sum(axis=-1, keepdims=True))


def attention_scores(q: np.ndarray, k: np.ndarray, scale: float | None = None) -> np.ndarray:
    """S = QKᵀ·scale for Q, K (…, n, d); the default scale is 1/√d (Vaswani et al. 2017
    §3.2.1: unit-variance scores for independent unit-variance entries, catalog
    attention-score-variance)."""
    if scale is None:
        scale = 1.0 / np.sqrt(q.shape[-1])
    return (q @ np.swapaxes(k, -1, -2)) * np.asarray(scale, dtype=q.dtype)


def attention_forward(q: np.ndarray, k: np.ndarray, v: np.ndarray, *,
                      causal: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(O, P) for Q, K (…, n, d) and V (…, n, d_v): P = softmax(QKᵀ/√d), O = PV."""
    s = attention_scores(q, k)
    p = softmax_rows(s, causal_mask(s.shape[-1]) if causal else None)
    return p @ v, p


def attention_backward(d_out: np.ndarray, q: np.ndarray, k: np.ndarray, v: np.ndarray,
                       p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dQ, dK, dV) from dO and the forward's P (masked entries of P are 0)."""
    scale = np.asarray(1.0 / np.sqrt(q.shape[-1]), dtype=q.dtype)
    dv = np.swapaxes(p, -1, -2) @ d_out
    dp = d_out @ np.swapaxes(v, -1, -2)
    p_dot_g = np.einsum("...ij,...ij->...i", dp, p)[..., None]
    ds = K.attention_scores_backward(p, dp, p_dot_g)
    return (ds @ k) * scale, (np.swapaxes(ds, -1, -2) @ q) * scale, dv


def _as_batch(x: Any, name: str, features: int) -> tuple[np.ndarray, bool]:
    x = check_array(x, name, features=features)
    if x.ndim == 2:
        return x[None], True
    if x.ndim != 3:
        raise ValueError(f"{name}: expected (tokens, features) or (batch, tokens, "
                         f"features), got shape {x.shape}")
    return x, False


class Attention(Layer):
    """Multi-head self-attention y = concat_h(softmax(Q_hK_hᵀ/√d_h)V_h)·W_o with
    Q = xW_q, K = xW_k, V = xW_v split into ``n_heads`` heads of width d_h = d/n_heads
    (``n_heads=1``: single-head attention). ``causal``: token i attends to j ≤ i.
    Weights are Xavier-normal (numeric.init), no biases."""

    def __init__(self, d_model: int, n_heads: int = 1, *, causal: bool = False,
                 rng: np.random.Generator, dtype: Any = np.float64):
        super().__init__()
        self.d = check_count(d_model, "Attention: d_model")
        self.h = check_count(n_heads, "Attention: n_heads")
        if self.d % self.h:
            raise ValueError(f"Attention: d_model {self.d} is not divisible by n_heads "
                             f"{self.h}")
        if not isinstance(rng, np.random.Generator):
            raise TypeError("Attention: rng must be a numpy.random.Generator")
        self.causal = bool(causal)
        self.params = {name: np.asarray(initialisers.xavier_normal(rng, self.d, self.d),
                                        dtype=dtype) for name in ("Wq", "Wk", "Wv", "Wo")}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def _split(self, t: np.ndarray) -> np.ndarray:  # (B, n, d) -> (B, h, n, d_h)
        b, n, _ = t.shape
        return t.reshape(b, n, self.h, self.d // self.h).transpose(0, 2, 1, 3)

    def _merge(self, t: np.ndarray) -> np.ndarray:  # (B, h, n, d_h) -> (B, n, d)
        b, _, n, _ = t.shape
        return t.transpose(0, 2, 1, 3).reshape(b, n, self.d)

    def forward(self, x: np.ndarray, *, train: bool) -> np.ndarray:
        x, squeeze = _as_batch(x, "Attention input", self.d)
        w = self.params
        q, k, v = (self._split(x @ w[n]) for n in ("Wq", "Wk", "Wv"))
        o, p = attention_forward(q, k, v, causal=self.causal)
        merged = self._merge(o)
        self._cache = (x, q, k, v, p, merged, squeeze)
        y = merged @ w["Wo"]
        return y[0] if squeeze else y

    @property
    def probabilities(self) -> np.ndarray:
        """P of the last forward pass, (batch, heads, queries, keys)."""
        return self._saved()[4]

    def backward(self, grad: np.ndarray) -> np.ndarray:
        x, q, k, v, p, merged, squeeze = self._saved()
        grad = check_array(grad, "Attention.backward grad")
        grad = grad[None] if squeeze and grad.ndim == 2 else grad
        if grad.shape != x.shape:
            raise ValueError(f"Attention.backward: grad has shape {grad.shape}, expected "
                             f"{x.shape}")
        w = self.params
        flat = x.reshape(-1, self.d)
        self.grads["Wo"] = merged.reshape(-1, self.d).T @ grad.reshape(-1, self.d)
        dq, dk, dv = attention_backward(self._split(grad @ w["Wo"].T), q, k, v, p)
        dx = np.zeros_like(x)
        for name, dt in (("Wq", dq), ("Wk", dk), ("Wv", dv)):
            dt = self._merge(dt)
            self.grads[name] = flat.T @ dt.reshape(-1, self.d)
            dx += dt @ w[name].T
        return dx[0] if squeeze else dx

    def __repr__(self) -> str:
        return f"Attention({self.d}, n_heads={self.h}, causal={self.causal})"


class _Rows(Layer):
    """A 2-d layer applied to every token of a (B, n, d) array."""

    def __init__(self, layer: Layer):
        super().__init__()
        self.layer = layer
        self.params, self.grads = layer.params, layer.grads

    def forward(self, x: np.ndarray, *, train: bool) -> np.ndarray:
        self._cache = x.shape
        y = self.layer.forward(x.reshape(-1, x.shape[-1]), train=train)
        return y.reshape(*x.shape[:-1], y.shape[-1])

    def backward(self, grad: np.ndarray) -> np.ndarray:
        shape = self._saved()
        dx = self.layer.backward(grad.reshape(-1, grad.shape[-1]))
        self.grads = self.layer.grads
        return dx.reshape(shape)


class ResidualBlock(Layer):
    """A Transformer block: attention and a ReLU MLP (d → d_ff → d), each a residual
    branch with a LayerNorm, in one of two placements (Xiong et al. 2020):

    * ``norm="pre"`` (GPT-2):  h = x + a·Attn(LN₁(x)),  y = h + a·MLP(LN₂(h));
    * ``norm="post"`` (Vaswani et al. 2017):  h = LN₁(x + a·Attn(x)),  y = LN₂(h + a·MLP(h)).

    ``branch_scale`` a multiplies each branch's output (GPT-2 initialises the output
    projections scaled by 1/√(2N) for N blocks: a = 1/√(2N) is that scaling at
    initialisation). Backward is the chain rule through the sub-layers, each of which
    uses its generated kernels (attention_scores_backward, layernorm_backward_input)."""

    def __init__(self, d_model: int, n_heads: int = 1, d_ff: int | None = None, *,
                 norm: str = "pre", causal: bool = False, branch_scale: float = 1.0,
                 rng: np.random.Generator, dtype: Any = np.float64):
        super().__init__()
        if norm not in ("pre", "post"):
            raise ValueError(f"ResidualBlock: norm must be 'pre' or 'post', got {norm!r}")
        self.norm = norm
        self.d = check_count(d_model, "ResidualBlock: d_model")
        d_ff = check_count(d_ff if d_ff is not None else 4 * self.d, "ResidualBlock: d_ff")
        self.a = float(branch_scale)
        self.attn = Attention(self.d, n_heads, causal=causal, rng=rng, dtype=dtype)
        self.ln1 = _Rows(LayerNorm(self.d, dtype=dtype))
        self.ln2 = _Rows(LayerNorm(self.d, dtype=dtype))
        self.fc1 = _Rows(Linear(self.d, d_ff, rng=rng, dtype=dtype))
        self.relu = ReLU()
        self.fc2 = _Rows(Linear(d_ff, self.d, rng=rng, init=initialisers.xavier_normal,
                                dtype=dtype))
        self.parts = {"attn": self.attn, "ln1": self.ln1, "ln2": self.ln2,
                      "fc1": self.fc1, "fc2": self.fc2}

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {f"{n}.{k}": v for n, part in self.parts.items() for k, v in part.params.items()}

    @params.setter
    def params(self, value: dict) -> None:
        if value:
            raise AttributeError("ResidualBlock.params is read from its parts")

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return {f"{n}.{k}": v for n, part in self.parts.items() for k, v in part.grads.items()}

    @grads.setter
    def grads(self, value: dict) -> None:
        if value:
            raise AttributeError("ResidualBlock.grads is read from its parts")

    def _mlp(self, x: np.ndarray, train: bool) -> np.ndarray:
        return self.fc2.forward(self.relu.forward(self.fc1.forward(x, train=train),
                                                  train=train), train=train)

    def _mlp_back(self, g: np.ndarray) -> np.ndarray:
        return self.fc1.backward(self.relu.backward(self.fc2.backward(g)))

    def forward(self, x: np.ndarray, *, train: bool) -> np.ndarray:
        x, squeeze = _as_batch(x, "ResidualBlock input", self.d)
        self._cache = squeeze
        a = self.a
        if self.norm == "pre":
            h = x + a * self.attn.forward(self.ln1.forward(x, train=train), train=train)
            y = h + a * self._mlp(self.ln2.forward(h, train=train), train)
        else:
            h = self.ln1.forward(x + a * self.attn.forward(x, train=train), train=train)
            y = self.ln2.forward(h + a * self._mlp(h, train), train=train)
        return y[0] if squeeze else y

    def backward(self, grad: np.ndarray) -> np.ndarray:
        squeeze = self._saved()
        grad = check_array(grad, "ResidualBlock.backward grad")
        grad = grad[None] if squeeze and grad.ndim == 2 else grad
        a = self.a
        if self.norm == "pre":
            dh = grad + self.ln2.backward(self._mlp_back(a * grad))
            dx = dh + self.ln1.backward(self.attn.backward(a * dh))
        else:
            g = self.ln2.backward(grad)
            dh = g + self._mlp_back(a * g)
            g = self.ln1.backward(dh)
            dx = g + self.attn.backward(a * g)
        return dx[0] if squeeze else dx

    def __repr__(self) -> str:
        return f"ResidualBlock({self.d}, norm={self.norm!r}, branch_scale={self.a:g})"
