"""The catalog: one table of rows, the only place a row's metadata lives.

Every unit of nnmath is a catalog row: a slug (the id on the command line and in the API),
a title, the source it formalises (a seed document by file prefix and section, e.g.
``000 §2.3``, or a paper), the catalog section it belongs to, and its kinds:

====  ========================================================================
D     a symbolic derivation: checked steps, LaTeX, the result as a SymPy object
K     a NumPy kernel generated from a D row by ``nnmath codegen``
C     a claim verified numerically (Monte Carlo at a stated error rate, or a
      gradient check) against a foil it must reject
E     a worked example of the sources reproduced exactly
X     an erratum: a statement of a source refuted, with the correct form
====  ========================================================================

Derivations (``derive.registry.derivation``) and claims (``proofs.claims.claim``) attach
to a row by slug and repeat none of this; an unknown or duplicated slug raises when the
module that registers it is imported. The table order is the catalog order that
``nnmath list`` shows. Kinds say what the row is meant to deliver; which parts exist is
read from the registries (``nnmath list`` shows both).
"""
from __future__ import annotations

import dataclasses
import enum
import sys
import types


class Kind(enum.Flag):
    """The kinds of a catalog row; combine with ``|`` and test with ``in``."""

    D = enum.auto()  # derivation
    K = enum.auto()  # generated kernel
    C = enum.auto()  # claim checked by experiment
    E = enum.auto()  # worked example reproduced exactly
    X = enum.auto()  # erratum

    def __str__(self) -> str:
        """``D,K``: the catalog's spelling."""
        return ",".join(k.name or "" for k in Kind if k in self)


D, K, C, E, X = Kind.D, Kind.K, Kind.C, Kind.E, Kind.X


@dataclasses.dataclass(frozen=True)
class Row:
    slug: str
    section: int
    kinds: Kind
    source: str
    title: str


SECTIONS: dict[int, str] = {
    1: "Softmax and cross-entropy",
    2: "Backpropagation through an MLP",
    3: "Normalisation",
    4: "Dropout and its relatives",
    5: "Gaussian moments of activations",
    6: "Initialisation",
    7: "Activation functions",
    8: "Optimisers",
    9: "Regularisation",
    10: "Model size",
    11: "Pre-processing",
    12: "Attention and the Transformer block",
    13: "Optimisers beyond the seeds",
    14: "Signal propagation in wide random networks",
    15: "Statistical power and scale",
}

