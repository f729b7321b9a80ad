"""Claims of catalog sections 2, 5, 6 and 7: activation moments, initialisation, depth."""
from __future__ import annotations

import functools

from ..stats.assertions import Behaviour, Estimate, Exact, Moment, Profile
from . import Context, claim


@functools.cache
def gaussian_moments(activation: str, v: float) -> tuple[float, float]:
    """(E f(z)², E f'(z)²) for z ~ N(0, v), from derive (exact where SymPy integrates,
    mpmath quadrature at 20 digits otherwise: derive.initialization.activation_gain)."""
    import sympy as sp

    from derive.initialization import activation_gain
    x = sp.Symbol("x", real=True)
    f = {"relu": sp.Piecewise((x, x > 0), (0, True)), "tanh": sp.tanh(x)}[activation]
    g = activation_gain(f, x, sp.nsimplify(v) if activation == "relu" else sp.Float(v, 20),
                        digits=20)
    return float(sp.N(g.second_moment, 20)), float(sp.N(g.derivative_second_moment, 20))


def _relu_sampler(sigma: float):
    from ..stats.sampler import dropout_relu_power_sums
    return lambda n, seed: dropout_relu_power_sums(n, seed, 0.0, sigma)


@claim("relu-moments", derivations=("relu-moments",))
def relu_moments_match(ctx: Context) -> list:
    """z ~ N(0, σ²): E[ReLU z] = σ/√(2π), Var = σ²(1/2 − 1/(2π)). Foils: E|z|/1 = σ√(2/π)
    for the mean (forgetting the half); σ²/2 for the variance (second moment taken for the
    variance). The moments are a property of the Gaussian, not of code: the samples come
    from proofs.stats.sampler's fast ReLU-of-normals (numeric's ReLU layer is exercised by
    the depth experiment)."""
    import math
    out = []
    for sigma in ((1,) if ctx.quick else (0.5, 1, 2)):
        mean = ctx.exact("relu-moments", "relu_gaussian_mean", sigma=sigma)
        var = ctx.exact("relu-moments", "relu_gaussian_variance", sigma=sigma)
        second = ctx.exact("relu-moments", "relu_gaussian_second_moment", sigma=sigma)
        out.append(Moment(f"E[ReLU z], σ = {sigma}", mean, sigma * math.sqrt(2 / math.pi),
                          _relu_sampler(sigma), "mean", sd=math.sqrt(second),
                          foil_name="E|z|"))
        out.append(Moment(f"Var[ReLU z], σ = {sigma}", var, second, _relu_sampler(sigma),
                          "variance", foil_name="E[ReLU z²]"))
    return out


@claim("activation-moments", derivations=("activation-moments",))
def tanh_moments_match(ctx: Context) -> list:
    """For f = tanh and z ~ N(0, 1): E[f(z)²] and E[f'(z)²] from derive's activation
    moments (quadrature) against Monte Carlo through numeric's Tanh layer (forward and
    backward). Foils (named mistakes): for E[tanh(z)²], the activation at the typical
    input, tanh(√E z²)² = tanh(1)² (Jensen's slip, E f(z)² read as f(rms z)²); for
    E[tanh'(z)²], the square of the mean, (E tanh'(z))² = (1 − E[tanh(z)²])²."""
    import numpy as np

    from numeric.layers import Tanh

    from ..stats.sampler import PowerSums
    m2 = ctx.exact("activation-moments", "tanh_second_moment")
    d2 = ctx.exact("activation-moments", "tanh_derivative_second_moment")

    def sampler(which):
        def sample(n, seed):
            rng = np.random.default_rng(seed)
            acc = PowerSums()
            layer = Tanh()
            for start in range(0, n, 1 << 18):
                z = rng.standard_normal(min(1 << 18, n - start))[None, :]
                y = layer.forward(z, train=True)
                v = y if which == "f" else layer.backward(np.ones_like(z))
                acc = acc + PowerSums.of(v * v)
            return acc
        return sample
    return [Moment("E[tanh(z)²]", m2, float(np.tanh(1.0)) ** 2, sampler("f"), "mean",
                   sd=1.0, foil_name="tanh(rms z)²"),
            Moment("E[tanh'(z)²]", d2, (1 - m2) ** 2, sampler("fprime"), "mean", sd=1.0,
                   foil_name="(E tanh'(z))²")]


