"""Catalog §15: paired and control-variate assertions (engine and proofs.testing), the
heavy flag, and the verify options of the executor."""
import math

import numpy as np
import pytest
from scipy.special import erf

from proofs import claims
from proofs.cli import main
from proofs.stats import executor as X
from proofs.stats import paired, runner
from proofs.testing import DesignError, assert_mean_with_control, assert_paired_mean


def gelu(z):
    return z * (1 + erf(z / np.sqrt(2))) / 2


def gelu_tanh(z):
    return z / 2 * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z ** 3)))


def normal(n, rng):
    return rng.standard_normal(n)


def _exact(name):
    return claims.Context().exact("gelu-approx-bias", name)


# ---- proofs.testing --------------------------------------------------------------------
def test_paired_assertion_sees_the_tanh_bias_with_few_samples():
    bias = _exact("bias_tanh")
    res = assert_paired_mean(normal, gelu, gelu_tanh, bias, foil=0.0, seed=0)
    assert res.ok and res.n_required < 5_000  # an unpaired test needs billions
    assert "Var(f − g)/(Var f + Var g)" in res.note
    with pytest.raises(AssertionError, match="matches the foil"):
        assert_paired_mean(normal, gelu, gelu_tanh, 0.0, foil=bias, seed=0)


def test_paired_design_uses_a_stated_sd_bound():
    bias = _exact("bias_tanh")
    sd = math.sqrt(_exact("second_moment_diff_tanh"))
    res = assert_paired_mean(normal, gelu, gelu_tanh, bias, foil=0.0, seed=1, sd=sd)
    assert "stated" in res.note
    with pytest.raises(DesignError):
        assert_paired_mean(normal, gelu, gelu_tanh, bias, foil=0.0, n=100, sd=sd)


def test_paired_nan_never_passes():
    with pytest.raises(AssertionError):
        assert_paired_mean(normal, lambda z: z * np.nan, gelu_tanh, 0.0, n=1000, seed=0)


def test_control_variate_reports_coefficient_and_factor():
    mu_relu = 1 / math.sqrt(2 * math.pi)
    res = assert_mean_with_control(normal, gelu, lambda z: np.maximum(z, 0), mu_relu,
                                   _exact("mean_gelu"), foil=mu_relu, seed=3)
    assert res.ok and "β̂ = " in res.note and "1 − ρ̂²" in res.note
    with pytest.raises(AssertionError):
        assert_mean_with_control(normal, gelu, lambda z: np.maximum(z, 0), mu_relu,
                                 mu_relu, foil=_exact("mean_gelu"), seed=3)


def test_control_estimate_is_exact_on_a_linear_function():
    """f = 2c + 1 exactly: the controlled estimate is 2μ_c + 1 with zero residual."""
    rng = np.random.default_rng(0)
    c = rng.standard_normal(1000)
    ms = X.Moments.of(2 * c + 1, c)
    est, se, b, vrf = paired.control_estimate(ms, 0.0)
    assert est == pytest.approx(1.0, abs=1e-12) and b == pytest.approx(2.0)
    assert se < 1e-6 and vrf < 1e-12


# ---- claims and the runner --------------------------------------------------------------
def test_gelu_claim_detects_the_bias_quickly_and_skips_the_heavy_part():
    report = runner.run_claim("gelu-approx-bias", quick=True)
    assert report.ok, [(v.label, v.error) for v in report.verdicts]
    labels = [v.label for v in report.verdicts]
    assert all("paired" in lab for lab in labels) and len(labels) == 2
    assert all(v.result.n <= 1 << 18 for v in report.verdicts)


def test_heavy_assertion_counts_in_the_budget_even_when_skipped():
    entry = claims.get("gelu-approx-bias")
    built = entry.builder(claims.Context(quick=True))
    assert [getattr(a, "heavy", False) for a in built] == [False, False, True]
    heavy = built[-1]
    design = heavy.design(1e-12, 1e-12)
    assert design.n > 1e9  # the unpaired test needs billions of samples


# ---- the command line ---------------------------------------------------------------------
def test_verify_refuses_scheduler_with_dask(capsys):
    assert main(["verify", "paired-design", "--dask", "--scheduler", "tcp://x:1"]) == 2
    assert "not both" in capsys.readouterr().err


def test_verify_refuses_zero_workers(capsys):
    assert main(["verify", "paired-design", "--workers", "0"]) == 2
