"""Tests of the claim framework, generated from the claim registry.

* every quick claim passes (`nnmath verify --quick`);
* every claim, with its exact value and foil exchanged, FAILS: the experiment rejects
  the foil (so no claim is a test that cannot fail);
* the same seed reproduces the same verdict table; another seed changes the estimates;
* the design check refuses too few samples; the CLI's exit codes.
"""
import json
import math

import numpy as np
import pytest

from proofs import claims, stats
from proofs.cli import verify_table
from proofs.stats import assertions, runner

ALL = list(claims.entries())
QUICK = [s for s, e in claims.entries().items() if e.quick]


def _describe(report) -> str:
    return verify_table.table([report])


@pytest.mark.parametrize("slug", QUICK)
def test_quick_claim_passes(slug):
    report = runner.run_claim(slug, quick=True)
    assert report.ok, _describe(report)


@pytest.mark.parametrize("slug", ALL)
def test_foil_is_rejected(slug):
    """Swap exact value and foil: every assertion must now reject its (swapped) 'exact'."""
    report = runner.run_claim(slug, quick=True, foil_mode=True)
    assert not report.error, report.error
    assert report.verdicts
    for v in report.verdicts:
        assert v.result is not None, f"{slug} / {v.label}: {v.error}"
        assert not v.result.accepted, (
            f"{slug} / {v.label}: the foil {v.result.exact} was NOT rejected:\n"
            + _describe(report))


def _strip(report_json):
    for c in report_json["claims"]:
        c.pop("seconds")
        c.pop("cpu_seconds")
    return report_json


REPRO = ["dropout-mean", "dropout-kept-count", "relu-moments", "data188-dropout"]


def test_same_seed_same_verdicts():
    a = runner.to_json(runner.run(REPRO, seed=7, quick=True), seed=7, budget=1e-9)
    b = runner.to_json(runner.run(REPRO, seed=7, quick=True), seed=7, budget=1e-9)
    assert _strip(a) == _strip(b)
    c = runner.to_json(runner.run(REPRO, seed=8, quick=True), seed=8, budget=1e-9)
    est = lambda r: [x["estimate"] for cl in r["claims"] for x in cl["assertions"]
                     if x["method"] == "clt-z"]
    assert est(a) != est(c)


def test_subset_does_not_change_a_claims_verdict():
    alone = runner.run(["relu-moments"], seed=3, quick=True)[0]
    together = runner.run(["dropout-mean", "relu-moments"], seed=3, quick=True)[1]
    assert [v.result.estimate for v in alone.verdicts] == \
        [v.result.estimate for v in together.verdicts]


def test_design_refuses_too_few_samples():
    from proofs.stats.sampler import dropout_relu_power_sums
    a = assertions.Moment("tiny", 0.4, 0.39, lambda n, s: dropout_relu_power_sums(n, s, 0.5),
                          "mean", sd=1.0, n=1000)
    with pytest.raises(stats.DesignError, match="design needs"):
        a.run(np.random.SeedSequence(0), 1e-10, 1e-10)


def test_design_sample_size_formula():
    n = stats.n_for_z_test(1.0, 0.01, 1e-9, 1e-9)
    z = stats.z_two_sided(1e-9) + stats.z_one_sided(1e-9)
    assert n == math.ceil((z / 0.01) ** 2)
    assert stats.n_for_dkwm(0.1, 1e-6, 1e-6) < stats.n_for_dkwm(0.05, 1e-6, 1e-6)
    with pytest.raises(ValueError, match="foil must differ"):
        stats.n_for_z_test(1.0, 0.0, 1e-9, 1e-9)
    with pytest.raises(ValueError, match="false_fail_rate"):
        stats.z_two_sided(2.0)


def test_budget_is_split_over_registered_claims():
    report = runner.run_claim("data188-dropout", quick=True)
    report2 = runner.run_claim("relu-moments", quick=True, budget=1e-9)
    alpha = report2.verdicts[0].result.false_fail_rate
    n_tests = len(report2.verdicts)
    assert alpha == pytest.approx(1e-9 / len(claims.entries()) / n_tests / 2)
    assert report.ok


def test_power_sums_statistics_are_exact_for_a_known_sample():
    from proofs.stats.sampler import PowerSums
    x = np.array([1.0, 2.0, 4.0, 7.0])
    ps = PowerSums.of(x)
    assert ps.mean()[0] == pytest.approx(x.mean())
    assert ps.variance()[0] == pytest.approx(x.var(ddof=1))
    assert ps.second_moment()[0] == pytest.approx((x ** 2).mean())


def test_sampler_threads_and_seed_reproducible():
    from proofs.stats.sampler import dropout_relu_power_sums
    a = dropout_relu_power_sums(1 << 20, 5, 0.3, threads=2)
    b = dropout_relu_power_sums(1 << 20, 5, 0.3, threads=2)
    assert a == b
    assert dropout_relu_power_sums(1 << 20, 6, 0.3, threads=2) != a
    with pytest.raises(ValueError, match="drop probability"):
        dropout_relu_power_sums(10, 0, 1.5)


def test_cli_unknown_slug_exit_2(capsys):
    from proofs.cli import main
    assert main(["verify", "dropout-meen"]) == 2
    err = capsys.readouterr().err
    assert "dropout-meen" in err and "dropout-mean" in err


def test_cli_json_and_exit_code(capsys):
    from proofs.cli import main
    code = main(["verify", "data188-dropout", "--json", "--no-progress"])
    out = json.loads(capsys.readouterr().out)
    assert out["claims"][0]["slug"] == "data188-dropout"
    assert code == (0 if out["ok"] else 1)


def test_list_shows_claim_only_rows(capsys):
    from proofs.cli import main
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for slug in ("stable-softmax", "batchnorm-batch-of-one", "depth-propagation",
                 "dropout-before-batchnorm", "optimizer-quadratic"):
        assert slug in out


def test_listing_runs_no_experiment():
    import subprocess
    import sys
    code = ("import sys, proofs.claims as c; c.entries(); "
            "print('numpy' in sys.modules, 'proofs.stats.sampler' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]


def test_plots_without_matplotlib_give_a_clear_message(monkeypatch, capsys):
    import sys

    from proofs import plots
    from proofs.cli import main
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import now fails
    assert "pip install" in plots.unavailable()
    assert main(["verify", "data188-dropout", "--plots", "/tmp/nnmath-no-plots"]) == 2
    assert "matplotlib" in capsys.readouterr().err


def test_plots_are_written(tmp_path):
    from proofs import plots
    if plots.unavailable():
        pytest.skip(plots.unavailable())
    paths = plots.write_all(str(tmp_path), seed=1, quick=True)
    assert [p.rsplit("/", 1)[-1] for p in paths] == ["depth_propagation.png",
                                                     "dropout_variance.png"]
    assert all((tmp_path / p.rsplit("/", 1)[-1]).stat().st_size > 10_000 for p in paths)
