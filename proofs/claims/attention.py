"""Claims of catalog section 12 (attention and the Transformer block), run on
``numeric.attention``: the attention layer's backward pass against central differences,
and Monte Carlo checks of the derived score statistics, each against a named foil.
"""
from __future__ import annotations

from ..stats.assertions import Behaviour
from . import Context, claim
from .gradients import _vjp_check




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


def _stack_experiment(L: int, v: float, scale: float, pre: bool, reps: int = 64,
                      tokens: int = 4, d: int = 16):
    """experiment(seed) -> (mean of x_L², SE) over ``reps`` independent random stacks of
    numeric.layers.LayerNorm (ε = 1e-5) and linear branches W ~ N(0, v/d) (fresh per
    layer and stack), x_0 ~ N(0, 1): Pre-LN x ← x + scale·LN(x)W, Post-LN
    x ← LN(x + xW). One stack is one independent unit."""
    def experiment(seed):
        import math

        import numpy as np

        from numeric.layers import LayerNorm
        rng = np.random.default_rng(seed)
        ln = LayerNorm(d)
        x = rng.standard_normal((reps, tokens, d))

        def norm(t):
            return ln.forward(t.reshape(-1, d), train=True).reshape(t.shape)
        for _ in range(L):
            w = rng.standard_normal((reps, d, d)) * math.sqrt(v / d)
            x = x + scale * (norm(x) @ w) if pre else norm(x + x @ w)
        unit = (x ** 2).mean(axis=(1, 2))
        return float(unit.mean()), float(unit.std(ddof=1) / math.sqrt(reps))
    return experiment


@claim("preln-residual-growth", derivations=("preln-residual-growth",))
def preln_stream_variance_grows_linearly(ctx: Context) -> list:
    """Random stacks of numeric LayerNorm and linear branches (branch variance v = 1,
    width 16, 4 tokens, 64 stacks): Pre-LN at depth L = 8 has Var x_L = 1 + 8v (foil: constant
    variance 1); with GPT-2's a = 1/√(2N), N = 4 blocks (L = 8), Var x_L = 1 + v (foil:
    a = 1/√N, giving 1 + 2v); Post-LN at L = 8 stays at 1 within 1e-4
    (foil: the Pre-LN growth 1 + 8v). LayerNorm's ε = 1e-5 lowers the variances by a
    relative ε/ν ≈ 1e-5, far below the standard errors and the tolerance."""
    from ..stats.assertions import Estimate, Exact
    slug = "preln-residual-growth"
    pre = ctx.exact(slug, "preln_variance", V_0=1, v=1, L=8)
    gpt2 = ctx.exact(slug, "gpt2_variance", V_0=1, v=1)
    a = ctx.exact(slug, "gpt2_scale", N=4)
    return [
        Estimate("Pre-LN, L = 8: Var x_L", pre, 1.0, _stack_experiment(8, 1.0, 1.0, True),
                 foil_name="constant variance"),
        Estimate("Pre-LN, a = 1/√(2N), N = 4: Var x_L", gpt2,
                 1.0 + 8 * 1.0 / 4,  # the foil: V_0 + L·a²·v with a² = 1/N, L = 8, N = 4
                 _stack_experiment(8, 1.0, a, True), foil_name="a = 1/√N (1 + 2v)"),
        Exact("Post-LN, L = 8: Var x_L (64 stacks)", ctx.exact(slug, "postln_variance"),
              pre, lambda: _stack_experiment(8, 1.0, 1.0, False)(12)[0], tol=1e-4,
              foil_name="Pre-LN growth 1 + Lv",
              note="deterministic up to LayerNorm's ε: ν/(ν + ε) ≈ 1 − 1e-5 per token"),
    ]


def _max_probability_experiment(d: int, n: int, scale: float | None):
    """experiment(seed) -> (mean, SE) of the largest attention probability of numeric's
    attention_scores and softmax_rows, for n independent queries of norm exactly √d
    (a normalised Gaussian times √d) against two keys k_1, k_2 ~ N(0, I_d)."""
    def experiment(seed):
        import math

        import numpy as np

        from numeric.attention import attention_scores, softmax_rows
        rng = np.random.default_rng(seed)
        q = rng.standard_normal((n, 1, d))
        q *= math.sqrt(d) / np.linalg.norm(q, axis=-1, keepdims=True)
        k = rng.standard_normal((n, 2, d))
        p_max = softmax_rows(attention_scores(q, k, scale)).max(axis=-1).ravel()
        return float(p_max.mean()), float(p_max.std(ddof=1) / math.sqrt(n))
    return experiment


