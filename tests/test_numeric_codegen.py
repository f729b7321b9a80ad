"""numeric.codegen: the committed kernels are up to date, and its rewrites are safe."""
import re
import subprocess
import sys
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

from derive.core import Conclusion, Derivation
from numeric import codegen


def _source(expr, args, name="k"):
    d = Derivation("demo", "demo", "none")
    return codegen.kernel_source(Conclusion(name, expr, tuple(args), "demo kernel"), d)


def _compile(expr, args, name="k"):
    src = "import numpy\n" + _source(expr, args, name)
    ns: dict = {}
    exec(compile(src, "<kernel>", "exec"), ns)
    return ns[name], src


def test_codegen_check_is_green():
    run = subprocess.run([sys.executable, "-m", "proofs.cli", "codegen", "--check"], check=False,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr


def test_generation_is_deterministic():
    first, _, _, _ = codegen.generate()
    second, _, _, _ = codegen.generate()
    assert first == second and first


def test_check_names_stale_missing_and_orphaned(tmp_path):
    files, prints, _, _ = codegen.generate()
    name, text = next(iter(files.items()))
    slug = next(iter(codegen._header_prints(text)))
    (tmp_path / name).write_text(text.replace(prints[slug], "0" * 16))
    (tmp_path / "nothing.py").write_text("")
    problems = "\n".join(codegen.check(tmp_path))
    assert f"{name}: stale: {slug}" in problems
    assert "nothing.py: orphaned" in problems
    missing = [n for n in files if n != name]
    for n in missing:
        assert f"{n}: missing" in problems


def test_header_marks_generated_and_names_derivations():
    files, prints, _, _ = codegen.generate()
    for text in files.values():
        assert "GENERATED" in text.splitlines()[0]
        assert set(codegen._header_prints(text)) <= set(prints)
        assert "import sympy" not in text and "derive" not in text.split("def ")[0].replace(
            "derive/", "").replace("derivation", "")


x, a = sp.symbols("x alpha", real=True)


def test_sigmoid_is_evaluated_without_overflow():
    s = 1 / (1 + sp.exp(-x))
    for expr in (s, sp.diff(s, x), s * (1 - s), x * 1 / (1 + sp.exp(-a * x)),
                 sp.diff(x / (1 + sp.exp(-a * x)), x)):
        f, src = _compile(expr, [x, a])
        assert "expit" in src.split('"""')[1], src  # the docstring names σ
        # every exp in the code has an argument ≤ 0: e^{min(u, 0)} or e^{−|u|}
        assert "numpy.exp(" in src and not re.search(
            r"numpy\.exp\((?!numpy\.minimum\(0, |-(\d+\*)?abs\()", src), src
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # underflow to 0 is the right value far out
            with np.errstate(over="raise", invalid="raise", divide="raise"):
                vals = f(np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0]), 1.0)
        assert np.all(np.isfinite(vals))
        ref = sp.lambdify([x, a], expr, "mpmath")
        for v in (-30.0, -1.0, 0.5, 30.0):
            with mpmath.workdps(50):  # s·(1 − s) at 30 cancels at mpmath's default 15 digits
                exact = float(ref(v, 1.0))
            assert float(f(np.array(v), 1.0)) == pytest.approx(exact, rel=1e-12, abs=1e-300)


def test_expm1_log1p_and_erfc_rewrites():
    f, src = _compile(a * (sp.exp(x) - 1), [x, a])
    assert "numpy.expm1" in src
    assert float(f(1e-12, 1.0)) == pytest.approx(1e-12, rel=1e-12)
    f, src = _compile(sp.log(1 + x), [x])
    assert "numpy.log1p" in src
    gelu = x * (1 + sp.erf(x / sp.sqrt(2))) / 2
    f, src = _compile(gelu, [x])
    assert "scipy.special.erfc" in src and "math.erf" not in src
    # far in the left tail 1 + erf underflows to 0 but erfc keeps the value
    exact = float(sp.N(gelu.subs(x, -20), 30))
    assert float(f(np.array(-20.0))) == pytest.approx(exact, rel=1e-10)
    f, src = _compile(sp.log(1 + sp.exp(x)), [x])
    assert "logaddexp" in src
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert float(f(np.array(1000.0))) == 1000.0


def test_per_feature_factor_is_hoisted():
    g, xhat, gm, gxm, gamma, inv = sp.symbols("g xhat g_mean g_xhat_mean gamma inv_std",
                                              real=True)
    src = _source(gamma * inv * (g - gm - xhat * gxm), [g, xhat, gm, gxm, gamma, inv])
    body = src.split('"""')[-1]
    lines = [line.strip() for line in body.strip().splitlines()]
    assert lines[0] == "col0 = gamma*inv_std", src
    # out=None: one expression, the per-feature factor applied by the stored last step
    assert "return numpy.multiply(col0, g - g_mean - g_xhat_mean*xhat, out=out)" in lines
    # given out: the in-place chain ends by scaling with the hoisted row factor
    assert lines[-2:] == ["numpy.multiply(out, col0, out=out)", "return out"], src
    assert "out=None" in src.splitlines()[0]
    f, _ = _compile(gamma * inv * (g - gm - xhat * gxm), [g, xhat, gm, gxm, gamma, inv])
    rng = np.random.default_rng(0)
    args = [rng.standard_normal((4, 3)), rng.standard_normal((4, 3))] + \
        [rng.standard_normal(3) for _ in range(4)]
    out = np.empty((4, 3))
    assert f(*args, out=out) is out
    np.testing.assert_allclose(out, args[4] * args[5] * (args[0] - args[2] - args[1] * args[3]))


def test_piecewise_branches_do_not_warn():
    elu = sp.Piecewise((x, x > 0), (a * (sp.exp(x) - 1), True))
    f, _src = _compile(elu, [x, a])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = f(np.array([-1000.0, -1.0, 0.0, 2.0, 1000.0]), 1.0)
    assert np.all(np.isfinite(out)) and out[-1] == 1000.0 and out[0] == -1.0


def test_generated_modules_import_no_sympy():
    files, _, _, _ = codegen.generate()
    for text in files.values():
        assert "sympy" not in text.replace("SymPy", "")