BATCH = 64  # 002 uses 16; 64 gives the deep He layers enough power against the halving foil
PILOT_WIDTH = 1024  # the design check's pilot; its SEs are rescaled by √(1024/4096)
LAYERS = 6


def _constant(kind, l):
    return 1.0


def _depth_profile(label: str, inits: dict, foils: dict, backward: bool = True,
                   why: str = "") -> Profile:
    """One Profile over every initialisation in ``inits`` (label -> (activation, c)),
    sharing one set of weights; ``foils``: label -> foil function (kind, layer)."""
    from . import depth

    exact, foil, preds = [], [], {}
    for name, (act, c) in inits.items():
        fwd, bwd = depth.predict(act, c, LAYERS, gaussian_moments)
        preds[name] = (fwd, bwd)
        exact += list(fwd) + (list(bwd) if backward else [])
        foil += [foils[name]("forward", l + 1) for l in range(LAYERS)]
        if backward:
            foil += [foils[name]("backward", l) for l in range(LAYERS)]

    def experiment(seed, pilot):
        width = PILOT_WIDTH if pilot else 4096
        shrink = (PILOT_WIDTH / 4096) ** 0.5 if pilot else 1.0
        sims = depth.simulate(inits, seed, width=width, batch=BATCH)
        out = []
        for name, res in sims.items():
            fwd, bwd = preds[name]
            out += [(f"{name}: E[h_{l + 1}²]", res["forward"][l],
                     shrink * fwd[l] * res["forward_relvar"][l] ** 0.5) for l in range(LAYERS)]
            if backward:
                out += [(f"{name}: E[g_{l}²]", res["backward"][l],
                         shrink * bwd[l] * res["backward_relvar"][l] ** 0.5)
                        for l in range(LAYERS)]
        return out
    return Profile(label, exact, foil, experiment, foil_why=why,
                   note="CLT over 4096 i.i.d. units per layer (delta method across layers)")


@claim("depth-propagation", derivations=("relu-moments", "activation-moments", "he-init"))
def depth_profile_matches_mean_field(ctx: Context) -> list:
    """Per-layer activation (forward) and gradient (backward) second moments for ReLU + He
    (constant), ReLU + 1/n (halves per layer) and tanh + 1/n (slow decay), batch 64,
    through numeric's ReLU and Tanh layers, against the mean-field recursion with derive's
    Gaussian moments. Foils (named mistakes): for ReLU + He, He's factor 2 forgotten in
    the prediction (the 1/n rule's halving per layer, derive's ratio E[ReLU z²]/Var z =
    1/2, forward and backward); ReLU + 1/n and
    tanh + 1/n staying constant (what 002 says of its snippet / the linear regime). The
    quick variant runs ReLU + He only. (A closer per-layer mistake, the variance
    Var[ReLU z] for the second moment, factor 0.68, is 0.1 at layer 6: too close to 1
    for the deepest layer's SE at batch 64.)"""
    half = ctx.exact("he-init", "relu_second_moment_ratio")

    def halving(kind, l):
        return half ** l if kind == "forward" else half ** (LAYERS - l)
    inits = {"ReLU+He": ("relu", 2.0)}
    foils = {"ReLU+He": halving, "ReLU+1/n": _constant, "tanh+1/n": _constant}
    if not ctx.quick:
        inits["ReLU+1/n"] = ("relu", 1.0)
        inits["tanh+1/n"] = ("tanh", 1.0)
    return [_depth_profile("width 4096", inits, foils,
                           why="a per-layer mistake compounds: r^l at layer l, so the deep "
                               "layers are off by more than 2× while the first are not")]


