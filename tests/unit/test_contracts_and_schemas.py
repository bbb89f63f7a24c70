import json
import uuid
from datetime import UTC, datetime

import jsonschema
import pytest

from distsync.schemas import render_all
from distsync_core.contracts import CONTRACTS, Envelope, derive_id, new_envelope
from tests.conftest import ROOT

SAMPLES = {
    "ItemUpserted": {"itemId": "SKU-1", "description": "Pallet wrap 500 mm", "unitOfMeasure": "EA",
                     "status": "active", "recordVersion": 3},
    "LocationUpserted": {"locationId": "DC-1", "name": "East DC", "locationType": "dc"},
    "SupplierUpserted": {"supplierId": "S-1", "name": "Acme", "defaultLeadTimeDays": 12, "recordVersion": 1},
    "CustomerUpserted": {"customerId": "C-1", "name": "Corner Shop", "channel": "b2b"},
    "ItemLocationUpserted": {"itemId": "SKU-1", "locationId": "DC-1", "unitOfMeasure": "EA", "safetyStock": 1,
                             "reorderPoint": 2, "supplierId": "S-1", "leadTimeDays": 3},
    "ReplenishmentRecommended": {"itemId": "SKU-1", "locationId": "DC-1", "recommendedSafetyStock": 1,
                                 "recommendedReorderPoint": 2, "planningCycleId": "c"},
    "ReplenishmentUpdateRequested": {"itemId": "SKU-1", "locationId": "DC-1", "safetyStock": 1, "reorderPoint": 2,
                                     "previousSafetyStock": 0, "previousReorderPoint": 0, "unitOfMeasure": "EA",
                                     "supplierId": "S", "leadTimeDays": 1, "planningCycleId": "c",
                                     "changePercent": 100, "erpIdempotencyKey": "k"},
    "ReplenishmentParametersUpdated": {"itemId": "SKU-1", "locationId": "DC-1", "safetyStock": 1, "reorderPoint": 2,
                                       "unitOfMeasure": "EA", "planningCycleId": "c", "erpUpdateId": "u"},
    "InventoryBalanceChanged": {"itemId": "SKU-1", "locationId": "DC-1", "onHand": 10, "allocated": 2,
                                "inTransit": 5, "inTransitDueAt": "2026-01-05T00:00:00Z",
                                "asOf": "2026-01-01T00:00:00Z", "sourceSystem": "wms"},
    "InventoryAvailabilityUpdated": {"itemId": "SKU-1", "locationId": "DC-1", "onHand": 10, "allocated": 2,
                                     "inTransit": 5, "availableToPromise": 13, "asOf": "2026-01-01T00:00:00Z",
                                     "sourceSystem": "wms"},
    "OrderStatusChanged": {"orderId": "SO-1", "customerId": "C-1", "sequence": 1, "status": "confirmed",
                           "lines": [{"lineNumber": 1, "itemId": "SKU-1", "quantity": 2, "status": "open",
                                      "promisedDate": "2026-01-09"}]},
    "ShipmentMilestone": {"shipmentId": "SH-1", "orderIds": ["SO-1"], "milestone": "exception", "carrier": "DHL",
                          "milestoneAt": "2026-01-02T00:00:00Z",
                          "exception": {"kind": "damaged", "description": "crushed pallet"}},
    "SupplierLeadTimeChanged": {"supplierId": "S-1", "itemId": "SKU-1", "locationId": "DC-1", "leadTimeDays": 9,
                                "effectiveFrom": "2026-02-01"},
    "PurchaseOrderConfirmed": {"purchaseOrderId": "PO-1", "supplierId": "S-1",
                               "lines": [{"lineNumber": 1, "itemId": "SKU-1", "locationId": "DC-1",
                                          "confirmedQuantity": 100, "confirmedDeliveryDate": "2026-02-03"}]},
    "DemandForecastPublished": {"itemId": "SKU-1", "locationId": "DC-1", "forecastId": "F-1", "unitOfMeasure": "EA",
                                "buckets": [{"weekStart": "2026-01-05", "quantity": 10},
                                            {"weekStart": "2026-01-12", "quantity": 12}]},
    "ForecastCycleCompleted": {"cycleId": "cycle-1", "status": "completed", "sourceFile": "cycles/cycle-1.csv",
                               "rowsRead": 10, "changed": 3, "unchanged": 6, "rejected": 1, "approvalsRequired": 1,
                               "eventsEmitted": 3, "tolerancePercent": 2, "startedAt": "2026-01-01T00:00:00Z",
                               "finishedAt": "2026-01-01T00:01:00Z"},
    "FinancialPostingRecorded": {"postingId": "GR-1", "postingType": "goods_receipt", "domain": "inventory",
                                 "amountMinor": 123456, "currency": "EUR", "postingDate": "2026-01-14",
                                 "reference": "PO-1"},
    "ReconciliationCompleted": {"reconciliationId": "rec-1", "postingDate": "2026-01-14", "status": "mismatched",
                                "domains": [{"domain": "inventory", "status": "mismatched", "mismatches": 1}],
                                "totals": [{"domain": "inventory", "postingType": "goods_receipt", "currency": "EUR",
                                            "erpAmountMinor": 200, "erpCount": 2, "recordedAmountMinor": 100,
                                            "recordedCount": 1, "status": "mismatched"}],
                                "mismatches": [{"domain": "inventory", "postingType": "goods_receipt",
                                                "currency": "EUR", "kind": "count_difference",
                                                "erpAmountMinor": 200, "erpCount": 2, "recordedAmountMinor": 100,
                                                "recordedCount": 1, "differenceMinor": 100, "countDifference": 1,
                                                "message": "inventory goods_receipt EUR: 2 vs 1"}]},
    "PlanningException": {"exceptionId": "PEX-1", "kind": "lead_time_change", "severity": "warning",
                          "itemId": "SKU-1", "locationId": "DC-1", "supplierId": "S-1", "message": "lead time up"},
    "SupplierPerformanceMeasured": {"supplierId": "S-1", "itemId": "SKU-1", "locationId": "DC-1",
                                    "windowStart": "2025-10-01", "windowEnd": "2026-01-14", "purchaseOrders": 3,
                                    "receivedPurchaseOrders": 2, "actualLeadTimeDays": 9.5,
                                    "promisedLeadTimeDays": 8, "masterDataLeadTimeDays": 7, "onTimePercent": 50,
                                    "confirmedQuantity": 200, "receivedQuantity": 190, "fillRatePercent": 95,
                                    "overDeliveredQuantity": 0, "actualTransitDays": None},
    "ParameterDriftDetected": {"itemId": "SKU-1", "locationId": "DC-1", "driftClass": "changed_by_hand",
                               "reason": "the ERP shows 45, distsync applied 50", "erpConnection": "rest",
                               "erpSafetyStock": 45, "erpReorderPoint": 100, "appliedSafetyStock": 50,
                               "appliedReorderPoint": 100, "driftRunId": "drift-1"},
}


