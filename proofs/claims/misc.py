"""Claims of catalog sections 1, 3, 6, 8–11: worked examples, normalisation behaviour,
softmax stability, optimisers, ridge, whitening, ResNet variance."""
from __future__ import annotations

import functools
import itertools

from ..stats.assertions import Behaviour, Exact, Profile
from . import Context, claim


def _matrix(ctx: Context, slug: str, name: str):
    import numpy as np
    import sympy as sp
    return np.array(sp.Matrix(ctx.exact_expr(slug, name)).evalf(30).tolist(), dtype=float)


LN_X = [[4, 4, 8, 8], [0, 2, 2, 8], [1, 1, 1, 5]]
BN_X = [[2, 2, 1, 1], [2, 5, 4, 1], [5, 5, 10, 10]]
GAMMA, BETA = [1, 2, 3, 4], [0, -1, 1, 0]


@claim("data188-layernorm", derivations=("data188-layernorm",))
def layernorm_example_reproduced(ctx: Context) -> list:
    """numeric's LayerNorm (ε → 0: the layer's smallest ε, 1e-300) on 003's X, γ, β equals
    derive's exact output. Foil: the printed, rounded table (row 2 = [−1, −1.66, 0.01,
    6.68])."""
    import numpy as np

    from numeric.layers import LayerNorm
    exact = _matrix(ctx, "data188-layernorm", "data188_layernorm_output")
    printed = _matrix(ctx, "data188-layernorm", "printed")

    def compute():
        ln = LayerNorm(4, eps=1e-300)
        ln.params["gamma"][:] = GAMMA
        ln.params["beta"][:] = BETA
        return ln.forward(np.array(LN_X, dtype=float), train=True)
    return [Exact("LayerNorm(X) (3×4)", exact, printed, compute, tol=1e-12,
                  foil_name="printed table",
                  foil_why="the source's own rounded table; its 0.01 for an exact 0 makes "
                           "the relative distance unbounded though the table is close")]


@claim("data188-batchnorm", derivations=("data188-batchnorm",))
def batchnorm_example_reproduced(ctx: Context) -> list:
    """numeric's BatchNorm in training mode (ε = 1e-300) on 003's X equals derive's exact
    output (column 1 = [−1/√2, −1/√2, √2]). Foil: the printed 2-decimal table."""
    import numpy as np

    from numeric.layers import BatchNorm
    exact = _matrix(ctx, "data188-batchnorm", "data188_batchnorm_output")
    printed = _matrix(ctx, "data188-batchnorm", "printed")

    def compute():
        bn = BatchNorm(4, eps=1e-300)
        bn.params["gamma"][:] = GAMMA
        bn.params["beta"][:] = BETA
        return bn.forward(np.array(BN_X, dtype=float), train=True)
    return [Exact("BatchNorm(X) (3×4)", exact, printed, compute, tol=1e-12,
                  foil_name="printed (rounded) table")]


@claim("batchnorm-batch-of-one")
def batchnorm_refuses_batch_of_one(ctx: Context) -> list:
    """With one row every normalised value is x − x = 0, so training-mode BN must raise a
    clear error (mentioning the batch size) rather than return zeros. Foil implementation:
    a naive BN that silently normalises the single row."""
    import numpy as np

    from numeric.layers import BatchNorm

    class NaiveBatchNorm:
        def forward(self, x, *, train):
            return (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)

    def check(layer):
        try:
            y = layer.forward(np.array([[1.0, 2.0, 3.0]]), train=True)
        except ValueError as exc:
            ok = "batch" in str(exc).lower()
            return ok, f"raised ValueError: {str(exc)[:60]}…"
        return False, f"returned {np.asarray(y).ravel()[:3]} without complaint"
    return [Behaviour("batch of one raises", check, BatchNorm(3), NaiveBatchNorm(),
                      foil_name="naive BN")]


