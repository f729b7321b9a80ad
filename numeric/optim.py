"""Optimisers (catalog section 8; 004 B.1): update rules are generated kernels.

An optimiser holds references to the parameter arrays (``model.params``) and updates them
in place: ``opt.step(model.grads)``. Hyper-parameter names follow the derivations:

* SGD: θ ← θ − η(g + λθ); ``weight_decay`` λ is the coupled L2 form (the gradient of
  (λ/2)‖θ‖², catalog l2-gradient).
* Momentum, ``form="ema"`` (004 Definition 7): M ← γM + (1 − γ)g, θ ← θ − ηM;
  ``form="heavy_ball"``: v ← μv + g, θ ← θ − ηv (the two agree with η_hb = η(1 − γ)).
* Adagrad: s ← s + g², θ ← θ + adagrad_step(g, s, η, ε) = θ − ηg/(√s + ε).
* RMSProp: s ← γs + (1 − γ)g², θ ← θ + rmsprop_step(g, s, η, ε) = θ − ηg/√(s + ε)
  (ε inside the root, as derived in catalog rmsprop).
* Adadelta (Zeiler 2012, not 004's rule of that name, which is RMSProp): s ← γs + (1 − γ)g²,
  Δ = adadelta_step(g, s, d, ε) (= −√(d+ε)/√(s+ε)·g, no learning rate), θ ← θ + lr·Δ,
  d ← γd + (1 − γ)Δ² with the UNSCALED Δ (Zeiler, torch, optax).
* Nesterov (framework form): m ← μm + g, θ ← θ − η(g + μm); AdamW: θ ← θ − η(m̂/(√v̂ + ε)
  + λθ); clip_grad_norm / clip_grad_value (catalog section 13).

Where ε sits, against torch and optax (each class docstring says more): Adagrad outside
√s (torch; optax inside), RMSProp inside √(s + ε) (optax; torch outside), Adam/AdamW
outside √v̂ (torch and optax). Momentum: ``heavy_ball`` is torch's SGD(momentum=μ)
exactly; ``ema`` is SGD(momentum=γ, dampening=γ) except torch's undamped first step.
* Adam: m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², θ ← θ + adam_step(m, v, t, η, β₁, β₂, ε),
  bias-corrected, with ε OUTSIDE the square root: η·m̂/(√v̂ + ε) (Kingma & Ba).

Every ``*_step`` kernel returns the signed increment Δθ (θ ← θ + Δθ), as derived; tests
check that every optimiser decreases a quadratic.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .kernels import kernels as K

__all__ = [
    "OPTIMIZERS",
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Momentum",
    "Nesterov",
    "Optimizer",
    "RMSProp",
    "clip_grad_norm",
    "clip_grad_value",
]


class Optimizer:
    """Base: keeps the parameter arrays and per-parameter state."""

    def __init__(self, params: Mapping[str, np.ndarray], lr: float):
        if not params:
            raise ValueError("optimiser: got no parameters to optimise")
        if not lr > 0:
            raise ValueError(f"optimiser: learning rate must be positive, got {lr}")
        self.params = dict(params)
        self.lr = float(lr)
        self.t = 0
        self.state: dict[str, dict[str, np.ndarray]] = {
            k: {} for k in self.params}

    def _zeros(self, key: str, name: str) -> np.ndarray:
        st = self.state[key]
        if name not in st:
            st[name] = np.zeros_like(self.params[key])
        return st[name]

    def step(self, grads: Mapping[str, np.ndarray]) -> None:
        missing = set(self.params) - set(grads)
        if missing:
            raise ValueError(f"optimiser: no gradient for parameters {sorted(missing)}")
        self.t += 1
        for key, p in self.params.items():
            g = np.asarray(grads[key])
            if g.shape != p.shape:
                raise ValueError(f"optimiser: gradient for {key!r} has shape {g.shape}, "
                                 f"expected {p.shape}")
            self._update(key, p, g)

    def _update(self, key: str, p: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """θ ← θ − η(g + λθ); ``weight_decay`` λ is the gradient of (λ/2)‖θ‖², which for SGD
    is the same as weight decay at rate ηλ (catalog adamw-vs-l2; g + λθ is that row's
    generated kernel l2_coupled_gradient). torch.optim.SGD(lr=η, weight_decay=λ) with
    momentum 0."""

    def __init__(self, params, lr: float = 0.01, weight_decay: float = 0.0):
        super().__init__(params, lr)
        if weight_decay < 0:
            raise ValueError(f"SGD: weight_decay must be >= 0, got {weight_decay}")
        self.weight_decay = float(weight_decay)

    def _update(self, key, p, g):
        if self.weight_decay:
            g = K.l2_coupled_gradient(g, p, self.weight_decay)
        p -= self.lr * g


class Momentum(Optimizer):
    """Momentum (catalog momentum; 004 Definition 7), M_0 = v_0 = 0:

    * ``form="ema"``: M ← γM + (1 − γ)g, θ ← θ − ηM (an exponential moving average);
    * ``form="heavy_ball"``: v ← μv + g, θ ← θ − ηv (Polyak), μ = ``gamma``.

    The two give the same iterates when η_heavy-ball = η_ema·(1 − γ). torch.optim.SGD(lr,
    momentum=μ, dampening=τ) keeps buf ← μ·buf + (1 − τ)g, θ ← θ − lr·buf, but sets
    buf = g (undamped) at its FIRST step. So ``heavy_ball`` is exactly torch's
    SGD(lr=η, momentum=γ) with dampening 0 (optax.sgd(η, momentum=γ) likewise), while
    ``ema`` equals torch's SGD(lr=η, momentum=γ, dampening=γ) from the second step on
    only: torch's first buffer is g where the EMA's is (1 − γ)g, so torch's iterates lead
    by a first step 1/(1 − γ) times larger (10× at γ = 0.9), whose effect then decays
    like γ^t. For Nesterov momentum see ``Nesterov``.
    """

    def __init__(self, params, lr: float = 0.01, gamma: float = 0.9,
                 form: str = "ema"):
        super().__init__(params, lr)
        if form not in ("ema", "heavy_ball"):
            raise ValueError(f"Momentum: form must be 'ema' or 'heavy_ball', got {form!r}")
        if not 0 <= gamma < 1:
            raise ValueError(f"Momentum: gamma must be in [0, 1), got {gamma}")
        self.gamma, self.form = float(gamma), form

    def _update(self, key, p, g):
        m = self._zeros(key, "m")
        if self.form == "ema":
            m[...] = K.momentum_ema_update(m, g, self.gamma)
        else:
            m[...] = K.heavy_ball_velocity(m, g, self.gamma)
        p -= self.lr * m


class Nesterov(Optimizer):
    """Nesterov momentum in the framework form (catalog nesterov; Sutskever et al. 2013):

        m ← μm + g  (nesterov_buffer),   θ ← θ + nesterov_step(g, m, η, μ) = θ − η(g + μm),

    with g the gradient at the current parameters. This is torch.optim.SGD(lr=η,
    momentum=μ, nesterov=True) (dampening must be 0 there) and optax.sgd(η, momentum=μ,
    nesterov=True). Its parameters are the look-ahead points φ_t = θ_t + μv_t of
    Sutskever's form v_t = μv_{t−1} − η∇J(θ_{t−1} + μv_{t−1}), θ_t = θ_{t−1} + v_t (the
    buffer is m = −v/η): both forms evaluate the same gradients.
    """

    def __init__(self, params, lr: float = 0.01, mu: float = 0.9):
        super().__init__(params, lr)
        if not 0 <= mu < 1:
            raise ValueError(f"Nesterov: mu must be in [0, 1), got {mu}")
        self.mu = float(mu)

    def _update(self, key, p, g):
        m = self._zeros(key, "m")
        m[...] = K.nesterov_buffer(m, g, self.mu)
        p += K.nesterov_step(g, m, self.lr, self.mu)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011; catalog adagrad): s ← s + g², θ ← θ − ηg/(√s + ε).

    ε OUTSIDE the root, s_0 = 0: as torch.optim.Adagrad (std = state_sum.sqrt() + eps,
    initial_accumulator_value 0). optax.adagrad puts ε INSIDE, g/√(s + ε), and starts s
    at initial_accumulator_value = 0.1, so its first steps are shorter.
    """

    def __init__(self, params, lr: float = 0.01, eps: float = 1e-8):
        super().__init__(params, lr)
        self.eps = float(eps)

    def _update(self, key, p, g):
        s = self._zeros(key, "s")
        s[...] = K.adagrad_accumulate(s, g)
        p += K.adagrad_step(g, s, self.lr, self.eps)


