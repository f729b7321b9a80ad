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


E_RELU = 1 / np.sqrt(2 * np.pi)  # E[ReLU z], z ~ N(0, 1); in class: nnmath_exact("relu-moments", "mean", sigma=1)


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
