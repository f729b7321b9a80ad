"""Generated activation kernels at extreme inputs against 60-digit mpmath references.

Where the exact value is a normal float64 the kernel must agree to a few ulp (``ULPS``);
where it underflows (|value| < 2.2e-308) the kernel must return a finite number of at most
that size; it must never return NaN or ±inf for a finite input whose value is finite.
Points near a zero of a derivative (where any floating-point formula loses relative
accuracy to cancellation) are not on the grid. The allowance grows with the condition
number |x f'(x)/f(x)|: a kernel evaluates e^{bx} at the rounded product bx, whose relative
error ½ulp becomes an error of |bx|·½ulp in the result (e.g. 230 ulp for xσ(1.702x) at
x = −300); no float64 formula avoids it.

Subnormal intermediates: where the value f = x·g(x) (swish, the GELUs and their
derivatives) is normal but g = f/x is subnormal (|g| < 2.2e-308, e.g. σ(x) at
x ∈ (−745, −708) in x·σ(x)), g carries an absolute error of up to one subnormal ulp
2^−1074 (half from rounding, the rest from exp), which is |x|·2^−1074/ulp(f) ulp of f:
up to |x| where f is just above 2.2e-308. The allowance includes that term
(``_subnormal_band``), and the grid has points inside each such band (21.16 for the tanh
form, 37.6 for erfc, 354.6 for tanh_grad, 418 for σ(1.702x), 549, 712, 1429 and 2860 for
σ(βx) with β = 1.3, 1, ½, ¼). Measured on the grid: at most 685 ulp (swish(−2860, ¼),
|x f'/f| ≈ 714); on 400 random points per band of swish and swish_grad with β ∈ {¼, ½, 1}:
at most 0.97·|x|/2, e.g. 1188 ulp at swish(−2865.06, ¼), beyond the condition number
(723 ulp with ULPS) but within the band term. For β ≥ ½ the measured errors stay within
the condition number alone. ``test_subnormal_bands_off_the_grid`` checks 40 random points
per band (scipy.special.expit, which returns 0 for u < −709.78, fails 10–12 of them).

Nothing is known to fail: the tanh-form kernels, tanh_grad and the NaNs of inf·0 were
fixed by numeric.codegen's rewrites (logistic forms of tanh, ordered products, σ from
e^{−|u|}; see its module docstring).
"""
import inspect
import math

import mpmath
import numpy as np
import pytest

from numeric.kernels import kernels as K

mp = mpmath.mp
mp.dps = 60
ULPS = 8  # allowed error, in units in the last place of the exact value
TINY = np.finfo(float).tiny

BANDS = [21.16, 37.6, 354.6, 418.0, 549.0, 712.0, 1429.0, 2860.0]  # see the docstring
MAGNITUDES = [1e-300, 1e-12, 1e-3, 0.3, 1.0, 3.0, 8.0, 15.0, 20.0, 30.0, 40.0, 50.0, 100.0,
              300.0, 700.0, 740.0, 800.0, 1e4, 1e20, 1e100, 1e154, 1e155, 1e200, 1e307,
              1e308, 1.7e308, *BANDS]
GRID = sorted([-m for m in MAGNITUDES] + [0.0] + MAGNITUDES)

K_TANH = mp.sqrt(2 / mp.pi)
C_TANH = mp.mpf(44715) / 10**6
B_SIG = mp.mpf(1702) / 1000


def _sig(u):
    return 1 / (1 + mp.exp(-u))


def _clamp(x):
    """mpmath's erfc fails beyond |x| ~ 1e150; at |x| = 1e6 the tails are e^{−5e11} already."""
    return max(min(x, mp.mpf(10) ** 6), -mp.mpf(10) ** 6)


def _ncdf(x):
    return mp.ncdf(_clamp(x))


def _w(x):
    return K_TANH * (x + C_TANH * x**3)


REFERENCES = {
    "sigmoid": (lambda x: _sig(x), ()),
    "sigmoid_grad": (lambda x: _sig(x) * _sig(-x), ()),
    "tanh_grad": (lambda x: mp.sech(x) ** 2, ()),
    "gelu": (lambda x: x * _ncdf(x), ()),
    "gelu_grad": (lambda x: _ncdf(x) + x * mp.npdf(_clamp(x)), ()),
    "gelu_tanh": (lambda x: x * _sig(2 * _w(x)), ()),
    "gelu_tanh_grad": (lambda x: _sig(2 * _w(x)) + x * 2 * K_TANH * (1 + 3 * C_TANH * x**2)
                       * _sig(2 * _w(x)) * _sig(-2 * _w(x)), ()),
    "gelu_sigmoid": (lambda x: x * _sig(B_SIG * x), ()),
    "gelu_sigmoid_grad": (lambda x: _sig(B_SIG * x) + B_SIG * x * _sig(B_SIG * x)
                          * _sig(-B_SIG * x), ()),
    "swish": (lambda x, b: x * _sig(b * x), (1.0, 1.3, 0.5, 0.25)),
    "swish_grad": (lambda x, b: _sig(b * x) * (1 + b * x * _sig(-b * x)),
                   (1.0, 1.3, 0.5, 0.25)),
    "elu": (lambda x, a: x if x > 0 else a * mp.expm1(x), (0.7,)),
    "elu_grad": (lambda x, a: mp.mpf(1) if x > 0 else a * mp.exp(x), (0.7,)),
}


MAX = mp.mpf(np.finfo(float).max)


def _to_float(exact) -> float:
    if abs(exact) > MAX:
        return math.copysign(math.inf, exact)
    return float(exact)


def _ulp_error(got: float, exact) -> float:
    ex = _to_float(exact)
    return float(abs(mp.mpf(got) - exact) / (math.ulp(ex) if ex != 0 else TINY))


