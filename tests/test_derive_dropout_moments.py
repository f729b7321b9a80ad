"""Catalog sections 4 (dropout) and 5 (Gaussian moments): results and the public helper
``derive.moments.gaussian_moments`` checked against independent computations."""
import itertools
import time

import numpy as np
import pytest
import sympy as sp
from scipy import integrate, stats

import derive
from derive.core import Derivation
from derive.moments import MOMENT_NAMES, _moments, gaussian_moments

x = sp.Symbol("x", real=True)
p = sp.Symbol("p", positive=True)
q = sp.Symbol("q", positive=True)
SECTION_4 = [s for s, e in derive.entries().items() if e.section == 4]
SECTION_5 = [s for s, e in derive.entries().items() if e.section == 5]


# ---- gaussian_moments ----------------------------------------------------------------
GELU = x * (1 + sp.erf(x / sp.sqrt(2))) / 2
ACTIVATIONS = {
    "relu": (sp.Max(0, x), True),
    "leaky relu 0.1": (sp.Max(x / 10, x), True),
    "elu": (sp.Piecewise((sp.exp(x) - 1, x <= 0), (x, True)), True),
    "abs": (sp.Abs(x), True),
    "cubic": (x**3 - x, True),
    "tanh": (sp.tanh(x), False),
    "sigmoid": (1 / (1 + sp.exp(-x)), False),
    "softplus": (sp.log(1 + sp.exp(x)), False),
    "gelu": (GELU, False),
    "swish": (x / (1 + sp.exp(-x)), False),
}


def _scipy_moment(f_np, variance, kinks=(0.0,)):
    # the Gaussian mass beyond 40 standard deviations is far below double precision, and
    # finite limits keep NumPy's exp from overflowing at quad's extreme nodes
    pdf = stats.norm(0, np.sqrt(variance)).pdf
    edge = 40 * np.sqrt(variance)
    edges = [-edge, *kinks, edge]
    with np.errstate(over="ignore"):
        return sum(integrate.quad(lambda t: f_np(t) * pdf(t), a, b, epsabs=1e-13,
                                  epsrel=1e-12, limit=200)[0]
                   for a, b in itertools.pairwise(edges))


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@pytest.mark.parametrize("variance", [sp.Integer(1), sp.Rational(5, 2)])
def test_gaussian_moments_agree_with_scipy_quad(name, variance):
    f, exact = ACTIVATIONS[name]
    m = gaussian_moments(f, x, variance)
    assert set(m) == set(MOMENT_NAMES)
    f_np = sp.lambdify(x, f, modules=["scipy", "numpy"])
    df_np = sp.lambdify(x, sp.diff(f.rewrite(sp.Piecewise), x), modules=["scipy", "numpy"])
    refs = {"mean": lambda t: f_np(t), "second_moment": lambda t: f_np(t) ** 2,
            "derivative_second_moment": lambda t: df_np(t) ** 2}
    for key, moment in m.items():
        assert moment.exact is exact, f"{name}: {key} should be exact={exact}"
        assert moment.method == ("sympy" if exact else "quadrature")
        want = _scipy_moment(refs[key], float(variance))
        assert float(moment) == pytest.approx(want, rel=1e-9, abs=1e-12), (name, key)
        if not exact:
            assert moment.digits == 30 and moment.error_estimate < 1e-30
            assert isinstance(moment.value, sp.Float)


@pytest.mark.parametrize("name", ["relu", "elu", "abs", "cubic"])
def test_exact_path_agrees_with_sympy_integrate(name):
    """The closed form for c·xⁿ·e^{ax} pieces equals what sympy.integrate finds."""
    f, _ = ACTIVATIONS[name]
    fast = gaussian_moments(f, x, 2)
    slow = gaussian_moments(f, x, 2, method="sympy")
    for key in MOMENT_NAMES:
        diff = sp.N(fast[key].value - slow[key].value, 40)
        assert abs(diff) < 1e-35, (name, key, fast[key].value, slow[key].value)


def test_relu_moments_exact_with_symbolic_variance():
    m = gaussian_moments(sp.Max(0, x), x, q)
    assert sp.simplify(m["mean"].value - sp.sqrt(q / (2 * sp.pi))) == 0
    assert sp.simplify(m["second_moment"].value - q / 2) == 0
    assert m["derivative_second_moment"].value == sp.Rational(1, 2)


def test_symbolic_parameters_stay_exact_and_solve_selu():
    """SELU: E[selu z] = 0 and E[selu z²] = 1 under N(0, 1) solved from the exact moments
    (α, λ symbolic) reproduce the catalog's 30-digit constants."""
    alpha, lam = sp.symbols("alpha lambda", positive=True)
    selu = lam * sp.Piecewise((alpha * (sp.exp(x) - 1), x <= 0), (x, True))
    m = gaussian_moments(selu, x, 1)
    assert m["mean"].exact and m["second_moment"].exact
    sol = sp.nsolve([m["mean"].value, m["second_moment"].value - 1], [alpha, lam],
                    [1.67, 1.05], prec=40)
    assert abs(sol[0] - sp.Float("1.6732632423543772848170429916717", 40)) < 1e-28
    assert abs(sol[1] - sp.Float("1.0507009873554804934193349852946", 40)) < 1e-28


