"""The local ops console: one page at ``/console`` on the local stack's port (transactions with their
timelines, dead-letter queues with redrive, quarantine, pending approvals, KPIs) and the JSON API behind
it under ``/_local/ops/``. Served by the local gateway; see :mod:`distsync.console.app`."""

from .app import Console

__all__ = ["Console"]
