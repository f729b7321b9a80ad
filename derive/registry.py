"""The registry of derivations: one decorated function per catalog slug.

Registering is cheap (the function body runs only when the derivation is asked for), so
``nnmath list`` and ``nnmath show SLUG`` never build more than they need.
"""
from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib
from collections.abc import Callable

from .core import Derivation

# Topic modules, in catalog order; each registers its derivations on import.
TOPICS = (
    "softmax", "backprop", "normalization", "dropout", "moments", "initialization",
    "activations", "optimizers", "regularization", "model_size", "preprocessing",
)


@dataclasses.dataclass(frozen=True)
class Entry:
    slug: str
    title: str
    source: str
    section: int  # catalog section number
    kinds: str  # catalog kinds, e.g. "D,K"
    builder: Callable[[Derivation], None]


_ENTRIES: dict[str, Entry] = {}


def derivation(slug: str, *, title: str, source: str, section: int, kinds: str = "D"):
    """Register ``builder(d: Derivation)`` under the catalog slug ``slug``."""

    def register(builder: Callable[[Derivation], None]) -> Callable[[Derivation], None]:
        if slug in _ENTRIES:
            raise ValueError(f"derivation slug {slug!r} registered twice")
        _ENTRIES[slug] = Entry(slug, title, source, section, kinds, builder)
        return builder

    return register


@functools.lru_cache(maxsize=1)
def _load_topics() -> None:
    for name in TOPICS:
        importlib.import_module(f"derive.{name}")


def entries() -> dict[str, Entry]:
    """Every registered derivation's metadata, by slug, without building any."""
    _load_topics()
    return dict(sorted(_ENTRIES.items(), key=lambda kv: (kv[1].section, _order(kv[0]))))


_ORDER: dict[str, int] = {}


def _order(slug: str) -> int:
    return _ORDER.setdefault(slug, len(_ORDER))


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
    return d


def catalog() -> dict[str, Derivation]:
    """Every derivation, built, by slug (in catalog order)."""
    return {slug: get(slug) for slug in entries()}
