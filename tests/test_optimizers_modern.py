"""Catalog section 13 and alpha dropout: numeric optimisers and layers against the derived
rules, torch (skipped without it) and the stated conventions."""
import numpy as np
import pytest

import derive
from numeric import layers as L
from numeric import optim


def _quadratic_run(opt_cls, steps=200, **kw):
    a = np.array([10.0, 0.1, 1.0])
    theta = np.array([1.0, -2.0, 0.5])
    opt = opt_cls({"theta": theta}, **kw)
    start = 0.5 * np.sum(a * theta**2)
    for _ in range(steps):
        opt.step({"theta": a * theta})
    return start, 0.5 * np.sum(a * theta**2), theta


def test_adamw_decreases_a_quadratic():
    start, end, _ = _quadratic_run(optim.AdamW, lr=0.05)
    assert end < 0.01 * start


def test_adamw_without_decay_is_adam():
    *_, w = _quadratic_run(optim.AdamW, steps=30, lr=0.05, weight_decay=0.0)
    *_, a = _quadratic_run(optim.Adam, steps=30, lr=0.05)
    np.testing.assert_allclose(w, a, rtol=1e-14)  # the same rule, two kernels' rounding


def test_adamw_decays_every_coordinate_by_eta_lambda():
    """With zero gradient (m = v = 0, the Adam part is 0/ε = 0), AdamW shrinks θ by 1 − ηλ;
    Adam's coupled weight_decay instead takes a ±η sign step (adamw-vs-l2, first step)."""
    theta = np.array([3.0, -0.001, 1e4])
    opt = optim.AdamW({"theta": theta}, lr=0.1, weight_decay=0.2, eps=1e-8)
    opt.step({"theta": np.zeros(3)})
    np.testing.assert_allclose(theta, np.array([3.0, -0.001, 1e4]) * (1 - 0.1 * 0.2),
                               rtol=1e-15)
    theta2 = np.array([3.0, -0.001, 1e4])
    optim.Adam({"theta": theta2}, lr=0.1, weight_decay=0.2, eps=0.0).step(
        {"theta": np.zeros(3)})
    np.testing.assert_allclose(theta2, [3.0 - 0.1, -0.001 + 0.1, 1e4 - 0.1], rtol=1e-15)


def test_adam_step_bound_value_shown_to_ten_digits():
    d = derive.get("adam-step-bound")
    assert abs(float(d.values["sup_at_defaults"]) - 7.2702918) < 1e-7
    assert "7.270291799" in d.to_text()


def test_alpha_dropout_constants():
    d = derive.get("alpha-dropout")
    assert abs(float(d.values["a_at_095"]) - 0.9548) < 1e-4
    assert abs(float(d.values["b_at_095"]) - 0.0839) < 1e-4
    text = d.to_text()
    assert "0.95484447600" in text and "0.08393557219" in text


def test_alpha_dropout_keeps_selu_moments_and_eval_is_identity():
    rng = np.random.default_rng(3)
    x = L.SELU().forward(rng.standard_normal((400, 500)), train=True)
    layer = L.AlphaDropout(0.1, rng=rng)
    y = layer.forward(x, train=True)
    assert abs(y.mean()) < 0.01 and abs(y.var() - 1) < 0.02
    assert layer.forward(x, train=False) is x
    with pytest.raises(ValueError, match="DROPPING"):
        L.AlphaDropout(1.0, rng=rng)


# ---- against torch (optional) -----------------------------------------------------------
def _torch():
    return pytest.importorskip("torch", reason="PyTorch not installed")


def _torch_run(torch_cls, ours, steps=20, **kw):
    torch = _torch()
    a = np.array([10.0, 0.1, 1.0])
    theta = np.array([1.0, -2.0, 0.5])
    tt = torch.tensor(theta.copy(), requires_grad=True)
    topt = torch_cls([tt], **kw)
    mine = ours({"theta": theta}, **{k: v for k, v in kw.items()})
    for _ in range(steps):
        topt.zero_grad()
        (0.5 * (torch.tensor(a) * tt**2).sum()).backward()
        topt.step()
        mine.step({"theta": a * theta})
    np.testing.assert_allclose(theta, tt.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_adamw_matches_torch():
    torch = _torch()
    _torch_run(torch.optim.AdamW, optim.AdamW, lr=0.05, weight_decay=0.1, eps=1e-8)


def test_adam_coupled_weight_decay_matches_torch():
    torch = _torch()
    _torch_run(torch.optim.Adam, optim.Adam, lr=0.05, weight_decay=0.1, eps=1e-8)


def test_alpha_dropout_matches_torch():
    torch = _torch()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 32))
    layer = L.AlphaDropout(0.2, rng=rng)
    y = layer.forward(x, train=True)
    # torch's alpha_dropout with the same mask: a·(m x + (1 − m)α′) + b
    p = 0.2
    alpha_p = torch.nn.SELU()(torch.tensor(-1e3, dtype=torch.float64)).item()  # −λα
    a = ((alpha_p**2 * p + 1) * (1 - p)) ** -0.5
    b = -a * alpha_p * p
    mask = layer.mask
    np.testing.assert_allclose(y, a * (mask * x + (1 - mask) * alpha_p) + b, rtol=1e-13,
                               atol=1e-15)


