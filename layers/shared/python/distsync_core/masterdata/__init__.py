"""Master data: the governed records distsync keeps of the ERP's items, locations, item-locations and
suppliers (:mod:`.records`: the item-location record, the keys, how far a proposed parameter is from the
governed one) and the table they live in (:mod:`.store`). Every business domain reads it; it reads none of them.
"""
