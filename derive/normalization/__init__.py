"""Catalog section 3: normalisation (000 §2, 001 Q2, 003 §2–3, 004 B.2).

Batch normalisation of one feature over a mini-batch of B samples (000 §2; 001 Q2 writes m):

    μ = (1/B) Σ_i Y_i,   ν = (1/B) Σ_i (Y_i − μ)²   (biased variance),
    Ẑ_i = (Y_i − μ)/√(ν + ε),   Ŷ_i = γ Ẑ_i + β.

Layer normalisation is the same algebra along a row (over the D features of one sample)
instead of down a column (003 §2). 004 B.2 uses the variant Ẑ = (z − μ)/(σ + ε).

Batch identities are proved exactly at explicit sizes (B = 2..5) with one symbol per
sample; the kernels are elementwise forms in which every batch reduction (Σg, Σg·Ẑ,
1/√(ν+ε) …) is a named argument, so the generated NumPy function broadcasts.

Speed: square roots of the batch variance make SymPy's comparisons slow, so in the
fixed-size checks the denominator √(ν+ε) is replaced, *after* SymPy has differentiated,
by a positive symbol s (ε = s² − ν is a bijection between ε > −ν and s > 0); the identity
is then a rational one in independent symbols, checked exactly.

Subjects, one module each: ``batchnorm`` (forward, backward), ``layernorm`` (forward,
backward), ``variants`` (the (σ + ε) denominator, why ε), ``examples`` (003 §2a, §3a).
"""
from . import batchnorm, variants, layernorm, examples  # noqa: F401 - registers the rows
