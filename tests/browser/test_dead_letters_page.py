"""The console's dead letters in headless Chromium: a consumer on RabbitMQ fails for good on
an account the CRM does not know; once the account exists, a replay from the console
delivers the event again and the consumer succeeds."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Locator, expect

from ledgerbridge.apis.system.crm_accounts.client import CrmAccountsClient
from ledgerbridge.runtime.dead_letters import DeadLetterChannel
from ledgerbridge.runtime.errors import NotFound
from ledgerbridge.runtime.messaging import (
    Delivery,
    DeliveryPolicy,
    Handler,
    Message,
    add_to_outbox,
    connect_bus,
)
from tests.browser.conftest import Site
from tests.integration.brokers.conftest import listening
from tests.integration.reliability.conftest import RABBITMQ_URL, delete_queues

GROUP = "crm-account-notes"
CONSOLE = "/experience/web/v1/console"


@pytest.fixture
def over_rabbitmq(monkeypatch: pytest.MonkeyPatch) -> None:
    """The house's workers relay the outbox to RabbitMQ, where the consumer under test is."""
    if not listening(RABBITMQ_URL):
        pytest.skip(f"needs RabbitMQ at {RABBITMQ_URL}; nothing is listening there")
    monkeypatch.setenv("LEDGERBRIDGE_BUS_URL", RABBITMQ_URL)


@pytest.fixture
async def site(over_rabbitmq: None, site: Site) -> Site:
    """The console's site, with the house on RabbitMQ."""
    return site


@contextlib.asynccontextmanager
async def _consumer(site: Site, topic: str, handler: Handler) -> AsyncIterator[None]:
    """``handler`` consuming ``topic`` on RabbitMQ, its dead letters kept in the house's store."""
    bus = await connect_bus(
        RABBITMQ_URL,
        dead_letters=DeadLetterChannel(site.world.store.engine),
        policy=DeliveryPolicy(max_deliver=2, backoff=0.01, backoff_cap=0.01),
    )
    try:
        await bus.subscribe(topic, handler, group=GROUP)
        yield
    finally:
        await bus.close()
        await delete_queues([f"ledgerbridge:{GROUP}:{topic}"])


async def _console_row(site: Site, message: Message, *, role: str) -> Locator:
    """The console's row of the dead letter of ``message``, once the consumer gave up on it,
    seen by a new user with ``role``."""
    await site.sign_in(site.user(role), landing="/console")
    await site.page.goto(f"{site.url}{CONSOLE}#dead-letters-section")
    row = site.page.locator(f"#dead-letters tr[data-message='{message.id}']")
    for _ in range(30):  # the relay and the consumer run on their own
        if await row.count():
            break
        await site.page.locator("#dead-letter-filters button").click()
        await asyncio.sleep(0.3)
    return row


async def test_a_dead_letter_is_replayed_from_the_console_once_its_cause_is_fixed(
    site: Site,
) -> None:
    """The failed event is listed open with its error; after the account is created in the
    CRM, Replay hands it back, the consumer writes its note on the account, and the dead
    letter's trail ends replayed."""
    world = site.world
    topic = f"account-noted-{uuid.uuid4().hex[:8]}"
    number = f"CUST-{uuid.uuid4().hex[:8].upper()}"
    accounts = CrmAccountsClient(world.api)
    noted: list[str] = []

    async def note_on_account(delivery: Delivery) -> None:
        wanted = delivery.message.data["account_number"]
        found = await accounts.list_accounts(account_number=wanted, limit=1)
        if not found.items or found.items[0].crm_id is None:
            raise NotFound(f"no CRM account {wanted}", backend="crm-accounts")
        crm_id = found.items[0].crm_id
        await world.crm.update("Account", crm_id, {"Description": delivery.message.data["note"]})
        noted.append(crm_id)

    async with _consumer(site, topic, note_on_account):
        message = Message(
            type="account.noted",
            source="/process/customer-onboarding",
            subject=number,
            correlation_id=f"corr-{uuid.uuid4().hex[:8]}",
            data={"account_number": number, "note": "KYC refreshed 2026-11"},
        )
        async with world.store.engine.begin() as conn:
            await add_to_outbox(conn, topic, message)

        row = await _console_row(site, message, role="operator")
        await expect(row.locator(".dead-letter-status")).to_have_text("open")
        # Discarding is for administrators: an operator's row has no Discard.
        await expect(row.get_by_role("button", name="Discard")).to_have_count(0)
        await expect(row).to_contain_text(f"NotFound: no CRM account {number}")
        await row.get_by_role("button", name="Inspect").click()
        detail = site.page.locator("#dead-letter-detail article")
        await expect(detail.locator("pre.payload")).to_contain_text(number)
        await expect(detail).to_contain_text(message.correlation_id or "")
        await site.shot("console-dead-letter-open")

        account_id = await world.crm.create(
            "Account", {"Name": "Harbour Lane Savings", "AccountNumber": number}
        )
        await row.get_by_role("button", name="Replay").click()

        await expect(row.locator(".dead-letter-status")).to_have_text("replayed")
        for _ in range(100):
            if noted:
                break
            await asyncio.sleep(0.1)
        assert noted == [account_id]
        account = await world.crm.get("Account", account_id, ["Description"])
        assert account.fields["Description"] == "KYC refreshed 2026-11"
        await row.get_by_role("button", name="Inspect").click()
        trail = detail.locator(".trail li")
        await expect(trail.last).to_have_attribute("data-action", "replayed")
        await expect(detail.locator(".trail li[data-action='reopened']")).to_have_count(0)
        await site.shot("console-dead-letter-replayed")


async def test_a_dead_letter_is_discarded_from_the_console_only_with_a_reason(
    site: Site,
) -> None:
    """Discard without a reason is refused in the row; with one the row shows it discarded and
    the trail keeps the reason."""
    topic = f"account-noted-{uuid.uuid4().hex[:8]}"

    async def refuse(delivery: Delivery) -> None:
        raise NotFound("no such account", backend="crm-accounts")

    async with _consumer(site, topic, refuse):
        message = Message(type="account.noted", source="/tests", data={"account_number": "X"})
        async with site.world.store.engine.begin() as conn:
            await add_to_outbox(conn, topic, message)
        row = await _console_row(site, message, role="administrator")

        await row.get_by_role("button", name="Discard").click()
        await expect(row.locator(".error")).to_have_text("a reason is needed")
        await expect(row.locator(".dead-letter-status")).to_have_text("open")
        await row.get_by_label("Reason to discard").fill("test account, never real")
        await row.get_by_role("button", name="Discard").click()

        await expect(row.locator(".dead-letter-status")).to_have_text("discarded")
        await row.get_by_role("button", name="Inspect").click()
        last = site.page.locator("#dead-letter-detail .trail li").last
        await expect(last).to_have_attribute("data-action", "discarded")
        await expect(last).to_contain_text("test account, never real")
        await site.shot("console-dead-letter-discarded")
