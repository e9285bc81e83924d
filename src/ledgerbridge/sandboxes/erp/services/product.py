"""API_PRODUCT_SRV: products (materials) and their language-dependent descriptions."""

from __future__ import annotations

from ledgerbridge.sandboxes.erp.model import (
    EntityType,
    Nav,
    Service,
    boolean,
    changed_at,
    date,
    decimal,
    string,
)

PRODUCT = EntityType(
    name="A_Product",
    entity_set="A_Product",
    keys=("Product",),
    props=(
        string("Product", 40, nullable=False),
        string("ProductType", 4),
        string("CrossPlantStatus", 2),
        date("CreationDate"),
        string("CreatedByUser", 12),
        date("LastChangeDate"),
        string("LastChangedByUser", 12),
        changed_at(etag=False),
        boolean("IsMarkedForDeletion"),
        string("ProductOldID", 40),
        decimal("GrossWeight", 13, 3),
        string("WeightUnit", 3),
        decimal("NetWeight", 13, 3),
        string("ProductGroup", 9),
        string("BaseUnit", 3),
        string("ItemCategoryGroup", 4),
        string("Division", 2),
        string("Brand", 4),
    ),
    navs=(Nav("to_Description", "A_ProductDescription", True, (("Product", "Product"),)),),
)

PRODUCT_DESCRIPTION = EntityType(
    name="A_ProductDescription",
    entity_set="A_ProductDescription",
    keys=("Product", "Language"),
    props=(
        string("Product", 40, nullable=False),
        string("Language", 2, nullable=False),
        string("ProductDescription", 40),
    ),
)

API_PRODUCT_SRV = Service(name="API_PRODUCT_SRV", entity_types=(PRODUCT, PRODUCT_DESCRIPTION))
