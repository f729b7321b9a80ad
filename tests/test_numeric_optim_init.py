"""Optimisers and initialisers: behaviour that distinguishes a right rule from a wrong one."""
import numpy as np
import pytest

from numeric import init, optim

A = np.diag([1.0, 10.0])  # an ill-conditioned quadratic ½ wᵀAw


def _run(opt_cls, steps=300, **kw):
    w = np.array([1.0, 1.0])
    opt = opt_cls({"w": w}, **kw)
    for _ in range(steps):
        opt.step({"w": A @ w})
    return 0.5 * w @ A @ w


@pytest.mark.parametrize("cls, kw", [
    (optim.SGD, {"lr": 0.05}), (optim.SGD, {"lr": 0.05, "weight_decay": 0.01}),
    (optim.Momentum, {"lr": 0.05}), (optim.Momentum, {"lr": 0.01, "form": "heavy_ball"}),
    (optim.Adagrad, {"lr": 0.5}), (optim.RMSProp, {"lr": 0.01}),
    (optim.Adadelta, {"lr": 1.0}), (optim.Adam, {"lr": 0.05}),
], ids=lambda v: v.__name__ if isinstance(v, type) else str(v))
def test_every_optimiser_decreases_a_quadratic(cls, kw):
    assert _run(cls, **kw) < 0.5 * 0.5 * (1 + 10)


def test_heavy_ball_equals_ema_with_rescaled_rate():
    g = np.random.default_rng(0).standard_normal((20, 3))
    w1, w2 = np.zeros(3), np.zeros(3)
    ema = optim.Momentum({"w": w1}, lr=0.1, gamma=0.9, form="ema")
    hb = optim.Momentum({"w": w2}, lr=0.1 * (1 - 0.9), gamma=0.9, form="heavy_ball")
    for gt in g:
        ema.step({"w": gt})
        hb.step({"w": gt})
    np.testing.assert_allclose(w1, w2, rtol=1e-12)


def test_adam_first_step_has_magnitude_lr():
    w = np.zeros(5)
    optim.Adam({"w": w}, lr=0.01).step({"w": np.array([1e-3, -2.0, 5.0, 1e3, -7e-2])})
    np.testing.assert_allclose(np.abs(w), 0.01, rtol=1e-4)


def test_sgd_weight_decay_shrinks_without_gradient():
    w = np.ones(2)
    optim.SGD({"w": w}, lr=0.1, weight_decay=0.5).step({"w": np.zeros(2)})
    np.testing.assert_allclose(w, 1 - 0.1 * 0.5)


@pytest.mark.parametrize("name", sorted(init.INITIALISERS))
def test_initialiser_variance(name):
    n_in, n_out = 400, 300
    w = init.INITIALISERS[name](np.random.default_rng(5), n_in, n_out)
    target = {"he": 2 / n_in, "lecun": 1 / n_in, "xavier": 2 / (n_in + n_out)}[name.split("_")[0]]
    # 120 000 draws: the sample variance has relative sd ≤ √(2/N) ≈ 0.4%; allow 3%
    assert w.var() == pytest.approx(target, rel=0.03)
    if name.endswith("uniform"):
        assert np.abs(w).max() <= np.sqrt(3 * target)


def test_fixup_zero_last_layer_and_scaled_inner():
    rng = np.random.default_rng(1)
    assert not init.fixup(rng, 50, 50, n_branches=8, branch_depth=2, last=True).any()
    w = init.fixup(rng, 400, 400, n_branches=16, branch_depth=2, last=False)
    assert w.var() == pytest.approx(2 / 400 * 16 ** -1.0, rel=0.03)


def test_randomness_only_through_the_generator():
    a = init.he_uniform(np.random.default_rng(9), 4, 3)
    b = init.he_uniform(np.random.default_rng(9), 4, 3)
    np.testing.assert_array_equal(a, b)
