"""The sObjects of the sandbox org, declared once with their fields and key prefixes."""

from __future__ import annotations

from ledgerbridge.sandboxes.crm.schema import Field, FieldType, SObjectType

USER_ID = "005000000000001AAA"
ORG_ID = "00D000000000001EAA"


def _system() -> tuple[Field, ...]:
    return (
        Field("IsDeleted", "boolean", "Deleted", default=False, createable=False, updateable=False),
        Field("CreatedDate", "datetime", "Created Date", createable=False, updateable=False),
        Field("CreatedById", "reference", "Created By ID", createable=False, updateable=False),
        Field(
            "LastModifiedDate", "datetime", "Last Modified Date", createable=False, updateable=False
        ),
        Field(
            "LastModifiedById",
            "reference",
            "Last Modified By ID",
            createable=False,
            updateable=False,
        ),
        Field("SystemModstamp", "datetime", "System Modstamp", createable=False, updateable=False),
    )


def _id(label: str) -> Field:
    return Field("Id", "id", label, length=18, createable=False, updateable=False)


def _calculated(name: str, kind: FieldType, label: str) -> Field:
    return Field(name, kind, label, createable=False, updateable=False, calculated=True)


def _maintained(name: str, kind: FieldType, label: str) -> Field:
    # Kept by the platform (roll-ups, line totals): read-only, yet not a formula, so change
    # events carry them.
    return Field(name, kind, label, createable=False, updateable=False)


def _auto_number(name: str, label: str) -> Field:
    return Field(
        name, "string", label, length=30, createable=False, updateable=False, auto_number=True
    )


def _owner() -> Field:
    return Field("OwnerId", "reference", "Owner ID", length=18, default=USER_ID)


CURRENCIES = ("USD", "EUR", "GBP", "CHF", "JPY", "CAD", "AUD")


def _currency() -> Field:
    return Field(
        "CurrencyIsoCode",
        "picklist",
        "Currency ISO Code",
        length=3,
        picklist=CURRENCIES,
        restricted=True,
        default="USD",
    )


def _address(prefix: str) -> tuple[Field, ...]:
    return (
        Field(f"{prefix}Street", "textarea", f"{prefix} Street"),
        Field(f"{prefix}City", "string", f"{prefix} City", length=40),
        Field(f"{prefix}State", "string", f"{prefix} State/Province", length=80),
        Field(f"{prefix}PostalCode", "string", f"{prefix} Zip/Postal Code", length=20),
        Field(f"{prefix}Country", "string", f"{prefix} Country", length=80),
    )


INDUSTRIES = (
    "Agriculture",
    "Apparel",
    "Banking",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Insurance",
    "Manufacturing",
    "Media",
    "Retail",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
)

ACCOUNT = SObjectType(
    "Account",
    "001",
    "Account",
    "Accounts",
    (
        _id("Account ID"),
        Field("Name", "string", "Account Name", required=True),
        Field("AccountNumber", "string", "Account Number", length=40),
        Field("Type", "picklist", "Account Type", picklist=("Customer", "Partner", "Prospect")),
        Field(
            "ParentId",
            "reference",
            "Parent Account ID",
            reference_to="Account",
            relationship_name="Parent",
        ),
        *_address("Billing"),
        *_address("Shipping"),
        Field("Phone", "phone", "Account Phone", length=40),
        Field("Website", "url", "Website"),
        Field("Industry", "picklist", "Industry", length=255, picklist=INDUSTRIES),
        Field("Description", "textarea", "Account Description", length=32000),
        _currency(),
        _owner(),
        Field("ERP_Customer_Id__c", "string", "ERP Customer Id", length=40, external_id=True),
        *_system(),
    ),
)

PRODUCT = SObjectType(
    "Product2",
    "01t",
    "Product",
    "Products",
    (
        _id("Product ID"),
        Field("Name", "string", "Product Name", required=True),
        Field("ProductCode", "string", "Product Code"),
        Field("Description", "textarea", "Product Description", length=4000),
        Field("IsActive", "boolean", "Active", default=False),
        Field("Family", "picklist", "Product Family", picklist=("None",)),
        Field("QuantityUnitOfMeasure", "picklist", "Quantity Unit Of Measure", picklist=("Each",)),
        Field(
            "ERP_Material_Number__c",
            "string",
            "ERP Material Number",
            length=40,
            external_id=True,
        ),
        *_system(),
    ),
)

PRICEBOOK = SObjectType(
    "Pricebook2",
    "01s",
    "Price Book",
    "Price Books",
    (
        _id("Price Book ID"),
        Field("Name", "string", "Price Book Name", required=True),
        Field("IsActive", "boolean", "Active", default=False),
        Field(
            "IsStandard",
            "boolean",
            "Is Standard Price Book",
            default=False,
            createable=False,
            updateable=False,
        ),
        Field("Description", "string", "Description"),
        *_system(),
    ),
)

