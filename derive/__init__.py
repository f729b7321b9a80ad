"""nnmath.derive: machine-checked derivations of neural-network training mathematics.

>>> import derive
>>> d = derive.get("softmax-jacobian")     # build one derivation (checked as it builds)
>>> print(d.to_text())                     # or d.to_latex(standalone=True)
>>> derive.catalog()                       # every derivation, by catalog slug
"""
from .core import (Check, Conclusion, Derivation, DerivationError, Erratum, RewriteError,
                   Step, check_equal)
from . import catalog  # the table of rows; derive.catalog() builds every derivation
from .catalog import Kind
from .registry import UnknownSlug, closest, derivation, entries, exports, get

__all__ = [
    "Check",
    "Conclusion",
    "Derivation",
    "DerivationError",
    "Erratum",
    "Kind",
    "RewriteError",
    "Step",
    "UnknownSlug",
    "activation",
    "catalog",
    "check_equal",
    "closest",
    "derivation",
    "entries",
    "errata",
    "exports",
    "get",
]


def errata() -> list[Erratum]:
    """Every erratum (catalog X rows), from the derivations that decide them."""
    found = []
    for slug, entry in entries().items():
        if Kind.X in entry.kinds:
            found.extend(get(slug).errata)
    return found


def activation(text: str, **options):
    """Analyse a user-given activation, e.g. ``derive.activation("x*tanh(log(1+exp(x)))")``.

    The text is parsed safely (Python's ``ast`` against an allowlist; never eval/sympify).
    """
    from .custom import analyse_activation
    return analyse_activation(text, **options)
