"""Catalog section 13: optimisers beyond the seeds.

Kingma & Ba 2015 (Adam, §2.1 and Algorithm 1), Loshchilov & Hutter 2019 (AdamW, decoupled
weight decay), Sutskever et al. 2013 (Nesterov momentum), Goyal et al. 2017 (the linear
learning-rate scaling rule), Pascanu et al. 2013 (gradient clipping).

Conventions shared with section 8 (derive/optimizers.py): the moments are exponential
moving averages started at 0, m_t = β₁m_{t−1} + (1 − β₁)g_t, v_t = β₂v_{t−1} + (1 − β₂)g_t²,
bias-corrected m̂_t = m_t/(1 − β₁^t), v̂_t = v_t/(1 − β₂^t); every ``*_step`` kernel returns
the signed increment Δθ that the optimiser ADDS to θ.
"""
from __future__ import annotations

import sympy as sp

from .core import Derivation
from .registry import derivation

_THETA = sp.IndexedBase("theta")  # displayed left-hand sides only


def _T():
    return sp.Symbol("t", integer=True, positive=True)
_B1, _B2 = sp.Rational(9, 10), sp.Rational(999, 1000)  # Adam's defaults (Kingma & Ba §2)


def _adam_moments(gs, beta1, beta2):
    """(m_t, v_t) after the gradients ``gs`` (oldest first), from m_0 = v_0 = 0."""
    m = v = sp.Integer(0)
    for g in gs:
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
    return m, v


# ---------------------------------------------------------------------------------------
@derivation("adam-step-bound",
            exports=("step_bound", "step_bound_limit", "sup_at_defaults",
                     "kingma_ba_bound", "spike_ratio", "attaining_gradient"))
