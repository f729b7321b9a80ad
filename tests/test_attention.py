"""numeric.attention (catalog section 12): gradient checks of the attention layer and the
residual blocks, the causal mask, and the float32 behaviour of the attention softmax."""
import numpy as np
import pytest

from numeric import attention as A
from numeric.gradcheck import check_layer

LAYERS = {
    "single-head": lambda rng: A.Attention(6, 1, rng=rng),
    "multi-head causal": lambda rng: A.Attention(6, 3, causal=True, rng=rng),
    "pre-LN block": lambda rng: A.ResidualBlock(6, 2, 8, norm="pre", causal=True, rng=rng),
    "post-LN block": lambda rng: A.ResidualBlock(6, 2, 8, norm="post", rng=rng),
    "scaled pre-LN block": lambda rng: A.ResidualBlock(6, 2, 8, branch_scale=0.5, rng=rng),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("shape", [(2, 4, 6), (5, 6)])
def test_gradients_match_central_differences(name, shape):
    rng = np.random.default_rng(0)
    layer = LAYERS[name](rng)
    results = check_layer(layer, rng.standard_normal(shape), rng=rng)
    assert len(results) == 1 + len(layer.params)
    bad = [str(r) for r in results if not r.ok]
    assert not bad, bad


def test_causal_outputs_ignore_later_tokens_and_masked_gradients_vanish():
    rng = np.random.default_rng(1)
    layer = A.Attention(4, 2, causal=True, rng=rng)
    x = rng.standard_normal((1, 5, 4))
    y = layer.forward(x, train=True)
    p = layer.probabilities
    assert np.all(p[..., np.triu_indices(5, 1)[0], np.triu_indices(5, 1)[1]] == 0)
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-14)
    x2 = x.copy()
    x2[0, 3:] += 10 * rng.standard_normal((2, 4))  # change the last two tokens only
    np.testing.assert_allclose(layer.forward(x2, train=True)[0, :3], y[0, :3], rtol=1e-13)
    # dS entries of masked positions are exactly 0 (the kernel multiplies by p = 0)
    q = k = v = rng.standard_normal((5, 3))
    _, p = A.attention_forward(q, k, v, causal=True)
    d_out = rng.standard_normal((5, 3))
    dp = d_out @ v.T
    ds = A.K.attention_scores_backward(p, dp, (dp * p).sum(-1, keepdims=True))
    assert np.all(ds[np.triu_indices(5, 1)] == 0)


def test_float32_softmax_is_shifted_finite_and_accurate():
    """The documented float32 behaviour: finite at any finite score (an unshifted float32
    softmax overflows above log(FLT_MAX) ≈ 88.72), in float32, rows summing to 1, each
    probability within a relative (|s − max s| + n)·2⁻²⁴·4 of the float64 value."""
    rng = np.random.default_rng(2)
    n = 16
    s64 = rng.uniform(-1, 1, (8, n)) * np.array([1, 10, 50, 100, 1e3, 1e4, 3e4, 1e5])[:, None]
    s32 = s64.astype(np.float32)
    p32 = A.softmax_rows(s32)
    assert p32.dtype == np.float32 and np.isfinite(p32).all()
    np.testing.assert_allclose(p32.sum(-1), 1.0, rtol=n * 2.0**-23)
    ref = A.softmax_rows(s32.astype(np.float64))  # the same float32 scores, exactly rounded
    big = ref > 1e-30  # probabilities that are normal float32 numbers
    gap = s32.max(-1, keepdims=True).astype(np.float64) - s32
    bound = 4 * (np.abs(gap) + n) * 2.0**-24
    rel = np.abs(p32.astype(np.float64) - ref) / np.where(big, ref, 1)
    assert np.all(rel[big] <= np.broadcast_to(bound, rel.shape)[big])
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(s32) / np.exp(s32).sum(-1, keepdims=True)
    assert not np.isfinite(naive[s32.max(-1) > 88.8]).all()  # the unshifted form breaks
    # masked rows in float32: probability exactly 0, still normalised
    pm = A.softmax_rows(s32[:, :4][:4], A.causal_mask(4))
    assert pm.dtype == np.float32 and np.all(pm[np.triu_indices(4, 1)] == 0)


def test_float32_layer_runs_in_float32():
    rng = np.random.default_rng(3)
    layer = A.Attention(8, 2, causal=True, rng=rng, dtype=np.float32)
    x = rng.standard_normal((2, 6, 8)).astype(np.float32)
    y = layer.forward(x, train=True)
    assert y.dtype == np.float32 and layer.probabilities.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32


def test_bad_arguments_are_refused_with_a_message():
    rng = np.random.default_rng(4)
    with pytest.raises(ValueError, match="divisible"):
        A.Attention(6, 4, rng=rng)
    with pytest.raises(ValueError, match="'pre' or 'post'"):
        A.ResidualBlock(6, norm="middle", rng=rng)
    with pytest.raises(ValueError, match="features"):
        A.Attention(6, rng=rng).forward(np.zeros((3, 5)), train=True)


# ---- nnmath train --model transformer ------------------------------------------------------
def test_retrieval_task_needs_the_paired_value():
    from numeric.train_transformer import retrieval_task
    x, y = retrieval_task(200, keys=5, values=7, pairs=4, rng=np.random.default_rng(5))
    assert x.shape == (200, 5, 13) and y.shape == (200,)
    for xi, yi in zip(x, y):
        key = xi[-1, :5].argmax()
        match = [t for t in range(4) if xi[t, key] == 1]
        assert len(match) == 1 and xi[match[0], 5 + yi] == 1  # the value paired with it


def test_short_transformer_run_reaches_95_percent_and_is_reproducible():
    from numeric.train_transformer import train
    kw = dict(seed=3, steps=160, n_train=4000, n_test=500, progress=False)
    r = train(**kw)
    assert r.test_accuracy >= 0.95, r
    again = train(**{**kw, "steps": 10})
    assert train(**{**kw, "steps": 10}).final_loss == again.final_loss


def test_without_attention_the_task_is_at_chance():
    """depth 0 (embedding and read-out of the query token only): the query token alone
    does not say which value is paired with its key, so held-out accuracy stays near 1/12."""
    from numeric.train_transformer import train
    r = train(seed=3, steps=160, depth=0, n_train=4000, n_test=500, progress=False)
    assert r.test_accuracy < 0.3, r


@pytest.mark.slow
def test_cli_train_transformer_full_run_under_two_minutes(capsys):
    from proofs.cli import main
    assert main(["train", "--model", "transformer", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    done = next(line for line in out.splitlines() if line.startswith("done:"))
    assert float(done.split(" in ")[1].split(" s")[0]) < 120
    assert float(done.rsplit("held-out ", 1)[1].rstrip("%")) >= 95
