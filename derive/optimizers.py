"""Catalog section 8: optimisers (004 B.1).

Update rules are derived as checked steps and concluded elementwise, so the generated
kernels (``numeric/kernels_optimizers.py``) work on arrays of any shape.

Sign conventions of the ``*_step`` kernels (as ``numeric/optim.py`` applies them):

every ``*_step`` kernel (adagrad, rmsprop, adadelta, adam) returns the signed increment
Δθ, and the optimiser applies θ ← θ + Δθ (Zeiler's Δx_t; Kingma & Ba's −α·m̂/(√v̂ + ε)).
The "step size" discussed in the derivations is the size of the move, −Δθ for g > 0.

Where ε sits: Adagrad and Adam add ε OUTSIDE the square root (Duchi et al. 2011; Kingma &
Ba 2015); RMSprop (004's "Adadelta", eq. B.26) and Zeiler's Adadelta put it INSIDE.
"""
from __future__ import annotations

import sympy as sp

from .core import Derivation
from .registry import derivation

_THETA = sp.IndexedBase("theta")  # for displayed left-hand sides only
_T = sp.Symbol("t", integer=True, positive=True)


def _ema(prev, new, gamma):
    """One step of the exponential moving average γ·prev + (1 − γ)·new."""
    return gamma * prev + (1 - gamma) * new


def _ema_closed(T, gamma, A0, g, t):
    """A_T = γ^T A_0 + Σ_{t=1..T} γ^(T−t)(1 − γ) g_t (g an IndexedBase)."""
    return gamma**T * A0 + sp.Sum(gamma**(T - t) * (1 - gamma) * g[t], (t, 1, T))


def _numpy_ema(a0, gs, gamma):
    a = float(a0)
    for g in gs:
        a = gamma * a + (1 - gamma) * g
    return a


