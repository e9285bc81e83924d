"""The customer portal page in headless Chromium: sign-in through the token service's form,
orders, live status, and one customer never seeing another's."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.conftest import PASSWORD, WEB, Site
from tests.browser.world import Customer

STEPS_TO_CLOSED = ["erp_order_created", "fulfilled", "invoiced", "invoice_sent", "paid", "closed"]


async def _sign_in(site: Site, customer: Customer) -> None:
    """From the portal's front door, through the token service's form, to the orders."""
    username = site.user("customer", customer)
    await site.page.goto(f"{site.url}{WEB}/portal")
    await site.page.get_by_role("link", name="Sign in").click()
    await site.page.get_by_label("Username").fill(username)
    await site.page.get_by_label("Password").fill(PASSWORD)
    await site.page.get_by_role("button", name="Sign in").click()
    await site.page.wait_for_url("**/portal/orders")


async def test_order_status_goes_live_to_closed_without_a_reload(site: Site) -> None:
    """The order page shows each step up to closed, in order, as the ERP delivers, bills and
    is paid, pushed by server-sent events, while the page is never reloaded."""
    world = site.world
    customer = await world.customer()
    order_id = await world.crm_order(customer)
    case = await world.start_order(order_id)
    await _sign_in(site, customer)
    await expect(site.page.locator(f"#orders tr[data-order='{order_id}']")).to_be_visible()
    await site.shot("portal-orders")

    await site.page.locator(f"#orders tr[data-order='{order_id}'] a").click()
    await expect(site.page.locator("#live")).to_have_text("live")
    await site.page.evaluate("window.sameDocument = true")
    await world.deliver_bill_and_pay(case)

    await expect(site.page.locator("#status")).to_have_attribute(
        "data-status", "closed", timeout=30_000
    )
    history = await site.page.locator("#history li").evaluate_all(
        "items => items.map(item => item.dataset.state)"
    )
    assert history[0] == "captured"
    assert [state for state in history if state in STEPS_TO_CLOSED] == STEPS_TO_CLOSED
    assert await site.page.evaluate("window.sameDocument") is True
    await expect(site.page.locator("#live")).to_have_text("finished")
    await site.shot("portal-order-closed")


async def test_customer_a_never_sees_customer_bs_orders(site: Site) -> None:
    """Customer A, signed in, sees A's order and not B's: B's order is not in A's list, and
    its page and event stream are not found when A types their URLs."""
    world = site.world
    a, b = await world.customer("Meridian Capital"), await world.customer("Other Bank")
    a_order, b_order = await world.crm_order(a), await world.crm_order(b)
    await world.start_order(a_order)
    await world.start_order(b_order)

    await _sign_in(site, a)
    await expect(site.page.locator(f"#orders tr[data-order='{a_order}']")).to_be_visible()
    assert await site.page.locator(f"tr[data-order='{b_order}']").count() == 0
    page_answer = await site.page.goto(f"{site.url}{WEB}/portal/orders/{b_order}")
    events = await site.page.request.get(f"{site.url}{WEB}/portal/orders/{b_order}/events")

    assert page_answer is not None
    assert page_answer.status == 404
    assert events.status == 404
    await site.shot("portal-other-customers-order")


async def test_a_wrong_password_or_a_forged_session_signs_nobody_in(site: Site) -> None:
    """A wrong password stays on the sign-in form with a message; a made-up session cookie
    leads to the sign-in form too; a customer is refused the console (403)."""
    customer = await site.world.customer()
    username = site.user("customer", customer)
    await site.sign_in(username, landing="/portal/orders", password="not the password")
    await expect(site.page.get_by_role("alert")).to_contain_text("username or password is wrong")
    await site.shot("portal-sign-in-refused")

    forged = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."
    await site.page.context.add_cookies([{"name": "lb_session", "value": forged, "url": site.url}])
    await site.page.goto(f"{site.url}{WEB}/portal/orders")
    await expect(site.page.get_by_label("Password")).to_be_visible()

    await site.sign_in(username, landing="/portal/orders")
    refused = await site.page.goto(f"{site.url}{WEB}/console")
    assert refused is not None
    assert refused.status == 403
