"""Gradient checks for every layer and every generated kernel, from registries.

float64; central differences compared through inner products in random directions
(⟨u, J v⟩ both ways) with the error bound of numeric.finite_differences (the one core);
inputs kept at least 0.2 away from the kink at 0; dropout masks fixed.
Kernels that are not derivatives (forward forms, initialiser scales, optimiser updates) are
compared with an independent NumPy/SciPy evaluation instead. A kernel missing from
KERNEL_CHECKS fails test_every_kernel_is_checked.
"""
import numpy as np
import pytest
import scipy.special as sps

from numeric import layers as L
from numeric.kernels import MissingKernel, kernels as K
from numeric.finite_differences import compare, directional_derivative
from numeric.gradcheck import check_layer


def assert_directional(f, x, v, analytic, u=None):
    """⟨u, J v⟩ of f at x (central differences with an error bound, the core of
    numeric.finite_differences) equals ``analytic``."""
    c = compare(analytic, directional_derivative(f, x, v, u))
    assert c.ok, str(c)


def away_from_kinks(rng, shape, margin=0.2, scale=1.5):
    x = rng.standard_normal(shape) * scale
    return np.sign(x) * (margin + np.abs(x))


# ---- layers ------------------------------------------------------------------------------
LAYERS = {
    "Linear": lambda rng: L.Linear(6, 4, rng=rng),
    "BatchNorm": lambda rng: L.BatchNorm(6),
    "LayerNorm": lambda rng: L.LayerNorm(6),
    "Dropout": lambda rng: L.Dropout(0.4, rng=rng),
    "AlphaDropout": lambda rng: L.AlphaDropout(0.3, rng=rng),
    "ReLU": lambda rng: L.ReLU(),
    "LeakyReLU": lambda rng: L.LeakyReLU(0.1),
    "PReLU": lambda rng: L.PReLU(6),
    "ELU": lambda rng: L.ELU(0.7),
    "SELU": lambda rng: L.SELU(),
    "GELU": lambda rng: L.GELU(),
    "GELU-tanh": lambda rng: L.GELU("tanh"),
    "Swish": lambda rng: L.Swish(1.5),
    "Sigmoid": lambda rng: L.Sigmoid(),
    "Tanh": lambda rng: L.Tanh(),
    "Sequential": lambda rng: L.Sequential(L.Linear(6, 5, rng=rng), L.BatchNorm(5),
                                           L.Tanh(), L.Dropout(0.3, rng=rng),
                                           L.Linear(5, 3, rng=rng)),
}


def _built(make, rng):
    try:
        return make(rng)
    except MissingKernel as exc:  # pragma: no cover - only while a derivation is missing
        pytest.fail(str(exc))


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_gradients(name, train, rng):
    layer = _built(LAYERS[name], rng)
    if isinstance(layer, (L.BatchNorm, L.Sequential)) and not train:
        layer.forward(away_from_kinks(rng, (16, 6)), train=True)  # non-trivial running stats
    x = away_from_kinks(rng, (7, 6))
    results = check_layer(layer, x, rng=rng, train=train)
    assert {r.what for r in results} == {"d/dx", *(f"d/d{k}" for k in layer.params)}
    bad = [str(r) for r in results if not r.ok]
    assert not bad, "\n".join(bad)


def test_gradient_check_catches_a_wrong_backward(rng):
    """A foil: a layer whose backward is off by a factor must fail the same check."""
    class WrongTanh(L.Tanh):
        def df(self, x):
            return 1.05 * K.tanh_grad(x)
    results = check_layer(WrongTanh(), away_from_kinks(rng, (5, 4)), rng=rng)
    assert not all(r.ok for r in results)


def test_softmax_cross_entropy_gradient(rng):
    loss = L.SoftmaxCrossEntropy()
    z = rng.standard_normal((5, 4)) * 3
    for y in (rng.integers(0, 4, 5), rng.dirichlet(np.ones(4), 5) * 1.3):
        loss.forward(z, y)
        grad = loss.backward()
        v = rng.standard_normal(z.shape)
        assert_directional(lambda a, y=y: loss.forward(a, y), z, v, np.sum(grad * v))


