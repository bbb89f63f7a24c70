"""The DynamoDB tables of the contract: on-demand, PITR, AWS-managed encryption; the trace table has
a global secondary index by business key, the quarantine table one by the master data an event waits for.

``prod`` retains the tables (they hold governed master data and pending approvals); every other stage
destroys them so throw-away stages leave nothing behind.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

_S = dynamodb.AttributeType.STRING
TRACE_BUSINESS_KEY_INDEX = "byBusinessKey"
QUARANTINE_WAITING_FOR_INDEX = "byWaitingFor"
# What Table.grant_write_data grants, on the table only: an index cannot be written, and with an index on
# the table the CDK grant would add "<table arn>/index/*" (a wildcard cdk-nag rightly flags).
TABLE_WRITE_ACTIONS = (
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)


class DataStores(Construct):
    """The platform's tables: governed master data, quarantine, the ledger (trace) and idempotency. A domain's
    own tables are declared by its slice with :meth:`table` (those that predate the slices keep this scope,
    and so their logical ids)."""

    def __init__(self, scope: Construct, construct_id: str, *, removal_policy: RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        self._removal_policy = removal_policy

        # pk = "<itemId>#<locationId>"
        self.masterdata = self.table("MasterDataTable", "pk")
        self.quarantine = self.table("QuarantineTable", "quarantineId")
        # Quarantined events waiting for master data, by what they wait for ("ITEMLOC#<item>#<location>"),
        # oldest first: the masterdata transformer releases them when that master data arrives. Records
        # quarantined for any other reason carry no waitingFor and stay out of it.
        self.quarantine.add_global_secondary_index(
            index_name=QUARANTINE_WAITING_FOR_INDEX,
            partition_key=dynamodb.Attribute(name="waitingFor", type=_S),
            sort_key=dynamodb.Attribute(name="quarantinedAt", type=_S),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        # One item per hop of an event; expires via TTL.
        self.trace = self.table("TraceTable", "correlationId", sort_key="sk", ttl_attribute="expiresAt")
        # The ledger by business key ("<itemId>@<locationId>"), oldest hop first: "what happened to this
        # item-location?" without knowing a correlation id. Hops without a businessKey stay out of it.
        self.trace.add_global_secondary_index(
            index_name=TRACE_BUSINESS_KEY_INDEX,
            partition_key=dynamodb.Attribute(name="businessKey", type=_S),
            sort_key=dynamodb.Attribute(name="at", type=_S),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        # Owned by Powertools idempotency, whose default TTL attribute is "expiration".
        self.idempotency = self.table("IdempotencyTable", "id", ttl_attribute="expiration")

    def table(
        self,
        table_id: str,
        partition_key: str,
        *,
        sort_key: str | None = None,
        ttl_attribute: str | None = None,
        scope: Construct | None = None,
    ) -> dynamodb.Table:
        """On demand, point-in-time recovery, AWS-managed encryption; string keys."""
        return dynamodb.Table(
            scope or self,
            table_id,
            partition_key=dynamodb.Attribute(name=partition_key, type=_S),
            sort_key=dynamodb.Attribute(name=sort_key, type=_S) if sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=ttl_attribute,
            removal_policy=self._removal_policy,
        )

    def grant_trace_write(self, grantee: iam.IGrantable) -> iam.Grant:
        """Record hops in the trace table (every function does); reading, incl. the index, is for operators."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(TABLE_WRITE_ACTIONS), resource_arns=[self.trace.table_arn]
        )

    def grant_quarantine_write(self, grantee: iam.IGrantable) -> iam.Grant:
        """Quarantine events (Table.grant_write_data's actions, on the table only: no "/index/*")."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(TABLE_WRITE_ACTIONS), resource_arns=[self.quarantine.table_arn]
        )

    def grant_quarantine_release(self, grantee: iam.IGrantable) -> None:
        """Quarantine events and release those waiting for master data (the masterdata transformer): put,
        read and conditionally update records on the table; query the byWaitingFor index, by its own ARN."""
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            resource_arns=[self.quarantine.table_arn],
        )
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["dynamodb:Query"],
            resource_arns=[f"{self.quarantine.table_arn}/index/{QUARANTINE_WAITING_FOR_INDEX}"],
        )
