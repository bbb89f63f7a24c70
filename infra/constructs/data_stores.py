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
    def __init__(self, scope: Construct, construct_id: str, *, removal_policy: RemovalPolicy) -> None:
        super().__init__(scope, construct_id)

        def table(
            table_id: str,
            partition_key: str,
            *,
            sort_key: str | None = None,
            ttl_attribute: str | None = None,
        ) -> dynamodb.Table:
            return dynamodb.Table(
                self,
                table_id,
                partition_key=dynamodb.Attribute(name=partition_key, type=_S),
                sort_key=dynamodb.Attribute(name=sort_key, type=_S) if sort_key else None,
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                encryption=dynamodb.TableEncryption.AWS_MANAGED,
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True
                ),
                time_to_live_attribute=ttl_attribute,
                removal_policy=removal_policy,
            )

        # pk = "<itemId>#<locationId>"
        self.masterdata = table("MasterDataTable", "pk")
        self.quarantine = table("QuarantineTable", "quarantineId")
        # Quarantined events waiting for master data, by what they wait for ("ITEMLOC#<item>#<location>"),
        # oldest first: the masterdata transformer releases them when that master data arrives. Records
        # quarantined for any other reason carry no waitingFor and stay out of it.
        self.quarantine.add_global_secondary_index(
            index_name=QUARANTINE_WAITING_FOR_INDEX,
            partition_key=dynamodb.Attribute(name="waitingFor", type=_S),
            sort_key=dynamodb.Attribute(name="quarantinedAt", type=_S),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        self.approvals = table("ApprovalsTable", "approvalId")
        # One item per hop of an event; expires via TTL.
        self.trace = table("TraceTable", "correlationId", sort_key="sk", ttl_attribute="expiresAt")
        # The ledger by business key ("<itemId>@<locationId>"), oldest hop first: "what happened to this
        # item-location?" without knowing a correlation id. Hops without a businessKey stay out of it.
        self.trace.add_global_secondary_index(
            index_name=TRACE_BUSINESS_KEY_INDEX,
            partition_key=dynamodb.Attribute(name="businessKey", type=_S),
            sort_key=dynamodb.Attribute(name="at", type=_S),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        # Owned by Powertools idempotency, whose default TTL attribute is "expiration".
        self.idempotency = table("IdempotencyTable", "id", ttl_attribute="expiration")
        # The available-to-promise projection: the newest balance per item-location (pk "<item>#<location>").
        self.inventory = table("InventoryTable", "pk")
        # The last applied update of every order (sequence check of the orders pipeline).
        self.orders = table("OrdersTable", "orderId")
        # Open and closed shipment exception cases, with the task token of the workflow waiting for each.
        self.exception_cases = table("ExceptionCasesTable", "caseId")

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