def _condition(ref, x, args) -> float:
    """|x f'(x)/f(x)| at x (mpmath numerical derivative), in units of ulp."""
    if x == 0:
        return 0.0
    xm = mp.mpf(x)
    f = ref(xm, *(mp.mpf(a) for a in args))
    if f == 0:
        return 0.0
    df = mp.diff(lambda t: ref(t, *(mp.mpf(a) for a in args)), xm)
    return float(abs(xm * df / f))


def _subnormal_band(x, exact) -> float:
    """|x|·2^−1074/ulp(f) where f/x is subnormal, else 0 (see the module docstring)."""
    if x == 0 or abs(exact / x) >= TINY:
        return 0.0
    return abs(x) * 2.0**-1074 / math.ulp(_to_float(exact))


def _failures(name, kernel=None, reference=None, grid=None):
    """Every point of ``grid`` (default GRID) where ``kernel`` (default: the generated
    kernel ``name``) misses the reference (default: REFERENCES[name]) by more than the
    allowance."""
    ref, params = reference or REFERENCES[name]
    kernel = kernel or getattr(K, name)
    grid = GRID if grid is None else grid
    bad = []
    for extra in (params or (None,)):
        args = () if extra is None else (extra,)
        with np.errstate(all="ignore"):
            got = kernel(np.array(grid), *args)
        for x, y in zip(grid, np.atleast_1d(got)):
            exact = ref(mp.mpf(x), *(mp.mpf(a) for a in args))
            ex = _to_float(exact)  # ±inf when the exact value overflows
            y = float(y)
            where = f"{name}({x:g}{', ' + str(extra) if args else ''})"
            if math.isnan(y):
                bad.append(f"{where} = nan, exact {mp.nstr(exact, 8)}")
            elif math.isinf(ex):
                if y != ex:
                    bad.append(f"{where} = {y}, exact overflows to {ex}")
            elif abs(ex) < TINY:
                if not abs(y) <= TINY:
                    bad.append(f"{where} = {y!r}, exact {mp.nstr(exact, 8)} underflows")
            elif _ulp_error(y, exact) > ULPS + _condition(ref, x, args) + \
                    _subnormal_band(x, exact):
                bad.append(f"{where} = {y!r}, exact {mp.nstr(exact, 17)} "
                           f"({_ulp_error(y, exact):.3g} ulp)")
    return bad


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_kernel_is_accurate_at_extremes(name):
    bad = _failures(name)
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("name", ["swish", "swish_grad"])
@pytest.mark.parametrize("beta", [0.25, 0.5, 1.0])
def test_subnormal_bands_off_the_grid(name, beta):
    """40 random points where σ(βx) is subnormal (βx ∈ (−745, −708)) and x·σ(βx) normal."""
    rng = np.random.default_rng(12)
    grid = [float(v) for v in rng.uniform(-745 / beta, -708 / beta, 40)]
    bad = _failures(name, reference=(REFERENCES[name][0], (beta,)), grid=grid)
    assert not bad, "\n".join(bad)


# Expressions outside the catalog that need each rewrite of numeric.codegen: x³·sech²x is
# inf·0 at |x| ≥ 1e103 unless the product is ordered; ½x(1 − tanh x) is 0 for x ≳ 19
# unless written x·σ(−2x); x²·σ'(x) overflows x² at |x| ≥ 1e155.
OUTSIDE = {
    "x³·sech²x": ("x**3*sech(x)**2", lambda x: x**3 * mp.sech(x) ** 2),
    "½x(1 − tanh x)": ("x*(1 - tanh(x))/2", lambda x: x * _sig(-2 * x)),
    "x²σ'(x)": ("x**2*exp(-x)/(1 + exp(-x))**2", lambda x: x**2 * _sig(x) * _sig(-x)),
}


@pytest.mark.parametrize("label", sorted(OUTSIDE))
def test_rewrites_hold_outside_the_catalog(label):
    import sympy as sp

    from derive.core import Conclusion, Derivation
    from numeric import codegen
    text, ref = OUTSIDE[label]
    x = sp.Symbol("x", real=True)
    expr = sp.sympify(text, locals={"x": x})
    source = codegen.kernel_source(Conclusion("k", expr, (x,), "test kernel"),
                                   Derivation("demo", "demo", "none"))
    namespace: dict = {}
    exec(compile("import numpy\n" + source, "<kernel>", "exec"), namespace)  # our own code
    bad = _failures(label, namespace["k"], (ref, ()))
    assert not bad, "\n".join(bad)


def _takes_out(name: str) -> bool:
    return "out" in inspect.signature(getattr(K, name)).parameters


# No activation kernel takes out= at present (none has a per-feature factor to store into
# out, nor a chain of one-operand ufuncs); then this test reports an empty parameter set.
@pytest.mark.parametrize("name", [n for n in sorted(REFERENCES) if _takes_out(n)])
def test_out_argument_gives_the_same_values(name):
    """gelu_sigmoid(1e308, out=…) once gave inf where the plain call gave 1e308."""
    x = np.array(GRID)
    kernel = getattr(K, name)
    for extra in (REFERENCES[name][1] or (None,)):
        args = () if extra is None else (extra,)
        with np.errstate(all="ignore"):
            plain = kernel(x, *args)
            out = np.empty_like(x)
            assert kernel(x, *args, out=out) is out
        np.testing.assert_array_equal(out, plain)


def test_grid_kernels_cover_every_single_input_activation():
    """A new one-argument activation kernel must be added to REFERENCES."""
    from numeric.kernels import activations
    missing = [n for n in activations.__all__ if n not in REFERENCES
               and n not in ("relu_grad", "leaky_relu", "leaky_relu_grad", "prelu_grad_alpha",
                             "selu", "selu_grad")]
    assert not missing, missing
