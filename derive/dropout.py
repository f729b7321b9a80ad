"""Catalog section 4: dropout and its relatives (000 §1, 002 §9.5, 003 §4).

Naming, everywhere in this module: ``p`` is the DROP probability and ``1 − p`` the KEEP
probability, as in 000 §1 and 003 §4. 002 §9.5.1 writes p for the keep probability (its
code comments) and 002 §9.5 writes p_l for a block's SURVIVAL probability; every derivation
states which one it uses (see ``dropout-convention``).
"""
from __future__ import annotations

import itertools

import sympy as sp
from sympy.stats import Bernoulli, Binomial, Expectation, Poisson, density
from sympy.stats import E as expect

from .core import Derivation
from .registry import derivation, get

DROP = ("p is the DROP probability and 1 − p the KEEP probability (the naming of 000 §1 "
        "and 003 §4); 002 §9.5.1 calls the keep probability p")
En = sp.Function("E")
Var = sp.Function("Var")
Pr = sp.Function("P")


def _drop_symbol(d: Derivation) -> sp.Symbol:
    p = d.symbol("p", positive=True)
    d.assume("0 < p < 1")
    d.convention(DROP)
    return p


def _expect_over_masks(expr: sp.Expr, masks: list, keep: sp.Expr) -> sp.Expr:
    """E[expr] for independent masks b_i ~ Bernoulli(keep): the explicit sum over all
    values of the masks that occur in expr, each weighted by Π keep^{b_i}(1 − keep)^{1 − b_i}
    (masks absent from expr sum out, their weights adding to 1)."""
    present = [b for b in masks if b in expr.free_symbols]
    total = sp.S.Zero
    for bits in itertools.product((0, 1), repeat=len(present)):
        weight = sp.Mul(*[keep if b else 1 - keep for b in bits])
        total += weight * expr.xreplace(dict(zip(present, map(sp.Integer, bits))))
    return sp.expand(total)


@derivation("dropout-mean",
            exports=("inverted_dropout_mean", "foil", "keep_probability", "drop_probability"))
def dropout_mean(d: Derivation) -> None:
    """h̃ = m·h/(1 − p), m ~ Bernoulli(1 − p) independent of h (p the DROP probability):
    E[h̃] = E[m]E[h]/(1 − p) = E[h]. Foil: without the factor, E[m·h] = (1 − p)E[h]."""
    p = _drop_symbol(d)
    mu = d.symbol("mu_h", real=True)
    m = Bernoulli("m", 1 - p)
    d.assume("m ~ Bernoulli(1 − p) (sympy.stats), independent of the activation h; "
             "μ_h = E[h]")
    h_tilde = sp.Symbol("htilde")
    d.define("expected output", Expectation(m) * mu / (1 - p),
             "independence of m and h: E[m·h] = E[m]·E[h]", lhs=En(h_tilde))
    d.apply("E[m] = 1 − p", lambda e: e.doit(), "the keep probability, by sympy.stats")
    d.conclude("inverted_dropout_mean", mu, [mu], "the training-time mean equals the "
               "test-time mean E[h]", kernel=False, lhs=En(h_tilde))
    d.define("foil: no 1/(1 − p) factor", Expectation(m) * mu, "plain masking m·h",
             lhs=En(sp.Symbol("m") * sp.Symbol("h")))
    foil = d.apply("E[m] = 1 − p", lambda e: e.doit(), "sympy.stats")
    d.prove("the foil is biased by −p·E[h]", foil - mu, -p * mu,
            "it shrinks the mean by the drop probability")
    d.values.update(foil=foil, keep_probability=1 - p, drop_probability=p)

    def by_scipy(mu_h, p):
        from scipy import stats
        return stats.bernoulli(1 - p).expect(lambda mm: mm * mu_h / (1 - p))

    def foil_by_scipy(mu_h, p):
        from scipy import stats
        return stats.bernoulli(1 - p).expect(lambda mm: mm * mu_h)

    d.crosscheck("E[m·h/(1 − p)] by scipy.stats.bernoulli.expect", mu, by_scipy,
                 at={mu: (-3.0, 3.0), p: (0.05, 0.95)})
    d.crosscheck("foil E[m·h] by scipy.stats.bernoulli.expect", foil, foil_by_scipy,
                 at={mu: (-3.0, 3.0), p: (0.05, 0.95)})


@derivation("dropout-variance",
            exports=("dropout_variance", "dropout_variance_relu",
                     "dropout_variance_relu_standard", "foil"))
