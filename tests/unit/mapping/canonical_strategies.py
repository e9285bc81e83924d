"""Hypothesis strategies for canonical records, shared by the round-trip tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TypeVar

from hypothesis import strategies as st

from ledgerbridge.canonical import COUNTRY_NAMES as _NAMES
from ledgerbridge.canonical import (
    Address,
    Case,
    CasePriority,
    CaseStatus,
    Contact,
    CreditLimit,
    Invoice,
    InvoiceStatus,
    Money,
    Opportunity,
    OpportunityStage,
    Party,
    Payment,
    Price,
    Product,
    is_country,
)

CURRENCIES = st.sampled_from(["EUR", "USD", "JPY", "KWD", "CHF", "GBP"])
UNITS = st.sampled_from(["EA", "PC", "H", "KG"])
COUNTRIES = st.sampled_from(sorted(code for code in _NAMES if is_country(code)))
DATES = st.dates(min_value=date(1971, 1, 1), max_value=date(9998, 12, 31))


def words(max_size: int) -> st.SearchStrategy[str]:
    """Text without leading or trailing blanks, as the canonical models keep it."""
    middle = max(max_size - 2, 0)
    return st.from_regex(rf"[A-Za-z0-9]([A-Za-z0-9 ./-]{{0,{middle}}}[A-Za-z0-9])?", fullmatch=True)


def ids() -> st.SearchStrategy[str]:
    return st.from_regex(r"[A-Za-z0-9]{6,18}", fullmatch=True)


def amounts(currency: str, *, low: int = 0, places: int = 2) -> st.SearchStrategy[Money]:
    return st.decimals(min_value=low, max_value=10**9, places=places).map(
        lambda amount: Money(amount=amount, currency=currency)
    )


T = TypeVar("T")


def optional(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.none() | strategy


addresses = st.builds(
    Address,
    street=words(60),
    city=words(40),
    postal_code=st.from_regex(r"[0-9]{4,10}", fullmatch=True),
    region=optional(st.from_regex(r"[A-Z]{2,3}", fullmatch=True)),
    country=COUNTRIES,
)

parties = st.builds(
    Party,
    crm_id=ids(),
    erp_id=optional(ids()),
    name=words(40),
    account_number=optional(words(20)),
    billing_address=optional(addresses),
    phone=optional(st.from_regex(r"\+[0-9]{8,14}", fullmatch=True)),
    currency=optional(CURRENCIES),
)

contacts = st.builds(
    Contact,
    crm_id=ids(),
    account_crm_id=optional(ids()),
    salutation=optional(st.sampled_from(["Mr.", "Ms.", "Dr."])),
    first_name=optional(words(40)),
    last_name=words(80),
    title=optional(words(40)),
    department=optional(words(40)),
    email=optional(st.from_regex(r"[a-z0-9.]{1,20}@[a-z0-9]{1,20}\.[a-z]{2,6}", fullmatch=True)),
    phone=optional(st.from_regex(r"\+[0-9]{8,14}", fullmatch=True)),
    mobile_phone=optional(st.from_regex(r"\+[0-9]{8,14}", fullmatch=True)),
    mailing_address=optional(addresses),
)


@st.composite
def opportunities(draw: st.DrawFn) -> Opportunity:
    currency = draw(CURRENCIES)
    stage = draw(st.sampled_from(OpportunityStage))
    fixed = {OpportunityStage.CLOSED_WON: Decimal(100), OpportunityStage.CLOSED_LOST: Decimal(0)}
    probability = (
        fixed[stage]
        if stage in fixed
        else draw(optional(st.decimals(min_value=0, max_value=100, places=0)))
    )
    return Opportunity(
        crm_id=draw(ids()),
        account_crm_id=draw(optional(ids())),
        name=draw(words(120)),
        stage=stage,
        close_date=draw(DATES),
        currency=currency,
        amount=draw(optional(amounts(currency))),
        probability=probability,
    )


@st.composite
def cases(draw: st.DrawFn) -> Case:
    return Case(
        crm_id=draw(ids()),
        account_crm_id=draw(optional(ids())),
        contact_crm_id=draw(optional(ids())),
        order_crm_id=draw(optional(ids())),
        subject=draw(words(255)),
        description=draw(optional(words(200))),
        status=draw(st.sampled_from(CaseStatus)),
        priority=draw(st.sampled_from(CasePriority)),
        origin=draw(optional(st.sampled_from(["Phone", "Email", "Web"]))),
    )


products = st.builds(
    Product,
    sku=st.from_regex(r"[A-Z0-9][A-Z0-9-]{0,17}", fullmatch=True),
    name=words(40),
    unit=UNITS,
    active=st.booleans(),
)


@st.composite
def prices(draw: st.DrawFn) -> Price:
    start = draw(DATES)
    end = draw(optional(st.dates(min_value=start, max_value=date(9998, 12, 30))))
    return Price(
        product_sku=draw(st.from_regex(r"[A-Z0-9][A-Z0-9-]{0,17}", fullmatch=True)),
        sales_organization=draw(st.sampled_from(["1010", "1710"])),
        distribution_channel=draw(st.sampled_from(["10", "20"])),
        unit_price=draw(CURRENCIES.flatmap(lambda currency: amounts(currency, places=4))),
        per_quantity=draw(st.sampled_from([Decimal(1), Decimal(10), Decimal(100)])),
        unit=draw(UNITS),
        valid_from=start,
        valid_to=end,
    )


@st.composite
def header_invoices(draw: st.DrawFn) -> Invoice:
    currency = draw(CURRENCIES)
    net, tax = draw(amounts(currency)), draw(amounts(currency))
    issued = draw(DATES)
    return Invoice(
        erp_number=draw(st.from_regex(r"9[0-9]{7}", fullmatch=True)),
        customer_crm_id=draw(optional(ids())),
        customer_erp_id=draw(optional(ids())),
        order_erp_number=draw(optional(st.from_regex(r"[0-9]{7}", fullmatch=True))),
        po_number=draw(optional(words(35))),
        invoice_date=issued,
        due_date=draw(optional(st.dates(min_value=issued, max_value=date(9998, 12, 31)))),
        currency=currency,
        status=draw(st.sampled_from(InvoiceStatus)),
        net_total=net,
        tax_total=tax,
        gross_total=net + tax,
    )


@st.composite
def payments(draw: st.DrawFn) -> Payment:
    currency = draw(CURRENCIES)
    return Payment(
        erp_document=draw(st.from_regex(r"14[0-9]{8}", fullmatch=True)),
        company_code=draw(st.sampled_from(["1010", "1710"])),
        fiscal_year=str(draw(st.integers(min_value=2000, max_value=2099))),
        customer_crm_id=draw(optional(ids())),
        customer_erp_id=draw(optional(ids())),
        payment_date=draw(DATES),
        amount=draw(amounts(currency, low=1)),
        reference=draw(optional(words(30))),
        invoice_erp_numbers=draw(st.lists(st.from_regex(r"9[0-9]{7}", fullmatch=True), max_size=4)),
    )


credit_limits = st.builds(
    CreditLimit,
    customer_erp_id=ids(),
    credit_segment=st.sampled_from(["1000", "2000"]),
    limit=CURRENCIES.flatmap(amounts),
    valid_to=optional(DATES),
    blocked=st.booleans(),
)