ROWS: tuple[Row, ...] = (
    # 1.
    Row('softmax-jacobian', 1, D | K, '000 §3.1, 001 Q1(a)',
        'Softmax Jacobian: ∂p_k/∂z_i = p_k(δ_ki − p_i)'),
    Row('softmax-ce-gradient', 1, D | K, '001 Q1(a)-(b), 000 §3.1',
        'Softmax with cross-entropy: ∂L/∂z_i = p_i Σ_k y_k − y_i'),
    Row('softmax-mse-gradient', 1, D, '001 Q1(c), 000 §3.1',
        'Softmax with squared error: the gradient vanishes as p saturates'),
    Row('sigmoid-bce-gradient', 1, D | K, '000 §3.1, 001 Q1',
        'Sigmoid with binary cross-entropy: gradient σ(z) − y'),
    Row('stable-softmax', 1, D | K | C, '000 §3.1, 001 Q1',
        'Stable softmax: max-shift and log-sum-exp'),
    # 2.
    Row('mlp-backprop', 2, D, '000 §3.1–3.2',
        'Backpropagation through an MLP'),
    Row('constant-init-symmetry', 2, D | C, '002 §9.4.1',
        'Constant initialisation never breaks symmetry'),
    Row('same-sign-gradients', 2, D, '002 §9.2.1, §9.3.2',
        'Non-negative inputs give one-signed weight gradients'),
    # 3.
    Row('batchnorm-forward', 3, D | K, '000 §2.2, 001 Q2, 003 §3',
        'Batch normalisation forward: zero mean, unit variance, then mean β and variance γ²; '
        'train and eval modes'),
    Row('batchnorm-backward', 3, D | K, '000 §2.3, 001 Q2 (eqs. 14–37)',
        'Batch normalisation backward: dβ, dγ and the input gradient, chain form (000 §2.3) = '
        'compact form (001 eq. 36/37)'),
    Row('batchnorm-std-eps', 3, D | K, '004 B.2 (eqs. B.43–B.53, Key Equation 21)',
        'BatchNorm with (σ + ε) in the denominator (004 B.2): ∂σ/∂z_j and the full Jacobian'),
    Row('batchnorm-epsilon', 3, D, '000 §2.1, 001 Q2',
        'Why ε: the factor 1/√(ν + ε) ≤ 1/√ε, and a constant feature gives finite gradients'),
    Row('batchnorm-batch-of-one', 3, C, '003 §3b',
        'Training-mode BatchNorm refuses a batch of one'),
    Row('layernorm-forward', 3, D | K, '003 §2',
        'LayerNorm forward: the BN algebra along a row; independent of the batch'),
    Row('layernorm-backward', 3, D | K, '003 §2, 001 Q2',
        'LayerNorm backward: the BN input gradient along a row, with per-feature γ'),
    Row('data188-layernorm', 3, E | X, '003 §2a',
        'LayerNorm worked example of 003 §2a, exactly'),
    Row('data188-batchnorm', 3, E, '003 §3a',
        'BatchNorm worked example of 003 §3a, exactly'),
    # 4.
    Row('dropout-mean', 4, D | C, '000 §1.1, 003 §4(d)',
        'Inverted dropout preserves the mean: E[m·h/(1 − p)] = E[h]'),
    Row('dropout-variance', 4, D | C, '000 §1.2',
        'Variance after inverted dropout: E[h²]/(1 − p) − E[h]²'),
    Row('dropout-kept-count', 4, D | C, '000 §1.3',
        'Kept units: K ~ Binomial(M, 1 − p)'),
    Row('dropout-poisson-limit', 4, D, '000 §1.4',
        'Binomial(M, λ/M) → Poisson(λ) as M → ∞'),
    Row('dropout-poisson-thinning', 4, D | C, '000 §1.5',
        'Poisson thinning: M ~ Poisson(λ) ⇒ K ~ Poisson(λ(1 − p))'),
    Row('dropout-test-scaling', 4, D, '002 §9.5.1 eq. 9.46–9.47',
        'Non-inverted dropout: scale by the keep probability at test time'),
    Row('data188-dropout', 4, E, '003 §4(a)–(c)',
        '003 §4: dropout on a toy dot product'),
    Row('dropconnect', 4, D | C, '002 §9.5 eq. 9.49',
        'DropConnect: E[(W ⊙ M)x] = (1 − p)Wx and its variance'),
    Row('stochastic-depth', 4, D, '002 §9.5 eq. 9.50',
        'Stochastic depth: scale a block by its survival probability at test time'),
    Row('dropout-before-batchnorm', 4, C, '002 §9.5.2',
        'Dropout before BatchNorm: train and eval see different variances'),
    Row('dropout-convention', 4, X, '002 §9.5.1, 000 §1, 003 §4',
        'Drop or keep? The meaning of p across the sources'),
    Row('alpha-dropout', 4, D | K | C, 'Klambauer et al. 2017, §"New dropout technique" '
        '(alpha dropout)',
        'Alpha dropout: dropped SELU units set to α′ = −λα, then a·x + b keeps mean 0 and '
        'variance 1'),
    # 5.
    Row('relu-moments', 5, D | C, '000 §1.2',
        'Gaussian moments of ReLU: σ/√(2π), σ²/2, σ²(1/2 − 1/(2π))'),
    Row('relu-second-moment-symmetry', 5, D, '000 §3.3',
        'E[ReLU(z)²] = ½E[z²] for every symmetric z'),
    Row('activation-moments', 5, D | C, '000 §1.2, §3.3',
        "Gaussian moments E f(z), E f(z)², E f'(z)² of activations"),
    # 6.
    Row('variance-of-product', 6, D, '000 §3.3',
        'Variance of a product of independent variables'),
    Row('he-init', 6, D | C, '000 §3.3, 002 §9.4.5',
        'He (Kaiming) initialisation: Var w = 2/fan_in (2/fan_out backward)'),
    Row('xavier-init', 6, D | C, '002 §9.4.4',
        'Xavier (Glorot) initialisation: 1/n_in, 1/n_out, compromise 2/(n_in + n_out)'),
    Row('uniform-bounds', 6, D | K,
        '002 §9.4.4–9.4.5 (eqs. 9.16, 9.17, 9.37, 9.38), 002 §9.2 (LeCun normal)',
        'Uniform bounds and normal standard deviations of Xavier, He and LeCun initialisation'),
    Row('depth-propagation', 6, C, '002 §9.4.5',
        'Second moments through 6 layers of width 4096 (002 §9.4.5): predicted vs simulated'),
    Row('kaiming-snippet', 6, X | C, '002 §9.4.5 (Kaiming/MSRA code listing)',
        "002's Kaiming code listing uses the Xavier scale 1/√Din"),
    Row('resnet-variance', 6, D | C, '002 §9.4.5 (ResNets, Fixup; eqs. 9.39–9.43)',
        'Residual blocks double the variance under Kaiming initialisation; Fixup keeps it'),
    Row('activation-gain', 6, D | C, '000 §3.3, 002 §9.4.3–9.4.5, 002 §9.2 (SELU)',
        'Variance-preserving gain of an activation, and the usual gain table'),
    # 7.
    Row('sigmoid-derivative', 7, D | K, '002 §9.2.1',
        "Sigmoid: σ' = σ(1 − σ), at most 1/4; L layers: 4^(−L)"),
    Row('tanh-derivative', 7, D | K, '002 §9.2.1',
        "tanh' = 1 − tanh², tanh x = 2σ(2x) − 1"),
    Row('relu-family', 7, D | K, '002 §9.2.2',
        'ReLU, leaky ReLU, PReLU: derivatives and the convention at 0'),
    Row('elu-derivative', 7, D | K, '002 §9.2.2',
        "ELU: f'(x) = f(x) + α for x ≤ 0; C¹ iff α = 1"),
    Row('selu-fixed-point', 7, D | K | C, '002 §9.2.2 (SELU), Klambauer et al. 2017',
        'SELU: α and λ from E[selu z] = 0, E[selu² z] = 1; the moment map contracts'),
    Row('gelu', 7, D | K, '002 §9.2.2 (GELU)',
        'GELU: xΦ(x), its derivative, and the tanh and sigmoid approximations'),
    Row('swish', 7, D | K, '002 §9.2.3',
        'Swish x·σ(βx): derivative, limits β → 0 and β → ∞, minimum'),
    # 8.
    Row('ema-unroll', 8, D | X, '004 B.1.1.3, B.1.1.4, B.1.4.2 (eq. B.33)',
        'The exponential moving average unrolled: weights γ^(T−t)(1−γ)'),
    Row('ema-bias-correction', 8, D | C, '004 B.1.4.2 (eqs. B.31–B.36)',
        'Bias correction of a zero-started moving average'),
    Row('momentum', 8, D | K | X, '004 B.1.1.5 (eqs. B.17–B.20, Definition 7)',
        'Momentum: the EMA form and the heavy-ball form'),
    Row('adagrad', 8, D | K, '004 B.1.3',
        'Adagrad: step η·g/(√s + ε), s the running sum of g²'),
    Row('rmsprop', 8, D | K, '004 B.1.2 (eqs. B.21–B.26, Definition 11)',
        'RMSprop (004\'s "Adadelta"): step η·g/√(s + ε)'),
    Row('adadelta', 8, D | K | X, '004 B.1.2 (Definition 11); Zeiler 2012, Algorithm 1',
        'Adadelta (Zeiler 2012): two accumulators, no learning rate'),
    Row('adam', 8, D | K, '004 B.1.4 (eqs. B.27–B.36, Definition 16)',
        'Adam: bias-corrected moments; the first step is ≈ η per coordinate'),
    Row('optimizer-quadratic', 8, C, '004 B.1',
        "Momentum and Adam beat GD on an ill-conditioned quadratic; Adagrad's step shrinks "
        'like 1/√t'),
    # 9.
    Row('l2-gradient', 9, D, '003 §5, 002 §9.5.3',
        'L2 penalty: gradient 2λθ, and SGD with L2 is weight decay'),
    Row('ridge-limits', 9, D | C, '003 §5',
        'Ridge regression: θ_λ = (XᵀX + λI)⁻¹Xᵀy and its limits'),
    Row('mixup', 9, D | X, '002 §9.5.3 (eqs. 9.51–9.52)',
        "MixUp's Beta(a, a): mean 1/2, U-shaped for a < 1, needs a > 0"),
    # 10.
    Row('param-count', 10, D | E, '003 §1(a), §1(d)',
        'Parameter count of a Linear/LayerNorm stack'),
    Row('activation-count', 10, D | E, '003 §1(c), §1(e)',
        'Activation count and the batch size where it overtakes the parameters'),
    # 11.
    Row('standardize-whiten', 11, D | C, '002 §9.3.1, §9.3.3',
        'Standardisation and PCA/ZCA whitening'),
    # 12.
    Row('attention-score-variance', 12, D | C, 'Vaswani et al. 2017 §3.2.1 (footnote 4); '
        'Yang et al. 2022 (μP: attention 1/d)',
        'Attention scores: Var[q·k] = d, so QKᵀ/√d has unit variance; aligned q·q grows '
        'like d'),
    Row('attention-backward', 12, D | K | C, 'Vaswani et al. 2017 §3.2.1 (eq. 1)',
        'Attention backward: dV = PᵀdO, dS = P ⊙ (dP − rowsum(dP ⊙ P)), dQ = dS K/√d'),
    Row('attention-saturation', 12, D | C, 'Vaswani et al. 2017 §3.2.1',
        'Unscaled attention saturates: E[max softmax probability] → 1 and the softmax '
        'Jacobian → 0 as d grows; with 1/√d both stay O(1)'),
    Row('preln-residual-growth', 12, D | C, 'Xiong et al. 2020 §3; Radford et al. 2019 §2.3',
        'Pre-LN residual stream: Var x_L = Var x_0 + L·v; GPT-2\'s 1/√(2N) keeps the added '
        'variance at v; Post-LN resets it to 1'),
    Row('postln-gradient-scale', 12, D | C, 'Xiong et al. 2020 §3 (simplified)',
        'Post-LN: each LayerNorm divides the skip-path gradient by σ_y ≈ √2, so block l '
        'gets about 2^{−(L−l)/2} of it; Pre-LN keeps it'),
    Row('label-smoothing', 12, D | K, 'Szegedy et al. 2016 §7',
        'Label smoothing: gradient p − y; the loss is minimised at the finite logit gap '
        'log(1 + K(1 − ε)/ε)'),
    # 13.
    Row('adamw-vs-l2', 13, D | K | C, 'Loshchilov & Hutter 2019, §2 and Algorithm 2',
        'AdamW vs Adam with L2: decoupled weight decay is not an L2 penalty under Adam'),
    Row('adam-step-bound', 13, D | C, 'Kingma & Ba 2015, §2.1',
        'The largest Adam step |m̂_t|/√v̂_t over all gradient sequences'),
    Row('nesterov', 13, D | K, 'Sutskever et al. 2013, §2 (eqs. 3–4)',
        'Nesterov momentum: the look-ahead form and the form frameworks use'),
    Row('lr-scaling-rule', 13, D, 'Goyal et al. 2017, §2.1–2.2',
        'Linear learning-rate scaling: k steps at batch B vs one step at batch kB'),
    Row('gradient-clipping', 13, D | K, 'Pascanu et al. 2013, §3.2',
        'Clipping by norm keeps the direction; clipping by value does not'),
    # 14.
    Row('meanfield-length', 14, D | C, 'Poole et al. 2016, §2 (eq. 3)',
        'Mean-field length map q_{l+1} = σ_w² E[φ(√q_l z)²] + σ_b² and its fixed point q*'),
    Row('meanfield-chi', 14, D | C, 'Poole et al. 2016, §3 (eq. 7); Schoenholz et al. 2017, §3',
        'χ₁ = σ_w² E[φ′(√q* z)²]: ordered and chaotic phases, the edge of chaos'),
    Row('arccos-kernel', 14, D | K | C, 'Cho & Saul 2009, §2.1 (eq. 6); Jacot et al. 2018, §4',
        'The ReLU NNGP (arc-cosine) kernel and the NTK of a two-layer ReLU network'),
    Row('meanfield-depth-scales', 14, D, 'Schoenholz et al. 2017, §3 (eqs. 5–9)',
        'The correlation map, its fixed point c* and the depth scales ξ_q, ξ_c = −1/ln χ_c'),
    Row('activation-meanfield', 14, D | C, 'Poole et al. 2016; Schoenholz et al. 2017, §3',
        'q*, χ₁, the edge of chaos and the depth scales for any activation'),
    # 15.
    Row('paired-design', 15, D | C, 'common random numbers (Law and Kelton 2000, §11.2)',
        'Paired designs: n_paired/n_unpaired = Var(f − g)/(Var f + Var g)'),
    Row('gelu-approx-bias', 15, D | C, '002 §9.2.2 (GELU and its two approximations)',
        'Mean bias of the GELU approximations under N(0, 1): E[GELU(z) − GELU_tanh(z)] '
        '≈ 5.62e-5'),
    Row('control-variates', 15, D | C, 'control variates (Glasserman 2004, §4.1)',
        'Control variates: optimal coefficient Cov(f, c)/Var c and variance factor 1 − ρ²'),
)


