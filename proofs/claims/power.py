"""Claims of catalog section 15 (statistical power and scale).

Every experiment samples through the executor (proofs.stats.executor): chunk functions
are module-level so that local worker processes and Dask workers can run them, and the
estimates are identical on every backend. The GELU forms are numeric's generated kernels
(numeric.kernels, from the derivation gelu).
"""
from __future__ import annotations

from typing import Any

from . import Context, claim


# ---- chunk functions (module level: picklable) -------------------------------------------
def gelu_pair_chunk(stream: Any, m: int, form: str):
    """Columns (GELU − approx, GELU, approx) of m draws z ~ N(0, 1) in float64, the SAME z
    for both functions (common random numbers)."""
    import numpy as np

    from numeric.kernels import kernels as K

    from ..stats.executor import Moments
    z = np.random.default_rng(stream).standard_normal(m)
    f = K.gelu(z)
    g = K.gelu_tanh(z) if form == "tanh" else K.gelu_sigmoid(z)
    return Moments.of(f - g, f, g)


def gelu_tanh_chunk32(stream: Any, m: int):
    """Column GELU_tanh(z) of m draws z ~ N(0, 1), float32 Box–Muller (proofs.stats.sampler:
    tails cut at 5.77σ, moments up to order 4 changed by < 1e-6 relative) and the float32
    kernel; sums in float64. The unpaired claim's fast path (billions of samples)."""
    import numpy as np

    from numeric.kernels import kernels as K

    from ..stats.executor import Moments
    from ..stats.sampler import Buffers, fill_normal
    rng = np.random.Generator(np.random.SFC64(stream))
    z = fill_normal(rng, Buffers(m + (m % 2)))[:m]
    return Moments.of(K.gelu_tanh(z))


def control_chunk(stream: Any, m: int, which: str):
    """Columns (f, c) of m draws z ~ N(0, 1): ``relu2`` f = ReLU(z)², c = z²; ``gelu``
    f = GELU(z) (numeric kernel), c = ReLU(z)."""
    import numpy as np

    from numeric.kernels import kernels as K

    from ..stats.executor import Moments
    z = np.random.default_rng(stream).standard_normal(m)
    r = np.maximum(z, 0.0)
    if which == "relu2":
        return Moments.of(r * r, z * z)
    return Moments.of(K.gelu(z), r)


def fill_paired_example(rng, buf):
    """z² − 2·ReLU(z)² for a chunk of float32 normals (sampler.power_sums fill)."""
    import numpy as np

    from ..stats.sampler import fill_normal
    x = fill_normal(rng, buf)
    r = np.maximum(x, np.float32(0), out=buf.x2)
    np.multiply(r, r, out=r)
    np.multiply(x, x, out=x)
    np.subtract(x, r, out=x)
    np.subtract(x, r, out=x)
    return x


def paired_example_sums(n: int, seed: Any):
    from ..stats.sampler import power_sums
    return power_sums(fill_paired_example, n, seed)


# ---- claims ------------------------------------------------------------------------------
@claim("paired-design", derivations=("paired-design",))
def pairing_divides_the_variance_by_var_sum(ctx: Context) -> list:
    """Var(f − g) = Var f + Var g − 2Cov(f, g) on common draws: for f = z², g = 2ReLU(z)²,
    z ~ N(0, 1), the paired difference has variance 3, not the unpaired 7, so
    n_paired/n_unpaired = 3/7. Experiment: the sample variance of z² − 2ReLU(z)² (sampler
    power sums through the executor). Foil: 7 = Var f + Var g (covariance ignored)."""
    from ..stats.assertions import Moment
    exact = ctx.exact("paired-design", "example_var_difference")
    foil = ctx.exact("paired-design", "example_var_sum")
    return [Moment("Var(z² − 2ReLU(z)²), z ~ N(0,1)", exact, foil, paired_example_sums,
                   "variance", foil_name="Var f + Var g (no pairing)",
                   foil_why="the unpaired variance is the named alternative: what pairing "
                            "saves is exactly this gap")]


