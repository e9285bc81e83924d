"""Create values for Tryton: the mappings' output, with codes resolved to Tryton ids.

The mappings speak in codes (currency, product, unit, country); Tryton wants ids, and a raw
``create`` fills in nothing but defaults, so this also adds what Tryton's own client would:
the addresses and the payment term.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ledgerbridge.connectors.tryton import TrytonClient
from ledgerbridge.runtime.errors import BackendRejected

BACKEND = "tryton"


class TrytonValues:
    """Resolves codes to ids for one Tryton, caching master data that does not move under us.

    Usage::

        values = TrytonValues(tryton, payment_term="Net 30")
        [sale_id] = await tryton.create("sale.sale", [await values.sale(mapped)])
    """

    def __init__(
        self,
        tryton: TrytonClient,
        *,
        payment_term: str | None = None,
        product_category: str | None = None,
    ) -> None:
        """Args:
        tryton: the connector, logged in before the first call.
        payment_term: the name of the payment term for customers that have none, when
            Tryton's account configuration names no default either.
        product_category: the name of the accounting category new products get (their
            revenue account); without one, creating a product is refused.
        """
        self._tryton = tryton
        self._payment_term_name = payment_term
        self._product_category_name = product_category
        # Currencies, units, countries, payment methods by code.
        self._ids: dict[tuple[str, str], int | None] = {}
        self._payment_term: int | None = None

    async def party(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """party.party create values from `party_to_tryton_party`'s output.

        Raises:
            BackendRejected: Tryton lacks the address's country (the ready database has every
                ISO 3166 country; an address is never written without the one it names).
        """
        addresses = []
        for address in values.get("addresses", ()):
            resolved = {k: v for k, v in address.items() if k != "country_code"}
            if "country_code" in address:
                country = await self.code_id("country.country", "code", address["country_code"])
                if country is None:
                    raise BackendRejected(
                        f"Tryton has no country {address['country_code']}",
                        backend=BACKEND,
                        fields=["billing_address.country"],
                    )
                resolved["country"] = country
            addresses.append(resolved)
        return {
            **values,
            "identifiers": [["create", list(values["identifiers"])]],
            "addresses": [["create", addresses]],
        }

    async def sale(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """sale.sale create values from `order_to_tryton_sale`'s output.

        Raises:
            BackendRejected: Tryton lacks the customer's address, the currency, a product, a
                unit or a payment term; the error names the field.
        """
        tryton = self._tryton
        [party] = await tryton.read(
            "party.party", [values["party"]], ["addresses", "customer_payment_term"]
        )
        if not party["addresses"]:
            raise BackendRejected(
                f"Tryton party {values['party']} has no address to invoice",
                backend=BACKEND,
                fields=["customer_erp_id"],
            )
        address = party["addresses"][0]
        currency = await self.code_id("currency.currency", "code", values["currency_code"])
        if currency is None:
            raise BackendRejected(
                f"Tryton has no currency {values['currency_code']}",
                backend=BACKEND,
                fields=["currency"],
            )
        lines = await self._lines(values["lines"])
        sale = {k: v for k, v in values.items() if k not in ("currency_code", "lines")}
        return {
            **sale,
            "currency": currency,
            "invoice_address": address,
            "shipment_address": address,
            "payment_term": party["customer_payment_term"] or await self._default_payment_term(),
            "lines": [["create", lines]],
        }

    async def _lines(self, lines: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        codes = sorted({line["product_code"] for line in lines})
        products = {
            record["code"]: record.id
            for record in await self._tryton.search_read(
                "product.product", [["code", "in", codes]], ["code"]
            )
        }
        missing = [code for code in codes if code not in products]
        if missing:
            raise BackendRejected(
                f"Tryton has no product with code {', '.join(missing)}",
                backend=BACKEND,
                fields=["lines.product_sku"],
            )
        resolved = []
        for line in lines:
            unit = await self.unit(line["unit_symbol"], field="lines.unit")
            values = {k: v for k, v in line.items() if k not in ("product_code", "unit_symbol")}
            resolved.append({**values, "product": products[line["product_code"]], "unit": unit})
        return resolved

    async def template(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """product.template create values (with its one product) from
        `product_to_tryton_product`'s output.

        Raises:
            BackendRejected: no accounting category is configured, or Tryton lacks it or the
                unit. A product without its category would break invoicing, and only in
                Tryton's log.
        """
        category = (
            await self.code_id("product.category", "name", self._product_category_name)
            if self._product_category_name is not None
            else None
        )
        if category is None:
            raise BackendRejected(
                "no accounting category Tryton has is configured for new products",
                backend=BACKEND,
            )
        unit = await self.unit(values["unit_symbol"])
        template = {k: v for k, v in values.items() if k != "unit_symbol"}
        return {
            **template,
            "default_uom": unit,
            "sale_uom": unit,
            "account_category": category,
            "products": [["create", [{}]]],
        }

    async def unit(self, symbol: str, *, field: str = "unit") -> int:
        """The id of the unit with this symbol; BackendRejected naming ``field`` if none."""
        unit = await self.code_id("product.uom", "symbol", symbol)
        if unit is None:
            raise BackendRejected(f"Tryton has no unit {symbol}", backend=BACKEND, fields=[field])
        return unit

    async def _default_payment_term(self) -> int:
        """The account configuration's default customer term, else the one named in settings."""
        if self._payment_term is None:
            configured = await self._tryton.search_read(
                "account.configuration", [], ["default_customer_payment_term"], limit=1
            )
            term = configured[0]["default_customer_payment_term"] if configured else None
            if term is None and self._payment_term_name is not None:
                term = await self.code_id(
                    "account.invoice.payment_term", "name", self._payment_term_name
                )
            if term is None:
                raise BackendRejected(
                    "neither the customer, Tryton's configuration nor our settings name a"
                    " payment term Tryton has",
                    backend=BACKEND,
                    fields=["customer_erp_id"],
                )
            self._payment_term = int(term)
        return self._payment_term

    async def code_id(self, model: str, field: str, code: str) -> int | None:
        """The id of the ``model`` record whose ``field`` is ``code``, or None."""
        key = (model, code)
        if self._ids.get(key) is None:
            found = await self._tryton.search(model, [[field, "=", code]], limit=1)
            self._ids[key] = found[0] if found else None
        return self._ids[key]
