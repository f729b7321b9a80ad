"""Catalog section 10: model size — parameters and activations (003 §1).

A model is described by a small layer list (``Linear``, ``LayerNorm``, ``BatchNorm``,
``ReLU``); widths may be integers or SymPy symbols, so the same functions give closed forms
and numbers. Conventions (those of 003 §1): a Linear layer has a weight and a bias; a
LayerNorm or BatchNorm layer has the learnable γ and β (BatchNorm's running mean and variance
are buffers, not parameters); an activation is every element of every layer's output for the
whole batch (the intermediate tensors z_1 … z_10 of 003 §1(c)), not counting the input.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import sympy as sp

from .core import Derivation
from .registry import derivation
from .display import shown


def _sym(value):
    """A width as SymPy. Text is refused, never parsed (sympify would evaluate it)."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"a width must be an integer or a SymPy expression, not text "
                        f"{value!r:.60}")
    return sp.sympify(value, strict=True)


@dataclasses.dataclass(frozen=True)
class Linear:
    """y = Wx + b with W of shape (out_features, in_features)."""

    in_features: sp.Expr | int
    out_features: sp.Expr | int

    def parameters(self) -> sp.Expr:
        return _sym(self.in_features) * self.out_features + self.out_features

    def width(self) -> sp.Expr:
        return _sym(self.out_features)


@dataclasses.dataclass(frozen=True)
class LayerNorm:
    """Normalise each row; learnable γ, β of shape [features]."""

    features: sp.Expr | int

    def parameters(self) -> sp.Expr:
        return 2 * _sym(self.features)

    def width(self) -> sp.Expr:
        return _sym(self.features)


@dataclasses.dataclass(frozen=True)
class BatchNorm(LayerNorm):
    """Normalise each column; learnable γ, β (running statistics are buffers, not counted)."""


@dataclasses.dataclass(frozen=True)
class ReLU:
    """An activation layer: no parameters, an output as wide as its input."""

    features: sp.Expr | int

    def parameters(self) -> sp.Expr:
        return sp.Integer(0)

    def width(self) -> sp.Expr:
        return _sym(self.features)


_LAYER_TYPES = (Linear, LayerNorm, BatchNorm, ReLU)


def _check_layers(layers: Sequence) -> None:
    if not layers:
        raise ValueError("expected a non-empty list of layers, got an empty one")
    for k, layer in enumerate(layers):
        if not isinstance(layer, _LAYER_TYPES):
            raise TypeError(f"layer {k} is {type(layer).__name__}; expected one of "
                            f"{', '.join(t.__name__ for t in _LAYER_TYPES)}")
    for k in range(1, len(layers)):
        prev, layer = layers[k - 1].width(), layers[k]
        expect = layer.in_features if isinstance(layer, Linear) else layer.features
        if sp.simplify(_sym(expect) - prev) != 0:
            raise ValueError(f"layer {k} ({type(layer).__name__}) expects width {expect} "
                             f"but layer {k - 1} outputs width {prev}")


def parameter_count(layers: Sequence) -> sp.Expr:
    """Σ over layers of their learnable parameters (closed form if widths are symbols)."""
    _check_layers(layers)
    return sp.Add(*[layer.parameters() for layer in layers])


def activation_count(layers: Sequence, batch_size: sp.Expr | int) -> sp.Expr:
    """batch_size × Σ over layers of the layer's output width (every intermediate tensor,
    the input excluded), as in 003 §1(c)."""
    _check_layers(layers)
    return _sym(batch_size) * sp.Add(*[layer.width() for layer in layers])


def data188_model(d0, d1, d2, d3, classes) -> list:
    """003 §1: Linear → LayerNorm → ReLU three times, then a Linear to the logits."""
    return [Linear(d0, d1), LayerNorm(d1), ReLU(d1),
            Linear(d1, d2), LayerNorm(d2), ReLU(d2),
            Linear(d2, d3), LayerNorm(d3), ReLU(d3),
            Linear(d3, classes)]


_WIDTHS = sp.symbols("D_0 D_1 D_2 D_3 C", positive=True, integer=True)
# 003 §1(a): in_feats = 52, Linear2 is 128 → 256, Linear3 has out_feats = 20, 1000 classes
_DATA188 = dict(zip(_WIDTHS, (52, 128, 256, 20, 1000)))


def _numpy_parameter_total(**widths) -> float:
    """Independent float64 count: build the parameter arrays' shapes and add their sizes."""
    import numpy as np

    d = [widths[name] for name in ("D_0", "D_1", "D_2", "D_3", "C")]
    shapes = []
    for i in range(3):
        shapes += [(d[i + 1], d[i]), (d[i + 1],), (d[i + 1],), (d[i + 1],)]  # W, b, γ, β
    shapes += [(d[4], d[3]), (d[4],)]
    return float(sum(np.prod(s) for s in shapes))