def dropout_variance(d: Derivation) -> None:
    """Var[m·h/(1 − p)] = E[h²]/(1 − p) − E[h]² for m ~ Bernoulli(1 − p) ⟂ h; with
    h = ReLU(z), z ~ N(0, σ²): σ²/(2(1 − p)) − σ²/(2π), and 1/(2(1 − p)) − 1/(2π) for σ = 1
    (000 §1.2). The ReLU moments are read from the derivation relu-moments."""
    p = _drop_symbol(d)
    Eh = d.symbol("E_h", real=True)
    Eh2 = d.symbol("E_h2", positive=True)
    m = Bernoulli("m", 1 - p)
    d.assume("m ~ Bernoulli(1 − p) (sympy.stats), independent of h; E_h = E[h], "
             "E_h2 = E[h²]")
    h_tilde = sp.Symbol("htilde")
    d.define("variance of m·h/(1 − p)",
             (Expectation(m**2) * Eh2 - Expectation(m)**2 * Eh**2) / (1 - p)**2,
             "Var X = E[X²] − (E X)²; independence factorises E[m²h²] and E[mh]",
             lhs=Var(h_tilde))
    d.apply("Bernoulli moments", lambda e: e.doit(),
            "E[m²] = E[m] = 1 − p (m² = m), by sympy.stats")
    general = d.rewrite("simplify", Eh2 / (1 - p) - Eh**2, "cancel one factor 1 − p")
    d.conclude("dropout_variance", general, [Eh, Eh2, p], "any activation distribution",
               kernel=False, lhs=Var(h_tilde))

    relu = get("relu-moments").values
    sigma = relu["sigma"]
    d.assume("for the ReLU case: h = ReLU(z), z ~ N(0, σ²), moments from relu-moments")
    relu_var = d.rewrite("ReLU of N(0, σ²)",
                         sigma**2 / (2 * (1 - p)) - sigma**2 / (2 * sp.pi),
                         "E[h] = σ/√(2π), E[h²] = σ²/2 (relu-moments)",
                         at={Eh: relu["relu_gaussian_mean"],
                             Eh2: relu["relu_gaussian_second_moment"]})
    d.conclude("dropout_variance_relu", relu_var, [sigma, p], "", kernel=False)
    std = d.rewrite("000 §1.2: σ = 1", 1 / (2 * (1 - p)) - 1 / (2 * sp.pi),
                    "the standard-normal pre-activation", at={sigma: 1})
    d.conclude("dropout_variance_relu_standard", std, [p], "", kernel=False)
    d.values["foil"] = relu["relu_gaussian_variance"].subs(sigma, 1)

    def mixture(E_h, E_h2, p):
        # X = h/(1-p) with probability 1-p, 0 otherwise
        ex = (1 - p) * E_h / (1 - p)
        ex2 = (1 - p) * E_h2 / (1 - p) ** 2
        return ex2 - ex**2

    def relu_quad(sigma, p):
        import numpy as np
        from scipy import integrate, stats
        pdf = stats.norm(0, sigma).pdf
        m1 = integrate.quad(lambda t: t * pdf(t), 0, np.inf)[0]
        m2 = integrate.quad(lambda t: t * t * pdf(t), 0, np.inf)[0]
        return (1 - p) * m2 / (1 - p) ** 2 - ((1 - p) * m1 / (1 - p)) ** 2

    d.crosscheck("general form against the two-point mixture", general, mixture,
                 at={Eh: (-2.0, 2.0), Eh2: (0.1, 5.0), p: (0.05, 0.95)})
    d.crosscheck("ReLU case by scipy.integrate.quad", relu_var, relu_quad,
                 at={sigma: (0.3, 3.0), p: (0.05, 0.95)}, rtol=1e-7)


@derivation("dropout-kept-count",
            exports=("kept_count_pmf", "kept_count_mean", "kept_count_variance"))
def dropout_kept_count(d: Derivation) -> None:
    """K = Σᵢ mᵢ with mᵢ ~ Bernoulli(1 − p) i.i.d. (p the DROP probability):
    P(K = k) = C(M, k)(1 − p)ᵏ p^{M−k}, E K = M(1 − p), Var K = M p (1 − p)."""
    p = _drop_symbol(d)
    M = d.symbol("M", integer=True, positive=True)
    k = d.symbol("k", integer=True, nonnegative=True)
    s = d.symbol("s", real=True)
    d.assume("the M masks mᵢ ~ Bernoulli(1 − p) are independent; K counts the kept units")
    K = Binomial("K", M, 1 - p)
    pmf = density(K)(k)
    d.define("PMF of K", pmf, "sympy.stats Binomial(M, 1 − p)", lhs=Pr(sp.Eq(sp.Symbol("K"), k)))
    d.conclude("kept_count_pmf", pmf, [k, M, p], "", kernel=False)

    def masks_family(n: int) -> tuple:
        b = sp.symbols(f"b1:{n + 1}")
        by_masks = []
        for kk in range(n + 1):
            total = sp.S.Zero
            for bits in itertools.product((0, 1), repeat=n):
                if sum(bits) == kk:
                    total += sp.Mul(*[(1 - p) if x else p for x in bits])
            by_masks.append(total)
        del b
        return sp.Matrix(by_masks), sp.Matrix([pmf.subs({M: n, k: kk}) for kk in range(n + 1)])

    d.prove_for_sizes("PMF from the $2^M$ masks", sp.Eq(Pr(sp.Eq(sp.Symbol("K"), k)),
                      sp.binomial(M, k) * (1 - p)**k * p**(M - k)), masks_family,
                      sizes=(1, 2, 3, 4, 5),
                      why="summing Π P(mᵢ) over the masks with exactly k ones, every k")

    m = Bernoulli("m", 1 - p)
    G = sp.Function("G")
    d.define("probability generating function", Expectation(s**m)**M,
             r"$E[s^K] = \prod_i E[s^{m_i}]$ by independence", lhs=G(s))
    pgf = d.apply("$E[s^m]$ by sympy.stats", lambda e: e.doit(), "$p s^0 + (1 - p) s^1$")
    d.prove_for_sizes(r"the PGF is $\sum_k P(K = k)\, s^k$",
                      sp.Eq(G(s), sp.Sum(sp.binomial(M, k) * (1 - p)**k * p**(M - k) * s**k,
                                         (k, 0, M))),
                      lambda n: (sum(pmf.subs({M: n, k: kk}) * s**kk for kk in range(n + 1)),
                                 pgf.subs(M, n)), sizes=(1, 2, 3, 4, 5),
                      why="binomial theorem")
    d.apply("E K = G'(1)", lambda e: sp.diff(e, s).subs(s, 1), "differentiate by SymPy",
            lhs=En(sp.Symbol("K")))
    d.conclude("kept_count_mean", M * (1 - p), [M, p], "", kernel=False)
    second_factorial = sp.diff(pgf, s, 2).subs(s, 1)
    d.define("Var K = G''(1) + G'(1) − G'(1)²",
             second_factorial + M * (1 - p) - (M * (1 - p))**2,
             "E[K(K − 1)] = G''(1), by SymPy", lhs=Var(sp.Symbol("K")))
    var = d.rewrite("simplify", M * p * (1 - p), "")
    d.conclude("kept_count_variance", var, [M, p], "", kernel=False)
    d.prove_for_sizes("sympy.stats agrees", sp.Eq(Var(sp.Symbol("K")), M * p * (1 - p)),
                      lambda n: (sp.Matrix([expect(Binomial("K", n, 1 - p)),
                                            expect(Binomial("K", n, 1 - p)**2)]),
                                 sp.Matrix([n * (1 - p), n * p * (1 - p) + (n * (1 - p))**2])),
                      sizes=(1, 2, 3, 4, 5), why="E K and E[K²] of sympy.stats "
                      "Binomial(M, 1 − p), i.e. the mean and the variance")

    def binom(fn):
        def reference(p, **kw):
            from scipy import stats
            return getattr(stats.binom(kw["M"], 1 - p), fn)(*([kw["k"]] if "k" in kw else []))
        return reference

    for MM, kk in ((12, 0), (12, 5), (12, 12), (40, 9)):
        d.crosscheck(f"PMF at M = {MM}, k = {kk} by scipy.stats.binom", pmf, binom("pmf"),
                     at={p: (0.05, 0.95), M: MM, k: kk}, rtol=1e-9)
    for MM in (7, 30):
        d.crosscheck(f"mean at M = {MM} by scipy.stats.binom", M * (1 - p), binom("mean"),
                     at={p: (0.05, 0.95), M: MM})
        d.crosscheck(f"variance at M = {MM} by scipy.stats.binom", var, binom("var"),
                     at={p: (0.05, 0.95), M: MM})


