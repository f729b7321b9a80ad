"""Catalog §14 (derive/meanfield.py, proofs/claims/meanfield.py, `activation --meanfield`).

The generated tests (test_derivations, test_proofs_claims, test_numeric_codegen) cover
building, perturbation, cross-checks, LaTeX and claim/foil; these check the general
procedure against the derivations and the command line.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

import derive
from derive import meanfield as M


def test_general_procedure_on_tanh_reproduces_meanfield_chi():
    """The code behind `--meanfield` finds the same edge as the tanh derivation."""
    x = sp.Symbol("x", real=True)
    edge = M.edge_of_chaos(M.Activation(sp.tanh(x), x), float(M.EDGE_SIGMA_B2))
    assert edge is not None
    q, w = edge
    ref = float(derive.get("meanfield-chi").values["tanh_edge_sigma_w2"])
    assert w.lo - 1e-11 <= ref <= w.hi + 1e-11
    assert abs(w.value - 1.7610) < 1e-4  # Schoenholz et al. 2017 (Fig. 1) quote ≈ 1.76
    assert q.lo < float(derive.get("meanfield-chi").values["tanh_edge_q"]) < q.hi


def test_relu_fixed_point_and_chi_match_closed_forms():
    x = sp.Symbol("x", real=True)
    act = M.Activation(sp.Max(0, x), x)
    qstar = derive.get("meanfield-length").values["relu_q_star"]
    sw, sb = sorted(qstar.free_symbols, key=lambda s: s.name)  # sigma_b, sigma_w
    for w2, b2 in ((1.0, 0.05), (1.5, 0.3)):
        m = M.analyse(act, w2, b2)
        exact = float(qstar.subs({sw: math.sqrt(b2), sb: math.sqrt(w2)}))
        assert m.q_star is not None and abs(m.q_star.value - exact) < 1e-9 * exact
        assert abs(m.chi_1 - w2 / 2) < 1e-9
        assert abs(m.xi_c - (-1 / math.log(w2 / 2))) < 1e-6
    assert M.analyse(act, 2.5, 0.05).q_star is None  # σ_w² > 2: q grows without bound


def test_fixed_point_bracket_is_verified_and_contains_the_root():
    x = sp.Symbol("x", real=True)
    qb = M.fixed_point(M.Activation(sp.tanh(x), x), 2.0, 2.0)
    assert qb is not None and qb.lo < qb.value < qb.hi
    assert (qb.f_lo - qb.err_lo > 0) and (qb.f_hi + qb.err_hi < 0)
    assert abs(qb.value - float(derive.get("meanfield-length").values["tanh_q_star"])) < 1e-10


def _polar(c: float) -> tuple[float, float]:
    """(kernel, NTK) at ‖x‖ = ‖y‖ = 1, cos θ = c: w = r(cos α, sin α) in the plane of
    x = (1, 0), y = (c, √(1 − c²)); the radial integrals are 1/π (ReLU·ReLU) and 1/(2π)
    (step·step), the angle by scipy.integrate.quad split at the kinks."""
    from scipy import integrate
    s = math.sqrt(1 - c * c)
    pts = [math.acos(c) - math.pi / 2, math.pi / 2]

    def both(a: float) -> float:
        return max(math.cos(a), 0) * max(c * math.cos(a) + s * math.sin(a), 0)

    def steps(a: float) -> float:
        return float(math.cos(a) > 0 and c * math.cos(a) + s * math.sin(a) > 0)

    def angular(g):
        return integrate.quad(g, -math.pi, math.pi, points=pts, epsabs=1e-13, limit=200)[0]
    k = angular(both) / math.pi
    return k, k + c * angular(steps) / (2 * math.pi)


def test_arccos_kernel_against_polar_quadrature():
    from numeric.kernels.meanfield import arccos_kernel, relu_ntk
    for c in (-0.9, -0.3, 0.0, 0.4, 0.95):
        k, ntk = _polar(c)
        assert abs(arccos_kernel(c, 1.0, 1.0, 1.0) - k) < 1e-10, c
        assert abs(relu_ntk(c, 1.0, 1.0) - ntk) < 1e-10, c


def test_kernel_is_accurate_near_identical_inputs():
    from numeric.kernels.meanfield import arccos_kernel
    c = np.array([1.0, 1 - 1e-12, -1.0])
    k = arccos_kernel(c, 2.0, 3.0, 1.0)
    assert k[0] == pytest.approx(3.0, rel=1e-15)  # θ = 0: ‖x‖‖y‖/2
    assert k[2] == 0.0                             # θ = π: no overlap of the half-spaces
    assert np.all(np.isfinite(k))


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "proofs.cli", "activation", *args],
                          capture_output=True, text=True, timeout=120, check=False)


def test_cli_meanfield_json_and_refusals():
    r = _cli("tanh(x)", "--meanfield", "--json", "--sigma-w2", "1")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    ref = float(derive.get("meanfield-chi").values["tanh_edge_sigma_w2"])
    assert abs(data["edge"]["sigma_w2"]["value"] - ref) < 1e-10
    row = data["rows"][0]
    assert row["phase"] == "ordered"
    assert abs(row["chi_1"] - float(derive.get("meanfield-chi").values["tanh_chi_ordered"])) \
        < 1e-9
    r = _cli("tanh(x)", "--meanfield", "--sigma-b2", "-1")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--sigma-b2" in r.stderr, r.stderr
