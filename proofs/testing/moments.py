"""Moment and distribution assertions: assert_mean, assert_variance, assert_distribution."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import stats
from ..stats import DesignError


PILOT = 20_000
MAX_SAMPLES = 50_000_000


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def _moment_test(kind: str, samples_or_sampler, expected: float, *, foil, false_fail_rate,
                 false_pass_rate, n, seed, name) -> None:
    stats.check_rate(false_fail_rate, "false_fail_rate")
    stats.check_rate(false_pass_rate, "false_pass_rate")
    rng = _rng(seed)

    def influence(x):  # per-sample contribution whose mean is the statistic
        x = np.asarray(x, dtype=np.float64).ravel()
        if kind == "mean":
            return x
        return (x - x.mean()) ** 2 * (x.size / max(x.size - 1, 1))

    need = None
    if callable(samples_or_sampler):
        sampler = samples_or_sampler
        if foil is not None:
            pilot = influence(sampler(PILOT, rng))
            need = stats.n_for_z_test(1.25 * pilot.std(), expected - foil, false_fail_rate,
                                      false_pass_rate)
            if need > MAX_SAMPLES:
                raise DesignError(f"{name}: separating {expected:.6g} from the foil "
                                  f"{foil:.6g} needs {need:,} samples (more than {MAX_SAMPLES:,})")
        size = max(n or 0, need or 0, 100_000 if n is None else 0)
        x = np.asarray(sampler(size, rng), dtype=np.float64).ravel()
    else:
        x = np.asarray(samples_or_sampler, dtype=np.float64).ravel()
        if x.size < 2:
            raise ValueError(f"{name}: need at least 2 samples, got {x.size}")
        if foil is not None:
            need = stats.n_for_z_test(1.25 * influence(x).std(), expected - foil,
                                      false_fail_rate, false_pass_rate)
            if x.size < need:
                raise DesignError(f"{name}: {x.size:,} samples cannot separate "
                                  f"{expected:.6g} from the foil {foil:.6g} at "
                                  f"false-fail {false_fail_rate:g} and false-pass "
                                  f"{false_pass_rate:g}; the design needs {need:,}")
    if not np.all(np.isfinite(x)):
        raise AssertionError(f"{name}: the samples contain NaN or infinity")
    v = influence(x)
    est = float(v.mean())
    se = float(v.std(ddof=1) / math.sqrt(v.size))
    res = stats.z_result(est, se, expected, foil if foil is not None else expected, v.size,
                         need or v.size, false_fail_rate, false_pass_rate)
    if not res.accepted:
        diff = est - expected
        rel = f" ({diff / expected:+.1%})" if expected else ""
        hint = ""
        if foil is not None and abs(res.foil_z) <= res.critical:
            hint = f"; it matches the foil {foil:.6g} (z = {res.foil_z:+.2f})"
        raise AssertionError(
            f"{name}: {kind} is {est:.6g} ± {se:.2g} (SE, {v.size:,} samples), expected "
            f"{expected:.6g}: differs by {diff:+.4g}{rel}, z = {res.z:+.1f} "
            f"(|z| ≤ {res.critical:.2f} at false-fail rate {false_fail_rate:g}; "
            f"normal approximation){hint}")


def assert_mean(samples_or_sampler, expected: float, *, foil: float | None = None,
                false_fail_rate: float = 1e-6, false_pass_rate: float = 1e-6,
                n: int | None = None, seed: Any = None, name: str = "samples") -> None:
    """Assert that the mean of the samples is ``expected`` (CLT z-test).

    ``samples_or_sampler``: an array of i.i.d. samples, or ``sampler(n, rng) -> array``
    (then the size is chosen by the design when ``foil`` is given, else ``n`` or 100 000).
    """
    _moment_test("mean", samples_or_sampler, float(expected), foil=foil,
                 false_fail_rate=false_fail_rate, false_pass_rate=false_pass_rate, n=n,
                 seed=seed, name=name)


def assert_variance(samples_or_sampler, expected: float, *, foil: float | None = None,
                    false_fail_rate: float = 1e-6, false_pass_rate: float = 1e-6,
                    n: int | None = None, seed: Any = None, name: str = "samples") -> None:
    """Assert that the variance of the samples is ``expected`` (CLT z-test on the squared
    deviations, whose SE uses the sample fourth moment)."""
    _moment_test("variance", samples_or_sampler, float(expected), foil=foil,
                 false_fail_rate=false_fail_rate, false_pass_rate=false_pass_rate, n=n,
                 seed=seed, name=name)


def assert_distribution(samples, cdf: Callable[[Any], Any], *,
                        false_fail_rate: float = 1e-6, name: str = "samples") -> None:
    """Assert that i.i.d. samples come from the distribution with CDF ``cdf`` (vectorised),
    by the DKWM inequality: sup|F_n − F| ≤ √(ln(2/α)/(2n)) with probability ≥ 1 − α. Exact
    for any distribution (for discrete ones pass integer samples and an integer CDF)."""
    stats.check_rate(false_fail_rate, "false_fail_rate")
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
    radius = stats.dkwm_radius(n, false_fail_rate)
    if d > radius:
        raise AssertionError(
            f"{name}: the empirical CDF differs from the expected CDF by {d:.4g} at "
            f"x = {where:.6g}; DKWM allows at most {radius:.4g} for {n:,} samples at "
            f"false-fail rate {false_fail_rate:g} (rigorous bound)")