PRICEBOOK_ENTRY = SObjectType(
    "PricebookEntry",
    "01u",
    "Price Book Entry",
    "Price Book Entries",
    (
        _id("Price Book Entry ID"),
        _calculated("Name", "string", "Product Name"),
        Field(
            "Pricebook2Id",
            "reference",
            "Price Book ID",
            required=True,
            updateable=False,
            reference_to="Pricebook2",
            relationship_name="Pricebook2",
            cascade_delete=True,
        ),
        Field(
            "Product2Id",
            "reference",
            "Product ID",
            required=True,
            updateable=False,
            reference_to="Product2",
            relationship_name="Product2",
            cascade_delete=True,
        ),
        Field("UnitPrice", "currency", "List Price", required=True),
        Field("IsActive", "boolean", "Active", default=False),
        Field("UseStandardPrice", "boolean", "Use Standard Price", default=False),
        _calculated("ProductCode", "string", "Product Code"),
        _currency(),
        *_system(),
    ),
)

ORDER = SObjectType(
    "Order",
    "801",
    "Order",
    "Orders",
    (
        _id("Order ID"),
        _owner(),
        Field(
            "AccountId",
            "reference",
            "Account ID",
            required=True,
            reference_to="Account",
            relationship_name="Account",
        ),
        Field(
            "Pricebook2Id",
            "reference",
            "Price Book ID",
            reference_to="Pricebook2",
            relationship_name="Pricebook2",
        ),
        Field("EffectiveDate", "date", "Order Start Date", required=True),
        Field("EndDate", "date", "Order End Date"),
        Field(
            "Status",
            "picklist",
            "Status",
            required=True,
            # Draft and Activated are standard; Cancelled is a status orgs add for orders
            # called off after activation (ledgerbridge compensates their cases).
            picklist=("Draft", "Activated", "Cancelled"),
            restricted=True,
            default="Draft",
        ),
        Field("Description", "textarea", "Description", length=32000),
        Field("Name", "string", "Order Name", length=80),
        Field("PoNumber", "string", "PO Number", length=80),
        Field("PoDate", "date", "PO Date"),
        *_address("Billing"),
        *_address("Shipping"),
        _auto_number("OrderNumber", "Order Number"),
        _maintained("TotalAmount", "currency", "Order Amount"),
        _currency(),
        Field("ERP_Order_Number__c", "string", "ERP Order Number", length=40),
        Field(
            "Invoice_Status__c",
            "picklist",
            "Invoice Status",
            picklist=("Not Invoiced", "Partially Invoiced", "Invoiced", "Cancelled"),
        ),
        Field(
            "Payment_Status__c",
            "picklist",
            "Payment Status",
            picklist=("Unpaid", "Partially Paid", "Paid", "Overdue"),
        ),
        Field("External_Id__c", "string", "External Id", length=80, external_id=True),
        *_system(),
    ),
)

ORDER_ITEM = SObjectType(
    "OrderItem",
    "802",
    "Order Product",
    "Order Products",
    (
        _id("Order Item ID"),
        Field(
            "OrderId",
            "reference",
            "Order ID",
            required=True,
            updateable=False,
            reference_to="Order",
            relationship_name="Order",
            cascade_delete=True,
        ),
        Field(
            "Product2Id",
            "reference",
            "Product ID",
            updateable=False,
            reference_to="Product2",
            relationship_name="Product2",
        ),
        Field(
            "PricebookEntryId",
            "reference",
            "Price Book Entry ID",
            updateable=False,
            reference_to="PricebookEntry",
            relationship_name="PricebookEntry",
        ),
        Field("Quantity", "double", "Quantity", required=True),
        Field("UnitPrice", "currency", "Unit Price", required=True),
        _maintained("TotalPrice", "currency", "Total Price"),
        Field("ServiceDate", "date", "Start Date"),
        Field("Description", "string", "Line Description"),
        _auto_number("OrderItemNumber", "Order Product Number"),
        Field("External_Id__c", "string", "External Id", length=80, external_id=True),
        *_system(),
    ),
)

LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")

CONTACT = SObjectType(
    "Contact",
    "003",
    "Contact",
    "Contacts",
    (
        _id("Contact ID"),
        Field(
            "AccountId",
            "reference",
            "Account ID",
            reference_to="Account",
            relationship_name="Account",
        ),
        Field("LastName", "string", "Last Name", length=80, required=True),
        Field("FirstName", "string", "First Name", length=40),
        Field(
            "Salutation",
            "picklist",
            "Salutation",
            length=40,
            picklist=("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", "Mx."),
        ),
        _calculated("Name", "string", "Full Name"),
        *_address("Mailing"),
        Field("Phone", "phone", "Business Phone", length=40),
        Field("MobilePhone", "phone", "Mobile Phone", length=40),
        Field("Email", "email", "Email", length=80),
        Field("Title", "string", "Title", length=128),
        Field("Department", "string", "Department", length=80),
        Field("LeadSource", "picklist", "Lead Source", picklist=LEAD_SOURCES),
        Field("Birthdate", "date", "Birthdate"),
        Field("Description", "textarea", "Contact Description", length=32000),
        _currency(),
        _owner(),
        *_system(),
    ),
)