# ---------------------------------------------------------------------------------------
@derivation("ema-unroll", exports=("ema_weight_total", "ema_weight"))
def ema_unroll(d: Derivation) -> None:
    """A_t = γA_{t−1} + (1 − γ)g_t unrolls to A_T = γ^T A_0 + Σ_{t=1..T} γ^(T−t)(1 − γ)g_t.

    The weights of g_1..g_T sum to 1 − γ^T (the rest, γ^T, sits on A_0). 004 eq. B.33 (and
    B.34) print the weight as γ^(T−t)(1 − γ)^t, which is wrong (erratum recorded).
    """
    gamma = d.symbol("gamma", positive=True)
    A0 = d.symbol("A_0", real=True)
    T = d.symbol("T", integer=True, nonnegative=True)
    t = d.symbol("t", integer=True, positive=True)
    g = sp.IndexedBase("g", real=True)
    A = sp.IndexedBase("A")
    d.assume("0 < γ < 1 is a constant discount factor; g_1, g_2, … are arbitrary reals")
    d.convention("004 B.2 starts from A_0 = g_0 = 0; here A_0 is kept general")

    w = gamma**(T - t) * (1 - gamma)  # claimed weight of g_t in A_T (t ≤ T)
    d.define("the recursion (004 eq. B.10)", _ema(A[T], g[T + 1], gamma), lhs=A[T + 1],
             why="the new average is γ times the old one plus (1 − γ) times the new value")
    d.define("claim", _ema_closed(T, gamma, A0, g, t), lhs=A[T],
             why="to be proved for every T ≥ 0 by induction on T")
    d.note("induction on coefficients",
           "A_T is linear in A_0, g_1, …, g_T; write A_T = c_T·A_0 + Σ_t w_{T,t}·g_t. The "
           "recursion maps the coefficients as c_{T+1} = γc_T, w_{T+1,t} = γw_{T,t} for "
           "t ≤ T, and w_{T+1,T+1} = 1 − γ. The claim is c_T = γ^T, w_{T,t} = γ^(T−t)(1 − γ); "
           "at T = 0 it is A_0 = A_0 (c_0 = 1, no g terms).")
    d.prove("base case T = 0", _ema_closed(0, gamma, A0, g, t), A0,
            why="γ^0 = 1 and the sum from t = 1 to 0 is empty")
    d.prove("A_0's coefficient: γ·c_T = c_{T+1}", gamma * gamma**T, gamma**(T + 1))
    d.prove("old gradients, t ≤ T: γ·w_{T,t} = w_{T+1,t}", gamma * w,
            w.subs(T, T + 1), why="each step multiplies every old weight by γ")
    d.prove("the new gradient: w_{T+1,T+1} = 1 − γ", 1 - gamma,
            sp.Mul(sp.Pow(gamma, 0, evaluate=False), 1 - gamma, evaluate=False),
            why="this completes the induction: the claim holds for every T ≥ 0")

    def iterate(m):
        a = A0
        for k in range(1, m + 1):
            a = _ema(a, g[k], gamma)
        return a, gamma**m * A0 + sum(w.subs({T: m, t: k}) * g[k] for k in range(1, m + 1))

    d.prove_for_sizes("the recursion iterated T times equals the claim",
                      sp.Eq(A[T], _ema_closed(T, gamma, A0, g, t)), iterate,
                      sizes=(1, 2, 3, 4, 5),
                      why="explicit iteration for T = 1, …, 5 (a check of the induction)")

    total = sp.Sum(w, (t, 1, T))
    d.note("the weights", "Σ_{t=1..T} w_{T,t} is a geometric sum; with W_T for it, the "
           "coefficient maps above give W_{T+1} = γW_T + (1 − γ) and W_0 = 0")
    d.prove("geometric sum, base case", total.subs(T, 0).doit(), 1 - gamma**0)
    d.define("geometric sum, induction step", gamma * (1 - gamma**T) + (1 - gamma),
             lhs=gamma * total + (1 - gamma))
    d.rewrite("the claim for T + 1", 1 - gamma**(T + 1))
    d.prove_for_sizes("the geometric sum summed by SymPy at fixed T",
                      sp.Eq(total, 1 - gamma**T),
                      lambda m: (total.subs(T, m).doit(), 1 - gamma**m), sizes=(1, 2, 3, 4, 5))
    d.form_for_sizes("total weight on g_1..g_T", 1 - gamma**T,
                     lambda m: (total.subs(T, m).doit(), 1 - gamma**m), sizes=(1, 2, 3, 4, 5),
                     lhs=total, why="proved for every T by the induction above (checked "
                                    "here at T = 1..5); with A_0's weight γ^T the total is 1")
    d.conclude("ema_weight_total", 1 - gamma**T, [gamma, T], kernel=False,
               why="the missing mass γ^T is what bias correction restores")

    def coefficients(m):
        """The coefficient of each g_k in the recursion iterated m times, and w there."""
        a = sp.expand(iterate(m)[0])
        return (sp.Matrix([a.coeff(g[k]) for k in range(1, m + 1)]),
                sp.Matrix([w.subs({T: m, t: k}) for k in range(1, m + 1)]))

    d.form_for_sizes("the weight of g_t in A_T", w, coefficients, sizes=(1, 2, 3, 4, 5),
                     lhs=sp.Symbol("w_{T,t}"),
                     why="proved for every T by the induction above; here each coefficient "
                         "of the iterated recursion is compared with it, T = 1..5")
    d.conclude("ema_weight", w, [gamma, T, t], kernel=False,
               why="the weight of g_t in A_T")

    # Erratum: 004 eq. B.33/B.34 weight γ^(T−t)(1 − γ)^t. Compare at T = 3, A_0 = g_0 = 0.
    gs = sp.symbols("g_1:4", real=True)
    stated = sum(gamma**(3 - k) * (1 - gamma)**k * gs[k - 1] for k in range(1, 4))
    correct = sum(gamma**(3 - k) * (1 - gamma) * gs[k - 1] for k in range(1, 4))
    example = {gamma: sp.Rational(1, 10), gs[0]: 1, gs[1]: 1, gs[2]: 1}
    d.erratum(
        "ema-unroll-weights", source="004 B.1.4.2, eqs. B.33–B.34",
        stated="that g_t enters A_T with weight γ^(T−t)(1 − γ)^t, i.e. (1 − γ) raised to "
               "the power t",
        correct=("the weight is γ^(T−t)(1 − γ), a single factor (1 − γ), and the weights "
                 "sum to 1 − γ^T (004's own sum at the end of B.1.1.4 has the single "
                 "factor); B.33's form passes the ageing step γ·w_{T,t} = w_{T+1,t} but gives "
                 "the newest gradient (1 − γ)^(T+1) instead of 1 − γ. "
                 "On the source's own example (γ = 1/10, gradients 1, 1, 1, "
                 f"eq. B.32) the printed formula gives A_3 = {stated.subs(example)} instead "
                 f"of the {correct.subs(example)} that the recursion produces"),
        stated_expr=stated, correct_expr=correct, witness=example)

    def numpy_recursion(**kw):
        return _numpy_ema(kw["A_0"], [kw[f"g_{k}"] for k in range(1, 7)], kw["gamma"])

    g6 = sp.symbols("g_1:7", real=True)
    unrolled6 = gamma**6 * A0 + sum(w.subs({T: 6, t: k}) * g6[k - 1] for k in range(1, 7))
    d.crosscheck("unrolled A_6 against a float64 loop over the recursion", unrolled6,
                 numpy_recursion,
                 at={gamma: (0.05, 0.95), A0: (-2.0, 2.0), **{s: (-2.0, 2.0) for s in g6}})


