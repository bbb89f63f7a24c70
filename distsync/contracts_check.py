"""Breaking-change classifier for the exported data contracts (``schemas/*.json``): pure, no git, no I/O.

Direction. A change is *compatible* when every document valid under the old schema is still valid under the
new one: the new schema accepts a superset ("backward compatible": distsync, the reader, still accepts what
writers produced). That protects the writers of what distsync validates: partners posting webhooks with the
payloads they send today, and events already written under the old schema (in flight on the bus, in DLQs and
quarantine, in the ledger and the archive that replays and redrives feed back in), which a redeployed
consumer must still accept. The schemas are closed (``additionalProperties: false``, pydantic
``extra="forbid"``), so a removed field is breaking too: an old payload still carrying it is refused.

Events distsync publishes are read by others: removals and narrowings are breaking for them as well, but a
widening (an optional field, an enum value, a looser bound) is classed compatible, which asks subscribers to
read tolerantly (ignore unknown fields, handle unknown enum values); docs/contracts.md says so.

A breaking change to an existing (type, version) fails; a breaking change is made as a new version whose
predecessor has an upcaster in the registry (``Contract.upcast``). Where containment cannot be decided (a
changed regex, an unknown keyword) the change is classed breaking: a false alarm costs a review, a missed
break costs a partner's rejected events.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

Verdict = Literal["compatible", "breaking"]
COMPATIBLE: Verdict = "compatible"
BREAKING: Verdict = "breaking"

SCHEMA_FILE = re.compile(r"^(?P<type>[A-Za-z0-9]+)-v(?P<version>[0-9]+)\.json$")

# Keywords that only document: changes are listed as "doc" and never break anything.
DOC_KEYWORDS = frozenset({
    "description", "title", "examples", "$comment", "$schema", "$id", "deprecated", "readOnly", "writeOnly",
})
# Keywords that bound from below / above: a larger lower bound (or a new one) accepts less.
LOWER_BOUNDS = frozenset({"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"})
UPPER_BOUNDS = frozenset({"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"})
# Handled together by _compare_object / _compare_types / the nullable unwrapping.
STRUCTURAL = frozenset({"type", "properties", "required", "additionalProperties", "items", "anyOf"})


@dataclass(frozen=True)
class Change:
    file: str
    pointer: str  # JSON pointer into the schema document (RFC 6901)
    field: str  # the payload field it is about, e.g. data.lots[].quantity ("" for the whole schema)
    kind: str
    verdict: Verdict
    message: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Report:
    changes: list[Change]

    @property
    def breaking(self) -> list[Change]:
        return [c for c in self.changes if c.verdict == BREAKING]

    @property
    def ok(self) -> bool:
        return not self.breaking


def contract_id(file: str, schema: Mapping[str, Any] | None = None) -> tuple[str, str] | None:
    """(event type, version) of a schema file, from its ``x-distsync`` block, else from its name."""
    meta = (schema or {}).get("x-distsync")
    if isinstance(meta, Mapping) and meta.get("eventType") and meta.get("eventVersion"):
        return str(meta["eventType"]), str(meta["eventVersion"])
    match = SCHEMA_FILE.match(file)
    return (match["type"], match["version"]) if match else None


def check(
    old: Mapping[str, Mapping[str, Any]],
    new: Mapping[str, Mapping[str, Any]],
    upcasters: Collection[tuple[str, str]],
) -> Report:
    """Every change from the ``old`` schema files to the ``new`` ones ({file name: schema}), classified.

    ``upcasters``: the (type, version) pairs whose events the registry upcasts to the next version."""
    ids = {f: contract_id(f, s) for f, s in (*old.items(), *new.items())}
    old_versions: dict[str, set[int]] = {}
    all_versions: dict[str, set[int]] = {}
    for f in old:
        if (cid := ids[f]) is not None:
            old_versions.setdefault(cid[0], set()).add(int(cid[1]))
    for f in (*old, *new):
        if (cid := ids[f]) is not None:
            all_versions.setdefault(cid[0], set()).add(int(cid[1]))
    changes: list[Change] = []
    for file in sorted({*old, *new}):
        if file in old and file in new:
            changes.extend(diff_schema(file, old[file], new[file]))
        elif file in old:
            changes.append(Change(
                file, "", "", "version removed", BREAKING,
                "the schema file is gone: events of this version still sent by partners, in flight, in DLQs or "
                "replayed from the archive would be refused; deprecate it with a sunset date instead",
            ))
        else:
            changes.append(_new_file(file, ids[file], old_versions, all_versions, upcasters))
    return Report(changes)


def _new_file(
    file: str,
    cid: tuple[str, str] | None,
    old_versions: Mapping[str, set[int]],
    all_versions: Mapping[str, set[int]],
    upcasters: Collection[tuple[str, str]],
) -> Change:
    if cid is None:
        return Change(file, "", "", "new file", COMPATIBLE, "not a contract schema (no eventType/eventVersion)")
    event_type, version = cid
    older = [v for v in all_versions.get(event_type, set()) if v < int(version)]
    if not older:
        kind = "new version" if event_type in old_versions else "new event type"
        return Change(file, "", "", kind, COMPATIBLE, f"{event_type} v{version} is new: nobody relies on it yet")
    predecessor = str(max(older))
    if int(predecessor) != int(version) - 1:
        # upcast_to_latest steps version by version: v(n-1) must exist for vn events to reach the latest.
        return Change(file, "", "", "version gap", BREAKING,
                      f"{event_type} v{version} follows v{predecessor}: versions are upcast one step at a time")
    if (event_type, predecessor) in upcasters:
        return Change(file, "", "", "new version", COMPATIBLE,
                      f"{event_type} v{version} is new, and v{predecessor} events are upcast to it")
    return Change(
        file, "", "", "new version without upcaster", BREAKING,
        f"{event_type} v{version} is new but v{predecessor} has no upcaster in the registry (Contract.upcast): "
        f"v{predecessor} events could not be brought to the latest version",
    )


def diff_schema(file: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """The classified changes between two versions of one schema document."""
    out = _Collector(file)
    _compare(old, new, "", out)
    return out.changes


class _Collector:
    def __init__(self, file: str) -> None:
        self.file = file
        self.changes: list[Change] = []

    def add(self, pointer: str, kind: str, verdict: Verdict, message: str) -> None:
        self.changes.append(Change(self.file, pointer, field_path(pointer), kind, verdict, message))


def field_path(pointer: str) -> str:
    """``/properties/data/properties/lots/items/properties/quantity`` -> ``data.lots[].quantity``."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    out = ""
    i = 0
    while i < len(parts):
        if parts[i] == "properties" and i + 1 < len(parts):
            out += ("." if out else "") + parts[i + 1]
            i += 2
            continue
        if parts[i] == "items":
            out += "[]"
        elif parts[i] == "additionalProperties":
            out += ".*"
        i += 1
    return out


