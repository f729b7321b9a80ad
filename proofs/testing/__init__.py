"""Assertions for testing your own implementations, with stated error rates.

Each assertion either passes silently or raises ``AssertionError`` with a message that
says what was measured, what was expected, by how much they differ and how sure the test
is. Error rates are parameters:

* ``false_fail_rate``: probability that a CORRECT implementation fails the assertion
  (default 1e-6: a suite of 1000 such assertions fails spuriously once in 1000 runs);
* ``false_pass_rate``: with a ``foil`` (a specific wrong value you want to be able to
  catch), probability that an implementation producing the foil passes. With a foil the
  sample size is designed for both rates, and too few samples raise ``DesignError``
  (``CannotSize`` when no affordable sample size meets both rates).

Tests: CLT z-test for means and variances (normal approximation, stated in the message);
DKWM (rigorous) for whole distributions; ⟨u, J v⟩ against central differences in a
random direction for backward passes (float64).

Example::

    from proofs.testing import assert_mean
    def sampler(n, rng):                    # your layer on n inputs
        h = np.maximum(rng.standard_normal(n), 0)
        return my_dropout(h, p=0.5, rng=rng)
    assert_mean(sampler, expected=1 / np.sqrt(2 * np.pi), seed=0)
"""
from __future__ import annotations

from ..stats import CannotSize, DesignError
from .forward import assert_forward
from .gradients import check_layer_backward, check_vjp
from .moments import assert_distribution, assert_mean, assert_variance

__all__ = [
    "CannotSize",
    "DesignError",
    "assert_forward",
    "assert_distribution",
    "assert_mean",
    "assert_variance",
    "check_layer_backward",
    "check_vjp",
]