# ---------------------------------------------------------------------------------------
@derivation("ema-bias-correction", exports=("ema_debias", "example_averages"))
def ema_bias_correction(d: Derivation) -> None:
    """With A_0 = 0 and a constant input g, A_t = (1 − γ^t)g, so Â_t = A_t/(1 − γ^t) = g."""
    gamma = d.symbol("gamma", positive=True)
    g = d.symbol("g", real=True)
    t = d.symbol("t", integer=True, nonnegative=True)
    A = d.symbol("A", real=True)
    At = sp.IndexedBase("A")
    d.assume("0 < γ < 1; the average starts at A_0 = 0; every input equals the same g")

    d.prove("base case t = 0", (1 - gamma**0) * g, 0, why="A_0 = 0")
    d.define("induction step: one recursion step from A_t = (1 − γ^t)g",
             _ema((1 - gamma**t) * g, g, gamma), lhs=At[t + 1])
    d.rewrite("expand", g - gamma**(t + 1) * g, why="the γg terms cancel")
    d.rewrite("the claim for t + 1", (1 - gamma**(t + 1)) * g)

    def iterate(m):
        a = sp.Integer(0)
        for _ in range(m):
            a = _ema(a, g, gamma)
        return a, (1 - gamma**m) * g

    d.prove_for_sizes("iterating the recursion t times", sp.Eq(At[t], (1 - gamma**t) * g),
                      iterate, sizes=(1, 2, 3, 4, 5), why="explicit iteration, t = 1, …, 5")
    c = d.symbol("c_t", positive=True)
    d.define("the correction: Â_t = A_t/c_t must return g for a constant input",
             (1 - gamma**t) * g / c - g, lhs=sp.Symbol("Ahat_t") - g,
             why="A_t = (1 − γ^t)g (proved above); c_t is the factor to find, t ≥ 1")
    d.apply("solve for c_t", lambda e: sp.solve(sp.Eq(e, 0), c)[0],
            "by SymPy (for g ≠ 0): the total weight 1 − γ^t of ema-unroll", lhs=c)
    d.apply("Â_t = A_t/c_t", lambda e: A / e, lhs=sp.Symbol("Ahat_t"),
            why="the same division applied to any average A_t")
    d.conclude("ema_debias", A / (1 - gamma**t), [A, gamma, t], kernel=False,
               why="Â_t = A_t/(1 − γ^t), for t ≥ 1 (004 eq. B.36)")
    d.prove("it recovers the input", ((1 - gamma**t) * g / (1 - gamma**t)), g,
            "valid for t ≥ 1, where 1 − γ^t > 0")

    # 004 eq. B.32: inputs [1, 1, 1], γ = 1/10 (the decimals are the source's, as printed).
    gam = sp.Rational(1, 10)
    values, a = [], sp.Integer(0)
    for _ in range(3):
        a = _ema(a, 1, gam)
        values.append(a)
    printed = sp.Matrix([sp.Rational("0.9"), sp.Rational("0.99"), sp.Rational("0.999")])
    d.prove("004's example: A_1, A_2, A_3 for inputs 1, 1, 1 and γ = 1/10",
            sp.Matrix(values), printed,
            why="exact recursion from A_0 = 0, compared with the decimals printed in eq. B.32")
    d.prove("the corrected values are all 1",
            sp.Matrix([v / (1 - gam**k) for k, v in enumerate(values, start=1)]),
            sp.ones(3, 1), why="Â_t = A_t/(1 − (1/10)^t)")
    d.values["example_averages"] = sp.Matrix(values)

    def numpy_loop(gamma, g):
        return _numpy_ema(0.0, [g] * 4, gamma)

    d.crosscheck("(1 − γ⁴)g against a float64 loop of four steps", (1 - gamma**4) * g,
                 numpy_loop, at={gamma: (0.05, 0.95), g: (-3.0, 3.0)})


