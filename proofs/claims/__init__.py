"""The claim registry: one decorated function per catalog C/E row.

A claim is a proposition (``dropout_preserves_mean``) registered under its catalog slug
(``@claim(slug, derivations=..., quick=...)``); title, source, section and kinds are the
row's in ``derive.catalog``. Its function receives a ``Context`` and returns a list of
*assertions*; each assertion pairs

* an **exact value**, read from ``derive`` (``ctx.exact(slug, name, p=...)`` with one name
  the derivation declares in its ``exports``; never typed by hand),
* an **experiment** (samples, an estimate, or a deterministic computation built on
  ``numeric`` where the layer exists),
* a **foil**: a plausible wrong value that the same experiment must reject,

and the test used (``proofs.stats``). The runner (``proofs.stats.runner``) splits one
false-fail budget over every assertion, runs the design check (refusing too few samples),
and reports verdicts.

Registering is cheap: topic modules import NumPy/SciPy/derive only inside claim bodies,
so ``nnmath list`` never runs an experiment.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
from collections.abc import Callable
from typing import Any

from derive.catalog import Row, RowView, position
from derive.catalog import row as catalog_row

TOPICS = ("dropout", "initialization", "misc", "gradients", "attention", "meanfield", "power",
          "optimizers")


@dataclasses.dataclass(frozen=True)
class ClaimEntry(RowView):
    """A registered claim: its catalog row, its builder and where its exact values come from."""

    row: Row  # the catalog row (derive/catalog.py): title, source, section, kinds
    builder: Callable[[Context], list]
    derivations: tuple[str, ...] = ()  # derive slugs the exact values come from
    quick: bool = True  # part of `nnmath verify --quick`

    @property
    def proposition(self) -> str:
        return self.builder.__name__

    @property
    def doc(self) -> str:
        return (self.builder.__doc__ or "").strip()


_CLAIMS: dict[str, ClaimEntry] = {}


def claim(slug: str, *, derivations: tuple[str, ...] = (), quick: bool = True):
    """Register ``builder(ctx) -> list[Assertion]`` under the catalog row ``slug``.

    Title, source, section and kinds come from the row (``derive.catalog``); an unknown
    slug or a second registration raises here, at import.
    """
    entry_row = catalog_row(slug)

    def register(builder):
        if slug in _CLAIMS:
            raise ValueError(f"claim slug {slug!r} registered twice")
        _CLAIMS[slug] = ClaimEntry(entry_row, builder, tuple(derivations), quick)
        return builder

    return register


@functools.lru_cache(maxsize=1)
def _load_topics() -> None:
    for name in TOPICS:
        importlib.import_module(f"proofs.claims.{name}")


def entries() -> dict[str, ClaimEntry]:
    """Every registered claim's metadata, by slug (catalog order), without running any."""
    _load_topics()
    return dict(sorted(_CLAIMS.items(), key=lambda kv: position(kv[0])))


class UnknownClaim(KeyError):
    def __init__(self, slug: str, suggestions: list[str]):
        self.slug = slug
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"no claim named {slug!r}{hint} (`nnmath list` shows all)")

    def __str__(self) -> str:
        return self.args[0]


def get(slug: str) -> ClaimEntry:
    known = entries()
    if slug not in known:
        import difflib
        raise UnknownClaim(slug, difflib.get_close_matches(slug, list(known), n=3, cutoff=0.5))
    return known[slug]


# ---- exact values from derive ------------------------------------------------------------
class MissingExact(LookupError):
    """A claim asked derive for a value that is not there (yet)."""


def exact_value(slug: str, name: str, **subs: Any) -> Any:
    """``derive.get(slug).values[name]`` with symbols substituted by name, as SymPy.

    ``name`` is one of the names derivation ``slug`` declares in its decorator
    (``@derivation(slug, exports=(...))``); an undeclared name fails before anything is
    built. Values are substituted exactly: pass ``sympy.Rational`` (or ints) for exact
    parameters; floats are converted with ``nsimplify`` only when they are short decimals
    such as 0.1.
    """

    import derive

    if not isinstance(name, str):
        raise TypeError(f"exact_value({slug!r}, …): ask for one value name, got {name!r}")
    try:
        declared = derive.exports(slug)
    except derive.UnknownSlug as exc:
        raise MissingExact(f"derivation {slug!r} is not registered in derive ({exc})") from None
    if name not in declared:
        raise MissingExact(f"derivation {slug!r} exports no value named {name!r}; "
                           f"it declares {', '.join(declared)}")
    return substitute(derive.get(slug).values[name], subs)


def substitute(expr: Any, subs: dict) -> Any:
    """Substitute symbols by *name* (assumptions differ between modules), exactly.

    Values must be numbers or SymPy expressions; text is refused (TypeError), never
    parsed: ``sympify`` of a string would evaluate it as Python."""
    import numbers

    import sympy as sp

    if not subs:
        return expr
    free: set = getattr(expr, "free_symbols", set())
    unknown = set(subs) - {s.name for s in free}
    table = {}
    for s in free:
        if s.name in subs:
            v = subs[s.name]
            if isinstance(v, bool) or not isinstance(v, (numbers.Number, sp.Basic)):
                raise TypeError(f"the value for {s.name} must be a number or a SymPy "
                                f"expression, got {type(v).__name__} {v!r:.60}")
            table[s] = sp.nsimplify(v) if isinstance(v, float) else sp.sympify(v, strict=True)
    out = expr.subs(table)
    if unknown and getattr(out, "free_symbols", None):
        raise MissingExact(f"cannot substitute {sorted(unknown)}: the expression's free "
                           f"symbols are {sorted(s.name for s in free)}")
    return out


def to_float(expr: Any) -> float:
    import sympy as sp
    v = sp.N(expr, 30)
    if getattr(v, "free_symbols", None):
        raise MissingExact(f"exact value {expr} still has free symbols {v.free_symbols}")
    return float(v)


@dataclasses.dataclass
class Context:
    """What a claim body gets: the quick flag and access to derive's exact values."""

    quick: bool = False

    def exact(self, slug: str, name: str, **subs: Any) -> float:
        """The exact value ``name`` of derivation ``slug``, as a float (30-digit evaluation)."""
        return to_float(exact_value(slug, name, **subs))

    def exact_expr(self, slug: str, name: str, **subs: Any) -> Any:
        """The exact value ``name`` of derivation ``slug``, as a SymPy expression."""
        return exact_value(slug, name, **subs)
