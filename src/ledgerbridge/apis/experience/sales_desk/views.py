"""Routes of the sales-desk Experience API: a quote checked against the ERP in one call.

Products and prices (one pair of calls per distinct SKU) start at once, together with the CRM
account that gives the ERP customer id; the credit exposure follows as soon as that id is
known. The verdict mirrors the ERP's own credit check, which the order-to-cash saga takes:
an order passes when the credit account is not blocked and the order fits in what is left
of the limit; a customer with no credit account in the segment is not checked at all.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

from fastapi import APIRouter, FastAPI

from ledgerbridge.apis.experience.deps import ExperienceDeps
from ledgerbridge.apis.experience.fanout import (
    Outcome,
    SourceState,
    SourceStatus,
    attempt,
    status_of,
)
from ledgerbridge.apis.experience.sales_desk.client import (
    Availability,
    CreditHeadroom,
    Decision,
    QuoteCheck,
    QuoteLine,
    QuoteRequest,
    Verdict,
)
from ledgerbridge.apis.system.crm_accounts.client import CrmAccountsClient
from ledgerbridge.apis.system.erp_credit.client import ErpCreditClient
from ledgerbridge.apis.system.erp_pricing.client import ErpPricingClient
from ledgerbridge.apis.system.erp_products.client import ErpProductsClient
from ledgerbridge.canonical import CreditExposure, Money, Price, Product
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, build_api

API = ApiMetadata(
    name="sales-desk",
    layer=Layer.EXPERIENCE,
    version=1,
    owner="sales-operations",
    summary="Price, availability, credit headroom and the approval verdict of a quote.",
    scopes=("sales-desk:read",),
    calls=("crm-accounts", "erp-products", "erp-pricing", "erp-credit"),
)

# The segment the ERP's credit check of sales orders uses.
CREDIT_SEGMENT = "1000"


def _availability(outcome: Outcome[Product]) -> Availability:
    if outcome.value is not None:
        return Availability.AVAILABLE if outcome.value.active else Availability.INACTIVE
    return Availability.UNKNOWN_PRODUCT if outcome.not_found else Availability.UNKNOWN


def _net(price: Price, quantity: Decimal) -> Money:
    amount = price.unit_price.amount * quantity / price.per_quantity
    return Money(amount=amount, currency=price.unit_price.currency).rounded()


def _decide(
    lines: list[QuoteLine],
    total: Money | None,
    credit: Outcome[CreditExposure] | None,
) -> Decision:
    """The verdict, worst first: not orderable, then unknown, then referred."""
    blocked_lines = [
        f"{line.sku} is {line.availability.value.replace('_', ' ')}"
        for line in lines
        if line.availability in (Availability.INACTIVE, Availability.UNKNOWN_PRODUCT)
    ]
    if blocked_lines:
        return Decision(verdict=Verdict.NOT_ORDERABLE, reasons=blocked_lines)
    unknown = [
        f"{line.sku}: availability unknown"
        for line in lines
        if line.availability is Availability.UNKNOWN
    ]
    unknown += [f"{line.sku}: no price valid today" for line in lines if line.net is None]
    if total is None and not unknown:
        unknown.append("the lines are priced in more than one currency")
    if credit is None:
        unknown.append("the customer is not in the ERP yet, so its credit is unknown")
    elif credit.failure is not None and not credit.not_found:
        unknown.append(f"credit unavailable: {credit.failure.message}")
    if unknown or total is None or credit is None:
        return Decision(verdict=Verdict.UNKNOWN, reasons=unknown)
    if credit.value is None:
        return Decision(
            verdict=Verdict.AUTO_APPROVE,
            reasons=["no credit account in the segment: the ERP does not check this customer"],
        )
    exposure = credit.value
    if exposure.blocked:
        return Decision(verdict=Verdict.REFER, reasons=["the credit account is blocked"])
    if total.currency != exposure.limit.currency:
        return Decision(
            verdict=Verdict.UNKNOWN,
            reasons=[
                f"the quote is in {total.currency}, the credit limit in {exposure.limit.currency}"
            ],
        )
    if not exposure.allows(total):
        return Decision(
            verdict=Verdict.REFER,
            reasons=[f"the order ({total}) exceeds the credit available ({exposure.available})"],
        )
    return Decision(
        verdict=Verdict.AUTO_APPROVE,
        reasons=[f"the order ({total}) fits in the credit available ({exposure.available})"],
    )


def create_app(deps: ExperienceDeps) -> FastAPI:
    """Build sales-desk v1 on the Experience layer's dependencies."""
    accounts = CrmAccountsClient(deps.system)
    products = ErpProductsClient(deps.system)
    pricing = ErpPricingClient(deps.system)
    credit = ErpCreditClient(deps.system)
    budget = deps.source_budget
    router = APIRouter()

    async def price_today(sku: str) -> Price | None:
        page = await pricing.list_prices(sku=sku, valid_on=datetime.now(UTC).date(), limit=1)
        return page.items[0] if page.items else None

    @router.post("/quote-checks")
    async def check_quote(request: QuoteRequest) -> QuoteCheck:
        """Price each line, say whether each product can be ordered, show the credit headroom
        and whether the order would pass the credit check on its own; nothing is stored."""
        skus = sorted({line.sku for line in request.lines})
        catalog = {
            sku: (
                asyncio.create_task(
                    attempt(products.get_product(sku), source="erp-products", budget=budget)
                ),
                asyncio.create_task(attempt(price_today(sku), source="erp-pricing", budget=budget)),
            )
            for sku in skus
        }
        profile = await attempt(
            accounts.get_account(request.customer_crm_id), source="crm-accounts", budget=budget
        )
        if profile.not_found:
            for tasks in catalog.values():
                for task in tasks:
                    task.cancel()
            assert profile.failure is not None
            raise profile.failure
        erp_id = profile.value.erp_id if profile.value is not None else None
        exposure: Outcome[CreditExposure] | None = None
        if erp_id is not None:
            exposure = await attempt(
                credit.get_credit_exposure(erp_id, CREDIT_SEGMENT),
                source="erp-credit",
                budget=budget,
            )
        sources: dict[str, SourceStatus] = {"profile": status_of(profile)}
        lines: list[QuoteLine] = []
        for line in request.lines:
            product_task, price_task = catalog[line.sku]
            product, price = await product_task, await price_task
            sources[f"product:{line.sku}"] = status_of(product)
            sources[f"price:{line.sku}"] = status_of(price)
            found = price.value
            lines.append(
                QuoteLine(
                    sku=line.sku,
                    quantity=line.quantity,
                    name=product.value.name if product.value is not None else None,
                    availability=_availability(product),
                    unit_price=found.unit_price if found is not None else None,
                    per_quantity=found.per_quantity if found is not None else None,
                    net=_net(found, line.quantity) if found is not None else None,
                )
            )
        total = _total(lines)
        if exposure is None:
            sources["credit"] = SourceStatus(
                state=SourceState.SKIPPED,
                detail="needs the customer's ERP id from the CRM profile",
            )
        elif exposure.not_found:
            sources["credit"] = SourceStatus(
                state=SourceState.OK, detail="no credit account", elapsed_ms=exposure.elapsed_ms
            )
        else:
            sources["credit"] = status_of(exposure)
        return QuoteCheck(
            customer_crm_id=request.customer_crm_id,
            customer_erp_id=erp_id,
            lines=lines,
            total=total,
            credit=_headroom(exposure, total),
            decision=_decide(lines, total, exposure),
            sources=sources,
        )

    return build_api(API, routers=[router])


def _total(lines: list[QuoteLine]) -> Money | None:
    """The lines' sum; None when a line is unpriced or currencies differ."""
    nets = [line.net for line in lines]
    if not nets or any(net is None for net in nets):
        return None
    currencies = {net.currency for net in nets if net is not None}
    if len(currencies) != 1:
        return None
    return Money.total((net for net in nets if net is not None), currencies.pop())


def _headroom(
    exposure: Outcome[CreditExposure] | None, total: Money | None
) -> CreditHeadroom | None:
    if exposure is None or exposure.value is None:
        return None
    found = exposure.value
    after = (
        found.available - total
        if total is not None and total.currency == found.limit.currency
        else None
    )
    return CreditHeadroom(
        segment=found.credit_segment,
        limit=found.limit,
        exposure=found.exposure,
        available=found.available,
        available_after=after,
        blocked=found.blocked,
    )
