"""Golden tests: Salesforce records into canonical models, and canonical into Salesforce bodies."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from ledgerbridge.canonical import (
    Address,
    Case,
    CasePriority,
    CaseStatus,
    Contact,
    CreditExposure,
    Invoice,
    InvoiceStatus,
    Money,
    Opportunity,
    OpportunityStage,
    Payment,
    Price,
    PriceBook,
)
from ledgerbridge.mapping import apply, load_mapping


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def test_contact_becomes_contact() -> None:
    """A Contact with its Account's ERP id and a picklist country maps whole."""
    record = {
        "attributes": {"type": "Contact"},
        "Id": "0035g00000AbCdEAAX",
        "AccountId": "0015g00000XyZ12AAB",
        "Account": {"ERP_Customer_Id__c": "17100001"},
        "Salutation": "Mr.",
        "FirstName": "Sean",
        "LastName": "Forbes",
        "Title": "CFO",
        "Department": "Finance",
        "Email": "sforbes@edge.example",
        "Phone": "(512) 757-6000",
        "MobilePhone": None,
        "MailingStreet": "312 Constitution Place",
        "MailingCity": "Austin",
        "MailingState": "Texas",
        "MailingStateCode": "TX",
        "MailingPostalCode": "78767",
        "MailingCountry": "United States",
        "MailingCountryCode": "US",
    }
    assert load_mapping("salesforce_contact_to_contact").to_model(record, Contact) == Contact(
        crm_id="0035g00000AbCdEAAX",
        account_crm_id="0015g00000XyZ12AAB",
        account_erp_id="17100001",
        salutation="Mr.",
        first_name="Sean",
        last_name="Forbes",
        title="CFO",
        department="Finance",
        email="sforbes@edge.example",
        phone="(512) 757-6000",
        mailing_address=Address(
            street="312 Constitution Place",
            city="Austin",
            postal_code="78767",
            region="TX",
            country="US",
        ),
    )


def test_opportunity_both_ways() -> None:
    """Stage labels map to stages and back; amounts leave as exact decimal strings."""
    record = {
        "Id": "0065g00000QrStUAAX",
        "AccountId": "0015g00000XyZ12AAB",
        "Name": "Edge Emergency Generator",
        "StageName": "Id. Decision Makers",
        "CloseDate": "2026-12-15",
        "Amount": 75000.0,
        "Probability": 60.0,
        "CurrencyIsoCode": "EUR",
    }
    opportunity = load_mapping("salesforce_opportunity_to_opportunity").to_model(
        record, Opportunity
    )
    assert opportunity == Opportunity(
        crm_id="0065g00000QrStUAAX",
        account_crm_id="0015g00000XyZ12AAB",
        name="Edge Emergency Generator",
        stage=OpportunityStage.DECISION_MAKERS,
        close_date=date(2026, 12, 15),
        currency="EUR",
        amount=eur("75000"),
        probability=Decimal(60),
    )
    assert apply("opportunity_to_salesforce_opportunity", opportunity) == {
        "AccountId": "0015g00000XyZ12AAB",
        "Name": "Edge Emergency Generator",
        "StageName": "Id. Decision Makers",
        "CloseDate": "2026-12-15",
        "CurrencyIsoCode": "EUR",
        "Amount": "75000.0",
        "Probability": "60.0",
    }


def test_case_becomes_case_with_utc_times() -> None:
    """Salesforce +0000 timestamps become UTC datetimes; labels become enum members."""
    record = {
        "Id": "5005g00000LmNoPAAX",
        "CaseNumber": "00001026",
        "AccountId": "0015g00000XyZ12AAB",
        "ContactId": "0035g00000AbCdEAAX",
        "Subject": "Generator does not start",
        "Description": "Starter motor clicks.",
        "Status": "Closed",
        "Priority": "High",
        "Origin": "Phone",
        "CreatedDate": "2026-11-24T08:15:00.000+0000",
        "ClosedDate": "2026-11-24T16:40:00.000+0000",
    }
    assert load_mapping("salesforce_case_to_case").to_model(record, Case) == Case(
        crm_id="5005g00000LmNoPAAX",
        case_number="00001026",
        account_crm_id="0015g00000XyZ12AAB",
        contact_crm_id="0035g00000AbCdEAAX",
        subject="Generator does not start",
        description="Starter motor clicks.",
        status=CaseStatus.CLOSED,
        priority=CasePriority.HIGH,
        origin="Phone",
        opened_at=datetime(2026, 11, 24, 8, 15, tzinfo=UTC),
        closed_at=datetime(2026, 11, 24, 16, 40, tzinfo=UTC),
    )