@claim("kaiming-snippet", quick=False, derivations=("relu-moments",))
def printed_kaiming_snippet_collapses(ctx: Context) -> list:
    """002's snippet divides the weights by √Din (c = 1) under ReLU: the activation second
    moment halves per layer, E[h_6²] = 2⁻⁶. Foil: what the notes show for it, 'just
    right' (constant 1). The correction √(2/Din) is checked by depth-propagation."""
    return [_depth_profile("002 snippet W/√Din", {"snippet": ("relu", 1.0)},
                           {"snippet": _constant}, backward=False,
                           why="002's own statement is 'just right' (factor 1); halving "
                               "compounds to 2^−l, so the deep layers are more than 2× off")]


@claim("he-init", derivations=("he-init",))
def he_init_preserves_second_moment(ctx: Context) -> list:
    """One layer, fan_in 2048, input h = ReLU(x), x ~ N(0, 1), W from numeric.init.he_normal:
    Var z_j = n·Var w·E[x²]/2 = 1 (derive he-init's forward map at its own forward
    variance 2/n and E[x²] = 1). Foil: Xavier's 1/n variance, giving ½."""
    import numpy as np

    from numeric import init
    n, fan_out, batch = 2048, 1024, 64
    var_w = ctx.exact("he-init", "forward_variance", n=n, n_in=n, fan_in=n)
    exact = ctx.exact("he-init", "forward_map", n_in=n, s=1, sigma_w=var_w ** 0.5)

    def experiment(seed):
        rng = np.random.default_rng(seed)
        h = np.maximum(rng.standard_normal((batch, n)), 0)
        z = h @ init.he_normal(rng, n, fan_out)
        unit = (z ** 2).mean(axis=0)  # i.i.d. over output units given h
        # conditional on h the target is Σ_b‖h_b‖²·Var w / batch; its own spread is added
        cond = (h ** 2).sum(axis=1)
        se = np.sqrt(unit.var(ddof=1) / fan_out + (var_w ** 2) * cond.var(ddof=1) / batch)
        return float(unit.mean()), float(se)
    return [Estimate("Var z, fan_in 2048", exact, exact / 2, experiment,
                     foil_name="Xavier 1/n")]


@claim("selu-fixed-point", quick=False, derivations=("selu-fixed-point",))
def selu_self_normalises(ctx: Context) -> list:
    """numeric's SELU constants equal derive's fixed point (α, λ) to float64 precision; a
    40-layer SELU network (width 1024, numeric's LeCun normal 1/n and SELU layer) started
    from inputs with mean 1 and variance 3 ends at derive's fixed point (μ, ν) = (0, 1),
    second moment μ² + ν = 1 (the mean-field map contracts by about 0.78 per layer: after
    40 layers it is within 1e-4 of 1, under 2% of the experiment's SE). Foils (named
    mistakes): for the constants, 002's rounded α = 1.6733, λ = 1.0507; for the fixed
    point, ELU with SELU's α but without the scale λ, whose mean-field second moment after
    the same 40 layers (q ← E[elu_α(√q ξ)²], quadrature) is ≈ 0.63."""
    import numpy as np

    from numeric import init
    from numeric.layers import SELU
    alpha = ctx.exact("selu-fixed-point", "alpha_exact")
    lam = ctx.exact("selu-fixed-point", "lambda_exact")

    def constants():  # read back from numeric's SELU: λ = selu(1), λα = −selu(−50)
        act = SELU()
        lam_ = float(act.forward(np.array([[1.0]]), train=False)[0, 0])
        return np.array([-float(act.forward(np.array([[-50.0]]), train=False)[0, 0]) / lam_,
                         lam_])
    width, depth_, batch = 1024, 40, 64
    fixed_point = ctx.exact_expr("selu-fixed-point", "fixed_point")
    second_moment = float(fixed_point[0] ** 2 + fixed_point[1])

    def elu_without_lambda_fixed_point():
        from scipy import integrate

        def f2(z, q):
            u = np.sqrt(q) * z
            return (u if u > 0 else alpha * np.expm1(u)) ** 2 * np.exp(-z * z / 2)
        q = 4.0
        for _ in range(depth_):
            q = integrate.quad(f2, -np.inf, np.inf, args=(q,))[0] / np.sqrt(2 * np.pi)
        return q

    def experiment(seed):
        rng = np.random.default_rng(seed)
        x = 1.0 + np.sqrt(3.0) * rng.standard_normal((batch, width))
        act = SELU()
        for _ in range(depth_):
            x = act.forward(x @ init.lecun_normal(rng, width, width), train=True)
        unit = (x ** 2).mean(axis=0)
        return float(unit.mean()), float(unit.std(ddof=1) / np.sqrt(width))
    return [Exact("(α, λ) in numeric.SELU", np.array([alpha, lam]),
                  np.array([1.6733, 1.0507]), constants, tol=1e-14,
                  foil_name="rounded constants"),
            Estimate(f"E[h²] after {depth_} SELU layers", second_moment,
                     elu_without_lambda_fixed_point(), experiment,
                     foil_name="ELU_α without λ",
                     note="CLT over 1024 units; derive's fixed point (μ, ν) = (0, 1)")]