# ---- kernels -----------------------------------------------------------------------------
def _elementwise(f, df, extra=(), xscale=1.5):
    def check(rng):
        x = away_from_kinks(rng, (50,), scale=xscale)
        u, v = rng.standard_normal(50), rng.standard_normal(50)
        assert_directional(lambda a: f(a, *extra), x, v, np.sum(u * df(x, *extra) * v), u)
    return check


def _wrt_second(f, df, x_const):
    def check(rng):
        a = rng.uniform(0.05, 0.5, 50)
        x = away_from_kinks(rng, (50,)) if x_const is None else x_const
        u, v = rng.standard_normal(50), rng.standard_normal(50)
        assert_directional(lambda b: f(x, b), a, v, np.sum(u * df(x) * v), u)
    return check


def _vjp(forward, backward, shape=(6, 5)):
    """⟨u, J v⟩ = ⟨backward(x, u), v⟩ for a batch map forward(x)."""
    def check(rng):
        x = rng.standard_normal(shape) * 2 + 0.5
        u, v = rng.standard_normal(shape), rng.standard_normal(shape)
        assert_directional(forward, x, v, np.sum(backward(x, u) * v), u)
    return check


def _softmax(z):
    return sps.softmax(z, axis=1)


def _softmax_vjp(z, u):
    p = _softmax(z)
    return K.softmax_jacobian_vjp(p, u, np.sum(p * u, axis=1, keepdims=True))


def _ce_check(rng):
    y = rng.dirichlet(np.ones(5), 6) * 1.7  # rows need not sum to 1
    z = rng.standard_normal((6, 5)) * 2
    v = rng.standard_normal(z.shape)
    f = lambda z: -np.sum(y * sps.log_softmax(z, axis=1))
    grad = K.softmax_ce_gradient(_softmax(z), y, y.sum(axis=1, keepdims=True))
    assert_directional(f, z, v, np.sum(grad * v))


def _bce_check(rng):
    z, y = rng.uniform(-6, 6, 40), rng.uniform(0, 1, 40)
    v = rng.standard_normal(40)
    f = lambda z: np.sum(-y * sps.log_expit(z) - (1 - y) * sps.log_expit(-z))
    assert_directional(f, z, v, np.sum(K.sigmoid_bce_gradient(z, y) * v))


GAMMA = np.linspace(0.5, 1.5, 5)
EPS = 1e-3


def _bn(x):
    mean, var = x.mean(0), x.var(0)
    return GAMMA * (x - mean) / np.sqrt(var + EPS)


def _bn_back(x, g):
    xhat = (x - x.mean(0)) / np.sqrt(x.var(0) + EPS)
    return K.batchnorm_backward_input(g, xhat, g.mean(0), (g * xhat).mean(0), GAMMA,
                                      1 / np.sqrt(x.var(0) + EPS))


def _bn_std_eps(x):
    return GAMMA * (x - x.mean(0)) / (x.std(0) + EPS)


def _bn_std_eps_back(x, g):
    xc = x - x.mean(0)
    return K.batchnorm_std_eps_backward_input(g, xc, g.mean(0), (g * xc).mean(0), GAMMA,
                                              x.std(0), EPS)


def _ln(x):
    g6 = GAMMA[:x.shape[1]]
    mean, var = x.mean(1, keepdims=True), x.var(1, keepdims=True)
    return g6 * (x - mean) / np.sqrt(var + EPS)


def _ln_back(x, g):
    gamma = GAMMA[:x.shape[1]]
    inv = 1 / np.sqrt(x.var(1, keepdims=True) + EPS)
    xhat = (x - x.mean(1, keepdims=True)) * inv
    gh = g * gamma
    return K.layernorm_backward_input(g, xhat, gh.mean(1, keepdims=True),
                                      (gh * xhat).mean(1, keepdims=True), gamma, inv)


