"""``nnmath list [--section N]``: every catalog row, its source, and which parts exist.

Rows and their order come from the catalog table (``derive.catalog``); parts from the
registries, without building anything: a derivation registered in ``derive``, a kernel
named in the header of a generated ``numeric/kernels/*.py`` (read as text, so NumPy is
not imported), a claim registered in ``proofs.claims``, a worked example (an E row with a
derivation or claim that reproduces it) and an erratum (an X row whose derivation decides
it).
"""
from __future__ import annotations

import argparse
import importlib.util
import pathlib
import re

from . import UsageError

PARTS = (("D", "derivation"), ("K", "kernel"), ("C", "claim"), ("E", "example"),
         ("X", "erratum"))


def section_number(text: str) -> int:
    """argparse type: a catalog section number that exists."""
    from derive.catalog import SECTIONS

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a section number, got {text!r}") from None
    if value not in SECTIONS:
        raise argparse.ArgumentTypeError(
            f"no catalog section {value} (sections are {min(SECTIONS)}–{max(SECTIONS)})")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--section", type=section_number, metavar="N",
                        help="only this catalog section")


def kernel_slugs() -> set[str]:
    """Slugs named in the headers of the generated kernel files (``#   slug  fingerprint``)."""
    spec = importlib.util.find_spec("numeric")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return set()
    found: set[str] = set()
    for root in spec.submodule_search_locations:
        for path in sorted(pathlib.Path(root, "kernels").glob("*.py")):
            head = path.read_text(encoding="utf-8").split("\nimport", 1)[0]
            found.update(re.findall(r"^#   (\S+)\s+[0-9a-f]{16}\s", head, flags=re.M))
    return found


def parts(slug: str, *, derivations: set[str], kernels: set[str], claims: set[str],
          kinds) -> str:
    """Five columns D K C E X: the letter when the part exists, '-' when the row's kinds
    call for it and it is missing, blank when the row has none."""
    from derive.catalog import Kind

    exists = {
        "D": slug in derivations,
        "K": slug in kernels,
        "C": slug in claims,
        "E": Kind.E in kinds and (slug in derivations or slug in claims),
        "X": Kind.X in kinds and slug in derivations,
    }
    return "".join(letter if exists[letter] else "-" if Kind[letter] in kinds else " "
                   for letter, _ in PARTS)


def run(args: argparse.Namespace) -> int:
    import derive
    from derive.catalog import ROWS, SECTIONS

    from .. import claims

    derivations, registered_claims = set(derive.entries()), set(claims.entries())
    kernels = kernel_slugs()
    rows = [r for r in ROWS if args.section is None or r.section == args.section]
    if not rows:  # pragma: no cover - every section has rows
        raise UsageError(f"catalog section {args.section} has no rows yet")
    width = max(len(r.slug) for r in rows)
    src = min(max(len(r.source) for r in rows), 28)
    print(f"{'slug':<{width}}  {'kinds':<7} {'parts':<5}  {'source':<{src}}  title")
    section = None
    for r in rows:
        if r.section != section:
            section = r.section
            print(f"# {section}. {SECTIONS[section]}")
        source = r.source if len(r.source) <= src else r.source[:src - 1] + "…"
        have = parts(r.slug, derivations=derivations, kernels=kernels,
                     claims=registered_claims, kinds=r.kinds)
        print(f"{r.slug:<{width}}  {r.kinds!s:<7} {have:<5}  {source:<{src}}  {r.title}")
    legend = ", ".join(f"{letter} {name}" for letter, name in PARTS)
    print(f"\n{len(rows)} rows. parts: {legend}; '-' the row's kinds call for it but it "
          f"is missing.")
    return 0
