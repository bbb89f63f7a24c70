"""A delta pull: a connection's changes since its stored cursor, page by page, published as master data; the
cursor moves after each page (only from where this pull started, so two pulls at once cannot move it back)."""

from __future__ import annotations

from ..platform.config import env
from ..platform.invocation import time_left
from .factory import connector
from .landscape import Connection
from .publishing import publish_changes
from .state import ConnectorState

PAGE = 500
STOP_WITH_SECONDS_LEFT = 15  # leave the invocation this much: the next scheduled pull goes on from the cursor


def pull(connection: Connection, *, correlation_id: str, max_pages: int = 20) -> dict[str, int]:
    state = ConnectorState(env("CONNECTOR_STATE_TABLE_NAME"))
    erp = connector(connection)
    cursor = state.cursor(connection.name)
    totals = {"pages": 0, "changes": 0, "published": 0, "quarantined": 0}
    saved = cursor
    for _ in range(max_pages):
        page = erp.read_changes(cursor, correlation_id=correlation_id, limit=PAGE)
        if page.changes:
            done = publish_changes(connection.name, page.changes, correlation_id=correlation_id)
            totals["published"] += done.published
            totals["quarantined"] += done.quarantined
        totals["pages"] += 1
        totals["changes"] += len(page.changes)
        if page.cursor is None or page.cursor == cursor:
            break
        if not state.save_cursor(connection.name, page.cursor, saved):
            return totals  # another pull moved it: it carries on from there
        cursor = saved = page.cursor
        if time_left() < STOP_WITH_SECONDS_LEFT:
            return totals  # the next pull goes on from this page
        if len(page.changes) < PAGE:
            break
    # Caught up: where the kind wants the next pull to start (NetSuite: the whole last second again, as a row
    # saved in the second the pull read it would otherwise be missed; what did not change is not published).
    restart = getattr(erp, "restart_point", None)
    if cursor is not None and restart is not None and restart(cursor) != cursor:
        state.save_cursor(connection.name, restart(cursor), saved)
    return totals
