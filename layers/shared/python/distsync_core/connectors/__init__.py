"""ERP connectors: one port (:mod:`.port`) that the ERP updater, master data and inventory use, and one module
per ERP kind behind it (``rest`` today's distsync REST API; ``s4hana``, ``netsuite``, ``businesscentral``).

:mod:`.http` is what every kind shares (auth with a token cache, Retry-After within the invocation's time,
request ids); :mod:`.writes` is the idempotent read-compare-write every kind's parameter writes go through;
:mod:`.landscape` says which connection owns an item-location.
"""
