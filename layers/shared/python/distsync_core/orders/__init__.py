"""Orders: the ERP's order updates applied in sequence (:mod:`.policy`: which update may be applied after the
last one; :mod:`.store`: the last applied update of each order)."""