def adam_step_bound(d: Derivation) -> None:
    """The largest Adam step. With ε = 0 the step is Δ_t = −α·m̂_t/√v̂_t, and over ALL
    gradient sequences g_1, …, g_t (not all zero)

        sup |m̂_t|/√v̂_t = (1 − β₁)/√(1 − β₂) · √(Σ_{k<t} r^k) · √(1 − β₂^t)/(1 − β₁^t),
        r = β₁²/β₂,

    by Cauchy–Schwarz, attained by g_s ∝ (β₁/β₂)^(t−s). For β₁² < β₂ it tends to
    (1 − β₁)/√((1 − β₂)(1 − β₁²/β₂)) as t → ∞: 7.2702918… at β₁ = 0.9, β₂ = 0.999.
    Kingma & Ba 2015 §2.1 state |Δ_t| ≤ α(1 − β₁)/√(1 − β₂) (≈ 3.16α at the defaults)
    when (1 − β₁) > √(1 − β₂), and |Δ_t| ≤ α otherwise; as bounds over every gradient
    sequence both are false. The first is the value of a single gradient spike (the case
    the paper has in mind), not a supremum."""
    beta1, beta2 = d.symbols("beta1 beta2", positive=True)
    r = d.symbol("r", positive=True)
    t = d.symbol("t", integer=True, positive=True)
    k = d.symbol("k", integer=True, nonnegative=True)
    g = sp.IndexedBase("g", real=True)
    d.assume("0 < β₁ < 1, 0 < β₂ < 1; m_0 = v_0 = 0; ε = 0 (ε > 0 only shortens the step); "
             "the gradients g_1, …, g_t of one coordinate are arbitrary reals, not all 0")
    d.convention("the step size is |Δ_t|/α = |m̂_t|/√v̂_t (Kingma & Ba's Δ_t with α = 1)")
    d.convention("r = β₁²/β₂; k = t − s counts steps back from the current one")

    mt = (1 - beta1) * sp.Sum(beta1**k * g[t - k], (k, 0, t - 1))
    vt = (1 - beta2) * sp.Sum(beta2**k * g[t - k] ** 2, (k, 0, t - 1))
    d.define("first moment unrolled (ema-unroll)", mt, lhs=sp.Symbol("m_t"),
             why="the weight of g_s is (1 − β₁)β₁^(t−s)")
    d.define("second moment unrolled", vt, lhs=sp.Symbol("v_t"))
    d.note("split the weights", "β₁^k g_{t−k} = a_k·b_k with a_k = (β₁/√β₂)^k and "
           "b_k = β₂^(k/2)·g_{t−k}, so Σ_k b_k² = v_t/(1 − β₂) and Σ_k a_k² = Σ_k r^k")

    def lagrange(n):
        a = sp.symbols(f"a_0:{n}", real=True)
        b = sp.symbols(f"b_0:{n}", real=True)
        lhs = sum(x**2 for x in a) * sum(y**2 for y in b) - sum(x * y for x, y in zip(a, b))**2
        rhs = sum((a[i] * b[j] - a[j] * b[i])**2 for i in range(n) for j in range(i + 1, n))
        return lhs, rhs

    ak, bk = sp.IndexedBase("a"), sp.IndexedBase("b")
    i, j = sp.symbols("i j", integer=True)
    d.prove_for_sizes(
        "Lagrange's identity (Cauchy–Schwarz with its equality case)",
        sp.Eq(sp.Sum(ak[k]**2, (k, 0, t - 1)) * sp.Sum(bk[k]**2, (k, 0, t - 1))
              - sp.Sum(ak[k] * bk[k], (k, 0, t - 1))**2,
              sp.Sum((ak[i] * bk[j] - ak[j] * bk[i])**2, (j, i + 1, t - 1), (i, 0, t - 1))),
        lagrange, sizes=(2, 3, 4, 5),
        why="a sum of squares: (Σab)² ≤ Σa²·Σb², with equality iff b ∝ a")
    geo = sp.Sum(r**k, (k, 0, t - 1))
    ratio2 = (1 - beta1)**2 / (1 - beta2) * geo
    d.define("hence m_t² ≤ (1 − β₁)²·Σ_k r^k·v_t/(1 − β₂)", ratio2,
             lhs=sp.Symbol("m_t^2") / sp.Symbol("v_t"),
             why="Cauchy–Schwarz with the split above; equality iff β₂^(k/2)g_{t−k} ∝ "
                 "(β₁/√β₂)^k, i.e. g_{t−k} ∝ (β₁/β₂)^k")
    d.prove_for_sizes("the geometric sum", sp.Eq(geo, (1 - r**t) / (1 - r)),
                      lambda n: (sum(r**kk for kk in range(n)), (1 - r**n) / (1 - r)),
                      sizes=(1, 2, 3, 4, 5, 6), why="r ≠ 1; exact at t = 1, …, 6 (the usual "
                                                      "telescoping (1 − r)Σr^k = 1 − r^t)")
    bias = sp.sqrt(1 - beta2**t) / (1 - beta1**t)
    bound = (1 - beta1) / sp.sqrt(1 - beta2) * sp.sqrt((1 - r**t) / (1 - r)) * bias
    d.define("with bias correction: |m̂_t|/√v̂_t = (|m_t|/√v_t)·√(1 − β₂^t)/(1 − β₁^t)",
             bound, lhs=sp.Symbol("B_t"), why="the supremum over gradient sequences")
    bound_b = bound.subs(r, beta1**2 / beta2)
    d.rewrite("r = β₁²/β₂", bound_b, at={r: beta1**2 / beta2}, lhs=sp.Symbol("B_t"))
    d.conclude("step_bound", bound_b, [beta1, beta2, t], kernel=False,
               lhs=sp.Symbol("B_t"), why="sup over g of |m̂_t|/√v̂_t (Adam's step in units of α)")

    def attained(n):
        gs = [(beta1 / beta2) ** (n - s) for s in range(1, n + 1)]
        m, v = _adam_moments(gs, beta1, beta2)
        ratio = (m / (1 - beta1**n))**2 / (v / (1 - beta2**n))
        return sp.cancel(ratio), sp.cancel(bound_b.subs(t, n)**2)

    attaining = (beta1 / beta2) ** (t - d.symbol("s", integer=True, positive=True))
    d.prove_for_sizes("g_s = (β₁/β₂)^(t−s) attains it: (m̂_t)²/v̂_t = B_t²",
                      sp.Eq(sp.Symbol(r"\hat{m}_t^2") / sp.Symbol(r"\hat{v}_t"),
                            sp.Symbol("B_t")**2),
                      attained, sizes=(1, 2, 3, 4),
                      why="Adam's recursions run on that sequence, t = 1, …, 4 (β₁, β₂ "
                          "symbolic); so B_t is a maximum, not only a bound")
    d.prove("at t = 1 the bound is 1", bound_b.subs(t, 1), 1,
            why="the first step has size α whatever g_1 (adam)")

    # t → ∞
    limit = (1 - beta1) / sp.sqrt((1 - beta2) * (1 - beta1**2 / beta2))
    d.define("as t → ∞ with β₁² < β₂", limit, lhs=sp.Symbol("B_\\infty"),
             why="r^t, β₁^t and β₂^t → 0: B_t → (1 − β₁)/√(1 − β₂) · 1/√(1 − r)")
    d.conclude("step_bound_limit", limit, [beta1, beta2], kernel=False,
               lhs=sp.Symbol("B_\\infty"), why="the supremum of Adam's step over all t")
    defaults = {beta1: _B1, beta2: _B2}
    d.apply("at the defaults β₁ = 0.9, β₂ = 0.999: the limit of B_t computed by SymPy",
            sp.Limit(bound_b.subs(defaults), t, sp.oo), lhs=sp.Symbol("B_\\infty"))
    exact = sp.nsimplify(limit.subs(defaults))
    d.prove("the t → ∞ form above at the defaults gives the same", limit.subs(defaults), exact)
    val = sp.Float(sp.N(exact, 40), 30)
    d.prove_true("numerically", abs(exact - val) < sp.Float(10)**-28,
                 "evaluated at 40 digits", shown=sp.Eq(sp.Symbol("B_\\infty"), val))

    # Kingma & Ba §2.1 and the single spike
    spike_t = (1 - beta1) / sp.sqrt(1 - beta2) * bias

    def spike(n):
        m, v = _adam_moments([sp.Integer(0)] * (n - 1) + [sp.Integer(1)], beta1, beta2)
        return (sp.cancel((m / (1 - beta1**n))**2 / (v / (1 - beta2**n))),
                sp.cancel(spike_t.subs(t, n)**2))

    d.prove_for_sizes("a single spike (g_t = 1 after t − 1 zero gradients): its step is "
                      "(1 − β₁)/√(1 − β₂)·√(1 − β₂^t)/(1 − β₁^t)",
                      sp.Eq(sp.Symbol(r"\hat{m}_t^2") / sp.Symbol(r"\hat{v}_t"), spike_t**2),
                      spike, sizes=(1, 2, 3, 4, 5),
                      why="squared; Adam's recursions run on the spike, t = 1, …, 5")
    kb = (1 - beta1) / sp.sqrt(1 - beta2)
    d.note("Kingma & Ba §2.1", "the paper bounds the effective step by α(1 − β₁)/√(1 − β₂) "
           "when (1 − β₁) > √(1 − β₂) (the defaults: 0.1 > 0.0316) — the size of a single "
           "spike after t → ∞, 'the most severe case of sparsity' — and by α otherwise. "
           "Read as upper bounds over every gradient sequence, both are false: the "
           "sequence g_s ∝ (β₁/β₂)^(t−s) (gradients growing geometrically towards the "
           "present) exceeds them. Read as the size of the spike step (and 'typically ≈ α'), "
           "they stand.")
    kb_default = kb.subs(defaults)
    d.prove_true("the supremum exceeds both readings of §2.1 at the defaults",
                 sp.And(exact > kb_default, kb_default > 1),
                 "7.27… > √10 = 3.16… > 1",
                 shown=sp.Tuple(exact, kb_default, 1))
    d.values.update(sup_at_defaults=exact, kingma_ba_bound=kb, spike_ratio=spike_t,
                    attaining_gradient=attaining)

    def numpy_adam_ratio(beta1, beta2):
        import numpy as np

        n = 6
        m = v = 0.0
        for s in range(1, n + 1):
            gs = (beta1 / beta2) ** (n - s)
            m = beta1 * m + (1 - beta1) * gs
            v = beta2 * v + (1 - beta2) * gs * gs
        return (m / (1 - beta1**n)) / np.sqrt(v / (1 - beta2**n))

    d.crosscheck("B_6 against a float64 Adam loop on the attaining sequence",
                 bound_b.subs(t, 6), numpy_adam_ratio,
                 at={beta1: (0.5, 0.95), beta2: (0.9, 0.9999)})

    def numpy_random_max(beta1, beta2):
        import numpy as np  # many random sequences never beat the bound (its sup is B_6)
        rng = np.random.default_rng(0)
        gs = rng.standard_normal((20000, 6)) * np.exp(rng.uniform(-4, 4, (20000, 6)))
        m = np.zeros(20000)
        v = np.zeros(20000)
        for s in range(6):
            m = beta1 * m + (1 - beta1) * gs[:, s]
            v = beta2 * v + (1 - beta2) * gs[:, s] ** 2
        ratio = np.abs(m / (1 - beta1**6)) / np.sqrt(v / (1 - beta2**6))
        bound = float(((1 - beta1) / np.sqrt(1 - beta2)) * np.sqrt(
            (1 - (beta1**2 / beta2) ** 6) / (1 - beta1**2 / beta2))
            * np.sqrt(1 - beta2**6) / (1 - beta1**6))
        worst = float(ratio.max()) / bound
        return 1.0 if worst <= 1 + 1e-12 else worst

    d.crosscheck("no random sequence (20,000, heavy-tailed) exceeds B_6: max ratio/B_6 ≤ 1",
                 sp.Integer(1), numpy_random_max, at={beta1: (0.5, 0.95), beta2: (0.9, 0.9999)})


