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


def _score_experiment(d: int, n: int, scale: float | None):
    """experiment(seed) -> (sample variance, SE) of numeric's attention scores
    q·k·scale for n independent pairs q, k ~ N(0, I_d) (float64)."""
    def experiment(seed):
        import math

        import numpy as np

        from numeric.attention import attention_scores

        from ..stats.sampler import PowerSums
        rng = np.random.default_rng(seed)
        q, k = rng.standard_normal((2, n, 1, d))
        est, sd = PowerSums.of(attention_scores(q, k, scale)).variance()
        return est, sd / math.sqrt(n)
    return experiment


@claim("attention-score-variance", derivations=("attention-score-variance",))
def attention_scores_have_variance_d(ctx: Context) -> list:
    """Var[q·k] = d for independent N(0, 1) entries (d = 16, 64, 256, 1024; 1,024 pairs
    each, the unscaled scores of numeric.attention.attention_scores); foil: variance 1, as
    if no 1/√d were needed. And the layer's default scores QKᵀ/√d have variance 1 at
    d = 1024; foil: 1/d, the μP scale applied to uncorrelated q and k."""
    from ..stats.assertions import Estimate
    out = [Estimate(f"Var[q·k] at d = {d}", ctx.exact("attention-score-variance",
                                                       "score_variance", d=d), 1.0,
                    _score_experiment(d, 1024, 1.0), foil_name="1 (no scaling needed)")
           for d in (16, 64, 256, 1024)]
    out.append(Estimate("Var[q·k/√d] at d = 1024 (the layer's scores)",
                        ctx.exact("attention-score-variance", "scaled_variance"), 1 / 1024,
                        _score_experiment(1024, 1024, None), foil_name="1/d scale"))
    return out
