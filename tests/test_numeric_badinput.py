"""Bad input gets a clear ValueError; extreme but valid input gives no warning and no NaN."""
import warnings

import numpy as np
import pytest

from numeric import init, layers as L, optim


@pytest.fixture
def strict():
    """Every NumPy floating-point event and every warning is an error inside the block."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# ---- clear errors --------------------------------------------------------------------------
def test_shape_mismatch_names_expected_features(rng):
    lin = L.Linear(3, 2, rng=rng)
    with pytest.raises(ValueError, match=r"expected 3 features.*got shape \(4, 5\)"):
        lin.forward(np.zeros((4, 5)), train=True)
    with pytest.raises(ValueError, match="expected a 2-d array"):
        lin.forward(np.zeros(3), train=True)
    lin.forward(np.zeros((4, 3)), train=True)
    with pytest.raises(ValueError, match=r"grad has shape \(4, 3\).*expected.*\(4, 2\)"):
        lin.backward(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="expected 6 features"):
        L.BatchNorm(6).forward(np.zeros((4, 5)), train=True)
    with pytest.raises(ValueError, match="label distribution of shape"):
        L.SoftmaxCrossEntropy().forward(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="class indices must be in \\[0, 3\\)"):
        L.SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.array([0, 3]))


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_dropout_probability_outside_unit_interval(p, rng):
    with pytest.raises(ValueError, match=r"p_drop .*DROPPING.* must be in \[0, 1\]"):
        L.Dropout(p, rng=rng)


def test_dropout_zero_is_identity_and_one_gives_zeros(rng):
    x = rng.standard_normal((5, 4))
    d0 = L.Dropout(0.0, rng=rng)
    assert np.array_equal(d0.forward(x, train=True), x)
    assert np.array_equal(d0.backward(x), x)
    d1 = L.Dropout(1.0, rng=rng)
    assert not d1.forward(x, train=True).any()
    assert not d1.backward(np.ones_like(x)).any()
    assert np.array_equal(d1.forward(x, train=False), x)


def test_training_batchnorm_refuses_batch_of_one():
    bn = L.BatchNorm(3)
    with pytest.raises(ValueError, match="batch of at least 2 rows, got 1"):
        bn.forward(np.ones((1, 3)), train=True)
    assert bn.forward(np.ones((1, 3)), train=False).shape == (1, 3)  # eval mode is fine


@pytest.mark.parametrize("bad, match", [
    (np.ones((2, 3), dtype=np.int64), "floating-point.*int64"),
    (np.array([[1.0, np.nan, 0.0]] * 2), "finite.*nan"),
    (np.array([[1.0, np.inf, 0.0]] * 2), "finite.*inf"),
    ([[1.0, 2.0, 3.0]], "NumPy float array.*list"),
])
def test_integer_or_non_finite_input(bad, match, rng):
    for layer in (L.Linear(3, 2, rng=rng), L.BatchNorm(3), L.LayerNorm(3), L.ReLU(),
                  L.Dropout(0.5, rng=rng), L.GELU()):
        with pytest.raises(ValueError, match=match):
            layer.forward(bad, train=True)


def test_bad_hyperparameters(rng):
    with pytest.raises(ValueError, match="learning rate must be positive"):
        optim.SGD({"w": np.zeros(2)}, lr=0)
    with pytest.raises(ValueError, match="beta1 must be in"):
        optim.Adam({"w": np.zeros(2)}, beta1=1.0)
    with pytest.raises(ValueError, match="n_in must be a positive integer"):
        init.he_normal(rng, 0, 3)
    with pytest.raises(TypeError, match="Generator"):
        init.he_normal(np.random.RandomState(0), 2, 3)
    with pytest.raises(ValueError, match="approximate must be"):
        L.GELU("erf")


# ---- extreme but valid input: no warning, no overflow, no NaN ---------------------------
def test_logits_of_magnitude_1e4(strict, rng):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]])
    loss = L.SoftmaxCrossEntropy()
    value = loss.forward(z, np.array([1, 0, 2]))
    grad = loss.backward()
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert value == pytest.approx((2e4 + np.log(3) + 2e4 + np.log(2)) / 3)


ACTIVATIONS = [L.ReLU(), L.LeakyReLU(), L.PReLU(4), L.ELU(), L.SELU(), L.GELU(),
               L.GELU("tanh"), L.Swish(), L.Sigmoid(), L.Tanh()]


@pytest.mark.parametrize("layer", ACTIVATIONS, ids=lambda l: repr(l).split("(")[0] + repr(l))
def test_activations_at_plus_minus_1000(layer, strict):
    x = np.array([[-1000.0, -40.0, 40.0, 1000.0]])
    y = layer.forward(x, train=True)
    g = layer.backward(np.ones_like(x))
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(g))
    assert np.all(np.isfinite(list(layer.grads.values()) or [0.0]))


@pytest.mark.parametrize("make", [lambda: L.BatchNorm(3), lambda: L.LayerNorm(3)],
                         ids=["BatchNorm", "LayerNorm"])
def test_constant_features_are_finite(make, strict):
    layer = make()
    x = np.full((5, 3), 7.0)
    y = layer.forward(x, train=True)
    g = layer.backward(np.arange(15.0).reshape(5, 3))
    assert np.allclose(y, 0.0) and np.all(np.isfinite(g))
    assert all(np.all(np.isfinite(v)) for v in layer.grads.values())


def test_adam_with_zero_gradients(strict):
    w = np.ones(4)
    opt = optim.Adam({"w": w}, lr=0.1)
    for _ in range(5):
        opt.step({"w": np.zeros(4)})
    assert np.array_equal(w, np.ones(4))
    for cls in optim.OPTIMIZERS.values():
        p = np.ones(3)
        cls({"p": p}).step({"p": np.zeros(3)})
        assert np.all(np.isfinite(p))


# ---- issue 14: bad input is refused clearly, extreme input gives finite results ----------
def test_softmax_ce_at_plus_minus_1e308_has_a_finite_loss():
    loss_fn = L.SoftmaxCrossEntropy()
    with np.errstate(all="raise"):  # no warning either
        loss = loss_fn.forward(np.array([[1e308, -1e308]]), [0])
        grad = loss_fn.backward()
    assert loss == 0.0 and np.all(np.isfinite(grad))
    # the same row with the other label: the true loss 2e308 overflows float64 to +inf
    assert L.SoftmaxCrossEntropy().forward(np.array([[1e308, -1e308]]), [1]) == np.inf


@pytest.mark.parametrize("make, error, words", [
    (lambda: L.BatchNorm(2, eps=float("nan")), ValueError, "eps must be a finite positive"),
    (lambda: L.LayerNorm(3, eps=float("nan")), ValueError, "eps must be a finite positive"),
    (lambda: L.BatchNorm(2, eps=float("inf")), ValueError, "eps"),
    (lambda: L.BatchNorm(2.7), TypeError, "whole number"),
    (lambda: L.LayerNorm(0), ValueError, "whole number ≥ 1"),
    (lambda: L.Sequential(1, 2), TypeError, "argument 0 is int"),
])
def test_layer_arguments_are_checked(make, error, words):
    with pytest.raises(error, match=words):
        make()


def test_integer_like_widths_are_accepted():
    assert L.BatchNorm(np.int64(3)).n == 3 and isinstance(L.BatchNorm(np.int64(3)).n, int)
