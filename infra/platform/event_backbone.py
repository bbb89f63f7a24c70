"""The custom event bus, an archive of everything on it, and the schema registry of the event contracts.

Each schema's registry metadata names its owning team and contact (description and an ``owner`` tag), and
the deployment's deprecation and sunset of that version, if any (context ``contractLifecycle``)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_eventschemas as eventschemas
from constructs import Construct

from infra import REPO_ROOT

SCHEMAS_DIR = REPO_ROOT / "schemas"


class EventBackbone(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, stage: str, archive_retention_days: int,
        owners: Mapping[str, str] | None = None, lifecycle: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        """``owners``: team -> contact; ``lifecycle``: context contractLifecycle."""
        super().__init__(scope, construct_id)
        name = f"distsync-{stage}"
        self.bus = events.EventBus(self, "Bus", event_bus_name=name)

        # Every event published on the bus carries this account, so the pattern archives all of them and
        # keeps them replayable (e.g. after fixing a consumer whose DLQ filled up).
        self.archive = events.Archive(
            self,
            "Archive",
            source_event_bus=self.bus,
            archive_name=f"{name}-all",
            description=f"All events on {name}",
            event_pattern=events.EventPattern(account=[Stack.of(self).account]),
            retention=Duration.days(archive_retention_days),
        )

        self.registry = eventschemas.CfnRegistry(
            self,
            "SchemaRegistry",
            registry_name=name,
            description="JSON schemas of the distsync event contracts (generated from the pydantic models)",
        )
        self.schemas: list[eventschemas.CfnSchema] = []
        # schemas/*.json is generated; an empty or missing directory simply yields no schema resources.
        for path in sorted(SCHEMAS_DIR.glob("*.json")) if SCHEMAS_DIR.is_dir() else []:
            content = path.read_text(encoding="utf-8")
            meta = json.loads(content).get("x-distsync", {})
            team = meta.get("owner", {}).get("team", "")
            contact = (owners or {}).get(team) or meta.get("owner", {}).get("contact", "")
            dates = {**{k: v for k, v in meta.get("lifecycle", {}).items() if v},
                     **(lifecycle or {}).get(f"{meta.get('eventType')}/{meta.get('eventVersion')}", {})}
            schema = eventschemas.CfnSchema(
                self,
                f"Schema{_construct_id_for(path.stem)}",
                registry_name=self.registry.attr_registry_name,
                schema_name=path.stem,
                type="JSONSchemaDraft4",
                content=content,
                description=_description(path.stem, team, contact, dates),
                tags=[eventschemas.CfnSchema.TagsEntryProperty(key="owner", value=team)] if team else None,
            )
            self.schemas.append(schema)


def _description(name: str, team: str, contact: str, dates: Mapping[str, str]) -> str:
    text = f"{name}. Owner: {team} ({contact})" if team else name
    if dates:
        text += "; " + ", ".join(f"{key} {value}" for key, value in sorted(dates.items()))
    return text[:256]  # the registry's limit


def _construct_id_for(stem: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in stem.replace("_", "-").split("-") if part)