class RMSProp(Optimizer):
    """RMSprop (Tieleman & Hinton 2012; 004's "Adadelta"; catalog rmsprop):
    s ← γs + (1 − γ)g², θ ← θ − ηg/√(s + ε).

    ε INSIDE the root, as derived from 004 eq. B.26 and as optax.rmsprop (g/√(ν + ε)).
    torch.optim.RMSprop puts it OUTSIDE, g/(√s + ε), and defaults to γ = α = 0.99; the two
    placements differ noticeably only where s is comparable to ε (or ε² for torch).
    """

    def __init__(self, params, lr: float = 0.001, gamma: float = 0.9, eps: float = 1e-8):
        super().__init__(params, lr)
        self.gamma, self.eps = float(gamma), float(eps)

    def _update(self, key, p, g):
        s = self._zeros(key, "s")
        s[...] = K.rmsprop_accumulate(s, g, self.gamma)
        p += K.rmsprop_step(g, s, self.lr, self.eps)


class Adadelta(Optimizer):
    """Zeiler's Adadelta (2012, Algorithm 1; catalog adadelta), ε inside both roots:

        s ← γs + (1 − γ)g²,  Δ = adadelta_step(g, s, d, ε) = −√(d + ε)/√(s + ε)·g,
        d ← γd + (1 − γ)Δ²,  θ ← θ + lr·Δ.

    ``lr`` multiplies only the applied step (1.0 is Zeiler's rule): the accumulator d
    collects the UNSCALED Δ, as in Zeiler's algorithm, torch.optim.Adadelta (lr scales
    ``param.add_(delta, alpha=-lr)`` after ``acc_delta`` is updated with the unscaled
    delta) and optax.adadelta (scale_by_adadelta, then the learning rate). Before this
    was fixed, d collected lr·Δ, so any lr ≠ 1 changed the algorithm, not just its step.
    Defaults γ = 0.95, ε = 1e-6 (Zeiler's; torch uses ρ = 0.9).
    """

    def __init__(self, params, lr: float = 1.0, gamma: float = 0.95, eps: float = 1e-6):
        super().__init__(params, lr)
        self.gamma, self.eps = float(gamma), float(eps)

    def _update(self, key, p, g):
        s, d = self._zeros(key, "s"), self._zeros(key, "d")
        s[...] = K.adadelta_accumulate_grad(s, g, self.gamma)
        delta = K.adadelta_step(g, s, d, self.eps)
        p += self.lr * delta
        d[...] = K.adadelta_accumulate_delta(d, delta, self.gamma)


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015, Algorithm 1; catalog adam):

        m ← β₁m + (1 − β₁)g,  v ← β₂v + (1 − β₂)g²,  θ ← θ − η·m̂/(√v̂ + ε),
        m̂ = m/(1 − β₁^t),  v̂ = v/(1 − β₂^t).

    ε is added OUTSIDE the square root of the bias-corrected v̂, as in torch.optim.Adam and
    optax.adam (whose extra ``eps_root`` inside the root defaults to 0).
    ``weight_decay`` λ is the COUPLED L2 form (torch.optim.Adam's weight_decay): the
    gradient g + λθ (kernel l2_coupled_gradient) enters m and v, so the decay is rescaled
    per coordinate by 1/(√v̂ + ε) — not weight decay; for that use ``AdamW``
    (catalog adamw-vs-l2).
    """

    def __init__(self, params, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, lr)
        for name, b in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= b < 1:
                raise ValueError(f"{type(self).__name__}: {name} must be in [0, 1), got {b}")
        if not 0 <= eps < float("inf"):
            raise ValueError(f"{type(self).__name__}: eps must be >= 0, got {eps}")
        if not 0 <= weight_decay < float("inf"):
            raise ValueError(f"{type(self).__name__}: weight_decay must be >= 0, got "
                             f"{weight_decay}")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.weight_decay = float(weight_decay)

    def _moments(self, key, g):
        m, v = self._zeros(key, "m"), self._zeros(key, "v")
        m[...] = K.adam_first_moment(m, g, self.beta1)
        v[...] = K.adam_second_moment(v, g, self.beta2)
        return m, v

    def _update(self, key, p, g):
        if self.weight_decay:
            g = K.l2_coupled_gradient(g, p, self.weight_decay)
        m, v = self._moments(key, g)
        p += K.adam_step(m, v, self.t, self.lr, self.beta1, self.beta2, self.eps)


class AdamW(Adam):
    """AdamW, decoupled weight decay (Loshchilov & Hutter 2019; catalog adamw-vs-l2):

        m ← β₁m + (1 − β₁)g,  v ← β₂v + (1 − β₂)g²   (g alone: no λθ in the moments)
        θ ← θ + adamw_step(m, v, θ, t, η, β₁, β₂, ε, λ) = θ − η(m̂/(√v̂ + ε) + λθ).

    Every coordinate decays by ηλθ per step: the decay is multiplied by the learning rate,
    as in torch.optim.AdamW and optax.adamw (default λ = 0.01 as torch; optax uses 1e-4).
    Loshchilov & Hutter's Algorithm 2 scales the decay by the schedule factor η_t instead of
    by α. ε sits outside the root, as in Adam.
    """

    def __init__(self, params, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.01):
        super().__init__(params, lr, beta1, beta2, eps, weight_decay)

    def _update(self, key, p, g):
        m, v = self._moments(key, g)
        p += K.adamw_step(m, v, p, self.t, self.lr, self.beta1, self.beta2, self.eps,
                          self.weight_decay)


def clip_grad_norm(grads: Mapping[str, np.ndarray], max_norm: float) -> float:
    """Clip by norm, in place, over ALL gradients together (catalog gradient-clipping;
    Pascanu et al. 2013): g ← g·min(1, c/‖g‖) with ‖g‖ the Euclidean norm of every entry
    of every array (torch.nn.utils.clip_grad_norm_'s default). The direction is kept and
    the new norm is min(‖g‖, c). torch scales by c/(‖g‖ + 10⁻⁶); here the scale is exactly
    c/‖g‖. Returns the norm before clipping."""
    if not max_norm > 0:
        raise ValueError(f"clip_grad_norm: max_norm must be positive, got {max_norm}")
    norm = float(np.sqrt(sum(float(np.sum(np.square(g))) for g in grads.values())))
    if not np.isfinite(norm):
        raise ValueError(f"clip_grad_norm: the gradient norm is {norm}")
    if norm > 0:
        for g in grads.values():
            g[...] = K.clip_by_norm(g, norm, float(max_norm))
    return norm


def clip_grad_value(grads: Mapping[str, np.ndarray], clip_value: float) -> None:
    """Clip by value, in place: g_i ← min(max(g_i, −c), c) for every entry (torch's
    clip_grad_value_). Unlike clip_grad_norm it changes the direction (catalog
    gradient-clipping: g = (10, 1), c = 1 becomes (1, 1))."""
    if not clip_value > 0:
        raise ValueError(f"clip_grad_value: clip_value must be positive, got {clip_value}")
    for g in grads.values():
        g[...] = K.clip_by_value(g, float(clip_value))


OPTIMIZERS = {c.__name__: c for c in (SGD, Momentum, Nesterov, Adagrad, RMSProp, Adadelta, Adam,
                                       AdamW)}
