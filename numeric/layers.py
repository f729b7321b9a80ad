"""A small layer stack whose backward algebra is the generated kernels.

Protocol (every layer): ``forward(x, *, train) -> y``, ``backward(grad) -> grad_input``,
and the dicts ``params`` and ``grads`` (same keys; ``grads`` is filled by ``backward``).
A layer does shapes, batch reductions, caching and input checks; the algebra of its
backward pass is a kernel generated from a derivation (``numeric/kernels/*.py``), looked up
by name in ``K``. Exceptions, stated where they occur: Linear (matrix products, catalog
mlp-backprop) and Dropout (a fixed mask times a constant).

Batches are rows: x has shape (batch, features).
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .kernels import kernels as K

__all__ = [
    "CHUNK_BYTES",
    "ELU",
    "GELU",
    "SELU",
    "AlphaDropout",
    "BatchNorm",
    "Dropout",
    "Layer",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "PReLU",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "SoftmaxCrossEntropy",
    "Swish",
    "Tanh",
    "batchnorm_backward",
    "check_array",
    "layernorm_backward",
    "row_blocks",
    "softmax_cross_entropy",
]


def check_array(x: Any, name: str = "input", *, ndim: int | None = None,
                features: int | None = None) -> np.ndarray:
    """Return ``x`` as a float array, or raise ValueError saying what was wrong.

    Integer, boolean or complex input is refused (convert explicitly with
    ``x.astype(np.float64)``), as is NaN or infinity; ``ndim``/``features`` fix the rank
    and the size of the last axis.
    """
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{name}: expected a NumPy float array, got {type(x).__name__}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"{name}: expected a floating-point array (float32 or float64), "
                         f"got dtype {x.dtype}; convert with x.astype(np.float64)")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-d array, got shape {x.shape}")
    if features is not None and x.shape[-1] != features:
        raise ValueError(f"{name}: expected {features} features on the last axis, "
                         f"got shape {x.shape}")
    if not np.isfinite(x).all():
        bad = np.argwhere(~np.isfinite(x))[0]
        raise ValueError(f"{name}: expected finite values, found {x[tuple(bad)]} at index "
                         f"{tuple(int(i) for i in bad)}")
    return x


# Bytes of one array's row chunk: 384 KiB, so that the chunks of g, x̂ and dx (or of z, y
# and dL/dz) together stay in the 2 MiB L2 cache of the benchmark machine while a generated
# kernel makes its several passes over them. Chosen by measurement:
# `python benchmarks/bench_kernels.py --sweep` times 64 KiB ... 2 MiB (benchmarks/RESULTS.md);
# 256-512 KiB were equal within noise at (4096, 4096), 384 KiB is the middle of that plateau.
CHUNK_BYTES = 3 << 17


def check_count(value: Any, name: str) -> int:
    """A whole number ≥ 1 (a layer width): 2.7 or True is refused, never truncated."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number ≥ 1, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a whole number ≥ 1, got {value!r}")
    return int(value)


