"""Parameter drift (issue 15): planning's latest recommendation, distsync's last applied parameters and the
ERP's actual values per item-location, each difference classified (:mod:`.classify`, pure) and reported."""
