"""Assertion kinds that buy power: paired designs and control variates (catalog §15).

Both follow the assertion protocol of proofs.stats.assertions (``label``, ``foil_name``,
``count``, deterministic ``design(α, β)``, ``run(seed, α, β, design)``), sample through the
executor (proofs.stats.executor: chunked streams, any backend, identical results) and are
sized by the one design function ``design.sample_size`` (CLT z-test, normal approximation).

``Mean``           E[column 0] of a job's summaries against an exact value; the per-sample
                   sd is a stated bound or a pilot on the fixed design stream × INFLATE.
``Paired``         E[f(X) − g(X)] from f and g evaluated on the SAME draws X (common random
                   numbers): the design uses a bound on sd(f − g), not sd f + sd g. The job's
                   columns are (f − g, f, g); the note reports the measured
                   n_paired/n_unpaired = Var(f − g)/(Var f + Var g) (derivation
                   paired-design).
``ControlVariate`` E[f(X)] estimated by f̄ − β̂(c̄ − μ_c) with a control c of exactly known
                   mean μ_c; β̂ = Ĉov(f, c)/V̂ar(c) (the optimal coefficient β* =
                   Cov(f, c)/Var c, estimated from the same draws); per-sample variance
                   Var f·(1 − ρ²) (derivation control-variates). The note reports β̂ and the
                   measured variance-reduction factor 1 − ρ̂². Estimating β from the same
                   draws adds a bias of order 1/n, far below the SE at the sizes used.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

from . import design as D
from . import executor as X
from . import results as R
from .assertions import CHUNK_ROUND, _main_stream, _Single
from .design import Design, DesignError
from .results import TestResult

HEAVY_CAP = 10 ** 13  # sample cap of a heavy (opt-in, distributed) assertion


def _pilot(job: X.Job, label: str) -> X.Moments:
    """The job on the fixed design stream of ``label``, PILOT samples, in-process (the
    result is the same on any backend)."""
    return X.Executor().run(dataclasses.replace(job, label=""), D.PILOT, D.design_seed(label))


@dataclasses.dataclass
class Mean(_Single):
    """CLT test of E[column 0] of ``job`` (summaries: executor.Moments). ``sd``: a stated
    bound on the per-sample standard deviation, else a pilot × INFLATE. ``heavy``: run
    only on request (``nnmath verify --heavy``); the runner still counts it in the budget,
    so the other verdicts do not depend on whether it ran."""

    label: str
    exact: float
    foil: float
    job: X.Job
    sd: float | None = None
    foil_name: str = ""
    foil_why: str = ""
    heavy: bool = False
    method_note: str = "CLT normal approximation"

    @property
    def cap(self) -> int:
        return HEAVY_CAP if self.heavy else D.MAX_SAMPLES

    def _sd(self) -> tuple[float, str]:
        if self.sd is not None:
            return self.sd, "sd bound stated (derived)"
        pilot = _pilot(self.job, self.label)
        return (D.pilot_sd(self._pilot_sd(pilot)),
                f"sd from a fixed-seed pilot ({D.PILOT:,} samples) ×{D.INFLATE}")

    def _pilot_sd(self, pilot: X.Moments) -> float:
        return pilot.sd(0)

    def design(self, false_fail_rate: float, false_pass_rate: float) -> Design:
        sd, note = self._sd()
        n = D.sample_size(self.exact - self.foil, false_fail_rate, false_pass_rate, sd=sd,
                          cap=self.cap, what=self.label)
        return Design(n=n, sd=sd, note=note)

    def _sample(self, seed: Any, design: Design) -> X.Moments:
        job = dataclasses.replace(self.job, label=self.job.label or self.label)
        # as Moment: at least 2¹⁶ samples (rounded up), so the CLT's normal tail at the
        # budget's extreme quantiles is not asked of a few hundred draws
        n = -(-design.n // CHUNK_ROUND) * CHUNK_ROUND
        ms = X.run(job, n, _main_stream(seed))
        if ms.n < design.n:
            raise DesignError(f"{self.label}: {ms.n} samples, the design needs {design.n}")
        return ms

    def test(self, seed, alpha: float, beta: float, design: Design) -> TestResult:
        ms = self._sample(seed, design)
        return R.z_result(ms.mean[0], ms.se(0), self.exact, self.foil, ms.n, design.n,
                          alpha, beta, f"{self.method_note}; {design.note}")


@dataclasses.dataclass
class Paired(Mean):
    """E[f − g] on common random numbers: ``job`` summarises columns (f − g, f, g) of the
    same draws; ``sd`` bounds sd(f − g) (e.g. √E[(f − g)²] from a derived second moment)."""

    method_note: str = "paired (common random numbers), CLT normal approximation"

    def test(self, seed, alpha: float, beta: float, design: Design) -> TestResult:
        ms = self._sample(seed, design)
        unpaired = ms.var(1) + ms.var(2)
        ratio = ms.var(0) / unpaired if unpaired > 0 else math.nan
        note = (f"{self.method_note}; {design.note}; measured Var(f − g)/(Var f + Var g) = "
                f"{ratio:.3g}: an unpaired design would need about "
                f"{design.n / ratio if ratio > 0 else math.inf:,.0f} samples per arm")
        return R.z_result(ms.mean[0], ms.se(0), self.exact, self.foil, ms.n, design.n,
                          alpha, beta, note)


@dataclasses.dataclass
class ControlVariate(Mean):
    """E[f] by f̄ − β̂(c̄ − μ_c): ``job`` summarises columns (f, c); ``control_mean`` is
    μ_c = E[c], exact (from derive). ``sd`` bounds the residual sd √(Var f (1 − ρ²))."""

    control_mean: float = 0.0
    method_note: str = "control variate, CLT normal approximation"

    def _pilot_sd(self, pilot: X.Moments) -> float:
        return math.sqrt(_residual_var(pilot))

    def test(self, seed, alpha: float, beta: float, design: Design) -> TestResult:
        ms = self._sample(seed, design)
        est, se, b, vrf = control_estimate(ms, self.control_mean)
        note = (f"{self.method_note}; {design.note}; β̂ = {b:.4g}, measured variance "
                f"factor 1 − ρ̂² = {vrf:.3g} (the plain mean would need "
                f"{design.n / vrf if vrf > 0 else math.inf:,.0f} samples)")
        return R.z_result(est, se, self.exact, self.foil, ms.n, design.n, alpha, beta, note)


def _residual_var(ms: X.Moments) -> float:
    vf, vc, cfc = ms.var(0), ms.var(1), ms.cov(0, 1)
    return max(vf - cfc * cfc / vc, 0.0) if vc > 0 else vf


def control_estimate(ms: X.Moments, control_mean: float) -> tuple[float, float, float, float]:
    """(estimate, SE, β̂, 1 − ρ̂²) of E[f] from a summary of columns (f, c)."""
    vf, vc, cfc = ms.var(0), ms.var(1), ms.cov(0, 1)
    b = cfc / vc if vc > 0 else 0.0
    est = ms.mean[0] - b * (ms.mean[1] - control_mean)
    resid = _residual_var(ms)
    vrf = resid / vf if vf > 0 else math.nan
    return est, math.sqrt(resid / ms.n), b, vrf


# ---- chunk functions for users' callables (proofs.testing) -------------------------------
def user_paired_chunk(stream: Any, m: int, sampler: Any, f: Any, g: Any) -> X.Moments:
    """Columns (f − g, f, g) of m draws x = sampler(m, rng), rng from the chunk's stream."""
    import numpy as np
    x = sampler(m, np.random.default_rng(stream))
    fx = np.asarray(f(x), dtype=np.float64).ravel()
    gx = np.asarray(g(x), dtype=np.float64).ravel()
    return X.Moments.of(fx - gx, fx, gx)


def user_control_chunk(stream: Any, m: int, sampler: Any, f: Any, c: Any) -> X.Moments:
    """Columns (f, c) of m draws x = sampler(m, rng)."""
    import numpy as np
    x = sampler(m, np.random.default_rng(stream))
    return X.Moments.of(np.asarray(f(x), dtype=np.float64).ravel(),
                        np.asarray(c(x), dtype=np.float64).ravel())