def check_positive(value: Any, name: str) -> float:
    """A finite real number > 0 (eps): NaN, ±inf and non-numbers are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive real number, got {value!r}")
    number = float(value)
    if not (np.isfinite(number) and number > 0):
        raise ValueError(f"{name} must be a finite positive number, got {value!r}")
    return number


def _row_chunks(n_rows: int, n_cols: int, itemsize: int, chunk_bytes: int | None = None):
    """Row slices of about ``chunk_bytes`` (default CHUNK_BYTES) each, at least one row.

    Cache blocking: a chain of NumPy ufuncs applied to a whole array streams it through
    main memory once per ufunc; applied chunk by chunk (with out= into chunk views) only the
    first pass over a chunk reads memory and the others hit cache."""
    step = max(1, (chunk_bytes or CHUNK_BYTES) // max(1, n_cols * itemsize))
    return [slice(i, min(i + step, n_rows)) for i in range(0, n_rows, step)]


def row_blocks(n_rows: int, row_bytes: int, block_bytes: int = CHUNK_BYTES):
    """Row slices of about ``block_bytes``; kept for callers of the old name."""
    return _row_chunks(n_rows, row_bytes, 1, block_bytes)


def batchnorm_backward(grad: np.ndarray, xhat: np.ndarray, gamma: np.ndarray,
                       inv_std: np.ndarray, *, train: bool = True,
                       out: np.ndarray | None = None, chunk_bytes: int | None = None,
                       _chunks: list | None = None) -> tuple:
    """(dx, dγ, dβ) of y = γx̂ + β, x̂ the batch-normalised x (kernel batchnorm_backward_input).

    Two passes over row chunks (_row_chunks): (1) the reductions dβ = Σg and dγ = Σg·x̂ per
    feature: g·x̂ goes into a chunk-sized scratch that stays in cache, each chunk is summed
    over its rows and added to a float64 accumulator (for float32 input the rounding error
    then grows with the chunk's rows, not with the batch size); (2) the generated kernel
    evaluated in place into ``out`` chunk by chunk. Main-memory traffic is then about five
    arrays: g and x̂ read twice, dx written. In eval mode (running statistics) the
    batch-mean terms vanish. ``out`` (allocated if not given) must not overlap g.
    (``_chunks`` replaces the row slices: the benchmark uses it to time the same calls on
    cache-resident data; the results are then meaningless.)"""
    m, c = grad.shape
    chunks = _row_chunks(m, c, grad.itemsize, chunk_bytes) if _chunks is None else _chunks
    acc = np.promote_types(grad.dtype, np.float64)
    g_sum, g_xhat_sum = np.zeros(c, acc), np.zeros(c, acc)
    scratch = np.empty((chunks[0].stop - chunks[0].start if chunks else 0, c),
                       np.result_type(grad, xhat))
    part = np.empty(c, scratch.dtype)
    for b in chunks:
        s = scratch[:b.stop - b.start]
        np.multiply(grad[b], xhat[b], out=s)  # reads g and x̂ from memory ...
        g_xhat_sum += np.sum(s, axis=0, out=part)
        g_sum += np.sum(grad[b], axis=0, out=part)  # ... and g again from cache
    if train and m:
        g_mean, g_xhat_mean = (g_sum / m).astype(scratch.dtype), \
            (g_xhat_sum / m).astype(scratch.dtype)
    else:
        g_mean = g_xhat_mean = np.zeros(c, scratch.dtype)
    out = np.empty(grad.shape, scratch.dtype) if out is None else out
    for b in chunks:
        K.batchnorm_backward_input(grad[b], xhat[b], g_mean, g_xhat_mean, gamma, inv_std,
                                   out=out[b])
    return out, g_xhat_sum.astype(scratch.dtype), g_sum.astype(scratch.dtype)


def layernorm_backward(grad: np.ndarray, xhat: np.ndarray, gamma: np.ndarray,
                       inv_std: np.ndarray, *, out: np.ndarray | None = None,
                       chunk_bytes: int | None = None) -> tuple:
    """(dx, dγ, dβ) of y = γx̂ + β, x̂ the row-normalised x (kernel layernorm_backward_input);
    ``inv_std`` has shape (rows, 1).

    One pass over row chunks (_row_chunks): the kernel's reductions are per row, so each
    chunk has all it needs: g·x̂ into a cache-resident scratch, the row means
    (1/D)Σ_k γ_k g_k and (1/D)Σ_k γ_k g_k x̂_k (matrix-vector products with γ), the kernel
    into ``out``'s chunk, and the per-feature sums dβ = Σg, dγ = Σg·x̂ accumulated over
    chunks in float64 (as in batchnorm_backward)."""
    m, c = grad.shape
    chunks = _row_chunks(m, c, grad.itemsize, chunk_bytes)
    dtype = np.result_type(grad, xhat)
    acc = np.promote_types(dtype, np.float64)
    dgamma, dbeta = np.zeros(c, acc), np.zeros(c, acc)
    scratch = np.empty((chunks[0].stop - chunks[0].start if chunks else 0, c), dtype)
    part = np.empty(c, dtype)
    out = np.empty(grad.shape, dtype) if out is None else out
    for b in chunks:
        gb, xb, s = grad[b], xhat[b], scratch[:b.stop - b.start]
        np.multiply(gb, xb, out=s)
        dgamma += np.sum(s, axis=0, out=part)
        dbeta += np.sum(gb, axis=0, out=part)
        g_mean = np.einsum("ij,j->i", gb, gamma)[:, None] / c
        g_xhat_mean = np.einsum("ij,j->i", s, gamma)[:, None] / c
        K.layernorm_backward_input(gb, xb, g_mean, g_xhat_mean, gamma, inv_std[b], out=out[b])
    return out, dgamma.astype(dtype), dbeta.astype(dtype)


def softmax_cross_entropy(z: np.ndarray, y: np.ndarray, *,
                          grad_out: np.ndarray | None = None,
                          chunk_bytes: int | None = None) -> tuple[float, np.ndarray]:
    """(mean loss, dL/dz) of softmax cross-entropy for logits z and label rows y (dense).

    Per row chunk (_row_chunks), with every exponential computed once:
    z_max = max_k z_k and e = exp(z − z_max) written into dL/dz's chunk, s = Σ_k e_k;
    log p = log_softmax(z, z_max, log s) (kernel) into a cache-resident scratch for the loss
    −Σ y·log p; then dL/dz = softmax_ce_gradient(p, y, Σy)/n = (p·Σy − y)/n with p = e/s,
    evaluated as softmax_ce_gradient(e, y, Σy/s) in place (the kernel's p·y_sum with the
    row factor 1/s moved onto y_sum: e·(Σy/s) = p·Σy)."""
    n, c = z.shape
    grad_out = np.empty_like(z) if grad_out is None else grad_out
    chunks = _row_chunks(n, c, z.itemsize, chunk_bytes)
    scratch = np.empty((chunks[0].stop - chunks[0].start if chunks else 0, c), z.dtype)
    total = 0.0
    for b in chunks:
        zb, yb, e = z[b], y[b], grad_out[b]
        z_max = zb.max(axis=1, keepdims=True)
        with np.errstate(over="ignore"):  # z − z_max = −inf for |z| near 1e308: exp gives 0
            np.subtract(zb, z_max, out=e)
            np.exp(e, out=e)
            sum_exp = e.sum(axis=1, keepdims=True)
            log_p = K.log_softmax(zb, z_max, np.log(sum_exp), out=scratch[:b.stop - b.start])
        # a class with label weight 0 adds nothing, even where log p = −inf (0·inf = NaN)
        np.copyto(log_p, 0.0, where=(yb == 0))
        # einsum, not vdot: BLAS ddot's threads fight a loaded process (10× slower seen)
        total -= float(np.einsum("ij,ij->", yb, log_p))
        K.softmax_ce_gradient(e, yb, yb.sum(axis=1, keepdims=True) / sum_exp, out=e)
        e /= n  # the mean over the batch, while the chunk is in cache
    return total / max(n, 1), grad_out


class Layer:
    """Base class: no parameters; subclasses set ``params`` and fill ``grads``."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self._cache: Any = None

    def forward(self, x: np.ndarray, *, train: bool) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _saved(self) -> Any:
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return self._cache

    def _check_grad(self, grad: Any, shape: tuple) -> np.ndarray:
        grad = check_array(grad, f"{type(self).__name__}.backward grad")
        if grad.shape != shape:
            raise ValueError(f"{type(self).__name__}.backward: grad has shape {grad.shape}, "
                             f"expected the forward output's shape {shape}")
        return grad

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Linear(Layer):
    """y = x W + b with W of shape (n_in, n_out).

    Backward (matrix products, catalog mlp-backprop, 000 §3.1): dW = xᵀg, db = Σ_rows g,
    dx = g Wᵀ. ``init`` is a function (rng, n_in, n_out) -> W from ``numeric.init``.
    """

    def __init__(self, n_in: int, n_out: int, *, rng: np.random.Generator,
                 init: Any = None, dtype: Any = np.float64):
        super().__init__()
        from . import init as initialisers
        if not isinstance(rng, np.random.Generator):
            raise TypeError("Linear: rng must be a numpy.random.Generator "
                            "(e.g. np.random.default_rng(0))")
        init = init or initialisers.he_normal
        self.n_in = check_count(n_in, "Linear: n_in")
        self.n_out = check_count(n_out, "Linear: n_out")
        self.params = {"W": np.asarray(init(rng, self.n_in, self.n_out), dtype=dtype),
                       "b": np.zeros(self.n_out, dtype=dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x: np.ndarray, *, train: bool) -> np.ndarray:
        x = check_array(x, "Linear input", ndim=2, features=self.n_in)
        self._cache = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, grad: np.ndarray) -> np.ndarray:
        x = self._saved()
        grad = self._check_grad(grad, (x.shape[0], self.n_out))
        self.grads["W"] = x.T @ grad
        self.grads["b"] = grad.sum(axis=0)
        return grad @ self.params["W"].T

    def __repr__(self) -> str:
        return f"Linear({self.n_in}, {self.n_out})"


class BatchNorm(Layer):
    """Batch normalisation over the rows of x (one statistic per feature column).

    Train: x̂ = (x − μ_B)/√(ν_B + ε) with the batch mean and the biased batch variance;
    y = γx̂ + β. Eval: the running statistics replace μ_B, ν_B.
    Running statistics (PyTorch's convention): r ← (1 − momentum)·r + momentum·batch, with
    ``momentum`` = 0.1 the weight of the NEW batch; the running variance is updated with
    the unbiased batch variance ν_B·m/(m − 1). Backward (batchnorm-backward, 001 eq. 36/37):
    dx = γ/√(ν+ε)·(g − mean g − x̂·mean(g x̂)), dγ = Σ g x̂, dβ = Σ g. Training mode refuses a
    batch of one: every normalised value would be 0 (003 §3b).
    """

    def __init__(self, n_features: int, *, momentum: float = 0.1, eps: float = 1e-5,
                 dtype: Any = np.float64):
        super().__init__()
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNorm: momentum must be in [0, 1], got {momentum}")
        self.n = check_count(n_features, "BatchNorm: n_features")
        self.eps = check_positive(eps, "BatchNorm: eps")
        self.momentum = float(momentum)
        self.params = {"gamma": np.ones(self.n, dtype=dtype),
                       "beta": np.zeros(self.n, dtype=dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.running_mean = np.zeros(self.n, dtype=dtype)
        self.running_var = np.ones(self.n, dtype=dtype)

    def forward(self, x: np.ndarray, *, train: bool) -> np.ndarray:
        x = check_array(x, "BatchNorm input", ndim=2, features=self.n)
        m = x.shape[0]
        if train:
            if m < 2:
                raise ValueError(f"BatchNorm in training mode needs a batch of at least 2 "
                                 f"rows, got {m}: with one row every normalised value is 0 "
                                 f"(use train=False to normalise with running statistics)")
            mean = x.mean(axis=0)
            var = x.var(axis=0)
            w = self.momentum
            self.running_mean = (1 - w) * self.running_mean + w * mean
            self.running_var = (1 - w) * self.running_var + w * var * (m / (m - 1))
        else:
            mean, var = self.running_mean, self.running_var
        # 1/√(ν + ε): the normalisation kernel applied to x − μ = 1 (one formula, not two)
        inv_std = K.batchnorm_normalize(1.0, 0.0, var, self.eps)
        xhat = K.batchnorm_normalize(x, mean, var, self.eps)
        self._cache = (xhat, inv_std, train)
        return K.batchnorm_affine(xhat, self.params["gamma"], self.params["beta"])

    def backward(self, grad: np.ndarray) -> np.ndarray:
        xhat, inv_std, train = self._saved()
        grad = self._check_grad(grad, xhat.shape)
        dx, self.grads["gamma"], self.grads["beta"] = batchnorm_backward(
            grad, xhat, self.params["gamma"], inv_std, train=train)
        return dx

    def __repr__(self) -> str:
        return f"BatchNorm({self.n}, momentum={self.momentum}, eps={self.eps})"


class LayerNorm(Layer):
    """Layer normalisation: the BatchNorm algebra along each row (layernorm-forward/backward,
    003 §2). x̂ = (x − μ_row)/√(ν_row + ε), y = γx̂ + β with γ, β per feature; the same in
    train and eval (no running statistics; the output of a row does not depend on the batch).
    Backward: with ĝ = γ·g (the gradient reaching x̂),
    dx = (1/√(ν+ε))·(γg − mean_row ĝ − x̂·mean_row(ĝ x̂)).
    """

    def __init__(self, n_features: int, *, eps: float = 1e-5, dtype: Any = np.float64):
        super().__init__()
        self.n = check_count(n_features, "LayerNorm: n_features")
        self.eps = check_positive(eps, "LayerNorm: eps")
        self.params = {"gamma": np.ones(self.n, dtype=dtype),
                       "beta": np.zeros(self.n, dtype=dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x: np.ndarray, *, train: bool) -> np.ndarray:
        x = check_array(x, "LayerNorm input", ndim=2, features=self.n)
        mean = x.mean(axis=1, keepdims=True)
        var = x.var(axis=1, keepdims=True)
        inv_std = K.layernorm_normalize(1.0, 0.0, var, self.eps)  # 1/√(ν + ε), as in BatchNorm
        xhat = K.layernorm_normalize(x, mean, var, self.eps)
        self._cache = (xhat, inv_std)
        # the affine part is BatchNorm's kernel with per-feature γ, β (layernorm-forward)
        return K.batchnorm_affine(xhat, self.params["gamma"], self.params["beta"])

    def backward(self, grad: np.ndarray) -> np.ndarray:
        xhat, inv_std = self._saved()
        grad = self._check_grad(grad, xhat.shape)
        dx, self.grads["gamma"], self.grads["beta"] = layernorm_backward(
            grad, xhat, self.params["gamma"], inv_std)
        return dx

    def __repr__(self) -> str:
        return f"LayerNorm({self.n}, eps={self.eps})"


class Dropout(Layer):
    """Inverted dropout. ``p_drop`` is the DROP probability (000, 003 convention; 002 writes p
    for the keep probability): each unit is kept with probability 1 − p_drop and scaled by
    1/(1 − p_drop) in training, so E[y] = x (dropout-mean); eval is the identity.
    p_drop = 0 is the identity; p_drop = 1 outputs zeros and passes zero gradients.
    Backward: dx = g·mask/(1 − p_drop) (a fixed mask times a constant; no kernel needed).
    ``freeze_mask = True`` reuses the last mask (for gradient checks).
    """

    def __init__(self, p_drop: float, *, rng: np.random.Generator):
        super().__init__()
        if isinstance(p_drop, bool) or not isinstance(p_drop, numbers.Real) \
                or not 0.0 <= float(p_drop) <= 1.0:
            raise ValueError(f"Dropout: p_drop (the probability of DROPPING a unit) must be "
                             f"in [0, 1], got {p_drop!r}")
        if not isinstance(rng, np.random.Generator):
            raise TypeError("Dropout: rng must be a numpy.random.Generator")
        self.p_drop: float = float(p_drop)
        self.rng: np.random.Generator = rng
        self.freeze_mask: bool = False
        self.mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, *, train: bool) -> np.ndarray:
        x = check_array(x, "Dropout input")
        if not train or self.p_drop == 0.0:
            self._cache = ("identity", x.shape)
            return x
        if self.p_drop == 1.0:
            self._cache = ("zero", x.shape)
            return np.zeros_like(x)
        if not (self.freeze_mask and self.mask is not None and self.mask.shape == x.shape):
            keep = self.rng.random(x.shape) >= self.p_drop
            self.mask = keep.astype(x.dtype) / (1.0 - self.p_drop)
        self._cache = ("mask", x.shape)
        return x * self.mask

    def backward(self, grad: np.ndarray) -> np.ndarray:
        kind, shape = self._saved()
        grad = self._check_grad(grad, shape)
        if kind == "identity":
            return grad
        if kind == "zero":
            return np.zeros_like(grad)
        return grad * self.mask

    def __repr__(self) -> str:
        return f"Dropout(p_drop={self.p_drop})"


class AlphaDropout(Layer):
    """Alpha dropout for SELU networks (Klambauer et al. 2017; catalog alpha-dropout).

    ``p_drop`` is the DROP probability, as in ``Dropout`` and torch's ``AlphaDropout(p)``;
    the keep probability is q = 1 − p_drop. In training each unit is kept with probability
    q, a dropped unit is set to α′ = −λα (SELU's negative saturation), and then
    y = a(q)·x̃ + b(q) with a = (q + α′²q(1 − q))^(−1/2), b = −a(1 − q)α′: inputs of mean 0
    and variance 1 keep mean 0 and variance 1. Eval (and p_drop = 0) is the identity.
    Forward and backward (dx = a·m·g) are the generated kernels alpha_dropout_forward and
    alpha_dropout_backward. ``freeze_mask = True`` reuses the last mask (gradient checks).
    """

    def __init__(self, p_drop: float, *, rng: np.random.Generator):
        super().__init__()
        if isinstance(p_drop, bool) or not isinstance(p_drop, numbers.Real) \
                or not 0.0 <= float(p_drop) < 1.0:
            raise ValueError(f"AlphaDropout: p_drop (the probability of DROPPING a unit) must "
                             f"be in [0, 1), got {p_drop!r}")
        if not isinstance(rng, np.random.Generator):
            raise TypeError("AlphaDropout: rng must be a numpy.random.Generator")
        self.p_drop: float = float(p_drop)
        self.rng: np.random.Generator = rng
        self.freeze_mask: bool = False
        self.mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, *, train: bool) -> np.ndarray:
        x = check_array(x, "AlphaDropout input")
        if not train or self.p_drop == 0.0:
            self._cache = ("identity", x.shape)
            return x
        if not (self.freeze_mask and self.mask is not None and self.mask.shape == x.shape):
            self.mask = (self.rng.random(x.shape) >= self.p_drop).astype(x.dtype)
        self._cache = ("mask", x.shape)
        return K.alpha_dropout_forward(x, self.mask, 1.0 - self.p_drop).astype(x.dtype,
                                                                              copy=False)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        kind, shape = self._saved()
        grad = self._check_grad(grad, shape)
        if kind == "identity":
            return grad
        return K.alpha_dropout_backward(grad, self.mask, 1.0 - self.p_drop).astype(
            grad.dtype, copy=False)

    def __repr__(self) -> str:
        return f"AlphaDropout(p_drop={self.p_drop})"


class _Elementwise(Layer):
    """y = f(x) elementwise; dx = g·f'(x) with f' a generated kernel."""

    def forward(self, x: np.ndarray, *, train: bool) -> np.ndarray:
        x = check_array(x, f"{type(self).__name__} input")
        self._cache = x
        return self.f(x)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        x = self._saved()
        grad = self._check_grad(grad, x.shape)
        return (grad * self.df(x)).astype(grad.dtype, copy=False)

    def f(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def df(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class ReLU(_Elementwise):
    """max(x, 0); derivative relu_grad, 0 at x = 0 (relu-family convention)."""

    def f(self, x):
        return np.maximum(x, 0)

    def df(self, x):
        return K.relu_grad(x)


class LeakyReLU(_Elementwise):
    """x for x > 0, a·x otherwise (relu-family); slope ``a`` = 0.01 by default."""

    def __init__(self, a: float = 0.01):
        super().__init__()
        self.a = float(a)

    def f(self, x):
        return K.leaky_relu(x, self.a)

    def df(self, x):
        return K.leaky_relu_grad(x, self.a)

    def __repr__(self):
        return f"LeakyReLU(a={self.a})"


class PReLU(_Elementwise):
    """Leaky ReLU with a learned slope α (one per feature), initialised to 0.25.

    dx = g·leaky_relu_grad(x, α); dα = Σ_rows g·prelu_grad_alpha(x) (relu-family)."""

    def __init__(self, n_features: int, alpha: float = 0.25, dtype: Any = np.float64):
        super().__init__()
        self.params = {"alpha": np.full(int(n_features), alpha, dtype=dtype)}
        self.grads = {"alpha": np.zeros(int(n_features), dtype=dtype)}

    def forward(self, x, *, train):
        x = check_array(x, "PReLU input", ndim=2, features=self.params["alpha"].size)
        self._cache = x
        return K.leaky_relu(x, self.params["alpha"])

    def backward(self, grad):
        x = self._saved()
        grad = self._check_grad(grad, x.shape)
        self.grads["alpha"] = (grad * K.prelu_grad_alpha(x)).sum(axis=0)
        return grad * K.leaky_relu_grad(x, self.params["alpha"])


class ELU(_Elementwise):
    """x for x > 0, α(eˣ − 1) otherwise (elu-derivative); α = 1 by default."""

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = float(alpha)

    def f(self, x):
        return K.elu(x, self.alpha)

    def df(self, x):
        return K.elu_grad(x, self.alpha)


class SELU(_Elementwise):
    """λ·ELU_α with the fixed-point constants α, λ of selu-fixed-point."""

    def f(self, x):
        return K.selu(x)

    def df(self, x):
        return K.selu_grad(x)


class GELU(_Elementwise):
    """x·Φ(x) (``approximate="none"``, erf via scipy.special) or the tanh form
    (``approximate="tanh"``, coefficient 0.044715); catalog gelu."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def f(self, x):
        return K.gelu(x) if self.approximate == "none" else K.gelu_tanh(x)

    def df(self, x):
        return K.gelu_grad(x) if self.approximate == "none" else K.gelu_tanh_grad(x)

    def __repr__(self):
        return f"GELU(approximate={self.approximate!r})"


class Swish(_Elementwise):
    """x·σ(βx) (catalog swish); β = 1 is SiLU."""

    def __init__(self, beta: float = 1.0):
        super().__init__()
        self.beta = float(beta)

    def f(self, x):
        return K.swish(x, self.beta)

    def df(self, x):
        return K.swish_grad(x, self.beta)


class Sigmoid(_Elementwise):
    """σ(x) = 1/(1 + e^{−x}); σ' = σ(1 − σ) (sigmoid-derivative)."""

    def f(self, x):
        return K.sigmoid(x)

    def df(self, x):
        return K.sigmoid_grad(x)


class Tanh(_Elementwise):
    """tanh x; tanh' = 1 − tanh² (tanh-derivative)."""

    def f(self, x):
        return np.tanh(x)

    def df(self, x):
        return K.tanh_grad(x)


class SoftmaxCrossEntropy:
    """Mean cross-entropy of softmax(z) against labels, computed with log-sum-exp.

    ``forward(z, y)`` takes logits (batch, classes) and either integer class indices
    (batch,) or a label distribution (batch, classes) (rows need not sum to 1: the gradient
    is p·Σ_k y_k − y, softmax-ce-gradient). With z_max the row maximum and
    s = Σ exp(z − z_max): log p = z − z_max − log s (stable-softmax), finite for |z| = 1e4.
    ``backward()`` returns dL/dz for the mean over the batch.
    """

    def __init__(self) -> None:
        self._cache: Any = None
        self.params: dict = {}
        self.grads: dict = {}

    def forward(self, z: np.ndarray, y: Any) -> float:
        z = check_array(z, "SoftmaxCrossEntropy logits", ndim=2)
        n, c = z.shape
        y = self._labels(y, n, c, z.dtype)
        loss, grad = softmax_cross_entropy(z, y)
        self._cache = grad
        return loss

    def backward(self) -> np.ndarray:
        """dL/dz of the last forward (computed with it: the gradient reuses p)."""
        if self._cache is None:
            raise RuntimeError("SoftmaxCrossEntropy.backward called before forward")
        return self._cache

    @staticmethod
    def _labels(y: Any, n: int, c: int, dtype: Any) -> np.ndarray:
        y = np.asarray(y)
        if y.ndim == 1:
            if not np.issubdtype(y.dtype, np.integer):
                raise ValueError(f"SoftmaxCrossEntropy: 1-d labels must be integer class "
                                 f"indices, got dtype {y.dtype}")
            if y.shape[0] != n:
                raise ValueError(f"SoftmaxCrossEntropy: {y.shape[0]} labels for {n} rows "
                                 f"of logits")
            if y.size and (y.min() < 0 or y.max() >= c):
                raise ValueError(f"SoftmaxCrossEntropy: class indices must be in [0, {c}), "
                                 f"got range [{y.min()}, {y.max()}]")
            onehot = np.zeros((n, c), dtype=dtype)
            onehot[np.arange(n), y] = 1
            return onehot
        y = check_array(y.astype(dtype) if np.issubdtype(y.dtype, np.floating) else y,
                        "SoftmaxCrossEntropy labels")
        if y.shape != (n, c):
            raise ValueError(f"SoftmaxCrossEntropy: label distribution of shape {y.shape}, "
                             f"expected the logits' shape {(n, c)}")
        return y

    def __repr__(self) -> str:
        return "SoftmaxCrossEntropy()"


class Sequential(Layer):
    """Layers applied in order; ``params``/``grads`` are keyed ``"<index>.<name>"``."""

    def __init__(self, *layers: Layer):
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential: argument {i} is {type(layer).__name__} "
                                f"{layer!r:.40}; expected a layer such as Linear(...), "
                                "ReLU() or BatchNorm(...)")
        self.layers = list(layers)

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {f"{i}.{k}": v for i, l in enumerate(self.layers) for k, v in l.params.items()}

    @params.setter
    def params(self, value: dict) -> None:
        if value:
            raise AttributeError("Sequential.params is read from its layers")

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return {f"{i}.{k}": v for i, l in enumerate(self.layers) for k, v in l.grads.items()}

    @grads.setter
    def grads(self, value: dict) -> None:
        if value:
            raise AttributeError("Sequential.grads is read from its layers")

    def forward(self, x: np.ndarray, *, train: bool) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, train=train)
        return x

    def backward(self, grad: np.ndarray) -> np.ndarray:
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    def __repr__(self) -> str:
        inner = ",\n  ".join(map(repr, self.layers))
        return f"Sequential(\n  {inner}\n)"
