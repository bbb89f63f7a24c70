"""The breaking-change classifier (distsync.contracts_check): the fixture pair of both kinds, each rule, the
version rules. Every rule case carries a witness payload valid under the old schema, validated for real: a
breaking verdict must come with a witness the new schema refuses, a compatible one with witnesses it keeps."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from distsync.contracts_check import check, contract_id, diff_schema, field_path
from distsync.schemas import render_all
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "data" / "contracts"
FILE = "StockPing-v1.json"


def fixture(kind: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"StockPing-v1.{kind}.json").read_text())


BASE = fixture("base")


def payload(**data: Any) -> dict[str, Any]:
    body = {"itemId": "SKU-1", "quantity": 5, "status": "active", "note": None, "lineCount": 2, "tags": ["a"]}
    body.update(data)
    return {"metadata": {"eventType": "StockPing", "eventVersion": "1"},
            "data": {k: v for k, v in body.items() if v is not ...}}


def valid(schema: dict[str, Any], doc: dict[str, Any]) -> bool:
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER).is_valid(doc)


def kinds(changes) -> set[tuple[str, str, str]]:
    return {(c.field, c.kind, c.verdict) for c in changes}


# ------------------------------------------------------------------------------------- the fixture pair
def test_the_compatible_fixture_passes_with_every_change_listed():
    report = check({FILE: BASE}, {FILE: fixture("compatible")}, upcasters=set())
    assert report.ok
    assert kinds(report.changes) == {
        ("data.locationId", "optional field added", "compatible"),
        ("data.itemId", "doc", "compatible"),
        ("data.lineCount", "type widened", "compatible"),
        ("data.note", "bound loosened", "compatible"),
        ("data.quantity", "doc", "compatible"),
        ("data.quantity", "bound loosened", "compatible"),
        ("data.status", "enum value added", "compatible"),
        ("data.tags", "bound loosened", "compatible"),
        ("", "doc", "compatible"),
        ("", "producer added", "compatible"),
    }
    assert valid(fixture("compatible"), payload()) and valid(fixture("compatible"), payload(quantity=2.5))


def test_the_breaking_fixture_fails_with_each_break_named():
    report = check({FILE: BASE}, {FILE: fixture("breaking")}, upcasters=set())
    assert not report.ok
    assert kinds(report.breaking) == {
        ("data.lineCount", "field removed", "breaking"),
        ("data.note", "renamed?", "breaking"),
        ("data.warehouseId", "required field added", "breaking"),
        ("data.quantity", "type narrowed", "breaking"),
        ("data.status", "enum value removed", "breaking"),
    }
    renamed = next(c for c in report.breaking if c.kind == "renamed?")
    assert "'comment'" in renamed.message and renamed.pointer == "/properties/data/properties/note"
    assert not valid(fixture("breaking"), payload())  # what partners send today is refused


# ------------------------------------------------------------------------------------------- each rule
Mutation = Callable[[dict[str, Any]], None]


def props(schema: dict[str, Any]) -> dict[str, Any]:
    return schema["properties"]["data"]["properties"]


def data(schema: dict[str, Any]) -> dict[str, Any]:
    return schema["properties"]["data"]


def _set(path: str, value: Any) -> Mutation:
    def mutate(schema: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = props(schema)
        for p in parents:
            node = node[p]
        if value is ...:
            del node[last]
        else:
            node[last] = value
    return mutate


def _both(*mutations: Mutation) -> Mutation:
    def mutate(schema: dict[str, Any]) -> None:
        for m in mutations:
            m(schema)
    return mutate


RULES: list[tuple[str, Mutation, str, str, str, dict[str, Any] | None]] = [
    # id, mutation of the base, field, kind, verdict, witness valid under the base
    ("optional added", _set("locationId", {"type": "string"}), "data.locationId", "optional field added",
     "compatible", payload()),
    ("field removed", _set("lineCount", ...), "data.lineCount", "field removed", "breaking", payload(lineCount=3)),
    ("renamed", _both(_set("note", ...), _set("remark", {"anyOf": [{"type": "string"}, {"type": "null"}]})),
     "data.note", "renamed?", "breaking", payload(note="fragile")),
    ("integer to string", _set("lineCount.type", "string"), "data.lineCount", "type changed", "breaking",
     payload(lineCount=3)),
    ("number to integer", _set("quantity.type", "integer"), "data.quantity", "type narrowed", "breaking",
     payload(quantity=1.5)),
    ("integer to number", _set("lineCount.type", "number"), "data.lineCount", "type widened", "compatible",
     payload(lineCount=3)),
    ("nullable removed", _set("note", {"type": "string", "maxLength": 200, "default": None}), "data.note", "nullable removed",
     "breaking", payload(note=None)),
    ("nullable added", _set("lineCount", {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}]}),
     "data.lineCount", "nullable added", "compatible", payload(lineCount=3)),
    ("enum removed", _set("status.enum", ["active"]), "data.status", "enum value removed", "breaking",
     payload(status="inactive")),
    ("enum added", _set("status.enum", ["active", "inactive", "blocked"]), "data.status", "enum value added",
     "compatible", payload(status="inactive")),
    ("required added", lambda s: data(s)["required"].append("note"), "data.note", "made required", "breaking",
     payload(note=...)),
    ("new required field", _both(_set("siteId", {"type": "string"}), lambda s: data(s)["required"].append("siteId")),
     "data.siteId", "required field added", "breaking", payload()),
    ("made optional", lambda s: data(s)["required"].remove("status"), "data.status", "made optional",
     "compatible", payload()),
    ("additionalProperties tightened", lambda s: s["properties"]["metadata"].update(additionalProperties=False),
     "metadata.*", "additionalProperties tightened", "breaking",
     {**payload(), "metadata": {"eventType": "StockPing", "eventVersion": "1", "traceId": "t-1"}}),
    ("additionalProperties loosened", lambda s: data(s).pop("additionalProperties"), "data.*",
     "additionalProperties loosened", "compatible", payload()),
    ("minimum raised", _set("quantity.minimum", 1), "data.quantity", "bound tightened", "breaking",
     payload(quantity=0.5)),
    ("maximum lowered", _set("quantity.maximum", 100), "data.quantity", "bound tightened", "breaking",
     payload(quantity=500)),
    ("maximum raised", _set("quantity.maximum", 2000), "data.quantity", "bound loosened", "compatible",
     payload(quantity=1000)),
    ("minimum removed", _set("quantity.minimum", ...), "data.quantity", "bound loosened", "compatible",
     payload(quantity=0)),
    ("exclusive minimum added", _set("quantity.exclusiveMinimum", True), "data.quantity", "bound tightened",
     "breaking", payload(quantity=0)),
    ("maxLength lowered", _set("note.anyOf", [{"type": "string", "maxLength": 10}, {"type": "null"}]), "data.note",
     "bound tightened", "breaking", payload(note="x" * 50)),
    ("minLength raised in items", _set("tags.items.minLength", 3), "data.tags[]", "bound tightened", "breaking",
     payload(tags=["a"])),
    ("maxItems lowered", _set("tags.maxItems", 2), "data.tags", "bound tightened", "breaking",
     payload(tags=["a", "b", "c"])),
    ("enum introduced", _set("itemId.enum", ["SKU-1"]), "data.itemId", "enum value removed", "breaking",
     payload(itemId="SKU-2")),
    ("uniqueItems added", _set("tags.uniqueItems", True), "data.tags", "uniqueItems tightened", "breaking",
     payload(tags=["a", "a"])),
    ("multipleOf added", _set("lineCount.multipleOf", 2), "data.lineCount", "multipleOf tightened", "breaking",
     payload(lineCount=3)),
    ("pattern changed", _set("itemId.pattern", "^[A-Z]{1,32}$"), "data.itemId", "pattern changed", "breaking",
     payload(itemId="SKU-1")),
    ("format added", _set("itemId.format", "email"), "data.itemId", "format added", "breaking",
     payload(itemId="SKU-1")),
    ("pattern removed", _set("itemId.pattern", ...), "data.itemId", "pattern removed", "compatible",
     payload(itemId="SKU-1")),
    ("description changed", _set("quantity.description", "On hand"), "data.quantity", "doc", "compatible",
     payload()),
    ("unknown keyword", _set("quantity.not", {"enum": [7]}), "data.quantity", "keyword changed", "breaking",
     payload(quantity=7)),
    ("producer removed", lambda s: s["x-distsync"].update(producers=["erp"]), "", "producer removed", "breaking",
     None),
    ("bus source changed", lambda s: s["x-distsync"].update(busSource="distsync.other"), "", "busSource changed",
     "breaking", None),
    ("owner metadata", lambda s: s["x-distsync"].update(owner="team-inventory"), "", "metadata", "compatible",
     None),
]


@pytest.mark.parametrize(("mutation", "field", "kind", "verdict", "witness"),
                         [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_each_rule(mutation, field, kind, verdict, witness):
    new = copy.deepcopy(BASE)
    mutation(new)
    changes = diff_schema(FILE, BASE, new)
    assert (field, kind, verdict) in kinds(changes), [c.as_dict() for c in changes]
    assert all(c.verdict == verdict for c in changes), "a single-rule mutation reports only that verdict"
    if witness is not None:
        assert valid(BASE, witness), "the witness is valid under the old schema"
        # Breaking: some payload valid before is refused now; compatible: it (and the plain one) still pass.
        assert valid(new, witness) == (verdict == "compatible")
        if verdict == "compatible":
            assert valid(new, payload())


def test_an_unchanged_schema_has_no_changes():
    assert diff_schema(FILE, BASE, copy.deepcopy(BASE)) == []


# ------------------------------------------------------------------------------------- version rules
def _version(version: str, change: Mutation | None = None) -> dict[str, Any]:
    schema = copy.deepcopy(BASE)
    schema["x-distsync"]["eventVersion"] = version
    if change:
        change(schema)
    return schema


V1, V2 = "StockPing-v1.json", "StockPing-v2.json"
BREAK = _set("status.enum", ["active"])


def test_a_breaking_change_to_an_existing_version_fails_even_with_an_upcaster():
    report = check({V1: BASE}, {V1: _version("1", BREAK)}, upcasters={("StockPing", "1")})
    assert [(c.file, c.kind) for c in report.breaking] == [(V1, "enum value removed")]


def test_a_breaking_change_as_a_new_version_with_an_upcaster_passes():
    report = check({V1: BASE}, {V1: BASE, V2: _version("2", BREAK)}, upcasters={("StockPing", "1")})
    assert report.ok
    assert [(c.file, c.kind, c.verdict) for c in report.changes] == [(V2, "new version", "compatible")]


def test_a_new_version_without_an_upcaster_from_its_predecessor_fails():
    report = check({V1: BASE}, {V1: BASE, V2: _version("2", BREAK)}, upcasters=set())
    assert [(c.file, c.kind) for c in report.breaking] == [(V2, "new version without upcaster")]
    assert "v1 has no upcaster" in report.breaking[0].message


def test_the_predecessor_is_the_newest_older_version():
    v3 = "StockPing-v3.json"
    old = {V1: BASE, V2: _version("2")}
    ok = check(old, {**old, v3: _version("3")}, upcasters={("StockPing", "1"), ("StockPing", "2")})
    missing = check(old, {**old, v3: _version("3")}, upcasters={("StockPing", "1")})
    assert ok.ok and [c.kind for c in missing.breaking] == ["new version without upcaster"]


def test_a_version_gap_fails():
    report = check({V1: BASE}, {V1: BASE, "StockPing-v3.json": _version("3")}, upcasters={("StockPing", "1")})
    assert [c.kind for c in report.breaking] == ["version gap"]


def test_a_removed_version_fails():
    report = check({V1: BASE, V2: _version("2")}, {V2: _version("2")}, upcasters={("StockPing", "1")})
    assert [(c.file, c.kind, c.verdict) for c in report.changes] == [(V1, "version removed", "breaking")]


def test_a_new_event_type_is_compatible():
    other = copy.deepcopy(BASE)
    other["x-distsync"]["eventType"] = "StockPong"
    report = check({V1: BASE}, {V1: BASE, "StockPong-v1.json": other}, upcasters=set())
    assert report.ok and [c.kind for c in report.changes] == ["new event type"]


# ------------------------------------------------------------------------------------------ the helpers
def test_contract_id_comes_from_the_schema_else_the_file_name():
    assert contract_id("Whatever.json", BASE) == ("StockPing", "1")
    assert contract_id("InventoryBalanceChanged-v2.json") == ("InventoryBalanceChanged", "2")
    assert contract_id("README.json") is None


def test_field_paths_follow_properties_and_items():
    assert field_path("/properties/data/properties/lots/items/properties/quantity/maximum") == "data.lots[].quantity"
    assert field_path("/properties/a~1b") == "a/b"
    assert field_path("") == ""


def test_todays_schemas_compare_clean_with_themselves_and_with_the_committed_files():
    # The real exported schemas: every keyword they use is understood (no "keyword changed" noise), and
    # the registry's v1 -> v2 InventoryBalanceChanged passes as a new version with its upcaster.
    today = {name: json.loads(text) for name, text in render_all().items()}
    committed = {p.name: json.loads(p.read_text()) for p in (ROOT / "schemas").glob("*.json")}
    assert check(committed, today, upcasters=set()).changes == []
    without_v2 = {k: v for k, v in today.items() if k != "InventoryBalanceChanged-v2.json"}
    report = check(without_v2, today, upcasters={("InventoryBalanceChanged", "1")})
    assert report.ok and [c.kind for c in report.changes] == ["new version"]


def test_the_classifier_stays_pure():
    # No git, no files, no network: what it imports is the standard library's data handling only.
    import ast

    import distsync.contracts_check as module

    tree = ast.parse(open(module.__file__).read())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert imported <= {"__future__", "json", "re", "collections.abc", "dataclasses", "typing"}, imported
