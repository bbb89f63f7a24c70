"""Export the contracts as JSON Schema (draft 4, as the EventBridge schema registry expects).

``python -m distsync.schemas <dir>`` writes one file per contract: the schema of the EventBridge
``detail`` (envelope with that contract's data). A test keeps the committed files in step with the models.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from distsync_core.contracts import CONTRACTS, Contract, Metadata

DRAFT4 = "http://json-schema.org/draft-04/schema#"


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    # Draft 4 has no $defs: inline every local reference.
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def _flat(model: type) -> dict[str, Any]:
    schema = model.model_json_schema(by_alias=True)
    return _inline(schema, schema.get("$defs", {}))


def detail_schema(contract: Contract) -> dict[str, Any]:
    metadata = _flat(Metadata)
    metadata["properties"]["eventType"] = {"enum": [contract.event_type], "type": "string"}
    metadata["properties"]["eventVersion"] = {"enum": [contract.version], "type": "string"}
    return {
        "$schema": DRAFT4,
        "title": contract.schema_name,
        "description": (contract.model.__doc__ or "").strip(),
        "type": "object",
        "additionalProperties": False,
        "required": ["metadata", "data"],
        "properties": {"metadata": metadata, "data": _flat(contract.model)},
        "x-distsync": {
            "eventType": contract.event_type,
            "eventVersion": contract.version,
            "busSource": contract.bus_source,
            "producers": sorted(contract.producers),
            # the owning team and its default contact (context `owners` may replace the contact per deployment)
            "owner": {"team": contract.owner.team, "contact": contract.owner.contact},
            # the registry's lifecycle (context `contractLifecycle` may override it per deployment)
            "lifecycle": {
                "deprecated": contract.deprecated.isoformat() if contract.deprecated else None,
                "sunset": contract.sunset.isoformat() if contract.sunset else None,
            },
        },
    }


def render_all() -> dict[str, str]:
    return {
        f"{c.schema_name}.json": json.dumps(detail_schema(c), indent=2, sort_keys=True) + "\n"
        for c in CONTRACTS.values()
    }


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "schemas")
    out.mkdir(parents=True, exist_ok=True)
    for name, text in render_all().items():
        (out / name).write_text(text)
    print(f"wrote {len(CONTRACTS)} schemas to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
