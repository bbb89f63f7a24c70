"""Publish envelopes to the bus in PutEvents-sized chunks; a partial failure raises with the ids."""

from __future__ import annotations

from collections.abc import Sequence

from ..contracts import Envelope, contract_for
from .aws import client

PUT_EVENTS_MAX_ENTRIES = 10


class PublishError(RuntimeError):
    def __init__(self, failed: list[tuple[str, str]]):
        super().__init__(f"{len(failed)} event(s) not accepted by EventBridge: {failed}")
        self.failed = failed


class EventPublisher:
    def __init__(self, bus_name: str):
        self.bus_name = bus_name

    def publish(self, envelopes: Sequence[Envelope]) -> None:
        """Publish all of them; raises :class:`PublishError` naming those EventBridge did not accept."""
        failed: list[tuple[str, str]] = []
        for start in range(0, len(envelopes), PUT_EVENTS_MAX_ENTRIES):
            failed.extend(self.put(envelopes[start : start + PUT_EVENTS_MAX_ENTRIES]).items())
        if failed:
            raise PublishError(failed)

    def put(self, envelopes: Sequence[Envelope]) -> dict[str, str]:
        """One PutEvents call (at most 10 envelopes): the event ids it did not accept, with the reason."""
        entries = [
            {
                "EventBusName": self.bus_name,
                "Source": contract_for(e.metadata.event_type, e.metadata.event_version).bus_source,
                "DetailType": e.metadata.event_type,
                "Detail": e.model_dump_json(by_alias=True),
            }
            for e in envelopes
        ]
        result = client("events").put_events(Entries=entries)
        if not result.get("FailedEntryCount"):
            return {}
        return {
            env.metadata.event_id: f"{res['ErrorCode']}: {res.get('ErrorMessage', '')}"
            for env, res in zip(envelopes, result["Entries"], strict=True)
            if res.get("ErrorCode")
        }