@derivation("param-count", exports=("parameter_count", "total_parameters", "widths"))
def param_count(d: Derivation) -> None:
    """C = Σ_Linear (d_in·d_out + d_out) + Σ_Norm 2·d. For 003's model (52 → 128 → 256 → 20 →
    1000 with LayerNorm after the first three Linear layers):
    C = Σ_{i=1..3} D_i(D_{i−1} + 3) + C_K(D_3 + 1) = 66,756. Source: 003 §1(d).
    """
    D0, D1, D2, D3, K = _WIDTHS
    d.assume("003 §1 model: Linear(D_0, D_1) → LayerNorm → ReLU → Linear(D_1, D_2) → "
             "LayerNorm → ReLU → Linear(D_2, D_3) → LayerNorm → ReLU → Linear(D_3, C)")
    d.convention("LayerNorm/BatchNorm contribute γ and β only (running statistics are buffers)")
    layers = data188_model(D0, D1, D2, D3, K)
    d.define("sum over the layers", parameter_count(layers), "Linear: weights d_in·d_out and "
             "biases d_out; LayerNorm: γ and β, d each; ReLU: none", lhs=sp.Symbol("C"))
    closed = D1 * (D0 + 3) + D2 * (D1 + 3) + D3 * (D2 + 3) + K * (D3 + 1)
    d.rewrite("group by block", closed, "each Linear + LayerNorm block of output width D_i "
              "has D_i(D_{i−1} + 1) + 2D_i = D_i(D_{i−1} + 3)")
    d.conclude("parameter_count", closed, [D0, D1, D2, D3, K],
               "closed form in the widths", kernel=False)
    d.apply("003's widths", lambda e: e.subs(_DATA188),
            "D_0 = 52, D_1 = 128, D_2 = 256, D_3 = 20, C = 1000 (003 §1(a))")
    total = d.current
    d.prove("agrees with 003 §1(d)", total, sp.Integer(66756),
            "the source's printed total 66,756")
    d.values["total_parameters"] = total
    d.values["parameter_count"] = closed
    d.values["widths"] = dict(_DATA188)
    d.crosscheck("closed form against a count of array sizes (003's widths)", closed,
                 _numpy_parameter_total, at=dict(_DATA188), points=1, rtol=0, atol=0)
    d.crosscheck("closed form against a count of array sizes (other widths)", closed,
                 _numpy_parameter_total, at={s: (1.0, 300.0) for s in _WIDTHS},
                 rtol=1e-12, atol=1e-6)


def _numpy_activation_total(**kw) -> float:
    """Independent float64 count: the sizes of the ten intermediate tensors of shape [n, d]."""
    import numpy as np

    n = kw["n"]
    d = [kw[name] for name in ("D_1", "D_2", "D_3")]
    shapes = [(n, w) for w in d for _ in range(3)] + [(n, kw["C"])]
    return float(sum(np.prod(s) for s in shapes))


@derivation("activation-count",
            exports=("activation_count", "crossover_batch_size", "activations_per_example",
                     "activations_at_batch_4", "crossover_threshold"))
def activation_count_derivation(d: Derivation) -> None:
    """Z(n) = n·Σ_layers (output width) = n(3D_1 + 3D_2 + 3D_3 + C) for 003's model:
    2212·n, so 8,848 at n = 4; activations outnumber the 66,756 parameters from n = 31 on
    (30·2212 = 66,360 < 66,756 < 31·2212 = 68,572). Source: 003 §1(c) and §1(e).
    """
    D0, D1, D2, D3, K = _WIDTHS
    n = d.symbol("n", positive=True, integer=True)
    d.assume("the 003 §1 model (see param-count); n is the batch size")
    d.convention("activations = every element of z_1 … z_10 (outputs of each Linear, "
                 "LayerNorm and ReLU), for the whole batch; the input is not counted")
    layers = data188_model(D0, D1, D2, D3, K)
    d.define("sum over the layer outputs", activation_count(layers, n),
             "each layer's output has shape [n, width]", lhs=sp.Symbol("Z"))
    closed = n * (3 * D1 + 3 * D2 + 3 * D3 + K)
    d.rewrite("collect", closed, "Linear, LayerNorm and ReLU of a block share the width D_i")
    d.conclude("activation_count", closed, [n, D1, D2, D3, K], "linear in the batch size",
               kernel=False)
    d.apply("003's widths", lambda e: e.subs(_DATA188), "(003 §1(a))")
    per_batch = d.current
    d.apply("batch size n = 4", lambda e: e.subs(n, 4), "003 §1(a): in.shape = [4, 52]")
    at_four = d.current
    d.prove("agrees with 003 §1(c)", at_four, sp.Integer(8848), "the source's printed 8848")
    from .registry import get

    params = get("param-count").values["total_parameters"]
    d.define("where activations overtake parameters", sp.Eq(per_batch, params),
             "the batch size at which Z(n) = C")
    n_real = sp.Symbol("n", positive=True)
    d.apply("solve", lambda e: sp.solve(sp.Eq(per_batch.subs(n, n_real), params), n_real)[0],
            "by SymPy, over the reals", lhs=shown(r"n^{*}", "n*"))
    threshold = d.current
    d.apply("smallest integer batch", lambda e: sp.ceiling(e), "Z is increasing in n",
            lhs=shown(r"\lceil n^{*} \rceil", "⌈n*⌉"))
    crossover = d.current
    d.conclude("crossover_batch_size", crossover, [], "from this batch size on, activations "
               "outnumber parameters", kernel=False)
    d.prove_true("Z(n − 1) < C ≤ Z(n) at the crossover", sp.And(
        per_batch.subs(n, crossover - 1) < params, per_batch.subs(n, crossover) > params),
        "exact integers: one batch size earlier the parameters still dominate",
        shown=sp.And(sp.Lt(per_batch.subs(n, crossover - 1), params, evaluate=False),
                     sp.Gt(per_batch.subs(n, crossover), params, evaluate=False)))
    d.values["activations_per_example"] = per_batch / n
    d.values["activations_at_batch_4"] = at_four
    d.values["crossover_threshold"] = threshold
    d.values["crossover_batch_size"] = crossover
    d.crosscheck("closed form against the sizes of the ten [n, d] tensors", closed,
                 _numpy_activation_total, at={n: (1.0, 64.0), D1: (1.0, 300.0),
                                              D2: (1.0, 300.0), D3: (1.0, 300.0),
                                              K: (1.0, 2000.0)}, rtol=1e-12, atol=1e-6)
