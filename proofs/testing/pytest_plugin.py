"""pytest plugin (entry point ``nnmath``): fixtures for testing your own implementations.

Installed with nnmath, it is active in every pytest run. Fixtures:

* ``nnmath_rng``    a ``numpy.random.Generator`` seeded from the test's node id and the
                    ``--nnmath-seed`` option (default 0): reproducible, different per test;
* ``nnmath``        the module ``proofs.testing`` (assert_mean, assert_variance,
                    assert_distribution, check_vjp, check_layer_backward);
* ``nnmath_exact``  ``nnmath_exact(slug, name, **subs) -> float``: an exact value from derive
                    (e.g. ``nnmath_exact("relu-moments", "mean", sigma=1)``).

Example::

    def test_my_dropout_keeps_the_mean(nnmath, nnmath_rng):
        x = np.maximum(nnmath_rng.standard_normal(400_000), 0)
        nnmath.assert_mean(my_dropout(x, 0.5, nnmath_rng), expected=x.mean() ...)
"""
from __future__ import annotations

import zlib

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("nnmath")
    group.addoption("--nnmath-seed", type=int, default=0,
                    help="root seed of the nnmath_rng fixture (default 0)")


@pytest.fixture
def nnmath_rng(request):
    import numpy as np
    root = request.config.getoption("--nnmath-seed")
    return np.random.default_rng([root, zlib.crc32(request.node.nodeid.encode())])


@pytest.fixture
def nnmath():
    from proofs import testing
    return testing


@pytest.fixture
def nnmath_exact():
    from proofs.claims import Context
    return Context().exact
