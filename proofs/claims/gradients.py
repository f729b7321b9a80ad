"""Gradient claims: numeric's backward passes against central differences.

Each claim runs ``proofs.testing.check_vjp`` (float64; ⟨backward(u), v⟩ against
⟨u, (f(x + hv) − f(x − hv))/2h⟩ in random directions; inputs away from kinks; dropout
masks frozen) on a layer of ``numeric``, and the same check on a foil implementation that
makes the classic mistake, which must fail. These rows are D,K in the catalog; the claims
confirm that the generated kernels, wired into the layers, are the derivative.
"""
from __future__ import annotations

from ..stats.assertions import Behaviour
from . import Context, claim


def _vjp_check(make_forward_and_vjp):
    """check(impl) -> (holds, detail) for ``impl`` a (forward, vjp, x) triple builder."""
    def check(impl):
        from ..testing import check_vjp
        forward, vjp, x = make_forward_and_vjp(impl)
        try:
            check_vjp(forward, x, vjp, seed=1, rtol=1e-6, name="backward")
        except AssertionError as exc:
            return False, str(exc).split(";")[0][:90]
        return True, "⟨backward(u), v⟩ = ⟨u, J v⟩ in 3 random directions (rtol 1e-6)"
    return check


@claim("batchnorm-backward", derivations=("batchnorm-backward",))
def batchnorm_backward_matches_central_differences(ctx: Context) -> list:
    """numeric.layers.BatchNorm in training mode (γ, β random, batch 8 × 3): its backward
    agrees with central differences. Foil: the backward missing the −mean(g) term."""
    import numpy as np

    from numeric.layers import BatchNorm

    def build(missing_mean: bool):
        rng = np.random.default_rng(2)
        bn = BatchNorm(3)
        bn.params["gamma"][:] = rng.uniform(0.5, 2, 3)
        bn.params["beta"][:] = rng.standard_normal(3)
        x = rng.standard_normal((8, 3))

        def vjp(u):
            bn.forward(x, train=True)
            dx = bn.backward(u)
            if missing_mean:  # add back γ/√(ν+ε)·mean(g): the mean term forgotten
                dx = dx + bn.params["gamma"] / np.sqrt(x.var(0) + bn.eps) * u.mean(0)
            return dx
        return (lambda z: bn.forward(z, train=True)), vjp, x
    return [Behaviour("BatchNorm.backward vs central differences",
                      _vjp_check(build), False, True, foil_name="missing −mean(g)", method="vjp")]


@claim("layernorm-backward", derivations=("layernorm-backward",))
def layernorm_backward_matches_central_differences(ctx: Context) -> list:
    """numeric.layers.LayerNorm (4 × 5, random γ, β): backward agrees with central
    differences. Foil: the row-mean term of ĝ forgotten."""
    import numpy as np

    from numeric.layers import LayerNorm

    def build(missing_mean: bool):
        rng = np.random.default_rng(3)
        ln = LayerNorm(5)
        ln.params["gamma"][:] = rng.uniform(0.5, 2, 5)
        ln.params["beta"][:] = rng.standard_normal(5)
        x = rng.standard_normal((4, 5))

        def vjp(u):
            ln.forward(x, train=True)
            dx = ln.backward(u)
            if missing_mean:
                g_hat = u * ln.params["gamma"]
                dx = dx + g_hat.mean(1, keepdims=True) / np.sqrt(x.var(1, keepdims=True)
                                                                + ln.eps)
            return dx
        return (lambda z: ln.forward(z, train=True)), vjp, x
    return [Behaviour("LayerNorm.backward vs central differences",
                      _vjp_check(build), False, True, foil_name="missing row mean", method="vjp")]


@claim("softmax-ce-gradient", derivations=("softmax-ce-gradient",))
def softmax_ce_gradient_matches_central_differences(ctx: Context) -> list:
    """numeric.layers.SoftmaxCrossEntropy (mean over a batch of 5, 4 classes, soft labels
    with rows summing to 1): backward agrees with central differences of the loss. Foil:
    p − y without the 1/batch of the mean."""
    import numpy as np

    from numeric.layers import SoftmaxCrossEntropy

    def build(sum_not_mean: bool):
        rng = np.random.default_rng(4)
        z = rng.standard_normal((5, 4))
        y = rng.dirichlet(np.ones(4), size=5)
        loss = SoftmaxCrossEntropy()

        def forward(zz):
            return np.array(loss.forward(zz, y))

        def vjp(u):
            loss.forward(z, y)
            return float(u) * loss.backward() * (z.shape[0] if sum_not_mean else 1)
        return forward, vjp, z
    return [Behaviour("SoftmaxCrossEntropy.backward vs central differences",
                      _vjp_check(build), False, True, foil_name="sum instead of mean",
                      method="vjp")]


@claim("mlp-backprop", derivations=("mlp-backprop",))
def mlp_backprop_matches_central_differences(ctx: Context) -> list:
    """A 3 → 6 → 2 MLP (numeric Linear, Tanh, Linear): the input gradient of Sequential's
    backward agrees with central differences. Foil: the activation derivative σ'(z)
    dropped from δ_i = σ'(z_i) ⊙ W_{i+1}ᵀδ_{i+1}."""
    import numpy as np

    from numeric.layers import Linear, Sequential, Tanh

    class NoDerivativeTanh(Tanh):
        def backward(self, grad):
            super().backward(grad)
            return grad

    def build(drop_derivative: bool):
        rng = np.random.default_rng(5)
        act = NoDerivativeTanh() if drop_derivative else Tanh()
        net = Sequential(Linear(3, 6, rng=rng), act, Linear(6, 2, rng=rng))
        x = rng.standard_normal((4, 3))

        def vjp(u):
            net.forward(x, train=True)
            return net.backward(u)
        return (lambda z: net.forward(z, train=True)), vjp, x
    return [Behaviour("Sequential.backward vs central differences", _vjp_check(build),
                      False, True, foil_name="σ' dropped", method="vjp")]