# ---------------------------------------------------------------------------------------
@derivation("momentum", exports=("momentum_ema_update", "heavy_ball_velocity"))
def momentum(d: Derivation) -> None:
    """EMA form (004): M_t = γM_{t−1} + (1 − γ)g_t, W_t = W_{t−1} − ηM_t, M_0 = 0.
    Heavy ball: v_t = μv_{t−1} + g_t, W_t = W_{t−1} − η_hb v_t, v_0 = 0.
    With μ = γ and η_hb = η(1 − γ) the two produce the same iterates (M_t = (1 − γ)v_t).
    """
    m, g, v, W = d.symbols("m g v W", real=True)
    gamma, mu, eta = d.symbols("gamma mu eta", positive=True)
    M, V = sp.IndexedBase("M"), sp.IndexedBase("v")
    tt = sp.Symbol("t", integer=True, positive=True)
    d.assume("0 ≤ γ < 1 and 0 ≤ μ < 1; M_0 = v_0 = 0")
    d.convention("the EMA form weights the OLD average by γ and the new gradient by 1 − γ "
                 "(004 eq. B.18)")

    d.define("EMA momentum (004 eq. B.18)", _ema(m, g, gamma), lhs=M[tt],
             why="m stands for M_{t−1} and g for g_t = ∇J(W_{t−1})")
    d.conclude("momentum_ema_update", gamma * m + (1 - gamma) * g, [m, g, gamma],
               why="EMA momentum M_t = γM_{t−1} + (1 − γ)g_t; the step is W_t = W_{t−1} − η·M_t")
    d.define("heavy-ball velocity", mu * v + g, lhs=V[tt],
             why="Polyak's form; v stands for v_{t−1}")
    d.conclude("heavy_ball_velocity", mu * v + g, [v, g, mu],
               why="heavy-ball velocity v_t = μv_{t−1} + g_t; the step is W_t = W_{t−1} − η_hb·v_t")

    d.define("invariant: EMA step from M_{t−1} = (1 − γ)v_{t−1}",
             _ema((1 - gamma) * v, g, gamma), lhs=M[tt], why="assume it holds at t − 1")
    d.rewrite("factor (1 − γ)", (1 - gamma) * (gamma * v + g),
              why="= (1 − γ)·v_t with μ = γ; true at t = 0 since M_0 = v_0 = 0, so by induction")
    heavy_ball = (mu * v + g).subs(mu, gamma)
    d.define("the weight update", W - eta * (1 - gamma) * (gamma * v + g), lhs=W - eta * M[tt])
    d.rewrite("the heavy-ball update with μ = γ and η_hb = η(1 − γ)",
              W - (eta * (1 - gamma)) * heavy_ball,
              why="same iterate, hence the same next gradient ∇J(W_t)")

    def iterates(T):
        gs = sp.symbols(f"g_1:{T + 1}", real=True)
        w_ema = w_hb = W
        m_ema = v_hb = sp.Integer(0)
        for k in range(T):
            m_ema = _ema(m_ema, gs[k], gamma)
            w_ema = w_ema - eta * m_ema
            v_hb = gamma * v_hb + gs[k]
            w_hb = w_hb - eta * (1 - gamma) * v_hb
        return w_ema, w_hb

    d.prove_for_sizes("EMA iterates equal heavy-ball iterates (μ = γ, η_hb = η(1 − γ))",
                      sp.Eq(sp.Symbol("W_T^{EMA}"), sp.Symbol("W_T^{HB}")), iterates,
                      sizes=(1, 2, 3, 4, 5),
                      why="T = 1, …, 5 steps with symbolic gradients g_1, …, g_T")

    d.erratum(
        "momentum-definition-words", source="004 B.1.1.5, Definition 7",
        stated="in words that γ_t is the weight of the NEW gradient and 1 − γ_t the scale of "
               "the old average, i.e. M_t = (1 − γ)M_{t−1} + γg_t",
        correct="the formula printed right below the words (and eq. B.18): the old average "
                "is scaled by γ and the new gradient by 1 − γ, M_t = γM_{t−1} + (1 − γ)g_t",
        stated_expr=(1 - gamma) * m + gamma * g, correct_expr=gamma * m + (1 - gamma) * g,
        witness={gamma: sp.Rational(9, 10), m: 0, g: 1})

    # float64: EMA momentum (SymPy, exact) against a NumPy heavy-ball loop with feedback on
    # the quadratic J(W) = a W²/2 (gradient a·W), five steps.
    a = d.symbol("a", positive=True)
    w_sym, m_sym = W, sp.Integer(0)
    for _ in range(5):
        m_sym = _ema(m_sym, a * w_sym, gamma)
        w_sym = w_sym - eta * m_sym

    def heavy_ball_loop(W, a, eta, gamma):
        w, vel = W, 0.0
        for _ in range(5):
            vel = gamma * vel + a * w
            w = w - eta * (1 - gamma) * vel
        return w

    d.crosscheck("W_5 of EMA momentum on J = aW²/2 against a float64 heavy-ball loop",
                 w_sym, heavy_ball_loop,
                 at={W: (-2.0, 2.0), a: (0.1, 3.0), eta: (0.01, 0.5), gamma: (0.0, 0.95)})


