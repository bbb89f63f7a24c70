"""Inventory: stock balances per item-location as the warehouses report them, and what can be promised from
them (:mod:`.policy`: available to promise; :mod:`.store`: the newest balance of each item-location)."""