@claim("attention-saturation", derivations=("attention-saturation",), quick=False)
def unscaled_attention_saturates(ctx: Context) -> list:
    """Two keys, queries of norm √d (1,024 draws per width): numeric's unscaled scores
    give E[p_max] = 0.9059 at d = 16 and 0.9878 at d = 1024 (foil at 1024: independent of
    d, the d = 16 value); with the layer's 1/√d the value is 0.7252 at d = 1024 (foil: the
    unscaled 0.9878)."""
    from ..stats.assertions import Estimate
    slug = "attention-saturation"
    e16 = ctx.exact(slug, "max_probability_d16")
    e1024 = ctx.exact(slug, "max_probability_d1024")
    return [
        Estimate("unscaled, d = 16: E[max p]", e16, e1024,
                 _max_probability_experiment(16, 1024, 1.0), foil_name="the d = 1024 value"),
        Estimate("unscaled, d = 1024: E[max p]", e1024, e16,
                 _max_probability_experiment(1024, 1024, 1.0),
                 foil_name="independent of d (the d = 16 value)"),
        Estimate("scaled by 1/√d, d = 1024: E[max p]",
                 ctx.exact(slug, "max_probability_scaled"), e1024,
                 _max_probability_experiment(1024, 1024, None),
                 foil_name="the unscaled value"),
    ]


def _skip_path_experiment(n: int, d: int, v: float, reps: int = 128):
    """experiment(seed) -> (mean, SE) of ‖g_top‖²/‖g_bottom‖² along the skip path of
    ``reps`` random Post-LN stacks of n blocks (one token of width d each):
    y_k = x_{k−1} + x_{k−1}W_k, W_k ~ N(0, v/d), x_k = numeric LayerNorm(y_k); the top
    gradient is random, projected orthogonal to 1 and every LN output ŷ_k, and carried
    down by numeric's LayerNorm.backward (the generated layernorm_backward_input)."""
    def experiment(seed):
        import math

        import numpy as np

        from numeric.layers import LayerNorm
        rng = np.random.default_rng(seed)
        lns = [LayerNorm(d) for _ in range(n + 1)]
        x = lns[0].forward(rng.standard_normal((reps, d)), train=True)
        outs = [np.ones((reps, d))]
        for ln in lns[1:]:
            w = rng.standard_normal((reps, d, d)) * math.sqrt(v / d)
            x = ln.forward(x + np.einsum("ri,rij->rj", x, w), train=True)
            outs.append(x)
        q, _ = np.linalg.qr(np.stack(outs, axis=-1))  # (reps, d, n + 1)
        g = rng.standard_normal((reps, d))
        g -= np.einsum("rij,rj->ri", q, np.einsum("rij,ri->rj", q, g))
        top = (g ** 2).sum(-1)
        for ln in reversed(lns[1:]):
            g = ln.backward(g)
        ratio = top / (g ** 2).sum(-1)
        return float(ratio.mean()), float(ratio.std(ddof=1) / math.sqrt(reps))
    return experiment


@claim("postln-gradient-scale", derivations=("postln-gradient-scale",))
def postln_skip_gradient_shrinks_by_two_per_block(ctx: Context) -> list:
    """128 random Post-LN stacks of 6 blocks (width 64, branch variance v = 1), numeric
    LayerNorm forward and backward: the skip-path gradient's squared norm shrinks from the
    top to the bottom by a factor of mean (1 + v(d − 1)/d)^6 = (2 − 1/64)^6 ≈ 61.0 (about
    2^6). Foil: equal gradient norms at every depth (ratio 1), as along Pre-LN's skip path."""
    from ..stats.assertions import Estimate
    slug = "postln-gradient-scale"
    return [Estimate("Post-LN, 6 blocks, d = 64: E[‖g_top‖²/‖g_bottom‖²]",
                     ctx.exact(slug, "gradient_ratio", v=1, d=64, n=6),
                     ctx.exact(slug, "preln_skip_ratio"), _skip_path_experiment(6, 64, 1.0),
                     foil_name="equal norms at every depth (Pre-LN's 1)")]
