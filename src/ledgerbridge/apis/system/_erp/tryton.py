"""The ERP port on Tryton: JSON-RPC through the connector, Tryton shapes through mappings.

`TrytonErp` serves customers, sales orders, products and prices here, and inherits the finance
capabilities (`tryton_finance`) and the shared connection (`tryton_session`).
`tryton_values` turns the mappings' output into create values (codes resolved to ids, and what
Tryton's own client fills in); `tryton_records` reads records back into canonical models.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import structlog

from ledgerbridge.apis.system._erp.port import Versioned, customer_change
from ledgerbridge.apis.system._erp.tryton_finance import TrytonFinance
from ledgerbridge.apis.system._erp.tryton_records import (
    ANY_ACTIVE,
    CREDIT_HOLD_MARK,
    OPEN_STATES,
    PARTY_FIELDS,
    PARTY_VERSION_FIELDS,
    PRODUCT_FIELDS,
    SALE_FIELDS,
    SALE_STATUS_DOMAINS,
    noted_hold,
    party_etag,
    party_from,
    plain,
    price_from,
    product_etag,
    product_from,
    sale_state_from,
)
from ledgerbridge.apis.system._erp.tryton_values import BACKEND
from ledgerbridge.canonical import (
    Order,
    OrderStatus,
    Party,
    Price,
    Product,
    SalesOrderState,
)
from ledgerbridge.connectors.tryton import TrytonRecord, TrytonUserError
from ledgerbridge.mapping import load_mapping
from ledgerbridge.runtime.errors import (
    BackendRejected,
    BackendUnavailable,
    LedgerbridgeError,
    NotFound,
    PreconditionFailed,
)

log = structlog.get_logger("ledgerbridge.erp.tryton")


class TrytonErp(TrytonFinance):
    """Tryton behind the ERP port.

    Usage::

        tryton = TrytonClient(base_url=url, database="erp", username=u, password=p)
        erp = TrytonErp(tryton, payment_term="Net 30")
        customer, created = await erp.ensure_customer(party)

    The CRM account id is the party's untyped identifier; the CRM order id is the sale's
    reference. Each write looks its record up by that key first, and writes run one at a time,
    so a repeat or a concurrent call within one process never creates twice. One writer at a
    time also keeps Tryton on SQLite from racing on its sequences (two new parties drawing the
    same code), and costs nothing: Tryton itself is no faster with parallel writers. ERP ids
    are Tryton's record ids (party and sale), as text. The client logs in on first use, so the
    house starts while Tryton is still coming up.

    Besides the port it offers every capability, in Tryton's terms (docs/tryton.md):
    `ErpProducts` (products by code), `ErpPricing` (each product's one list price),
    `ErpBilling` (issued customer invoices), `ErpReceivables` (receivable move lines, and
    payments through Tryton's pay wizard) and `ErpCredit` (the one credit limit Tryton keeps
    per customer and company, served as one segment).

    A sale refused by the credit limit stays a quotation in Tryton. The adapter notes Tryton's
    reason in the sale's comment (``CREDIT_HOLD_MARK`` + the reason) and reports the sale as
    ``credit_hold``, which the Process layer routes to review; the reviewer sees the reason
    on the sale in Tryton and in our log.
    """

    async def ensure_customer(self, party: Party) -> tuple[Party, bool]:
        """See `ErpPort.ensure_customer`."""
        values = load_mapping("party_to_tryton_party").apply(
            party.model_dump(mode="json"), record_id=party.crm_id
        )
        key = str(party.crm_id)
        tryton = await self._client()
        async with self._writing:
            existing = await tryton.find_party_by_identifier(key, PARTY_FIELDS)
            if existing is not None:
                return party_from(existing), False
            [party_id] = await tryton.create("party.party", [await self._values.party(values)])
        return await self.get_customer(str(party_id)), True

    async def get_customer(self, customer_id: str) -> Party:
        """See `ErpPort.get_customer`."""
        return party_from(await self._record("party.party", customer_id, PARTY_FIELDS))

    async def list_customers(
        self,
        *,
        crm_id: str | None,
        changed_since: datetime | None,
        offset: int,
        limit: int,
    ) -> list[Party]:
        """See `ErpCustomers.list_customers`: parties by id, the companies' own left out.

        A party counts as changed when it or one of its addresses was written or created.
        """
        tryton = await self._client()
        companies = await tryton.search_read("company.company", [], ["party"])
        domain: list[Any] = [["id", "not in", [company["party"] for company in companies]]]
        if crm_id is not None:
            domain.append(["identifiers.code", "=", crm_id])
        if changed_since is not None:
            domain.append(
                [
                    "OR",
                    ["write_date", ">", changed_since],
                    ["create_date", ">", changed_since],
                    ["addresses.write_date", ">", changed_since],
                    ["addresses.create_date", ">", changed_since],
                ]
            )
        records = await tryton.search_read(
            "party.party", domain, PARTY_FIELDS, offset=offset, limit=limit, order=[("id", "ASC")]
        )
        return [party_from(record) for record in records]

    async def read_customer(self, customer_id: str) -> Versioned[Party]:
        """See `ErpCustomerUpdates.read_customer`."""
        record = await self._record("party.party", customer_id, PARTY_VERSION_FIELDS)
        return Versioned(party_from(record), party_etag(record))

    async def update_customer(
        self, customer_id: str, party: Party, *, etag: str
    ) -> Versioned[Party]:
        """See `ErpCustomerUpdates.update_customer`: the name and the first address in one
        write of the party, so both or neither."""
        async with self._writing:
            current = await self._record("party.party", customer_id, PARTY_VERSION_FIELDS)
            if party_etag(current) != etag:
                raise PreconditionFailed(
                    f"customer {customer_id} changed since it was read",
                    backend=BACKEND,
                    status_code=412,
                    fields=["If-Match"],
                )
            wanted = customer_change(party_from(current), party, backend=BACKEND)
            mapped = load_mapping("party_to_tryton_party").apply(
                wanted.model_dump(mode="json"), record_id=wanted.crm_id
            )
            values: dict[str, Any] = {"name": mapped["name"]}
            [[_, addresses]] = (await self._values.party(mapped))["addresses"]
            held = plain(current).get("addresses") or []
            if held and addresses:
                values["addresses"] = [["write", [held[0]["id"]], addresses[0]]]
            elif addresses:
                values["addresses"] = [["create", addresses]]
            await self._tryton.write("party.party", [current.id], values)
        return await self.read_customer(customer_id)

    async def ensure_customers(
        self, parties: Sequence[Party]
    ) -> list[tuple[Party, bool] | LedgerbridgeError]:
        """See `ErpPort.ensure_customers`: Tryton has no batch call, so one party at a time.

        A party Tryton refuses is reported and the next one goes on; Tryton unavailable
        stops the batch (the parties before stay written; a repeat finds them).
        """
        outcomes: list[tuple[Party, bool] | LedgerbridgeError] = []
        for party in parties:
            try:
                outcomes.append(await self.ensure_customer(party))
            except BackendUnavailable:
                raise
            except LedgerbridgeError as exc:
                outcomes.append(exc)
        return outcomes

    async def create_sales_order(self, order: Order) -> tuple[SalesOrderState, bool]:
        """See `ErpPort.create_sales_order`.

        Creates the sale, quotes and confirms it (Tryton processes it on confirm). A sale found
        unconfirmed and not held, as a call that died half-way leaves it, is confirmed now.
        """
        values = load_mapping("order_to_tryton_sale").apply(
            order.model_dump(mode="json"), record_id=order.crm_id
        )
        tryton = await self._client()
        async with self._writing:
            existing = await tryton.find_sale_by_reference(order.crm_id, ("state", "comment"))
            if existing is None:
                [sale_id] = await tryton.create("sale.sale", [await self._values.sale(values)])
                state, comment = "draft", None
            else:
                sale_id, state, comment = existing.id, existing["state"], existing["comment"]
            if state in OPEN_STATES and not noted_hold(comment):
                await self._confirm(sale_id, state)
        return await self.get_sales_order(str(sale_id)), existing is None

    async def get_sales_order(self, erp_number: str) -> SalesOrderState:
        """See `ErpPort.get_sales_order`."""
        return sale_state_from(await self._record("sale.sale", erp_number, SALE_FIELDS))

    async def list_sales_orders(
        self,
        *,
        customer_erp_id: str | None,
        status: OrderStatus | None,
        changed_since: datetime | None,
        offset: int,
        limit: int,
    ) -> list[SalesOrderState]:
        """See `ErpSalesOrders.list_sales_orders`: sales by id."""
        domain: list[Any] = []
        if customer_erp_id is not None:
            if not customer_erp_id.isdigit():
                return []
            domain.append(["party", "=", int(customer_erp_id)])
        if status is not None:
            if status not in SALE_STATUS_DOMAINS:
                return []
            domain += SALE_STATUS_DOMAINS[status]
        if changed_since is not None:
            domain.append(
                ["OR", ["write_date", ">", changed_since], ["create_date", ">", changed_since]]
            )
        tryton = await self._client()
        records = await tryton.search_read(
            "sale.sale", domain, SALE_FIELDS, offset=offset, limit=limit, order=[("id", "ASC")]
        )
        return [sale_state_from(record) for record in records]

    async def list_products(
        self,
        *,
        active: bool | None,
        changed_since: datetime | None,
        offset: int,
        limit: int,
    ) -> list[Product]:
        """See `ErpProducts.list_products`: products with a code, by code."""
        domain: list[Any] = [
            ["code", "!=", None],
            ANY_ACTIVE if active is None else ["active", "=", active],
        ]
        if changed_since is not None:
            domain.append(
                [
                    "OR",
                    ["write_date", ">", changed_since],
                    ["create_date", ">", changed_since],
                    ["template.write_date", ">", changed_since],
                ]
            )
        tryton = await self._client()
        records = await tryton.search_read(
            "product.product",
            domain,
            PRODUCT_FIELDS,
            offset=offset,
            limit=limit,
            order=[("code", "ASC"), ("id", "ASC")],
        )
        return [product_from(record) for record in records]

    async def get_product(self, sku: str) -> Versioned[Product]:
        """See `ErpProducts.get_product`."""
        record = await self._product_record(sku)
        if record is None:
            raise NotFound(f"Tryton has no product {sku}", backend=BACKEND)
        return Versioned(product_from(record), product_etag(record))

    async def upsert_product(self, product: Product) -> tuple[Versioned[Product], bool]:
        """See `ErpProducts.upsert_product`.

        A new product is a salable service in the configured accounting category; setting
        that category needs Tryton's account product administration group.
        """
        values = load_mapping("product_to_tryton_product").apply(
            product.model_dump(mode="json"), record_id=product.sku
        )
        await self._client()
        async with self._writing:
            current = await self._product_record(product.sku)
            if current is None:
                await self._tryton.create("product.template", [await self._values.template(values)])
            else:
                await self._change_product(current, values)
        return await self.get_product(product.sku), current is None

    async def update_product(self, product: Product, *, etag: str) -> Versioned[Product]:
        """See `ErpProducts.update_product`."""
        values = load_mapping("product_to_tryton_product").apply(
            product.model_dump(mode="json"), record_id=product.sku
        )
        async with self._writing:
            current = await self._product_record(product.sku)
            if current is None:
                raise NotFound(f"Tryton has no product {product.sku}", backend=BACKEND)
            if product_etag(current) != etag:
                raise PreconditionFailed(
                    f"product {product.sku} changed since it was read",
                    backend=BACKEND,
                    status_code=412,
                    fields=["If-Match"],
                )
            await self._change_product(current, values)
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
        """See `ErpPricing.list_prices`: each product's list price, valid on any day.

        Tryton keys prices by nothing but the product, so a filter on a sales organisation
        or channel matches no price.
        """
        if sales_organization is not None or distribution_channel is not None:
            return []
        domain: list[Any] = [["code", "!=", None], ANY_ACTIVE]
        if sku is not None:
            domain.append(["code", "=", sku])
        tryton = await self._client()
        records = await tryton.search_read(
            "product.product",
            domain,
            PRODUCT_FIELDS,
            offset=offset,
            limit=limit,
            order=[("id", "ASC")],
        )
        currency = await self._company_currency()
        return [price_from(record, currency) for record in records]

    async def get_price(self, erp_id: str) -> Versioned[Price]:
        """See `ErpPricing.get_price`: the price's ERP id is its product's."""
        record = await self._record("product.product", erp_id, PRODUCT_FIELDS, [ANY_ACTIVE])
        return Versioned(price_from(record, await self._company_currency()), product_etag(record))

    async def upsert_price(self, price: Price) -> tuple[Versioned[Price], bool]:
        """See `ErpPricing.upsert_price`: sets the product's list price; created when the
        product had none."""
        await self._client()
        async with self._writing:
            current = await self._product_record(price.product_sku)
            if current is None:
                raise BackendRejected(
                    f"Tryton has no product {price.product_sku}",
                    backend=BACKEND,
                    fields=["product_sku"],
                )
            await self._set_list_price(current, price)
        return await self.get_price(str(current.id)), plain(current)["template"][
            "list_price"
        ] is None

    async def update_price(self, erp_id: str, price: Price, *, etag: str) -> Versioned[Price]:
        """See `ErpPricing.update_price`."""
        async with self._writing:
            current = await self._record("product.product", erp_id, PRODUCT_FIELDS, [ANY_ACTIVE])
            if product_etag(current) != etag:
                raise PreconditionFailed(
                    f"the price of product {current['code']} changed since it was read",
                    backend=BACKEND,
                    status_code=412,
                    fields=["If-Match"],
                )
            await self._set_list_price(current, price)
        return await self.get_price(erp_id)

    async def _set_list_price(self, product: TrytonRecord, price: Price) -> None:
        """Write the template's list price, refusing what a Tryton list price cannot hold."""
        currency = await self._company_currency()
        unit = price_from(product, currency).unit
        refused = [
            field
            for field, unheld in (
                ("sales_organization", price.sales_organization is not None),
                ("distribution_channel", price.distribution_channel is not None),
                ("valid_from", price.valid_from is not None),
                ("valid_to", price.valid_to is not None),
                ("per_quantity", price.per_quantity != 1),
                ("active", not price.active),
                ("unit_price.currency", price.unit_price.currency != currency),
                ("unit", price.unit is not None and price.unit != unit),
            )
            if unheld
        ]
        if refused:
            raise BackendRejected(
                "a Tryton list price is one active price per product and unit, in the company"
                " currency, for any day, organisation and channel",
                backend=BACKEND,
                fields=refused,
            )
        template = plain(product)["template"]["id"]
        await self._tryton.write(
            "product.template", [template], {"list_price": price.unit_price.amount}
        )

    async def _product_record(self, sku: str) -> TrytonRecord | None:
        tryton = await self._client()
        found = await tryton.search_read(
            "product.product", [["code", "=", sku], ANY_ACTIVE], PRODUCT_FIELDS, limit=1
        )
        return found[0] if found else None

    async def _change_product(self, current: TrytonRecord, values: dict[str, Any]) -> None:
        """Write what differs: name and activity on the template, activity on the product,
        and the unit (which Tryton refuses to change once the product has moved)."""
        now = plain(current)
        template: dict[str, Any] = {}
        if values["name"] != now["template"]["name"]:
            template["name"] = values["name"]
        if values["active"] != now["active"]:
            template["active"] = values["active"]
        if values["unit_symbol"] != now["default_uom"]["symbol"]:
            unit = await self._values.unit(values["unit_symbol"])
            template |= {"default_uom": unit, "sale_uom": unit}
        if template:
            await self._tryton.write("product.template", [now["template"]["id"]], template)
        if "active" in template:
            await self._tryton.write("product.product", [current.id], {"active": values["active"]})

    async def _confirm(self, sale_id: int, state: str) -> None:
        tryton = self._tryton
        if state == "draft":
            await tryton.button("sale.sale", "quote", [sale_id])
        try:
            await tryton.button("sale.sale", "confirm", [sale_id])
        except TrytonUserError as refusal:
            if not await self._over_credit_limit(sale_id):
                raise
            await tryton.write(
                "sale.sale", [sale_id], {"comment": CREDIT_HOLD_MARK + refusal.message}
            )
            log.warning("sale held by the credit limit", sale=sale_id, reason=refusal.message)

    async def _over_credit_limit(self, sale_id: int) -> bool:
        """Whether the sale fails sale_credit_limit's own rule: limit < exposure + amount.

        Tryton names no rule in its UserError, so the rule is checked on the figures (the
        refused confirm was rolled back, so the exposure does not count this sale yet).
        """
        [sale] = await self._tryton.read(
            "sale.sale",
            [sale_id],
            [
                "untaxed_amount",
                "currency",
                "company.currency",
                "party.credit_limit_amount",
                "party.credit_amount",
            ],
        )
        figures = plain(sale)
        limit: Decimal | None = figures["party"]["credit_limit_amount"]
        if limit is None:
            return False
        if figures["currency"] != figures["company"]["currency"]:
            # Tryton converts at its own rates; with a limit set, the refusal is the limit's.
            return True
        return bool(limit < figures["party"]["credit_amount"] + figures["untaxed_amount"])
