"""`nnmath activation` and `nnmath gains` end to end, through a subprocess."""
import concurrent.futures
import json
import math
import subprocess
import sys
import time

import numpy as np
import pytest

from test_custom_activation import _extra_hostile
from test_safe_parse import hostile_inputs

MISH = "x*tanh(log(1+exp(x)))"
ARG_LIMIT = 100_000  # longer texts go through standard input (Linux caps one argv string)


def nnmath(*args, stdin=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "proofs.cli", *args], input=stdin, check=False,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def hostile_runs(tmp_path_factory):
    """Every hostile text through `nnmath activation` (in parallel), with its sentinel."""
    base = tmp_path_factory.mktemp("hostile")
    jobs = {}
    for name in list(hostile_inputs("s")) + list(_extra_hostile("s")):
        sentinel = base / f"sentinel-{len(jobs)}"
        text = {**hostile_inputs(sentinel), **_extra_hostile(sentinel)}[name]
        jobs[name] = (sentinel, text)

    def one(item):
        name, (sentinel, text) = item
        if len(text) > ARG_LIMIT:
            return name, nnmath("activation", "-", stdin=text), sentinel
        return name, nnmath("activation", "--", text), sentinel

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        return {name: (res, sentinel) for name, res, sentinel in pool.map(one, jobs.items())}


@pytest.mark.parametrize("name", list(hostile_inputs("s")) + list(_extra_hostile("s")))
def test_cli_refuses_hostile_input_with_status_2(name, hostile_runs):
    res, sentinel = hostile_runs[name]
    assert res.returncode == 2, (res.stdout[-500:], res.stderr[-500:])
    assert "refused" in res.stderr and len(res.stderr.strip()) > 20
    assert res.stdout == ""  # nothing was analysed or printed
    assert not sentinel.exists()


@pytest.fixture(scope="module")
def mish_json():
    start = time.perf_counter()
    res = nnmath("activation", MISH, "--json", "--seed", "7", "--samples", "300000")
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout), time.perf_counter() - start


def test_mish_end_to_end_json(mish_json):
    data, seconds = mish_json
    assert data["ok"] and all(row["ok"] for row in data["monte_carlo"])
    assert len(data["monte_carlo"]) == 6 and {r["variance"] for r in data["monte_carlo"]} == {1, 2}
    for row in data["monte_carlo"]:  # the foil is far outside the acceptance region
        assert abs(row["foil_z"]) > row["critical"] and abs(row["z"]) <= row["critical"]
    m = data["moments"]["1"]
    assert m["mean"]["exact"] is False and m["mean"]["method"] == "quadrature"
    assert data["fixed_point"]["exists"] and data["fixed_point"]["contracts"]
    assert seconds < 60  # generous here; the 10 s target is measured in the report


def test_generated_kernel_is_mish_and_its_derivative(mish_json):
    data, _ = mish_json
    namespace = {}
    exec(compile(data["kernel_source"], "<kernel>", "exec"), namespace)  # our own output
    f, df = namespace["activation"], namespace["activation_grad"]
    x = np.linspace(-8, 8, 101)
    np.testing.assert_allclose(f(x), x * np.tanh(np.log1p(np.exp(x))), rtol=1e-12, atol=1e-15)
    h = 1e-5
    np.testing.assert_allclose(df(x), (f(x + h) - f(x - h)) / (2 * h), rtol=1e-7, atol=1e-9)
    with np.errstate(over="raise", invalid="raise"):  # stable far out (logaddexp, expit)
        assert np.all(np.isfinite(df(np.array([-800.0, 800.0]))))


def test_mish_text_output_and_latex():
    res = nnmath("activation", MISH, "--samples", "100000", "--digits", "15")
    assert res.returncode == 0, res.stderr
    for part in ("derivative", "E[f'(z)²]", "forward", "α =", "spectral radius",
                 "def activation(x):", "def activation_grad(x):", "Monte Carlo check", "pass"):
        assert part in res.stdout
    tex = nnmath("activation", MISH, "--latex", "--samples", "100000", "--digits", "15")
    assert tex.returncode == 0 and tex.stdout.startswith("\\documentclass")
    assert "\\end{document}" in tex.stdout and "Monte Carlo" in tex.stdout


def test_a_relu_user_is_told_there_is_no_fixed_point():
    res = nnmath("activation", "relu(x)", "--json", "--samples", "100000")
    data = json.loads(res.stdout)
    assert res.returncode == 0 and not data["fixed_point"]["exists"]
    assert data["gains"]["1"]["forward"]["expr"] == "sqrt(2)"


def test_bad_option_exits_2():
    res = nnmath("activation", "tanh(x)", "--q", "-1")
    assert res.returncode == 2 and "variance" in res.stderr


@pytest.fixture(scope="module")
def gains():
    res = nnmath("gains", "--json")
    assert res.returncode == 0, res.stderr
    return {row["activation"]: row for row in json.loads(res.stdout)}


