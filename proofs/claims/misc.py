"""Claims of catalog sections 1, 3, 6, 8–11: worked examples, normalisation behaviour,
softmax stability, optimisers, ridge, whitening, ResNet variance."""
from __future__ import annotations

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
                  foil_name="printed table")]


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
    for a, b in zip(dims[:-1], dims[1:]):
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


@claim("optimizer-quadratic", derivations=("adagrad",))
def optimizers_on_ill_conditioned_quadratic(ctx: Context) -> list:
    """f(θ) = ½ Σ λ_i θ_i², λ = (1, 100) (condition 100), θ₀ = (1, 1), numeric optimisers.
    GD with η = 1/λ_max contracts the slow coordinate by (1 − 1/κ) per step, so reaching
    |θ| < 1e-6 takes ⌈ln 1e-6 / ln(1 − 1/κ)⌉ steps (exact count); heavy-ball momentum
    (μ = 0.9) and Adam need fewer. Adagrad with a constant gradient g takes steps
    η/√t: the ratio of step 100 to step 1 is exactly 1/10. Foils: GD count off by the
    √κ speed-up (what momentum achieves), and a 1/t decay."""
    import math

    import numpy as np

    from numeric import optim
    lam = np.array([1.0, 100.0])
    kappa = lam.max() / lam.min()

    def steps(make, cap=20000):
        theta = np.ones(2)
        opt = make({"theta": theta})
        for t in range(1, cap + 1):
            opt.step({"theta": lam * theta})
            if np.abs(theta).max() < 1e-6:
                return t
        return cap + 1

    # derive's Adagrad step η g/(ε + √s) with the accumulator s = t·g² after t constant
    # gradients g = 1 (ε = 0): the ratio of step 100 to step 1
    ratio_100 = (ctx.exact("adagrad", "adagrad_step", eta=0.1, g=1, eps=0, s=100)
                 / ctx.exact("adagrad", "adagrad_step", eta=0.1, g=1, eps=0, s=1))
    gd_exact = math.ceil(math.log(1e-6) / math.log(1 - 1 / kappa))
    gd = lambda: steps(lambda p: optim.SGD(p, lr=1 / lam.max()))

    def faster(mu):
        kw = {k: mu for k in _momentum_kw()}
        mom = steps(lambda q: optim.Momentum(q, lr=1 / lam.max(), **kw))
        adam = steps(lambda q: optim.Adam(q, lr=0.05))
        g = gd()
        return (mom < g and adam < g), f"steps: GD {g}, momentum(μ={mu}) {mom}, Adam {adam}"

    def adagrad_ratio():
        theta = np.zeros(1)
        opt = optim.Adagrad({"theta": theta}, lr=0.1)
        moves = []
        for _ in range(100):
            before = theta.copy()
            opt.step({"theta": np.ones(1)})
            moves.append(abs(float(theta[0] - before[0])))
        return moves[99] / moves[0]
    return [
        Exact("GD steps to 1e-6 (η = 1/λ_max)", gd_exact, math.ceil(gd_exact / 10), gd,
              tol=1.5, foil_name="√κ-accelerated count"),
        Behaviour("momentum (μ = 0.9) and Adam need fewer steps than GD", faster, 0.9, 0.0,
                  foil_name="momentum with μ = 0"),
        Exact("Adagrad step ratio t = 100 vs 1", ratio_100, 1 / 100, adagrad_ratio,
              tol=1e-3, foil_name="1/t decay"),
    ]


def _momentum_kw():
    import inspect

    from numeric import optim
    sig = inspect.signature(optim.Momentum.__init__).parameters
    for name in ("mu", "momentum", "beta", "gamma"):
        if name in sig:
            return {name: None}
    return {}


@claim("ridge-limits", derivations=("ridge-limits",))
def ridge_limits_hold(ctx: Context) -> list:
    """θ_λ = (XᵀX + λI)⁻¹Xᵀy on a fixed random problem (float64): θ_λ → θ* as λ → 0
    (|θ_λ − θ*| at λ = 1e-8 below 1e-6), ‖θ_λ‖ → 0 as λ → ∞, ‖θ_λ‖ decreasing and train
    loss increasing along a grid of λ. Foil implementation: the sign error (XᵀX − λI)⁻¹,
    whose norm increases for small λ."""
    import numpy as np
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((40, 5)), rng.standard_normal(40)

    def check(sign):
        theta = lambda lam: np.linalg.solve(X.T @ X + sign * lam * np.eye(5), X.T @ y)
        star = np.linalg.lstsq(X, y, rcond=None)[0]
        grid = np.logspace(-3, 3, 25)
        norms = [np.linalg.norm(theta(l)) for l in grid]
        losses = [np.sum((X @ theta(l) - y) ** 2) for l in grid]
        ok = (np.linalg.norm(theta(1e-8) - star) < 1e-6
              and np.linalg.norm(theta(1e12)) < 1e-9 and np.all(np.diff(norms) < 0)
              and np.all(np.diff(losses) > 0))
        return bool(ok), f"‖θ‖ from {norms[0]:.3g} to {norms[-1]:.3g}"
    return [Behaviour("limits, ‖θ_λ‖ ↓, loss ↑", check, +1, -1, foil_name="(XᵀX − λI)⁻¹")]


