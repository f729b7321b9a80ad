"""Claims of catalog section 12 (attention and the Transformer block), run on
``numeric.attention``: the attention layer's backward pass against central differences,
and Monte Carlo checks of the derived score statistics, each against a named foil.
"""
from __future__ import annotations

from ..stats.assertions import Behaviour
from . import Context, claim


def _vjp_check(build):
    """check(impl) -> (holds, detail): numeric's backward against central differences."""
    def check(impl):
        from ..testing import check_vjp
        forward, vjp, x = build(impl)
        try:
            check_vjp(forward, x, vjp, seed=1, rtol=1e-6, name="backward")
        except AssertionError as exc:
            return False, str(exc).split(";")[0][:90]
        return True, "⟨backward(u), v⟩ = ⟨u, J v⟩ in 3 random directions (rtol 1e-6)"
    return check


@claim("attention-backward", derivations=("attention-backward",))
def attention_backward_matches_central_differences(ctx: Context) -> list:
    """numeric.attention.Attention (2 heads, d = 6, causal, a batch of 2 sequences of 5
    tokens): its backward, dS = attention_scores_backward(P, dP, rowsum(dP ⊙ P)), agrees
    with central differences of the forward pass. Foil: dS = P ⊙ dP, the softmax's
    −rowsum(dP ⊙ P) term forgotten (the gradient of exp(S) with P held as the
    normaliser)."""
    import numpy as np

    from numeric import attention as A

    def build(forget_row_sum: bool):
        rng = np.random.default_rng(12)
        layer = A.Attention(6, 2, causal=True, rng=rng)
        x = rng.standard_normal((2, 5, 6))
        original = A.attention_backward

        def foil_backward(d_out, q, k, v, p):
            dq, dk, dv = original(d_out, q, k, v, p)
            scale = 1 / np.sqrt(q.shape[-1])
            dp = d_out @ np.swapaxes(v, -1, -2)
            extra = p * np.einsum("...ij,...ij->...i", dp, p)[..., None]  # add back
            return dq + (extra @ k) * scale, dk + (np.swapaxes(extra, -1, -2) @ q) * scale, dv

        def vjp(u):
            layer.forward(x, train=True)
            if not forget_row_sum:
                return layer.backward(u)
            A.attention_backward = foil_backward
            try:
                return layer.backward(u)
            finally:
                A.attention_backward = original
        return (lambda z: layer.forward(z, train=True)), vjp, x
    return [Behaviour("Attention.backward (2 heads, causal) vs central differences",
                      _vjp_check(build), False, True, foil_name="−rowsum(dP ⊙ P) dropped",
                      method="vjp")]
