"""Idempotent writes without an Idempotency-Key: read the current values, skip when they already equal the
target, write with the ERP's concurrency token, and on a conflict read and decide again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .port import Conflict, ErpConnector, WriteRequest

MAX_CONFLICTS = 3  # someone else keeps changing the record: give the message back rather than loop


@dataclass(frozen=True)
class WriteOutcome:
    outcome: Literal["written", "unchanged"]
    request_id: str | None  # the ERP's id of the write (None when nothing was written)
    conflicts: int  # how many times the record changed under us first


class ConflictsPersist(Conflict):
    pass


def apply_parameters(connector: ErpConnector, request: WriteRequest) -> WriteOutcome:
    for conflicts in range(MAX_CONFLICTS + 1):
        snapshot = connector.read_parameters(request.item_id, request.location_id,
                                             correlation_id=request.correlation_id)
        if snapshot.parameters is not None and snapshot.parameters.same_as(request.target):
            return WriteOutcome("unchanged", None, conflicts)  # a redelivery, or the ERP already holds it
        try:
            request_id = connector.write_parameters(request, snapshot)
        except Conflict:
            continue  # changed in the ERP since the read: read and decide again
        return WriteOutcome("written", request_id, conflicts)
    raise ConflictsPersist(f"{connector.name}: {request.item_id}@{request.location_id} changed in the ERP "
                           f"{MAX_CONFLICTS + 1} times while distsync wrote it; the update goes back to the queue")
