"""Claims of catalog section 13: optimisers beyond the seeds (Kingma & Ba 2015, Loshchilov &
Hutter 2019, Sutskever et al. 2013).

Every experiment runs numeric's optimisers (numeric/optim.py, whose algebra is the
generated kernels); exact values come from derive/optimizers_modern.py.
"""
from __future__ import annotations

from ..stats.assertions import Exact
from . import Context, claim


def _adam_step_on_attaining_sequence(ctx: Context, beta1, beta2, steps: int):
    """|Δθ_T|/α of numeric's Adam (ε = 0, α = 1) fed the gradients g_s = (β₁/β₂)^(T−s)
    of derive's attaining sequence, s = 1, …, T."""
    def compute():
        import numpy as np
        import sympy as sp

        from numeric.optim import Adam
        expr = ctx.exact_expr("adam-step-bound", "attaining_gradient", beta1=beta1,
                              beta2=beta2, t=steps)
        (s,) = expr.free_symbols
        grad = sp.lambdify(s, expr, "numpy")
        theta = np.zeros(1)
        opt = Adam({"theta": theta}, lr=1.0, beta1=float(beta1), beta2=float(beta2), eps=0.0)
        before = 0.0
        for k in range(1, steps + 1):
            before = float(theta[0])
            opt.step({"theta": np.array([float(grad(k))])})
        return abs(float(theta[0]) - before)
    return compute


@claim("adam-step-bound", derivations=("adam-step-bound",))
def adam_step_reaches_its_supremum(ctx: Context) -> list:
    """On the sequence g_s = (β₁/β₂)^(T−s), numeric's Adam (ε = 0) takes the step
    α·B_T, B_T = (1 − β₁)/√(1 − β₂)·√(Σ_{k<T}(β₁²/β₂)^k)·√(1 − β₂^T)/(1 − β₁^T), the
    supremum over all gradient sequences (7.27α in the limit at the default β's). Foils:
    Kingma & Ba §2.1's bounds read as suprema: |Δ| ≤ α, and |Δ| ≤ α(1 − β₁)/√(1 − β₂)
    (the single-spike step, with its bias correction at T)."""
    import sympy as sp
    out = []
    # β's as 40-digit Floats: exact rationals raised to the power T make SymPy's square
    # roots of huge integers slow; 40 digits carry the 30-digit evaluation
    settings = [(sp.Float("0.9", 40), sp.Float("0.999", 40), 1000)]
    if not ctx.quick:
        settings.append((sp.Float("0.5", 40), sp.Float("0.9", 40), 60))
    for b1, b2, steps in settings:
        subs = {"beta1": b1, "beta2": b2, "t": steps}
        exact = ctx.exact("adam-step-bound", "step_bound", **subs)
        spike = ctx.exact("adam-step-bound", "spike_ratio", **subs)
        compute = _adam_step_on_attaining_sequence(ctx, b1, b2, steps)
        where = f"β₁ = {float(b1):g}, β₂ = {float(b2):g}, step T = {steps}"
        out.append(Exact(f"|Δθ_T|/α on the attaining sequence, {where}", exact, 1.0, compute,
                         tol=1e-9, foil_name="Kingma & Ba §2.1 read as |Δ| ≤ α"))
        out.append(Exact(f"|Δθ_T|/α against the single-spike step, {where}", exact, spike,
                         compute, tol=1e-9,
                         foil_name="the single-spike step α(1 − β₁)/√(1 − β₂) as supremum"))
    return out


# quadratic J(θ) = ½Σ a_i θ_i² with gradient scales four orders of magnitude apart
_SCALES, _THETA0, _LR, _WD, _EPS, _STEPS = (100.0, 0.01), (1.0, 1.0), 0.01, 0.1, 1e-8, 25


def _derived_trajectory(ctx: Context, coupled: bool):
    """θ after _STEPS steps iterated in float64 from derive's formulas: adam's moment
    updates and adamw-vs-l2's one-step increments (Adam with L2, or AdamW)."""
    import numpy as np
    import sympy as sp

    def fn(slug, name):
        expr = ctx.exact_expr(slug, name)
        syms = sorted(expr.free_symbols, key=lambda s: s.name)
        f = sp.lambdify(syms, expr, "numpy")
        return lambda **kw: f(*[kw[s.name] for s in syms])

    step = fn("adamw-vs-l2", "adam_l2_step")
    first, second = fn("adam", "adam_first_moment"), fn("adam", "adam_second_moment")
    decoupled = fn("adamw-vs-l2", "adamw_step")
    a, theta = np.array(_SCALES), np.array(_THETA0)
    m, v = np.zeros(2), np.zeros(2)
    common = {"eta": _LR, "lambda": _WD, "beta1": 0.9, "beta2": 0.999, "eps": _EPS}
    for t in range(1, _STEPS + 1):
        g = a * theta
        if coupled:
            inc = step(m=m, v=v, g=g, theta=theta, t=t, **common)
            gl = g + _WD * theta
            m, v = first(m=m, g=gl, beta1=0.9), second(v=v, g=gl, beta2=0.999)
        else:
            m, v = first(m=m, g=g, beta1=0.9), second(v=v, g=g, beta2=0.999)
            inc = decoupled(m_new=m, v_new=v, theta=theta, t=t, **common)
        theta = theta + inc
    return theta


def _numeric_trajectory(decoupled: bool):
    def compute():
        import numpy as np

        from numeric.optim import Adam, AdamW
        a, theta = np.array(_SCALES), np.array(_THETA0)
        cls = AdamW if decoupled else Adam
        opt = cls({"theta": theta}, lr=_LR, eps=_EPS, weight_decay=_WD)
        for _ in range(_STEPS):
            opt.step({"theta": a * theta})
        return theta.copy()
    return compute


@claim("adamw-vs-l2", derivations=("adamw-vs-l2", "adam"))
def adamw_is_not_adam_with_l2(ctx: Context) -> list:
    """On J(θ) = ½(100θ₁² + 0.01θ₂²) from θ = (1, 1), λ = 0.1, η = 0.01, 25 steps:
    numeric's AdamW follows derive's decoupled update and numeric's Adam(weight_decay=λ)
    follows derive's Adam-with-L2 update (each iterated in float64 from the derived
    formulas). Foil: identical trajectories (each optimiser's result taken for the other's),
    the mistake of treating weight_decay in Adam as AdamW's decay."""
    l2 = _derived_trajectory(ctx, coupled=True)
    w = _derived_trajectory(ctx, coupled=False)
    return [
        Exact(f"AdamW θ after {_STEPS} steps (2 coordinates)", w, l2,
              _numeric_trajectory(decoupled=True), tol=1e-9,
              foil_name="identical to Adam with L2"),
        Exact(f"Adam with L2 (coupled weight_decay) θ after {_STEPS} steps", l2, w,
              _numeric_trajectory(decoupled=False), tol=1e-9,
              foil_name="identical to AdamW"),
    ]