@derivation("dropout-poisson-limit", exports=("poisson_pmf",))
def dropout_poisson_limit(d: Derivation) -> None:
    """With keep probability λ/M (so λ = M(1 − p) kept on average, p the DROP probability),
    C(M, k)(λ/M)ᵏ(1 − λ/M)^{M−k} → e^{−λ}λᵏ/k! for every fixed k as M → ∞."""
    M = d.symbol("M", positive=True)
    k = d.symbol("k", integer=True, nonnegative=True)
    lam = d.symbol("lambda", positive=True)
    d.assume("the keep probability is λ/M (rare keeps): p = 1 − λ/M is the drop "
             "probability; k is fixed while M → ∞ through values M ≥ k")
    d.convention(DROP + "; here 1 − p = λ/M")
    keep = lam / M
    pmf = sp.binomial(M, k) * keep**k * (1 - keep)**(M - k)
    d.define("Binomial(M, λ/M) PMF", pmf, "000 §1.3 with 1 − p = λ/M",
             lhs=Pr(sp.Eq(sp.Symbol("K"), k)))
    ratio = sp.binomial(M, k) * sp.factorial(k) / M**k
    d.rewrite("factor", lam**k / sp.factorial(k) * ratio * (1 - keep)**M * (1 - keep)**(-k),
              r"$\binom{M}{k} = \frac{k!\binom{M}{k}}{M^k}\cdot\frac{M^k}{k!}$")
    d.note("squeeze", r"$k!\binom{M}{k}/M^k = \prod_{i<k}(1 - i/M)$ lies between "
           r"$(1 - k/M)^k$ and 1 for M ≥ k, since each factor lies in [1 − k/M, 1]")
    lower = d.apply("limit of the lower bound", sp.Limit((1 - k / M)**k, M, sp.oo),
                    r"by SymPy; so $k!\binom{M}{k}/M^k \to 1$ by the squeeze",
                    lhs=sp.Limit((1 - k / M)**k, M, sp.oo))
    exp_part = d.apply("limit of $(1 - \\lambda/M)^M$", sp.Limit((1 - keep)**M, M, sp.oo),
                       "by SymPy", lhs=sp.Limit((1 - keep)**M, M, sp.oo))
    tail = d.apply("limit of $(1 - \\lambda/M)^{-k}$", sp.Limit((1 - keep)**(-k), M, sp.oo),
                   "by SymPy", lhs=sp.Limit((1 - keep)**(-k), M, sp.oo))
    d.apply("limit of the PMF", lambda e: lam**k / sp.factorial(k) * lower * exp_part * tail,
            "the limit of a product of factors with finite limits is the product of "
            "the limits", lhs=sp.Limit(pmf, M, sp.oo))
    poisson = density(Poisson("K", lam))(k)
    d.rewrite("Poisson(λ) PMF", poisson, "sympy.stats Poisson(λ) density")
    d.conclude("poisson_pmf", poisson, [k, lam], "", kernel=False)

    def fixed_k(kk: int) -> tuple:
        at_k = sp.expand_func(sp.binomial(M, kk)) * keep**kk * (1 - keep)**(M - kk)
        return sp.limit(at_k, M, sp.oo), poisson.subs(k, kk)

    d.prove_for_sizes("the whole PMF at fixed k", sp.Eq(sp.Limit(pmf, M, sp.oo), poisson),
                      fixed_k, sizes=(0, 1, 2, 3, 4),
                      why="an independent check: SymPy's limit of the full PMF at each k")

    def binom_large_m(k, **kw):
        from scipy import stats
        big = 10**7
        return stats.binom.pmf(k, big, kw["lambda"] / big)

    def poisson_scipy(k, **kw):
        from scipy import stats
        return stats.poisson.pmf(k, kw["lambda"])

    for kk in (0, 2, 6):
        d.crosscheck(f"Binomial(10^7, λ/10^7) PMF at k = {kk} by scipy.stats.binom", poisson,
                     binom_large_m, at={lam: (0.5, 6.0), k: kk}, rtol=1e-5)
        d.crosscheck(f"Poisson PMF at k = {kk} by scipy.stats.poisson", poisson,
                     poisson_scipy, at={lam: (0.5, 6.0), k: kk}, rtol=1e-10)


