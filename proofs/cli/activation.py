"""``nnmath activation "EXPR"``: your own activation, end to end.

Prints f', the Gaussian moments E[f], E[f²], E[f'²] under N(0, 1) and N(0, q) (exact or
quadrature, flagged), the forward and backward gains, the SELU-like fixed point and its
contraction (all from :func:`derive.custom.analyse_activation`), the NumPy kernel source
for f and f' (numeric.codegen's printer and floating-point rewrites), and a Monte Carlo
check of the moments with stated error rates and a foil.

The text is parsed by derive.safe_parse (Python's ast against an allowlist): a refused
text prints the reason on stderr and exits with status 2 before anything is evaluated.
An expression that starts with '-' must follow ``--`` (``nnmath activation -- "-x"``).

Monte Carlo design: z = √v·ξ, ξ ~ N(0, 1) from ``numpy.random.default_rng`` with child
seeds of ``SeedSequence(seed)``; each moment E[y] (y = f, f² or f'²) gets a CLT z-test
(normal approximation) that accepts the derived value when |z| ≤ z_{α/2}; the
family-wise false-fail rate (default 1e-6) is split equally (Bonferroni) over the tests.
Each test has a foil, a plausible wrong value (ReLU's moment, else the derived value off
by 5%), which must be rejected at false-pass rate 1e-6. The standard deviation of y is
DERIVED, not estimated: sd² = E[y²] − E[y]² with E[y²] = E[f²], E[f⁴] or E[f'⁴] from the
analysis (exact or verified quadrature, plus its error bound). It sizes the test (n from
``proofs.stats.sample_size``) and gives its SE = sd/√n, so a heavy tail that the
samples rarely reach cannot shrink the SE and fail a correct value. A test whose E[y²]
is infinite, or that needs more than 10 000 000 samples, or whose float64 kernel
overflows to ±inf, is not run: its row says it cannot be sized at this budget (not a
failure). A kernel that gives NaN fails its test.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp

from derive.custom import ActivationAnalysis, _variance, analyse_activation
from derive.safe_parse import MAX_LENGTH, UnsafeExpression, X, parse_activation

from .. import stats
from ..stats import TestResult
from . import UsageError, nonnegative_int

__all__ = ["McRow", "add_arguments", "kernel", "monte_carlo", "run", "sized"]

MAX_SAMPLES = 10_000_000
MAX_SECONDS = 60.0  # the analysis (derive.custom's limit)
FALSE_PASS_RATE = 1e-6
FOIL_MIN_GAP = 0.05  # relative: a foil closer than this to the truth is replaced


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("expression", help="the activation as a function of x, e.g. "
                        "'x*tanh(log(1+exp(x)))' (numbers, x, pi, e, + - * / **, and "
                        "exp log sqrt abs tanh sinh cosh sin cos atan erf erfc sigmoid "
                        "softplus Phi relu max min); put '--' before an expression that "
                        "starts with '-'; '-' reads it from standard input")
    parser.add_argument("--q", type=float, default=2.0,
                        help="a second pre-activation VARIANCE besides 1 (default 2)")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--text", action="store_true",
                     help="also print the full derivation as text")
    fmt.add_argument("--latex", action="store_true",
                     help="print a LaTeX document (derivation, kernel, Monte Carlo table)")
    fmt.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--samples", type=int, default=1_000_000,
                        help="Monte Carlo samples per variance (at least; raised if the "
                             "foil design needs more, up to 10 000 000)")
    parser.add_argument("--seed", type=nonnegative_int, default=0,
                        help="Monte Carlo seed (default 0)")
    parser.add_argument("--digits", type=int, default=20,
                        help="significant digits asked of quadrature results (15-60, "
                             "default 20, the digits printed); fewer are shown when fewer "
                             "are verified")
    parser.add_argument("--time-limit", type=float, default=2.0,
                        help="seconds SymPy may spend on optional closed forms (default 2)")
    parser.add_argument("--max-seconds", type=float, default=MAX_SECONDS,
                        help="time limit of the whole analysis in seconds (default 60)")
    parser.add_argument("--false-fail-rate", type=float, default=1e-6,
                        help="family-wise false-fail rate of the Monte Carlo check")
    parser.add_argument("--meanfield", action="store_true",
                        help="instead: the mean-field analysis of a wide random network "
                             "(q*, χ₁, the edge of chaos, the depth scales; catalog §14)")
    parser.add_argument("--sigma-b2", type=float, default=0.05,
                        help="with --meanfield: the bias variance σ_b² (default 0.05)")
    parser.add_argument("--sigma-w2", type=float, action="append", default=None,
                        help="with --meanfield: a weight variance σ_w² (×fan-in) to tabulate "
                             "(repeatable; default 1 and 2)")


# ---- kernel ----------------------------------------------------------------------------
def _piecewise(e: sp.Expr) -> sp.Expr:
    """Max, Min, Heaviside as Piecewise (printed as numpy.where)."""
    return e.replace(lambda a: isinstance(a, (sp.Max, sp.Min, sp.Heaviside)),
                     lambda a: a.rewrite(sp.Piecewise))


def kernel(analysis: ActivationAnalysis) -> tuple[str, Callable, Callable]:
    """(source, f, f'): NumPy/SciPy functions ``activation(x)`` and ``activation_grad(x)``
    generated by ``sympy.lambdify`` with numeric.codegen's printer and rewrites (expit,
    logaddexp, expm1, erfc ...). The callables are the functions whose source is shown."""
    import inspect

    x = sp.Symbol("x")
    try:
        from numeric.codegen import KernelPrinter, prepare
        printer, cse, note = KernelPrinter(), True, "numeric.codegen's printer"
    except ImportError:  # codegen unavailable: plain lambdify
        printer, cse, note = None, True, "sympy.lambdify"

        def prepare(expr: Any) -> Any:
            return expr
    parts = ["import numpy", "import scipy.special", ""]
    funcs = []
    for name, expr, what in (("activation", analysis.expression, "f(x)"),
                             ("activation_grad", analysis.derivative, "f'(x)")):
        ready = prepare(_piecewise(expr)).xreplace({X: x})
        fn = sp.lambdify([x], ready, modules=["scipy", "numpy"], printer=printer, cse=cse,
                         dummify=False, docstring_limit=0)
        src = inspect.getsource(fn).rstrip().splitlines()
        head = src[0].replace("_lambdifygenerated", name, 1)
        doc = (f'    """{what} = {sp.sstr(expr)}\n\n    Generated by `nnmath activation '
               f'{analysis.text!r}` ({note}); elementwise."""')
        doc = doc.replace("\\", "\\\\")
        parts += [head, doc, *src[1:], "", ""]
        funcs.append(fn)
    return "\n".join(parts).rstrip() + "\n", funcs[0], funcs[1]


# ---- Monte Carlo ---------------------------------------------------------------------------
McRow = tuple  # (moment label, variance, foil description, proofs.stats.TestResult)
_MC_LABELS = {"mean": "E[f(z)]", "second_moment": "E[f(z)²]",
              "derivative_second_moment": "E[f'(z)²]"}
_SQUARES = {"mean": "E[f²]", "second_moment": "E[f⁴]", "derivative_second_moment": "E[f'⁴]"}


def sized(result: TestResult) -> bool:
    """False for a test that was not run because it cannot be sized (n = 0)."""
    return bool(result.n)


def _relu_moment(name: str, v: float) -> float:
    return {"mean": math.sqrt(v / (2 * math.pi)), "second_moment": v / 2,
            "derivative_second_moment": 0.5}[name]


def _foil(name: str, v: float, exact: float) -> tuple[str, float]:
    relu = _relu_moment(name, v)
    if abs(relu - exact) >= FOIL_MIN_GAP * max(abs(exact), 0.1):
        return "ReLU's value", relu
    return "derived value +5%", exact * 1.05 if exact else 0.05


def _error(m: Any) -> Any:
    """An absolute error bound of a derived moment (0 when exact)."""
    if m.exact:
        return sp.S.Zero
    bound = m.error_estimate if m.error_estimate else 0.0
    return sp.Float(max(bound, 10.0 ** -(m.digits or 15) * abs(float(m.value))), 15)


def _derived_sd(mean: Any, square: Any) -> float:
    """An upper bound of sd(y) = √(E[y²] − E[y]²) from the derived moments: computed in
    40-digit arithmetic (no float64 cancellation) and raised by the quadrature error bounds
    of E[y²] and E[y] (so a nearly constant y never gets sd 0 from rounding); inf when
    E[y²] is infinite or the result is beyond float64."""
    if square is None:
        return math.inf
    e1, e2 = _error(mean), _error(square)
    var = sp.N(square.value - mean.value**2, 40)
    bound = sp.Max(var, 0) + e2 + 2 * abs(sp.N(mean.value, 20)) * e1 + e1**2
    return math.sqrt(float(bound)) * 1.001  # 0.1% margin


def _unsized(exact: float, foil: float, need: int, alpha: float, why: str) -> TestResult:
    return TestResult(method="clt-z", estimate=math.nan, exact=exact, foil=foil,
                      se=math.nan, z=math.nan, foil_z=math.nan,
                      critical=stats.z_two_sided(alpha), n=0, n_required=need,
                      false_fail_rate=alpha, false_pass_rate=FALSE_PASS_RATE,
                      accepted=False, foil_rejected=False, note=f"cannot be sized: {why}",
                      foil_distance=None if math.isfinite(exact) else math.inf)


def monte_carlo(analysis: ActivationAnalysis, f: Callable, df: Callable, *,
                samples: int = 1_000_000, seed: int = 0,
                false_fail_rate: float = 1e-6) -> list[McRow]:
    """CLT z-tests of the derived moments against sample means, SE from the derived
    variance (module docstring). Rows that cannot be sized have ``n = 0``."""
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1000:
        raise ValueError(f"samples must be an integer of at least 1000, got {samples!r}")
    if samples > MAX_SAMPLES:
        raise ValueError(f"samples must be at most {MAX_SAMPLES:,}, got {samples:,}")
    stats.check_rate(false_fail_rate, "false_fail_rate")
    variances = list(analysis.moments)
    alpha = false_fail_rate / (len(variances) * 3)
    rows: list[McRow] = []
    children = np.random.SeedSequence(seed).spawn(len(variances))
    for v, child in zip(variances, children):
        plan = {}
        for name, m in analysis.moments[v].items():
            exact = float(m.value)
            foil_name, foil = _foil(name, float(v), exact)
            sd = _derived_sd(m, analysis.fourth_moments[v][name])
            why, need = "", 0
            if not math.isfinite(exact):
                why = "the derived value is beyond float64"
            elif not math.isfinite(sd):
                why = (f"{_SQUARES[name]} is infinite (or beyond float64) under N(0, "
                       f"{sp.sstr(v)}), so the sample mean has no variance to size a CLT "
                       "test with")
            else:
                need = stats.sample_size(exact - foil, alpha, FALSE_PASS_RATE, sd=sd)
                if need > MAX_SAMPLES:
                    shown = f"{need:,}" if need < 10**12 else f"{need:.2e}"
                    why = (f"separating the foil needs {shown} samples, more than the cap "
                           f"of {MAX_SAMPLES:,} (heavy tails: derived sd {sd:.3g} against "
                           f"a gap of {abs(exact - foil):.3g})")
            plan[name] = (exact, foil_name, foil, sd, need, why)
        n = max([samples] + [p[4] for p in plan.values() if not p[5]])
        rng = np.random.default_rng(child)
        z = rng.standard_normal(n) * math.sqrt(float(v))
        with np.errstate(all="ignore"):
            fz = np.asarray(f(z), dtype=np.float64) * np.ones_like(z)
            dz = np.asarray(df(z), dtype=np.float64) * np.ones_like(z)
            vals = {"mean": fz, "second_moment": fz * fz, "derivative_second_moment": dz * dz}
        for name, (exact, foil_name, foil, sd, need, why) in plan.items():
            y = vals[name]
            if not why and np.isnan(y).any():  # a kernel that gives NaN fails, never passes
                rows.append((_MC_LABELS[name], float(v), foil_name, TestResult(
                    method="clt-z", estimate=math.nan, exact=exact, foil=foil, se=math.nan,
                    z=math.nan, foil_z=math.nan, critical=stats.z_two_sided(alpha),
                    n=int(y.size), n_required=need, false_fail_rate=alpha,
                    false_pass_rate=FALSE_PASS_RATE, accepted=False, foil_rejected=False,
                    note=f"the kernel gives {int(np.isnan(y).sum())} NaN values")))
                continue
            if not why and not np.all(np.isfinite(y)):
                why = (f"the float64 kernel overflows to ±inf at {int(np.sum(~np.isfinite(y)))}"
                       " of the samples")
            if why:
                rows.append((_MC_LABELS[name], float(v), foil_name,
                             _unsized(exact, foil, need, alpha, why)))
                continue
            se = sd / math.sqrt(y.size)
            res = stats.z_result(float(y.mean()), se, exact, foil, int(y.size), need, alpha,
                                 FALSE_PASS_RATE, note="normal approximation (CLT), SE from "
                                 f"the derived variance (E[y²] = {_SQUARES[name]})")
            rows.append((_MC_LABELS[name], float(v), foil_name, res))
    return rows


# ---- output ------------------------------------------------------------------------------
def _fmt(e: Any, n: int = 12) -> str:
    if e is None:
        return "—"
    if isinstance(e, sp.Basic):
        if e.is_Float or e.has(sp.Float):
            return sp.sstr(sp.N(e, n))
        approx = sp.N(e, n)
        return sp.sstr(e) if sp.sstr(e) == sp.sstr(approx) else f"{sp.sstr(e)} ≈ {approx}"
    return str(e)


def _how(m: Any) -> str:
    return "exact" if m.exact else f"quadrature, {m.digits} verified digits"


def _shown(m: Any, n: int) -> int:
    """Digits to print: at most n, and never more than were verified."""
    return n if m.exact or not m.digits else min(n, m.digits)


def report(a: ActivationAnalysis, source: str, rows: list, timing: str) -> str:
    fp = a.fixed_point
    out = [f"activation   f(x) = {sp.sstr(a.expression)}",
           f"derivative   f'(x) = {sp.sstr(a.derivative)}"
           + ("   (simplified by SymPy)" if a.derivative_simplified else ""), "",
           "Gaussian moments (z ~ N(0, v), v the variance):"]
    for v, ms in a.moments.items():
        for name, m in ms.items():
            out.append(f"  v = {sp.sstr(v):<4} {_MC_LABELS[name]:<10} = "
                       f"{_fmt(m.value, _shown(m, 20))}   [{_how(m)}]")
    out += ["", "variance-preserving gains (std w = g/√fan, PyTorch's convention):"]
    for v, gs in a.gains.items():
        ms = a.moments[v]
        nf, nb = _shown(ms["second_moment"], 15), _shown(ms["derivative_second_moment"], 15)
        out.append(f"  q = {sp.sstr(v):<4} forward √(q/E[f²]) = {_fmt(gs['forward'], nf)}"
                   f"   backward 1/√E[f'²] = {_fmt(gs['backward'], nb)}")
    out += ["", "SELU-like fixed point f_{λ,α} = λf (x > 0), λαf (x ≤ 0), "
                "E[f_{λ,α}(ξ)] = 0, E[f_{λ,α}(ξ)²] = 1:"]
    if fp.exists:
        n = fp.digits or 20
        out.append(f"  α = {_fmt(fp.alpha, min(20, n))}")
        out.append(f"  λ = {_fmt(fp.lam, min(20, n))}")
        out.append(f"  ({fp.reason})")
        j = fp.jacobian
        assert j is not None  # a fixed point that exists has its Jacobian
        out.append(f"  Jacobian of (mean, variance) map at (0, 1) (ω = 0, τ = 1): "
                   f"[[0, {sp.N(j[0, 1], min(10, n))}], [0, {sp.N(j[1, 1], min(10, n))}]]")
        out.append(f"  spectral radius {sp.N(fp.spectral_radius, min(15, n))} → "
                   + ("contracts (< 1)" if fp.contracts else "does NOT contract (≥ 1)"))
    else:
        out.append(f"  none: {fp.reason}")
    out += ["", "NumPy kernel (generated):", "", source]
    out += monte_carlo_table(rows)
    if a.notes:
        out += ["", "notes:"] + [f"  • {n}" for n in a.notes]
    out += ["", timing]
    return "\n".join(out) + "\n"


def _verdict(r: TestResult) -> str:
    if not sized(r):
        return "not tested"
    return "pass" if r.ok else ("FAIL" if not r.accepted else "foil not rejected")


def monte_carlo_table(rows: list) -> list[str]:
    if not rows:
        return []
    r0 = rows[0][3]
    fam = r0.false_fail_rate * len(rows)
    out = [f"Monte Carlo check: CLT z-tests (normal approximation; SE from the derived "
           f"variance), false-fail rate {r0.false_fail_rate:.2g} each ({fam:.2g} "
           f"family-wise, Bonferroni), foil false-pass rate {FALSE_PASS_RATE:g}; accept "
           f"|z| ≤ {r0.critical:.2f}",
           f"  {'moment':<10} {'v':>4} {'derived':>13} {'estimate':>13} {'SE':>9} "
           f"{'z':>7} {'foil':>24} {'foil z':>9} {'n':>10}  verdict"]
    for label, v, foil_name, r in rows:
        foil = f"{foil_name} {r.foil:.5g}"
        if not sized(r):
            out.append(f"  {label:<10} {v:>4g} {r.exact:>13.6g} {'—':>13} {'—':>9} {'—':>7} "
                       f"{foil:>24} {'—':>9} {'—':>10}  not tested ({r.note})")
            continue
        extra = "" if "normal approximation" in r.note else f" ({r.note})"
        out.append(f"  {label:<10} {v:>4g} {r.exact:>13.6g} {r.estimate:>13.6g} "
                   f"{r.se:>9.2g} {r.z:>+7.2f} {foil:>24} {r.foil_z:>+9.3g} {r.n:>10,}  "
                   f"{_verdict(r)}{extra}")
    return out


def _latex(a: ActivationAnalysis, source: str, rows: list, timing: str) -> str:
    doc = a.derivation.to_latex(standalone=True)
    extra = ("\\paragraph{Generated NumPy kernel.}\n\\begin{verbatim}\n" + source
             + "\\end{verbatim}\n\\paragraph{Monte Carlo check.}\n\\begin{verbatim}\n"
             + "\n".join(monte_carlo_table(rows)) + "\n" + timing + "\n\\end{verbatim}\n")
    return doc.replace("\\end{document}", extra + "\\end{document}")


def _options(args: argparse.Namespace) -> None:
    """Bad option values: UsageError (one line, exit 2) before anything is computed."""
    if not 1000 <= args.samples <= MAX_SAMPLES:
        raise UsageError(f"--samples must be between 1000 and {MAX_SAMPLES:,}, "
                         f"got {args.samples:,}")
    if not 15 <= args.digits <= 60:
        raise UsageError(f"--digits must be between 15 and 60, got {args.digits}")
    if not (math.isfinite(args.time_limit) and args.time_limit >= 0):
        raise UsageError(f"--time-limit must be a non-negative number of seconds, got "
                         f"{args.time_limit}")
    if not (math.isfinite(args.max_seconds) and 0 < args.max_seconds <= 3600):
        raise UsageError(f"--max-seconds must be in (0, 3600], got {args.max_seconds}")
    if not 0 < args.false_fail_rate < 1:
        raise UsageError(f"--false-fail-rate must be strictly between 0 and 1, got "
                         f"{args.false_fail_rate}")
    try:
        _variance(args.q)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"--q: {exc}") from None


def run(args: argparse.Namespace) -> int:
    wall, cpu = time.perf_counter(), time.process_time()
    if args.expression == "-":  # read a bounded amount: a longer text is refused anyway
        args.expression = sys.stdin.read(MAX_LENGTH + 2)
        if args.expression.endswith("\n"):
            args.expression = args.expression[:-1]
    try:
        parse_activation(args.expression)  # refuse before anything is evaluated
    except UnsafeExpression as exc:
        raise UsageError(f"refused: {exc}") from None
    if args.meanfield:
        from .activation_meanfield import run_meanfield
        return run_meanfield(args)
    _options(args)
    try:
        a = analyse_activation(args.expression, q=args.q, digits=args.digits,
                               time_limit=args.time_limit,
                               max_seconds=args.max_seconds)
    except UnsafeExpression as exc:  # ActivationRefused, AnalysisTimeout: about the text
        raise UsageError(f"refused: {exc}") from None
    source, f, df = kernel(a)
    rows = monte_carlo(a, f, df, samples=args.samples, seed=args.seed,
                       false_fail_rate=args.false_fail_rate)
    ok = all(r.ok for *_, r in rows if sized(r))
    seconds, cpu_seconds = time.perf_counter() - wall, time.process_time() - cpu
    timing = (f"time: {seconds:.2f} s wall, {cpu_seconds:.2f} s CPU in this command "
              f"(analysis {a.seconds:.2f} s); Monte Carlo seed {args.seed}")
    if args.json:
        data = a.to_dict()
        data.update(kernel_source=source, monte_carlo=[
            {"moment": label, "variance": v, "foil_name": foil_name,
             **dataclasses.asdict(r), "ok": r.ok, "sized": sized(r)}
            for label, v, foil_name, r in rows], ok=ok,
            seconds={"wall": round(seconds, 3), "cpu": round(cpu_seconds, 3)},
            seed=args.seed)
        print(json.dumps(_clean(data), indent=2, default=str, allow_nan=False))
    elif args.latex:
        sys.stdout.write(_latex(a, source, rows, timing))
    else:
        sys.stdout.write(report(a, source, rows, timing))
        if args.text:
            sys.stdout.write("\n" + a.derivation.to_text())
    unsized = sum(not sized(r) for *_, r in rows)
    if unsized:
        print(f"nnmath activation: {unsized} Monte Carlo test(s) could not be sized at "
              "this budget and were not run (see the table)", file=sys.stderr)
    if not ok:
        print("nnmath activation: the Monte Carlo check FAILED (see the table)",
              file=sys.stderr)
    return 0 if ok else 1


def _clean(o: Any) -> Any:
    """JSON has no NaN or infinity: those become the strings "nan", "inf", "-inf"."""
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, (np.floating, np.integer, np.bool_)):
        o = o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return str(o)
    return o
