"""Reference layers in plain functional form, computed in float64 from the generated kernels.

A course (or ``proofs.testing.assert_forward``) calls these to get the right answer for a
layer students implement. Every function converts its inputs to float64, uses the kernels
``nnmath codegen`` generated from the derivations (``numeric.kernels``) or the layer
helpers of ``numeric.layers`` built on them, returns float64 arrays and never writes into
its arguments. Conventions (those of 000/001/003 and ``numeric.layers``):

* batches are rows: x has shape (N, D); an affine layer is ``out = x @ w + b`` with
  w of shape (D, M) and b of shape (M,) (the CS231n layout);
* BatchNorm in training mode: per feature column, the batch mean μ and the BIASED batch
  variance ν = mean((x − μ)²); x̂ = (x − μ)/√(ν + ε), out = γ x̂ + β (batchnorm-forward);
  backward dx = γ/√(ν+ε)·(g − mean g − x̂·mean(g x̂)), dγ = Σ g x̂, dβ = Σ g
  (batchnorm-backward, 001 eq. 36/37);
* LayerNorm: the same algebra along each row, γ and β per feature (layernorm-forward,
  layernorm-backward, 003 §2);
* dropout: ``p_drop`` is the probability of DROPPING a unit and ``mask`` the 0/1 keep mask;
  inverted dropout out = x·mask/(1 − p_drop) (dropout-mean);
* softmax cross-entropy: the MEAN over the batch of −log softmax(z)_label, computed with
  the max-shift (stable-softmax); labels are class indices (N,) or distributions (N, C);
  the gradient is (softmax(z)·Σy − y)/N (softmax-ce-gradient);
* ReLU'(0) = 0 (relu-family); every activation of ``numeric.layers`` has a
  ``<name>_forward(x, ...)`` and ``<name>_backward(dout, x, ...)`` = dout·f'(x).

Example::

    >>> import numpy as np
    >>> from numeric import reference as R
    >>> x = np.array([[1.0, 2.0], [3.0, 5.0]])
    >>> R.batchnorm_forward(x, np.ones(2), np.zeros(2), 0.0).tolist()
    [[-1.0, -1.0], [1.0, 1.0]]
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import layers as _layers
from .kernels import kernels as K

__all__ = [
    "affine_backward",
    "affine_forward",
    "batchnorm_backward",
    "batchnorm_forward",
    "dropout_backward",
    "dropout_forward",
    "elu_backward",
    "elu_forward",
    "gelu_backward",
    "gelu_forward",
    "he_normal_std",
    "layernorm_backward",
    "layernorm_forward",
    "leaky_relu_backward",
    "leaky_relu_forward",
    "relu_backward",
    "relu_forward",
    "selu_backward",
    "selu_forward",
    "sigmoid_backward",
    "sigmoid_forward",
    "softmax",
    "softmax_cross_entropy",
    "swish_backward",
    "swish_forward",
    "tanh_backward",
    "tanh_forward",
]


def _f64(a: Any) -> np.ndarray:
    return np.array(a, dtype=np.float64, copy=True)


def affine_forward(x: Any, w: Any, b: Any) -> np.ndarray:
    """out = x·w + b for x (N, D), w (D, M), b (M,); an input of more than two axes is
    flattened to (N, D) first (the CS231n convention)."""
    x, w, b = _f64(x), _f64(w), _f64(b)
    return x.reshape(x.shape[0], -1) @ w + b


def affine_backward(dout: Any, x: Any, w: Any, b: Any) -> tuple:
    """(dx, dw, db) of out = x·w + b: dx = dout·wᵀ (shaped like x), dw = xᵀ·dout,
    db = Σ_rows dout (mlp-backprop: ∂ℓ/∂W = δ hᵀ in the column convention)."""
    dout, x, w = _f64(dout), _f64(x), _f64(w)
    flat = x.reshape(x.shape[0], -1)
    return (dout @ w.T).reshape(x.shape), flat.T @ dout, dout.sum(axis=0)


def relu_forward(x: Any) -> np.ndarray:
    """max(x, 0) elementwise."""
    return np.maximum(_f64(x), 0.0)


def relu_backward(dout: Any, x: Any) -> np.ndarray:
    """dout·ReLU'(x) with ReLU'(0) = 0 (kernel relu_grad)."""
    return _f64(dout) * K.relu_grad(_f64(x))


def _bn_stats(x: np.ndarray, axis: int, eps: float) -> tuple:
    mean = x.mean(axis=axis, keepdims=True)
    var = x.var(axis=axis, keepdims=True)  # biased (ddof = 0)
    return mean, var, 1.0 / np.sqrt(var + eps)


def batchnorm_forward(x: Any, gamma: Any, beta: Any, eps: float) -> np.ndarray:
    """Training-mode BatchNorm of x (N, D): γ(x − μ)/√(ν + ε) + β with μ, ν the batch mean
    and biased batch variance of each column (kernels batchnorm_normalize, batchnorm_affine)."""
    x = _f64(x)
    mean, var, _ = _bn_stats(x, 0, float(eps))
    return K.batchnorm_affine(K.batchnorm_normalize(x, mean, var, float(eps)), _f64(gamma),
                              _f64(beta))


def batchnorm_backward(dout: Any, x: Any, gamma: Any, beta: Any, eps: float) -> tuple:
    """(dx, dγ, dβ) of training-mode BatchNorm (kernel batchnorm_backward_input through
    ``numeric.layers.batchnorm_backward``); β does not enter the gradients."""
    x, g = _f64(x), _f64(dout)
    mean, var, inv_std = _bn_stats(x, 0, float(eps))
    xhat = K.batchnorm_normalize(x, mean, var, float(eps))
    dx, dgamma, dbeta = _layers.batchnorm_backward(g, xhat, _f64(gamma), inv_std[0])
    return dx, dgamma, dbeta


def layernorm_forward(x: Any, gamma: Any, beta: Any, eps: float) -> np.ndarray:
    """LayerNorm of each row of x (N, D): γ(x − μ_row)/√(ν_row + ε) + β, biased row variance
    (kernel layernorm_normalize)."""
    x = _f64(x)
    mean, var, _ = _bn_stats(x, 1, float(eps))
    return _f64(gamma) * K.layernorm_normalize(x, mean, var, float(eps)) + _f64(beta)


def layernorm_backward(dout: Any, x: Any, gamma: Any, beta: Any, eps: float) -> tuple:
    """(dx, dγ, dβ) of LayerNorm (kernel layernorm_backward_input through
    ``numeric.layers.layernorm_backward``)."""
    x, g = _f64(x), _f64(dout)
    mean, var, inv_std = _bn_stats(x, 1, float(eps))
    xhat = K.layernorm_normalize(x, mean, var, float(eps))
    return _layers.layernorm_backward(g, xhat, _f64(gamma), inv_std)


def _keep_scale(p_drop: float) -> float:
    if not 0.0 <= float(p_drop) < 1.0:
        raise ValueError(f"p_drop (the probability of DROPPING a unit) must be in [0, 1), "
                         f"got {p_drop!r}")
    return 1.0 / (1.0 - float(p_drop))


def dropout_forward(x: Any, mask: Any, p_drop: float) -> np.ndarray:
    """Inverted dropout with a given 0/1 keep mask: x·mask/(1 − p_drop), so E[out] = x."""
    return _f64(x) * _f64(mask) * _keep_scale(p_drop)


def dropout_backward(dout: Any, mask: Any, p_drop: float) -> np.ndarray:
    """dout·mask/(1 − p_drop): the same fixed mask and scale as the forward pass."""
    return _f64(dout) * _f64(mask) * _keep_scale(p_drop)


def softmax(z: Any) -> np.ndarray:
    """Row-wise softmax with the max-shift (kernel softmax_shifted), finite for any finite z."""
    z = _f64(z)
    z_max = z.max(axis=-1, keepdims=True)
    return K.softmax_shifted(z, z_max, np.exp(z - z_max).sum(axis=-1, keepdims=True))


def softmax_cross_entropy(logits: Any, labels: Any) -> tuple[float, np.ndarray]:
    """(mean loss, dlogits) of softmax cross-entropy over the rows of ``logits`` (N, C);
    ``labels`` are class indices (N,) or label distributions (N, C)
    (``numeric.layers.softmax_cross_entropy``: log-sum-exp, every exponential once)."""
    z = _f64(logits)
    if z.ndim != 2:
        raise ValueError(f"softmax_cross_entropy: logits must have shape (N, C), got {z.shape}")
    y = _layers.SoftmaxCrossEntropy._labels(labels, z.shape[0], z.shape[1], np.float64)
    return _layers.softmax_cross_entropy(z, _f64(y))


def he_normal_std(fan_in: Any) -> Any:
    """He (Kaiming) normal standard deviation √(2/fan_in) (kernel he_normal_std, 002 §9.4)."""
    return K.he_normal_std(np.asarray(fan_in, dtype=np.float64))


# ---- the other activations of numeric.layers: forward f(x) and backward dout·f'(x) --------
def sigmoid_forward(x: Any) -> np.ndarray:
    """σ(x) = 1/(1 + e^{−x}) (kernel sigmoid, overflow-free)."""
    return K.sigmoid(_f64(x))


def sigmoid_backward(dout: Any, x: Any) -> np.ndarray:
    """dout·σ(x)(1 − σ(x)) (kernel sigmoid_grad)."""
    return _f64(dout) * K.sigmoid_grad(_f64(x))


def tanh_forward(x: Any) -> np.ndarray:
    """tanh x."""
    return np.tanh(_f64(x))


def tanh_backward(dout: Any, x: Any) -> np.ndarray:
    """dout·(1 − tanh² x) (kernel tanh_grad)."""
    return _f64(dout) * K.tanh_grad(_f64(x))


def leaky_relu_forward(x: Any, a: float = 0.01) -> np.ndarray:
    """x for x > 0, a·x otherwise (kernel leaky_relu)."""
    return K.leaky_relu(_f64(x), float(a))


def leaky_relu_backward(dout: Any, x: Any, a: float = 0.01) -> np.ndarray:
    """dout·(1 for x > 0, a otherwise) (kernel leaky_relu_grad)."""
    return _f64(dout) * K.leaky_relu_grad(_f64(x), float(a))


def elu_forward(x: Any, alpha: float = 1.0) -> np.ndarray:
    """x for x > 0, α(eˣ − 1) otherwise (kernel elu)."""
    return K.elu(_f64(x), float(alpha))


def elu_backward(dout: Any, x: Any, alpha: float = 1.0) -> np.ndarray:
    """dout·ELU'(x) (kernel elu_grad)."""
    return _f64(dout) * K.elu_grad(_f64(x), float(alpha))


def selu_forward(x: Any) -> np.ndarray:
    """λ·ELU_α(x) with the self-normalising constants (kernel selu)."""
    return K.selu(_f64(x))


def selu_backward(dout: Any, x: Any) -> np.ndarray:
    """dout·SELU'(x) (kernel selu_grad)."""
    return _f64(dout) * K.selu_grad(_f64(x))


def gelu_forward(x: Any) -> np.ndarray:
    """x·Φ(x), the exact GELU (kernel gelu)."""
    return K.gelu(_f64(x))


def gelu_backward(dout: Any, x: Any) -> np.ndarray:
    """dout·(Φ(x) + x·φ(x)) (kernel gelu_grad)."""
    return _f64(dout) * K.gelu_grad(_f64(x))


def swish_forward(x: Any, beta: float = 1.0) -> np.ndarray:
    """x·σ(βx) (kernel swish)."""
    return K.swish(_f64(x), float(beta))


def swish_backward(dout: Any, x: Any, beta: float = 1.0) -> np.ndarray:
    """dout·Swish'(x) (kernel swish_grad)."""
    return _f64(dout) * K.swish_grad(_f64(x), float(beta))