# ---------------------------------------------------------------------------------------
@derivation("adagrad", exports=("adagrad_accumulate", "adagrad_step"))
def adagrad(d: Derivation) -> None:
    """s_t = s_{t−1} + g_t², θ_t = θ_{t−1} − η g_t/(√s_t + ε), elementwise, s_0 = 0.

    ε sits OUTSIDE the square root (Duchi et al. 2011). For a constant gradient g ≠ 0,
    s_t = t g² and the step is η g/(√t |g| + ε): it shrinks like 1/√t (004 B.1.3 names
    this as Adagrad's weakness).
    """
    s = d.symbol("s", nonnegative=True)
    g = d.symbol("g", real=True, nonzero=True)
    eta, eps = d.symbols("eta eps", positive=True)
    t = d.symbol("t", integer=True, positive=True)
    d.assume("004 B.1.3: Adagrad sums the squared gradients instead of averaging them")
    d.convention("adagrad_step is the signed increment: θ ← θ + adagrad_step(g, s, η, ε), "
                 "with s already including g_t²; ε is added outside √s")

    d.define("accumulate", s + g**2, lhs=sp.Symbol("s_t"), why="s stands for s_{t−1}")
    d.conclude("adagrad_accumulate", s + g**2, [s, g],
               why="Adagrad's running sum of squared gradients, s_t = s_{t−1} + g_t²")
    d.define("step", -eta * g / (sp.sqrt(s) + eps), lhs=_THETA[_T] - _THETA[_T - 1])
    d.conclude("adagrad_step", -eta * g / (sp.sqrt(s) + eps), [g, s, eta, eps],
               why="Adagrad increment Δθ = −η·g/(√s + ε), added to θ; s includes g_t²")

    def accumulate(m):
        acc = sp.Integer(0)
        for _ in range(m):
            acc = acc + g**2
        return acc, m * g**2

    d.prove_for_sizes("constant gradient: s_t = t·g²", sp.Eq(sp.Symbol("s_t"), t * g**2),
                      accumulate, sizes=(1, 2, 3, 4, 5), why="t = 1, …, 5 accumulations")
    d.prove("… and for every t (induction step)", t * g**2 + g**2, (t + 1) * g**2)
    step_t = eta * g / (sp.sqrt(t * g**2) + eps)
    d.define("constant-gradient step at time t", step_t, lhs=sp.Symbol("step_t"),
             why="the size of the move, step_t = −Δθ_t, after t equal gradients")
    d.rewrite("√(t g²) = √t·|g|", eta * g / (sp.sqrt(t) * sp.Abs(g) + eps))
    d.apply("√t × step as t → ∞", sp.Limit(sp.sqrt(t) * step_t, t, sp.oo),
            lhs=sp.Limit(sp.sqrt(t) * sp.Symbol("step_t"), t, sp.oo))
    d.rewrite("= η·sign(g): the step decays like η/√t", eta * sp.sign(g))

    def numpy_adagrad(g, eta, eps):
        import numpy as np

        acc = 0.0
        for _ in range(7):
            acc += g * g
        return eta * g / (np.sqrt(acc) + eps)

    d.crosscheck("step after 7 constant gradients against a float64 loop",
                 step_t.subs(t, 7), numpy_adagrad,
                 at={g: (-3.0, 3.0), eta: (0.01, 1.0), eps: (1e-8, 1e-2)})


# ---------------------------------------------------------------------------------------
@derivation("rmsprop", exports=("rmsprop_accumulate", "rmsprop_step"))
def rmsprop(d: Derivation) -> None:
    """s_t = γs_{t−1} + (1 − γ)g_t², θ_t = θ_{t−1} − η g_t/√(s_t + ε), s_0 = 0.

    This is the rule 004 B.1.2 derives and names "Adadelta"; it is RMSprop (Tieleman &
    Hinton 2012). ε sits INSIDE the square root, as 004 eq. B.26 writes it. For a constant
    gradient the step tends to η g/√(g² + ε) and does not shrink (contrast adagrad).
    """
    s = d.symbol("s", nonnegative=True)
    g = d.symbol("g", real=True, nonzero=True)
    gamma, eta, eps = d.symbols("gamma eta eps", positive=True)
    r = d.symbol("r", positive=True)
    t = d.symbol("t", integer=True, positive=True)
    d.assume("0 < γ < 1; s_0 = 0")
    d.convention("rmsprop_step is the signed increment: θ ← θ + rmsprop_step(g, s, η, ε), "
                 "s already updated with g_t; ε inside the square root (004 eq. B.26)")

    d.define("accumulate (004 B.1.2.3)", _ema(s, g**2, gamma), lhs=sp.Symbol("s_t"),
             why="a moving average of g² (ema-unroll with g² as input)")
    d.conclude("rmsprop_accumulate", gamma * s + (1 - gamma) * g**2, [s, g, gamma],
               why="RMSprop's moving average of squared gradients, s_t = γs_{t−1} + (1 − γ)g_t²")
    d.define("per-weight step (004 eq. B.26)", -eta / sp.sqrt(s + eps) * g,
             lhs=_THETA[_T] - _THETA[_T - 1])
    d.conclude("rmsprop_step", -eta * g / sp.sqrt(s + eps), [g, s, eta, eps],
               why="RMSprop increment Δθ = −η·g/√(s + ε) (ε inside the root), added to θ")

    def accumulate(m):
        acc = sp.Integer(0)
        for _ in range(m):
            acc = _ema(acc, g**2, gamma)
        return acc, (1 - gamma**m) * g**2

    d.prove_for_sizes("constant gradient: s_t = (1 − γ^t)g²",
                      sp.Eq(sp.Symbol("s_t"), (1 - gamma**t) * g**2), accumulate,
                      sizes=(1, 2, 3, 4, 5), why="ema-bias-correction with input g²")
    step_t = eta * g / sp.sqrt((1 - gamma**t) * g**2 + eps)
    d.define("constant-gradient step at time t", step_t, lhs=sp.Symbol("step_t"),
             why="the size of the move, step_t = −Δθ_t, after t equal gradients")
    d.apply("t → ∞, writing γ = 1/(1 + r) with r > 0",
            sp.Limit(step_t.subs(gamma, 1 / (1 + r)), t, sp.oo),
            lhs=sp.Limit(sp.Symbol("step_t"), t, sp.oo), why="γ^t → 0 for 0 < γ < 1")
    d.rewrite("a non-vanishing step, ≈ η·sign(g) when ε is small next to g²",
              eta * g / sp.sqrt(g**2 + eps))

    gs = sp.symbols("g_1:5", real=True)
    acc = sp.Integer(0)
    for gk in gs:
        acc = gamma * acc + (1 - gamma) * gk**2
    composed = -eta * gs[-1] / sp.sqrt(acc + eps)  # rmsprop_step after 4 accumulations

    def numpy_rmsprop(gamma, eta, eps, **kw):
        import numpy as np

        acc = 0.0
        for k in range(1, 5):
            acc = gamma * acc + (1 - gamma) * kw[f"g_{k}"] ** 2
        return -eta * kw["g_4"] / np.sqrt(acc + eps)

    d.crosscheck("4th step from the concluded kernels against a float64 loop", composed,
                 numpy_rmsprop, at={gamma: (0.5, 0.99), eta: (0.01, 1.0),
                                    eps: (1e-8, 1e-2), **{x: (-3.0, 3.0) for x in gs}})