# ---------------------------------------------------------------------------------------
@derivation("adamw-vs-l2",
            exports=("sgd_l2_update", "l2_coupled_gradient", "adam_l2_step", "adamw_step",
                     "one_step_difference", "first_step_l2", "first_step_adamw",
                     "steady_state_decay"))
def adamw_vs_l2(d: Derivation) -> None:
    """Weight decay is an L2 penalty for SGD and not for Adam (Loshchilov & Hutter 2019).

    SGD on J + (λ/2)‖θ‖²: θ ← θ − η(g + λθ) = (1 − ηλ)θ − ηg, weight decay at rate ηλ.
    Adam with the L2 gradient g + λθ fed into m and v ("Adam with weight_decay" in torch's
    Adam): the decay term is divided by √v̂ + ε like the gradient, so coordinate i decays by
    about ηλθ_i/(√v̂_i + ε), unequal across coordinates. AdamW: θ ← θ − η(m̂/(√v̂ + ε) + λθ),
    every coordinate decays by ηλθ_i. The exact one-step difference is derived; at the first
    step (ε = 0) the L2 step is −η·sign(g + λθ), in which the decay all but disappears."""
    g, theta, m = d.symbols("g theta m", real=True)
    v = d.symbol("v", nonnegative=True)
    eta, lam, eps, beta1, beta2 = d.symbols("eta lambda eps beta1 beta2", positive=True)
    t = d.symbol("t", integer=True, positive=True)
    c = d.symbol("c", real=True)
    d.assume("0 < β₁, β₂ < 1; λ > 0 the weight-decay coefficient; m, v the moments before "
             "step t (m_0 = v_0 = 0); g = ∇J(θ) of the unpenalised loss J")
    d.convention("AdamW's decay is multiplied by the learning rate η, as in torch.optim.AdamW "
                 "and optax.adamw: θ ← θ − η(m̂/(√v̂ + ε) + λθ). Loshchilov & Hutter's "
                 "Algorithm 2 multiplies it by the schedule factor η_t only (their α "
                 "scales the Adam part alone): their λ is torch's η·λ at η_t = 1")
    d.convention("every step is the signed increment Δθ ADDED to θ; ε outside the root")

    # SGD
    d.define("SGD on J + (λ/2)‖θ‖² (l2-gradient)", theta - eta * (g + lam * theta),
             lhs=_THETA[_T()], why="the penalty's gradient is λθ")
    d.rewrite("weight decay at rate ηλ", (1 - eta * lam) * theta - eta * g,
              why="the same update as shrinking θ by 1 − ηλ, then the plain gradient step")
    d.conclude("sgd_l2_update", (1 - eta * lam) * theta - eta * g, [theta, g, eta, lam],
               kernel=False, why="for SGD, L2 penalty and weight decay are one rule")

    def adam_inc(m_, v_, e_=eps):
        return -eta * (m_ / (1 - beta1**t)) / (sp.sqrt(v_ / (1 - beta2**t)) + e_)

    # Adam with L2
    d.define("the L2 gradient", g + lam * theta, lhs=sp.Symbol("g_{L2}"))
    d.conclude("l2_coupled_gradient", g + lam * theta, [g, theta, lam],
               why="the gradient of J + (λ/2)‖θ‖² that coupled (L2) Adam feeds into m and v")
    gl2 = g + lam * theta
    m_l2 = beta1 * m + (1 - beta1) * gl2
    v_l2 = beta2 * v + (1 - beta2) * gl2**2
    l2_step = adam_inc(m_l2, v_l2)
    d.define("Adam with L2: one step from (m, v)", l2_step, lhs=sp.Symbol(r"\Delta_{L2}"),
             why="m and v are updated with g + λθ, then Adam's bias-corrected step")
    d.conclude("adam_l2_step", l2_step, [m, v, g, theta, t, eta, lam, beta1, beta2, eps],
               kernel=False, lhs=sp.Symbol(r"\Delta_{L2}"))
    # AdamW
    m_w = beta1 * m + (1 - beta1) * g
    v_w = beta2 * v + (1 - beta2) * g**2
    d.define("AdamW: one step from (m, v)", adam_inc(m_w, v_w) - eta * lam * theta,
             lhs=sp.Symbol(r"\Delta_{W}"), why="m and v see g only; the decay −ηλθ is added "
                                                "outside the adaptive scaling")
    mm, vv = d.symbol("m_new", real=True), d.symbol("v_new", real=True)
    kernel = adam_inc(mm, vv) - eta * lam * theta
    d.define("in terms of the updated moments m_new, v_new", kernel,
             lhs=sp.Symbol(r"\Delta_{W}"),
             why="m_new = β₁m + (1 − β₁)g, v_new = β₂v + (1 − β₂)g² (adam's kernels)")
    d.prove("with m_new, v_new substituted it is the step above",
            kernel.subs({mm: m_w, vv: v_w}), adam_inc(m_w, v_w) - eta * lam * theta)
    d.conclude("adamw_step", kernel, [mm, vv, theta, t, eta, beta1, beta2, eps, lam],
               lhs=sp.Symbol(r"\Delta_{W}"),
               why="AdamW increment −η(m̂/(√v̂ + ε) + λθ) from the updated moments, ADDED to θ")
    diff = l2_step - (adam_inc(m_w, v_w) - eta * lam * theta)
    d.define("the exact one-step difference Δ_L2 − Δ_W", diff,
             lhs=sp.Symbol(r"\Delta_{L2}") - sp.Symbol(r"\Delta_{W}"))
    d.conclude("one_step_difference", diff,
               [m, v, g, theta, t, eta, lam, beta1, beta2, eps], kernel=False,
               lhs=sp.Symbol(r"\Delta_{L2}") - sp.Symbol(r"\Delta_{W}"),
               why="zero only on a measure-zero set: the two rules differ in general")

    # the first step, ε = 0
    first_l2 = l2_step.subs({m: 0, v: 0, t: 1, eps: 0})
    d.define("first step of Adam with L2 (m = v = 0, t = 1, ε = 0)", first_l2,
             lhs=sp.Symbol(r"\Delta_{L2,1}"))
    d.rewrite("the step is ±η, whatever λ", -eta * sp.sign(g + lam * theta),
              why="m̂_1 = g + λθ and √v̂_1 = |g + λθ|")
    first_w = (adam_inc(m_w, v_w) - eta * lam * theta).subs({m: 0, v: 0, t: 1, eps: 0})
    d.define("first step of AdamW (ε = 0)", first_w, lhs=sp.Symbol(r"\Delta_{W,1}"))
    d.rewrite("the Adam step plus the full decay", -eta * sp.sign(g) - eta * lam * theta)
    d.values.update(first_step_l2=-eta * sp.sign(g + lam * theta),
                    first_step_adamw=-eta * sp.sign(g) - eta * lam * theta)
    wit = {g: 1, theta: 1, lam: sp.Rational(1, 10), eta: sp.Rational(1, 100)}
    d.prove("example g = θ = 1, λ = 0.1, η = 0.01: L2 step − AdamW step",
            (-eta * sp.sign(g + lam * theta) + eta * sp.sign(g) + eta * lam * theta).subs(wit),
            sp.Rational(1, 1000), why="= ηλθ: under L2 the decay vanished into the sign")

    # steady state: the EMA of g + λθ with θ constant is the EMA of g plus λθ
    def debiased(n):
        gs = sp.symbols(f"g_1:{n + 1}", real=True)
        m1, _ = _adam_moments([x + c for x in gs], beta1, beta2)
        m0, _ = _adam_moments(gs, beta1, beta2)
        return sp.cancel(m1 / (1 - beta1**n)), sp.cancel(m0 / (1 - beta1**n) + c)

    d.prove_for_sizes("a constant added to every gradient adds itself to m̂",
                      sp.Eq(sp.Symbol(r"\hat{m}[g + c]"), sp.Symbol(r"\hat{m}[g]") + c),
                      debiased, sizes=(1, 2, 3, 4),
                      why="the EMA is linear and its debiased weights sum to 1 "
                          "(ema-bias-correction); here c = λθ with θ nearly constant over "
                          "the averaging window")
    mhat, vhat = d.symbol(r"\hat{m}", real=True), d.symbol(r"\hat{v}", positive=True)
    d.define("Adam-L2 step when m̂ holds λθ and |λθ| much smaller than |g| (v̂ ≈ v̂ of g)",
             -eta * (mhat + lam * theta) / (sp.sqrt(vhat) + eps), lhs=sp.Symbol(r"\Delta_{L2}"))
    d.rewrite("split: the Adam step and an adaptive decay",
              -eta * mhat / (sp.sqrt(vhat) + eps) - eta * lam * theta / (sp.sqrt(vhat) + eps))
    d.values["steady_state_decay"] = eta * lam * theta / (sp.sqrt(vhat) + eps)
    d.note("unequal decay", "coordinate i loses ηλθ_i/(√v̂_i + ε) per step under L2 — weights "
           "with large gradients (large v̂_i) are hardly decayed, those with small gradients "
           "strongly — where AdamW removes ηλθ_i from every coordinate")

    def numpy_adamw(beta1, beta2, eta, eps, theta, **kw):
        import numpy as np  # torch.optim.AdamW's loop: p *= 1 − ηλ, then the Adam step
        m_ = v_ = 0.0
        p = theta
        for k in range(1, 4):
            gk = kw[f"g_{k}"]
            m_ = beta1 * m_ + (1 - beta1) * gk
            v_ = beta2 * v_ + (1 - beta2) * gk * gk
            p = p * (1 - eta * kw["lambda"]) - eta * (m_ / (1 - beta1**k)) / (
                np.sqrt(v_ / (1 - beta2**k)) + eps)
        return p

    gs = sp.symbols("g_1:4", real=True)
    p_sym, m_s, v_s = theta, sp.Integer(0), sp.Integer(0)
    for k, gk in enumerate(gs, start=1):
        m_s, v_s = beta1 * m_s + (1 - beta1) * gk, beta2 * v_s + (1 - beta2) * gk**2
        p_sym = p_sym + kernel.subs({mm: m_s, vv: v_s, t: k, theta: p_sym})
    d.crosscheck("three AdamW steps from the kernel against torch's AdamW loop in float64",
                 p_sym, numpy_adamw,
                 at={beta1: (0.5, 0.95), beta2: (0.9, 0.999), eta: (1e-3, 0.1),
                     eps: (1e-8, 1e-3), lam: (0.01, 0.5), theta: (-2.0, 2.0),
                     **{x: (-3.0, 3.0) for x in gs}})