def test_committed_schemas_match_the_models():
    committed = {p.name: p.read_text() for p in (ROOT / "schemas").glob("*.json")}
    assert committed == render_all(), "run `make schemas` and commit the result"


@pytest.mark.parametrize("contract", list(CONTRACTS.values()), ids=lambda c: c.schema_name)
def test_every_envelope_validates_against_its_exported_schema(contract):
    data = contract.model.model_validate(SAMPLES[contract.event_type])
    env = new_envelope(contract, data, correlation_id="c-1", source=sorted(contract.producers)[0],
                       occurred_at=datetime(2026, 1, 1, tzinfo=UTC))
    detail = json.loads(env.model_dump_json(by_alias=True))
    schema = json.loads(render_all()[f"{contract.schema_name}.json"])
    jsonschema.Draft4Validator(schema).validate(detail)
    broken = dict(detail, data=dict(detail["data"], itemId=""))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schema).validate(broken)
    assert Envelope.model_validate(detail).metadata.correlation_id == "c-1"


def test_derived_ids_are_deterministic_uuids():
    assert derive_id("a", "b") == derive_id("a", "b") != derive_id("a", "c")
    uuid.UUID(derive_id("a"))


def test_the_openapi_document_is_valid_openapi_3_0():
    from openapi_spec_validator import validate

    from distsync.openapi import document

    validate(document())  # raises with the offending path (e.g. a JSON Schema "null" type 3.0 does not have)


def test_committed_openapi_document_matches_the_code():
    from distsync.openapi import render

    assert (ROOT / "docs" / "openapi.json").read_text() == render(), "run `make openapi` and commit the result"