# ---------------------------------------------------------------------------------------
@derivation("adadelta",
            exports=("adadelta_accumulate_grad", "adadelta_step", "adadelta_accumulate_delta"))
def adadelta(d: Derivation) -> None:
    """Zeiler's Adadelta, elementwise, with decay γ (Zeiler's ρ) and s_0 = d_0 = 0:

        s_t = γ s_{t−1} + (1 − γ) g_t²                 adadelta_accumulate_grad(s, g, γ)
        Δ_t = −√(d_{t−1} + ε)/√(s_t + ε) · g_t          adadelta_step(g, s, d, ε)
        θ_t = θ_{t−1} + Δ_t
        d_t = γ d_{t−1} + (1 − γ) Δ_t²                  adadelta_accumulate_delta(d, Δ, γ)

    ε inside both square roots. 004 B.1.2 gives the name "Adadelta" to the one-accumulator
    rule η g/√(s + ε), which is RMSprop (erratum recorded here).
    """
    s, dd = d.symbol("s", nonnegative=True), d.symbol("d", nonnegative=True)
    g, delta = d.symbols("g delta", real=True)
    gamma, eps, eta, k = d.symbols("gamma eps eta k", positive=True)
    d.assume("0 < γ < 1 (Zeiler's ρ); s_0 = d_0 = 0")
    d.convention("adadelta_step returns the signed increment Δ (θ ← θ + Δ), as in Zeiler's "
                 "Algorithm 1; s is already updated with g_t, d is still d_{t−1}")
    d.convention("order of one step: s ← adadelta_accumulate_grad(s, g, γ) (the same map as "
                 "rmsprop_accumulate); Δ ← adadelta_step(g, s, d, ε); θ ← θ + Δ; "
                 "d ← adadelta_accumulate_delta(d, Δ, γ)")

    d.define("accumulate squared gradients", _ema(s, g**2, gamma), lhs=sp.Symbol("s_t"))
    d.conclude("adadelta_accumulate_grad", gamma * s + (1 - gamma) * g**2, [s, g, gamma],
               why="Adadelta's first accumulator s_t = γs_{t−1} + (1 − γ)g_t²")

    def step(g_, s_, d_, e_):
        return -sp.sqrt(d_ + e_) / sp.sqrt(s_ + e_) * g_

    d.define("the step: ratio of RMS of past steps to RMS of gradients", step(g, s, dd, eps),
             lhs=sp.Symbol("Delta_t"), why="RMS[y] = √(E[y²] + ε)")
    d.conclude("adadelta_step", -g * sp.sqrt(dd + eps) / sp.sqrt(s + eps), [g, s, dd, eps],
               why="Adadelta increment Δ = −√(d + ε)/√(s + ε)·g, ADDED to θ (no learning rate)")
    d.define("accumulate squared steps", _ema(dd, delta**2, gamma), lhs=sp.Symbol("d_t"))
    d.conclude("adadelta_accumulate_delta", gamma * dd + (1 - gamma) * delta**2,
               [dd, delta, gamma],
               why="Adadelta's second accumulator d_t = γd_{t−1} + (1 − γ)Δ_t²")

    # units: rescaling the parameter θ → kθ divides g by k, s by k², multiplies d by k²
    d.prove("with ε = 0 the step is in the units of θ: θ → kθ scales Δ by k",
            step(g / k, s / k**2, k**2 * dd, 0), k * step(g, s, dd, 0),
            why="Zeiler's motivation for the second accumulator (s, d > 0)")
    d.prove("… while the one-accumulator rule η g/√s is unit-free",
            eta * (g / k) / sp.sqrt(s / k**2), eta * g / sp.sqrt(s),
            why="so its η must carry the units of θ")
    d.define("first step (d_0 = 0, s_1 = (1 − γ)g²)", step(g, (1 - gamma) * g**2, 0, eps),
             lhs=sp.Symbol("Delta_1"))
    d.rewrite("of order √ε", -sp.sqrt(eps) * g / sp.sqrt((1 - gamma) * g**2 + eps),
              why="Zeiler's steps start small and grow as d accumulates")

    witness = {eta: 1, g: 1, s: sp.Rational(1, 10), dd: 0, eps: sp.Rational(1, 10**6)}
    d.erratum(
        "adadelta-is-rmsprop", source="004 B.1.2, eq. B.26 and Definition 11",
        stated="that Adadelta is the step η·g/√(G + ε) with a single running average G of "
               "squared gradients",
        correct="that rule is RMSprop (Tieleman & Hinton 2012); Adadelta (Zeiler 2012) has "
                "no learning rate and a second running average d of squared steps: "
                "Δ = −√(d + ε)/√(G + ε)·g, then d ← γd + (1 − γ)Δ² (signs: both as "
                "increments to θ)",
        stated_expr=-eta * g / sp.sqrt(s + eps), correct_expr=step(g, s, dd, eps),
        witness=witness)

    gs = sp.symbols("g_1:5", real=True)
    acc_s, acc_d = sp.Integer(0), sp.Integer(0)
    total = sp.Integer(0)
    for gk in gs:
        acc_s = gamma * acc_s + (1 - gamma) * gk**2
        inc = -gk * sp.sqrt(acc_d + eps) / sp.sqrt(acc_s + eps)
        total += inc
        acc_d = gamma * acc_d + (1 - gamma) * inc**2

    def zeiler_algorithm_1(gamma, eps, **kw):
        import numpy as np

        eg2 = edx2 = 0.0
        x = 0.0
        for k in range(1, 5):
            gk = kw[f"g_{k}"]
            eg2 = gamma * eg2 + (1 - gamma) * gk * gk
            dx = -np.sqrt(edx2 + eps) / np.sqrt(eg2 + eps) * gk
            edx2 = gamma * edx2 + (1 - gamma) * dx * dx
            x += dx
        return x

    d.crosscheck("4 steps of the concluded kernels against Zeiler's Algorithm 1 in float64",
                 total, zeiler_algorithm_1,
                 at={gamma: (0.5, 0.99), eps: (1e-6, 1e-2), **{x: (-3.0, 3.0) for x in gs}})