# ---------------------------------------------------------------------------------------
@derivation("nesterov", exports=("nesterov_buffer", "nesterov_step", "lookahead_velocity"))
def nesterov(d: Derivation) -> None:
    """Nesterov momentum (Sutskever et al. 2013, eqs. 3–4), look-ahead form:

        v_t = μv_{t−1} − η∇J(θ_{t−1} + μv_{t−1}),   θ_t = θ_{t−1} + v_t,   v_0 = 0.

    The form frameworks use (torch.optim.SGD(nesterov=True, dampening=0), optax.sgd(
    nesterov=True)) tracks the look-ahead point φ = θ + μv and a buffer m = −v/η:

        g_t = ∇J(φ_{t−1}),   m_t = μm_{t−1} + g_t,   φ_t = φ_{t−1} − η(g_t + μm_t).

    Both produce the same sequence of gradient evaluations; the framework's parameters are
    the look-ahead points φ_t = θ_t + μv_t."""
    theta, v, g, m = d.symbols("theta v g m", real=True)
    mu, eta = d.symbols("mu eta", positive=True)
    d.assume("0 ≤ μ < 1; v_0 = 0 and m_0 = 0; J differentiable")
    d.convention("nesterov_step is the signed increment of the framework's parameters: "
                 "φ ← φ + nesterov_step(g, m, η, μ), with m already updated by "
                 "nesterov_buffer(m, g, μ) = μm + g")
    d.convention("the look-ahead gradient g = ∇J(θ_{t−1} + μv_{t−1}) is the framework's "
                 "∇J(φ_{t−1}): the same number, evaluated at the same point")

    d.define("look-ahead velocity (Sutskever et al. eq. 3)", mu * v - eta * g,
             lhs=sp.Symbol("v_t"), why="g = ∇J(θ_{t−1} + μv_{t−1}); v stands for v_{t−1}")
    d.conclude("lookahead_velocity", mu * v - eta * g, [v, g, mu, eta], kernel=False,
               lhs=sp.Symbol("v_t"))
    d.define("framework buffer", mu * m + g, lhs=sp.Symbol("m_t"),
             why="torch's momentum_buffer with dampening 0: m_t = μm_{t−1} + g_t")
    d.conclude("nesterov_buffer", mu * m + g, [m, g, mu], lhs=sp.Symbol("m_t"),
               why="Nesterov momentum buffer m_t = μm_{t−1} + g_t (dampening 0)")
    mnew = d.symbol("m_new", real=True)
    d.define("framework step", -eta * (g + mu * mnew), lhs=sp.Symbol(r"\Delta\phi"),
             why="m_new is m_t, already updated")
    d.conclude("nesterov_step", -eta * (g + mu * mnew), [g, mnew, eta, mu],
               lhs=sp.Symbol(r"\Delta\phi"),
               why="Nesterov increment −η(g_t + μm_t) of the look-ahead point, ADDED to φ")

    # one step of each form from the invariant φ = θ + μv, m = −v/η
    v_new = mu * v - eta * g
    theta_new = theta + v_new
    m_prev = -v / eta
    m_new = mu * m_prev + g
    phi_new = (theta + mu * v) - eta * (g + mu * m_new)
    d.note("invariant", "suppose φ_{t−1} = θ_{t−1} + μv_{t−1} and m_{t−1} = −v_{t−1}/η "
           "(true at t = 0: φ_0 = θ_0, m_0 = v_0 = 0). Then both forms evaluate the same "
           "gradient g, and")
    d.prove("the buffer stays −v/η: m_t = −v_t/η", m_new, -v_new / eta)
    d.define("the framework's next point", phi_new, lhs=sp.Symbol(r"\phi_t"))
    d.rewrite("= θ_t + μv_t, the next look-ahead point", theta_new + mu * v_new,
              why="so the invariant holds at t, and by induction at every step")

    # a check with feedback: J = aθ²/2, T steps of both forms
    a = d.symbol("a", positive=True)
    th0 = d.symbol("theta_0", real=True)

    def runs(T):
        th, vel = th0, sp.Integer(0)
        ph, buf = th0, sp.Integer(0)
        for _ in range(T):
            vel = mu * vel - eta * a * (th + mu * vel)
            th = th + vel
            gr = a * ph
            buf = mu * buf + gr
            ph = ph - eta * (gr + mu * buf)
        return sp.expand(ph), sp.expand(th + mu * vel)

    d.prove_for_sizes("on J = aθ²/2: the framework's φ_T equals θ_T + μv_T",
                      sp.Eq(sp.Symbol(r"\phi_T"), sp.Symbol("theta_T") + mu * sp.Symbol("v_T")),
                      runs, sizes=(1, 2, 3, 4), why="T steps of both recursions, symbolic "
                                                    "a, η, μ, θ_0 (feedback through the "
                                                    "gradient)")

    def sutskever_loop(a, eta, mu, theta_0):
        th, vel = theta_0, 0.0  # eqs. 3–4 of Sutskever et al. 2013
        for _ in range(5):
            vel = mu * vel - eta * a * (th + mu * vel)
            th = th + vel
        return th + mu * vel

    ph, buf = th0, sp.Integer(0)
    for _ in range(5):
        gr = a * ph
        buf = mu * buf + gr
        ph = ph + (-eta * (gr + mu * buf))
    d.crosscheck("5 framework steps from the kernels against Sutskever's look-ahead loop "
                 "(float64), compared at the look-ahead point", ph, sutskever_loop,
                 at={a: (0.1, 3.0), eta: (0.01, 0.3), mu: (0.0, 0.95), th0: (-2.0, 2.0)})