@derivation("dropout-poisson-thinning", exports=("thinned_count_pmf", "mean"))
def dropout_poisson_thinning(d: Derivation) -> None:
    """M ~ Poisson(λ) units, each kept independently with probability 1 − p (p the DROP
    probability): P(K = k) = Σ_{m ≥ k} P(M = m)·C(m, k)(1 − p)ᵏ p^{m−k} = Poisson(λ(1 − p))."""
    p = _drop_symbol(d)
    lam = d.symbol("lambda", positive=True)
    k = d.symbol("k", integer=True, nonnegative=True)
    m = d.symbol("m", integer=True, nonnegative=True)
    j = d.symbol("j", integer=True, nonnegative=True)
    d.assume("M ~ Poisson(λ) (sympy.stats); given M = m, K ~ Binomial(m, 1 − p)")
    pm = density(Poisson("M", lam))(m)
    given = sp.binomial(m, k) * (1 - p)**k * p**(m - k)
    d.define("law of total probability", sp.Sum(pm * given, (m, k, sp.oo)),
             "P(K = k | M = m) = 0 for m < k", lhs=Pr(sp.Eq(sp.Symbol("K"), k)))
    def reindex(e: sp.Sum) -> sp.Expr:
        shifted = e.change_index(m, m - k, j)
        summand = sp.expand_power_exp(sp.combsimp(shifted.function))
        const, rest = summand.as_independent(j, as_Add=False)
        return const * sp.Sum(rest, *shifted.limits)

    d.note("reindex", "put m = k + j (Sum.change_index); C(k + j, k)/(k + j)! = 1/(k!·j!) "
           r"(combsimp), so the summand is a factor free of j times $(\lambda p)^j/j!$")
    d.apply("sum over M", reindex, "after the reindexing SymPy sums the exponential series "
            r"$\sum_j (\lambda p)^j/j! = e^{\lambda p}$")
    thinned = density(Poisson("K", lam * (1 - p)))(k)
    d.rewrite("Poisson(λ(1 − p)) PMF", thinned, r"$e^{-\lambda}e^{\lambda p} = e^{-\lambda(1-p)}$")
    d.conclude("thinned_count_pmf", thinned, [k, lam, p], "", kernel=False)
    d.values["mean"] = lam * (1 - p)

    def total_probability(p, k, **kw):
        import numpy as np
        from scipy import stats
        ms = np.arange(k, k + 400)
        return float(np.sum(stats.poisson.pmf(ms, kw["lambda"])
                            * stats.binom.pmf(k, ms, 1 - p)))

    for kk in (0, 3, 7):
        d.crosscheck(f"direct float64 sum over M at k = {kk} (scipy.stats)", thinned,
                     total_probability, at={lam: (0.5, 8.0), p: (0.05, 0.95), k: kk},
                     rtol=1e-9, atol=1e-14)


@derivation("dropout-test-scaling", exports=("test_time_scale", "training_mean"))
def dropout_test_scaling(d: Derivation) -> None:
    """Plain (non-inverted) dropout multiplies each input by m ~ Bernoulli(1 − p): the
    expected training activation of a neuron is (1 − p)·wᵀx, so at test time (nothing
    dropped) the activation must be scaled by the KEEP probability 1 − p. 002's two-input
    neuron (eq. 9.46–9.47) is the case p = 1/2. 002 writes p for the keep probability."""
    p = _drop_symbol(d)
    d.convention("002 eq. 9.46–9.47 and its test-time code use p for the KEEP "
                 "probability: 002's 'scale by p' is 'scale by 1 − p' here")
    w1, w2, x, y = d.symbols("w_1 w_2 x y", real=True)
    m1, m2 = Bernoulli("m_1", 1 - p), Bernoulli("m_2", 1 - p)
    d.assume("the two input masks m₁, m₂ ~ Bernoulli(1 − p) are independent (sympy.stats)")
    a = sp.Symbol("a")
    d.define("expected training activation", Expectation(w1 * x * m1 + w2 * y * m2),
             "002's neuron a = w₁x + w₂y with its inputs dropped", lhs=En(a))
    d.apply("by sympy.stats", lambda e: e.doit(), "linearity and E[mᵢ] = 1 − p")
    train = d.rewrite("factor", (1 - p) * (w1 * x + w2 * y), "")
    def four_masks(keep: sp.Expr) -> sp.Expr:
        """The four terms of eq. 9.46, left unevaluated so that each mask shows."""
        terms = []
        for b_1, b_2 in itertools.product((1, 0), repeat=2):
            weight = (keep if b_1 else 1 - keep) * (keep if b_2 else 1 - keep)
            act = sp.Add(sp.Mul(b_1, w1 * x, evaluate=False),
                         sp.Mul(b_2, w2 * y, evaluate=False), evaluate=False)
            terms.append(sp.Mul(weight, act, evaluate=False))
        return sp.Add(*terms, evaluate=False)

    d.prove("eq. 9.46: the sum over the four masks", four_masks(1 - p), train,
            "each mask (b₁, b₂) ∈ {0, 1}² weighted by its probability")
    d.prove("eq. 9.47: keep probability 1/2", four_masks(sp.Rational(1, 2)),
            (w1 * x + w2 * y) / 2, "each of the four masks has probability 1/4")

    def n_inputs(n: int) -> tuple:
        w = sp.symbols(f"w1:{n + 1}", real=True)
        xs = sp.symbols(f"x1:{n + 1}", real=True)
        b = sp.symbols(f"b1:{n + 1}")
        act = sum(wi * xi * bi for wi, xi, bi in zip(w, xs, b))
        return (_expect_over_masks(act, list(b), 1 - p),
                (1 - p) * sum(wi * xi for wi, xi in zip(w, xs)))

    n, i = sp.symbols("n i", integer=True, positive=True)
    wi, xi = sp.Indexed("w", i), sp.Indexed("x", i)
    d.prove_for_sizes("any fan-in", sp.Eq(En(a), (1 - p) * sp.Sum(wi * xi, (i, 1, n))),
                      n_inputs, sizes=(1, 2, 3, 4, 5),
                      why="the same sum over all 2ⁿ masks")
    c = d.symbol("c", real=True)
    d.define("test activation scaled by c must match", c * (w1 * x + w2 * y) - train,
             "at test time nothing is dropped: a = c·(w₁x + w₂y)")
    d.apply("solve for c", lambda e: sp.solve(e, c)[0], "by SymPy", lhs=c)
    d.conclude("test_time_scale", 1 - p, [p], "the KEEP probability", kernel=False, lhs=c)
    inverted = expect((w1 * x * m1 + w2 * y * m2) / (1 - p))
    d.prove("inverted dropout needs no test-time scale", inverted, w1 * x + w2 * y,
            "dividing the kept inputs by 1 − p during training (sympy.stats)")
    d.values["training_mean"] = train

    def enumerate_masks(w_1, w_2, x, y, p):
        total = 0.0
        for b_1 in (0, 1):
            for b_2 in (0, 1):
                prob = (1 - p if b_1 else p) * (1 - p if b_2 else p)
                total += prob * (w_1 * x * b_1 + w_2 * y * b_2)
        return total

    d.crosscheck("expected training activation by float64 enumeration", train,
                 enumerate_masks, at={w1: (-2.0, 2.0), w2: (-2.0, 2.0), x: (-3.0, 3.0),
                                      y: (-3.0, 3.0), p: (0.05, 0.95)})


