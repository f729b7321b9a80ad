"""Run claims: split the false-fail budget, seed every assertion, collect verdicts.

Budget (Bonferroni): the suite's budget B (default 1e-9) is shared equally by the
registered claims (not only the ones selected, so a verdict does not depend on which other
claims ran); a claim's share is shared equally by its assertions, and each assertion's
share is split in two halves: α for rejecting the exact value wrongly (false fail) and
β for failing to reject the foil (which also counts as a failure). So the probability
that a correct suite reports any failure is at most B (for the CLT tests: up to the
normal approximation, stated in each verdict).

Seeds: assertion i of claim SLUG uses SeedSequence(seed, spawn_key=(crc32(SLUG), i)):
independent streams, reproducible, and unchanged by running a subset of claims.
"""
from __future__ import annotations

import dataclasses
import math
import sys
import time
import traceback
import zlib
from collections.abc import Callable, Iterable
from typing import Any

from .. import claims as registry
from .assertions import Assertion
from .design import Design
from .results import TestResult

DEFAULT_BUDGET = 1e-9
DEFAULT_SEED = 20261121


@dataclasses.dataclass
class Verdict:
    claim: str
    label: str
    result: TestResult | None
    error: str = ""
    foil_name: str = ""
    foil_why: str = ""

    @property
    def ok(self) -> bool:
        return self.result is not None and self.result.ok and not self.error


@dataclasses.dataclass
class ClaimReport:
    slug: str
    title: str
    verdicts: list[Verdict]
    seconds: float
    error: str = ""
    cpu_seconds: float = 0.0  # process CPU time (all threads): load-independent cost

    @property
    def ok(self) -> bool:
        return not self.error and bool(self.verdicts) and all(v.ok for v in self.verdicts)


_DESIGNS: dict[tuple, Design] = {}


def _design(a: Assertion, key: tuple) -> Design:
    """The assertion's design, computed once per process: it is a deterministic function
    of the claim (built from ``quick``), its index, the foil swap and the rates
    (proofs.stats.design), so caching it changes no verdict."""
    if key not in _DESIGNS:
        _DESIGNS[key] = a.design(key[-2], key[-1])
    return _DESIGNS[key]


def seed_for(seed: int, slug: str, index: int):
    import numpy as np
    return np.random.SeedSequence(seed, spawn_key=(zlib.crc32(slug.encode()), index))


def run_claim(slug: str, *, seed: int = DEFAULT_SEED, quick: bool = False,
              budget: float = DEFAULT_BUDGET, n_claims: int | None = None,
              foil_mode: bool = False, heavy: bool = False) -> ClaimReport:
    """Build and run one claim. ``foil_mode`` swaps exact and foil (used by the tests that
    show each foil is rejected: the swapped claim must then FAIL). Assertions marked
    ``heavy`` (billions of samples; proofs.stats.paired) run only with ``heavy=True``; they
    count in the budget either way, so no other verdict depends on the flag."""
    entry = registry.get(slug)
    n_claims = n_claims or len(registry.entries())
    t0, c0 = time.perf_counter(), time.process_time()
    ctx = registry.Context(quick=quick)
    try:
        assertions = entry.builder(ctx)
    except Exception as exc:
        return ClaimReport(slug, entry.title, [], time.perf_counter() - t0,
                           f"{type(exc).__name__}: {exc}")
    if not assertions:
        return ClaimReport(slug, entry.title, [], time.perf_counter() - t0,
                           "claim built no assertions")
    n_tests = sum(a.count for a in assertions)
    share = budget / n_claims / n_tests
    alpha = beta = share / 2
    verdicts: list[Verdict] = []
    for i, a in enumerate(assertions):
        if getattr(a, "heavy", False) and not heavy:
            continue
        if foil_mode:
            a = _swapped(a)
        foil_name, why = a.foil_name, getattr(a, "foil_why", "")
        try:
            design = _design(a, (slug, i, quick, foil_mode, alpha, beta))
            verdicts.extend(Verdict(slug, lab, r, foil_name=foil_name, foil_why=why)
                            for lab, r in a.run(seed_for(seed, slug, i), alpha, beta, design))
        except Exception as exc:
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            verdicts.append(Verdict(slug, a.label, None, detail))
    return ClaimReport(slug, entry.title, verdicts, time.perf_counter() - t0,
                       cpu_seconds=time.process_time() - c0)


def _swapped(a):
    """The same assertion with exact value and foil exchanged."""
    if hasattr(a, "foil_impl"):
        return dataclasses.replace(a, impl=a.foil_impl, foil_impl=a.impl)
    if hasattr(a, "foil_cdf"):
        return dataclasses.replace(a, cdf=a.foil_cdf, foil_cdf=a.cdf, mean=a.foil_mean,
                                   foil_mean=a.mean)
    return dataclasses.replace(a, exact=a.foil, foil=a.exact)


def run(slugs: Iterable[str] | None = None, *, seed: int = DEFAULT_SEED, quick: bool = False,
        budget: float = DEFAULT_BUDGET,
        progress: Callable[[str], None] | None = None,
        heavy: bool = False) -> list[ClaimReport]:
    known = registry.entries()
    if slugs:
        selected = [registry.get(s).slug for s in slugs]
    else:
        selected = [s for s, e in known.items() if e.quick or not quick]
    reports = []
    t0 = time.perf_counter()
    for i, slug in enumerate(selected, 1):
        if progress:
            progress(f"[{i}/{len(selected)}] {slug} ... ({time.perf_counter() - t0:.1f} s)")
        reports.append(run_claim(slug, seed=seed, quick=quick, budget=budget,
                                 n_claims=len(known), heavy=heavy))
    return reports


# ---- output (the reader's table is proofs/cli/verify_table.py) ------------------------
def to_json(reports: list[ClaimReport], *, seed: int, budget: float) -> dict:
    out: dict[str, Any] = {"seed": seed, "false_fail_budget": budget,
                           "ok": bool(all(r.ok for r in reports)), "claims": []}
    for r in reports:
        c: dict[str, Any] = {"slug": r.slug, "title": r.title, "ok": bool(r.ok),
                             "seconds": round(r.seconds, 3),
                             "cpu_seconds": round(r.cpu_seconds, 3),
                             "error": r.error, "assertions": []}
        for v in r.verdicts:
            a = {"label": v.label, "ok": bool(v.ok), "error": v.error, "foil": v.foil_name,
                 "foil_name": v.foil_name, "foil_why": v.foil_why}
            if v.result is not None:  # its fields (foil: the foil's value, foil_distance)
                d = dataclasses.asdict(v.result)
                d = {k: _plain(x) for k, x in d.items()}
                a.update(d)
            c["assertions"].append(a)
        out["claims"].append(c)
    return out


def _plain(x):
    """JSON-safe: NumPy scalars to Python, non-finite floats to None."""
    if hasattr(x, "item") and not isinstance(x, (list, dict, str)):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def stderr_progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