def test_gains_table_contents(gains):
    assert len(gains) == 9
    relu = gains["relu"]
    assert relu["derived_q1"]["expr"] == "sqrt(2)" and relu["exact"]
    assert relu["status"] == "variance-preserving"
    leaky = next(v for k, v in gains.items() if k.startswith("leaky"))
    assert leaky["status"] == "variance-preserving"
    assert leaky["derived_q1"]["value"] == pytest.approx(math.sqrt(2 / (1 + 0.01**2)), 1e-15)
    tanh = gains["tanh"]
    assert tanh["table"]["expr"] == "5/3" and tanh["status"] == "heuristic"
    assert abs(tanh["derived_q1"]["value"] - 5 / 3) > 0.05
    assert gains["selu"]["status"] == "heuristic"
    assert gains["selu"]["derived_q1"]["value"] == pytest.approx(1, abs=1e-15)
    assert gains["sigmoid"]["table"]["value"] == 1 and gains["sigmoid"]["status"] == "heuristic"
    for name in ("gelu", "mish", "elu (α = 1)", "swish / silu"):
        assert gains[name]["table"] is None and gains[name]["status"] == "no table value"
    assert gains["mish"]["derived_q1"]["value"] == pytest.approx(1.486847581273208, 1e-12)


def test_gains_text():
    res = nnmath("gains")
    assert res.returncode == 0
    assert "heuristic" in res.stdout and "variance-preserving" in res.stdout
    assert "PyTorch's calculate_gain has none" in res.stdout


# ---- issue 14: every edge expression passes with a correct value or is refused ---------
REFUSED_FAST = {"exp(exp(exp(x)))": "infinite", "x*exp(exp(exp(100)))": "too large"}
REFUSED_SLOW = {"1/x": "non-zero", "sqrt(x)": "non-negative", "1/x**2": "non-zero",
                "log(x)": "positive", "x**x": "positive", "exp(x**2)": "infinite"}


def _edge_runs(cases):
    def one(text):
        start = time.perf_counter()
        res = nnmath("activation", "--samples", "1000", "--", text, timeout=200)
        return text, res, time.perf_counter() - start

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        return {text: (res, sec) for text, res, sec in pool.map(one, cases)}


def _assert_refused(runs, cases):
    for text, words in cases.items():
        res, seconds = runs[text]
        assert res.returncode == 2, (text, res.stderr[-800:])
        assert res.stdout == "" and res.stderr.count("\n") == 1, (text, res.stderr)
        assert "refused" in res.stderr and words in res.stderr, (text, res.stderr)
        for internal in ("Traceback", "mpf", "InvalidOperation", "MemoryError"):
            assert internal not in res.stderr
        assert seconds < 90, (text, seconds)


def test_edge_expressions_are_refused_in_one_line_with_exit_2():
    _assert_refused(_edge_runs(list(REFUSED_FAST)), REFUSED_FAST)


@pytest.mark.slow
def test_more_edge_expressions_are_refused_in_one_line_with_exit_2():
    _assert_refused(_edge_runs(list(REFUSED_SLOW)), REFUSED_SLOW)


def test_heavy_tails_never_fail_a_correct_value(monkeypatch):
    """x**8: each test is sized by the DERIVED variance (E[f²] = 15!!, E[f⁴] = 31!!,
    E[f'⁴] = 8⁴·27!!) and uses it for its SE. With the cap lowered to 10⁶ samples, E[f²]
    (4.7·10⁶ needed) and E[f'²] (1.2·10⁶) cannot be sized: they are reported as not
    tested, not as failures, and E[f] (1.8·10⁴ needed) passes."""
    from derive.custom import analyse_activation
    from proofs.cli import activation
    from proofs.cli.activation import kernel, monte_carlo, sized

    monkeypatch.setattr(activation, "MAX_SAMPLES", 1_000_000)
    a = analyse_activation("x**8", q=2)
    _, f, df = kernel(a)
    rows = monte_carlo(a, f, df, samples=1000, seed=3)
    tested = [r for label, *_, r in rows if sized(r)]
    untested = [label for label, *_, r in rows if not sized(r)]
    assert len(tested) == 2 and all(r.ok and r.n >= r.n_required for r in tested)
    assert sorted(untested) == ["E[f'(z)²]"] * 2 + ["E[f(z)²]"] * 2
    for *_, r in rows:
        if not sized(r):
            assert "cannot be sized" in r.note and r.n_required > 1_000_000


@pytest.mark.slow
@pytest.mark.parametrize("text", ["x**64", "x**16", "sin(x)**63*cos(x)**63"])
def test_edge_expressions_pass_with_correct_values(text):
    start = time.perf_counter()
    res = nnmath("activation", "--json", "--", text, timeout=300)
    assert res.returncode == 0, res.stderr[-800:]
    data = json.loads(res.stdout)
    assert not any(r["sized"] and not r["ok"] for r in data["monte_carlo"])
    assert time.perf_counter() - start < 120
    if text.startswith("sin"):  # the value a single tanh–sinh rule got wrong (6.86e-42)
        m = data["moments"]["1"]["second_moment"]
        assert m["value"] == pytest.approx(8.3334863388654e-40, rel=1e-12)
        assert m["digits"] >= 15


def test_verify_plots_into_an_existing_file_fails_before_the_run(tmp_path):
    target = tmp_path / "a-file"
    target.write_text("keep me")
    start = time.perf_counter()
    res = nnmath("verify", "--plots", str(target), timeout=60)
    assert res.returncode == 2 and "not a directory" in res.stderr
    assert res.stdout == "" and target.read_text() == "keep me"
    assert time.perf_counter() - start < 30  # no claim was run