@derivation("data188-dropout", exports=("y_drop", "y_corr", "y_orig", "p"))
def data188_dropout(d: Derivation) -> None:
    """x = [2, 6, 4, 4, 5, 3, 4, 4], w = 1, drop probability p = 0.75, the first six
    entries dropped: y_drop = 8, y_corr = y_drop/(1 − p) = 32, y_orig = w·x = 32."""
    d.convention(DROP + "; here p = 0.75 is the drop probability (003 §4), keep 1/4")
    x = sp.Matrix([2, 6, 4, 4, 5, 3, 4, 4])
    w = sp.ones(8, 1)
    p_value = sp.Rational(75, 100)
    mask = sp.Matrix([0] * 6 + [1, 1])
    d.assume("the given mask keeps only the last two entries (003 §4)")
    d.define("masked input", mask.multiply_elementwise(x), "m ⊙ x",
             lhs=sp.Symbol("x_drop"))
    y_drop = d.apply("dot with w", lambda v: w.dot(v), "y = w·x", lhs=sp.Symbol("y_drop"))
    d.conclude("y_drop", y_drop, [], "003 §4(a)", kernel=False, lhs=sp.Symbol("y_drop"))
    d.prove("003 §4(a) prints 8", y_drop, 8, "the source's value, compared")
    y_corr = d.apply("correction 1/(1 − p)", lambda e: e / (1 - p_value),
                     "inverted dropout, p = 3/4", lhs=sp.Symbol("y_corr"))
    d.conclude("y_corr", y_corr, [], "003 §4(b)", kernel=False, lhs=sp.Symbol("y_corr"))
    d.prove("003 §4(b) prints 32", y_corr, 32, "the source's value, compared")
    y_orig = d.define("no dropout", w.dot(x), "w·x", lhs=sp.Symbol("y_orig"))
    d.conclude("y_orig", y_orig, [], "003 §4(c)", kernel=False, lhs=sp.Symbol("y_orig"))
    d.prove("003 §4(c) prints 32", y_orig, 32, "the source's value, compared")
    kept_mean = sp.Rational(sum(mask.multiply_elementwise(x)), sum(mask))
    d.prove("why y_corr = y_orig for this mask", kept_mean, sp.Rational(sum(x), len(x)),
            "the two kept entries average 4, the mean of all of x: a coincidence of this "
            "mask, not a property of dropout")
    bits = sp.symbols("b1:9")
    y_corr_random = sum(wi * xi * bi for wi, xi, bi in zip(w, x, bits)) / (1 - p_value)
    d.prove("over all 2⁸ masks E[y_corr] = y_orig", _expect_over_masks(
        y_corr_random, list(bits), 1 - p_value), y_orig,
        "the exact expectation with keep probability 1/4 (003 §4(d): in expectation)")
    d.values.update(y_drop=y_drop, y_corr=y_corr, y_orig=y_orig, p=p_value)

    p = d.symbol("p", positive=True)

    def numpy_corr(p):
        import numpy as np
        xs = np.array([2, 6, 4, 4, 5, 3, 4, 4], dtype=float)
        keep = np.array([0, 0, 0, 0, 0, 0, 1, 1], dtype=float)
        return float(np.ones(8) @ (keep * xs) / (1 - p))

    d.crosscheck("y_corr for any drop probability, by NumPy", y_drop / (1 - p), numpy_corr,
                 at={p: (0.05, 0.95)})
    d.crosscheck("the printed case p = 0.75, by NumPy", y_corr, lambda: numpy_corr(0.75),
                 at={}, points=1)


@derivation("dropconnect",
            exports=("dropconnect_mean", "dropconnect_variance", "W", "x"))
