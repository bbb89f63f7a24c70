"""Webhook intake: from raw HTTP request to a validated canonical envelope, or a problem that says why.

Checks run cheapest-first and before anything is parsed from an unauthenticated body:
size (413) -> content type (415) -> signature and timestamp (401) -> JSON and contract (400).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..contracts import CONTRACTS, BusinessTime, Contract, ContractModel, Envelope, contract_for, new_envelope
from . import lifecycle
from .problems import (
    BadRequest,
    ContractViolation,
    Gone,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
    pydantic_errors,
)
from .signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify

MAX_BODY_BYTES = 256 * 1024
CORRELATION_HEADER = "X-Correlation-Id"
IDEMPOTENCY_HEADER = "Idempotency-Key"
_TOKEN = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_SOURCE = re.compile(r"^[a-z][a-z0-9\-]{0,31}$")


class WebhookBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    eventType: str = Field(min_length=1, max_length=64)
    eventVersion: str = Field(min_length=1, max_length=8)
    occurredAt: BusinessTime
    data: dict


@dataclass(frozen=True)
class AcceptedWebhook:
    envelope: Envelope
    data: ContractModel
    idempotency_key: str | None
    body_sha256: str
    deprecation: lifecycle.Decision | None = None  # the version's lifecycle: headers for the answer, usage count

    @property
    def dedup_request(self) -> dict[str, str]:
        """What Powertools idempotency keys on (source + key) and validates (the body hash)."""
        return {
            "source": self.envelope.metadata.source,
            "idempotencyKey": self.idempotency_key or "",
            "bodySha256": self.body_sha256,
        }


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    lowered = name.lower()
    for key, value in (headers or {}).items():
        if key.lower() == lowered:
            return value
    return None


def require_json(headers: Mapping[str, str] | None) -> None:
    content_type = (header(headers, "Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType(f"Content-Type must be application/json, got {content_type or 'none'!r}")


def _optional_token(headers: Mapping[str, str] | None, name: str) -> str | None:
    value = header(headers, name)
    if value is None:
        return None
    if not _TOKEN.match(value):
        raise BadRequest(f"{name} must be 1-128 characters of A-Z a-z 0-9 . _ : -")
    return value


def accept(
    source: str,
    headers: Mapping[str, str] | None,
    raw_body: bytes,
    secrets: Sequence[str],
    now: float,
    lifecycles: Mapping[tuple[str, str], lifecycle.Lifecycle] | None = None,
) -> AcceptedWebhook:
    """``lifecycles``: the versions' deprecation and sunset (default: the registry's and CONTRACT_LIFECYCLE)."""
    if len(raw_body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"body is {len(raw_body)} bytes; the limit is {MAX_BODY_BYTES}")
    require_json(headers)
    try:
        verify(secrets, header(headers, TIMESTAMP_HEADER), header(headers, SIGNATURE_HEADER), raw_body, now)
    except SignatureError as exc:
        raise Unauthorized(str(exc)) from exc
    if not _SOURCE.match(source):
        raise BadRequest(f"unknown webhook source {source!r}")
    correlation_id = _optional_token(headers, CORRELATION_HEADER) or str(uuid.uuid4())
    idempotency_key = _optional_token(headers, IDEMPOTENCY_HEADER)

    try:
        body = WebhookBody.model_validate_json(raw_body)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise BadRequest("body is not valid JSON", pydantic_errors(exc)) from exc
        raise ContractViolation("body does not match the webhook envelope", pydantic_errors(exc)) from exc
    try:
        contract = contract_for(body.eventType, body.eventVersion)
    except ValueError as exc:
        # A known type in an unsupported version: the version is what is wrong.
        field = "eventVersion" if any(t == body.eventType for t, _ in CONTRACTS) else "eventType"
        raise ContractViolation(str(exc), [{"field": field, "message": str(exc)}]) from exc
    if source not in contract.producers:
        msg = f"{body.eventType} is not accepted from source {source!r} (producers: {', '.join(sorted(contract.producers))})"
        raise ContractViolation(msg, [{"field": "source", "message": msg}])
    decision = _lifecycle(contract, now, lifecycles)
    try:
        data = contract.model.model_validate(body.data)
    except ValidationError as exc:
        raise ContractViolation(
            f"data breaks the {contract.schema_name} contract", pydantic_errors(exc, "data.")
        ) from exc

    envelope = new_envelope(
        contract,
        data,
        correlation_id=correlation_id,
        source=source,
        occurred_at=body.occurredAt,
        idempotency_key=idempotency_key,
    )
    return AcceptedWebhook(envelope, data, idempotency_key, hashlib.sha256(raw_body).hexdigest(), decision)


def _lifecycle(contract: Contract, now: float, lifecycles: Mapping[tuple[str, str], lifecycle.Lifecycle] | None,
               ) -> lifecycle.Decision:
    """The version's lifecycle decision; past its sunset a 410 naming the successor (before the data is read:
    whatever it holds, this version is no longer taken)."""
    table = lifecycle.deployed_lifecycles() if lifecycles is None else lifecycles
    decision = lifecycle.decide(contract, datetime.fromtimestamp(now, UTC), table)
    if decision.status == "sunset":
        successor = lifecycle.successor(contract)
        sunset = decision.lifecycle.sunset if decision.lifecycle else None
        raise Gone(
            f"{contract.event_type} v{contract.version} was sunset on {sunset:%Y-%m-%d %H:%M} UTC; post "
            f"eventVersion {successor.version!r} ({successor.schema_name}) instead",
            [{"field": "eventVersion", "message": f"sunset; use {successor.version!r}"}],
            successorVersion=successor.version,
            successorSchema=lifecycle.schema_url(successor),
            successorSchemaName=successor.schema_name,
        )
    return decision


def parse_json_object(raw_body: bytes) -> dict:
    try:
        value = json.loads(raw_body)
    except ValueError as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise BadRequest("body must be a JSON object")
    return value
