"""partner: order submission with Idempotency-Key, status, and signed webhooks with retries.

The partner API is built on the house's layers below; the partner's own server is played by
an httpx MockTransport (the internet we do not own), which answers 503 once, then 200.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledgerbridge.apis.experience.deps import ExperienceDeps
from ledgerbridge.apis.experience.partner.callbacks import CallbackRefused, check_callback_url
from ledgerbridge.apis.experience.partner.views import create_app
from tests.browser.world import World, open_world

CALLBACK = "https://hooks.partner.example/ledger"


@dataclass
class PartnerScene:
    """The world, the partner API in front of it, and what the partner's server received."""

    world: World
    api: httpx.AsyncClient
    received: list[httpx.Request]


@pytest.fixture
async def scene(tmp_path: Path) -> AsyncIterator[PartnerScene]:
    """The partner API over the house, webhooks going to a recording partner server."""
    received: list[httpx.Request] = []

    def partner_server(request: httpx.Request) -> httpx.Response:
        received.append(request)
        # The first delivery meets an outage, so every event needs a retry.
        return httpx.Response(503 if len(received) == 1 else 200)

    async with open_world(tmp_path) as world:
        layers = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=world.house.app), base_url="http://house"
        )
        webhooks = httpx.AsyncClient(transport=httpx.MockTransport(partner_server))
        deps = ExperienceDeps(
            process=layers,
            system=layers,
            store=world.store,
            watch_interval=0.05,
            webhooks=webhooks,
            webhook_retry_wait=0.01,
        )
        api = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(deps)),
            base_url="http://partner",  # the app alone, not mounted at its base path
        )
        try:
            yield PartnerScene(world=world, api=api, received=received)
        finally:
            await deps.background.aclose()
            for client in (api, webhooks, layers):
                await client.aclose()


def _as(partner: str, **headers: str) -> dict[str, str]:
    return {"X-Partner-Id": partner, **headers}


async def _submitted(scene: PartnerScene, partner: str = "acme-trading") -> tuple[str, Any]:
    customer = await scene.world.customer()
    order_id = await scene.world.crm_order(customer)
    answer = await scene.api.post(
        "/orders",
        json={"crm_order_id": order_id, "partner_reference": "PO-2291"},
        headers=_as(partner, **{"Idempotency-Key": str(uuid.uuid4())}),
    )
    assert answer.status_code == 202, answer.text
    return order_id, answer


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.partner.example/ledger",
        "file:///etc/passwd",
        "https://localhost/hook",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[fd00::1]/hook",
        "https://0x7f.1/hook",
        "https://erp.internal/hook",
        "https://intranet/hook",
        "https://user:secret@hooks.partner.example/ledger",
        "https://hooks.partner.example:6379/ledger",
        "https://[::ffff:127.0.0.1]/hook",
        "https://127.1/hook",
        "ftp://hooks.partner.example/ledger",
    ],
)
def test_internal_or_unsafe_callback_urls_are_refused(url: str) -> None:
    """A callback URL that is not public HTTPS to a real domain is refused."""
    with pytest.raises(CallbackRefused):
        check_callback_url(url)


def test_a_public_https_url_is_accepted_and_domains_narrow_it() -> None:
    """A public HTTPS URL passes; with an allow-list of domains only hosts under them do."""
    assert check_callback_url(CALLBACK) == CALLBACK
    assert check_callback_url(CALLBACK, allowed_domains=("partner.example",)) == CALLBACK
    with pytest.raises(CallbackRefused):
        check_callback_url(CALLBACK, allowed_domains=("other.example",))


async def test_registering_an_internal_callback_is_a_422(scene: PartnerScene) -> None:
    """PUT /webhook with the cloud metadata address is a 422 problem naming callback_url."""
    answer = await scene.api.put(
        "/webhook",
        json={"callback_url": "https://169.254.169.254/latest/meta-data"},
        headers=_as("acme-trading"),
    )

    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "callback_url" in answer.text


async def test_submission_without_idempotency_key_is_refused(scene: PartnerScene) -> None:
    """POST /orders without an Idempotency-Key is a 400, and nothing is started."""
    answer = await scene.api.post(
        "/orders", json={"crm_order_id": "801000000000001AAA"}, headers=_as("acme-trading")
    )

    assert answer.status_code == 400
    assert "Idempotency-Key" in answer.text


async def test_the_same_key_replays_the_first_answer(scene: PartnerScene) -> None:
    """The same Idempotency-Key and body give the first answer again, marked replayed."""
    customer = await scene.world.customer()
    order_id = await scene.world.crm_order(customer)
    headers = _as("acme-trading", **{"Idempotency-Key": "order-7781"})

    first = await scene.api.post("/orders", json={"crm_order_id": order_id}, headers=headers)
    again = await scene.api.post("/orders", json={"crm_order_id": order_id}, headers=headers)

    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["erp_order_number"]


async def test_status_changes_arrive_as_signed_webhooks_retried_after_an_outage(
    scene: PartnerScene,
) -> None:
    """The status webhook is retried after a 503 with the same event id, and its signature
    verifies with the partner's signing secret."""
    registered = await scene.api.put(
        "/webhook", json={"callback_url": CALLBACK}, headers=_as("acme-trading")
    )
    secret = registered.json()["signing_secret"]
    order_id, submitted = await _submitted(scene)

    for _ in range(200):
        deliveries = (
            await scene.api.get(f"/orders/{order_id}/webhooks", headers=_as("acme-trading"))
        ).json()["items"]
        if deliveries and deliveries[0]["delivered"]:
            break
        await asyncio.sleep(0.02)

    assert [a["status_code"] for a in deliveries[0]["attempts"]] == [503, 200]
    first, second = scene.received[:2]
    assert str(first.url) == CALLBACK
    assert first.headers["Webhook-Id"] == second.headers["Webhook-Id"]
    body = second.content
    expected = hmac.new(
        secret.encode(), second.headers["Webhook-Timestamp"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert second.headers["Webhook-Signature"] == f"v1={expected}"
    event = json.loads(body)
    assert event["event"] == "order.status_changed"
    assert event["order"]["crm_order_id"] == order_id
    assert event["order"]["status"] == submitted.json()["status"]
    assert event["order"]["partner_reference"] == "PO-2291"


async def test_a_partner_cannot_see_another_partners_order(scene: PartnerScene) -> None:
    """Another partner asking for the order gets 404, and cannot submit it again (409)."""
    order_id, _ = await _submitted(scene, partner="acme-trading")

    seen = await scene.api.get(f"/orders/{order_id}", headers=_as("globex-supply"))
    taken = await scene.api.post(
        "/orders",
        json={"crm_order_id": order_id},
        headers=_as("globex-supply", **{"Idempotency-Key": "k-1"}),
    )
    own = await scene.api.get(f"/orders/{order_id}", headers=_as("acme-trading"))

    assert seen.status_code == 404
    assert taken.status_code == 409
    assert own.status_code == 200
    assert own.json()["crm_order_id"] == order_id
