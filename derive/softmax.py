"""Catalog section 1: softmax and cross-entropy (000 §3.1, 001 Q1)."""
import sympy as sp

from .core import Derivation
from .registry import derivation


@derivation("sigmoid-bce-gradient", title="Sigmoid with binary cross-entropy: gradient σ(z) − y",
            source="000 §3.1, 001 Q1", section=1, kinds="D,K")
def sigmoid_bce_gradient(d: Derivation) -> None:
    """L(z, y) = −y log σ(z) − (1 − y) log(1 − σ(z))  ⇒  ∂L/∂z = σ(z) − y, for any y ∈ [0, 1]."""
    z = d.symbol("z", real=True)
    y = d.symbol("y", real=True)
    d.assume("y is a probability in [0, 1] (a hard or soft binary label)")
    sigma = 1 / (1 + sp.exp(-z))
    loss = -(y * sp.log(sigma) + (1 - y) * sp.log(1 - sigma))
    L = sp.Function("L")(z)
    d.define("binary cross-entropy of σ(z)", loss, "σ(z) = 1/(1 + e^{−z})", lhs=L)
    d.apply("differentiate in z", lambda e: sp.diff(e, z), "chain rule, by SymPy",
            lhs=sp.Derivative(L, z))
    d.rewrite("collect", -y * (1 - sigma) + (1 - y) * sigma,
              "σ' = σ(1 − σ), so (log σ)' = 1 − σ and (log(1 − σ))' = −σ")
    d.rewrite("expand", sigma - y, "the ±yσ terms cancel")
    d.conclude("sigmoid_bce_gradient", sigma - y, [z, y], "the kernel form")
    d.crosscheck_gradient("∂L/∂z against a central difference of L", loss, z, sigma - y,
                          at={z: (-6.0, 6.0), y: (0.0, 1.0)})
