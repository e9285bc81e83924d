"""The OData services the sandbox serves, by service name."""

from ledgerbridge.sandboxes.erp.model import Service
from ledgerbridge.sandboxes.erp.services.billing_document import API_BILLING_DOCUMENT_SRV
from ledgerbridge.sandboxes.erp.services.business_partner import API_BUSINESS_PARTNER
from ledgerbridge.sandboxes.erp.services.credit_management import API_CRDTMBUSINESSPARTNER
from ledgerbridge.sandboxes.erp.services.incoming_payment import ZLB_INCOMING_PAYMENT_SRV
from ledgerbridge.sandboxes.erp.services.pricing_condition import (
    API_SLSPRICINGCONDITIONRECORD_SRV,
)
from ledgerbridge.sandboxes.erp.services.product import API_PRODUCT_SRV
from ledgerbridge.sandboxes.erp.services.receivables import API_OPLACCTGDOCITEMCUBE_SRV
from ledgerbridge.sandboxes.erp.services.sales_order import API_SALES_ORDER_SRV

SERVICES: dict[str, Service] = {
    s.name: s
    for s in (
        API_BUSINESS_PARTNER,
        API_SALES_ORDER_SRV,
        API_PRODUCT_SRV,
        API_SLSPRICINGCONDITIONRECORD_SRV,
        API_BILLING_DOCUMENT_SRV,
        API_CRDTMBUSINESSPARTNER,
        API_OPLACCTGDOCITEMCUBE_SRV,
        ZLB_INCOMING_PAYMENT_SRV,
    )
}

__all__ = ["SERVICES"]