def test_price_book_and_entry() -> None:
    """A Pricebook2 and a PricebookEntry map to PriceBook and Price."""
    book = load_mapping("salesforce_pricebook_to_price_book").to_model(
        {
            "Id": "01s5g00000AbCdEAAX",
            "Name": "Standard Price Book",
            "IsActive": True,
            "IsStandard": True,
        },
        PriceBook,
    )
    assert book == PriceBook(crm_id="01s5g00000AbCdEAAX", name="Standard Price Book", standard=True)
    entry = {
        "Id": "01u5g00000AbCdEAAX",
        "Pricebook2Id": "01s5g00000AbCdEAAX",
        "Product2Id": "01t5g000001AbCdAAK",
        "ProductCode": "GC1040",
        "UnitPrice": 199.9,
        "CurrencyIsoCode": "EUR",
        "IsActive": True,
    }
    assert load_mapping("salesforce_pricebookentry_to_price").to_model(entry, Price) == Price(
        crm_id="01u5g00000AbCdEAAX",
        price_book_crm_id="01s5g00000AbCdEAAX",
        product_crm_id="01t5g000001AbCdAAK",
        product_sku="GC1040",
        unit_price=eur("199.9"),
    )


def test_invoice_summary_payload() -> None:
    """An invoice goes to Invoice__c keyed by its ERP number, amounts as decimal strings."""
    invoice = Invoice(
        erp_number="90000042",
        customer_crm_id="0015g00000XyZ12AAB",
        customer_erp_id="17100001",
        invoice_date=date(2026, 11, 24),
        due_date=date(2026, 12, 24),
        currency="EUR",
        status=InvoiceStatus.PARTIALLY_PAID,
        net_total=eur("210.12"),
        tax_total=eur("39.92"),
        gross_total=eur("250.04"),
    )
    assert apply("invoice_to_salesforce_invoice", invoice) == {
        "Name": "90000042",
        "ERP_Invoice_Number__c": "90000042",
        "Account__c": "0015g00000XyZ12AAB",
        "ERP_Customer_Id__c": "17100001",
        "Invoice_Date__c": "2026-11-24",
        "Due_Date__c": "2026-12-24",
        "Status__c": "Partially Paid",
        "CurrencyIsoCode": "EUR",
        "Net_Amount__c": "210.12",
        "Tax_Amount__c": "39.92",
        "Gross_Amount__c": "250.04",
    }


def test_payment_payload_joins_the_erp_key() -> None:
    """The ERP key is company/document/year and invoice numbers are comma-joined."""
    payment = Payment(
        erp_document="1400000007",
        company_code="1010",
        fiscal_year="2026",
        customer_erp_id="17100001",
        payment_date=date(2026, 12, 1),
        amount=eur("250.04"),
        invoice_erp_numbers=["90000042", "90000043"],
    )
    assert apply("payment_to_salesforce_payment", payment) == {
        "ERP_Payment_Document__c": "1010/1400000007/2026",
        "ERP_Customer_Id__c": "17100001",
        "Payment_Date__c": "2026-12-01",
        "Amount__c": "250.04",
        "CurrencyIsoCode": "EUR",
        "Invoice_Numbers__c": "90000042,90000043",
    }


def test_credit_exposure_payload() -> None:
    """Credit figures go onto the Account found by its ERP customer id."""
    exposure = CreditExposure(
        customer_erp_id="17100001",
        credit_segment="1000",
        limit=eur("50000"),
        exposure=eur("42000.50"),
    )
    assert apply("credit_exposure_to_salesforce_account", exposure) == {
        "ERP_Customer_Id__c": "17100001",
        "Credit_Segment__c": "1000",
        "Credit_Limit__c": "50000",
        "Credit_Exposure__c": "42000.50",
        "Credit_Currency__c": "EUR",
        "Credit_Blocked__c": False,
    }
