"""How a course tests students' dropout and BatchNorm backward with nnmath's assertions.

Each student implementation is a plain function; the correct ones pass, the classic wrong
ones (dropout without the 1/(1 − p) rescaling; BatchNorm backward without the mean term)
fail with a message saying what differs and by how much.
"""
import numpy as np
import pytest

from proofs.testing import assert_mean, assert_variance, check_vjp

P = 0.5  # drop probability


# ---- student implementations ------------------------------------------------------------
def dropout_correct(x, p, rng):
    keep = rng.random(x.shape) >= p
    return x * keep / (1 - p)


def dropout_no_rescaling(x, p, rng):
    keep = rng.random(x.shape) >= p
    return x * keep


def bn_forward(x, eps=1e-5):
    mu, var = x.mean(0), x.var(0)
    return (x - mu) / np.sqrt(var + eps)


def bn_backward_correct(x, g, eps=1e-5):
    xhat = bn_forward(x, eps)
    inv = 1 / np.sqrt(x.var(0) + eps)
    return inv * (g - g.mean(0) - xhat * (g * xhat).mean(0))


def bn_backward_missing_mean(x, g, eps=1e-5):
    xhat = bn_forward(x, eps)
    inv = 1 / np.sqrt(x.var(0) + eps)
    return inv * (g - xhat * (g * xhat).mean(0))


# ---- the course's tests --------------------------------------------------------------------
def relu_inputs(n, rng):
    return np.maximum(rng.standard_normal(n), 0)


# E[ReLU z], z ~ N(0, 1); in class: nnmath_exact("relu-moments", "relu_gaussian_mean", sigma=1)
E_RELU = 1 / np.sqrt(2 * np.pi)


def dropout_sampler(impl):
    return lambda n, rng: impl(relu_inputs(n, rng), P, rng)


def test_correct_dropout_keeps_the_mean():
    assert_mean(dropout_sampler(dropout_correct), E_RELU, foil=E_RELU * (1 - P), seed=1,
                name="dropout(ReLU(z))")


def test_correct_dropout_variance():
    expected = 0.5 / (1 - P) - 1 / (2 * np.pi)  # dropout-variance with h = ReLU(z)
    assert_variance(dropout_sampler(dropout_correct), expected, seed=2, n=400_000,
                    name="dropout(ReLU(z))")


def test_dropout_without_rescaling_is_caught():
    with pytest.raises(AssertionError) as info:
        assert_mean(dropout_sampler(dropout_no_rescaling), E_RELU, foil=E_RELU * (1 - P),
                    seed=1, name="dropout(ReLU(z))")
    message = str(info.value)
    assert "expected 0.398942" in message and "differs by" in message
    assert "-50" in message  # off by half: (1 − p) with p = 1/2
    assert "matches the foil" in message


def test_correct_batchnorm_backward(nnmath_rng):
    x = nnmath_rng.standard_normal((8, 3))
    check_vjp(bn_forward, x, lambda g: bn_backward_correct(x, g), seed=nnmath_rng)


def test_batchnorm_backward_missing_mean_term_is_caught(nnmath_rng):
    x = nnmath_rng.standard_normal((8, 3))
    with pytest.raises(AssertionError) as info:
        check_vjp(bn_forward, x, lambda g: bn_backward_missing_mean(x, g), seed=nnmath_rng,
                  name="bn_backward")
    message = str(info.value)
    assert "bn_backward" in message and "differ by" in message and "relative" in message


def test_too_few_samples_are_refused():
    from proofs.testing import DesignError
    rng = np.random.default_rng(0)
    few = dropout_correct(relu_inputs(200, rng), P, rng)
    with pytest.raises(DesignError, match="design needs"):
        assert_mean(few, E_RELU, foil=E_RELU * 0.99)


def test_plugin_fixtures(nnmath, nnmath_rng):
    assert hasattr(nnmath, "assert_mean") and hasattr(nnmath, "check_vjp")
    assert isinstance(nnmath_rng, np.random.Generator)


# =========================================================================================
# A CS231n-style layer assignment, graded with the reference set and the adapters.
# Each student function is written the way students write them; the buggy ones carry one
# typical mistake each and must be caught with a message naming its symptom.
# =========================================================================================
from numeric import reference as R  # noqa: E402
from proofs.testing import (assert_dropout, assert_forward, cache_style,  # noqa: E402
                            check_backward, drop_probability, global_seed)


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, _ = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(0)


def affine_backward_transposed(dout, cache):
    x, w, _ = cache
    return (dout @ w.T).reshape(x.shape), dout.T @ x, dout.sum(0)


def relu_forward(x):
    return np.maximum(0, x), x


def relu_forward_inplace(x):
    x[x < 0] = 0
    return x, x


def relu_backward(dout, cache):
    return dout * (cache > 0)


def relu_backward_inplace(dout, cache):
    dout[cache <= 0] = 0
    return dout