def _model_numbers(batch: int):
    """003 §1's model built with numeric layers: parameter and activation counts."""
    import numpy as np

    from numeric.layers import LayerNorm, Linear, ReLU
    rng = np.random.default_rng(0)
    dims = [52, 128, 256, 20]
    layers = []
    for a, b in itertools.pairwise(dims):
        layers += [Linear(a, b, rng=rng), LayerNorm(b), ReLU()]
    layers.append(Linear(20, 1000, rng=rng))
    params = sum(v.size for layer in layers for v in layer.params.values())
    x = rng.standard_normal((batch, 52))
    acts = 0
    for layer in layers:
        x = layer.forward(x, train=False)
        acts += x.size
    return params, acts


@claim("param-count", derivations=("param-count",))
def parameter_count_reproduced(ctx: Context) -> list:
    """Counting the parameter arrays of the model built with numeric layers gives derive's
    closed-form count (003 prints 66,756). Foil: weights only (biases and LayerNorm
    γ, β forgotten)."""
    exact = ctx.exact("param-count", "total_parameters")
    weights_only = 52 * 128 + 128 * 256 + 256 * 20 + 20 * 1000
    return [Exact("parameters", exact, weights_only, lambda: _model_numbers(4)[0], tol=0.5,
                  foil_name="weights only")]


@claim("activation-count", derivations=("activation-count",))
def activation_count_reproduced(ctx: Context) -> list:
    """Summing the sizes of the intermediate outputs z₁…z₁₀ at batch n = 4 gives derive's
    count (003 prints 8,848). Foil: counting only the Linear outputs."""
    exact = ctx.exact("activation-count", "activations_at_batch_4")
    crossover = ctx.exact("activation-count", "crossover_batch_size")
    linear_only = 4 * (128 + 256 + 20 + 1000)

    def smallest_batch():
        params, acts4 = _model_numbers(4)
        per_example = acts4 // 4
        return next(n for n in range(1, 10 ** 6) if n * per_example >= params)
    return [Exact("activations, n = 4", exact, linear_only, lambda: _model_numbers(4)[1],
                  tol=0.5, foil_name="Linear outputs only"),
            Exact("smallest n with activations ≥ parameters", crossover, crossover - 1,
                  smallest_batch, tol=0.5, foil_name="off by one")]


@claim("stable-softmax", derivations=("stable-softmax",))
def stable_softmax_is_finite_and_shift_invariant(ctx: Context) -> list:
    """numeric's SoftmaxCrossEntropy on logits of magnitude 1e4 returns finite probabilities
    equal (to 1e-12) to those of the logits shifted by their maximum; foil implementation:
    the textbook exp(z)/Σexp(z), which overflows."""
    import numpy as np

    from numeric.layers import SoftmaxCrossEntropy
    z = np.array([[1e4, 1e4 - 1.0, -1e4, 0.0], [-1e4, -1e4 + 2.0, -1e4 + 1.0, -1e4]])
    y = np.array([0, 1])

    def numeric_probs(zz):
        loss = SoftmaxCrossEntropy()
        loss.forward(zz, y)
        g = loss.backward() * zz.shape[0]  # p − y for the mean loss
        onehot = np.eye(zz.shape[1])[y]
        return g + onehot

    def naive_probs(zz):
        with np.errstate(over="ignore", invalid="ignore"):
            e = np.exp(zz)
            return e / e.sum(axis=1, keepdims=True)

    def check(probs):
        p, q = probs(z), probs(z - 5e3)
        ok = bool(np.all(np.isfinite(p)) and np.allclose(p, q, atol=1e-12, rtol=0)
                  and np.allclose(p.sum(axis=1), 1, atol=1e-12))
        return ok, f"finite: {bool(np.all(np.isfinite(p)))}, max |p(z) − p(z + c)| = " \
                   f"{np.nanmax(np.abs(p - q)) if np.all(np.isfinite(p)) else 'nan'}"
    return [Behaviour("finite and shift invariant at 1e4", check, numeric_probs, naive_probs,
                      foil_name="exp(z)/Σexp(z)")]


