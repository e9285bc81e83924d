"""Master data: business partners with addresses and the customer role, and products."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledgerbridge.sandboxes.erp.errors import bad_request
from ledgerbridge.sandboxes.erp.events import (
    BUSINESS_PARTNER_CREATED,
    PRODUCT_CREATED,
    EventLog,
)
from ledgerbridge.sandboxes.erp.payloads import Clock, Created, children, day, decode, writable
from ledgerbridge.sandboxes.erp.services.business_partner import (
    BUSINESS_PARTNER,
    BUSINESS_PARTNER_ADDRESS,
    CUSTOMER,
)
from ledgerbridge.sandboxes.erp.services.product import PRODUCT, PRODUCT_DESCRIPTION
from ledgerbridge.sandboxes.erp.store import Store


class MasterData:
    """Creates partners and products the way S/4 completes and numbers them."""

    def __init__(self, store: Store, events: EventLog, user: str, clock: Clock) -> None:
        self._store = store
        self._events = events
        self._user = user
        self._clock = clock

    def _stamps(self) -> dict[str, Any]:
        today = day(self._clock())
        return {
            "CreationDate": today,
            "CreatedByUser": self._user,
            "LastChangeDate": today,
            "LastChangedByUser": self._user,
        }

    def create_business_partner(self, payload: Mapping[str, Any]) -> Created:
        """Number a partner from 1000000 and deep-insert its addresses and customer role."""
        values, navs = decode(BUSINESS_PARTNER, payload)
        category = values.get("BusinessPartnerCategory")
        if category not in ("1", "2"):
            raise bad_request(
                "Enter a business partner category (1 person, 2 organization)", code="R11/401"
            )
        if category == "2" and not values.get("OrganizationBPName1"):
            raise bad_request("Enter a name for the organization", code="R11/402")
        if category == "1" and not values.get("LastName"):
            raise bad_request("Enter a last name for the person", code="R11/403")
        number = str(self._store.next_number("BusinessPartner", 1_000_000))
        names = (
            [values.get("OrganizationBPName1"), values.get("OrganizationBPName2")]
            if category == "2"
            else [values.get("FirstName"), values.get("LastName")]
        )
        full_name = " ".join(str(n) for n in names if n)
        values = writable(values)
        # The name and the customer link are derived, whatever the client sent.
        values.pop("Customer", None)
        values.update(
            BusinessPartner=number,
            BusinessPartnerFullName=full_name,
            BusinessPartnerName=full_name,
            **self._stamps(),
        )
        values.setdefault("SearchTerm1", full_name[:20].upper())
        values.setdefault("BusinessPartnerIsBlocked", False)
        values.setdefault("IsMarkedForArchiving", False)
        customer_raw = navs.get("to_Customer")
        if customer_raw is not None:
            values["Customer"] = number
        self._store.insert("A_BusinessPartner", (number,), values)
        for raw in children(navs.get("to_BusinessPartnerAddress", []), "to_BusinessPartnerAddress"):
            self._insert_address(number, decode(BUSINESS_PARTNER_ADDRESS, raw)[0])
        if customer_raw is not None:
            if not isinstance(customer_raw, Mapping):
                raise bad_request("Navigation property 'to_Customer' expects one entity")
            customer = writable(decode(CUSTOMER, customer_raw)[0])
            customer.update(
                Customer=number,
                CreationDate=day(self._clock()),
                CreatedByUser=self._user,
            )
            customer.setdefault("CustomerName", full_name[:80])
            customer.setdefault("CustomerFullName", full_name)
            customer.setdefault("CustomerAccountGroup", "CUST")
            customer.setdefault("OrderIsBlockedForCustomer", "")
            customer.setdefault("DeletionIndicator", False)
            self._store.insert("A_Customer", (number,), customer)
        self._events.emit(BUSINESS_PARTNER_CREATED, {"BusinessPartner": number})
        return Created(BUSINESS_PARTNER, (number,))

    def create_address(self, payload: Mapping[str, Any]) -> Created:
        """Add an address to an existing partner."""
        values, _ = decode(BUSINESS_PARTNER_ADDRESS, payload)
        partner = str(values.get("BusinessPartner", ""))
        if self._store.get("A_BusinessPartner", (partner,)) is None:
            raise bad_request(f"Business partner {partner} does not exist", code="R11/101")
        return self._insert_address(partner, values)

    def _insert_address(self, partner: str, values: dict[str, Any]) -> Created:
        address_id = str(self._store.next_number("AddressID", 10_000))
        values.update(BusinessPartner=partner, AddressID=address_id)
        self._store.insert("A_BusinessPartnerAddress", (partner, address_id), values)
        return Created(BUSINESS_PARTNER_ADDRESS, (partner, address_id))

    def create_product(self, payload: Mapping[str, Any]) -> Created:
        """Create a product under the client's (external) number, with descriptions."""
        values, navs = decode(PRODUCT, payload)
        product = str(values.get("Product") or "")
        if not product:
            raise bad_request("Enter a product number", code="M3/201")
        if self._store.get("A_Product", (product,)) is not None:
            raise bad_request(f"Product {product} already exists", code="M3/202")
        values = writable(values)
        values.update(Product=product, **self._stamps())
        values.setdefault("ProductType", "FERT")
        values.setdefault("BaseUnit", "EA")
        values.setdefault("IsMarkedForDeletion", False)
        values.setdefault("CrossPlantStatus", "")
        self._store.insert("A_Product", (product,), values)
        for raw in children(navs.get("to_Description", []), "to_Description"):
            description = decode(PRODUCT_DESCRIPTION, raw)[0]
            language = str(description.get("Language") or "EN")
            description.update(Product=product, Language=language)
            self._store.insert("A_ProductDescription", (product, language), description)
        self._events.emit(PRODUCT_CREATED, {"Product": product})
        return Created(PRODUCT, (product,))