def _close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def _forward_forms(rng):
    x = rng.standard_normal((6, 5)) * 3
    mean, var = x.mean(0), x.var(0)
    _close(K.batchnorm_normalize(x, mean, var, EPS), (x - mean) / np.sqrt(var + EPS))
    _close(K.layernorm_normalize(x, mean, var, EPS), (x - mean) / np.sqrt(var + EPS))
    _close(K.batchnorm_affine(x, GAMMA, 0.3), GAMMA * x + 0.3)
    zmax = x.max(1, keepdims=True)
    s = np.exp(x - zmax).sum(1, keepdims=True)
    _close(K.log_softmax(x, zmax, np.log(s)), sps.log_softmax(x, axis=1))
    _close(K.softmax_shifted(x, zmax, s), sps.softmax(x, axis=1))


def _init_scales(rng):
    for n_in, n_out in ((3, 7), (100, 10), (512, 512)):
        _close(K.he_normal_std(n_in), np.sqrt(2 / n_in))
        _close(K.lecun_normal_std(n_in), np.sqrt(1 / n_in))
        _close(K.xavier_normal_std(n_in, n_out), np.sqrt(2 / (n_in + n_out)))
        _close(K.he_uniform_bound(n_in), np.sqrt(6 / n_in))
        _close(K.lecun_uniform_bound(n_in), np.sqrt(3 / n_in))
        _close(K.xavier_uniform_bound(n_in, n_out), np.sqrt(6 / (n_in + n_out)))


def _optimiser_updates(rng):
    m, g, v, s, d = (rng.standard_normal(8) for _ in range(5))
    s, v, d = s**2, v**2, d**2
    _close(K.momentum_ema_update(m, g, 0.9), 0.9 * m + 0.1 * g)
    _close(K.heavy_ball_velocity(m, g, 0.9), 0.9 * m + g)
    _close(K.adagrad_accumulate(s, g), s + g * g)
    _close(K.adagrad_step(g, s, 0.1, 1e-8), -0.1 * g / (np.sqrt(s) + 1e-8))
    _close(K.rmsprop_accumulate(s, g, 0.9), 0.9 * s + 0.1 * g * g)
    _close(K.rmsprop_step(g, s, 0.1, 1e-8), -0.1 * g / np.sqrt(s + 1e-8))
    _close(K.adadelta_accumulate_grad(s, g, 0.95), 0.95 * s + 0.05 * g * g)
    _close(K.adadelta_step(g, s, d, 1e-6), -np.sqrt(d + 1e-6) / np.sqrt(s + 1e-6) * g)
    _close(K.adadelta_accumulate_delta(d, g, 0.95), 0.95 * d + 0.05 * g * g)
    _close(K.adam_first_moment(m, g, 0.9), 0.9 * m + 0.1 * g)
    _close(K.adam_second_moment(v, g, 0.999), 0.999 * v + 0.001 * g * g)
    t = 3
    mhat, vhat = m / (1 - 0.9**t), v / (1 - 0.999**t)
    _close(K.adam_step(m, v, t, 0.01, 0.9, 0.999, 1e-8), -0.01 * mhat / (np.sqrt(vhat) + 1e-8))


FORWARD = ["batchnorm_normalize", "layernorm_normalize", "batchnorm_affine", "log_softmax",
           "softmax_shifted"]
INIT = ["he_normal_std", "lecun_normal_std", "xavier_normal_std", "he_uniform_bound",
        "lecun_uniform_bound", "xavier_uniform_bound"]
OPTIM = ["momentum_ema_update", "heavy_ball_velocity", "adagrad_accumulate", "adagrad_step",
         "rmsprop_accumulate", "rmsprop_step", "adadelta_accumulate_grad", "adadelta_step",
         "adadelta_accumulate_delta", "adam_first_moment", "adam_second_moment", "adam_step"]

def _section13_optimiser_updates(rng):
    """Kernels of catalog section 13 against torch's update rules written out."""
    m, g, v, th = (rng.standard_normal(8) for _ in range(4))
    v, t, lr, wd = v**2, 4, 0.01, 0.1
    _close(K.l2_coupled_gradient(g, th, wd), g + wd * th)
    mhat, vhat = m / (1 - 0.9**t), v / (1 - 0.999**t)  # torch.optim.AdamW: θ(1 − ηλ) − η…
    _close(th + K.adamw_step(m, v, th, t, lr, 0.9, 0.999, 1e-8, wd),
           th * (1 - lr * wd) - lr * mhat / (np.sqrt(vhat) + 1e-8))
    _close(K.nesterov_buffer(m, g, 0.9), 0.9 * m + g)  # torch: buf = μ·buf + g
    _close(K.nesterov_step(g, m, lr, 0.9), -lr * (g + 0.9 * m))  # g + μ·buf, times −η
    norm = float(np.linalg.norm(g))
    for c in (0.5 * norm, 2 * norm):  # clipping: torch's rule with the exact scale c/‖g‖
        _close(K.clip_by_norm(g, norm, c), g * min(1.0, c / norm))
    _close(K.clip_by_value(g, 0.3), np.clip(g, -0.3, 0.3))