@claim("optimizer-quadratic", derivations=("l2-gradient", "momentum", "adagrad", "adam"))
def optimizers_on_ill_conditioned_quadratic(ctx: Context) -> list:
    """f(θ) = ½ Σ λ_i θ_i², λ = (1, 100) (condition κ = 100), θ₀ = (1, 1), numeric's
    optimisers. GD (numeric SGD, η = 1/λ_max): one step multiplies θ_i by derive's SGD
    factor (sgd_l2_step with G = 0: the quadratic is the penalty (λ_i/2)θ_i²), r = 1 − ηλ_i,
    so |θ| < 1e-6 takes the smallest t with r_min^t < 1e-6 (exact count). Foil (a named
    mistake): the rate (κ − 1)/(κ + 1) of the optimal step 2/(λ_min + λ_max) quoted for
    η = 1/λ_max (about half the steps). Heavy-ball momentum (numeric Momentum,
    form="heavy_ball", v ← μv + g, μ = 0.9) and Adam need fewer steps than GD; foil μ = 0.
    Adagrad on a constant gradient: derive's step ηg/(ε + √s) with derive's accumulator
    s ← s + g² after t steps, so step 4 over step 1 is 1/2; foil: a 1/t decay (1/4). Adam
    on a constant gradient g = 1 for t = 1000 steps: its step is derive's bias-corrected
    adam_step with m, v from derive's moment updates; foil (a named mistake): no bias
    correction, η·m/(√v + ε), 1.26× larger."""
    import math

    import numpy as np
    import sympy as sp

    from numeric import optim
    lam = np.array([1.0, 100.0])
    eta = 1 / lam.max()

    def factor(step_size, curvature):  # derive: θ after one step on (λ/2)θ² from θ = 1
        return ctx.exact("l2-gradient", "sgd_l2_step", G=0, theta=1,
                         lamda=sp.nsimplify(curvature) / 2, eta=sp.nsimplify(step_size))

    def count(rate):  # smallest t with |rate|^t < 1e-6
        return math.ceil(math.log(1e-6) / math.log(abs(rate)))
    gd_exact = max(count(factor(eta, l)) if factor(eta, l) != 0 else 1 for l in lam)
    gd_foil = count(factor(2 / (lam.min() + lam.max()), lam.min()))

    def steps(make, cap=20000):
        theta = np.ones(2)
        opt = make({"theta": theta})
        for t in range(1, cap + 1):
            opt.step({"theta": lam * theta})
            if np.abs(theta).max() < 1e-6:
                return t
        return cap + 1
    gd = lambda: steps(lambda p: optim.SGD(p, lr=eta))

    def faster(mu):
        mom = steps(lambda q: optim.Momentum(q, lr=eta, gamma=mu, form="heavy_ball"))
        adam = steps(lambda q: optim.Adam(q, lr=0.05))
        g = gd()
        return (mom < g and adam < g), f"steps: GD {g}, heavy ball (μ = {mu}) {mom}, Adam {adam}"

    accumulate = ctx.exact_expr("adagrad", "adagrad_accumulate")
    sums = [sp.Integer(0)]  # derive's accumulator after t constant gradients g = 1
    for _ in range(4):
        sums.append(sp.sympify(accumulate.subs({x: sums[-1] if x.name == "s" else 1
                                                for x in accumulate.free_symbols})))
    ratio_4 = (ctx.exact("adagrad", "adagrad_step", eta=sp.Rational(1, 10), g=1, eps=0,
                         s=sums[4])
               / ctx.exact("adagrad", "adagrad_step", eta=sp.Rational(1, 10), g=1, eps=0,
                           s=sums[1]))

    def adagrad_ratio():
        theta = np.zeros(1)
        opt = optim.Adagrad({"theta": theta}, lr=0.1, eps=0.0)
        moves = []
        for _ in range(4):
            before = theta.copy()
            opt.step({"theta": np.ones(1)})
            moves.append(abs(float(theta[0] - before[0])))
        return moves[3] / moves[0]

    # Adam: derive's updates iterated in float64 from m = v = 0 with g = 1
    t_adam, lr, b1, b2, eps = 1000, 0.01, 0.9, 0.999, 1e-8
    m_sym = ctx.exact_expr("adam", "adam_first_moment")
    v_sym = ctx.exact_expr("adam", "adam_second_moment")
    step_sym = ctx.exact_expr("adam", "adam_step")
    names = lambda e: sorted(e.free_symbols, key=lambda s: s.name)
    m_next = sp.lambdify(names(m_sym), m_sym)
    v_next = sp.lambdify(names(v_sym), v_sym)
    step_fn = sp.lambdify(names(step_sym), step_sym)
    kw = lambda e, **vals: {s.name: vals[s.name] for s in names(e)}
    m = v = 0.0
    for _ in range(t_adam):
        m = m_next(**kw(m_sym, beta1=b1, g=1.0, m=m))
        v = v_next(**kw(v_sym, beta2=b2, g=1.0, v=v))
    adam_exact = step_fn(**kw(step_sym, m=m, v=v, t=t_adam, eta=lr, beta1=b1, beta2=b2,
                              eps=eps))
    adam_foil = -lr * m / (math.sqrt(v) + eps)

    def adam_last_step():
        theta = np.zeros(1)
        opt = optim.Adam({"theta": theta}, lr=lr, beta1=b1, beta2=b2, eps=eps)
        for _ in range(t_adam):
            before = float(theta[0])
            opt.step({"theta": np.ones(1)})
        return float(theta[0]) - before
    return [
        Exact("GD steps to 1e-6 (η = 1/λ_max)", gd_exact, gd_foil, gd, tol=1.5,
              foil_name="optimal-step rate (κ−1)/(κ+1)"),
        Behaviour("heavy ball (μ = 0.9) and Adam need fewer steps than GD", faster, 0.9, 0.0,
                  foil_name="momentum with μ = 0"),
        Exact("Adagrad step ratio t = 4 vs 1", ratio_4, ratio_4 ** 2, adagrad_ratio,
              tol=1e-9, foil_name="1/t decay"),
        Exact(f"Adam step at t = {t_adam}, constant gradient", adam_exact, adam_foil,
              adam_last_step, tol=1e-12, foil_name="no bias correction"),
    ]


