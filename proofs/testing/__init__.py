"""Assertions for testing your own implementations (and grading a class's), with stated
error rates.

Each assertion either passes silently or raises ``AssertionError`` with a message that
names the output that is wrong, what was measured, what was expected, by how much they
differ and, where it can tell, the symptom (a constant factor N or √(N/(N−1)), a
difference that is the same in every row, NaN, a transposed shape, a write into an input).

Statistical assertions take error rates as parameters:

* ``false_fail_rate``: probability that a CORRECT implementation fails the assertion
  (default 1e-6: a suite of 1000 such assertions fails spuriously once in 1000 runs);
* ``false_pass_rate``: with a ``foil`` (a specific wrong value you want to be able to
  catch), probability that an implementation producing the foil passes. With a foil the
  sample size is designed for both rates, and too few samples raise ``DesignError``
  (``CannotSize`` when no affordable sample size meets both rates).

Paired comparisons (``assert_paired_mean``: f and g on the same draws, sized from
Var(f − g)) and control variates (``assert_mean_with_control``: a control of exactly known
mean, variance factor 1 − ρ²) buy power per sample (proofs/testing/power.py).

Tests: CLT z-test for means and variances (normal approximation, stated in the message);
DKWM (rigorous) for whole distributions; exact comparison with a float64 reference for
forward and backward passes; ⟨u, J v⟩ against central differences (with an error bound,
``numeric.finite_differences``) for backward passes. NaN or ±inf where the reference is
finite always fails. Measured false-alarm rate of the gradient and reference checks:
0 in 2,000 seeds on correct layers, including logits ≈ 1000 and BatchNorm features of
variance 1e-6 (tests/test_testing_api.py).

References: ``numeric.reference`` (float64, from the generated kernels): affine, ReLU,
BatchNorm, LayerNorm, dropout, softmax cross-entropy forward and backward, He std.

Examples::

    import numpy as np
    from numeric import reference as R
    from proofs.testing import (assert_forward, check_backward, cache_style,
                                drop_probability, global_seed, assert_dropout)

    # a forward pass against the reference (float32 submissions get float32 tolerances)
    assert_forward(my_batchnorm_forward, R.batchnorm_forward, x, gamma, beta, 1e-5)

    # a backward pass against the reference, outputs named dx, dgamma, dbeta
    assert_forward(my_batchnorm_backward, R.batchnorm_backward, dout, x, gamma, beta, 1e-5)

    # CS231n style: out, cache = f(x, ...); dx, ... = f_backward(dout, cache)
    f, b = cache_style(batchnorm_forward, batchnorm_backward,
                       args=lambda x, g, be, eps: (x, g, be, {"mode": "train", "eps": eps}))
    assert_forward(f, R.batchnorm_forward, x, gamma, beta, 1e-5)
    assert_forward(b, R.batchnorm_backward, dout, x, gamma, beta, 1e-5)  # + cache purity
    check_backward(affine_forward, affine_backward, x, w, b)   # central differences

    # dropout with the keep probability in a dict, drawing from the global np.random
    fwd = global_seed(drop_probability(dropout_forward, "keep", key="p"), seed=1)
    def forward(x):
        return fwd(x, {"p": 0.3, "mode": "train"})[0]   # p_drop = 0.3 -> keep 0.7
    assert_dropout(forward, x, 0.3)

    # moments with stated error rates
    def sampler(n, rng):                    # your layer on n inputs
        h = np.maximum(rng.standard_normal(n), 0)
        return my_dropout(h, p=0.5, rng=rng)
    assert_mean(sampler, expected=1 / np.sqrt(2 * np.pi), seed=0)

In pytest, the fixtures ``nnmath``, ``nnmath_rng`` (seeded per test FUNCTION, so every
parametrised submission sees the same data; the seed is printed on failure) and
``nnmath_exact`` come with the plugin (``proofs.testing.pytest_plugin``).
"""
from __future__ import annotations

from ..stats import CannotSize, DesignError
from .adapters import assert_dropout, cache_style, drop_probability, global_seed, keep_mask
from .forward import assert_forward
from .gradients import check_backward, check_layer_backward, check_vjp
from .moments import assert_distribution, assert_mean, assert_variance
from .power import assert_mean_with_control, assert_paired_mean

__all__ = [
    "CannotSize",
    "DesignError",
    "assert_distribution",
    "assert_dropout",
    "assert_forward",
    "assert_mean",
    "assert_mean_with_control",
    "assert_paired_mean",
    "assert_variance",
    "cache_style",
    "check_backward",
    "check_layer_backward",
    "check_vjp",
    "drop_probability",
    "global_seed",
    "keep_mask",
]