STAGES = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
)

OPPORTUNITY = SObjectType(
    "Opportunity",
    "006",
    "Opportunity",
    "Opportunities",
    (
        _id("Opportunity ID"),
        Field(
            "AccountId",
            "reference",
            "Account ID",
            reference_to="Account",
            relationship_name="Account",
        ),
        Field("Name", "string", "Name", length=120, required=True),
        Field("Description", "textarea", "Description", length=32000),
        Field(
            "StageName",
            "picklist",
            "Stage",
            required=True,
            picklist=STAGES,
            restricted=True,
        ),
        Field("Amount", "currency", "Amount"),
        Field("Probability", "percent", "Probability (%)", scale=0),
        _calculated("ExpectedRevenue", "currency", "Expected Amount"),
        Field("CloseDate", "date", "Close Date", required=True),
        Field(
            "Type",
            "picklist",
            "Opportunity Type",
            picklist=(
                "Existing Customer - Upgrade",
                "Existing Customer - Replacement",
                "Existing Customer - Downgrade",
                "New Customer",
            ),
        ),
        Field("NextStep", "string", "Next Step"),
        Field("LeadSource", "picklist", "Lead Source", picklist=LEAD_SOURCES),
        _calculated("IsClosed", "boolean", "Closed"),
        _calculated("IsWon", "boolean", "Won"),
        Field(
            "Pricebook2Id",
            "reference",
            "Price Book ID",
            reference_to="Pricebook2",
            relationship_name="Pricebook2",
        ),
        Field(
            "ContactId",
            "reference",
            "Contact ID",
            reference_to="Contact",
            relationship_name="Contact",
        ),
        _currency(),
        _owner(),
        *_system(),
    ),
)

CASE = SObjectType(
    "Case",
    "500",
    "Case",
    "Cases",
    (
        _id("Case ID"),
        _auto_number("CaseNumber", "Case Number"),
        Field(
            "AccountId",
            "reference",
            "Account ID",
            reference_to="Account",
            relationship_name="Account",
        ),
        Field(
            "ContactId",
            "reference",
            "Contact ID",
            reference_to="Contact",
            relationship_name="Contact",
        ),
        Field("Subject", "string", "Subject"),
        Field("Description", "textarea", "Description", length=32000),
        Field(
            "Status",
            "picklist",
            "Status",
            picklist=("New", "Working", "Escalated", "Closed"),
            restricted=True,
            default="New",
        ),
        Field(
            "Priority", "picklist", "Priority", picklist=("High", "Medium", "Low"), default="Medium"
        ),
        Field("Origin", "picklist", "Case Origin", picklist=("Phone", "Email", "Web")),
        Field(
            "Type",
            "picklist",
            "Case Type",
            picklist=("Mechanical", "Electrical", "Electronic", "Structural", "Other"),
        ),
        Field("SuppliedEmail", "email", "Web Email", length=80),
        _calculated("IsClosed", "boolean", "Closed"),
        _currency(),
        _owner(),
        *_system(),
    ),
)

SOBJECTS: dict[str, SObjectType] = {
    t.name.lower(): t
    for t in (
        ACCOUNT,
        CONTACT,
        OPPORTUNITY,
        PRODUCT,
        PRICEBOOK,
        PRICEBOOK_ENTRY,
        ORDER,
        ORDER_ITEM,
        CASE,
    )
}
BY_PREFIX: dict[str, SObjectType] = {t.key_prefix: t for t in SOBJECTS.values()}


def sobject(name: str) -> SObjectType | None:
    """The sObject called `name`, matched case-insensitively."""
    return SOBJECTS.get(name.lower())


# Child relationship names Salesforce gives the standard lookups: (child, field) -> name.
CHILD_RELATIONSHIPS = {
    ("Account", "ParentId"): "ChildAccounts",
    ("Contact", "AccountId"): "Contacts",
    ("Opportunity", "AccountId"): "Opportunities",
    ("Opportunity", "ContactId"): "Opportunities",
    ("Order", "AccountId"): "Orders",
    ("Order", "Pricebook2Id"): "Orders",
    ("OrderItem", "OrderId"): "OrderItems",
    ("OrderItem", "PricebookEntryId"): "OrderItems",
    ("PricebookEntry", "Pricebook2Id"): "PricebookEntries",
    ("PricebookEntry", "Product2Id"): "PricebookEntries",
    ("Case", "AccountId"): "Cases",
    ("Case", "ContactId"): "Cases",
}


def child_relationship(parent: SObjectType, name: str) -> tuple[str, SObjectType, Field] | None:
    """The child relationship of `parent` called `name`: (its name, child object, lookup field)."""
    for (child_name, field_name), relationship in CHILD_RELATIONSHIPS.items():
        child = SOBJECTS[child_name.lower()]
        field = child.by_lower[field_name.lower()]
        if relationship.lower() == name.lower() and field.reference_to == parent.name:
            return relationship, child, field
    return None
