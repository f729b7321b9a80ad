"""The registry of derivations: one decorated function per catalog slug.

The row's metadata (title, source, section, kinds) lives in ``derive.catalog``; the
decorator adds only the builder and the names of the values it exports. Registering is
cheap (the function body runs only when the derivation is asked for), so ``nnmath list``
and ``nnmath show SLUG`` never build more than they need.
"""
from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib
from collections.abc import Callable

from .catalog import Row, RowView, position
from .catalog import row as catalog_row
from .core import Derivation

# Topic modules, in catalog order; each registers its derivations on import.
TOPICS = (
    "softmax", "backprop", "normalization", "dropout", "moments", "initialization",
    "activations", "optimizers", "optimizers_modern", "regularization", "model_size",
    "preprocessing", "attention", "meanfield", "power",
)


@dataclasses.dataclass(frozen=True)
class Entry(RowView):
    """A registered derivation: its catalog row, its builder and the values it exports."""

    row: Row  # the catalog row (derive/catalog.py): title, source, section, kinds
    builder: Callable[[Derivation], None]
    exports: tuple[str, ...]  # the names of d.values the builder must produce, no more


_ENTRIES: dict[str, Entry] = {}


def derivation(slug: str, *, exports: tuple[str, ...]):
    """Register ``builder(d: Derivation)`` under the catalog row ``slug``.

    ``exports`` names every value the builder leaves in ``d.values`` (conclusions are
    values too: ``d.conclude(name, …)`` stores ``d.values[name]``). Building checks that
    the names match exactly, and claims may ask only for declared names. An unknown slug
    (not a row of ``derive.catalog``) or a second registration raises here, at import.
    """
    entry_row = catalog_row(slug)
    if isinstance(exports, str) or len(set(exports)) != len(exports):
        raise ValueError(f"derivation {slug!r}: exports must be a tuple of distinct names")

    def register(builder: Callable[[Derivation], None]) -> Callable[[Derivation], None]:
        if slug in _ENTRIES:
            raise ValueError(f"derivation slug {slug!r} registered twice")
        _ENTRIES[slug] = Entry(entry_row, builder, tuple(exports))
        return builder

    return register


class ExportMismatch(RuntimeError):
    """A derivation built values other than the ones its decorator declares (a bug)."""


@functools.lru_cache(maxsize=1)
def _load_topics() -> None:
    for name in TOPICS:
        importlib.import_module(f"derive.{name}")


def entries() -> dict[str, Entry]:
    """Every registered derivation's metadata, by slug, without building any."""
    _load_topics()
    return dict(sorted(_ENTRIES.items(), key=lambda kv: position(kv[0])))


def exports(slug: str) -> tuple[str, ...]:
    """The value names derivation ``slug`` declares (without building it)."""
    known = entries()
    if slug not in known:
        raise UnknownSlug(slug, closest(slug, list(known)))
    return known[slug].exports


class UnknownSlug(KeyError):
    """No derivation has this slug; ``suggestions`` holds the closest ones."""

    def __init__(self, slug: str, suggestions: list[str]):
        self.slug = slug
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"no derivation named {slug!r}{hint} (`nnmath list` shows all)")

    def __str__(self) -> str:
        return self.args[0]


def closest(slug: str, candidates: list[str] | None = None, n: int = 3) -> list[str]:
    pool = candidates if candidates is not None else list(entries())
    found = difflib.get_close_matches(slug, pool, n=n, cutoff=0.5)
    if not found:  # fall back to slugs sharing a word
        words = set(slug.split("-"))
        found = [s for s in pool if words & set(s.split("-"))][:n]
    return found


@functools.cache
def get(slug: str) -> Derivation:
    """Build (once) and return the derivation registered under ``slug``."""
    known = entries()
    if slug not in known:
        raise UnknownSlug(slug, closest(slug, list(known)))
    entry = known[slug]
    d = Derivation(entry.slug, entry.title, entry.source)
    entry.builder(d)
    if not d.conclusions and not d.errata:
        raise RuntimeError(f"derivation {slug!r} built without a conclusion")
    built, declared = set(d.values), set(entry.exports)
    if built != declared:
        raise ExportMismatch(
            f"derivation {slug!r} declares exports {sorted(declared)} but built "
            f"{sorted(built)} (missing {sorted(declared - built)}, "
            f"undeclared {sorted(built - declared)})")
    return d


def catalog() -> dict[str, Derivation]:
    """Every derivation, built, by slug (in catalog order)."""
    return {slug: get(slug) for slug in entries()}