@claim("ridge-limits", derivations=("ridge-limits",))
def ridge_limits_hold(ctx: Context) -> list:
    """derive's example X (3×2), y and its closed form θ_λ = (XᵀX + λI)⁻¹Xᵀy, the minimiser
    of ‖Xθ − y‖² + λ‖θ‖², against numeric: SGD with weight decay λ (θ ← θ − η(g + λθ)) on
    g = Xᵀ(Xθ − y), the gradient of ½‖Xθ − y‖², whose fixed point is the same θ_λ. Run to
    convergence (η = 1/(s_max² + λ), 400 steps: the slowest factor is 1 − 4/18) at
    λ = 10⁻⁶, 1, 100: the iterates equal derive's θ_λ (to 1e-9), θ_λ at λ = 10⁻⁶ is
    derive's θ* (the λ → 0⁺ limit, to 1e-5) and the squared norms ‖θ_λ‖² follow
    derive's norm2(λ), decreasing in λ. Foil (a named mistake): the sign error
    (XᵀX − λI)⁻¹Xᵀy, i.e. θ_{−λ}."""
    import numpy as np
    import sympy as sp
    X = np.array(ctx.exact_expr("ridge-limits", "X").evalf(), dtype=float)
    y = np.array(ctx.exact_expr("ridge-limits", "y").evalf(), dtype=float).ravel()
    lams = (sp.Rational(1, 10**6), sp.Integer(1), sp.Integer(100))

    def theta(lam):
        value = ctx.exact_expr("ridge-limits", "ridge_solution", **{"lambda": lam})
        return np.array(value.evalf(30), dtype=float).ravel()
    star = np.array(ctx.exact_expr("ridge-limits", "theta_star").evalf(30), dtype=float).ravel()
    norm2 = [ctx.exact("ridge-limits", "norm2", **{"lambda": lam}) for lam in lams]
    fits: dict = {}

    def fitted(lam):
        from numeric import optim
        if lam not in fits:
            th = np.zeros(2)
            opt = optim.SGD({"theta": th}, lr=1 / (np.linalg.eigvalsh(X.T @ X).max()
                                                   + float(lam)), weight_decay=float(lam))
            for _ in range(400):
                opt.step({"theta": X.T @ (X @ th - y)})
            fits[lam] = th.copy()
        return fits[lam]
    out = [Exact(f"θ_λ by SGD with weight decay, λ = {lam}", theta(lam), theta(-lam),
                 functools.partial(fitted, lam), tol=1e-9, foil_name="(XᵀX − λI)⁻¹Xᵀy",
                 foil_why="" if lam < 50 else "the sign error is the named mistake; at "
                 "λ = 100 it is far because λ dominates XᵀX (eigenvalues 4, 18)")
           for lam in lams]
    out.append(Exact("λ → 0⁺: θ_λ → θ*", star, np.zeros(2), lambda: fitted(lams[0]),
                     tol=1e-5, foil_name="limits swapped (θ_λ → 0)",
                     foil_why="a limit has no nearby wrong value: the named mistake is "
                              "the other limit, 0"))
    out.append(Exact("‖θ_λ‖², decreasing in λ", np.array(norm2),
                     np.array([float(theta(-lam) @ theta(-lam)) for lam in lams]),
                     lambda: np.array([float(fitted(lam) @ fitted(lam)) for lam in lams]),
                     tol=1e-9, foil_name="norm of (XᵀX − λI)⁻¹Xᵀy",
                     foil_why="the sign error is the named mistake; at λ = 100 it is far "
                              "because λ dominates XᵀX (eigenvalues 4, 18)"))
    return out


