"""The layers against PyTorch autograd (optional: skipped when torch is not installed)."""
import numpy as np
import pytest

from numeric import layers as L

torch = pytest.importorskip("torch", reason="PyTorch not installed (optional extra: "
                            "pip install 'nnmath[torch]')")
torch.set_num_threads(1)
F = torch.nn.functional

CASES = {
    "ReLU": (L.ReLU(), F.relu),
    "LeakyReLU": (L.LeakyReLU(0.1), lambda t: F.leaky_relu(t, 0.1)),
    "ELU": (L.ELU(0.7), lambda t: F.elu(t, 0.7)),
    "SELU": (L.SELU(), F.selu),
    "GELU": (L.GELU(), F.gelu),
    "GELU-tanh": (L.GELU("tanh"), lambda t: F.gelu(t, approximate="tanh")),
    "Swish": (L.Swish(), F.silu),
    "Sigmoid": (L.Sigmoid(), torch.sigmoid),
    "Tanh": (L.Tanh(), torch.tanh),
    "LayerNorm": (L.LayerNorm(6), lambda t: F.layer_norm(t, (6,), eps=1e-5)),
    "BatchNorm": (L.BatchNorm(6), lambda t: F.batch_norm(t, None, None, training=True,
                                                          eps=1e-5)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_layer_matches_torch(name, rng):
    layer, ref = CASES[name]
    x = rng.standard_normal((7, 6)) * 2
    u = rng.standard_normal((7, 6))
    y = layer.forward(x, train=True)
    gx = layer.backward(u)
    xt = torch.tensor(x, requires_grad=True)
    yt = ref(xt)
    yt.backward(torch.tensor(u))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_softmax_cross_entropy_matches_torch(rng):
    z = rng.standard_normal((8, 5)) * 4
    y = rng.integers(0, 5, 8)
    loss = L.SoftmaxCrossEntropy()
    value = loss.forward(z, y)
    zt = torch.tensor(z, requires_grad=True)
    lt = F.cross_entropy(zt, torch.tensor(y))
    lt.backward()
    assert value == pytest.approx(lt.item(), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), zt.grad.numpy(), rtol=1e-10, atol=1e-14)
