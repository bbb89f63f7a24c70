"""Supplier collaboration: lead times and purchase-order confirmations from suppliers. :mod:`.policy` says
whether a reported lead time is stale, whether its change is a planning exception, and builds that exception;
the supplier transformer sends what it decides to planning and the ERP."""