@claim("standardize-whiten", derivations=("standardize-whiten",))
def whitening_gives_identity_covariance(ctx: Context) -> list:
    """Correlated 2-d data (2000 rows, offset 3). Standardising with numeric's BatchNorm in
    training mode (γ = 1, β = 0, ε = 1e-300: the population mean and variance, derive's
    convention) gives derive's (mean, mean square) = (0, 1) per column; foil (a named
    mistake): the unbiased variance (÷ m − 1), mean square (m − 1)/m. Whitening: numeric
    has no whitening layer, so the experiment is NumPy's eigendecomposition Σ = UΛUᵀ of
    the sample covariance, W = UΛ^{−1/2}Uᵀ, compared with derive's closed form
    (adj Σ + sI)/(st) at the sample a, b, c, and the whitened sample covariance WΣWᵀ
    equals derive's whitened covariance at a, b, c (the identity); foil for both (a named
    mistake): the unbiased covariance (÷ m − 1) against derive's population convention,
    W·√((m − 1)/m) and covariance (m − 1)/m·I."""
    import numpy as np

    from numeric.layers import BatchNorm
    rng = np.random.default_rng(5)
    A = np.array([[1.0, 0.0], [0.8, 0.6]]) @ np.diag([2.0, 0.5])
    X = rng.standard_normal((2000, 2)) @ A + 3.0
    m = len(X)
    moments = np.array(ctx.exact_expr("standardize-whiten", "standardised_moments").evalf(),
                       dtype=float).ravel()

    def standardised():
        bn = BatchNorm(2, eps=1e-300)
        z = bn.forward(X, train=True)
        return np.concatenate([z.mean(0), (z ** 2).mean(0)])
    exact_std = np.repeat(moments, 2)
    foil_std = exact_std * np.array([1, 1, (m - 1) / m, (m - 1) / m])
    Xc = X - X.mean(0)
    cov = Xc.T @ Xc / m
    abc = {"a": cov[0, 0], "b": cov[0, 1], "c": cov[1, 1]}
    zca_exact = np.array(ctx.exact_expr("standardize-whiten", "zca_matrix", **abc).evalf(30),
                         dtype=float)
    white_exact = np.array(ctx.exact_expr("standardize-whiten", "whitened_covariance",
                                          **abc).evalf(30), dtype=float)
    evals, evecs = np.linalg.eigh(cov)

    def zca():
        return evecs @ np.diag(evals ** -0.5) @ evecs.T

    def whitened_covariance():
        w = Xc @ zca()
        return w.T @ w / m
    return [Exact("BatchNorm-standardised (mean, mean square) per column", exact_std,
                  foil_std, standardised, tol=1e-10, foil_name="unbiased variance"),
            Exact("ZCA matrix: eigendecomposition = closed form", zca_exact,
                  zca_exact * np.sqrt((m - 1) / m), zca, tol=1e-10,
                  foil_name="unbiased covariance"),
            Exact("whitened covariance", white_exact, white_exact * (m - 1) / m,
                  whitened_covariance, tol=1e-10, foil_name="unbiased covariance")]