# not in --quick: their derivation integrates the biases to 30 digits (about 2 s of CPU)
@claim("gelu-approx-bias", derivations=("gelu-approx-bias",), quick=False)
def gelu_approximations_are_biased(ctx: Context) -> list:
    """E[GELU(z) − GELU_tanh(z)] = b ≈ 5.62e-5 and E[GELU(z) − xσ(1.702z)] ≈ −2.36e-4 for
    z ~ N(0, 1), each detected by a PAIRED design (both forms on the same z; n sized by
    the derived √E[(GELU − approx)²], a few hundred samples for the tanh form). Heavy
    (``nnmath verify gelu-approx-bias --heavy``, billions of samples, use --workers or
    --scheduler): the unpaired test of E[GELU_tanh(z)] = 1/(2√π) − b alone, same verdict.
    Foil: no bias (E[approx] = E[GELU] = 1/(2√π))."""
    import math

    from ..stats.executor import CHUNK, Job
    from ..stats.paired import Mean, Paired
    forms = (("tanh", "E[GELU(z) − GELU_tanh(z)], paired",
              ctx.exact("gelu-approx-bias", "bias_tanh"),
              ctx.exact("gelu-approx-bias", "second_moment_diff_tanh")),
             ("sigmoid", "E[GELU(z) − zσ(1.702z)], paired",
              ctx.exact("gelu-approx-bias", "bias_sigmoid"),
              ctx.exact("gelu-approx-bias", "second_moment_diff_sigmoid")))
    out: list = [Paired(label, bias, 0.0, Job(gelu_pair_chunk, (form,), chunk=1 << 16),
                        sd=math.sqrt(m2), foil_name="no bias")
                 for form, label, bias, m2 in forms]
    mean_t = ctx.exact("gelu-approx-bias", "mean_gelu_tanh")
    mean_g = ctx.exact("gelu-approx-bias", "mean_gelu")
    var_t = ctx.exact("gelu-approx-bias", "var_gelu_tanh")
    out.append(Mean("E[GELU_tanh(z)], unpaired", mean_t, mean_g,
                    Job(gelu_tanh_chunk32, (), chunk=CHUNK), sd=math.sqrt(var_t),
                    foil_name="no bias", heavy=True,
                    method_note="unpaired, float32 samples, CLT normal approximation"))
    return out


@claim("control-variates", derivations=("control-variates", "gelu-approx-bias"), quick=False)
def control_variates_estimate_with_less_variance(ctx: Context) -> list:
    """E[f] estimated by f̄ − β̂(c̄ − μ_c) with an exactly known control mean μ_c: E[ReLU(z)²]
    = 1/2 with c = z² (μ_c = 1, β* = 1/2, variance factor 3/5), and E[GELU(z)] = 1/(2√π)
    with c = ReLU(z) (μ_c = 1/√(2π), factor ≈ 0.007). Designs use the derived residual
    variance V_f(1 − ρ²). Foils: Var[ReLU z] = 1/2 − 1/(2π) for E[ReLU z²]; E[ReLU z] =
    1/√(2π) for E[GELU z] (GELU taken for ReLU)."""
    import math

    from ..stats.executor import Job
    from ..stats.paired import ControlVariate
    relu2 = ctx.exact("control-variates", "relu2_mean")
    relu_mean = ctx.exact("control-variates", "relu_mean")
    sd1 = math.sqrt(ctx.exact("control-variates", "relu2_var")
                    * ctx.exact("control-variates", "relu2_vrf"))
    sd2 = math.sqrt(ctx.exact("control-variates", "gelu_var")
                    * ctx.exact("control-variates", "gelu_relu_vrf"))
    return [
        ControlVariate("E[ReLU(z)²], control z²", relu2, relu2 - relu_mean ** 2,
                       Job(control_chunk, ("relu2",), chunk=1 << 16), sd=sd1,
                       control_mean=ctx.exact("control-variates", "z2_mean"),
                       foil_name="Var[ReLU z] (E[h]² subtracted)"),
        ControlVariate("E[GELU(z)], control ReLU(z)",
                       ctx.exact("control-variates", "gelu_mean"), relu_mean,
                       Job(control_chunk, ("gelu",), chunk=1 << 16), sd=sd2,
                       control_mean=relu_mean, foil_name="E[ReLU z] (GELU taken for ReLU)"),
    ]


__all__ = ["control_chunk", "fill_paired_example", "gelu_pair_chunk", "gelu_tanh_chunk32",
           "paired_example_sums"]