def dropconnect(d: Derivation) -> None:
    """y = (W ⊙ M)x with Mᵢⱼ ~ Bernoulli(1 − p) i.i.d. (p the DROP probability of a
    weight), x fixed: E y = (1 − p)Wx and Var yᵢ = p(1 − p)Σⱼ Wᵢⱼ²xⱼ², i.e. the vector
    p(1 − p)(W ⊙ W)(x ⊙ x); different outputs use different masks, so they are
    uncorrelated. Shown on a 2×3 layer and proved for fan-in 1..4."""
    p = _drop_symbol(d)
    d.assume("the mask entries Mᵢⱼ ~ Bernoulli(1 − p) are independent (sympy.stats for one "
             "entry; explicit sums over all masks for the layer); the input x is fixed")
    W = sp.Matrix(2, 3, lambda i, j: sp.Symbol(f"W_{i + 1}{j + 1}", real=True))
    x = sp.Matrix(3, 1, lambda i, _: sp.Symbol(f"x_{i + 1}", real=True))
    B = sp.Matrix(2, 3, lambda i, j: sp.Symbol(f"M_{i + 1}{j + 1}"))
    y = W.multiply_elementwise(B) * x
    one = Bernoulli("m", 1 - p)
    d.prove("one mask entry", sp.Matrix([expect(one), expect(one**2)]),
            sp.Matrix([1 - p, 1 - p]), "E[m] = E[m²] = 1 − p, by sympy.stats")
    d.define("expected output", sp.Matrix([_expect_over_masks(yi, list(B), 1 - p)
                                           for yi in y]),
             "sum over all 2⁶ masks of the 2×3 layer, each with its probability",
             lhs=En(sp.Symbol("y")))
    mean = d.rewrite("factor", (1 - p) * W * x, "E[(W ⊙ M)x] = (1 − p)Wx")
    d.conclude("dropconnect_mean", mean, [p, *W, *x], "", kernel=False)
    d.define("variance of each output",
             sp.Matrix([_expect_over_masks(yi**2, list(B), 1 - p) for yi in y])
             - mean.multiply_elementwise(mean),
             "Var yᵢ = E[yᵢ²] − (E yᵢ)², the sum over all masks", lhs=Var(sp.Symbol("y")))
    var = d.rewrite("factor", p * (1 - p) * W.multiply_elementwise(W)
                    * x.multiply_elementwise(x), "p(1 − p)(W ⊙ W)(x ⊙ x)")
    d.conclude("dropconnect_variance", var, [p, *W, *x], "", kernel=False)
    y1, y2 = sp.symbols("y_1 y_2")
    d.define("product of the two outputs", _expect_over_masks(y[0] * y[1], list(B), 1 - p),
             "the sum over all masks", lhs=En(y1 * y2))
    d.rewrite("factor", mean[0] * mean[1], "disjoint mask rows are independent: "
              "E[y₁y₂] = E[y₁]E[y₂]", lhs=En(y1 * y2))
    d.apply("outputs are uncorrelated", lambda e: e - mean[0] * mean[1],
            "Cov(y₁, y₂) = E[y₁y₂] − E[y₁]E[y₂]", lhs=sp.Function("Cov")(y1, y2))

    def fan_in(n: int) -> tuple:
        ws = sp.symbols(f"w1:{n + 1}", real=True)
        xs = sp.symbols(f"x1:{n + 1}", real=True)
        bs = sp.symbols(f"b1:{n + 1}")
        yi = sum(a * b * c for a, b, c in zip(ws, bs, xs))
        mu = _expect_over_masks(yi, list(bs), 1 - p)
        second = _expect_over_masks(yi**2, list(bs), 1 - p)
        return (sp.Matrix([mu, second - mu**2]),
                sp.Matrix([(1 - p) * sum(a * c for a, c in zip(ws, xs)),
                           p * (1 - p) * sum(a**2 * c**2 for a, c in zip(ws, xs))]))

    i, n = sp.symbols("j n", integer=True, positive=True)
    d.prove_for_sizes("any fan-in: mean and variance of one output",
                      sp.Eq(Var(sp.Symbol("y_i")), p * (1 - p) * sp.Sum(
                          sp.Indexed("W", i)**2 * sp.Indexed("x", i)**2, (i, 1, n))),
                      fan_in, sizes=(1, 2, 3), why="explicit sums over all masks")
    d.values.update(W=W, x=x)

    def by_enumeration(stat):
        def reference(p, **kw):
            import numpy as np
            Wn = np.array([[kw[f"W_{i}{j}"] for j in (1, 2, 3)] for i in (1, 2)])
            xn = np.array([kw[f"x_{j}"] for j in (1, 2, 3)])
            outs, probs = [], []
            for bits in itertools.product((0, 1), repeat=6):
                Mn = np.array(bits, dtype=float).reshape(2, 3)
                outs.append((Wn * Mn) @ xn)
                probs.append(np.prod(np.where(Mn == 1, 1 - p, p)))
            outs, probs = np.array(outs), np.array(probs)
            mu = probs @ outs
            result = mu if stat == "mean" else probs @ (outs - mu) ** 2
            return result.reshape(2, 1)
        return reference

    at = {p: (0.05, 0.95), **{s: (-2.0, 2.0) for s in [*W, *x]}}
    d.crosscheck("mean by float64 enumeration of the 2⁶ masks", mean, by_enumeration("mean"),
                 at=at)
    d.crosscheck("variance by float64 enumeration of the 2⁶ masks", var,
                 by_enumeration("var"), at=at)


@derivation("stochastic-depth",
            exports=("stochastic_depth_test_preactivation", "expected_output"))
def stochastic_depth(d: Derivation) -> None:
    """H_l = ReLU(b·f(H_{l−1}) + H_{l−1}) with b ~ Bernoulli(p_l), p_l the block's SURVIVAL
    (keep) probability: the expected pre-activation is p_l·f + H, which is what 002's test
    rule ReLU(p_l·f + H) feeds to the ReLU (eq. 9.50). The rule matches E[H_l] exactly when
    f + H ≥ 0 (H ≥ 0 after the previous ReLU); otherwise it is an approximation."""
    pl = d.symbol("p_l", positive=True)
    d.assume("0 < p_l < 1")
    d.convention("p_l is the SURVIVAL (keep) probability of block l, as in 002 eq. 9.50; "
                 "its drop probability is 1 − p_l (unlike p elsewhere in this section, "
                 "which is a drop probability)")
    f, H = d.symbol("f", real=True), d.symbol("H", nonnegative=True)
    d.assume("f = f(H_{l−1}; W_l) and H = H_{l−1} ≥ 0 are held fixed; b ~ Bernoulli(p_l)")
    b = Bernoulli("b", pl)
    d.define("expected pre-activation", Expectation(b * f + H), "", lhs=En(sp.Symbol("u")))
    d.apply("by sympy.stats", lambda e: e.doit(), "E[b] = p_l")
    d.conclude("stochastic_depth_test_preactivation", pl * f + H, [f, H, pl],
               "002 eq. 9.50 feeds this to the ReLU", kernel=False)
    out = expect(sp.Max(0, b * f + H))
    d.prove("expected block output", out,
            pl * sp.Max(0, f + H) + (1 - pl) * H, "by sympy.stats: the block either "
            "survives or passes H through")
    g = d.symbol("g", nonnegative=True)
    d.prove("when f + H ≥ 0", out.subs(f, g - H), pl * (g - H) + H,
            "write f = g − H with g ≥ 0: both branches of the ReLU are active")
    d.note("equal to the test rule when f + H ≥ 0", "p_l(g − H) + H = p_l·g + (1 − p_l)·H "
           "≥ 0, so ReLU(p_l f + H) = p_l f + H = E[H_l]: 002's rule is exact there")
    half = {f: -2, H: 1, pl: sp.Rational(1, 2)}
    d.prove_true("but not in general", sp.Ne(out.subs(half), sp.Max(0, pl * f + H).subs(half)),
                 "f = −2, H = 1, p_l = 1/2: E[H_l] = 1/2 while the test rule gives 0",
                 shown=sp.Ne(out.subs(half), sp.Max(0, pl * f + H).subs(half)))
    d.values["expected_output"] = out

    def enumerate_b(f, H, p_l):
        return p_l * (f + H) + (1 - p_l) * H

    def enumerate_out(f, H, p_l):
        return p_l * max(0.0, f + H) + (1 - p_l) * max(0.0, H)

    d.crosscheck("expected pre-activation by float64 enumeration", pl * f + H, enumerate_b,
                 at={f: (-3.0, 3.0), H: (0.0, 3.0), pl: (0.05, 0.95)})
    d.crosscheck("expected output by float64 enumeration", out, enumerate_out,
                 at={f: (-3.0, 3.0), H: (0.0, 3.0), pl: (0.05, 0.95)})