@claim("resnet-variance", derivations=("resnet-variance", "he-init"))
def residual_variance_growth(ctx: Context) -> list:
    """x_{l+1} = x_l + F(x_l), F(x) = W₂·ReLU(W₁·ReLU(x)) with He W₁, W₂ (numeric's
    he_normal_std kernel, float32 normals):
    Var x_{l+1} = 2 Var x_l (derive's block factor), so E[x_L²] = 2^L; Fixup
    (numeric.init.fixup: W₂ = 0, W₁ rescaled) keeps the factor 1. Width 2048, 6 blocks,
    batch 32 (quick: 4 blocks, width 1024). Fixup's factor 1 holds by construction at
    initialisation (W₂ = 0): its profile checks that numeric.init.fixup starts every block
    as the identity. Foils (named mistakes): "residual connections preserve the variance"
    (factor 1, for He); for Fixup, keeping its rescaled inner layer (He × L^(−1/2)) but
    He-initialising the last layer instead of zeroing it: derive's branch factor
    n²v₁v₂/4 = 1/L per block, so (1 + 1/L)^l."""
    import numpy as np

    from numeric import init
    blocks, width, batch = (4, 1024, 32) if ctx.quick else (6, 2048, 32)
    factor = ctx.exact("resnet-variance", "block_factor")
    fixup_factor = ctx.exact("resnet-variance", "fixup_block_factor")

    def profile(fixup: bool):
        def experiment(seed, pilot):
            from numeric.kernels import kernels as K

            from ..stats.sampler import normal_array
            # Fixup's stream is constant: narrow layers, a 4× batch for the foil's small gap
            full, rows = (width, batch) if not fixup else (512, 4 * batch)
            w = full // 4 if pilot else full
            rng = np.random.default_rng(seed)
            x = rng.standard_normal((rows, w)).astype(np.float32)
            out, acc = [], 2.0 / x.size
            for l in range(blocks):
                if fixup:
                    w1 = init.fixup(rng, w, w, n_branches=blocks, branch_depth=2, last=False)
                    w2 = init.fixup(rng, w, w, n_branches=blocks, branch_depth=2, last=True)
                else:  # numeric's He std (a generated kernel), fast float32 normals
                    std = float(K.he_normal_std(w))
                    w1, w2 = (normal_array(int(rng.integers(2 ** 63)), (w, w), std)
                              for _ in range(2))
                x = x + np.maximum(np.maximum(x, 0) @ w1, 0) @ w2
                x = x.astype(np.float32)
                unit = (x.astype(np.float64) ** 2).mean(axis=0)
                acc += unit.var(ddof=1) / w / unit.mean() ** 2
                exact = (fixup_factor if fixup else factor) ** (l + 1)
                shrink = np.sqrt(w / full)
                out.append((f"E[x_{l + 1}²]", float(unit.mean()),
                            float(shrink * exact * np.sqrt(acc))))
            return out
        return experiment
    he = [factor ** (l + 1) for l in range(blocks)]
    fix = [fixup_factor ** (l + 1) for l in range(blocks)]
    v_he = ctx.exact("he-init", "forward_variance", n_in=width)
    unzeroed = 1 + ctx.exact("resnet-variance", "branch_factor", n=width,
                             v_1=v_he / blocks, v_2=v_he)  # Fixup's L^(−1/2) on W₁'s std
    fix_foil = [unzeroed ** (l + 1) for l in range(blocks)]
    return [Profile("He residual blocks", he, [1.0] * blocks, profile(False),
                    foil_name="residual blocks preserve the variance",
                    foil_why="the named belief is factor 1 per block; any per-block error "
                             "compounds, so deep blocks are 2^l off"),
            Profile("Fixup", fix, fix_foil, profile(True), foil_name="last layer not zeroed",
                    foil_why="the deepest blocks compound the named mistake's 1 + 1/L to "
                             "more than 2×; the first blocks are 1.2× off")]


