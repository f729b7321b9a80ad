"""Specific checks of catalog section 3 beyond the registry-generated tests."""
import sympy as sp

import derive


def _args(slug, name):
    return [str(a) for a in derive.get(slug).conclusions[name].args]


def test_kernel_names_and_arguments_follow_the_contract():
    assert _args("batchnorm-forward", "batchnorm_normalize") == ["x", "mean", "var", "eps"]
    assert _args("batchnorm-forward", "batchnorm_affine") == ["xhat", "gamma", "beta"]
    assert _args("batchnorm-backward", "batchnorm_backward_input") == [
        "g", "xhat", "g_mean", "g_xhat_mean", "gamma", "inv_std"]
    assert _args("layernorm-backward", "layernorm_backward_input") == [
        "g", "xhat", "g_mean", "g_xhat_mean", "gamma", "inv_std"]
    assert _args("batchnorm-std-eps", "batchnorm_std_eps_backward_input") == [
        "g", "xc", "g_mean", "g_xc_mean", "gamma", "sigma", "eps"]


def test_layernorm_example_row_two_is_exact_and_the_0_01_erratum_is_recorded():
    d = derive.get("data188-layernorm")
    out = d.values["data188_layernorm_output"]
    assert list(out.row(1)) == [-1, sp.Rational(-5, 3), 0, sp.Rational(20, 3)]
    (e,) = d.errata
    assert e.stated_expr == sp.Rational(1, 100) and e.correct_expr == 0
    assert any(entry[0] == (2, 3) for entry in d.values["layernorm_output_discrepancies"])


def test_batchnorm_example_column_one_and_rounding_report():
    d = derive.get("data188-batchnorm")
    out = d.values["data188_batchnorm_output"]
    r2 = sp.sqrt(2)
    assert [sp.simplify(a - b) for a, b in zip(out.col(0), [-1 / r2, -1 / r2, r2])] == [0] * 3
    found = {rc for rc, *_ in d.values["batchnorm_output_discrepancies"]}
    assert (3, 4) in found and (1, 1) not in found  # 5.64 vs 4√2; −0.71 is correct


def test_epsilon_term_vanishes_only_at_zero_epsilon():
    d = derive.get("batchnorm-backward")
    last = d.current
    eps = next(s for s in last.free_symbols if s.name == "varepsilon")
    assert last.subs(eps, 0) == 0 and last.subs(eps, sp.Rational(1, 10)) != 0
