"""The public HTTP contract as an OpenAPI 3.0 document, generated from the contracts (never by hand).

``python -m distsync.openapi docs/openapi.json`` writes it; a test keeps the committed file in step,
and the fuzz suite (schemathesis) drives the API from it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from distsync_core.contracts import CONTRACTS
from distsync_core.platform.webhooks import MAX_BODY_BYTES

from .schemas import _flat

_SIGNED = [
    {"name": "X-Distsync-Timestamp", "in": "header", "required": True, "description": "Unix seconds; refused "
     "outside a 5-minute window", "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"}},
    {"name": "X-Distsync-Signature", "in": "header", "required": True,
     "description": 'sha256=<hex HMAC-SHA256(key, "<timestamp>.<raw body>")>, with the key of the source in '
                    "the path (each partner source has its own; a source without one is refused)",
     "schema": {"type": "string", "pattern": "^sha256=[0-9a-f]{64}$"}},
]
# A decision signs its request target too, so it is bound to its record, and each signature is used once.
_SIGNED_DECISION = [
    _SIGNED[0],
    {**_SIGNED[1], "description": 'sha256=<hex HMAC-SHA256(key, "<timestamp>.POST <path>.<raw body>")>, '
                                  "e.g. <path> /v1/approvals/apr-1, with the role's key (planners for approvals, "
                                  "operations for exception resolutions); a signature is accepted once"},
]
_OPTIONAL = [
    {"name": "X-Correlation-Id", "in": "header", "required": False,
     "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:\\-]{1,128}$"}},
    {"name": "Idempotency-Key", "in": "header", "required": False,
     "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:\\-]{1,128}$"}},
]
_PROBLEM = {"$ref": "#/components/responses/Problem"}
# Every signed route needs the caller's API key (its usage plan: infra/platform/partner_limits.py); API Gateway
# answers 403 without one and 429 over its limits, before distsync's function runs.
_API_KEY = [{"partnerApiKey": []}]
_LIMITED = {"403": _PROBLEM, "429": {"$ref": "#/components/responses/TooManyRequests"}}
_RATE_LIMIT_HEADERS = {
    name: {"$ref": f"#/components/headers/{name}"} for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
}


def _webhook_body(event_type: str, version: str, data_schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["eventType", "eventVersion", "occurredAt", "data"],
        "properties": {
            "eventType": {"type": "string", "enum": [event_type]},
            "eventVersion": {"type": "string", "enum": [version]},
            "occurredAt": {"type": "string", "format": "date-time"},
            "data": data_schema,
        },
    }


def _openapi_schema(schema: Any) -> Any:
    # JSON Schema -> OpenAPI 3.0 schema object: drop the keywords 3.0 does not know, and write an optional
    # value (pydantic's anyOf [X, {"type": "null"}]) as 3.0 does: X with nullable (3.0 has no "null" type).
    drop = {"$schema", "title"}
    if isinstance(schema, dict):
        options = schema.get("anyOf")
        if isinstance(options, list) and {"type": "null"} in options and len(options) == 2:
            (value,) = (o for o in options if o != {"type": "null"})
            rest = {k: v for k, v in schema.items() if k != "anyOf"}
            return _openapi_schema({**value, **rest, "nullable": True})
        return {k: _openapi_schema(v) for k, v in schema.items() if k not in drop}
    if isinstance(schema, list):
        return [_openapi_schema(v) for v in schema]
    return schema


# A deprecated contract version's 202 (distsync_core/platform/lifecycle.py).
_LIFECYCLE_HEADERS = {
    "Deprecation": {"description": "RFC 9745: the posted eventVersion is (or will be) deprecated from this moment, "
                                   "a structured-field Date, e.g. @1798761600", "schema": {"type": "string"}},
    "Sunset": {"description": "RFC 8594: from this HTTP-date (IMF-fixdate) the version is refused with 410",
               "schema": {"type": "string"}},
    "Link": {"description": 'the successor version\'s schema (rel="successor-version") and the deprecation policy '
                            '(rel="deprecation")', "schema": {"type": "string"}},
}


def document() -> dict[str, Any]:
    by_source: dict[str, list[dict[str, Any]]] = {}
    for contract in CONTRACTS.values():
        for source in contract.producers:
            if "." not in source:  # partner sources; internal producers (distsync.*) have no webhook
                body = _webhook_body(contract.event_type, contract.version, _openapi_schema(_flat(contract.model)))
                by_source.setdefault(source, []).append(body)
    webhook_paths = {
        f"/v1/webhooks/{source}": {
            "post": {
                "operationId": f"post{source.capitalize()}Webhook",
                "summary": f"A signed event from the {source} system",
                "security": _API_KEY,
                "parameters": _SIGNED + _OPTIONAL,
                "requestBody": {"required": True, "content": {"application/json": {"schema": (
                    bodies[0] if len(bodies) == 1 else {"oneOf": bodies})}}},
                "responses": {
                    "202": {"description": "Accepted and published", "headers": {**_RATE_LIMIT_HEADERS, **_LIFECYCLE_HEADERS},
                            "content": {"application/json": {"schema": {
                                "type": "object", "required": ["eventId", "correlationId"],
                                "properties": {"eventId": {"type": "string"}, "correlationId": {"type": "string"}}}}}},
                    **{code: _PROBLEM for code in ("400", "401", "409", "413", "415", "422", "503")}, **_LIMITED,
                    "410": {"$ref": "#/components/responses/Gone"},
                },
            }
        }
        for source, bodies in sorted(by_source.items())
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "distsync webhook API", "version": "1",
                 "description": f"Signed partner events in; bodies up to {MAX_BODY_BYTES} bytes. Every error is "
                                "application/problem+json (docs/problems.md)."},
        "paths": {
            "/health": {"get": {"operationId": "health", "responses": {"200": {"description": "Up"}}}},
            **webhook_paths,
            "/v1/approvals/{approvalId}": {
                "post": {
                    "operationId": "decideApproval",
                    "summary": "A planner's decision on a pending replenishment approval",
                    "security": _API_KEY,
                    "parameters": [{"name": "approvalId", "in": "path", "required": True,
                                    "schema": {"type": "string", "minLength": 1, "maxLength": 128}},
                                   *_SIGNED_DECISION],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {
                        "type": "object", "additionalProperties": False, "required": ["decision"],
                        "properties": {"decision": {"type": "string", "enum": ["approve", "reject"]},
                                       "comment": {"type": "string", "maxLength": 1000},
                                       "decidedBy": {"type": "string", "minLength": 1, "maxLength": 128}}}}}},
                    "responses": {"200": {"description": "Decision sent to the waiting workflow",
                                          "headers": _RATE_LIMIT_HEADERS},
                                  **{code: _PROBLEM for code in ("400", "401", "404", "409", "415")}, **_LIMITED},
                }
            },
            "/v1/connectors/{name}/events": {
                "post": {
                    "operationId": "receiveConnectorEvents",
                    "summary": "Changes an ERP pushes: S/4HANA business events (CloudEvents 1.0, Basic credentials "
                               "of the event mesh), Business Central notifications (the subscription's clientState) "
                               "and its validation handshake (?validationToken=, answered text/plain while distsync "
                               "subscribes); docs/connectors.md",
                    "parameters": [{"name": "name", "in": "path", "required": True,
                                    "schema": {"type": "string", "pattern": "^[a-z][a-z0-9]{0,19}$"}},
                                   {"name": "validationToken", "in": "query", "required": False,
                                    "schema": {"type": "string"}}],
                    "requestBody": {"required": False, "content": {
                        "application/cloudevents+json": {"schema": {"type": "object"}},
                        "application/json": {"schema": {"type": "object"}}}},
                    "responses": {
                        "200": {"description": "The validation token echoed (Business Central handshake)",
                                "content": {"text/plain": {"schema": {"type": "string"}}}},
                        "202": {"description": "Read back and published (or quarantined with the reason)",
                                "content": {"application/json": {"schema": {
                                    "type": "object", "required": ["published", "quarantined", "correlationId"],
                                    "properties": {"published": {"type": "integer"},
                                                   "quarantined": {"type": "integer"},
                                                   "correlationId": {"type": "string"}}}}}},
                        **{code: _PROBLEM for code in ("400", "401", "403", "404", "413")},
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"partnerApiKey": {
                "type": "apiKey", "in": "header", "name": "x-api-key",
                "description": "The caller's API key (`distsync keys issue <source or role>`): identifies it to API "
                               "Gateway, which meters it against its own usage plan (rate, burst, daily quota: "
                               "context partnerLimits). The HMAC signature stays the authentication."}},
            "headers": {
                "RateLimit-Limit": {"description": "IETF RateLimit fields: the caller's nearer limit (its bucket's "
                                                   "burst, or its daily quota when fewer requests are left in it)",
                                    "schema": {"type": "integer"}},
                "RateLimit-Remaining": {"description": "requests left under that limit", "schema": {"type": "integer"}},
                "RateLimit-Reset": {"description": "seconds until that limit is back to full",
                                    "schema": {"type": "integer"}},
                "Retry-After": {"description": "seconds to wait before the next request", "schema": {"type": "integer"}},
            },
            "responses": {"TooManyRequests": {
                "description": "Over the caller's rate (#rate-limited) or daily quota (#quota-exceeded): an RFC 9457 "
                               "problem naming the limit, with Retry-After",
                "headers": {"Retry-After": {"$ref": "#/components/headers/Retry-After"}, **_RATE_LIMIT_HEADERS},
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
                "Gone": {"description": "The eventVersion is past its sunset (#gone): post the successor version",
                         "content": {"application/problem+json": {"schema": {
                             "type": "object",
                             "required": ["type", "title", "status", "detail", "successorVersion", "successorSchema"],
                             "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                                            "status": {"type": "integer"}, "detail": {"type": "string"},
                                            "successorVersion": {"type": "string"},
                                            "successorSchemaName": {"type": "string"},
                                            "successorSchema": {"type": "string", "format": "uri"}}}}}},
                "Problem": {"description": "RFC 9457 problem details", "content": {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}},
            "schemas": {"Problem": {
                "type": "object", "required": ["type", "title", "status", "detail"],
                "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                               "status": {"type": "integer"}, "detail": {"type": "string"},
                               "errors": {"type": "array", "items": {"type": "object", "properties": {
                                   "field": {"type": "string"}, "message": {"type": "string"}}}}}}},
        },
    }


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/openapi.json")
    target.write_text(render())
    print(f"wrote {target}")
