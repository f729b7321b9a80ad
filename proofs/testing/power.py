"""Assertions with more power per sample: paired comparisons and control variates.

``assert_paired_mean(sampler, f, g, expected)``
    E[f(X) − g(X)] = expected, with f and g evaluated on the SAME draws X (common random
    numbers). When f and g are close, Var(f − g) is far below Var f + Var g and so is
    the sample size: n_paired/n_unpaired = Var(f − g)/(Var f + Var g) (catalog
    paired-design). E.g. the mean bias of GELU's tanh approximation under N(0, 1),
    ≈ 5.62e-5, is seen with a few thousand paired draws instead of billions.

``assert_mean_with_control(sampler, f, control, control_mean, expected)``
    E[f(X)] = expected, estimated by f̄ − β̂(c̄ − μ_c) with a control c whose mean μ_c is
    known exactly; β̂ = Ĉov(f, c)/V̂ar c estimates the optimal coefficient and the variance
    shrinks by 1 − ρ² (catalog control-variates).

``sampler(n, rng) -> X`` draws n inputs (first axis) from a ``numpy.random.Generator``;
``f(X)``, ``g(X)``, ``control(X)`` return one value per input. The test is the CLT
z-test of proofs.stats (normal approximation, stated); with a ``foil`` the sample size
is designed for both error rates from ``sd`` (a bound on the per-sample sd: of f − g, or
of the controlled f) or from a pilot on a fixed stream × 1.25. Sampling runs on the
executor of proofs.stats.executor (in-process by default; inside ``executor.use(...)`` on
local processes or Dask, same numbers); each returns the ``TestResult`` (its ``note``
reports the measured variance ratio) and raises ``AssertionError`` when the expected
value is rejected.

Example::

    import numpy as np
    from scipy.special import erf
    from proofs.testing import assert_paired_mean

    gelu = lambda z: z * (1 + erf(z / np.sqrt(2))) / 2
    approx = lambda z: z / 2 * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z**3)))
    normal = lambda n, rng: rng.standard_normal(n)
    assert_paired_mean(normal, gelu, approx, 5.62e-5, foil=0.0, seed=0)
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..stats import design as D
from ..stats.design import Design
from ..stats.executor import Job
from ..stats.paired import ControlVariate, Paired, user_control_chunk, user_paired_chunk
from ..stats.results import TestResult

DEFAULT_N = 100_000  # samples without a foil (nothing to design for) and without n
CHUNK = 1 << 16


def _seed(seed: Any) -> Any:
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(2 ** 63)))
    return seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)


def _run(a: Any, expected: float, foil: float | None, n: int | None, seed: Any,
         alpha: float, beta: float, what: str) -> TestResult:
    D.check_rate(alpha, "false_fail_rate")
    D.check_rate(beta, "false_pass_rate")
    if not math.isfinite(expected):
        raise ValueError(f"{a.label}: expected must be a finite number, got {expected}")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 2):
        raise ValueError(f"{a.label}: n must be a whole number ≥ 2, got {n!r}")
    if foil is not None:
        design = a.design(alpha, beta)
        if n is not None and n < design.n:
            raise D.DesignError(f"{a.label}: {n:,} samples cannot separate {expected:.6g} "
                                f"from the foil {foil:.6g} at false-fail {alpha:g} and "
                                f"false-pass {beta:g}; the design needs {design.n:,}")
        design = Design(n=max(design.n, n or 0), sd=design.sd, note=design.note)
    else:
        design = Design(n=n or DEFAULT_N, note="no foil: fixed sample size")
    (_, res), = a.run(_seed(seed), alpha, beta, design)
    if not res.accepted:
        diff = (res.estimate or math.nan) - expected
        hint = ""
        if foil is not None and not res.foil_rejected:
            hint = f"; it matches the foil {foil:.6g} (foil z = {res.foil_z:+.2f})"
        raise AssertionError(
            f"{a.label}: {what} is {res.estimate:.6g} ± {res.se:.2g} (SE, {res.n:,} "
            f"samples), expected {expected:.6g}: differs by {diff:+.4g}, z = {res.z:+.1f} "
            f"(|z| ≤ {res.critical:.2f} at false-fail rate {alpha:g}; normal "
            f"approximation){hint}. {res.note}")
    return res


def assert_paired_mean(sampler, f, g, expected: float, *, foil: float | None = None,
                       false_fail_rate: float = 1e-6, false_pass_rate: float = 1e-6,
                       n: int | None = None, seed: Any = None, sd: float | None = None,
                       name: str = "f − g") -> TestResult:
    """Assert E[f(X) − g(X)] = ``expected`` from f and g on the same draws (module
    docstring). ``sd``: a bound on sd(f(X) − g(X)) (e.g. √E[(f − g)²], or max|f − g|)
    for the design instead of a pilot."""
    exact = float(expected)
    a = Paired(name, exact, exact if foil is None else float(foil),
               Job(user_paired_chunk, (sampler, f, g), chunk=CHUNK), sd=sd)
    return _run(a, exact, foil, n, seed, false_fail_rate, false_pass_rate,
                "the paired mean of f − g")


def assert_mean_with_control(sampler, f, control, control_mean: float, expected: float, *,
                             foil: float | None = None, false_fail_rate: float = 1e-6,
                             false_pass_rate: float = 1e-6, n: int | None = None,
                             seed: Any = None, sd: float | None = None,
                             name: str = "f") -> TestResult:
    """Assert E[f(X)] = ``expected`` with the control variate ``control`` of exactly known
    mean ``control_mean`` (module docstring). ``sd``: a bound on the controlled sd
    √(Var f·(1 − ρ²)) for the design instead of a pilot."""
    exact = float(expected)
    mu = float(control_mean)
    if not math.isfinite(mu):
        raise ValueError(f"{name}: control_mean must be a finite number, got {control_mean}")
    a = ControlVariate(name, exact, exact if foil is None else float(foil),
                       Job(user_control_chunk, (sampler, f, control), chunk=CHUNK), sd=sd,
                       control_mean=mu)
    return _run(a, exact, foil, n, seed, false_fail_rate, false_pass_rate,
                "the control-variate mean of f")
