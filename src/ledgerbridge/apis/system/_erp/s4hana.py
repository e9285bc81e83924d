"""The ERP port on SAP S/4HANA: OData V2 through the connector, SAP shapes through mappings."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import quote

from ledgerbridge.apis.system._erp.port import Versioned, customer_change
from ledgerbridge.apis.system._erp.s4hana_records import (
    INVOICE_STATUS_FILTERS,
    SALES_ORDER_STATUS_FILTERS,
    KeyValue,
    account_key,
    all_of,
    credit_limit_of,
    credit_payload,
    customer_etag,
    decimal_text,
    invoice_of,
    odata_date,
    party_of,
    price_of,
    price_of_validity,
    product_of,
    product_payload,
    sales_order_of,
    same_price,
    same_product,
)
from ledgerbridge.canonical import (
    CreditExposure,
    CreditLimit,
    Invoice,
    InvoiceStatus,
    Money,
    Order,
    OrderStatus,
    Party,
    Payment,
    Price,
    Product,
    ReceivableItem,
    SalesOrderState,
)
from ledgerbridge.connectors.s4hana import (
    BatchReply,
    Change,
    ChangeSet,
    ODataEntity,
    Retrieve,
    S4HanaClient,
    odata_literal,
)
from ledgerbridge.mapping import load_mapping
from ledgerbridge.runtime.errors import (
    BackendRejected,
    Conflict,
    LedgerbridgeError,
    MappingError,
    NotFound,
    PreconditionFailed,
)
from ledgerbridge.runtime.keyed_lock import KeyedLock
from ledgerbridge.runtime.resilience import BackendPolicy
from ledgerbridge.runtime.settings import ResilienceSettings

BACKEND = "s4hana"
PARTNERS = ("API_BUSINESS_PARTNER", "A_BusinessPartner")
PARTNER_ADDRESSES = "A_BusinessPartnerAddress"
_PARTNER_NAME = ("OrganizationBPName1", "BusinessPartnerFullName", "SearchTerm1")
_KEY_SAFE = "'=,"
SALES_ORDERS = ("API_SALES_ORDER_SRV", "A_SalesOrder")
PRODUCTS = ("API_PRODUCT_SRV", "A_Product")
PRODUCT_DESCRIPTIONS = ("API_PRODUCT_SRV", "A_ProductDescription")
CONDITIONS = ("API_SLSPRICINGCONDITIONRECORD_SRV", "A_SlsPrcgConditionRecord")
VALIDITIES = ("API_SLSPRICINGCONDITIONRECORD_SRV", "A_SlsPrcgCndnRecdValidity")
BILLING_DOCUMENTS = ("API_BILLING_DOCUMENT_SRV", "A_BillingDocument")
RECEIVABLES = ("API_OPLACCTGDOCITEMCUBE_SRV", "A_OperationalAcctgDocItemCube")
PAYMENTS = ("ZLB_INCOMING_PAYMENT_SRV", "IncomingPayment")
CREDIT_PARTNERS = ("API_CRDTMBUSINESSPARTNER", "CreditMgmtBusinessPartner")
CREDIT_ACCOUNTS = ("API_CRDTMBUSINESSPARTNER", "CreditManagementAccount")
INVOICE_TYPE = "F2"
"""Billing document type of an invoice; S1 cancels one."""

_PAYMENT_KEY = ("CompanyCode", "FiscalYear", "AccountingDocument")
BATCH_PARTS = 100
"""Requests per $batch: a batch of customers is looked up, then created, 100 at a time."""


class S4HanaErp:
    """S/4HANA behind the ERP port.

    S/4 has no upsert by external key, so "query by the CRM id, create if missing" runs under
    a per-key lock: within one process a repeat or a concurrent call never creates twice. The
    CRM account id is the business partner's external id; the CRM order id is the sales
    order's customer reference. The other keyed writes look up their own keys the same way:
    a product its SKU (the material number), a price its material, sales area and start
    date, a payment its customer and reference, a credit limit its partner and segment.
    An upsert writes only what differs, so a repeat writes nothing.

    Every connector call goes through the ERP's resilience ``policy`` (one of its own, with
    default settings, when none is given): reads are retried, writes are made once, and
    "query, create if missing" is repeated as a whole.
    """

    def __init__(self, s4: S4HanaClient, policy: BackendPolicy | None = None) -> None:
        self._policy = policy or BackendPolicy.from_settings(BACKEND, ResilienceSettings())
        self._s4 = _GuardedS4(s4, self._policy)
        self._creating = KeyedLock()

    async def ensure_customer(self, party: Party) -> tuple[Party, bool]:
        """See `ErpPort.ensure_customer`."""
        payload = load_mapping("party_to_s4_business_partner").apply(
            party.model_dump(mode="json"), record_id=party.crm_id
        )
        key = str(party.crm_id)
        async with self._creating.hold(f"partner:{key}"):
            entity, created = await self._find_or_create(
                PARTNERS,
                f"BusinessPartnerIDByExtSystem eq {odata_literal(key)}",
                expand=("to_BusinessPartnerAddress",),
                payload=payload,
            )
        return party_of(entity), created

    async def get_customer(self, customer_id: str) -> Party:
        """See `ErpPort.get_customer`."""
        entity = await self._s4.get(*PARTNERS, customer_id, expand=("to_BusinessPartnerAddress",))
        return party_of(entity)

    async def list_customers(
        self,
        *,
        crm_id: str | None,
        changed_since: datetime | None,
        offset: int,
        limit: int,
    ) -> list[Party]:
        """See `ErpCustomers.list_customers`: business partners by number.

        A partner stamps only the day of its last change (LastChangeDate), so
        ``changed_since`` keeps those changed on its day or later.
        """
        clauses = []
        if crm_id is not None:
            clauses.append(f"BusinessPartnerIDByExtSystem eq {odata_literal(crm_id)}")
        if changed_since is not None:
            day = datetime.combine(changed_since.astimezone(UTC).date(), time())
            clauses.append(f"LastChangeDate ge {odata_literal(day)}")
        found = await self._s4.query(
            *PARTNERS,
            filter=all_of(clauses),
            expand=("to_BusinessPartnerAddress",),
            orderby="BusinessPartner",
            top=limit,
            skip=offset,
        )
        return [party_of(entity) for entity in found]

    async def read_customer(self, customer_id: str) -> Versioned[Party]:
        """See `ErpCustomerUpdates.read_customer`."""
        entity = await self._s4.get(*PARTNERS, customer_id, expand=("to_BusinessPartnerAddress",))
        return Versioned(party_of(entity), customer_etag(entity))

    async def update_customer(
        self, customer_id: str, party: Party, *, etag: str
    ) -> Versioned[Party]:
        """See `ErpCustomerUpdates.update_customer`.

        The partner's name and its first address change in one $batch change set, so both
        or neither. The partner's PATCH carries the partner's own ETag as read here, so S/4
        refuses the set when the partner changed in between; it also moves the partner's
        version when only the address changes.
        """
        entity = await self._s4.get(*PARTNERS, customer_id, expand=("to_BusinessPartnerAddress",))
        if customer_etag(entity) != etag:
            raise _stale(customer_id)
        wanted = customer_change(party_of(entity), party, backend=BACKEND)
        payload = load_mapping("party_to_s4_business_partner").apply(
            wanted.model_dump(mode="json"), record_id=wanted.crm_id
        )
        header = {name: payload[name] for name in _PARTNER_NAME}
        changes = [Change("PATCH", _path(PARTNERS[1], customer_id), header, etag=entity.etag)]
        address = payload.get("to_BusinessPartnerAddress", {"results": [{}]})["results"][0]
        held = entity.properties.get("to_BusinessPartnerAddress") or []
        if held:
            key = {"BusinessPartner": customer_id, "AddressID": str(held[0]["AddressID"])}
            changes.append(Change("PATCH", _path(PARTNER_ADDRESSES, key), address))
        elif address:
            body = {**address, "BusinessPartner": customer_id}
            changes.append(Change("POST", PARTNER_ADDRESSES, body))
        [replies] = await self._s4.write_batch(PARTNERS[0], [ChangeSet(tuple(changes))])
        for reply in replies:
            if isinstance(reply.error, Conflict) and reply.error.status_code == 412:
                raise _stale(customer_id) from reply.error
            if reply.error is not None:
                raise reply.error
        return await self.read_customer(customer_id)

    async def ensure_customers(
        self, parties: Sequence[Party]
    ) -> list[tuple[Party, bool] | LedgerbridgeError]:
        """See `ErpPort.ensure_customers`.

        Per 100 parties, one $batch looks them all up by external id and one more creates
        the missing ones, each in its own change set (so one refusal rolls back only its
        own party). The keys' locks are held throughout, taken in order; the lookup and
        create are repeated as a whole while S/4 is unavailable, as for one customer.
        """
        outcomes: list[tuple[Party, bool] | LedgerbridgeError] = []
        for start in range(0, len(parties), BATCH_PARTS):
            chunk = parties[start : start + BATCH_PARTS]
            keys = sorted({f"partner:{party.crm_id}" for party in chunk})
            async with contextlib.AsyncExitStack() as held:
                for key in keys:
                    await held.enter_async_context(self._creating.hold(key))
                outcomes += await self._policy.repeat_keyed(partial(self._ensure_chunk, chunk))
        return outcomes

    async def _ensure_chunk(
        self, parties: Sequence[Party]
    ) -> list[tuple[Party, bool] | LedgerbridgeError]:
        service, entity_set = PARTNERS
        lookups = [
            Retrieve(
                entity_set,
                {
                    "$filter": f"BusinessPartnerIDByExtSystem eq {odata_literal(str(p.crm_id))}",
                    "$expand": "to_BusinessPartnerAddress",
                },
            )
            for p in parties
        ]
        found = await self._s4.read_batch(service, lookups)
        outcomes: dict[int, tuple[Party, bool] | LedgerbridgeError] = {}
        creates: list[tuple[int, dict[str, Any]]] = []
        mapping = load_mapping("party_to_s4_business_partner")
        for index, (party, [reply]) in enumerate(zip(parties, found, strict=True)):
            try:
                if reply.error is not None:
                    outcomes[index] = reply.error
                elif reply.entities:
                    outcomes[index] = party_of(reply.entities[0]), False
                else:
                    body = mapping.apply(party.model_dump(mode="json"), record_id=party.crm_id)
                    creates.append((index, body))
            except MappingError as exc:
                outcomes[index] = exc
        if creates:
            change_sets = [ChangeSet((Change("POST", entity_set, body),)) for _, body in creates]
            written = await self._s4.write_batch(service, change_sets)
            for (index, _), replies in zip(creates, written, strict=True):
                outcomes[index] = _created_party(replies)
        return [outcomes[index] for index in range(len(parties))]

    async def create_sales_order(self, order: Order) -> tuple[SalesOrderState, bool]:
        """See `ErpPort.create_sales_order`."""
        payload = load_mapping("order_to_s4_sales_order").apply(
            order.model_dump(mode="json"), record_id=order.crm_id
        )
        async with self._creating.hold(f"sales-order:{order.crm_id}"):
            entity, created = await self._find_or_create(
                SALES_ORDERS,
                f"PurchaseOrderByCustomer eq {odata_literal(order.crm_id)}",
                expand=("to_Item",),
                payload=payload,
            )
        if not created:
            return sales_order_of(entity), False
        number = str(entity.properties["SalesOrder"])
        return await self.get_sales_order(number), True

    async def get_sales_order(self, erp_number: str) -> SalesOrderState:
        """See `ErpPort.get_sales_order`."""
        return sales_order_of(await self._s4.get(*SALES_ORDERS, erp_number, expand=("to_Item",)))

    async def list_sales_orders(
        self,
        *,
        customer_erp_id: str | None,
        status: OrderStatus | None,
        changed_since: datetime | None,
        offset: int,
        limit: int,
    ) -> list[SalesOrderState]:
        """See `ErpSalesOrders.list_sales_orders`."""
        clauses = []
        if customer_erp_id is not None:
            clauses.append(f"SoldToParty eq {odata_literal(customer_erp_id)}")
        if status is not None:
            if status not in SALES_ORDER_STATUS_FILTERS:
                return []
            clauses.append(SALES_ORDER_STATUS_FILTERS[status])
        if changed_since is not None:
            clauses.append(f"LastChangeDateTime gt {odata_literal(changed_since)}")
        found = await self._s4.query(
            *SALES_ORDERS,
            filter=all_of(clauses),
            expand=("to_Item",),
            orderby="SalesOrder",
            top=limit,
            skip=offset,
        )
        return [sales_order_of(entity) for entity in found]

    async def list_products(
        self,
        *,
        active: bool | None,
        changed_since: datetime | None,
        offset: int,
        limit: int,
    ) -> list[Product]:
        """See `ErpProducts.list_products`."""
        clauses = []
        if active is not None:
            clauses.append(f"IsMarkedForDeletion eq {odata_literal(not active)}")
        if changed_since is not None:
            clauses.append(f"LastChangeDateTime gt {odata_literal(changed_since)}")
        found = await self._s4.query(
            *PRODUCTS,
            filter=all_of(clauses),
            expand=("to_Description",),
            orderby="Product",
            top=limit,
            skip=offset,
        )
        return [product_of(entity) for entity in found]

    async def get_product(self, sku: str) -> Versioned[Product]:
        """See `ErpProducts.get_product`."""
        entity = await self._s4.get(*PRODUCTS, sku, expand=("to_Description",))
        return Versioned(product_of(entity), entity.etag)

    async def upsert_product(self, product: Product) -> tuple[Versioned[Product], bool]:
        """See `ErpProducts.upsert_product`."""

        async def attempt() -> tuple[Versioned[Product], bool]:
            try:
                current = await self.get_product(product.sku)
            except NotFound:
                await self._s4.create(*PRODUCTS, product_payload(product))
                return await self.get_product(product.sku), True
            if same_product(current.record, product):
                return current, False
            return await self._change_product(product, current, etag=current.etag), False

        async with self._creating.hold(f"product:{product.sku}"):
            return await self._policy.repeat_keyed(attempt)

    async def update_product(self, product: Product, *, etag: str) -> Versioned[Product]:
        """See `ErpProducts.update_product`."""
        return await self._change_product(product, await self.get_product(product.sku), etag=etag)

    async def _change_product(
        self, product: Product, current: Versioned[Product], *, etag: str | None
    ) -> Versioned[Product]:
        payload = product_payload(product)
        # The header write carries the ETag check and moves the version, even for a new name.
        header = {name: payload[name] for name in ("BaseUnit", "IsMarkedForDeletion")}
        await self._patch(PRODUCTS, product.sku, header, etag=etag)
        if current.record.name != product.name:
            description = payload["to_Description"]["results"][0]
            await self._s4.update(
                *PRODUCT_DESCRIPTIONS,
                {"Product": product.sku, "Language": description["Language"]},
                {"ProductDescription": description["ProductDescription"]},
                etag=None,
            )
        return await self.get_product(product.sku)

    async def list_prices(
        self,
        *,
        sku: str | None,
        sales_organization: str | None,
        distribution_channel: str | None,
        valid_on: date | None,
        offset: int,
        limit: int,
    ) -> list[Price]:
        """See `ErpPricing.list_prices`."""
        clauses = [
            f"{name} eq {odata_literal(value)}"
            for name, value in (
                ("Material", sku),
                ("SalesOrganization", sales_organization),
                ("DistributionChannel", distribution_channel),
            )
            if value is not None
        ]
        if valid_on is not None:
            day = odata_literal(datetime.combine(valid_on, time()))
            clauses += [
                f"ConditionValidityStartDate le {day}",
                f"ConditionValidityEndDate ge {day}",
            ]
        validities = await self._s4.query(
            *VALIDITIES,
            filter=all_of(clauses),
            expand=("to_SlsPrcgConditionRecord",),
            orderby="ConditionRecord",
            top=limit,
            skip=offset,
        )
        return [price_of_validity(validity) for validity in validities]

    async def get_price(self, erp_id: str) -> Versioned[Price]:
        """See `ErpPricing.get_price`."""
        entity = await self._s4.get(*CONDITIONS, erp_id, expand=("to_SlsPrcgCndnRecdValidity",))
        return Versioned(price_of(entity), entity.etag)

    async def upsert_price(self, price: Price) -> tuple[Versioned[Price], bool]:
        """See `ErpPricing.upsert_price`.

        The key is the validity's material, sales organisation, distribution channel and start
        date, with the mapping's defaults for the organisation and channel.
        """
        payload = load_mapping("price_to_s4_pricing_condition").apply(
            price.model_dump(mode="json"), record_id=price.product_sku
        )
        validity = payload["to_SlsPrcgCndnRecdValidity"]["results"][0]
        assert price.valid_from is not None  # the mapping requires it
        key = {
            "Material": validity["Material"],
            "SalesOrganization": validity["SalesOrganization"],
            "DistributionChannel": validity["DistributionChannel"],
        }
        start = datetime.combine(price.valid_from, time())

        async def attempt() -> tuple[Versioned[Price], bool]:
            existing = await self._s4.query(
                *VALIDITIES,
                filter=all_of(
                    [f"{name} eq {odata_literal(value)}" for name, value in key.items()]
                    + [f"ConditionValidityStartDate eq {odata_literal(start)}"]
                ),
                orderby="ConditionRecord",
                top=1,
            )
            if not existing:
                created = await self._s4.create(*CONDITIONS, payload)
                return await self.get_price(str(created.properties["ConditionRecord"])), True
            current = await self.get_price(str(existing[0].properties["ConditionRecord"]))
            if same_price(current.record, price):
                return current, False
            changed = await self._change_price(current, price, etag=current.etag)
            return changed, False

        async with self._creating.hold(f"price:{'/'.join(key.values())}/{start:%Y-%m-%d}"):
            return await self._policy.repeat_keyed(attempt)

    async def update_price(self, erp_id: str, price: Price, *, etag: str) -> Versioned[Price]:
        """See `ErpPricing.update_price`."""
        current = await self.get_price(erp_id)
        fixed = ("product_sku", "sales_organization", "distribution_channel", "valid_from")
        for name in fixed:
            wanted = getattr(price, name)
            if wanted is not None and wanted != getattr(current.record, name):
                raise BackendRejected(
                    f"{name} of price {erp_id} is part of its key and cannot change",
                    backend=BACKEND,
                    fields=[name],
                )
        return await self._change_price(current, price, etag=etag)

    async def _change_price(
        self, current: Versioned[Price], price: Price, *, etag: str | None
    ) -> Versioned[Price]:
        erp_id = str(current.record.erp_id)
        changes = {
            "ConditionRateValue": decimal_text(price.unit_price.amount),
            "ConditionRateValueUnit": price.unit_price.currency,
            "ConditionCurrency": price.unit_price.currency,
            "ConditionQuantity": decimal_text(price.per_quantity),
            "ConditionIsDeleted": not price.active,
        }
        await self._patch(CONDITIONS, erp_id, changes, etag=etag)
        return await self.get_price(erp_id)

    async def list_invoices(
        self,
        *,
        customer_erp_id: str | None,
        po_number: str | None,
        status: InvoiceStatus | None,
        changed_since: datetime | None,
        offset: int,
        limit: int,
    ) -> list[Invoice]:
        """See `ErpBilling.list_invoices`; cancellation documents are not invoices."""
        clauses = [f"BillingDocumentType eq {odata_literal(INVOICE_TYPE)}"]
        if customer_erp_id is not None:
            clauses.append(f"PayerParty eq {odata_literal(customer_erp_id)}")
        if po_number is not None:
            clauses.append(f"PurchaseOrderByCustomer eq {odata_literal(po_number)}")
        if status is not None:
            clauses.append(INVOICE_STATUS_FILTERS[status])
        if changed_since is not None:
            clauses.append(f"LastChangeDateTime gt {odata_literal(changed_since)}")
        found = await self._s4.query(
            *BILLING_DOCUMENTS,
            filter=all_of(clauses),
            expand=("to_Item",),
            orderby="BillingDocument",
            top=limit,
            skip=offset,
        )
        return [invoice_of(entity) for entity in found]

    async def get_invoice(self, erp_number: str) -> Versioned[Invoice]:
        """See `ErpBilling.get_invoice`."""
        entity = await self._s4.get(*BILLING_DOCUMENTS, erp_number, expand=("to_Item",))
        return Versioned(invoice_of(entity), entity.etag)

    async def cancel_invoice(self, erp_number: str) -> tuple[Invoice, bool]:
        """See `ErpBilling.cancel_invoice`."""

        async def attempt() -> tuple[Invoice, bool]:
            current = await self.get_invoice(erp_number)
            if current.record.status is InvoiceStatus.CANCELLED:
                return current.record, False
            await self._s4.call_collection(
                BILLING_DOCUMENTS[0], "Cancel", {"BillingDocument": erp_number}
            )
            return (await self.get_invoice(erp_number)).record, True

        async with self._creating.hold(f"invoice-cancellation:{erp_number}"):
            return await self._policy.repeat_keyed(attempt)

    async def list_receivables(
        self,
        *,
        customer_erp_id: str | None,
        invoice_erp_number: str | None,
        cleared: bool | None,
        offset: int,
        limit: int,
    ) -> list[ReceivableItem]:
        """See `ErpReceivables.list_receivables`."""
        clauses = ["FinancialAccountType eq 'D'"]
        if customer_erp_id is not None:
            clauses.append(f"Customer eq {odata_literal(customer_erp_id)}")
        if invoice_erp_number is not None:
            number = odata_literal(invoice_erp_number)
            clauses.append(f"(BillingDocument eq {number} or InvoiceReference eq {number})")
        if cleared is not None:
            clauses.append(f"IsCleared eq {odata_literal(cleared)}")
        found = await self._s4.query(
            *RECEIVABLES,
            filter=all_of(clauses),
            orderby="CompanyCode,FiscalYear,AccountingDocument,AccountingDocumentItem",
            top=limit,
            skip=offset,
        )
        mapping = load_mapping("s4_receivable_item_to_receivable_item")
        return [
            mapping.to_model(
                e.properties, ReceivableItem, record_id=str(e.properties["AccountingDocument"])
            )
            for e in found
        ]

    async def list_payments(
        self,
        *,
        customer_erp_id: str | None,
        reference: str | None,
        offset: int,
        limit: int,
    ) -> list[Payment]:
        """See `ErpReceivables.list_payments`."""
        clauses = [
            f"{name} eq {odata_literal(value)}"
            for name, value in (("Customer", customer_erp_id), ("PaymentReference", reference))
            if value is not None
        ]
        found = await self._s4.query(
            *PAYMENTS,
            filter=all_of(clauses),
            orderby="CompanyCode,FiscalYear,AccountingDocument",
            top=limit,
            skip=offset,
        )
        return await self._payments(found)

    async def get_payment(self, company_code: str, fiscal_year: str, document: str) -> Payment:
        """See `ErpReceivables.get_payment`."""
        key = {
            "CompanyCode": company_code,
            "FiscalYear": fiscal_year,
            "AccountingDocument": document,
        }
        return (await self._payments([await self._s4.get(*PAYMENTS, key)]))[0]

    async def post_payment(self, payment: Payment) -> tuple[Payment, bool]:
        """See `ErpReceivables.post_payment`.

        The ERP pays the one invoice named, or the customer's oldest open ones when none is.
        """
        reference = _required(payment.reference, "reference")
        customer = _required(payment.customer_erp_id, "customer_erp_id")
        if len(payment.invoice_erp_numbers) > 1:
            raise BackendRejected(
                "a payment names at most one invoice; without one it pays the oldest open ones",
                backend=BACKEND,
                fields=["invoice_erp_numbers"],
            )

        async def attempt() -> tuple[Payment, bool]:
            existing = await self._s4.query(
                *PAYMENTS,
                filter=all_of(
                    [
                        f"Customer eq {odata_literal(customer)}",
                        f"PaymentReference eq {odata_literal(reference)}",
                    ]
                ),
            )
            if existing:
                return (await self._payments(existing[:1]))[0], False
            payload: dict[str, Any] = {
                "Customer": customer,
                "AmountInTransactionCurrency": decimal_text(payment.amount.amount),
                "TransactionCurrency": payment.amount.currency,
                "PaymentReference": reference,
                "PostingDate": odata_date(payment.payment_date),
                "DocumentDate": odata_date(payment.payment_date),
            }
            if payment.invoice_erp_numbers:
                payload["BillingDocument"] = payment.invoice_erp_numbers[0]
            created = await self._s4.create(*PAYMENTS, payload)
            return (await self._payments([created]))[0], True

        async with self._creating.hold(f"payment:{customer}:{reference}"):
            return await self._policy.repeat_keyed(attempt)

    async def _payments(self, headers: Sequence[ODataEntity]) -> list[Payment]:
        """Payments of the IncomingPayment ``headers``, with the invoices each one paid."""
        if not headers:
            return []
        documents = " or ".join(
            f"AccountingDocument eq {odata_literal(str(h.properties['AccountingDocument']))}"
            for h in headers
        )
        lines = await self._s4.query(
            *RECEIVABLES,
            filter=f"AccountingDocumentType eq 'DZ' and ({documents})",
            select=("CompanyCode", "FiscalYear", "AccountingDocument", "InvoiceReference"),
            orderby="AccountingDocumentItem",
        )
        paid: dict[tuple[str, ...], list[str]] = {}
        for line in lines:
            props = line.properties
            key = tuple(str(props[name]) for name in _PAYMENT_KEY)
            if props.get("InvoiceReference"):
                paid.setdefault(key, []).append(str(props["InvoiceReference"]))
        mapping = load_mapping("s4_payment_item_to_payment")
        payments = []
        for header in headers:
            props = header.properties
            record = {name: value for name, value in props.items() if name != "InvoiceReference"}
            payment = mapping.to_model(record, Payment, record_id=str(props["AccountingDocument"]))
            invoices = paid.get(tuple(str(props[name]) for name in _PAYMENT_KEY), [])
            payments.append(payment.model_copy(update={"invoice_erp_numbers": invoices}))
        return payments

    async def list_credit_limits(
        self,
        *,
        customer_erp_id: str | None,
        blocked: bool | None,
        offset: int,
        limit: int,
    ) -> list[CreditLimit]:
        """See `ErpCredit.list_credit_limits`."""
        clauses = []
        if customer_erp_id is not None:
            clauses.append(f"BusinessPartner eq {odata_literal(customer_erp_id)}")
        if blocked is not None:
            clauses.append(f"CreditAccountIsBlocked eq {odata_literal(blocked)}")
        found = await self._s4.query(
            *CREDIT_ACCOUNTS,
            filter=all_of(clauses),
            orderby="BusinessPartner,CreditSegment",
            top=limit,
            skip=offset,
        )
        return [credit_limit_of(entity) for entity in found]

    async def get_credit_limit(self, customer_erp_id: str, segment: str) -> Versioned[CreditLimit]:
        """See `ErpCredit.get_credit_limit`."""
        entity = await self._s4.get(*CREDIT_ACCOUNTS, account_key(customer_erp_id, segment))
        return Versioned(credit_limit_of(entity), entity.etag)

    async def upsert_credit_limit(
        self, credit_limit: CreditLimit
    ) -> tuple[Versioned[CreditLimit], bool]:
        """See `ErpCredit.upsert_credit_limit`; a customer without credit data gets it first."""
        customer, segment = credit_limit.customer_erp_id, credit_limit.credit_segment
        payload = credit_payload(credit_limit)

        async def attempt() -> tuple[Versioned[CreditLimit], bool]:
            try:
                current = await self.get_credit_limit(customer, segment)
            except NotFound:
                try:
                    await self._s4.get(*CREDIT_PARTNERS, customer)
                except NotFound:
                    partner = {"BusinessPartner": customer, "to_CreditMgmtAccountTP": [payload]}
                    await self._s4.create(*CREDIT_PARTNERS, partner)
                else:
                    await self._s4.create(*CREDIT_ACCOUNTS, payload)
                return await self.get_credit_limit(customer, segment), True
            if current.record == credit_limit.model_copy(update={"risk_class": None}):
                return current, False
            return await self._change_credit_limit(credit_limit, etag=current.etag), False

        async with self._creating.hold(f"credit:{customer}/{segment}"):
            return await self._policy.repeat_keyed(attempt)

    async def update_credit_limit(
        self, credit_limit: CreditLimit, *, etag: str
    ) -> Versioned[CreditLimit]:
        """See `ErpCredit.update_credit_limit`."""
        return await self._change_credit_limit(credit_limit, etag=etag)

    async def _change_credit_limit(
        self, credit_limit: CreditLimit, *, etag: str | None
    ) -> Versioned[CreditLimit]:
        customer, segment = credit_limit.customer_erp_id, credit_limit.credit_segment
        key = account_key(customer, segment)
        await self._patch(CREDIT_ACCOUNTS, key, credit_payload(credit_limit), etag=etag)
        return await self.get_credit_limit(customer, segment)

    async def get_credit_exposure(self, customer_erp_id: str, segment: str) -> CreditExposure:
        """See `ErpCredit.get_credit_exposure`."""
        entity = await self._s4.get(*CREDIT_ACCOUNTS, account_key(customer_erp_id, segment))
        limit = credit_limit_of(entity)
        exposure = Decimal(str(entity.properties.get("CreditExposureAmount") or "0"))
        return CreditExposure(
            customer_erp_id=limit.customer_erp_id,
            credit_segment=limit.credit_segment,
            limit=limit.limit,
            exposure=Money(amount=exposure, currency=limit.limit.currency),
            blocked=limit.blocked,
        )

    async def _patch(
        self,
        target: tuple[str, str],
        key: str | Mapping[str, KeyValue],
        changes: Mapping[str, Any],
        *,
        etag: str | None,
    ) -> None:
        """PATCH guarded by ``etag``; a stale one is a PreconditionFailed naming If-Match."""
        try:
            await self._s4.update(*target, key, changes, etag=etag)
        except Conflict as exc:
            if exc.status_code != 412:
                raise
            raise PreconditionFailed(
                f"{target[1]} {key} changed since it was read",
                backend=BACKEND,
                status_code=412,
                fields=["If-Match"],
            ) from exc

    async def aclose(self) -> None:
        """See `ErpPort.aclose`."""
        await self._s4.aclose()

    async def _find_or_create(
        self,
        entity_set: tuple[str, str],
        where: str,
        *,
        expand: tuple[str, ...],
        payload: dict[str, Any],
    ) -> tuple[ODataEntity, bool]:
        """The entity ``where`` finds, else one created from ``payload``; and whether created.

        The create alone is never repeated (a lost answer may hide a record it made); the
        lookup-then-create is, as a whole, since the lookup then finds that record.
        """

        async def attempt() -> tuple[ODataEntity, bool]:
            existing = await self._s4.query(*entity_set, filter=where, expand=expand)
            if existing:
                return existing[0], False
            return await self._s4.create(*entity_set, payload), True

        return await self._policy.repeat_keyed(attempt)


class _GuardedS4:
    """The connector's calls under a resilience policy: reads are retried, writes made once.

    An update or a delete carries an If-Match, so a repeat after a lost answer would meet a
    412 for the change it made itself; a function import may be an action. Neither repeats.
    """

    def __init__(self, s4: S4HanaClient, policy: BackendPolicy) -> None:
        self.get = policy.guarded(s4.get, repeatable=True)
        self.query = policy.guarded(s4.query, repeatable=True)
        self.count = policy.guarded(s4.count, repeatable=True)
        self.create = policy.guarded(s4.create)
        self.update = policy.guarded(s4.update)
        self.delete = policy.guarded(s4.delete)
        self.call = policy.guarded(s4.call)
        self.call_collection = policy.guarded(s4.call_collection)
        # A $batch of reads is safe to repeat; one with change sets is a write, made once.
        self.read_batch = policy.guarded(s4.batch, repeatable=True)
        self.write_batch = policy.guarded(s4.batch)
        self.aclose = s4.aclose


def _created_party(replies: list[BatchReply]) -> tuple[Party, bool] | LedgerbridgeError:
    [reply] = replies
    if reply.error is not None:
        return reply.error
    try:
        return party_of(reply.entities[0]), True
    except MappingError as exc:
        return exc


def _path(entity_set: str, key: str | Mapping[str, str]) -> str:
    """An entity's path below its service, for a change in a $batch."""
    if isinstance(key, str):
        inner = odata_literal(key)
    else:
        inner = ",".join(f"{name}={odata_literal(value)}" for name, value in key.items())
    return f"{entity_set}({quote(inner, safe=_KEY_SAFE)})"


def _stale(customer_id: str) -> PreconditionFailed:
    return PreconditionFailed(
        f"customer {customer_id} changed since it was read",
        backend=BACKEND,
        status_code=412,
        fields=["If-Match"],
    )


def _required(value: str | None, field: str) -> str:
    if value is None:
        raise BackendRejected(f"{field} is required here", backend=BACKEND, fields=[field])
    return value
