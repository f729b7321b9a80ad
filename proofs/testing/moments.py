"""Moment and distribution assertions: assert_mean, assert_variance, assert_distribution."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..stats import design, results
from ..stats.design import DesignError

def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def _influence(kind: str, x) -> np.ndarray:
    """Per-sample contributions whose mean is the statistic."""
    x = np.asarray(x, dtype=np.float64).ravel()
    if kind == "mean":
        return x
    return (x - x.mean()) ** 2 * (x.size / max(x.size - 1, 1))


def _design(kind: str, sampler, expected: float, foil: float, alpha: float, beta: float,
            sd: float | None, name: str) -> int:
    """Sample size for a sampler (proofs.stats.design): a stated sd bound, else a pilot
    on the fixed design stream of ``name`` (so the size does not depend on ``seed``)."""
    if sd is None:
        pilot = _influence(kind, sampler(design.PILOT, np.random.default_rng(
            design.design_seed(name))))
        sd = design.pilot_sd(pilot.std())
    return design.sample_size(expected - foil, alpha, beta, sd=sd, cap=design.MAX_SAMPLES,
                              what=name)


def _moment_test(kind: str, samples_or_sampler, expected: float, *, foil, false_fail_rate,
                 false_pass_rate, n, seed, name, sd=None) -> None:
    design.check_rate(false_fail_rate, "false_fail_rate")
    design.check_rate(false_pass_rate, "false_pass_rate")
    need = None
    if callable(samples_or_sampler):
        if foil is not None:
            need = _design(kind, samples_or_sampler, expected, foil, false_fail_rate,
                           false_pass_rate, sd, name)
        size = max(n or 0, need or 0, 100_000 if n is None else 0)
        x = np.asarray(samples_or_sampler(size, _rng(seed)), dtype=np.float64).ravel()
    else:
        x = np.asarray(samples_or_sampler, dtype=np.float64).ravel()
        if x.size < 2:
            raise ValueError(f"{name}: need at least 2 samples, got {x.size}")
        if foil is not None:  # given data: the design uses its own spread (or the bound)
            need = design.sample_size(
                expected - foil, false_fail_rate, false_pass_rate,
                sd=sd if sd is not None else design.pilot_sd(_influence(kind, x).std()),
                what=name)
            if x.size < need:
                raise DesignError(f"{name}: {x.size:,} samples cannot separate "
                                  f"{expected:.6g} from the foil {foil:.6g} at "
                                  f"false-fail {false_fail_rate:g} and false-pass "
                                  f"{false_pass_rate:g}; the design needs {need:,}")
    if not np.all(np.isfinite(x)):
        raise AssertionError(f"{name}: the samples contain NaN or infinity")
    v = _influence(kind, x)
    est = float(v.mean())
    se = float(v.std(ddof=1) / math.sqrt(v.size))
    res = results.z_result(est, se, expected, foil if foil is not None else expected, v.size,
                           need or v.size, false_fail_rate, false_pass_rate)
    if not res.accepted:
        diff = est - expected
        rel = f" ({diff / expected:+.1%})" if expected else ""
        hint = ""
        if foil is not None and not res.foil_rejected:
            hint = f"; it matches the foil {foil:.6g} (z = {res.foil_z:+.2f})"
        raise AssertionError(
            f"{name}: {kind} is {est:.6g} ± {se:.2g} (SE, {v.size:,} samples), expected "
            f"{expected:.6g}: differs by {diff:+.4g}{rel}, z = {res.z:+.1f} "
            f"(|z| ≤ {design.z_two_sided(false_fail_rate):.2f} at false-fail rate "
            f"{false_fail_rate:g}; "
            f"normal approximation){hint}")


def assert_mean(samples_or_sampler, expected: float, *, foil: float | None = None,
                false_fail_rate: float = 1e-6, false_pass_rate: float = 1e-6,
                n: int | None = None, seed: Any = None, name: str = "samples",
                sd: float | None = None) -> None:
    """Assert that the mean of the samples is ``expected`` (CLT z-test).

    ``samples_or_sampler``: an array of i.i.d. samples, or ``sampler(n, rng) -> array``
    (then the size is chosen by the design when ``foil`` is given, else ``n`` or 100 000).
    ``sd``: a stated bound on the standard deviation of one sample, used by the design
    instead of a pilot (for heavy tails: ``proofs.stats.sd_from_moments(E[x], E[x²])``
    with derived moments). A design that cannot meet both rates raises ``CannotSize``.
    """
    _moment_test("mean", samples_or_sampler, float(expected), foil=foil,
                 false_fail_rate=false_fail_rate, false_pass_rate=false_pass_rate, n=n,
                 seed=seed, name=name, sd=sd)


def assert_variance(samples_or_sampler, expected: float, *, foil: float | None = None,
                    false_fail_rate: float = 1e-6, false_pass_rate: float = 1e-6,
                    n: int | None = None, seed: Any = None, name: str = "samples",
                    sd: float | None = None) -> None:
    """Assert that the variance of the samples is ``expected`` (CLT z-test on the squared
    deviations, whose SE uses the sample fourth moment). ``sd`` bounds the standard
    deviation of one squared deviation: ``proofs.stats.sd_from_moments(σ², μ₄)`` with a
    derived central fourth moment μ₄ (the design needs μ₄ to exist)."""
    _moment_test("variance", samples_or_sampler, float(expected), foil=foil,
                 false_fail_rate=false_fail_rate, false_pass_rate=false_pass_rate, n=n,
                 seed=seed, name=name, sd=sd)


def assert_distribution(samples, cdf: Callable[[Any], Any], *,
                        false_fail_rate: float = 1e-6, name: str = "samples") -> None:
    """Assert that i.i.d. samples come from the distribution with CDF ``cdf`` (vectorised),
    by the DKWM inequality: sup|F_n − F| ≤ √(ln(2/α)/(2n)) with probability ≥ 1 − α. Exact
    for any distribution (for discrete ones pass integer samples and an integer CDF)."""
    design.check_rate(false_fail_rate, "false_fail_rate")
    x = np.sort(np.asarray(samples).ravel())
    n = x.size
    if n < 2:
        raise ValueError(f"{name}: need at least 2 samples, got {n}")
    if np.issubdtype(x.dtype, np.integer):
        support = np.arange(x[0], x[-1] + 1)
        ecdf = np.searchsorted(x, support, side="right") / n
        f = np.asarray(cdf(support), dtype=float)
        below = np.concatenate(([float(cdf(support[0] - 1))], f[:-1]))
        e_below = np.concatenate(([0.0], ecdf[:-1]))
        d = float(max(np.abs(ecdf - f).max(), np.abs(e_below - below).max(),
                      1 - float(cdf(x[-1]))))
        where = support[np.argmax(np.abs(ecdf - f))]
    else:
        f = np.asarray(cdf(x), dtype=float)
        hi = np.arange(1, n + 1) / n - f
        lo = f - np.arange(0, n) / n
        d = float(max(hi.max(), lo.max()))
        where = x[np.argmax(np.maximum(hi, lo))]
    radius = design.dkwm_radius(n, false_fail_rate)
    if d > radius:
        raise AssertionError(
            f"{name}: the empirical CDF differs from the expected CDF by {d:.4g} at "
            f"x = {where:.6g}; DKWM allows at most {radius:.4g} for {n:,} samples at "
            f"false-fail rate {false_fail_rate:g} (rigorous bound)")


