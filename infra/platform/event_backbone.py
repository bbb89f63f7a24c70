"""The custom event bus, an archive of everything on it, and the schema registry of the event contracts."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_eventschemas as eventschemas
from constructs import Construct

from infra import REPO_ROOT

SCHEMAS_DIR = REPO_ROOT / "schemas"


class EventBackbone(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, stage: str, archive_retention_days: int
    ) -> None:
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
            schema = eventschemas.CfnSchema(
                self,
                f"Schema{_construct_id_for(path.stem)}",
                registry_name=self.registry.attr_registry_name,
                schema_name=path.stem,
                type="JSONSchemaDraft4",
                content=path.read_text(encoding="utf-8"),
            )
            self.schemas.append(schema)


def _construct_id_for(stem: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in stem.replace("_", "-").split("-") if part)
