"""Posting recorder pipeline: every ``FinancialPostingRecorded`` from the ERP into the postings table, once
(conditional put on the posting id), by period and domain for the daily reconciliation."""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from distsync_core.contracts import FinancialPostingRecorded
from distsync_core.finance.postings import PostingConflict, PostingStore
from distsync_core.finance.reconciliation import format_amount
from distsync_core.platform.config import env
from distsync_core.platform.observability import instrument
from distsync_core.platform.pipeline import Consumer, Delivery, PermanentFailure


def record_posting(delivery: Delivery) -> None:
    posting: FinancialPostingRecorded = delivery.data
    what = (f"{posting.posting_type} {posting.posting_id} of {posting.domain} on {posting.posting_date} "
            f"({format_amount(posting.amount_minor, posting.currency)}, {posting.reference})")
    try:
        recorded = PostingStore(env("POSTINGS_TABLE_NAME")).record(posting, delivery.envelope.metadata)
    except PostingConflict as exc:
        raise PermanentFailure(str(exc)) from exc
    delivery.record("delivered", f"posting recorded: {what}" if recorded else f"already recorded: {what}")


# No Powertools idempotency: the conditional put on the posting id makes a redelivery (or the same posting
# sent again under another event id) a no-op.
consumer = Consumer("posting-recorder", FinancialPostingRecorded, record_posting, idempotent=False)


@instrument
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return consumer(event, context)