def _alpha_dropout_forward_check(rng):
    x, m, q = rng.standard_normal(50), (rng.random(50) < 0.8).astype(float), 0.8
    alpha_p = float(K.selu(np.array(-800.0)))  # −λα, the saturation value
    a = ((alpha_p**2 * (1 - q) + 1) * q) ** -0.5  # torch.nn.functional.alpha_dropout's a
    b = -a * (1 - q) * alpha_p
    _close(K.alpha_dropout_forward(x, m, q), a * (m * x + (1 - m) * alpha_p) + b)


def _alpha_dropout_backward_check(rng):
    m, q = (rng.random(12) < 0.7).astype(float), 0.7
    x, v, u = rng.standard_normal(12), rng.standard_normal(12), rng.standard_normal(12)
    assert_directional(lambda t: K.alpha_dropout_forward(t, m, q), x, v,
                       float(u @ K.alpha_dropout_backward(v, m, q)), u)


_TH = np.linspace(0.05, 3.1, 9)
KERNEL_CHECKS = {
    "sigmoid_grad": lambda rng: _elementwise(K.sigmoid, K.sigmoid_grad)(rng),
    "sigmoid": lambda rng: _close(K.sigmoid(np.linspace(-30, 30, 61)),
                                  sps.expit(np.linspace(-30, 30, 61))),
    "tanh_grad": lambda rng: _elementwise(np.tanh, K.tanh_grad)(rng),
    "relu_grad": lambda rng: _elementwise(lambda x: np.maximum(x, 0), K.relu_grad)(rng),
    "leaky_relu_grad": lambda rng: _elementwise(K.leaky_relu, K.leaky_relu_grad, (0.1,))(rng),
    "leaky_relu": lambda rng: _close(K.leaky_relu(np.array([-2.0, 3.0]), 0.1), [-0.2, 3.0]),
    "prelu_grad_alpha": lambda rng: _wrt_second(K.leaky_relu, K.prelu_grad_alpha, None)(rng),
    "elu_grad": lambda rng: _elementwise(K.elu, K.elu_grad, (0.7,))(rng),
    "elu": lambda rng: _close(K.elu(np.array([-2.0, 3.0]), 0.7), [0.7 * np.expm1(-2), 3.0]),
    "selu_grad": lambda rng: _elementwise(K.selu, K.selu_grad)(rng),
    # selu = λx for x > 0 and λα(eˣ − 1) otherwise, with λ = selu'(x > 0), λα = selu'(0⁻)
    "selu": lambda rng: _close(K.selu(np.array([-1.0, 2.0])),
                               [np.expm1(-1) * K.selu_grad(np.array(-1e-300)),
                                2 * K.selu_grad(np.array(5.0))]),
    "gelu_grad": lambda rng: _elementwise(K.gelu, K.gelu_grad)(rng),
    "gelu": lambda rng: _close(K.gelu(np.linspace(-8, 8, 33)),
                               np.linspace(-8, 8, 33) * sps.ndtr(np.linspace(-8, 8, 33))),
    "gelu_tanh_grad": lambda rng: _elementwise(K.gelu_tanh, K.gelu_tanh_grad)(rng),
    "gelu_tanh": lambda rng: _close(
        K.gelu_tanh(np.linspace(-5, 5, 11)),
        0.5 * np.linspace(-5, 5, 11) * (1 + np.tanh(np.sqrt(2 / np.pi) * (
            np.linspace(-5, 5, 11) + 0.044715 * np.linspace(-5, 5, 11) ** 3)))),
    "gelu_sigmoid_grad": lambda rng: _elementwise(K.gelu_sigmoid, K.gelu_sigmoid_grad)(rng),
    "gelu_sigmoid": lambda rng: _close(K.gelu_sigmoid(np.linspace(-5, 5, 11)),
                                       np.linspace(-5, 5, 11)
                                       * sps.expit(1.702 * np.linspace(-5, 5, 11))),
    "swish_grad": lambda rng: _elementwise(K.swish, K.swish_grad, (1.3,))(rng),
    "swish": lambda rng: _close(K.swish(np.linspace(-5, 5, 11), 1.3),
                                np.linspace(-5, 5, 11) * sps.expit(1.3 * np.linspace(-5, 5, 11))),
    "softmax_jacobian_vjp": _vjp(_softmax, _softmax_vjp),
    "softmax_ce_gradient": _ce_check,
    "sigmoid_bce_gradient": _bce_check,
    "batchnorm_backward_input": _vjp(_bn, _bn_back),
    "batchnorm_std_eps_backward_input": _vjp(_bn_std_eps, _bn_std_eps_back),
    "layernorm_backward_input": _vjp(_ln, _ln_back),
    # attention: the dS kernel is the softmax VJP of each score row (attention-backward)
    "attention_scores_backward": _vjp(_softmax, lambda z, u: K.attention_scores_backward(
        _softmax(z), u, (u * _softmax(z)).sum(1, keepdims=True))),
    # label smoothing: target (1 − ε)y + ε/K, and its gradient p − target (eps 0.1, K = 5)
    "label_smoothing_target": lambda rng: _close(
        K.label_smoothing_target(np.eye(5)[1], 0.1, 5), 0.9 * np.eye(5)[1] + 0.02),
    "label_smoothing_gradient": lambda rng: _vjp(
        lambda z: -(K.label_smoothing_target(np.eye(5)[[1, 3, 0, 2, 4, 1]], 0.1, 5)
                    * sps.log_softmax(z, axis=1)).sum(1, keepdims=True).repeat(5, 1) / 5,
        lambda z, u: K.label_smoothing_gradient(
            _softmax(z), np.eye(5)[[1, 3, 0, 2, 4, 1]], 0.1, 5) * u.mean(1, keepdims=True),
        shape=(6, 5))(rng),
    # alpha dropout: forward against the mixture form a·(m x + (1 − m)α′) + b written out
    # with torch's a, b (α′ = selu(−∞)); backward = the derivative of the forward in x
    "alpha_dropout_forward": _alpha_dropout_forward_check,
    "alpha_dropout_backward": _alpha_dropout_backward_check,
    # arc-cosine kernel and two-layer ReLU NTK against their θ forms (test_meanfield.py
    # checks both against quadrature and wide random networks)
    "arccos_kernel": lambda rng: _close(K.arccos_kernel(np.cos(_TH), 1.3, 0.7, 1.1), 1.21 * 0.91 * (
        np.sin(_TH) + (np.pi - _TH) * np.cos(_TH)) / (2 * np.pi)),
    "relu_ntk": lambda rng: _close(K.relu_ntk(np.cos(_TH), 1.3, 0.7), 0.91 * (
        np.sin(_TH) + 2 * (np.pi - _TH) * np.cos(_TH)) / (2 * np.pi)),
    **{k: _forward_forms for k in FORWARD},
    **{k: _init_scales for k in INIT},
    **{k: _optimiser_updates for k in OPTIM},
    **{k: _section13_optimiser_updates for k in ("l2_coupled_gradient", "adamw_step",
                                                       "nesterov_buffer", "nesterov_step",
                                                       "clip_by_norm", "clip_by_value")},
}


def test_every_kernel_is_checked():
    unchecked = sorted(set(K.names()) - set(KERNEL_CHECKS))
    assert not unchecked, f"generated kernels without a check in KERNEL_CHECKS: {unchecked}"


@pytest.mark.parametrize("name", sorted(KERNEL_CHECKS))
def test_kernel(name, rng):
    if name not in K:
        pytest.fail(f"kernel {name} is not generated (`nnmath codegen`)")
    KERNEL_CHECKS[name](rng)
