"""The operations console page in headless Chromium, signed in as an operator: cases, the
review queue, breakers and KPIs, the catalog."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.conftest import Site


async def test_console_shows_cases_with_timelines_and_the_catalog_graph(site: Site) -> None:
    """A started order appears with its timeline; the graph has a box per API in its layer
    and an arrow from customer-portal to order-to-cash."""
    world = site.world
    order_id = await world.crm_order(await world.customer())
    await world.start_order(order_id)

    await site.sign_in(site.user("operator"), landing="/console")

    row = site.page.locator(f"#cases tr[data-case='{order_id}']")
    await expect(row).to_be_visible()
    await expect(row.locator(".timeline li").first).to_contain_text("captured")
    graph = site.page.locator("#catalog-graph")
    await expect(graph.locator("g.experience[data-api='service-console']")).to_have_count(1)
    await expect(graph.locator("g.process[data-api='order-to-cash']")).to_have_count(1)
    await expect(graph.locator("g.system[data-api='crm-orders']")).to_have_count(1)
    await expect(graph.locator("path[data-call='customer-portal->order-to-cash']")).to_have_count(1)
    await site.shot("console")


async def test_console_shows_breakers_and_kpi_charts(site: Site) -> None:
    """Each backend's breaker is listed closed, and the KPI charts are drawn from the finance
    dashboard with today's captured order counted."""
    world = site.world
    order_id = await world.crm_order(await world.customer())
    await world.start_order(order_id)

    await site.sign_in(site.user("operator"), landing="/console")
    await site.page.goto(f"{site.url}/experience/web/v1/console#kpis")

    for backend in ("salesforce", "s4hana"):
        await expect(
            site.page.locator(f"#breakers tr[data-backend='{backend}'] .breaker")
        ).to_have_text("closed")
    await expect(site.page.locator("#kpis")).to_have_attribute("data-ready", "true")
    await expect(site.page.locator("#kpi-figures")).to_contain_text("1 cases")
    drawn = await site.page.locator("#kpis canvas").evaluate_all(
        "canvases => canvases.map(canvas => Chart.getChart(canvas) !== undefined)"
    )
    assert drawn == [True, True, True]
    await site.page.locator("#kpis").scroll_into_view_if_needed()
    await site.shot("console-breakers-and-kpis")


async def test_a_referred_order_is_approved_from_the_review_queue(site: Site) -> None:
    """An order over the customer's credit waits in the queue; Approve resolves it in place
    and the case moves on past referred."""
    world = site.world
    customer = await world.customer()
    await world.credit_limit(customer, "10.00")
    order_id = await world.crm_order(customer)
    case = await world.start_order(order_id)
    assert case["state"] == "referred"

    operator = site.user("operator")
    await site.sign_in(operator, landing="/console")
    await site.page.goto(f"{site.url}/experience/web/v1/console#reviews")
    row = site.page.locator(f"#reviews tr[data-order='{order_id}']")
    await expect(row).to_contain_text("credit")
    await site.shot("console-review-queue")
    await row.get_by_role("button", name="Approve").click()

    await expect(site.page.locator(f"#reviews tr[data-order='{order_id}'] .resolved")).to_have_text(
        "approved"
    )
    moved = (await world.api.get(f"/process/order-to-cash/v1/orders/{order_id}")).json()
    assert moved["state"] != "referred"
    await site.shot("console-review-approved")