def test_nesterov_lookahead_points():
    """numeric's Nesterov (framework form) visits θ_t + μv_t of Sutskever's look-ahead form."""
    a, th0, lr, mu = np.array([3.0, 0.2]), np.array([1.0, -1.5]), 0.05, 0.9
    phi = th0.copy()
    opt = optim.Nesterov({"phi": phi}, lr=lr, mu=mu)
    th, v = th0.copy(), np.zeros(2)
    for _ in range(40):
        opt.step({"phi": a * phi})
        v = mu * v - lr * a * (th + mu * v)
        th = th + v
        np.testing.assert_allclose(phi, th + mu * v, rtol=1e-12, atol=1e-15)


def test_nesterov_matches_torch():
    torch = _torch()
    a = np.array([10.0, 0.1, 1.0])
    theta = np.array([1.0, -2.0, 0.5])
    tt = torch.tensor(theta.copy(), requires_grad=True)
    topt = torch.optim.SGD([tt], lr=0.02, momentum=0.9, nesterov=True)
    mine = optim.Nesterov({"theta": theta}, lr=0.02, mu=0.9)
    for _ in range(30):
        topt.zero_grad()
        (0.5 * (torch.tensor(a) * tt**2).sum()).backward()
        topt.step()
        mine.step({"theta": a * theta})
    np.testing.assert_allclose(theta, tt.detach().numpy(), rtol=1e-12, atol=1e-15)


def test_clip_grad_norm_keeps_direction_and_bounds_norm():
    rng = np.random.default_rng(1)
    grads = {"w": rng.standard_normal((3, 4)) * 5, "b": rng.standard_normal(4)}
    before = {k: v.copy() for k, v in grads.items()}
    norm = optim.clip_grad_norm(grads, 1.0)
    flat = np.concatenate([grads[k].ravel() for k in ("w", "b")])
    flat0 = np.concatenate([before[k].ravel() for k in ("w", "b")])
    assert norm > 1 and abs(np.linalg.norm(flat) - 1.0) < 1e-14
    np.testing.assert_allclose(flat * norm, flat0, rtol=1e-14)  # same direction
    small = {"w": np.array([0.1, -0.2])}
    optim.clip_grad_norm(small, 1.0)
    np.testing.assert_array_equal(small["w"], [0.1, -0.2])
    zero = {"w": np.zeros(3)}
    assert optim.clip_grad_norm(zero, 1.0) == 0.0 and not zero["w"].any()


def test_clip_grad_value_turns_the_direction():
    g = {"w": np.array([10.0, 1.0])}
    optim.clip_grad_value(g, 1.0)
    np.testing.assert_array_equal(g["w"], [1.0, 1.0])
    cos = 11 / np.sqrt(202)
    assert float(derive.get("gradient-clipping").values["value_clip_cosine"]) == cos


# ---- item 6: conventions against torch ---------------------------------------------------
def _same_as_torch(torch_cls, ours, tkw, okw, steps=25, rtol=1e-12):
    torch = _torch()
    a = np.array([10.0, 0.1, 1.0])
    theta = np.array([1.0, -2.0, 0.5])
    tt = torch.tensor(theta.copy(), requires_grad=True)
    topt = torch_cls([tt], **tkw)
    mine = ours({"theta": theta}, **okw)
    for _ in range(steps):
        topt.zero_grad()
        (0.5 * (torch.tensor(a) * tt**2).sum()).backward()
        topt.step()
        mine.step({"theta": a * theta})
    return theta, tt.detach().numpy()


def test_adadelta_matches_torch_with_a_learning_rate():
    """lr scales the applied step only; the squared-step average is of the unscaled Δ."""
    torch = _torch()
    ours, theirs = _same_as_torch(torch.optim.Adadelta, optim.Adadelta,
                                  {"lr": 0.5, "rho": 0.9, "eps": 1e-6},
                                  {"lr": 0.5, "gamma": 0.9, "eps": 1e-6})
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_adagrad_matches_torch():
    torch = _torch()
    ours, theirs = _same_as_torch(torch.optim.Adagrad, optim.Adagrad,
                                  {"lr": 0.1, "eps": 1e-8}, {"lr": 0.1, "eps": 1e-8})
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_rmsprop_eps_sits_inside_the_root_unlike_torch():
    torch = _torch()
    kw = {"lr": 0.01, "eps": 1e-2}
    ours, theirs = _same_as_torch(torch.optim.RMSprop, optim.RMSProp, {**kw, "alpha": 0.9},
                                  {**kw, "gamma": 0.9})
    assert not np.allclose(ours, theirs, rtol=1e-6)  # ε inside vs outside the root
    ours, theirs = _same_as_torch(torch.optim.RMSprop, optim.RMSProp,
                                  {"lr": 0.01, "alpha": 0.9, "eps": 0.0},
                                  {"lr": 0.01, "gamma": 0.9, "eps": 0.0})
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)  # the same rule at ε = 0


def test_heavy_ball_is_torch_sgd_momentum_and_ema_is_not_dampening():
    torch = _torch()
    ours, theirs = _same_as_torch(torch.optim.SGD, optim.Momentum,
                                  {"lr": 0.01, "momentum": 0.9},
                                  {"lr": 0.01, "gamma": 0.9, "form": "heavy_ball"})
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    ours, theirs = _same_as_torch(torch.optim.SGD, optim.Momentum,
                                  {"lr": 0.01, "momentum": 0.9, "dampening": 0.9},
                                  {"lr": 0.01, "gamma": 0.9, "form": "ema"}, steps=1)
    np.testing.assert_allclose(1.0 - ours[0], (1.0 - theirs[0]) * 0.1, rtol=1e-12)