def _bn(x, gamma, beta, eps, ddof=0, axis=0):
    mu = x.mean(axis=axis, keepdims=True)
    var = x.var(axis=axis, ddof=ddof, keepdims=True)
    xhat = (x - mu) / np.sqrt(var + eps)
    return gamma * xhat + beta, (xhat, gamma, var, eps)


def batchnorm_forward(x, gamma, beta, bn_param):
    return _bn(x, gamma, beta, bn_param.get("eps", 1e-5))


def batchnorm_forward_no_eps(x, gamma, beta, bn_param):
    return _bn(x, gamma, beta, 0.0)


def batchnorm_forward_unbiased(x, gamma, beta, bn_param):
    return _bn(x, gamma, beta, bn_param.get("eps", 1e-5), ddof=1)


def batchnorm_forward_wrong_axis(x, gamma, beta, bn_param):
    return _bn(x, gamma, beta, bn_param.get("eps", 1e-5), axis=1)


def batchnorm_backward(dout, cache):
    xhat, gamma, var, eps = cache
    dxhat = dout * gamma
    dx = (dxhat - dxhat.mean(0) - xhat * (dxhat * xhat).mean(0)) / np.sqrt(var + eps)
    return dx, (dout * xhat).sum(0), dout.sum(0)


def batchnorm_backward_missing_mean(dout, cache):
    xhat, gamma, var, eps = cache
    dxhat = dout * gamma
    dx = (dxhat - xhat * (dxhat * xhat).mean(0)) / np.sqrt(var + eps)
    return dx, (dout * xhat).sum(0), dout.sum(0)


def batchnorm_backward_missing_1_over_n(dout, cache):
    xhat, gamma, var, eps = cache
    dxhat = dout * gamma
    dx = (dxhat - dxhat.sum(0) - xhat * (dxhat * xhat).sum(0)) / np.sqrt(var + eps)
    return dx, (dout * xhat).sum(0), dout.sum(0)


def layernorm_forward(x, gamma, beta, ln_param):
    return _bn(x, gamma, beta, ln_param.get("eps", 1e-5), axis=1)


def layernorm_forward_batch_axis(x, gamma, beta, ln_param):
    return _bn(x, gamma, beta, ln_param.get("eps", 1e-5), axis=0)


# dropout in the CS231n convention: dropout_param["p"] is the KEEP probability, the mask
# comes from the global np.random
def dropout_forward(x, dropout_param):
    p = dropout_param["p"]
    mask = (np.random.rand(*x.shape) < p) / p
    return x * mask, (dropout_param, mask)


def dropout_forward_swapped(x, dropout_param):
    p = dropout_param["p"]
    mask = (np.random.rand(*x.shape) < 1 - p) / (1 - p)  # treats p as the drop probability
    return x * mask, (dropout_param, mask)


def dropout_forward_no_rescaling(x, dropout_param):
    mask = np.random.rand(*x.shape) < dropout_param["p"]
    return x * mask, (dropout_param, mask)


def dropout_backward(dout, cache):
    return dout * cache[1]


def dropout_backward_new_mask(dout, cache):
    p = cache[0]["p"]
    return dout * (np.random.rand(*dout.shape) < p) / p


def softmax_loss(x, y):
    shifted = x - x.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = x.shape[0]
    dx = np.exp(log_p)
    dx[np.arange(n), y] -= 1
    return -log_p[np.arange(n), y].mean(), dx / n


def softmax_loss_no_shift(x, y):
    p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    n = x.shape[0]
    dx = p.copy()
    dx[np.arange(n), y] -= 1
    return -np.log(p[np.arange(n), y]).mean(), dx / n


def softmax_loss_sum(x, y):
    loss, dx = softmax_loss(x, y)
    return loss * x.shape[0], dx * x.shape[0]


def softmax_loss_missing_1_over_n(x, y):
    loss, dx = softmax_loss(x, y)
    return loss, dx * x.shape[0]


# ---- the course's checks, written once for every submission -------------------------------
def _bn_args(x, gamma, beta, eps):
    return x, gamma, beta, {"mode": "train", "eps": eps}


def _data(rng, n=16, d=5, tiny=False):
    x = rng.standard_normal((n, d)) * 2 + 1
    if tiny:  # one feature of variance ~1e-6 (ε = 1e-5 then matters)
        x[:, 0] = 3 + 1e-3 * rng.standard_normal(n)
    return x, rng.uniform(0.5, 2, d), rng.standard_normal(d)


