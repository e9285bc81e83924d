"""order-to-cash takes its credit decision from credit-verification, over HTTP, against the
sandboxes (the saga fixture: System and Process layers, workers off)."""

from __future__ import annotations

from typing import Any

from tests.integration.process.conftest import O2C, Saga

CV = "/process/credit-verification/v1"


async def _start(saga: Saga, order_id: str) -> dict[str, Any]:
    response = await saga.http.post(f"{O2C}/orders", json={"crm_order_id": order_id})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _decisions_of(saga: Saga, customer_erp_id: str) -> list[dict[str, Any]]:
    response = await saga.http.get(f"{CV}/customers/{customer_erp_id}/decisions")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_an_approved_order_goes_on_and_its_decision_is_on_record(saga: Saga) -> None:
    """A clean order is accepted; credit-verification recorded the approval for its order,
    with the ERP's own counting of the order taken out of the exposure."""
    ids = await saga.order(quantity=2)
    await saga.credit_limit(ids["account"], "10000.00")
    case = await _start(saga, ids["order"])
    assert case["state"] == "erp_order_created"

    (decision,) = await _decisions_of(saga, case["customer_erp_id"])
    assert (decision["verdict"], decision["order_id"]) == ("approve", ids["order"])
    assert decision["erp_order_number"] == case["erp_order_number"]
    assert decision["figures"]["exposure"]["amount"] == "0.00"
    credit_step = [t for t in case["timeline"] if t["state"] == "credit_checked"]
    assert credit_step[0]["detail"] == f"credit approved (decision {decision['decision_id']})"


async def test_an_order_the_erp_blocks_is_referred_with_the_decisions_figures(
    saga: Saga,
) -> None:
    """Over the limit: the ERP holds it, credit-verification rejects it, and the case is
    referred (a person decides) with the limit, exposure and the verdict."""
    ids = await saga.order(quantity=4)
    await saga.credit_limit(ids["account"], "100.00")
    case = await _start(saga, ids["order"])
    assert (case["state"], case["status"]) == ("referred", "credit_hold")

    (item,) = (await saga.http.get(f"{O2C}/reviews")).json()["items"]
    figures = item["figures"]
    assert (figures["verdict"], figures["erp_credit_hold"]) == ("reject", "true")
    assert (figures["credit_limit"], figures["available"]) == ("100.00 EUR", "100.00 EUR")
    assert figures["headroom_after"] == "-500.00 EUR"
    assert "500.00 EUR over the limit" in item["reason"]
    (decision,) = await _decisions_of(saga, case["customer_erp_id"])
    assert decision["decision_id"] == figures["decision_id"]


async def test_a_referral_the_erp_let_through_waits_for_a_person(saga: Saga) -> None:
    """Near the limit the ERP accepts the order but credit-verification refers it: the case
    stays referred through advancer rounds until a reviewer approves, then goes on."""
    ids = await saga.order(quantity=2)
    await saga.credit_limit(ids["account"], "320.00")
    case = await _start(saga, ids["order"])
    assert case["state"] == "referred"
    (item,) = (await saga.http.get(f"{O2C}/reviews")).json()["items"]
    assert (item["figures"]["verdict"], item["figures"]["erp_credit_hold"]) == ("refer", "false")
    assert item["reason"].startswith("credit verification answered refer")

    await saga.advancer().tick()
    assert (await saga.case(ids["order"]))["state"] == "referred"

    approved = await saga.http.post(
        f"{O2C}/reviews/{item['review_id']}/approval", json={"actor": "credit-desk"}
    )
    assert approved.json()["status"] == "approved"
    await saga.advancer().tick()
    assert (await saga.case(ids["order"]))["state"] == "erp_order_created"


async def test_rejecting_a_referral_the_erp_let_through_says_the_order_is_open(
    saga: Saga,
) -> None:
    """Rejecting such a referral ends the case and says the ERP order needs cancelling."""
    ids = await saga.order(quantity=2)
    await saga.credit_limit(ids["account"], "320.00")
    case = await _start(saga, ids["order"])
    (item,) = (await saga.http.get(f"{O2C}/reviews")).json()["items"]

    await saga.http.post(
        f"{O2C}/reviews/{item['review_id']}/rejection", json={"actor": "credit-desk"}
    )
    ended = await saga.case(ids["order"])
    assert ended["state"] == "rejected"
    step = ended["steps"][-1]
    assert (step["name"], step["outcome"]) == ("cancel-erp-order", "skipped")
    assert f"sales order {case['erp_order_number']} is open in the ERP" in step["detail"]


async def test_a_case_waits_out_a_credit_outage_and_decides_once(saga: Saga) -> None:
    """The ERP's credit service down: the case keeps its ERP order and fails for a retry;
    once it is back, the advancer takes the decision (one, on record) and the order goes on."""
    ids = await saga.order(quantity=2)
    await saga.credit_limit(ids["account"], "10000.00")
    outage = {"rules": [{"route": "*API_CRDTMBUSINESSPARTNER*", "error_rates": {"503": 1.0}}]}
    (await saga.erp_admin.put("/sandbox/admin/faults", json=outage)).raise_for_status()
    started = await saga.http.post(f"{O2C}/orders", json={"crm_order_id": ids["order"]})
    assert started.status_code >= 500
    waiting = await saga.case(ids["order"])
    assert (waiting["state"], waiting["status"]) == ("customer_synced", "failed")
    assert waiting["erp_order_number"] is not None

    (await saga.erp_admin.delete("/sandbox/admin/faults")).raise_for_status()
    await saga.advancer().tick()
    case = await saga.case(ids["order"])
    assert (case["state"], case["erp_order_number"]) == (
        "erp_order_created",
        waiting["erp_order_number"],
    )
    (decision,) = await _decisions_of(saga, case["customer_erp_id"])
    assert decision["verdict"] == "approve"
