"""pytest plugin (entry point ``nnmath``): fixtures for testing your own implementations.

Installed with nnmath, it is active in every pytest run. Fixtures:

* ``nnmath_rng``    a ``numpy.random.Generator`` seeded from the test FUNCTION and the
                    ``--nnmath-seed`` option (default 0): the seed is
                    ``[root, crc32(node id without the parametrisation suffix)]``, so every
                    parametrised case of one test function (e.g. every student submission
                    of ``test_batchnorm[alice]``, ``test_batchnorm[bob]``) gets the SAME
                    data, and different test functions get different data. The seed is
                    printed in the report of a failing test ("nnmath_rng seed: ...") and
                    ``nnmath_seed(request)`` returns it;
* ``nnmath``        the module ``proofs.testing`` (assert_forward, check_vjp, check_backward,
                    assert_mean, ... ; see its docstring);
* ``nnmath_exact``  ``nnmath_exact(slug, name, **subs) -> float``: an exact value from derive
                    (e.g. ``nnmath_exact("relu-moments", "relu_gaussian_mean", sigma=1)``).

Example::

    @pytest.mark.parametrize("student", STUDENTS)
    def test_batchnorm_forward(student, nnmath, nnmath_rng):   # same x for every student
        x = nnmath_rng.standard_normal((16, 5))
        nnmath.assert_forward(student.batchnorm_forward, R.batchnorm_forward,
                              x, np.ones(5), np.zeros(5), 1e-5)
"""
from __future__ import annotations

import zlib

import pytest

SEED_KEY = pytest.StashKey[list]()


def pytest_addoption(parser):
    group = parser.getgroup("nnmath")
    group.addoption("--nnmath-seed", type=int, default=0,
                    help="root seed of the nnmath_rng fixture (default 0)")


def function_id(nodeid: str) -> str:
    """The node id of the test function: ``path::Class::test_name`` without ``[params]``."""
    return nodeid.split("[", 1)[0]


def nnmath_seed(request) -> list:
    """The seed ``[root, crc32(function id)]`` of ``nnmath_rng`` for this test."""
    root = request.config.getoption("--nnmath-seed")
    return [root, zlib.crc32(function_id(request.node.nodeid).encode())]


@pytest.fixture
def nnmath_rng(request):
    import numpy as np
    seed = nnmath_seed(request)
    request.node.stash[SEED_KEY] = seed
    return np.random.default_rng(seed)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    seed = item.stash.get(SEED_KEY, None)
    if seed is not None and report.failed:
        report.sections.append(("nnmath", f"nnmath_rng seed: {seed} (numpy.random."
                                          f"default_rng({seed}); --nnmath-seed={seed[0]})"))


@pytest.fixture
def nnmath():
    from proofs import testing
    return testing


@pytest.fixture
def nnmath_exact():
    from proofs.claims import Context
    return Context().exact
