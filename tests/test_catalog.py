"""The catalog table is the one home of row metadata; derivations declare their values.

Everything here is read from the registries and the table, so a new row, derivation or
claim is covered without editing this file.
"""
from __future__ import annotations

import ast
import importlib
import pathlib

import pytest

import derive
import proofs.claims as claims
from derive import registry
from derive.catalog import BY_SLUG, ROWS, SECTIONS, Kind, UnknownRow, position, row

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXACT_CALLS = {"exact", "exact_expr", "exact_value"}


def test_every_topic_module_imports_and_registers_only_catalog_rows():
    for name in registry.TOPICS:
        importlib.import_module(f"derive.{name}")
    for name in claims.TOPICS:
        importlib.import_module(f"proofs.claims.{name}")
    registered = set(derive.entries()) | set(claims.entries())
    assert registered <= set(BY_SLUG)
    # every row of the table has at least one part
    assert set(BY_SLUG) == registered


def test_table_has_unique_slugs_and_known_sections():
    slugs = [r.slug for r in ROWS]
    assert len(slugs) == len(set(slugs))
    assert {r.section for r in ROWS} <= set(SECTIONS)
    assert all(r.kinds and r.title and r.source for r in ROWS)


def test_unknown_slug_raises_at_registration():
    with pytest.raises(UnknownRow, match="not a row of the catalog"):
        registry.derivation("no-such-row", exports=("x",))
    with pytest.raises(UnknownRow):
        claims.claim("no-such-row")


def test_duplicated_slug_raises_at_registration():
    with pytest.raises(ValueError, match="registered twice"):
        registry.derivation("softmax-jacobian", exports=("x",))(lambda d: None)
    with pytest.raises(ValueError, match="registered twice"):
        claims.claim("dropout-mean")(lambda ctx: [])


def test_claim_and_derivation_views_are_the_same_row():
    d, c = derive.entries(), claims.entries()
    for slug in set(d) & set(c):
        assert d[slug].row is c[slug].row is row(slug)
        assert (d[slug].title, d[slug].source, d[slug].section, d[slug].kinds) == \
               (c[slug].title, c[slug].source, c[slug].section, c[slug].kinds)


def test_registries_list_rows_in_table_order():
    for found in (list(derive.entries()), list(claims.entries())):
        assert [position(s) for s in found] == sorted(position(s) for s in found)


def test_kinds_are_flags_spelled_as_in_the_catalog():
    assert str(Kind.D | Kind.K) == "D,K"
    assert Kind.K in row("batchnorm-backward").kinds
    assert Kind.C not in row("batchnorm-backward").kinds
    # a kernel is generated from a derivation: every K row is a D row
    assert all(Kind.D in r.kinds for r in ROWS if Kind.K in r.kinds)


def _exact_requests():
    """(file, line, slug, name-node) for every call in the claim modules (and plots) that
    passes a derivation slug literal followed by a value name: ctx.exact, ctx.exact_expr,
    exact_value, and helpers that forward them."""
    files = sorted((ROOT / "proofs" / "claims").glob("*.py")) + [ROOT / "proofs" / "plots.py"]
    slugs = set(derive.entries())
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            fname = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            args = node.args
            for i, a in enumerate(args[:-1]):
                if isinstance(a, ast.Constant) and a.value in slugs:
                    yield path.name, node.lineno, a.value, args[i + 1], fname
                    break
            else:
                if fname in EXACT_CALLS and len(args) >= 2:
                    yield path.name, node.lineno, None, args[1], fname


def test_claims_ask_for_declared_names_only():
    requests = list(_exact_requests())
    assert len(requests) > 20  # the scan sees the claims' exact values
    for fname, line, slug, name, _call in requests:
        where = f"{fname}:{line}"
        assert not isinstance(name, (ast.Tuple, ast.List)), f"{where}: ask for one name"
        if slug is None:
            continue  # a helper forwarding its arguments; its callers are scanned
        assert isinstance(name, ast.Constant) and isinstance(name.value, str), \
            f"{where}: the value name must be a literal"
        assert name.value in derive.exports(slug), \
            f"{where}: {slug!r} declares no value {name.value!r} (it has {derive.exports(slug)})"


def test_undeclared_name_fails_before_building(monkeypatch):
    def no_build(slug):
        raise AssertionError("built although the name is not declared")

    monkeypatch.setattr(derive, "get", no_build)
    with pytest.raises(claims.MissingExact, match="declares"):
        claims.exact_value("relu-moments", "E_relu")
    with pytest.raises(TypeError):
        claims.exact_value("relu-moments", ("mean", "relu_mean"))  # type: ignore[arg-type]


def test_building_checks_the_declared_exports(monkeypatch):
    entry = derive.entries()["sigmoid-bce-gradient"]
    wrong = registry.Entry(entry.row, entry.builder, ("not_a_value",))
    monkeypatch.setitem(registry._ENTRIES, entry.slug, wrong)
    with pytest.raises(registry.ExportMismatch, match="not_a_value"):
        registry.get.__wrapped__(entry.slug)


def test_derive_catalog_is_the_table_and_still_builds_everything(monkeypatch):
    assert derive.catalog.ROWS is ROWS
    monkeypatch.setattr(registry, "catalog", lambda: {"built": True})
    assert derive.catalog() == {"built": True}
