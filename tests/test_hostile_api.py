"""Every public entry point that takes symbolic input, fed the hostile corpus.

Text from a caller may reach SymPy only through derive.safe_parse (an ast allowlist);
``sympify``/``parse_expr``/``eval`` of a string runs Python. Each hostile text tries to
create a sentinel file; for every entry point and every text the sentinel must not
exist afterwards, and the call must either be refused with a clear error (an exception
with a message) or be handled (return normally). The CLI side (`nnmath activation`) is
covered by tests/test_activation_cli.py with the same corpus.
"""
import os

import pytest
import sympy as sp

import derive
from derive import custom, moments, safe_parse
from derive.safe_parse import X
from test_custom_activation import _extra_hostile
from test_safe_parse import hostile_inputs

MEAN = "relu_gaussian_mean"  # E[ReLU z], a value relu-moments exports


def api_corpus(sentinel) -> dict:
    """The parser's corpus plus texts aimed at sympify/parse_expr/eval themselves."""
    s = str(sentinel)
    return {
        **hostile_inputs(sentinel), **_extra_hostile(sentinel),
        "sympify import": f"__import__('os').system('touch {s}')",
        "sympify open": f"open('{s}', 'w').write('x')",
        "sympify lambda": f"(lambda: __import__('os').system('touch {s}'))()",
        "sympify exec": f"exec(compile('open(\"{s}\", \"w\")', 'x', 'exec'))",
        "sympify Symbol subclass walk": "Symbol('x').__class__.__mro__[-1].__subclasses__()",
        "sympify builtins": f"__builtins__['open']('{s}', 'w')",
        "python statement": f"import os; os.system('touch {s}')",
        "format string": f"'{{0.__class__}}'.format(open('{s}', 'w'))",
    }


@pytest.fixture(scope="module")
def relu_analysis():
    return derive.activation("max(0, x)")


def _entry_points(relu_analysis):
    """name -> function of one hostile text (every public API taking symbolic input)."""
    from proofs import claims
    from proofs.claims import Context

    def derivation_define(t):
        derive.Derivation("hostile", "hostile", "test").define("a step", t, "")

    def model_size_parameters(t):
        from derive.model_size import Linear, parameter_count
        return parameter_count([Linear(t, 3)])

    def model_size_activations(t):
        from derive.model_size import Linear, activation_count
        return activation_count([Linear(2, 3)], t)

    return {
        "safe_parse.parse_activation": safe_parse.parse_activation,
        "derive.activation": lambda t: derive.activation(t, max_seconds=5),
        "custom.analyse_activation q=": lambda t: custom.analyse_activation("tanh(x)", q=t),
        "custom.scaled_fixed_point": custom.scaled_fixed_point,
        "ActivationAnalysis.moment variance": lambda t: relu_analysis.moment("mean", t),
        "ActivationAnalysis.moment name": lambda t: relu_analysis.moment(t),
        "moments.gaussian_moments f": lambda t: moments.gaussian_moments(t, X),
        "moments.gaussian_moments q": lambda t: moments.gaussian_moments(sp.Max(0, X), X, t),
        "initialization.activation_gain": lambda t: _activation_gain()(t, X),
        "initialization.activation_gain q": lambda t: _activation_gain()(sp.tanh(X), X, t),
        "derive.check_equal": lambda t: derive.check_equal(t, X),
        "derive.check_equal right": lambda t: derive.check_equal(X, t),
        "Derivation.define": derivation_define,
        "derive.get": derive.get,
        "model_size.parameter_count": model_size_parameters,
        "model_size.activation_count": model_size_activations,
        "claims.exact_value": lambda t: claims.exact_value("relu-moments", MEAN, sigma=t),
        "claims.exact_value name": lambda t: claims.exact_value("relu-moments", t),
        "Context.exact": lambda t: Context().exact("relu-moments", MEAN, sigma=t),
        "Context.exact_expr": lambda t: Context().exact_expr("relu-moments", MEAN, sigma=t),
        "nnmath_exact fixture": lambda t: _nnmath_exact()("relu-moments", MEAN, sigma=t),
    }


def _activation_gain():
    from derive.initialization import activation_gain
    return activation_gain


def _nnmath_exact():
    from proofs.testing.pytest_plugin import nnmath_exact
    return nnmath_exact.__wrapped__()  # the fixture's function, as pytest would call it


ENTRY_POINTS = list(_entry_points(None))


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_entry_point_runs_no_hostile_text(entry, tmp_path, relu_analysis):
    call = _entry_points(relu_analysis)[entry]
    corpus = api_corpus(tmp_path / "sentinel")
    handled = []
    for name, text in corpus.items():
        try:
            call(text)
            handled.append(name)
        except (ValueError, TypeError, LookupError, ArithmeticError) as exc:
            assert str(exc).strip(), (entry, name, "refused without a message")
        assert not (tmp_path / "sentinel").exists(), (entry, name, "ran code")
        assert os.listdir(tmp_path) == [], (entry, name, os.listdir(tmp_path))
    assert not handled, (entry, "accepted hostile text", handled)


def test_the_sentinel_mechanism_works(tmp_path):
    """The corpus really would create the sentinel if a string were evaluated."""
    sentinel = tmp_path / "sentinel"
    eval(api_corpus(sentinel)["sympify open"])  # noqa: S307 - the control experiment
    assert sentinel.exists()