def test_quadrature_precision_is_what_it_says():
    lo = gaussian_moments(sp.tanh(x), x, 1, digits=20)["second_moment"]
    hi = gaussian_moments(sp.tanh(x), x, 1, digits=45)["second_moment"]
    assert lo.digits == 20 and hi.digits == 45
    assert abs(lo.value - hi.value) < sp.Float(10) ** -19
    assert abs(gaussian_moments(sp.tanh(x), x, 1)["mean"].value) < 1e-30  # odd


def test_quadrature_can_be_forced_and_matches_exact():
    exact = gaussian_moments(sp.Max(0, x), x, 3)
    quad = gaussian_moments(sp.Max(0, x), x, 3, method="quadrature")
    for key in MOMENT_NAMES:
        assert not quad[key].exact
        assert abs(sp.N(exact[key].value, 40) - quad[key].value) < 1e-29


@pytest.mark.parametrize("name", ["relu", "elu", "tanh", "sigmoid", "softplus"])
def test_gaussian_moments_is_fast(name):
    _moments.cache_clear()
    f, _ = ACTIVATIONS[name]
    start = time.perf_counter()
    gaussian_moments(f, x, 1)
    elapsed = time.perf_counter() - start
    assert elapsed < 2.5, f"{name} took {elapsed:.2f} s (target < 1 s on an idle machine)"