def _child(pointer: str, *keys: str) -> str:
    return pointer + "".join("/" + k.replace("~", "~0").replace("/", "~1") for k in keys)


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _normalize(node: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """The node without its null alternative, and whether null was accepted.

    pydantic writes ``X | None`` as ``{"anyOf": [X, {"type": "null"}], ...}``: unwrapped to X (with the
    wrapper's description/default), so a nullable field compares with its non-null form field by field."""
    node = dict(node)
    nullable = False
    branches = node.get("anyOf")
    if isinstance(branches, list):
        rest = [b for b in branches if b != {"type": "null"}]
        nullable = len(rest) < len(branches)
        if len(rest) == 1 and isinstance(rest[0], Mapping):
            del node["anyOf"]
            node = {**rest[0], **node}
        elif nullable:
            node["anyOf"] = rest
    types = node.get("type")
    if isinstance(types, list) and "null" in types:
        nullable = True
        kept = [t for t in types if t != "null"]
        node["type"] = kept[0] if len(kept) == 1 else kept
    return node, nullable


def _compare(old_node: Any, new_node: Any, ptr: str, out: _Collector) -> None:
    if not isinstance(old_node, Mapping) or not isinstance(new_node, Mapping):
        if old_node != new_node:  # boolean schemas (true/false) and the like
            out.add(ptr, "schema changed", BREAKING, f"{_show(old_node)} became {_show(new_node)}")
        return
    old, old_null = _normalize(old_node)
    new, new_null = _normalize(new_node)
    if old_null and not new_null:
        out.add(ptr, "nullable removed", BREAKING, "null was accepted and is refused now")
    elif new_null and not old_null:
        out.add(ptr, "nullable added", COMPATIBLE, "null is accepted now")
    _compare_types(old, new, ptr, out)
    _compare_anyof(old, new, ptr, out)
    _compare_object(old, new, ptr, out)
    if "items" in old or "items" in new:
        if "items" not in new:
            out.add(_child(ptr, "items"), "items loosened", COMPATIBLE, "array items are no longer constrained")
        elif "items" not in old:
            out.add(_child(ptr, "items"), "items tightened", BREAKING, "array items are constrained now")
        else:
            _compare(old["items"], new["items"], _child(ptr, "items"), out)
    for key in sorted((old.keys() | new.keys()) - STRUCTURAL):
        if old.get(key) != new.get(key) or (key in old) != (key in new):
            _compare_keyword(key, old.get(key), new.get(key), key in old, key in new, ptr, out)


def _types(node: Mapping[str, Any]) -> set[str] | None:
    t = node.get("type")
    if t is None:
        return None  # any type
    return {t} if isinstance(t, str) else set(t)


def _compare_types(old: Mapping[str, Any], new: Mapping[str, Any], ptr: str, out: _Collector) -> None:
    before, after = _types(old), _types(new)
    if before == after:
        return
    where = _child(ptr, "type")
    if after is None:
        out.add(where, "type widened", COMPATIBLE, f"type {_show(sorted(before or ()))} is no longer constrained")
        return
    if before is None:
        out.add(where, "type narrowed", BREAKING, f"any type was accepted, now only {_show(sorted(after))}")
        return
    # Every integer is a number: integer -> number widens, number -> integer narrows.
    lost = {t for t in before if t not in after and not (t == "integer" and "number" in after)}
    if not lost:
        out.add(where, "type widened", COMPATIBLE, f"type {_show(sorted(before))} -> {_show(sorted(after))}")
        return
    narrowed = after <= before or (lost == {"number"} and "integer" in after)
    out.add(
        where, "type narrowed" if narrowed else "type changed", BREAKING,
        f"type {_show(sorted(before))} -> {_show(sorted(after))}: a {' or '.join(sorted(lost))} value that was "
        "valid is refused now",
    )


def _compare_anyof(old: Mapping[str, Any], new: Mapping[str, Any], ptr: str, out: _Collector) -> None:
    # Alternatives (other than X | None, unwrapped before): compared as a set of whole branches.
    before, after = old.get("anyOf"), new.get("anyOf")
    if before == after:
        return
    old_set = {_show(b) for b in before or []}
    new_set = {_show(b) for b in after or []}
    if after is None or (before is not None and old_set <= new_set):
        out.add(_child(ptr, "anyOf"), "alternatives widened", COMPATIBLE, "every old alternative is still accepted")
    else:
        out.add(_child(ptr, "anyOf"), "alternatives changed", BREAKING,
                "an alternative that was accepted is gone or changed (compared as whole branches)")


def _shape(node: Any) -> str:
    if not isinstance(node, Mapping):
        return _show(node)
    normal, nullable = _normalize(node)
    return _show([sorted(_types(normal) or ["any"]), nullable])


def _compare_object(old: Mapping[str, Any], new: Mapping[str, Any], ptr: str, out: _Collector) -> None:
    old_props: Mapping[str, Any] = old.get("properties") or {}
    new_props: Mapping[str, Any] = new.get("properties") or {}
    old_req, new_req = set(old.get("required") or ()), set(new.get("required") or ())
    _compare_field_sets(old_props, new_props, new_req, ptr, out)
    for name in sorted(old_props.keys() & new_props.keys()):
        where = _child(ptr, "properties", name)
        if name in new_req and name not in old_req:
            out.add(where, "made required", BREAKING, f"{name!r} was optional and is required now")
        elif name in old_req and name not in new_req:
            out.add(where, "made optional", COMPATIBLE, f"{name!r} was required and is optional now")
        _compare(old_props[name], new_props[name], where, out)
    _compare_additional(old, new, ptr, out)


def _compare_field_sets(
    old_props: Mapping[str, Any], new_props: Mapping[str, Any], new_req: set[str], ptr: str, out: _Collector
) -> None:
    removed = sorted(old_props.keys() - new_props.keys())
    added = sorted(new_props.keys() - old_props.keys())
    # A field gone and one of the same shape new, in one change: most likely a rename (reported once).
    renamed: dict[str, str] = {}
    for gone in removed:
        match = next((a for a in added if a not in renamed.values()
                      and _shape(old_props[gone]) == _shape(new_props[a])), None)
        if match is not None:
            renamed[gone] = match
    for gone in removed:
        where = _child(ptr, "properties", gone)
        if gone in renamed:
            to = renamed[gone]
            out.add(where, "renamed?", BREAKING,
                    f"{gone!r} is gone and {to!r} of the same type is new (renamed to {to!r}?): payloads with "
                    f"{gone!r} are refused{f' and {to!r} is required' if to in new_req else ''}")
        else:
            out.add(where, "field removed", BREAKING,
                    f"{gone!r} is gone: payloads that still send it are refused, readers of it lose it")
    for name in added:
        if name in renamed.values():
            continue
        where = _child(ptr, "properties", name)
        if name in new_req:
            out.add(where, "required field added", BREAKING,
                    f"{name!r} is new and required: payloads without it are refused")
        else:
            out.add(where, "optional field added", COMPATIBLE, f"{name!r} is new and optional")


def _compare_additional(old: Mapping[str, Any], new: Mapping[str, Any], ptr: str, out: _Collector) -> None:
    before, after = old.get("additionalProperties", True), new.get("additionalProperties", True)
    if before == after:
        return
    where = _child(ptr, "additionalProperties")
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        _compare(before, after, where, out)
    elif after is True or before is False:
        out.add(where, "additionalProperties loosened", COMPATIBLE, "more unknown properties are accepted now")
    else:
        out.add(where, "additionalProperties tightened", BREAKING,
                "unknown properties that were accepted are refused (or constrained) now")


def _compare_keyword(
    key: str, before: Any, after: Any, had: bool, has: bool, ptr: str, out: _Collector
) -> None:
    where = _child(ptr, key)
    if key in DOC_KEYWORDS:
        out.add(where, "doc", COMPATIBLE, f"{key} changed")
    elif key.startswith("x-"):
        for change in _compare_extension(before, after):
            out.add(where, *change)
    elif key == "default":
        out.add(where, "default changed", COMPATIBLE,
                f"the value assumed when it is absent: {_show(before)} -> {_show(after)} (check the meaning)")
    elif key in ("enum", "const"):
        _compare_enum(_values(key, before, had), _values(key, after, has), where, out)
    elif key in LOWER_BOUNDS or key in UPPER_BOUNDS:
        _compare_bound(key, before if had else None, after if has else None, where, out)
    else:
        _compare_constraint(key, before, after, had, has, where, out)


def _compare_enum(before: set[str] | None, after: set[str] | None, where: str, out: _Collector) -> None:
    if before is None:  # a new enum (or const) where any value was accepted
        out.add(where, "enum value removed", BREAKING, f"only {', '.join(sorted(after or ()))} accepted now")
        return
    lost = sorted(before - after) if after is not None else []
    gained = sorted(after - before) if after is not None else []
    if lost:
        out.add(where, "enum value removed", BREAKING, f"no longer accepted: {', '.join(lost)}")
    if gained or after is None:
        out.add(where, "enum value added", COMPATIBLE,
                f"accepted now: {', '.join(gained) or 'any value'} (readers must handle unknown values)")


def _compare_constraint(
    key: str, before: Any, after: Any, had: bool, has: bool, where: str, out: _Collector
) -> None:
    if key in ("pattern", "format"):
        if not has:
            out.add(where, f"{key} removed", COMPATIBLE, f"{key} {_show(before)} no longer applies")
        else:
            out.add(where, f"{key} changed" if had else f"{key} added", BREAKING,
                    f"{_show(before) if had else 'none'} -> {_show(after)}: may refuse values that were valid "
                    "(containment is not decided, so any change counts as breaking)")
    elif key == "uniqueItems":
        tighter = bool(after) and not bool(before)
        out.add(where, "uniqueItems " + ("tightened" if tighter else "loosened"),
                BREAKING if tighter else COMPATIBLE, f"{_show(before)} -> {_show(after)}")
    elif key == "multipleOf":
        # Looser when every multiple of the old step is one of the new (the old step is a multiple of it).
        looser = not has or (had and isinstance(before, int | float) and isinstance(after, int | float)
                             and after != 0 and (before / after) == int(before / after))
        out.add(where, "multipleOf " + ("loosened" if looser else "tightened"),
                COMPATIBLE if looser else BREAKING, f"{_show(before)} -> {_show(after)}")
    else:
        out.add(where, "keyword changed", BREAKING,
                f"{key}: {_show(before)} -> {_show(after)} (not understood by the check: review by hand)")


def _values(key: str, value: Any, present: bool) -> set[str] | None:
    if not present:
        return None
    return {_show(v) for v in (value if key == "enum" else [value])}


def _compare_bound(key: str, before: Any, after: Any, where: str, out: _Collector) -> None:
    lower = key in LOWER_BOUNDS
    if after is None:
        tighter = False
    elif before is None:
        tighter = True
    else:
        # Draft 4 writes exclusiveMinimum/Maximum as booleans: true is the tighter one.
        tighter = after > before if lower else after < before
        if isinstance(before, bool) or isinstance(after, bool):
            tighter = bool(after) and not bool(before)
    out.add(where, "bound " + ("tightened" if tighter else "loosened"), BREAKING if tighter else COMPATIBLE,
            f"{key} {_show(before) if before is not None else 'none'} -> {_show(after) if after is not None else 'none'}")


def _compare_extension(before: Any, after: Any) -> Iterator[tuple[str, Verdict, str]]:
    """distsync's own block: producers and the bus source matter to partners and subscribers; other keys
    (ownership, lifecycle dates) are metadata."""
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        yield "metadata", COMPATIBLE, "extension block changed"
        return
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key == "producers":
            before_set, after_set = set(old or ()), set(new or ())
            if lost := sorted(before_set - after_set):
                yield "producer removed", BREAKING, f"{', '.join(lost)} may no longer send it: their events are refused"
            if gained := sorted(after_set - before_set):
                yield "producer added", COMPATIBLE, f"new producers: {', '.join(gained)}"
        elif key in ("busSource", "eventType", "eventVersion"):
            yield f"{key} changed", BREAKING, f"{_show(old)} -> {_show(new)}: rules and readers matching it miss it"
        else:
            yield "metadata", COMPATIBLE, f"{key}: {_show(old)} -> {_show(new)}"
