"""Slow tests (deselected by default; run with `python -m pytest -m slow`): the full-size
claims, their foils at full size, and a smoke run of the benchmark scripts."""
import pathlib
import subprocess
import sys

import pytest

from proofs import claims
from proofs.cli import verify_table
from proofs.stats import runner

pytestmark = pytest.mark.slow
ALL = list(claims.entries())
ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("slug", ALL)
def test_full_size_claim_passes(slug):
    report = runner.run_claim(slug, quick=False)
    assert report.ok, verify_table.table([report])


@pytest.mark.parametrize("slug", ALL)
def test_full_size_foil_is_rejected(slug):
    report = runner.run_claim(slug, quick=False, foil_mode=True)
    assert not report.error, report.error
    assert report.verdicts and all(v.result is not None and not v.result.accepted
                                   for v in report.verdicts), verify_table.table([report])


@pytest.mark.parametrize("script, args", [
    ("bench_kernels.py", ["--quick", "--reps", "1"]),
    ("bench_sampler.py", ["--samples", "20000000", "--threads", "1", "2"]),
])
def test_benchmark_script_runs(script, args):
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], check=False,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "M samples/s" in run.stdout or "generated" in run.stdout