@pytest.mark.parametrize("call, error, words", [
    (lambda: gaussian_moments("tanh(x)", x), TypeError, "SymPy expression"),
    (lambda: gaussian_moments(sp.tanh(x), "x"), TypeError, "Symbol"),
    (lambda: gaussian_moments(sp.tanh(x), x, 0), ValueError, "positive"),
    (lambda: gaussian_moments(sp.tanh(x), x, -1), ValueError, "positive"),
    (lambda: gaussian_moments(sp.tanh(x), x, sp.Symbol("s")), ValueError, "positive"),
    (lambda: gaussian_moments(sp.tanh(x), x, method="magic"), ValueError, "method"),
    (lambda: gaussian_moments(sp.tanh(x), x, digits=2), ValueError, "digits"),
    (lambda: gaussian_moments(sp.tanh(sp.Symbol("a") * x), x), ValueError, "symbolic"),
])
def test_bad_input_is_explained(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_float_variance_is_taken_exactly():
    assert gaussian_moments(sp.Max(0, x), x, 0.5)["second_moment"].value == sp.Rational(1, 4)


# ---- section 5 derivations -----------------------------------------------------------
def test_relu_moments_values():
    v = derive.get("relu-moments").values
    s = v["sigma"]
    assert sp.simplify(v["relu_gaussian_mean"] - s / sp.sqrt(2 * sp.pi)) == 0
    assert sp.simplify(v["relu_gaussian_second_moment"] - s**2 / 2) == 0
    assert sp.simplify(v["relu_gaussian_variance"]
                       - s**2 * (sp.Rational(1, 2) - 1 / (2 * sp.pi))) == 0


def test_symmetry_ratio_is_one_half_and_uses_no_gaussian():
    d = derive.get("relu-second-moment-symmetry")
    assert d.values["relu_second_moment_ratio"] == sp.Rational(1, 2)
    assert not any(step.expr is not None and step.expr.has(sp.exp) for step in d.steps)


def test_activation_moments_records_how_each_value_was_obtained():
    d = derive.get("activation-moments")
    assert d.values["tanh"]["mean"] == 0  # tanh is odd: exact
    assert all(isinstance(d.values["tanh"][k], sp.Float)
               for k in ("second_moment", "derivative_second_moment"))
    assert d.values["relu"]["second_moment"] == q / 2
    assert any(s.check.method == "quadrature" for s in d.steps)


# ---- section 4 derivations -----------------------------------------------------------
@pytest.mark.parametrize("slug", SECTION_4)
def test_every_dropout_derivation_says_drop_or_keep(slug):
    text = " ".join(derive.get(slug).conventions).lower()
    assert "drop" in text and ("keep" in text or "survival" in text), slug


def test_dropout_mean_and_its_foil():
    v = derive.get("dropout-mean").values
    mu = sp.Symbol("mu_h", real=True)
    assert v["inverted_dropout_mean"] == mu
    assert sp.expand(v["foil"] - (1 - p) * mu) == 0


def test_dropout_variance_reads_relu_moments():
    v = derive.get("dropout-variance").values
    assert sp.simplify(v["dropout_variance_relu_standard"]
                       - (1 / (2 * (1 - p)) - 1 / (2 * sp.pi))) == 0
    assert sp.simplify(v["foil"] - (sp.Rational(1, 2) - 1 / (2 * sp.pi))) == 0
    # Monte Carlo sanity check with an explicit seed: 4·10⁵ draws, 6 standard errors
    rng = np.random.default_rng(20240605)
    drop = 0.3
    z = rng.standard_normal(400_000)
    m = rng.random(400_000) >= drop
    sample = m * np.maximum(z, 0.0) / (1 - drop)
    exact = float(v["dropout_variance_relu_standard"].subs(p, sp.Rational(3, 10)))
    se = np.std((sample - sample.mean()) ** 2) / np.sqrt(sample.size)
    assert abs(sample.var() - exact) < 6 * se


def test_kept_count_pmf_sums_to_one_and_matches_moments():
    d = derive.get("dropout-kept-count")
    M, k = sp.Symbol("M", integer=True, positive=True), sp.Symbol("k", integer=True,
                                                                    nonnegative=True)
    pmf = d.values["kept_count_pmf"].subs(M, 6)
    probs = [pmf.subs(k, j) for j in range(7)]
    assert sp.simplify(sum(probs) - 1) == 0
    assert sp.simplify(sum(j * pj for j, pj in enumerate(probs)) - 6 * (1 - p)) == 0
    assert sp.expand(d.values["kept_count_variance"] - M * p * (1 - p)) == 0


def test_poisson_results():
    lam = sp.Symbol("lambda", positive=True)
    k = sp.Symbol("k", integer=True, nonnegative=True)
    limit = derive.get("dropout-poisson-limit").values["poisson_pmf"]
    assert sp.simplify(limit - sp.exp(-lam) * lam**k / sp.factorial(k)) == 0
    thinned = derive.get("dropout-poisson-thinning").values["thinned_count_pmf"]
    assert sp.simplify(thinned.subs({lam: 3, p: sp.Rational(1, 3), k: 2})
                       - sp.exp(-2) * 2) == 0


def test_data188_dropout_values_are_exact_integers():
    v = derive.get("data188-dropout").values
    assert (v["y_drop"], v["y_corr"], v["y_orig"]) == (8, 32, 32)
    assert all(isinstance(v[key], sp.Integer) for key in ("y_drop", "y_corr", "y_orig"))
    assert v["p"] == sp.Rational(3, 4)


def test_test_time_scale_is_the_keep_probability():
    assert derive.get("dropout-test-scaling").values["test_time_scale"] == 1 - p
    assert derive.get("dropout-convention").values["test_time_scale"] == 1 - p


def test_dropout_convention_errata():
    errata = derive.get("dropout-convention").errata
    assert {e.slug for e in errata} == {"dropout-convention", "dropout-convention/inverted"}
    by_slug = {e.slug: e for e in errata}
    assert by_slug["dropout-convention"].difference == sp.Rational(1, 2)
    inverted = by_slug["dropout-convention/inverted"]
    assert inverted.correct_expr.subs(inverted.witness) == 32
    assert inverted.stated_expr.subs(inverted.witness) == sp.Rational(32, 3)
    assert all(e in derive.errata() for e in errata)


def test_dropconnect_matches_a_seeded_simulation():
    d = derive.get("dropconnect")
    W, xs = d.values["W"], d.values["x"]
    rng = np.random.default_rng(7)
    point = {s: float(v) for s, v in zip([*W, *xs], rng.uniform(-2, 2, 9))}
    drop = 0.4
    Wn = np.array([[point[W[i, j]] for j in range(3)] for i in range(2)])
    xn = np.array([point[s] for s in xs])
    masks = rng.random((200_000, 2, 3)) >= drop
    ys = (Wn * masks) @ xn
    at = {**point, p: sp.Rational(2, 5)}
    mean = np.array(d.values["dropconnect_mean"].subs(at), dtype=float)
    var = np.array(d.values["dropconnect_variance"].subs(at), dtype=float)
    se_mean = np.sqrt(var.ravel() / ys.shape[0])
    assert np.all(np.abs(ys.mean(axis=0) - mean.ravel()) < 6 * se_mean)
    assert np.allclose(ys.var(axis=0), var.ravel(), rtol=0.03)


def test_stochastic_depth_uses_survival_probability():
    v = derive.get("stochastic-depth").values
    pl, f, H = sp.Symbol("p_l", positive=True), sp.Symbol("f", real=True), sp.Symbol(
        "H", nonnegative=True)
    assert v["stochastic_depth_test_preactivation"] == pl * f + H


@pytest.mark.parametrize("slug", SECTION_4 + SECTION_5)
def test_builds_quickly(slug):
    derive.get(slug)  # warm shared SymPy caches and dependencies first
    entry = derive.entries()[slug]
    start = time.perf_counter()
    entry.builder(Derivation(entry.slug, entry.title, entry.source))
    elapsed = time.perf_counter() - start
    assert elapsed < 4.0, f"{slug} took {elapsed:.2f} s (target: well under 2 s when idle)"