# ---------------------------------------------------------------------------------------
@derivation("gradient-clipping",
            exports=("clip_by_norm", "clip_by_value", "clipped_norm", "value_clip_cosine"))
def gradient_clipping(d: Derivation) -> None:
    """Clip by norm (Pascanu et al. 2013, Algorithm 1): ĝ = g·min(1, c/‖g‖). It is a positive
    multiple of g (direction kept, cosine 1) with ‖ĝ‖ = min(‖g‖, c) ≤ c. Clip by value,
    ĝ_i = min(max(g_i, −c), c), bounds each coordinate but not the norm (up to c√n) and turns
    the direction: g = (10, 1), c = 1 gives (1, 1), cosine 11/√202 ≈ 0.774 (39.3°)."""
    g, c, nrm = d.symbol("g", real=True), d.symbol("c", positive=True), d.symbol("norm",
                                                                               positive=True)
    d.assume("c > 0 the threshold; the gradient g = (g_1, …, g_n) is not 0; ‖·‖ the "
             "Euclidean norm over every coordinate clipped together (all parameters, as "
             "torch.nn.utils.clip_grad_norm_)")
    d.convention("the scale is exactly c/‖g‖ when ‖g‖ > c; torch's clip_grad_norm_ uses "
                 "c/(‖g‖ + 10⁻⁶), which leaves the norm 10⁻⁶c/‖g‖ relatively short of c")
    scale = sp.Piecewise((1, nrm <= c), (c / nrm, True))
    d.define("clip by norm: the scale", scale, lhs=sp.Symbol("s"),
             why="s = min(1, c/‖g‖) > 0, the same for every coordinate")
    d.define("each coordinate", g * scale, lhs=sp.Symbol(r"\hat{g}_i"))
    d.rewrite("branchwise", sp.Piecewise((g, nrm <= c), (c * g / nrm, True)),
              lhs=sp.Symbol(r"\hat{g}_i"))
    d.conclude("clip_by_norm", sp.Piecewise((g, nrm <= c), (c * g / nrm, True)), [g, nrm, c],
               lhs=sp.Symbol(r"\hat{g}_i"),
               why="ĝ_i = g_i·min(1, c/‖g‖) (‖g‖ a reduction over all coordinates)")

    def norm_after(n):
        gs = sp.symbols(f"g_1:{n + 1}", real=True)
        norm = sp.sqrt(sum(x**2 for x in gs))
        return sp.sqrt(sum((c / norm * x)**2 for x in gs)), c

    d.prove_for_sizes("‖g‖ > c: the clipped norm is exactly c",
                      sp.Eq(sp.Symbol(r"\|\hat{g}\|"), c), norm_after, sizes=(2, 3, 4),
                      why="‖(c/‖g‖)g‖ = (c/‖g‖)‖g‖; n = 2, 3, 4 coordinates")
    d.define("so", sp.Piecewise((nrm, nrm <= c), (c, True)), lhs=sp.Symbol(r"\|\hat{g}\|"))
    d.rewrite("= min(‖g‖, c)", sp.Min(nrm, c))
    d.values["clipped_norm"] = sp.Min(nrm, c)

    def cosine(n):
        gs = sp.symbols(f"g_1:{n + 1}", real=True)
        s = sp.Symbol("s", positive=True)
        dot = sum(s * x * x for x in gs)
        return dot / (sp.sqrt(sum((s * x)**2 for x in gs)) * sp.sqrt(sum(x**2 for x in gs))), 1

    d.prove_for_sizes("the direction is kept: cos(ĝ, g) = 1", sp.Eq(sp.Symbol(r"\cos"), 1),
                      cosine, sizes=(2, 3, 4), why="ĝ = s·g with s > 0")

    # clip by value
    clip = sp.Min(sp.Max(g, -c), c)
    d.define("clip by value", clip, lhs=sp.Symbol(r"\hat{g}_i"),
             why="each coordinate separately limited to [−c, c]")
    d.conclude("clip_by_value", clip, [g, c], lhs=sp.Symbol(r"\hat{g}_i"),
               why="ĝ_i = min(max(g_i, −c), c)")
    ex = sp.Matrix([10, 1])
    exc = ex.applyfunc(lambda x: clip.subs({g: x, c: 1}))
    d.define("example: g = (10, 1), c = 1", exc, lhs=sp.Symbol(r"\hat{g}"))
    cos_ex = (exc.dot(ex)) / (exc.norm() * ex.norm())
    d.define("its cosine with g", cos_ex, lhs=sp.Symbol(r"\cos"))
    d.rewrite("= 11/√202", 11 / sp.sqrt(202))
    d.prove_true("< 1: the direction changed (about 39.3°)", cos_ex < 1,
                 shown=sp.StrictLessThan(11 / sp.sqrt(202), 1))
    d.values["value_clip_cosine"] = 11 / sp.sqrt(202)
    big = sp.Matrix([10, 10]).applyfunc(lambda x: clip.subs({g: x, c: 1}))
    d.prove("… and the norm is not bounded by c: g = (10, 10), c = 1 gives ‖ĝ‖ = √2",
            big.norm(), sp.sqrt(2), why="in n coordinates up to c√n")

    def numpy_clip_norm(g, norm, c):
        import numpy as np
        return float(g * np.minimum(1.0, c / norm))

    d.crosscheck("clip by norm against g·min(1, c/‖g‖) in float64",
                 sp.Piecewise((g, nrm <= c), (c * g / nrm, True)), numpy_clip_norm,
                 at={g: (-3.0, 3.0), nrm: (0.1, 5.0), c: (0.1, 5.0)})

    def numpy_clip_value(g, c):
        import numpy as np
        return float(np.clip(g, -c, c))

    d.crosscheck("clip by value against numpy.clip", clip, numpy_clip_value,
                 at={g: (-5.0, 5.0), c: (0.1, 3.0)})