def _index(rows: tuple[Row, ...]) -> dict[str, Row]:
    table: dict[str, Row] = {}
    for r in rows:
        if r.slug in table:
            raise ValueError(f"catalog slug {r.slug!r} appears twice in the table")
        if r.section not in SECTIONS:
            raise ValueError(f"catalog row {r.slug!r}: unknown section {r.section}")
        table[r.slug] = r
    return table


BY_SLUG: dict[str, Row] = _index(ROWS)


class RowView:
    """Title, source, section and kinds read from ``self.row``: the one place they live.
    Registry entries (derivations, claims) inherit it so they never copy the row."""

    row: Row

    @property
    def slug(self) -> str:
        return self.row.slug

    @property
    def title(self) -> str:
        return self.row.title

    @property
    def source(self) -> str:
        return self.row.source

    @property
    def section(self) -> int:
        return self.row.section

    @property
    def kinds(self) -> Kind:
        return self.row.kinds


class UnknownRow(KeyError):
    """A slug that is not a row of the catalog table."""

    def __str__(self) -> str:
        return str(self.args[0])


def row(slug: str) -> Row:
    """The catalog row of ``slug``; raises ``UnknownRow`` when the table has none."""
    try:
        return BY_SLUG[slug]
    except KeyError:
        raise UnknownRow(f"{slug!r} is not a row of the catalog (derive/catalog.py)") from None


def position(slug: str) -> int:
    """The row's place in catalog order (for sorting)."""
    return _POSITION[slug]


_POSITION = {r.slug: i for i, r in enumerate(ROWS)}


class _CallableCatalog(types.ModuleType):
    """``derive.catalog`` is this table and, called, every derivation built: the
    long-standing ``derive.catalog()`` keeps working next to ``derive.catalog.ROWS``."""

    def __call__(self) -> dict:
        from .registry import catalog as build_all
        return build_all()


sys.modules[__name__].__class__ = _CallableCatalog
