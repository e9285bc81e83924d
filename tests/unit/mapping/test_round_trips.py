"""Properties: canonical records sent to a backend shape and read back keep what both sides hold."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from tests.unit.mapping.canonical_strategies import (
    cases,
    contacts,
    credit_limits,
    header_invoices,
    opportunities,
    parties,
    payments,
    prices,
    products,
)

from ledgerbridge.canonical import (
    Case,
    Contact,
    CreditLimit,
    Invoice,
    Opportunity,
    Party,
    Payment,
    Price,
    Product,
)
from ledgerbridge.mapping import load_mapping


def there_and_back(record: Any, out: str, back: str, model: type[Any], **extra: Any) -> Any:
    """Map `record` with `out`, add what the backend itself would add, read it back with `back`."""
    payload = load_mapping(out).apply(record) | extra
    return load_mapping(back).to_model(payload, model)


@given(contacts)
def test_contact_through_salesforce(contact: Contact) -> None:
    """A Contact written to Salesforce reads back equal (the CRM adds the Id)."""
    assert (
        there_and_back(
            contact,
            "contact_to_salesforce_contact",
            "salesforce_contact_to_contact",
            Contact,
            Id=contact.crm_id,
        )
        == contact
    )


@given(parties)
def test_party_through_salesforce(party: Party) -> None:
    """A Party written as an Account reads back equal."""
    assert (
        there_and_back(
            party,
            "party_to_salesforce_account",
            "salesforce_account_to_party",
            Party,
            Id=party.crm_id,
        )
        == party
    )


@given(parties)
def test_party_through_s4(party: Party) -> None:
    """A Party sent as a business partner reads back with the fields a partner holds."""
    back = there_and_back(
        party,
        "party_to_s4_business_partner",
        "s4_business_partner_to_party",
        Party,
        BusinessPartner=party.erp_id,
    )
    assert back == Party(
        crm_id=party.crm_id,
        erp_id=party.erp_id,
        name=party.name,
        billing_address=party.billing_address,
    )


@given(opportunities())
def test_opportunity_through_salesforce(opportunity: Opportunity) -> None:
    """An Opportunity written to Salesforce reads back equal."""
    assert (
        there_and_back(
            opportunity,
            "opportunity_to_salesforce_opportunity",
            "salesforce_opportunity_to_opportunity",
            Opportunity,
            Id=opportunity.crm_id,
        )
        == opportunity
    )


@given(cases())
def test_case_through_salesforce(case: Case) -> None:
    """A Case written to Salesforce reads back equal."""
    assert (
        there_and_back(
            case, "case_to_salesforce_case", "salesforce_case_to_case", Case, Id=case.crm_id
        )
        == case
    )


@given(products)
def test_product_through_s4(product: Product) -> None:
    """A Product sent as an A_Product reads back equal, the material number as its ERP id."""
    back = there_and_back(product, "product_to_s4_product", "s4_product_to_product", Product)
    assert back == product.model_copy(update={"erp_id": product.sku})


@given(products)
def test_product_through_salesforce(product: Product) -> None:
    """A Product written as a Product2 reads back equal."""
    back = there_and_back(
        product,
        "product_to_salesforce_product2",
        "salesforce_product_to_product",
        Product,
        Id="01t000000000001",
    )
    assert back == product.model_copy(update={"crm_id": "01t000000000001"})


@given(prices())
def test_price_through_s4(price: Price) -> None:
    """A Price sent as a pricing condition reads back equal."""
    assert (
        there_and_back(
            price, "price_to_s4_pricing_condition", "s4_pricing_condition_to_price", Price
        )
        == price
    )


@given(header_invoices())
def test_invoice_through_salesforce(invoice: Invoice) -> None:
    """An invoice summary written as Invoice__c reads back equal."""
    back = there_and_back(
        invoice,
        "invoice_to_salesforce_invoice",
        "salesforce_invoice_to_invoice",
        Invoice,
        Id="a01000000000001",
    )
    assert back == invoice.model_copy(update={"crm_id": "a01000000000001"})


@given(payments())
def test_payment_through_salesforce(payment: Payment) -> None:
    """A Payment written as Payment__c reads back equal, its ERP key split back up."""
    assert (
        there_and_back(
            payment, "payment_to_salesforce_payment", "salesforce_payment_to_payment", Payment
        )
        == payment
    )


@given(credit_limits)
def test_credit_limit_through_s4(limit: CreditLimit) -> None:
    """A CreditLimit written to the credit account reads back equal."""
    assert (
        there_and_back(
            limit,
            "credit_limit_to_s4_credit_account",
            "s4_credit_account_to_credit_limit",
            CreditLimit,
        )
        == limit
    )
