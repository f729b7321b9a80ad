"""Claims of catalog section 4 (dropout and its relatives) and the dropout worked example.

Convention: p is the DROP probability (000, 003), keep probability 1 − p; numeric's
``Dropout(p_drop)`` uses the same. Inputs h = ReLU(z), z ~ N(0, σ²) unless stated.
"""
from __future__ import annotations

from ..stats.assertions import Distribution, Exact, Moment, Proportion
from . import Context, claim

P_FULL = ("1/10", "1/2", "9/10")
P_QUICK = ("1/5",)  # p ≠ 1/2: there 1/p and 1/(1 − p) coincide


def _relu_moments(ctx: Context, sigma) -> tuple[float, float]:
    """(E[ReLU z], E[ReLU z²]) for z ~ N(0, σ²), from derive relu-moments."""
    mean = ctx.exact("relu-moments", "relu_gaussian_mean", sigma=sigma)
    second = ctx.exact("relu-moments", "relu_gaussian_second_moment", sigma=sigma)
    return mean, second


def _dropout_relu(p: float, sigma: float = 1.0, inverted: bool = True):
    from ..stats.sampler import dropout_relu_power_sums
    return lambda n, seed: dropout_relu_power_sums(n, seed, p, sigma, inverted=inverted)


def _numeric_dropout(p: float):
    """Samples of numeric.layers.Dropout(p) applied to h = ReLU(z), z ~ N(0, 1), as
    power sums (chunked; the layer draws its own masks from the given generator)."""
    def sample(n, seed):
        import numpy as np

        from numeric.layers import Dropout

        from ..stats.sampler import PowerSums
        rng = np.random.default_rng(seed)
        layer = Dropout(p, rng=rng)
        acc = PowerSums()
        for start in range(0, n, 1 << 18):
            h = np.maximum(rng.standard_normal((1, min(1 << 18, n - start))), 0)
            acc = acc + PowerSums.of(layer.forward(h, train=True))
        return acc
    return sample


def _frac(text: str):
    import sympy as sp
    return sp.Rational(text)


@claim("dropout-mean", derivations=("dropout-mean", "relu-moments"))
def dropout_preserves_mean(ctx: Context) -> list:
    """E[m·h/(1 − p)] = E[h] for m ~ Bernoulli(1 − p) independent of h, h = ReLU(z). Each p
    is tested twice: with the fast sampler (proofs.sampler) and with numeric's Dropout
    layer. Foil: the same layer without the 1/(1 − p) rescaling, mean (1 − p)E[h]."""
    out = []
    for text in (P_QUICK if ctx.quick else P_FULL):
        p = _frac(text)
        eh, eh2 = _relu_moments(ctx, 1)
        exact = ctx.exact("dropout-mean", "inverted_dropout_mean", p=p, mu_h=eh)
        # a stated bound on the per-sample sd: √E[out²] = √(E[h²]/(1 − p))
        sd = (eh2 / (1 - float(p))) ** 0.5
        why = ("" if p <= _frac("1/2") else "the missing rescaling is the named mistake; "
               "it is a factor 1 − p, so large drop probabilities make it far")
        out.append(Moment(f"E[out], p = {text}, h = ReLU(N(0,1))", exact,
                          exact * (1 - float(p)), _dropout_relu(float(p)), "mean", sd=sd,
                          foil_name="no 1/(1−p) rescaling", foil_why=why))
        out.append(Moment(f"numeric Dropout: E[out], p = {text}", exact,
                          exact * (1 - float(p)), _numeric_dropout(float(p)), "mean", sd=sd,
                          foil_name="no 1/(1−p) rescaling", foil_why=why))
    return out


@claim("dropout-variance", derivations=("dropout-variance",))
def dropout_variance_formula(ctx: Context) -> list:
    """Var[m·h/(1 − p)] = E[h²]/(1 − p) − E[h]²; with h = ReLU(z), z ~ N(0, 1):
    1/(2(1 − p)) − 1/(2π). Foil: Var[h]/(1 − p) (scaling the variance instead of the
    second moment)."""
    out = []
    for text in (P_QUICK if ctx.quick else P_FULL):
        p = _frac(text)
        exact = ctx.exact("dropout-variance", "dropout_variance_relu_standard", p=p)
        eh, eh2 = _relu_moments(ctx, 1)
        foil = (eh2 - eh * eh) / (1 - float(p))
        out.append(Moment(f"Var[out], p = {text}", exact, foil, _dropout_relu(float(p)),
                          "variance", foil_name="Var[h]/(1−p)"))
        out.append(Moment(f"numeric Dropout: Var[out], p = {text}", exact, foil,
                          _numeric_dropout(float(p)), "variance", foil_name="Var[h]/(1−p)"))
    return out


