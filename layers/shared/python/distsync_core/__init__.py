"""distsync_core: the code every distsync Lambda shares (shipped as the shared layer).

One slice per business domain on a narrow platform, each layer importing only those below it (the
import-linter contracts in pyproject.toml, run by ``make lint``):

- the domains, independent of each other: :mod:`.files` (partner files and their intake), :mod:`.finance`
  (postings, reconciliation), :mod:`.fulfillment` (shipment exceptions), :mod:`.inventory`, :mod:`.orders`,
  :mod:`.planning` (replenishment, forecast cycles, approvals), :mod:`.supplier`;
- :mod:`.masterdata`: the governed records every domain reads;
- :mod:`.partners`: the HTTP clients of the partner systems (ERP, planning platform, WMS, channels);
- :mod:`.platform`: AWS clients, the consumer pipeline, ledger, observability, webhooks, quarantine;
- :mod:`.contracts`: the contract registry, which everything may import.

Policies (``*/policy.py``, replenishment, cycles, reconciliation, the file parsers, the contracts) are plain
Python with no AWS imports; AWS access goes through :mod:`.platform.aws`, whose clients are created lazily.
"""