@claim("constant-init-symmetry", derivations=("constant-init-symmetry",))
def constant_init_keeps_units_identical(ctx: Context) -> list:
    """derive: at a symmetric start every hidden unit's weight gradient is the same row
    (the spread between rows of hidden_weight_gradient_at_symmetric_start simplifies to
    0). Experiment: a 2-layer MLP (numeric Linear/Tanh/Linear) with all weights equal,
    5 SGD steps: every hidden unit still has identical weights, max spread = derive's 0
    (to 1e-12). Foil implementation (the named misconception "the nonlinearity or the
    data break the symmetry"): the same training from a random initialisation, whose
    units differ."""
    import numpy as np
    import sympy as sp

    grads = sp.Matrix(ctx.exact_expr("constant-init-symmetry",
                                     "hidden_weight_gradient_at_symmetric_start"))
    spread_exact = max(abs(float(sp.simplify(grads[i, j] - grads[0, j])))
                       for i in range(grads.rows) for j in range(grads.cols))

    from numeric.layers import Linear, Sequential, SoftmaxCrossEntropy, Tanh

    def train(constant: bool):
        rng = np.random.default_rng(7)
        net = Sequential(Linear(4, 6, rng=rng), Tanh(), Linear(6, 3, rng=rng))
        if constant:
            for layer in (net.layers[0], net.layers[2]):
                for k in layer.params:
                    layer.params[k][...] = 0.3
        loss = SoftmaxCrossEntropy()
        x, y = rng.standard_normal((8, 4)), rng.integers(0, 3, 8)
        for _ in range(5):
            loss.forward(net.forward(x, train=True), y)
            net.backward(loss.backward())
            for layer in (net.layers[0], net.layers[2]):
                for k in layer.params:
                    layer.params[k] -= 0.5 * layer.grads[k]
        w = net.layers[0].params
        key = "W" if "W" in w else sorted(w)[0]
        return float(np.ptp(w[key], axis=1).max() if w[key].shape[0] == 4
                     else np.ptp(w[key], axis=0).max())

    def check(constant):
        spread = train(constant)
        return (abs(spread - spread_exact) < 1e-12,
                f"max spread of hidden weights {spread:.2e} (derive: {spread_exact:g})")
    return [Behaviour("hidden units stay identical", check, True, False,
                      foil_name="random init")]