@claim("standardize-whiten", derivations=("standardize-whiten",))
def whitening_gives_identity_covariance(ctx: Context) -> list:
    """On correlated data (2000 × 4), standardising gives column means 0 and variances 1;
    PCA and ZCA whitening give sample covariance I (to 1e-10), and the ZCA matrix is
    symmetric. Foil: dividing by the eigenvalues instead of their square roots."""
    import numpy as np
    rng = np.random.default_rng(5)
    A = rng.standard_normal((4, 4))
    X = rng.standard_normal((2000, 4)) @ A + 3.0
    Xc = X - X.mean(0)
    cov = Xc.T @ Xc / len(X)
    evals, evecs = np.linalg.eigh(cov)

    def whitened(power):
        pca = Xc @ evecs / evals ** power
        zca_matrix = evecs @ np.diag(evals ** -power) @ evecs.T
        zca = Xc @ zca_matrix
        return np.concatenate([(pca.T @ pca / len(X)).ravel(), (zca.T @ zca / len(X)).ravel(),
                               [np.abs(zca_matrix - zca_matrix.T).max()]])
    target = np.concatenate([np.eye(4).ravel(), np.eye(4).ravel(), [0.0]])
    foil = whitened(1.0)
    std = (X - X.mean(0)) / X.std(0)
    return [Exact("standardised means 0, variances 1",
                  np.concatenate([np.zeros(4), np.ones(4)]),
                  np.concatenate([np.zeros(4), X.var(0)]),
                  lambda: np.concatenate([std.mean(0), std.var(0)]), tol=1e-10,
                  foil_name="unscaled"),
            Exact("PCA, ZCA covariance = I; ZCA symmetric", target, foil,
                  lambda: whitened(0.5), tol=1e-10, foil_name="Λ⁻¹ instead of Λ^(−1/2)")]


@claim("resnet-variance", derivations=("resnet-variance",))
def residual_variance_growth(ctx: Context) -> list:
    """x_{l+1} = x_l + F(x_l), F(x) = W₂·ReLU(W₁·ReLU(x)) with He W₁, W₂ (numeric's
    he_normal_std kernel, float32 normals):
    Var x_{l+1} = 2 Var x_l (derive's block factor), so E[x_L²] = 2^L; Fixup
    (numeric.init.fixup: W₂ = 0, W₁ rescaled) keeps the factor 1. Width 2048, 6 blocks,
    batch 32 (quick: 4 blocks, width 1024). Foils: constant (for He), 2^L (for Fixup)."""
    import numpy as np

    from numeric import init
    blocks, width, batch = (4, 1024, 32) if ctx.quick else (6, 2048, 32)
    factor = ctx.exact("resnet-variance", "block_factor")
    fixup_factor = ctx.exact("resnet-variance", "fixup_block_factor")

    def profile(fixup: bool):
        def experiment(seed, pilot):
            from numeric.kernels import kernels as K

            from ..stats.sampler import normal_array
            full = width if not fixup else 512  # Fixup's stream is constant: small suffices
            w = full // 4 if pilot else full
            rng = np.random.default_rng(seed)
            x = rng.standard_normal((batch, w)).astype(np.float32)
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
    return [Profile("He residual blocks", he, [1.0] * blocks, profile(False),
                    foil_name="constant"),
            Profile("Fixup", fix, he, profile(True), foil_name="2^L growth")]


@claim("ema-bias-correction", derivations=("ema-bias-correction",))
def debiased_ema_is_unbiased(ctx: Context) -> list:
    """numeric's Momentum (EMA form m ← γm + (1 − γ)g) on the constant gradient 1 with
    γ = 0.1 gives 004's 0.9, 0.99, 0.999 (derive's exact values; foil: the corrected
    values 1, 1, 1). Monte Carlo: 2¹⁸ independent coordinates with noisy gradients
    g_t ~ N(1, 1), γ = 0.9, t = 3: E[m_3/(1 − γ³)] = 1 (foil: the raw EMA's mean
    1 − γ³ = 0.271)."""
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
    factor = to_float(substitute(debias, {"A": 1, "gamma": sp.Rational(9, 10), "t": t}))

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
            Moment("E[m_3/(1 − γ³)], γ = 0.9", 1.0, 1 - gamma ** t, sampler, "mean",
                   foil_name="raw EMA mean")]
