"""Fulfillment: what happens to orders once they ship, and the shipment exceptions (lost, damaged, late) an
operator resolves while a workflow waits (:mod:`.exceptions`)."""
