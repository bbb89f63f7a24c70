// distsync's custom API page over table 5700 "Stockkeeping Unit": the per-location planning parameters the
// standard API v2.0 does not expose. Install it in the BC environment as part of a per-tenant extension
// (object ids from the extension's own range; 50100 here). Written from Microsoft's API page documentation;
// not compiled or installed against a live Business Central (see ../businesscentral.md).
//
// URL: {base}/api/distsync/planning/v1.0/companies({companyId})/stockkeepingUnits
// Stock: the SKU's FlowFields Inventory (item ledger entries at the location), "Qty. on Sales Order" (outstanding
// sales order lines) and "Qty. in Transit" (transfer lines shipped to the location, not yet received), calculated
// for each record in OnAfterGetRecord; read only. A FlowField changing moves neither SystemModifiedAt nor the
// ETag, so stock changes raise no webhook notification: distsync pulls stock on a schedule.
// Webhooks: API pages are webhook-enabled when they are not temporary and have a single key field; the key
// here is SystemId (ODataKeyFields), not the table's composite primary key (Item No., Variant Code,
// Location Code), which would exclude the page from webhooks.
page 50100 "DS Stockkeeping Unit API"
{
    PageType = API;
    APIPublisher = 'distsync';
    APIGroup = 'planning';
    APIVersion = 'v1.0';
    EntityName = 'stockkeepingUnit';
    EntitySetName = 'stockkeepingUnits';
    EntityCaption = 'Stockkeeping Unit';
    EntitySetCaption = 'Stockkeeping Units';
    SourceTable = "Stockkeeping Unit";
    ODataKeyFields = SystemId;
    DelayedInsert = true;
    // distsync maintains the planning parameters of stockkeeping units a BC user created; it never creates
    // or deletes them
    InsertAllowed = false;
    DeleteAllowed = false;
    Extensible = false;

    layout
    {
        area(Content)
        {
            repeater(Records)
            {
                field(systemId; Rec.SystemId)
                {
                    Caption = 'System Id';
                    Editable = false;
                }
                field(itemNo; Rec."Item No.")
                {
                    Caption = 'Item No.';
                    Editable = false;
                }
                field(locationCode; Rec."Location Code")
                {
                    Caption = 'Location Code';
                    Editable = false;
                }
                field(variantCode; Rec."Variant Code")
                {
                    Caption = 'Variant Code';
                    Editable = false;
                }
                field(reorderPoint; Rec."Reorder Point")
                {
                    Caption = 'Reorder Point';
                }
                field(safetyStockQuantity; Rec."Safety Stock Quantity")
                {
                    Caption = 'Safety Stock Quantity';
                }
                field(leadTimeCalculation; Rec."Lead Time Calculation")
                {
                    Caption = 'Lead Time Calculation';
                }
                // the system field: a date-time (the table's own "Last Date Modified" is a date only), filterable
                // for the delta pull
                field(lastModifiedDateTime; Rec.SystemModifiedAt)
                {
                    Caption = 'Last Modified Date Time';
                    Editable = false;
                }
                field(inventory; Rec.Inventory)
                {
                    Caption = 'Inventory';
                    Editable = false;
                }
                field(qtyOnSalesOrder; Rec."Qty. on Sales Order")
                {
                    Caption = 'Qty. on Sales Order';
                    Editable = false;
                }
                field(qtyInTransit; Rec."Qty. in Transit")
                {
                    Caption = 'Qty. in Transit';
                    Editable = false;
                }
            }
        }
    }

    trigger OnAfterGetRecord()
    begin
        Rec.CalcFields(Inventory, "Qty. on Sales Order", "Qty. in Transit");
    end;
}

// What the Entra application needs in BC (assign it on the "Microsoft Entra Applications" card): read and
// modify stockkeeping units, run this page, and read the tables the stock FlowFields sum ("Sales Shipment
// Header" because "Qty. on Sales Order" is AccessByPermission on it). Nothing else.
permissionset 50100 "DS PLANNING API"
{
    Assignable = true;
    Caption = 'distsync planning API';
    Permissions = tabledata "Stockkeeping Unit" = RM,
                  tabledata "Item Ledger Entry" = R,
                  tabledata "Sales Line" = R,
                  tabledata "Sales Shipment Header" = R,
                  tabledata "Transfer Line" = R,
                  page "DS Stockkeeping Unit API" = X;
}
