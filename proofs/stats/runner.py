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
              foil_mode: bool = False) -> ClaimReport:
    """Build and run one claim. ``foil_mode`` swaps exact and foil (used by the tests that
    show each foil is rejected: the swapped claim must then FAIL)."""
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
        progress: Callable[[str], None] | None = None) -> list[ClaimReport]:
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
                                 n_claims=len(known)))
    return reports


# ---- output ------------------------------------------------------------------------------
def _fmt(x: float | None) -> str:
    if x is None:
        return ""
    if isinstance(x, float) and math.isnan(x):
        return "—"
    if isinstance(x, float) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    if abs(x) >= 1e5 or abs(x) < 1e-3:
        return f"{x:.3e}"
    return f"{x:.6g}"


def _z(z: float | None) -> str:
    if z is None:
        return ""
    if math.isinf(z):
        return "inf"
    if math.isnan(z):
        return "nan"
    return f"{z:+.2f}" if abs(z) < 1e4 else f"{z:+.1e}"


def table(reports: list[ClaimReport]) -> str:
    rows = [("claim", "assertion", "method", "exact", "estimate", "SE", "z", "foil z",
             "verdict")]
    for r in reports:
        if r.error:
            rows.append((r.slug, "(building the claim)", "—", "—", "—", "—", "—", "—",
                         "ERROR " + r.error[:100]))
        for v in r.verdicts:
            if v.result is None:
                rows.append((r.slug, v.label, "—", "—", "—", "—", "—", "—",
                             "ERROR " + v.error.splitlines()[-1][:100]))
                continue
            t = v.result
            verdict = "pass" if t.ok else ("FAIL: foil not rejected" if t.accepted
                                           else "FAIL")
            rows.append((r.slug, v.label, t.method, _fmt(t.exact), _fmt(t.estimate),
                         _fmt(t.se), _z(t.z), _z(t.foil_z), verdict))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    widths = [min(w, 44) for w in widths]
    lines = []
    for j, row in enumerate(rows):
        cells = [str(c)[:w] if i < 8 else str(c) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(c.ljust(w) if i < 2 or i == 2 else c.rjust(w) if i < 8 else c
                               for i, (c, w) in enumerate(zip(cells, widths))).rstrip())
        if j == 0:
            lines.append("-" * min(sum(widths) + 16, 160))
    n_ass = sum(len(r.verdicts) for r in reports)
    n_fail = sum(1 for r in reports for v in r.verdicts if not v.ok) + sum(
        1 for r in reports if r.error)
    lines.append("")
    lines.append(f"{len(reports)} claims, {n_ass} assertions, {n_fail} failed; "
                 f"{sum(r.seconds for r in reports):.1f} s "
                 f"({sum(r.cpu_seconds for r in reports):.1f} s of CPU time)")
    return "\n".join(lines)


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
