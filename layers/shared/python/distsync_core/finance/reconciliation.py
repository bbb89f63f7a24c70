"""Financial reconciliation, pure logic: the ERP's posting totals of a date against the postings distsync
recorded, per domain, posting type and currency.

Amounts are integers in minor units of their currency (see ``AmountMinor`` in contracts.py), so every sum
and comparison here is exact integer arithmetic; amounts in different currencies are never added up.

A group (domain, posting type, currency) reconciles when both sides have the same count and the same total.
A group that does not is a mismatch of one kind:
- ``missing_in_distsync``: the ERP has postings, distsync recorded none (e.g. webhooks never arrived);
- ``missing_in_erp``: distsync recorded postings the ERP's totals do not have;
- ``count_difference``: both have postings, but not as many (a posting lost or recorded extra);
- ``amount_difference``: as many postings, different totals (an amount changed on one side).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from ..contracts import (
    POSTING_DOMAINS,
    DomainReconciliation,
    PostingDomain,
    PostingType,
    ReconciliationCompleted,
    ReconciliationMismatch,
    ReconciliationTotal,
)

GroupKey = tuple[PostingDomain, PostingType, str]  # (domain, posting type, currency)
MismatchKind = Literal["missing_in_distsync", "missing_in_erp", "count_difference", "amount_difference"]

# ISO 4217 currencies whose minor unit is not the cent (exponent 2): for display only.
_EXPONENTS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0, "RWF": 0,
    "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip


@dataclass(frozen=True)
class Total:
    amount_minor: int = 0
    count: int = 0

    def __add__(self, other: Total) -> Total:
        return Total(self.amount_minor + other.amount_minor, self.count + other.count)


def totals_of(postings: Iterable[Mapping[str, Any]]) -> dict[GroupKey, Total]:
    """Sum postings (``domain``, ``postingType``, ``currency``, ``amountMinor``) per group."""
    totals: dict[GroupKey, Total] = {}
    for p in postings:
        # the contract's literals; the models built from these keys validate them again
        key = (cast(PostingDomain, str(p["domain"])), cast(PostingType, str(p["postingType"])), str(p["currency"]))
        amount = p["amountMinor"]
        if int(amount) != amount:  # a DynamoDB Decimal must hold a whole number of minor units
            raise ValueError(f"posting {p.get('postingId')}: amountMinor {amount} is not a whole number")
        totals[key] = totals.get(key, Total()) + Total(int(amount), 1)
    return totals


def _mismatch(key: GroupKey, erp: Total, recorded: Total) -> ReconciliationMismatch | None:
    if erp == recorded:
        return None
    domain, posting_type, currency = key
    kind: MismatchKind
    if recorded.count == 0 and erp.count > 0:
        kind = "missing_in_distsync"
        message = f"the ERP has {erp.count} posting(s), distsync recorded none"
    elif erp.count == 0 and recorded.count > 0:
        kind = "missing_in_erp"
        message = f"distsync recorded {recorded.count} posting(s) the ERP's totals do not have"
    elif erp.count != recorded.count:
        kind = "count_difference"
        message = f"the ERP has {erp.count} posting(s), distsync recorded {recorded.count}"
    else:
        kind = "amount_difference"
        message = f"{erp.count} posting(s) on both sides, totals differ"
    difference = erp.amount_minor - recorded.amount_minor
    return ReconciliationMismatch(
        domain=domain,
        posting_type=posting_type,
        currency=currency,
        kind=kind,
        erp_amount_minor=erp.amount_minor,
        erp_count=erp.count,
        recorded_amount_minor=recorded.amount_minor,
        recorded_count=recorded.count,
        difference_minor=difference,
        count_difference=erp.count - recorded.count,
        message=f"{domain} {posting_type} {currency}: {message} "
                f"(ERP {format_amount(erp.amount_minor, currency)}, "
                f"distsync {format_amount(recorded.amount_minor, currency)}, "
                f"difference {format_amount(difference, currency)})",
    )


def reconcile(
    reconciliation_id: str,
    posting_date: date,
    erp: Mapping[GroupKey, Total],
    recorded: Mapping[GroupKey, Total],
    domains: Sequence[PostingDomain] = POSTING_DOMAINS,
) -> ReconciliationCompleted:
    """Compare per group; every domain is reported (one without postings on either side is balanced)."""
    unknown = {key[0] for key in (*erp, *recorded)} - set(domains)
    if unknown:
        raise ValueError(f"postings of unknown domains: {sorted(unknown)}")
    totals: list[ReconciliationTotal] = []
    mismatches: list[ReconciliationMismatch] = []
    for key in sorted(set(erp) | set(recorded)):
        erp_total, recorded_total = erp.get(key, Total()), recorded.get(key, Total())
        mismatch = _mismatch(key, erp_total, recorded_total)
        if mismatch is not None:
            mismatches.append(mismatch)
        domain, posting_type, currency = key
        totals.append(ReconciliationTotal(
            domain=domain, posting_type=posting_type, currency=currency,
            erp_amount_minor=erp_total.amount_minor, erp_count=erp_total.count,
            recorded_amount_minor=recorded_total.amount_minor, recorded_count=recorded_total.count,
            status="balanced" if mismatch is None else "mismatched",
        ))
    per_domain = [
        DomainReconciliation(
            domain=domain,
            status="mismatched" if any(m.domain == domain for m in mismatches) else "balanced",
            mismatches=sum(1 for m in mismatches if m.domain == domain),
        )
        for domain in domains
    ]
    return ReconciliationCompleted(
        reconciliation_id=reconciliation_id,
        posting_date=posting_date,
        status="mismatched" if mismatches else "balanced",
        domains=per_domain,
        totals=totals,
        mismatches=mismatches,
    )


def format_amount(amount_minor: int, currency: str) -> str:
    """``123456, "EUR"`` -> ``"1234.56 EUR"`` (exact: integer arithmetic, no floats)."""
    exponent = _EXPONENTS.get(currency, 2)
    sign = "-" if amount_minor < 0 else ""
    whole, fraction = divmod(abs(amount_minor), 10**exponent)
    return f"{sign}{whole}{'.' + str(fraction).zfill(exponent) if exponent else ''} {currency}"


def default_date(time_zone: str, at: datetime | None = None) -> date:
    """The day before ``at`` (default now) in ``time_zone``: what a daily run reconciles. ``UTC`` needs no
    time zone database; other names are resolved with zoneinfo (the Lambda runtime carries the tz data)."""
    tz = UTC if time_zone.upper() == "UTC" else ZoneInfo(time_zone)
    moment = at or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("the moment to count back from needs a time zone")
    return moment.astimezone(tz).date() - timedelta(days=1)


def parse_date(value: str) -> date:
    """A ``YYYY-MM-DD`` date, nothing else (no times, no week dates)."""
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"date must be YYYY-MM-DD, got {value!r}")
