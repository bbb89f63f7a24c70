"""Finance: the ERP's financial postings as distsync recorded them (:mod:`.postings`, once each, by period)
and the daily reconciliation of those against the ERP's own totals (:mod:`.reconciliation`, pure logic)."""
