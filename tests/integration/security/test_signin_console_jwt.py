"""With tokens on (``auth_mode`` "jwt"), over the sandboxes: the pages carry the signed-in
user down the layers. An operator's approval reaches the operator-only route of
order-to-cash with the user's own ``ops:operate``, and a customer's portal reads through
token exchange, bound to the customer's account."""

from __future__ import annotations

import re
from pathlib import Path

from tests.browser.world import open_world

from ledgerbridge.runtime.security import UserRecord, token_service_of

from .test_signin_pages import PASSWORD, WEB, Pages, _hashed

PREFIX = "urn:ledgerbridge:"


async def test_operator_and_customer_act_as_themselves_below_the_pages(tmp_path: Path) -> None:
    """The operator approves a referred order from the console (the case moves on, the
    review names the operator); the customer's portal lists the customer's order."""
    async with open_world(tmp_path, page_origin="http://house", auth_mode="jwt") as world:
        service = token_service_of(world.house.app)
        assert service is not None
        # The test sets the scene through the APIs with a staff token of its own.
        scene = service.issuer.issue(
            subject="scene-setter",
            client_id="tests",
            audience={f"{PREFIX}order-to-cash", f"{PREFIX}erp-credit"},
            scopes={"order-to-cash:read", "order-to-cash:write", "erp-credit:write"},
        )
        world.api.headers["Authorization"] = f"Bearer {scene.token}"
        customer = await world.customer()
        await world.credit_limit(customer, "10.00")
        order_id = await world.crm_order(customer)
        assert (await world.start_order(order_id))["state"] == "referred"
        service.users.register(UserRecord("ops-ada", _hashed(PASSWORD), frozenset({"operator"})))
        service.users.register(
            UserRecord("meridian", _hashed(PASSWORD), frozenset({"customer"}), customer.crm_id)
        )

        operator = Pages(world.house.app, "http://house")
        try:
            await operator.sign_in("ops-ada")
            console = await operator.http.get(f"{WEB}/console")
            assert console.status_code == 200
            found = re.search(r"/console/reviews/([0-9a-f-]{36})/approve", console.text)
            assert found is not None, "the referred order is not in the review queue"
            approved = await operator.http.post(
                f"{WEB}/console/reviews/{found.group(1)}/approve", headers={"HX-Request": "true"}
            )
            assert approved.status_code == 200, approved.text
            assert 'class="resolved">approved' in approved.text
            # The KPI charts' figures come through the session, token-exchanged below.
            kpis = await operator.http.get(f"{WEB}/console/kpis", params={"days": 14})
            assert kpis.status_code == 200, kpis.text
            board = kpis.json()
            assert {s["state"] for s in board["sources"].values()} == {"ok"}, board["sources"]
            assert board["kpis"]["cases"] >= 1, board
            assert len(board["series"]) == 14
        finally:
            await operator.http.aclose()
        case = (await world.api.get(f"/process/order-to-cash/v1/orders/{order_id}")).json()
        assert case["state"] != "referred"
        reviews = await world.api.get(
            "/process/order-to-cash/v1/reviews", params={"status": "approved"}
        )
        (decided,) = [r for r in reviews.json()["items"] if r["crm_order_id"] == order_id]
        assert decided["resolved_by"] == "ops-ada"

        shopper = Pages(world.house.app, "http://house")
        try:
            await shopper.sign_in("meridian")
            orders = await shopper.http.get(f"{WEB}/portal/orders")
            assert orders.status_code == 200, orders.text
            assert f'data-order="{order_id}"' in orders.text
            refused = await shopper.http.get(f"{WEB}/console/kpis")
            assert refused.status_code == 403, refused.text
        finally:
            await shopper.http.aclose()