# ---------------------------------------------------------------------------------------
@derivation("adam", exports=("adam_first_moment", "adam_second_moment", "adam_step"))
def adam(d: Derivation) -> None:
    """m_t = β₁m_{t−1} + (1 − β₁)g_t, v_t = β₂v_{t−1} + (1 − β₂)g_t², m_0 = v_0 = 0,
    m̂_t = m_t/(1 − β₁^t), v̂_t = v_t/(1 − β₂^t), θ_t = θ_{t−1} − η m̂_t/(√v̂_t + ε).

    ε OUTSIDE the square root (004 Definition 16, Kingma & Ba). First step: m̂_1 = g,
    v̂_1 = g², so the step is η g/(|g| + ε) → η·sign(g) as ε → 0, whatever β₁, β₂.
    """
    m, g = d.symbols("m g", real=True)
    v = d.symbol("v", nonnegative=True)
    beta1, beta2, eta, eps = d.symbols("beta1 beta2 eta eps", positive=True)
    t = d.symbol("t", integer=True, positive=True)
    gnz = d.symbol("g_1", real=True, nonzero=True)
    d.assume("0 < β₁, β₂ < 1; m_0 = v_0 = 0; t ≥ 1 counts steps")
    d.convention("adam_step returns the signed increment: θ ← θ + adam_step(m, v, t, η, β₁, "
                 "β₂, ε), with m, v already updated with g_t; ε outside the square root")

    d.define("first moment (004 eq. B.28)", _ema(m, g, beta1), lhs=sp.Symbol("m_t"))
    d.conclude("adam_first_moment", beta1 * m + (1 - beta1) * g, [m, g, beta1],
               why="Adam's first moment m_t = β₁m_{t−1} + (1 − β₁)g_t")
    d.define("second moment (004 eq. B.29)", _ema(v, g**2, beta2), lhs=sp.Symbol("v_t"))
    d.conclude("adam_second_moment", beta2 * v + (1 - beta2) * g**2, [v, g, beta2],
               why="Adam's second moment v_t = β₂v_{t−1} + (1 − β₂)g_t²")

    def increment(m_, v_, t_, e_=eps):
        mhat = m_ / (1 - beta1**t_)
        vhat = v_ / (1 - beta2**t_)
        return -eta * mhat / (sp.sqrt(vhat) + e_)

    d.define("update with bias correction (004 eq. B.36, Definition 16)", increment(m, v, t),
             lhs=_THETA[_T] - _THETA[_T - 1],
             why="ema-bias-correction applied to both moments")
    d.conclude("adam_step", -eta * m / ((1 - beta1**t) * (sp.sqrt(v / (1 - beta2**t)) + eps)),
               [m, v, t, eta, beta1, beta2, eps],
               why="Adam increment −η·m̂/(√v̂ + ε) with bias correction, ADDED to θ")

    m1 = (1 - beta1) * gnz
    v1 = (1 - beta2) * gnz**2
    d.prove("first step: m̂_1 = g", sp.Mul(m1, sp.Pow(1 - beta1, -1, evaluate=False),
                                           evaluate=False), gnz, why="m_1 = (1 − β₁)g_1")
    d.prove("first step: v̂_1 = g²", sp.Mul(v1, sp.Pow(1 - beta2, -1, evaluate=False),
                                            evaluate=False), gnz**2, why="v_1 = (1 − β₂)g_1²")
    d.define("first-step magnitude", -increment(m1, v1, 1), lhs=_THETA[0] - _THETA[1],
             why="with m̂_1 = g and v̂_1 = g² the factors (1 − β₁), (1 − β₂) cancel, "
                 "and √(g²) = |g|")
    d.rewrite("independent of β₁, β₂", eta * gnz / (sp.Abs(gnz) + eps))
    d.apply("ε → 0⁺", lambda e: sp.limit(e, eps, 0, "+"),
            lhs=sp.Limit(_THETA[0] - _THETA[1], eps, 0, "+"))
    d.rewrite("a step of exactly η in the direction of −sign(g) per coordinate",
              eta * sp.sign(gnz))
    d.prove("for ε > 0 the first step is shorter than η by", eta - eta * sp.Abs(gnz)
            / (sp.Abs(gnz) + eps), eta * eps / (sp.Abs(gnz) + eps))

    def moments(T):
        mm, vv = sp.Integer(0), sp.Integer(0)
        for _ in range(T):
            mm, vv = _ema(mm, gnz, beta1), _ema(vv, gnz**2, beta2)
        return sp.Matrix([mm, vv]), sp.Matrix([(1 - beta1**T) * gnz, (1 - beta2**T) * gnz**2])

    d.prove_for_sizes("constant gradient: m_t = (1 − β₁^t)g, v_t = (1 − β₂^t)g²",
                      sp.Eq(sp.Matrix([sp.Symbol("m_t"), sp.Symbol("v_t")]),
                            sp.Matrix([(1 - beta1**t) * gnz, (1 - beta2**t) * gnz**2])),
                      moments, sizes=(1, 2, 3, 4, 5),
                      why="ema-bias-correction (proved there for every t by induction)")
    d.define("constant gradient: the step at any t",
             increment((1 - beta1**t) * gnz, (1 - beta2**t) * gnz**2, t),
             lhs=_THETA[_T] - _THETA[_T - 1], why="m̂_t = g and v̂_t = g² for every t")
    d.rewrite("every step equals the first", -eta * gnz / (sp.Abs(gnz) + eps))

    gs = sp.symbols("g_1:4", real=True)
    mm, vv, theta = sp.Integer(0), sp.Integer(0), sp.Integer(0)
    for k, gk in enumerate(gs, start=1):
        mm, vv = _ema(mm, gk, beta1), _ema(vv, gk**2, beta2)
        theta += increment(mm, vv, k)

    def numpy_adam(beta1, beta2, eta, eps, **kw):
        import numpy as np

        m_, v_, x = 0.0, 0.0, 0.0
        for k in range(1, 4):
            gk = kw[f"g_{k}"]
            m_ = beta1 * m_ + (1 - beta1) * gk
            v_ = beta2 * v_ + (1 - beta2) * gk * gk
            x -= eta * (m_ / (1 - beta1**k)) / (np.sqrt(v_ / (1 - beta2**k)) + eps)
        return x

    d.crosscheck("three Adam steps against a float64 loop (Kingma & Ba, Algorithm 1)", theta,
                 numpy_adam, at={beta1: (0.5, 0.95), beta2: (0.9, 0.9999), eta: (1e-3, 0.1),
                                 eps: (1e-8, 1e-3), **{x: (-3.0, 3.0) for x in gs}})