@claim("ema-bias-correction", derivations=("ema-bias-correction", "ema-unroll"))
def debiased_ema_is_unbiased(ctx: Context) -> list:
    """numeric's Momentum (EMA form m ← γm + (1 − γ)g) on the constant gradient 1 with
    γ = 0.1 gives 004's 0.9, 0.99, 0.999 (derive's exact values; foil: the corrected
    values 1, 1, 1). Monte Carlo: 2¹⁸ independent coordinates with noisy gradients
    g_t ~ N(1, 1), γ = 0.9, t = 3: E[m_3/(1 − γ³)] is derive's debiasing of the EMA's
    total weight 1 − γ³ (ema-unroll), i.e. 1. Foil (a named mistake): the off-by-one
    correction 1 − γ^(t−1), about 1.43."""
    import numpy as np

    from numeric import optim
    example = np.array(ctx.exact_expr("ema-bias-correction", "example_averages").evalf(),
                       dtype=float).ravel()
    debias = ctx.exact_expr("ema-bias-correction", "ema_debias")

    def averages():
        theta = np.zeros(1)
        opt = optim.Momentum({"theta": theta}, lr=1.0, gamma=0.1)
        out = []
        for _ in range(3):
            opt.step({"theta": np.ones(1)})
            out.append(float(opt.state["theta"]["m"][0]))
        return np.array(out)

    gamma, t, size = 0.9, 3, 1 << 18
    import sympy as sp

    from . import substitute, to_float
    g9 = sp.Rational(9, 10)
    factor = to_float(substitute(debias, {"A": 1, "gamma": g9, "t": t}))
    # E[A_t] for gradients of mean 1: the EMA's total weight (ema-unroll), then debiased
    mean_raw = ctx.exact_expr("ema-unroll", "ema_weight_total", gamma=g9, T=t)
    exact_mean = to_float(substitute(debias, {"A": mean_raw, "gamma": g9, "t": t}))
    off_by_one = to_float(substitute(debias, {"A": mean_raw, "gamma": g9, "t": t - 1}))

    def sampler(n, seed):
        from ..stats.sampler import PowerSums
        rng = np.random.default_rng(seed)
        acc = PowerSums()
        for start in range(0, n, size):
            k = min(size, n - start)
            theta = np.zeros(k)
            opt = optim.Momentum({"theta": theta}, lr=1.0, gamma=gamma)
            for _ in range(t):
                opt.step({"theta": 1.0 + rng.standard_normal(k)})
            acc = acc + PowerSums.of(opt.state["theta"]["m"] * factor)
        return acc
    from ..stats.assertions import Moment
    return [Exact("EMA of [1, 1, 1], γ = 0.1", example, np.ones(3), averages, tol=1e-12,
                  foil_name="already corrected"),
            Moment("E[m_3/(1 − γ³)], γ = 0.9", exact_mean, off_by_one, sampler, "mean",
                   foil_name="debiased by 1 − γ^(t−1)")]