def _kept_counts(units: int, p: float):
    """K = number of units a numeric Dropout(p) keeps in a row of ``units`` ones."""
    def sample(n, seed):
        import numpy as np

        from numeric.layers import Dropout
        rng = np.random.default_rng(seed)
        layer = Dropout(p, rng=rng)
        y = layer.forward(np.ones((n, units)), train=True)
        return np.count_nonzero(y, axis=1)
    return sample


def _pmf_cdf(ctx: Context, slug: str, name: str, support: int, **subs):
    """A vectorised CDF on integers from derive's exact PMF (a SymPy expression in k)."""
    import numpy as np
    import sympy as sp

    expr = ctx.exact_expr(slug, name, **subs)
    (k,) = [s for s in expr.free_symbols if s.name == "k"] or [None]
    if k is None:
        raise ValueError(f"{slug}: PMF has no symbol k: {expr}")
    pmf = np.array([float(sp.N(expr.subs(k, i), 30)) for i in range(support + 1)])
    cdf_table = np.cumsum(pmf)

    def cdf(x):
        x = np.asarray(x)
        return np.where(x < 0, 0.0, cdf_table[np.clip(x, 0, support)])
    return cdf, float(np.dot(np.arange(support + 1), pmf))


@claim("dropout-kept-count", derivations=("dropout-kept-count", "dropout-mean"))
def kept_count_is_binomial(ctx: Context) -> list:
    """K ~ Binomial(M, 1 − p), tested as a whole distribution (DKWM) on numeric's Dropout
    masks; foil: Poisson with the same mean M(1 − p) (right mean, wrong spread). The keep
    rate itself by an exact Binomial test; foil: p read as the keep probability (002's
    convention)."""
    from ..stats.discrete import poisson_cdf
    M, p = 20, _frac("3/10")
    cdf, mean = _pmf_cdf(ctx, "dropout-kept-count", "kept_count_pmf",
                         M, M=M, p=p)  # support 0..M: the PMF is 0 beyond M
    lam = M * (1 - float(p))

    def keep_rate(n, seed):
        k = _kept_counts(M, float(p))(-(-n // M), seed)
        return int(k.sum()), int(k.size * M)
    return [
        Distribution(f"K ~ Binomial({M}, 1 − p), p = 3/10", _kept_counts(M, float(p)), cdf,
                     lambda x: poisson_cdf(x, lam), mean, lam, (0, 3 * M),
                     foil_name=f"Poisson({lam:g})"),
        Proportion("keep rate = 1 − p", ctx.exact("dropout-mean", "keep_probability", p=p),
                   float(p), keep_rate,
                   foil_name="p as keep probability",
                   foil_why="reading p as the keep probability is the named mistake; it "
                            "swaps 0.7 and 0.3, there is no nearer version of it"),
    ]


@claim("dropout-poisson-thinning", derivations=("dropout-poisson-thinning",))
def poisson_thinning(ctx: Context) -> list:
    """M ~ Poisson(λ) units, each kept with probability 1 − p (numeric Dropout masks):
    K ~ Poisson(λ(1 − p)). Foil: Binomial(λ, 1 − p) (M frozen at its mean; same mean,
    smaller spread)."""
    from ..stats.discrete import binomial_cdf
    lam, p = 8, _frac("1/4")
    top = 40  # P(K > 40) for Poisson(6) is below 1e-20
    cdf, mean = _pmf_cdf(ctx, "dropout-poisson-thinning", "thinned_count_pmf", top,
                         p=p, **{"lambda": lam})

    def sample(n, seed):
        import numpy as np

        from numeric.layers import Dropout
        rng = np.random.default_rng(seed)
        m = rng.poisson(lam, size=n)
        width = int(m.max())
        y = Dropout(float(p), rng=rng).forward(np.ones((n, width)), train=True)
        present = np.arange(width)[None, :] < m[:, None]  # unit j exists iff j < M
        return np.count_nonzero((y != 0) & present, axis=1)
    return [Distribution(f"K ~ Poisson(λ(1−p)), λ = {lam}, p = 1/4", sample, cdf,
                         lambda x: binomial_cdf(x, lam, 1 - float(p)), mean,
                         lam * (1 - float(p)), (0, top), foil_name="Binomial(λ, 1−p)")]


@claim("data188-dropout", derivations=("data188-dropout",))
def data188_dropout_example(ctx: Context) -> list:
    """003 §4: x = [2, 6, 4, 4, 5, 3, 4, 4], w = 1, drop probability p = 3/4 (read from
    derive), a mask that keeps only the last two units. numeric's Dropout draws the mask
    itself: the claim takes the first generator seed (0, 1, 2, ...) whose mask is the
    example's, so y_corr = Σ Dropout(x) is the layer's own 1/(1 − p) scaling, y_drop = Σ x
    over the units the layer kept, y_orig = Σ of the eval-mode output. Foil (a named
    mistake): correcting by 1/p, the drop probability read as the keep probability, which
    gives y_corr = 8/p ≈ 10.7 instead of 32."""
    import numpy as np

    from numeric.layers import Dropout
    exact = np.array([ctx.exact("data188-dropout", "y_drop"),
                      ctx.exact("data188-dropout", "y_corr"),
                      ctx.exact("data188-dropout", "y_orig")])
    p = ctx.exact("data188-dropout", "p")
    x = np.array([[2, 6, 4, 4, 5, 3, 4, 4]], dtype=float)
    example_keep = np.array([[False] * 6 + [True] * 2])

    def compute():
        for seed in range(100_000):  # P(this mask) = p⁶(1 − p)² ≈ 1/90 per seed
            layer = Dropout(p, rng=np.random.default_rng(seed))
            y = layer.forward(x, train=True)
            if np.array_equal(y != 0, example_keep):
                break
        else:
            raise RuntimeError("no seed below 100000 draws the example's mask")
        return np.array([float(x[y != 0].sum()), float(y.sum()),
                         float(layer.forward(x, train=False).sum())])
    foil = exact * np.array([1.0, (1 - p) / p, 1.0])
    return [Exact("[y_drop, y_corr, y_orig]", exact, foil, compute, tol=1e-12,
                  foil_name="correction 1/p",
                  foil_why="the closest mistaken scaling: 1/p is 3× off at p = 3/4, no "
                           "scaling 4×")]


@claim("dropconnect", derivations=("dropconnect",))
def dropconnect_moments(ctx: Context) -> list:
    """y = (W⊙M)x with M_ij ~ Bernoulli(1 − p) on the weights (2×3 W, fixed rational W, x):
    E y_i = (1 − p)Σ_j W_ij x_j and Var y_i = p(1 − p)Σ_j W_ij² x_j² (derive's matrices,
    every symbol substituted). Foils: the mean without the keep factor (Wx); the variance
    of dropping unit i's whole output, p(1 − p)(Σ_j W_ij x_j)². numeric has no DropConnect
    layer (it is not among the layers the course builds), so the masks are drawn here."""
    import numpy as np
    import sympy as sp

    from ..stats.sampler import PowerSums
    W = [["1/2", "-1", "3/4"], ["2", "-1/4", "1"]]
    x = ["1", "2", "-1/2"]
    p = _frac("3/10")
    subs = {f"W_{i + 1}{j + 1}": sp.Rational(W[i][j]) for i in range(2) for j in range(3)}
    subs.update({f"x_{j + 1}": sp.Rational(x[j]) for j in range(3)})
    subs["p"] = p
    mean = sp.Matrix(ctx.exact_expr("dropconnect", "dropconnect_mean", **subs))
    var = sp.Matrix(ctx.exact_expr("dropconnect", "dropconnect_variance", **subs))
    Wf = np.array([[float(sp.Rational(v)) for v in row] for row in W])
    xf = np.array([float(sp.Rational(v)) for v in x])

    def sampler(row):
        def sample(n, seed):
            rng = np.random.default_rng(seed)
            acc = PowerSums()
            for start in range(0, n, 1 << 16):
                k = min(1 << 16, n - start)
                keep = rng.random((k, 3)) >= float(p)  # mask on the weights of unit `row`
                acc = acc + PowerSums.of(keep @ (Wf[row] * xf))
            return acc
        return sample
    out = []
    for i in range(2):
        wx = float(Wf[i] @ xf)
        out.append(Moment(f"E[y_{i + 1}]", float(mean[i]), wx, sampler(i), "mean",
                          foil_name="no (1−p) factor"))
        out.append(Moment(f"Var[y_{i + 1}]", float(var[i]), float(p * (1 - p)) * wx ** 2,
                          sampler(i), "variance", foil_name="unit-dropout variance",
                          foil_why="dropout's variance for DropConnect's is the named "
                                   "confusion; for y_2 the terms of Σ W x partly cancel"))
    return out


@claim("dropout-before-batchnorm", derivations=("dropout-variance", "relu-moments"))
def dropout_shifts_batchnorm_statistics(ctx: Context) -> list:
    """BN after Dropout(p) on h = ReLU(z): in training it normalises by
    Var_train = E[h²]/(1 − p) − E[h]², in eval (dropout off) the input variance is
    Var_eval = E[h²] − E[h]². With running statistics from training, the eval output
    variance is Var_eval/Var_train < 1. Foil: no shift (ratio 1)."""
    import numpy as np

    from numeric.layers import BatchNorm, Dropout

    p = _frac("1/2")
    var_train = ctx.exact("dropout-variance", "dropout_variance_relu_standard", p=p)
    var_eval = ctx.exact("dropout-variance", "dropout_variance_relu_standard", p=0)
    ratio = var_eval / var_train
    feats, batch, steps = 256, 64, 400

    def experiment(seed):
        rng = np.random.default_rng(seed)
        drop, bn = Dropout(float(p), rng=rng), BatchNorm(feats, momentum=0.05)
        for _ in range(steps):
            h = np.maximum(rng.standard_normal((batch, feats)), 0)
            bn.forward(drop.forward(h, train=True), train=True)
        h = np.maximum(rng.standard_normal((4096, feats)), 0)
        y = bn.forward(drop.forward(h, train=False), train=False)
        per_feature = y.var(axis=0, ddof=1)  # independent features: an average of 256
        return float(per_feature.mean()), float(per_feature.std(ddof=1) / np.sqrt(feats))

    def sampler_train(n, seed):
        from ..stats.sampler import dropout_relu_power_sums
        return dropout_relu_power_sums(n, seed, float(p))
    from ..stats.assertions import Estimate
    return [
        Moment("Var seen by BN in training (p = 1/2)", var_train, var_eval, sampler_train,
               "variance", foil_name="eval variance",
               foil_why="the named mistake is to assume BN sees the eval-mode variance; at "
                        "p = 1/2 it is E[h²] smaller, no nearer version exists"),
        Estimate("BN eval output variance = Var_eval/Var_train", ratio, 1.0, experiment,
                 foil_name="no shift (1)",
                 foil_why="the named belief is that dropout and BN commute (ratio 1); the "
                          "shift itself is the effect measured",
                 note="CLT over 256 features; running statistics' noise included in the SE"),
    ]


def _selu_alpha_dropout(p_drop: float):
    """Samples of numeric's AlphaDropout(p_drop) applied to SELU(z), z ~ N(0, 1) (the SELU
    fixed point: mean 0, variance 1), as power sums; ``plain=True`` applies numeric's
    inverted Dropout instead (the foil's layer)."""
    def sample(n, seed):
        import numpy as np

        from numeric.layers import SELU, AlphaDropout

        from ..stats.sampler import PowerSums
        rng = np.random.default_rng(seed)
        layer, act = AlphaDropout(p_drop, rng=rng), SELU()
        acc = PowerSums()
        for start in range(0, n, 1 << 18):
            z = rng.standard_normal((1, min(1 << 18, n - start)))
            acc = acc + PowerSums.of(layer.forward(act.forward(z, train=True), train=True))
        return acc
    return sample


@claim("alpha-dropout", derivations=("alpha-dropout",))
def alpha_dropout_keeps_selu_moments(ctx: Context) -> list:
    """y = a·x̃ + b after alpha dropout of SELU activations x = selu(z), z ~ N(0, 1), keeps
    E[y] = 0 and Var y = 1 (numeric's AlphaDropout layer, keep probability q = 1 − p).
    Foils: plain inverted dropout m·x/q, whose variance is 1/q; and the layer without the
    shift b, whose mean is −b."""
    import sympy as sp
    out = []
    for text in (("1/20",) if ctx.quick else ("1/20", "1/5")):
        p = sp.Rational(text)
        q = 1 - p
        alpha_p = ctx.exact_expr("alpha-dropout", "alpha_prime")
        var = ctx.exact("alpha-dropout", "output_variance", q=q, alpha_p=alpha_p)
        plain = ctx.exact("alpha-dropout", "plain_variance", q=q)
        mean = ctx.exact("alpha-dropout", "output_mean", q=q, alpha_p=alpha_p)
        b = ctx.exact("alpha-dropout", "b", q=q, alpha_p=alpha_p)
        out.append(Moment(f"Var y, SELU inputs, keep probability q = {1 - float(p):g}", var,
                          plain, _selu_alpha_dropout(float(p)), "variance",
                          foil_name="plain inverted dropout (variance 1/q)"))
        out.append(Moment(f"E[y], SELU inputs, keep probability q = {1 - float(p):g}", mean,
                          mean - b, _selu_alpha_dropout(float(p)), "mean",
                          foil_name="no shift b"))
    return out