def _one_layer_moments(seed, weights, n_in: int, n_out: int, batch: int, act=None):
    """Forward second moment of z = f(x)W and backward second moment of gW^T for one
    layer, with x ~ N(0, 1) and g ~ N(0, 1); each averaged over i.i.d. units (columns of
    W for the forward pass, rows for the backward pass) with its standard error."""
    import numpy as np
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, n_in))
    h = act(x) if act else x
    W = weights(rng, n_in, n_out)
    h = h.astype(W.dtype)
    fwd = ((h @ W).astype(np.float64) ** 2).mean(axis=0)
    g = rng.standard_normal((batch, n_out))
    bwd = ((g.astype(W.dtype) @ W.T).astype(np.float64) ** 2).mean(axis=0)
    # the input's own sample second moment adds a (small) common factor: included in the SE
    common = (h ** 2).mean(axis=1).var(ddof=1) / batch / (h ** 2).mean() ** 2
    se = lambda u: float(np.sqrt(u.var(ddof=1) / u.size + u.mean() ** 2 * common))
    return (float(fwd.mean()), se(fwd)), (float(bwd.mean()), se(bwd))


@claim("xavier-init", derivations=("xavier-init",))
def xavier_compromise_moments(ctx: Context) -> list:
    """A linear layer 512 → 2048 with numeric.init.xavier_normal: Var z = n_in·Var w = 0.4
    forward and n_out·Var w = 1.6 backward (Var w = derive's 2/(n_in + n_out)); neither
    is 1 when n_in ≠ n_out. Foils (a named mistake): the backward rule 1/n_out used for
    Var w (n_in/n_out = 0.25 forward, 1 backward)."""
    from numeric import init
    n_in, n_out, batch = 512, 2048, 64
    var_w = ctx.exact("xavier-init", "compromise_variance", n_in=n_in, n_out=n_out)
    def side(k):
        def experiment(seed):
            return _one_layer_moments(seed, init.xavier_normal, n_in, n_out, batch)[k]
        return experiment
    return [Estimate("forward Var z = n_in·Var w", n_in * var_w, n_in / n_out, side(0),
                     foil_name="1/n_out rule"),
            Estimate("backward Var = n_out·Var w", n_out * var_w, 1.0, side(1),
                     foil_name="1/n_out rule")]


@claim("activation-gain", derivations=("activation-gain",))
def derived_gain_preserves_second_moment(ctx: Context) -> list:
    """Pre-activations z ~ N(0, 1) (batch 64, width 4096; quick 2048), h = tanh z, weights
    N(0, g²/n):
    the next pre-activations have second moment g²·E[tanh(z)²] with derive's fixed-point
    gain g = √(1/E[tanh²]) ≈ 1.59 and derive's E[tanh²] (the product is 1). Activation:
    numeric's Tanh layer; weights: float32 Box–Muller normals scaled by g/√n
    (numeric.init has no gain argument, and float64 normals of 4096² would dominate the
    run). Foil (a named mistake): the conventional table gain 5/3, derive's
    (5/3)²·E[tanh²] ≈ 1.095, so the table is a heuristic, not a fixed point."""
    import math

    from numeric.layers import Tanh
    gain = ctx.exact("activation-gain", "tanh_gain_q1")
    exact = gain ** 2 * ctx.exact("activation-gain", "tanh_second_moment_q1")
    foil = ctx.exact("activation-gain", "tanh_table_factor_q1")
    n, batch = (2048, 64) if ctx.quick else (4096, 64)

    def weights(g):  # float32 Box–Muller (proofs.sampler) for speed; N(0, g²/n)
        from ..stats.sampler import normal_array
        return lambda rng, a, b: normal_array(int(rng.integers(2 ** 63)), (a, b),
                                              g / math.sqrt(a))

    def experiment(seed):
        tanh = lambda x: Tanh().forward(x, train=False)
        return _one_layer_moments(seed, weights(gain), n, n, batch, act=tanh)[0]
    return [Estimate("E[z'²] with the derived gain", exact, foil, experiment,
                     foil_name="table gain 5/3")]