@derivation("dropout-convention", exports=("test_time_scale", "stated_scale"))
def dropout_convention(d: Derivation) -> None:
    """000 §1 and 003 §4 use p for the probability of DROPPING a unit; 002 §9.5.1 opens the
    same way (units are zeroed 'with a probability p'), but its code and test-time rules use
    p as the probability of KEEPING a unit (scale by p at test time, divide by p in inverted
    dropout). Under the code's meaning 002 is right; a reader who carries the drop meaning
    (from 002's own first sentence, or from 000/003) scales by the wrong number. The
    correct test-time scale is the keep probability 1 − p_drop."""
    p = _drop_symbol(d)
    d.convention("in this record p is the DROP probability; 002's code p is 1 − p")
    a = d.symbol("a", real=True)
    m = Bernoulli("m", 1 - p)
    d.define("expected training output of a unit a", Expectation(m * a), "",
             lhs=En(sp.Symbol("m") * a))
    train = d.apply("by sympy.stats", lambda e: e.doit(), "E[m] = 1 − p")
    c = d.symbol("c", real=True)
    d.define("test output c·a must match", c * a - train, "nothing dropped at test time")
    d.apply("solve for c", lambda e: sp.solve(e, c)[0], "by SymPy", lhs=c)
    d.conclude("test_time_scale", 1 - p, [p], "the KEEP probability", kernel=False, lhs=c)
    d.prove("002's example cannot tell the meanings apart", (1 - p).subs(p, sp.Rational(1, 2)),
            p.subs(p, sp.Rational(1, 2)), "at p = 1/2 the drop and keep probabilities are "
            "equal, so eq. 9.46–9.47 read the same either way")
    witness = {p: sp.Rational(3, 4)}
    d.erratum("dropout-convention", source="002 §9.5.1",
              stated="002 says a unit is zeroed with probability p and later that test-time "
                     "activations are scaled by 'the dropout probability p'; read with p as "
                     "the drop probability (as in 000 §1, 003 §4 and 002's own opening), the "
                     "test-time scale is p_drop",
              correct="the test-time scale is the keep probability 1 − p_drop; 002's code "
                      "is right only because there p means the keep probability",
              stated_expr=p, correct_expr=1 - p, witness=witness)
    y_kept = sp.Integer(8)  # 003 §4: the two kept entries sum to 8
    d.erratum("dropout-convention/inverted", source="002 §9.5.1 eq. 9.48, 003 §4(b)",
              stated="inverted dropout divides the kept activations by p (002 eq. 9.48); "
                     "with 003's drop probability p = 0.75 this gives y_corr = 8/0.75",
              correct="divide by the keep probability 1 − p_drop: y_corr = 8/0.25 = 32",
              stated_expr=y_kept / p, correct_expr=y_kept / (1 - p), witness=witness)
    d.values["stated_scale"] = p

    def by_scipy(p):
        from scipy import stats
        return stats.bernoulli(1 - p).mean()

    d.crosscheck("test-time scale = E[m] by scipy.stats.bernoulli", 1 - p, by_scipy,
                 at={p: (0.05, 0.95)})


# ---------------------------------------------------------------------------------------
@derivation("alpha-dropout",
            exports=("a", "b", "alpha_prime", "a_at_095", "b_at_095", "output_mean",
                     "output_variance", "plain_variance",
                     "alpha_dropout_forward", "alpha_dropout_backward"))
