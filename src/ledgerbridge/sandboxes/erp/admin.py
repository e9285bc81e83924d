"""Sandbox-only routes: the admin's levers and the business event subscriptions.

These do not exist on a real S/4HANA system; they stand in for what happens there in
the warehouse (goods issue), in batch jobs (billing run) and in SAP Event Mesh.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from ledgerbridge.sandboxes.erp.erp import Erp
from ledgerbridge.sandboxes.erp.errors import not_found
from ledgerbridge.sandboxes.erp.events import deliver_due
from ledgerbridge.sandboxes.erp.faults import FaultInjector, FaultPlan


class SubscriptionCreate(BaseModel):
    """A webhook registration."""

    url: str = Field(description="Where to POST each event as a CloudEvent")
    types: list[str] = Field(
        default_factory=list, description="Event type patterns (fnmatch); empty means all"
    )


def admin_router(erp: Erp, webhooks: httpx.AsyncClient, faults: FaultInjector) -> APIRouter:
    """Routes under /sandbox for operating the simulated backend."""
    router = APIRouter(prefix="/sandbox")

    @router.post("/admin/sales-orders/{sales_order}/deliver")
    async def deliver(sales_order: str) -> dict[str, str]:
        """Post goods issue for a whole sales order now."""
        delivery = erp.deliver(sales_order)
        return {"SalesOrder": sales_order, "OutboundDelivery": delivery}

    @router.post("/admin/billing-run")
    async def billing_run() -> dict[str, list[str]]:
        """Bill every delivered, unbilled sales order."""
        return {"BillingDocuments": erp.billing_run()}

    @router.put("/admin/faults")
    async def set_faults(plan: FaultPlan) -> dict[str, Any]:
        """Replace the fault plan (and restart its seeded random stream)."""
        faults.load(plan)
        return {"plan": faults.plan.model_dump(mode="json"), "injected": faults.injected}

    @router.get("/admin/faults")
    async def get_faults() -> dict[str, Any]:
        """The current fault plan and how many faults of each kind it injected."""
        return {"plan": faults.plan.model_dump(mode="json"), "injected": faults.injected}

    @router.delete("/admin/faults", status_code=204)
    async def clear_faults() -> Response:
        """Remove every fault rule."""
        faults.load(FaultPlan())
        return Response(status_code=204)

    @router.post("/admin/events/deliver")
    async def deliver_events() -> dict[str, int]:
        """Push every due webhook delivery now (the background loop does this too)."""
        erp.tick()
        return {"delivered": await deliver_due(erp.events, webhooks)}

    @router.get("/events")
    async def read_events(
        after: int = 0, limit: int = 100, type: str | None = None
    ) -> dict[str, Any]:
        """Business events after a sequence number, oldest first (a pull stream)."""
        erp.tick()
        events = erp.events.read(after=after, limit=min(limit, 1000), types=[type] if type else [])
        cursor = int(events[-1]["sequence"]) if events else after
        return {"events": events, "next": cursor}

    @router.post("/events/subscriptions", status_code=201)
    async def subscribe(body: SubscriptionCreate) -> dict[str, Any]:
        """Register a webhook; events from now on are delivered at least once."""
        return {
            "id": erp.events.subscribe(body.url, body.types),
            "url": body.url,
            "types": body.types,
        }

    @router.get("/events/subscriptions")
    async def subscriptions() -> dict[str, Any]:
        """Registered webhooks with their pending deliveries."""
        return {"subscriptions": erp.events.subscriptions()}

    @router.delete("/events/subscriptions/{subscription_id}", status_code=204)
    async def unsubscribe(subscription_id: str) -> Response:
        """Remove a webhook."""
        if not erp.events.unsubscribe(subscription_id):
            raise not_found(f"Subscription {subscription_id} not found")
        return Response(status_code=204)

    return router
