"""Claims of catalog §14: signal propagation in wide random networks (mean field).

Networks: z^{l+1} = φ(z^l) W^{l+1} + b^{l+1} with W from numeric.init (he_normal: σ_w² = 2,
lecun_normal: σ_w² = 1; other σ_w² by scaling lecun_normal), b ~ N(0, σ_b²) per unit, φ
numeric's ReLU or Tanh layer (forward). Exact values come from derive.meanfield.

Standard errors (stated approximation, as in proofs/claims/depth.py): given layer l, the
width units of layer l + 1 are i.i.d., so each layer adds an independent relative error
estimated from the spread over its units; the relative variance of the last layer's
statistic is taken as the SUM of the per-layer ones (conservative: the maps contract
earlier errors, by the slope of the length map, < 1 here).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # NumPy loads only when a claim runs (`nnmath list` stays light)
    import numpy as np

from . import Context, claim
from ..stats.assertions import Estimate


def _layer(name: str):
    from numeric.layers import ReLU, Tanh
    return {"relu": ReLU, "tanh": Tanh}[name]()


def _weights(rng, n: int, sigma_w2: float) -> np.ndarray:
    """N(0, σ_w²/n) weights from numeric.init (He for σ_w² = 2, LeCun otherwise, scaled)."""
    from numeric import init
    if sigma_w2 == 2.0:
        return init.he_normal(rng, n, n)
    w = init.lecun_normal(rng, n, n)
    if sigma_w2 != 1.0:
        w *= math.sqrt(sigma_w2)
    return w


def length_experiment(activation: str, sigma_w2: float, sigma_b2: float, q0: float,
                      depth: int, slope: float, width: int = 1024, batch: int = 16):
    """experiment(seed) -> (mean square of the last layer's pre-activations, SE).

    SE: layer l adds the relative variance var_j(unit mean square)/width of its i.i.d.
    units; an error of layer l reaches layer l + 1 multiplied by the slope of the length
    map at q* (``slope``, from derive; first-order propagation), so the accumulated
    relative variance is acc ← slope²·acc + v_l."""
    def experiment(seed):
        import numpy as np
        rng = np.random.default_rng(seed)
        z = math.sqrt(q0) * rng.standard_normal((batch, width))
        relvar = 0.0
        for _ in range(depth):
            h = _layer(activation).forward(z, train=False)
            z = h @ _weights(rng, width, sigma_w2)
            z += math.sqrt(sigma_b2) * rng.standard_normal(width)
            unit = (z ** 2).mean(axis=0)
            relvar = slope ** 2 * relvar + unit.var(ddof=1) / width / unit.mean() ** 2
        m = float((z ** 2).mean())
        return m, m * math.sqrt(relvar)
    return experiment


@claim("meanfield-length", quick=False,
       derivations=("meanfield-length", "meanfield-depth-scales"))
def wide_networks_follow_the_length_map(ctx: Context) -> list:
    """Width 1024, batch 16, 4 layers, inputs of mean square q₀ = 4. tanh at (σ_w², σ_b²)
    = derive's (2, 2) (He weights): the last layer's mean square z² is derive's q*
    (verified root-find; the length map contracts by derive's slope ≈ 0.10 a layer, so 4
    layers leave < 1e-4). ReLU at (1, 1) (LeCun weights): derive's ReLU length map
    iterated 4 times from 4 (q* = 2 plus 2·2⁻⁴). Foil (a named mistake): the map without
    σ_b² (tanh: derive's fixed point q*₀ of σ_w²E[tanh²]; ReLU: 4·2⁻⁴). Since all inputs
    of a batch converge to one direction in this (ordered) phase, the noise is that of
    the 1024 units of each layer, not of the batch."""
    import sympy as sp
    depth, q0 = 4, 4
    w2 = ctx.exact("meanfield-length", "tanh_sigma_w2")
    b2 = ctx.exact("meanfield-length", "tanh_sigma_b2")
    tanh_q = ctx.exact("meanfield-length", "tanh_q_star")
    tanh_foil = ctx.exact("meanfield-length", "tanh_q_star_no_bias")
    tanh_slope = ctx.exact("meanfield-depth-scales", "tanh_length_slope")
    qmap = ctx.exact_expr("meanfield-length", "relu_q_map", sigma_w=1, sigma_b=1)
    qmap_foil = ctx.exact_expr("meanfield-length", "relu_q_map", sigma_w=1, sigma_b=0)
    q_sym = next(s for s in qmap.free_symbols if s.name == "q")
    relu_slope = float(sp.diff(qmap, q_sym))
    relu_q, relu_foil = sp.Integer(q0), sp.Integer(q0)
    for _ in range(depth):
        relu_q, relu_foil = qmap.subs(q_sym, relu_q), qmap_foil.subs(q_sym, relu_foil)
    return [Estimate("tanh: E[z²] after 4 layers = q*", tanh_q, tanh_foil,
                     length_experiment("tanh", w2, b2, q0, depth, tanh_slope),
                     foil_name="map without σ_b²",
                     note="normal approximation; per-layer unit spread propagated by "
                          "the length map's slope"),
            Estimate("ReLU: E[z²] after 4 layers", float(relu_q), float(relu_foil),
                     length_experiment("relu", 1.0, 1.0, q0, depth, relu_slope),
                     foil_name="map without σ_b²",
                     foil_why="without σ_b² a ReLU network at σ_w² = 1 halves q every "
                              "layer",
                     note="normal approximation; per-layer unit spread propagated by "
                          "the length map's slope")]


def separation_experiment(sigma_w2: float, sigma_b2: float, q_star: float, depth: int,
                          width: int = 512, batch: int = 8, eps: float = 1e-5,
                          activation=None):
    """experiment(seed) -> (ln(d_L/d_0)/L, SE): d_l = mean square of z₁ − z₂ at layer l
    for pairs of inputs whose pre-activations start at z₁ ~ N(0, q*), z₂ = z₁ + εξ, through
    one network (shared W, b) with ``activation`` (default numeric's Tanh layer). SE (delta
    method): each layer adds the relative variance of the unit spread of (z₁ − z₂)² and of
    (φ(z₁) − φ(z₂))² (both i.i.d. over units given the previous layer), summed over layers;
    divided by L."""
    if activation is None:
        def activation(z):
            return _layer("tanh").forward(z, train=False)

    def experiment(seed):
        import numpy as np
        rng = np.random.default_rng(seed)
        z1 = math.sqrt(q_star) * rng.standard_normal((batch, width))
        z2 = z1 + eps * rng.standard_normal((batch, width))
        d0 = float(((z1 - z2) ** 2).mean())
        relvar = 0.0
        for _ in range(depth):
            h1, h2 = activation(z1), activation(z2)
            gap = ((h1 - h2) ** 2).mean(axis=0)
            w = _weights(rng, width, sigma_w2)
            b = math.sqrt(sigma_b2) * rng.standard_normal(width)
            z1, z2 = h1 @ w + b, h2 @ w + b
            unit = ((z1 - z2) ** 2).mean(axis=0)
            relvar += (unit.var(ddof=1) / unit.mean() ** 2
                       + gap.var(ddof=1) / gap.mean() ** 2) / width
        d_last = float(((z1 - z2) ** 2).mean())
        return math.log(d_last / d0) / depth, math.sqrt(relvar) / depth
    return experiment


@claim("meanfield-chi", quick=False, derivations=("meanfield-chi",))
def nearby_inputs_converge_or_separate_by_chi(ctx: Context) -> list:
    """tanh networks of width 512 at σ_b² = 1/20 (derive's configurations), 5 layers,
    8 pairs of inputs at pre-activation variance q* whose pre-activations differ by
    ε = 1e-5·ξ: the squared distance grows by χ₁ per layer, so ln(d_L/d_0)/L = ln χ₁
    (derive's χ₁ at q*): negative at σ_w² = 1 (ordered: nearby inputs converge), positive
    at σ_w² = 4 (chaotic: they separate). Foil (the other phase): −ln χ₁, the same rate
    with the opposite sign."""
    depth = 5
    b2 = ctx.exact("meanfield-chi", "chi_sigma_b2")
    phases = {"ordered": (ctx.exact("meanfield-chi", "ordered_sigma_w2"),
                          ctx.exact("meanfield-chi", "tanh_q_star_ordered"),
                          ctx.exact("meanfield-chi", "tanh_chi_ordered")),
              "chaotic": (ctx.exact("meanfield-chi", "chaotic_sigma_w2"),
                          ctx.exact("meanfield-chi", "tanh_q_star_chaotic"),
                          ctx.exact("meanfield-chi", "tanh_chi_chaotic"))}
    out = []
    for name, (w2, qs, chi) in phases.items():
        out.append(Estimate(f"{name} (σ_w² = {w2:g}): ln(d_L/d_0)/L = ln χ₁",
                            math.log(chi), -math.log(chi),
                            separation_experiment(w2, b2, qs, depth),
                            foil_name="the other phase",
                            note="normal approximation (delta method over layers)"))
    return out


def kernel_experiment(c: float, n_x: float, n_y: float, width: int, which: str,
                      dim: int = 16):
    """experiment(seed) -> (empirical kernel, SE) of one random ReLU layer of ``width``
    units, w_j ~ N(0, I_dim) (numeric.init.lecun_normal scaled by √dim), v_j ~ N(0, 1):
    NNGP (1/n)Σ_j ReLU(w_j·x)ReLU(w_j·y) (σ_w = 1), or NTK (1/n)Σ_j [ReLU(w_j·x)ReLU(w_j·y)
    + v_j²(x·y)𝟙(w_j·x > 0)𝟙(w_j·y > 0)]; the units are i.i.d., so SE = sd/√n."""
    def experiment(seed):
        import numpy as np
        from numeric import init
        from numeric.layers import ReLU
        rng = np.random.default_rng(seed)
        x = np.zeros(dim)
        y = np.zeros(dim)
        x[0] = n_x
        y[0], y[1] = n_y * c, n_y * math.sqrt(1 - c * c)
        w = init.lecun_normal(rng, dim, width) * math.sqrt(dim)
        act = ReLU()
        h = act.forward(np.stack([x, y]) @ w, train=False)
        unit = h[0] * h[1]
        if which == "ntk":
            v = rng.standard_normal(width)
            unit = unit + v * v * float(x @ y) * ((h[0] > 0) & (h[1] > 0))
        return float(unit.mean()), float(unit.std(ddof=1) / math.sqrt(width))
    return experiment


@claim("arccos-kernel", derivations=("arccos-kernel",))
def wide_relu_layers_have_the_arccos_kernel(ctx: Context) -> list:
    """One random ReLU layer of width 2¹⁴ (quick 2¹²), inputs of norms 1.5 and 0.8 at angle
    2π/3 (c = −1/2): the empirical NNGP kernel and two-layer NTK are averages over i.i.d.
    units, so they converge to derive's arc-cosine kernel (σ_w = 1) and NTK with error
    sd/√width = O(1/√width) (the SE). Foils: the linear kernel matched at θ = 0 (x·y/2
    for the NNGP kernel, x·y for the NTK), negative here."""
    import sympy as sp
    c, n_x, n_y = sp.Rational(-1, 2), sp.Rational(3, 2), sp.Rational(4, 5)
    width = 1 << 12 if ctx.quick else 1 << 14
    k = ctx.exact("arccos-kernel", "arccos_kernel", c=c, n_x=n_x, n_y=n_y, sigma_w=1)
    ntk = ctx.exact("arccos-kernel", "relu_ntk", c=c, n_x=n_x, n_y=n_y)
    dot = float(c * n_x * n_y)
    args = (float(c), float(n_x), float(n_y), width)
    return [Estimate("NNGP kernel k(x, y)", k, dot / 2, kernel_experiment(*args, "nngp"),
                     foil_name="linear kernel x·y/2"),
            Estimate("NTK Θ(x, y)", ntk, dot, kernel_experiment(*args, "ntk"),
                     foil_name="linear kernel x·y")]


def _mish_layer_forward(z):
    """Mish z·tanh(softplus z) with numeric's Tanh layer."""
    import numpy as np
    from numeric.layers import Tanh
    return z * Tanh().forward(np.logaddexp(0.0, z), train=False)


def mish_separation_experiment(sigma_w2: float, sigma_b2: float, q_star: float,
                               depth: int, width: int = 1024, batch: int = 16,
                               eps: float = 1e-5):
    """As :func:`separation_experiment`, with Mish (numeric's Tanh on softplus)."""
    return separation_experiment(sigma_w2, sigma_b2, q_star, depth, width, batch, eps,
                                 activation=_mish_layer_forward)


@claim("activation-meanfield", quick=False, derivations=("activation-meanfield",))
def mish_is_critical_at_its_derived_edge(ctx: Context) -> list:
    """Mish networks (width 1024, 16 input pairs, 5 layers) at derive's χ₁ = 1 solution
    for σ_b² = 1/20 (σ_w² ≈ 2.1048, pre-activations starting at its q ≈ 0.905): nearby
    inputs neither converge nor separate, ln(d_L/d_0)/L = ln χ₁ = 0. derive shows this
    fixed point repels slowly (length-map slope ≈ 1.019), so q stays near it over 5
    layers; it is not the fixed point a network reaches
    from small inputs. Foil (a named mistake): χ₁ evaluated at q = 0, the fixed point of
    the map without σ_b², σ_w²·Mish′(0)² ≈ 0.76 (ln ≈ −0.28)."""
    w2 = ctx.exact("activation-meanfield", "mish_edge_sigma_w2")
    q_edge = ctx.exact("activation-meanfield", "mish_edge_q")
    b2 = ctx.exact("activation-meanfield", "mish_sigma_b2")
    slope0 = ctx.exact("activation-meanfield", "mish_derivative_at_0")
    return [Estimate("Mish at its edge: ln(d_L/d_0)/L = ln 1", 0.0,
                     math.log(w2 * slope0 ** 2),
                     mish_separation_experiment(w2, b2, q_edge, 5),
                     foil_name="χ₁ at q = 0 (no σ_b²)",
                     note="normal approximation (delta method over layers)")]
