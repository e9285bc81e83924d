"""API_SALES_ORDER_SRV: sales orders, items and their pricing elements."""

from __future__ import annotations

from ledgerbridge.sandboxes.erp.model import (
    EntityType,
    FunctionImport,
    Nav,
    Service,
    boolean,
    changed_at,
    date,
    decimal,
    string,
)

SALES_ORDER = EntityType(
    name="A_SalesOrder",
    entity_set="A_SalesOrder",
    keys=("SalesOrder",),
    props=(
        string("SalesOrder", 10, nullable=False),
        string("SalesOrderType", 4),
        string("SalesOrganization", 4),
        string("DistributionChannel", 2),
        string("OrganizationDivision", 2),
        string("SalesGroup", 3),
        string("SalesOffice", 4),
        string("SoldToParty", 10),
        date("CreationDate"),
        string("CreatedByUser", 12),
        date("LastChangeDate"),
        string("ExternalDocumentID", 40),
        changed_at(etag=True),
        string("PurchaseOrderByCustomer", 35),
        date("CustomerPurchaseOrderDate"),
        date("SalesOrderDate"),
        decimal("TotalNetAmount"),
        string("TransactionCurrency", 5),
        date("PricingDate"),
        date("RequestedDeliveryDate"),
        string("HeaderBillingBlockReason", 2),
        string("DeliveryBlockReason", 2),
        string("CustomerPaymentTerms", 4),
        string("OverallSDProcessStatus", 1),
        string("TotalCreditCheckStatus", 1),
        string("OverallTotalDeliveryStatus", 1),
        string("OverallSDDocumentRejectionSts", 1),
    ),
    navs=(Nav("to_Item", "A_SalesOrderItem", True, (("SalesOrder", "SalesOrder"),)),),
)

SALES_ORDER_ITEM = EntityType(
    name="A_SalesOrderItem",
    entity_set="A_SalesOrderItem",
    keys=("SalesOrder", "SalesOrderItem"),
    props=(
        string("SalesOrder", 10, nullable=False),
        string("SalesOrderItem", 6, nullable=False),
        string("HigherLevelItem", 6),
        string("SalesOrderItemCategory", 4),
        string("SalesOrderItemText", 40),
        string("PurchaseOrderByCustomer", 35),
        string("Material", 40),
        string("MaterialByCustomer", 35),
        date("PricingDate"),
        decimal("RequestedQuantity", 15, 3),
        string("RequestedQuantityUnit", 3),
        string("TransactionCurrency", 5),
        decimal("NetAmount"),
        string("MaterialGroup", 9),
        string("ProductionPlant", 4),
        string("SalesDocumentRjcnReason", 2),
        string("SDProcessStatus", 1),
        string("DeliveryStatus", 1),
        string("OrderRelatedBillingStatus", 1),
    ),
    navs=(
        Nav(
            "to_PricingElement",
            "A_SalesOrderItemPrElement",
            True,
            (("SalesOrder", "SalesOrder"), ("SalesOrderItem", "SalesOrderItem")),
        ),
        Nav("to_SalesOrder", "A_SalesOrder", False, (("SalesOrder", "SalesOrder"),)),
    ),
)

SALES_ORDER_ITEM_PRICING = EntityType(
    name="A_SalesOrderItemPrElement",
    entity_set="A_SalesOrderItemPrElement",
    keys=("SalesOrder", "SalesOrderItem", "PricingProcedureStep", "PricingProcedureCounter"),
    props=(
        string("SalesOrder", 10, nullable=False),
        string("SalesOrderItem", 6, nullable=False),
        string("PricingProcedureStep", 3, nullable=False),
        string("PricingProcedureCounter", 3, nullable=False),
        string("ConditionType", 4),
        string("ConditionCalculationType", 3),
        string("ConditionRecord", 10),
        string("ConditionOrigin", 1),
        decimal("ConditionBaseValue", 24, 9),
        decimal("ConditionRateValue", 24, 9),
        string("ConditionCurrency", 5),
        decimal("ConditionQuantity", 5, 0),
        string("ConditionQuantityUnit", 3),
        decimal("ConditionAmount"),
        string("TransactionCurrency", 5),
        boolean("ConditionIsManuallyChanged"),
    ),
)

API_SALES_ORDER_SRV = Service(
    name="API_SALES_ORDER_SRV",
    entity_types=(SALES_ORDER, SALES_ORDER_ITEM, SALES_ORDER_ITEM_PRICING),
    functions=(
        # Credit management's "release blocked document", offered where the order lives,
        # in the style of the service's own releaseApprovalRequest.
        FunctionImport(
            "releaseCreditBlock",
            "POST",
            (string("SalesOrder", 10, nullable=False),),
            "A_SalesOrder",
        ),
    ),
)