def grade_affine(fwd, bwd, rng):
    x, w, b = rng.standard_normal((6, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    f, back = cache_style(fwd, bwd)
    assert_forward(f, R.affine_forward, x, w, b)
    assert_forward(back, R.affine_backward, rng.standard_normal((6, 3)), x, w, b)
    check_backward(fwd, bwd, x, w, b, seed=rng)


def grade_relu(fwd, bwd, rng):
    x = rng.standard_normal((6, 4))
    f, back = cache_style(fwd, bwd)
    assert_forward(f, R.relu_forward, x)
    assert_forward(back, R.relu_backward, rng.standard_normal((6, 4)), x)


def grade_batchnorm(fwd, bwd, rng, tiny=True):
    x, gamma, beta = _data(rng, tiny=tiny)
    f, back = cache_style(fwd, bwd, args=_bn_args)
    assert_forward(f, R.batchnorm_forward, x, gamma, beta, 1e-5)
    assert_forward(back, R.batchnorm_backward, rng.standard_normal(x.shape), x, gamma, beta,
                   1e-5)


def grade_layernorm(fwd, rng):
    x, gamma, beta = _data(rng)
    f, _ = cache_style(fwd, relu_backward, args=_bn_args)
    assert_forward(f, R.layernorm_forward, x, gamma, beta, 1e-5)


def grade_dropout(fwd, bwd, rng, p_drop=0.3):
    seed = int(rng.integers(2**31))
    forward = global_seed(drop_probability(fwd, "keep", key="p"), seed)
    backward = global_seed(bwd, seed + 1)  # a backward drawing its own mask gets another one
    x = rng.standard_normal((200, 50))
    param = {"p": p_drop, "mode": "train"}
    assert_dropout(lambda a: forward(a, param)[0], x, p_drop,
                   backward=lambda dout: backward(dout, forward(x, param)[1]))


def grade_softmax(loss_fn, rng, big=True):
    x = rng.standard_normal((8, 5)) * 3 + (1000 if big else 0)
    y = rng.integers(0, 5, 8)
    assert_forward(loss_fn, R.softmax_cross_entropy, x, y)
    check_backward(lambda z: loss_fn(z, y)[0], lambda dout, z: dout * loss_fn(z, y)[1], x,
                   style="inputs", seed=rng)


def grade_all_correct(rng):
    grade_affine(affine_forward, affine_backward, rng)
    grade_relu(relu_forward, relu_backward, rng)
    grade_batchnorm(batchnorm_forward, batchnorm_backward, rng)
    grade_layernorm(layernorm_forward, rng)
    grade_dropout(dropout_forward, dropout_backward, rng)
    grade_softmax(softmax_loss, rng)


def test_correct_submissions_pass_on_many_seeds():
    for seed in range(25):
        grade_all_correct(np.random.default_rng(seed))


@pytest.mark.slow
def test_correct_submissions_pass_on_2000_seeds():
    for seed in range(2000):
        grade_all_correct(np.random.default_rng(10_000 + seed))


MISTAKES = {
    "missing batch-mean term": (
        lambda rng: grade_batchnorm(batchnorm_forward, batchnorm_backward_missing_mean, rng),
        "batch-mean term mean(dout)"),
    "missing 1/N": (
        lambda rng: grade_batchnorm(batchnorm_forward, batchnorm_backward_missing_1_over_n,
                                    rng), "missing 1/N"),
    "no ε": (lambda rng: grade_batchnorm(batchnorm_forward_no_eps, batchnorm_backward, rng),
             "without ε"),
    "wrong axis": (
        lambda rng: grade_batchnorm(batchnorm_forward_wrong_axis, batchnorm_backward, rng),
        "over the feature axis"),
    "unbiased variance": (
        lambda rng: grade_batchnorm(batchnorm_forward_unbiased, batchnorm_backward, rng),
        "unbiased variance"),
    "LN over the batch axis": (lambda rng: grade_layernorm(layernorm_forward_batch_axis, rng),
                               "over the batch axis"),
    "keep/drop swapped": (lambda rng: grade_dropout(dropout_forward_swapped, dropout_backward,
                                                    rng), "swapped"),
    "no rescaling": (lambda rng: grade_dropout(dropout_forward_no_rescaling, dropout_backward,
                                               rng), "no rescaling"),
    "mask not reused": (lambda rng: grade_dropout(dropout_forward, dropout_backward_new_mask,
                                                  rng), "mask is not reused"),
    "softmax without max-shift": (lambda rng: grade_softmax(softmax_loss_no_shift, rng),
                                  "NaN"),
    "sum instead of mean": (lambda rng: grade_softmax(softmax_loss_sum, rng, big=False),
                            "sum instead of mean"),
    "missing 1/N in the softmax gradient": (
        lambda rng: grade_softmax(softmax_loss_missing_1_over_n, rng, big=False),
        "without the 1/N"),
    "transposed affine gradient": (
        lambda rng: grade_affine(affine_forward, affine_backward_transposed, rng),
        "transposed"),
    "in-place write into x": (lambda rng: grade_relu(relu_forward_inplace, relu_backward, rng),
                              "wrote into its input x in place"),
    "in-place write into dout": (
        lambda rng: grade_relu(relu_forward, relu_backward_inplace, rng),
        "wrote into its input dout in place"),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_typical_mistake_is_caught_naming_its_symptom(mistake, nnmath_rng):
    grade, symptom = MISTAKES[mistake]
    with pytest.raises(AssertionError) as info, np.errstate(all="ignore"):
        grade(nnmath_rng)
    assert symptom in str(info.value), str(info.value)