def alpha_dropout(d: Derivation) -> None:
    """Alpha dropout (Klambauer et al. 2017, section "New Dropout Technique"): a SELU unit x
    with E[x] = 0, E[x²] = 1 is kept with probability q, else set to α′ = −λα (SELU's
    negative saturation value); then y = a·x̃ + b with

        a = (q + α′²q(1 − q))^(−1/2),    b = −a(1 − q)α′,

    so that E[y] = 0 and Var y = 1 again. At q = 0.95: a ≈ 0.9548, b ≈ 0.0839. Plain
    inverted dropout m·x/q keeps the mean 0 but has variance 1/q."""
    from .activations import selu_alpha_lambda

    q = d.symbol("q", positive=True)
    x, m = d.symbols("x m", real=True)
    ap = d.symbol("alpha_p", negative=True)
    a, b = d.symbol("a", positive=True), d.symbol("b", real=True)
    mu, s2 = d.symbol("mu_x", real=True), d.symbol("nu_x", positive=True)
    d.assume("0 < q < 1; the mask m ~ Bernoulli(q) is independent of the unit x; x has the "
             "SELU fixed-point moments E[x] = 0, E[x²] = 1 (selu-fixed-point)")
    d.convention("q is the KEEP probability (Klambauer et al.); the drop probability is "
                 "p = 1 − q, as in the rest of section 4 and in numeric's AlphaDropout(p_drop)")
    d.convention("α_p stands for Klambauer's α′ = −λα, the value a dropped unit is set to")
    xt = m * x + (1 - m) * ap
    Xt, Y = sp.Symbol(r"\tilde{x}"), sp.Symbol("y")
    d.define("a dropped unit is set to α′", xt, "m = 1 keeps x, m = 0 sets it to α′",
             lhs=Xt)
    d.apply("average over the mask", lambda e: _expect_over_masks(e, [m], q).subs(x, mu),
            "E[m] = q and independence: E[x̃] = qE[x] + (1 − q)α′", lhs=En(Xt))
    mean = d.rewrite("E[x] = 0", (1 - q) * ap, at={mu: 0}, lhs=En(Xt))
    d.define("second moment", xt**2, lhs=Xt**2)
    d.apply("average over the mask", lambda e: _expect_over_masks(sp.expand(e), [m], q)
            .subs(x**2, s2), "m² = m, m(1 − m) = 0; E[x²] = ν_x", lhs=En(Xt**2))
    second = d.rewrite("E[x²] = 1", q + (1 - q) * ap**2, at={s2: 1}, lhs=En(Xt**2))
    d.define("variance", second - mean**2, lhs=Var(Xt))
    var = d.rewrite("factor", q * (1 + (1 - q) * ap**2),
                    "q + (1 − q)α′² − (1 − q)²α′² = q + q(1 − q)α′²", lhs=Var(Xt))
    d.note("affine correction", "y = a·x̃ + b has E[y] = a·E[x̃] + b and Var y = a²·Var x̃; "
           "choose a > 0 and b so that E[y] = 0 and Var y = 1")
    d.define("the variance condition", a**2 * var - 1, lhs=Var(Y) - 1)
    d.apply("solve for a > 0", lambda e: next(
                r for r in sp.solve(sp.Eq(e, 0), a) if r.subs({q: sp.Rational(1, 2), ap: -1}) > 0),
            "by SymPy (two roots ±; the positive one)", lhs=a)
    a_form = 1 / sp.sqrt(q + ap**2 * q * (1 - q))
    d.rewrite("Klambauer et al.'s form", a_form, lhs=a, domain={q: (0, 1)})
    d.conclude("a", a_form, [q, ap], kernel=False, lhs=a,
               why="the scale that restores unit variance")
    d.define("the mean condition", a * mean + b, lhs=En(Y))
    d.apply("solve for b", lambda e: sp.solve(sp.Eq(e, 0), b)[0], "by SymPy", lhs=b)
    d.rewrite("with the a above", -a_form * (1 - q) * ap, at={a: a_form}, lhs=b,
              domain={q: (0, 1)})
    d.conclude("b", -a_form * (1 - q) * ap, [q, ap], kernel=False, lhs=b,
               why="the shift that restores zero mean")
    d.prove("check: E[y] = 0", a_form * mean - a_form * (1 - q) * ap, 0)
    d.prove("check: Var y = 1", a_form**2 * var, 1)
    d.values.update(output_mean=sp.simplify(a_form * mean - a_form * (1 - q) * ap),
                    output_variance=sp.simplify(a_form**2 * var))

    # α′ from SELU's constants (50 digits) and the values at q = 0.95
    selu_alpha, selu_lambda = selu_alpha_lambda(50)
    alpha_prime = -selu_lambda * selu_alpha
    d.define("α′ = −λα with SELU's α, λ (selu-fixed-point, 50 digits)", alpha_prime,
             "the limit of selu(x) as x → −∞; α and λ are the closed forms derived and "
             "checked in selu-fixed-point", lhs=ap)
    q95 = sp.Rational(95, 100)
    a95 = sp.Float(sp.N(a_form.subs({q: q95, ap: alpha_prime}), 50), 30)
    b95 = sp.Float(sp.N((-a_form * (1 - q) * ap).subs({q: q95, ap: alpha_prime}), 50), 30)
    d.prove_true("a at q = 0.95 (Klambauer et al. quote a ≈ 0.9548)",
                 abs(a95 - sp.Float("0.9548")) < sp.Float("0.00005"),
                 "evaluated at 50 digits", shown=sp.Eq(a, a95))
    d.prove_true("b at q = 0.95 (≈ 0.0839)", abs(b95 - sp.Float("0.0839")) < sp.Float("0.00005"),
                 "evaluated at 50 digits", shown=sp.Eq(b, b95))
    d.define("foil: plain inverted dropout m·x/q", (m * x / q)**2,
             lhs=(sp.Symbol("m") * x / q)**2)
    plain = d.apply("average over the mask", lambda e: _expect_over_masks(
        sp.expand(e), [m], q).subs(x**2, 1), "E[(mx/q)²] = q·E[x²]/q², and its mean is 0 "
        "(E[x] = 0), so this is the variance", lhs=Var(sp.Symbol("m") * x / q))
    d.prove("… is 1/q, not 1", plain, 1 / q, "the variance is not kept")

    # kernels: forward with a frozen mask, and its derivative in x, as functions of q
    ap34 = sp.Float(alpha_prime, 34)
    b_form = -a_form * (1 - q) * ap
    fwd = a * (m * x + (1 - m) * ap) + b
    d.define("the layer (m the 0/1 mask)", fwd, lhs=Y)
    fwd_q = (a_form * (m * x + (1 - m) * ap) + b_form).subs(ap, ap34)
    d.rewrite("with a(q), b(q) and α′ to 34 digits", fwd_q,
              "float64 needs 17 digits",
              at={a: a_form.subs(ap, ap34), b: b_form.subs(ap, ap34), ap: ap34}, lhs=Y)
    d.conclude("alpha_dropout_forward", fwd_q, [x, m, q],
               why="y = a(m·x + (1 − m)α′) + b, m ∈ {0, 1} the keep mask, q the keep "
                   "probability")
    g = d.symbol("g", real=True)
    d.define("backward: dL/dx = g·∂y/∂x", g * sp.Derivative(fwd_q, x), lhs=sp.Symbol("g_x"))
    d.apply("differentiate", lambda e: e.doit(), "by SymPy")
    d.conclude("alpha_dropout_backward", a_form.subs(ap, ap34) * m * g, [g, m, q],
               why="the gradient passes through kept units, scaled by a(q); dropped units "
                   "get 0")
    d.values.update(alpha_prime=alpha_prime, a_at_095=a95, b_at_095=b95,
                    plain_variance=1 / q)

    def by_enumeration(q, alpha_p):
        import numpy as np
        # mixture of x ~ N(0, 1) (kept) and the constant α′ (dropped): the moments of y
        aa = 1 / np.sqrt(q + alpha_p**2 * q * (1 - q))
        bb = -aa * (1 - q) * alpha_p
        ey = q * bb + (1 - q) * (aa * alpha_p + bb)
        ey2 = q * (aa**2 + bb**2) + (1 - q) * (aa * alpha_p + bb) ** 2
        return ey2 - ey**2

    d.crosscheck("Var y of the kept/dropped mixture, float64", a_form**2 * var,
                 by_enumeration, at={q: (0.05, 0.99), ap: (-3.0, -0.1)})

    def torch_style_a(q, alpha_p):
        import math
        p = 1 - q  # torch.nn.functional.alpha_dropout: a = ((α′²p + 1)(1 − p))^(−1/2)
        return 1 / math.sqrt((alpha_p**2 * p + 1) * (1 - p))

    d.crosscheck("a in the drop-probability form of torch's alpha_dropout", a_form,
                 torch_style_a, at={q: (0.05, 0.99), ap: (-3.0, -0.1)})
    d.crosscheck_gradient("backward kernel by central differences", g * fwd_q, x,
                          a_form.subs(ap, ap34) * m * g,
                          at={x: (-2.0, 2.0), m: (0.0, 1.0), q: (0.5, 0.99), g: (-1.0, 1.0)})