# ---------------------------------------------------------------------------------------
@derivation("lr-scaling-rule",
            exports=("small_batch_iterate", "large_batch_step", "difference",
                     "second_order_difference", "contraction_small", "contraction_large"))
def lr_scaling_rule(d: Derivation) -> None:
    """The linear scaling rule (Goyal et al. 2017, §2.1): k SGD steps at batch B and rate η
    vs one step at batch kB and rate kη. On a quadratic loss with curvature h and batch
    gradients g_j(θ) = hθ − b_j the two agree to first order in η; the second-order
    difference is η²h·[k(k − 1)/2·hθ_0 − Σ_j (k − j)b_j], which for equal batches is
    k(k − 1)/2·η²h·g(θ_0): the big step ignores how the gradient shrinks along the way. It
    matters when ηh is not small — early in training, which is why Goyal et al. need a
    warm-up; at kηh > 2 the big step diverges while the k small ones contract."""
    h, eta = d.symbols("h eta", positive=True)
    th0, b = d.symbols("theta_0 b", real=True)
    k = d.symbol("k", integer=True, positive=True)
    j = d.symbol("j", integer=True, positive=True)
    bj = sp.IndexedBase("b", real=True)
    d.assume("a quadratic loss along one eigen-direction of its Hessian, curvature h > 0; "
             "batch j's gradient is g_j(θ) = hθ − b_j (the batches differ only in b_j); "
             "the big batch's gradient is the mean of the k small ones, hθ − (1/k)Σ_j b_j")
    d.convention("step j of the small-batch run uses batch j, j = 1, …, k, in order")

    def small(kk, bs):
        th = th0
        for bb in bs:
            th = th - eta * (h * th - bb)
        return th

    closed = (1 - eta * h)**k * th0 + eta * sp.Sum((1 - eta * h)**(k - j) * bj[j], (j, 1, k))
    d.define("k small steps θ_j = θ_{j−1} − η(hθ_{j−1} − b_j), unrolled", closed,
             lhs=sp.Symbol("theta_k"))
    d.prove_for_sizes("the recursion iterated k times equals the unrolled form",
                      sp.Eq(sp.Symbol("theta_k"), closed),
                      lambda kk: (small(kk, [bj[i] for i in range(1, kk + 1)]),
                                  closed.subs(k, kk).doit()),
                      sizes=(1, 2, 3, 4, 5), why="k = 1, …, 5")
    big = th0 - k * eta * (h * th0 - sp.Sum(bj[j], (j, 1, k)) / k)
    d.define("one step at rate kη with the mean gradient", big, lhs=sp.Symbol("theta'"))
    d.values.update(small_batch_iterate=closed, large_batch_step=big)

    def coefficients(kk):
        bs = [bj[i] for i in range(1, kk + 1)]
        diff = sp.expand(small(kk, bs) - (th0 - kk * eta * (h * th0 - sum(bs) / kk)))
        first = diff.coeff(eta, 1)
        second = diff.coeff(eta, 2)
        want = h * (sp.binomial(kk, 2) * h * th0 - sum((kk - i) * bj[i] for i in range(1, kk + 1)))
        return sp.Matrix([first, second]), sp.Matrix([0, sp.expand(want)])

    second_general = h * (k * (k - 1) / 2 * h * th0 - sp.Sum((k - j) * bj[j], (j, 1, k)))
    d.prove_for_sizes("first order in η: equal; second order: η²h[k(k−1)/2·hθ_0 − Σ(k−j)b_j]",
                      sp.Eq(sp.Matrix([sp.Symbol(r"c_{\eta}"), sp.Symbol(r"c_{\eta^2}")]),
                            sp.Matrix([0, second_general])),
                      coefficients, sizes=(1, 2, 3, 4, 5),
                      why="c_η, c_η² the coefficients of η and η² in θ_k − θ′, exact for "
                          "k = 1, …, 5")
    # equal batches, every k
    eq_diff = ((1 - eta * h)**k - 1 + k * eta * h) * (th0 - b / h)
    d.define("equal batches b_j = b: θ_k − θ′ (geometric sum)", eq_diff,
             lhs=sp.Symbol("theta_k") - sp.Symbol("theta'"),
             why="θ_k = (1 − ηh)^k θ_0 + b(1 − (1 − ηh)^k)/h and θ′ = θ_0 − kη(hθ_0 − b)")

    def eq_check(kk):
        return (sp.expand(small(kk, [b] * kk) - (th0 - kk * eta * (h * th0 - b)))
                , sp.expand(eq_diff.subs(k, kk)))

    d.prove_for_sizes("… checked by iterating", sp.Eq(sp.Symbol("theta_k") - sp.Symbol("theta'"),
                                                      eq_diff),
                      eq_check, sizes=(1, 2, 3, 4, 5, 6))
    d.apply("expand in η to second order (k symbolic)",
            lambda e: sp.series(e, eta, 0, 3).removeO(), "by SymPy")
    second_eq = k * (k - 1) / 2 * eta**2 * h * (h * th0 - b)
    d.rewrite("= k(k − 1)/2 · η²h·g(θ_0), g(θ_0) = hθ_0 − b", second_eq)
    d.conclude("second_order_difference", second_eq, [k, eta, h, th0, b], kernel=False,
               lhs=sp.Symbol("theta_k") - sp.Symbol("theta'"),
               why="plus O(η³): the small steps shrink along with the gradient, the big "
                   "step does not")
    d.values["difference"] = eq_diff

    # stability: the contraction factors
    small_f, big_f = (1 - eta * h)**k, 1 - k * eta * h
    d.values.update(contraction_small=small_f, contraction_large=big_f)
    d.define("contraction of θ − b/h: k small steps vs the big step",
             sp.Matrix([small_f, big_f]),
             lhs=sp.Matrix([sp.Symbol("rho_small"), sp.Symbol("rho_big")]))
    d.rewrite("k = 8, ηh = 1/2", sp.Matrix([sp.Rational(1, 256), -3]),
              at={k: 8, eta: sp.Rational(1, 2) / h})
    d.prove_true("the big step diverges (|−3| > 1) where the small ones contract by 1/256",
                 sp.And(sp.Abs(big_f.subs({k: 8, eta: sp.Rational(1, 2) / h})) > 1,
                        small_f.subs({k: 8, eta: sp.Rational(1, 2) / h}) < 1),
                 "one step at kη is stable only for kηh < 2: warm-up lets h fall first",
                 shown=sp.Tuple(sp.Abs(-3), sp.Rational(1, 256)))

    def float_loop(h, eta, theta_0, b):
        th = theta_0
        for _ in range(4):
            th = th - eta * (h * th - b)
        return th - (theta_0 - 4 * eta * (h * theta_0 - b))

    d.crosscheck("θ_4 − θ′ for equal batches against a float64 loop", eq_diff.subs(k, 4),
                 float_loop, at={h: (0.1, 3.0), eta: (0.01, 0.3), th0: (-2.0, 2.0),
                                 b: (-2.0, 2.0)})
