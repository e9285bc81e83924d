"""The dead-letters API over real dead letters: list, show, replay, bulk replay, discard, stats."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from tests.integration.reliability.conftest import BASE, GROUP, TOPIC, Payments

from ledgerbridge.bootstrap import open_house
from ledgerbridge.runtime.app_factory import Layer
from ledgerbridge.runtime.dead_letters import DeadLetterChannel
from ledgerbridge.runtime.messaging import Attempt, FailedDelivery, Message
from ledgerbridge.runtime.security import KeyRing, TokenIssuer, new_signing_key
from ledgerbridge.runtime.settings import (
    AuthSettings,
    ObservabilitySettings,
    ProcessSettings,
    Settings,
)


async def _open_ids(api: httpx.AsyncClient) -> list[str]:
    listed = await api.get("/dead-letters", params={"status": "open"})
    assert listed.status_code == 200, listed.text
    return [item["id"] for item in listed.json()["items"]]


def _fields(answer: httpx.Response) -> list[str]:
    assert answer.headers["content-type"].startswith("application/problem+json")
    return [error["field"] for error in answer.json()["errors"]]


async def test_a_dead_letter_is_shown_with_payload_attempts_correlation_and_case(
    payments: Payments, api: httpx.AsyncClient
) -> None:
    """The payment its consumer could not apply is listed, and shown whole."""
    message = await payments.pay("90000001", case_id="case-0001")

    [listed] = (await api.get("/dead-letters")).json()["items"]
    shown = (await api.get(f"/dead-letters/{listed['id']}")).json()

    assert shown["status"] == "open"
    assert shown["kind"] == "message"
    assert (shown["source"], shown["consumer"]) == (TOPIC, GROUP)
    assert shown["message_id"] == message.id
    assert shown["case_id"] == "case-0001"
    assert shown["correlation_id"] == message.correlation_id
    assert shown["payload"]["data"]["invoice"] == "90000001"
    assert shown["reason"] == "permanent error"
    assert shown["error_type"] == "NotFound"
    assert [a["number"] for a in shown["attempts"]] == [1]
    assert [a["action"] for a in shown["actions"]] == ["recorded"]


async def test_filters_and_cursor_pages_cover_every_dead_letter_once(
    payments: Payments, api: httpx.AsyncClient
) -> None:
    """Five dead letters come in pages of two, oldest first; filters narrow the list."""
    sent = [await payments.pay(f"9100000{n}", case_id=f"case-{n}") for n in range(5)]

    seen: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 2}
    pages = 0
    while True:
        page = (await api.get("/dead-letters", params=params)).json()
        seen += page["items"]
        pages += 1
        if page.get("next_cursor") is None:
            break
        params["cursor"] = page["next_cursor"]

    assert pages == 3
    assert [item["message_id"] for item in seen] == [m.id for m in sent]
    by_case = (await api.get("/dead-letters", params={"case_id": "case-3"})).json()["items"]
    assert [item["message_id"] for item in by_case] == [sent[3].id]
    for params in (
        {"source": TOPIC, "consumer": GROUP, "kind": "message", "status": "open"},
        {"since": (datetime.now(UTC) - timedelta(minutes=5)).isoformat()},
    ):
        assert len((await api.get("/dead-letters", params=params)).json()["items"]) == 5
    for params in (
        {"status": "discarded"},
        {"kind": "step"},
        {"source": "invoice-issued"},
        {"until": (datetime.now(UTC) - timedelta(minutes=5)).isoformat()},
    ):
        assert (await api.get("/dead-letters", params=params)).json()["items"] == []


async def test_replay_after_the_cause_is_fixed_redelivers_once(
    payments: Payments, api: httpx.AsyncClient
) -> None:
    """Replayed through the outbox, the payment reaches its consumer and is applied; a second
    replay is skipped and the trail records who replayed it."""
    message = await payments.pay("92000001")
    [dead_letter_id] = await _open_ids(api)
    payments.known.add("92000001")

    replayed = await api.post(
        f"/dead-letters/{dead_letter_id}/replay", json={"actor": "ops@bank.example"}
    )
    await payments.deliver()
    again = await api.post(f"/dead-letters/{dead_letter_id}/replay", json={"actor": "ops@bank"})

    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["result"] == "replayed"
    assert again.json()["result"] == "skipped"
    assert payments.applied == [message.id]
    shown = (await api.get(f"/dead-letters/{dead_letter_id}")).json()
    assert shown["status"] == "replayed"
    assert shown["resolved_by"] == "ops@bank.example"
    assert shown["time_to_resolution_seconds"] >= 0
    assert [a["action"] for a in shown["actions"]] == ["recorded", "replay", "replayed"]


async def test_a_replay_that_fails_again_reopens_the_dead_letter(
    payments: Payments, api: httpx.AsyncClient
) -> None:
    """Replayed before the cause is fixed, the payment fails again: the same dead letter is
    open once more, with the new attempt appended."""
    await payments.pay("93000001")
    [dead_letter_id] = await _open_ids(api)

    await api.post(f"/dead-letters/{dead_letter_id}/replay", json={"actor": "ops"})
    await payments.deliver()

    shown = (await api.get(f"/dead-letters/{dead_letter_id}")).json()
    assert shown["status"] == "open"
    assert shown["replay_count"] == 1
    assert len(shown["attempts"]) == 2
    assert shown["actions"][-1]["action"] == "reopened"
    assert payments.applied == []


async def test_bulk_replay_takes_the_open_dead_letters_matching_the_filter(
    payments: Payments, api: httpx.AsyncClient
) -> None:
    """Of three dead payments, the two of one case are replayed by filter; the third waits."""
    first = await payments.pay("94000001", case_id="case-bulk")
    second = await payments.pay("94000002", case_id="case-bulk")
    await payments.pay("94000003", case_id="case-other")
    payments.known |= {"94000001", "94000002"}

    answer = await api.post(
        "/replays", json={"actor": "ops", "match": {"case_id": "case-bulk", "consumer": GROUP}}
    )
    await payments.deliver()

    assert answer.status_code == 200, answer.text
    assert (answer.json()["replayed"], answer.json()["skipped"]) == (2, 0)
    assert sorted(payments.applied) == sorted([first.id, second.id])
    [still_open] = (await api.get("/dead-letters", params={"status": "open"})).json()["items"]
    assert still_open["case_id"] == "case-other"


async def test_discard_needs_a_reason_and_is_refused_once_replayed(
    payments: Payments, api: httpx.AsyncClient
) -> None:
    """Without a reason a discard is a 422 naming ``reason``; with one it closes the dead
    letter, harmlessly twice; a replayed one cannot be discarded (409)."""
    await payments.pay("95000001")
    await payments.pay("95000002")
    to_discard, to_replay = await _open_ids(api)
    path = f"/dead-letters/{to_discard}/discard"

    missing = await api.post(path, json={"actor": "ops"})
    blank = await api.post(path, json={"actor": "ops", "reason": "   "})
    discarded = await api.post(path, json={"actor": "ops", "reason": "duplicate payment"})
    twice = await api.post(path, json={"actor": "ops", "reason": "duplicate payment"})
    await api.post(f"/dead-letters/{to_replay}/replay", json={"actor": "ops"})
    refused = await api.post(
        f"/dead-letters/{to_replay}/discard", json={"actor": "ops", "reason": "late"}
    )

    assert (missing.status_code, _fields(missing)) == (422, ["reason"])
    assert (blank.status_code, _fields(blank)) == (422, ["reason"])
    assert discarded.status_code == 200, discarded.text
    assert discarded.json()["status"] == "discarded"
    assert discarded.json()["resolution_note"] == "duplicate payment"
    assert discarded.json()["actions"][-1] == {
        **discarded.json()["actions"][-1],
        "action": "discarded",
        "actor": "ops",
        "note": "duplicate payment",
    }
    assert twice.status_code == 200
    assert refused.status_code == 409
    assert refused.json()["detail"].endswith("is replayed, not open")


async def test_resolution_stats_measure_time_to_resolution(
    payments: Payments, api: httpx.AsyncClient
) -> None:
    """One replayed, one discarded and one open: two resolved, one open, times measured."""
    for invoice in ("96000001", "96000002", "96000003"):
        await payments.pay(invoice)
    replayed, discarded, _ = await _open_ids(api)
    await api.post(f"/dead-letters/{replayed}/replay", json={"actor": "ops"})
    await api.post(f"/dead-letters/{discarded}/discard", json={"actor": "ops", "reason": "test"})

    stats = (await api.get("/stats")).json()
    later = (
        await api.get("/stats", params={"since": (datetime.now(UTC) + timedelta(1)).isoformat()})
    ).json()

    assert (stats["resolved"], stats["open"]) == (2, 1)
    assert 0 <= stats["median_seconds"] <= stats["longest_seconds"]
    assert (later["resolved"], later["median_seconds"]) == (0, None)


async def test_bad_input_is_a_problem_naming_the_field(api: httpx.AsyncClient) -> None:
    """Unknown values, a reversed window, a foreign cursor, a malformed or unknown id."""
    now = datetime.now(UTC)
    unknown = "00000000-0000-4000-8000-000000000000"
    cases = [
        (await api.get("/dead-letters", params={"status": "lost"}), 422, ["status"]),
        (await api.get("/dead-letters", params={"kind": "email"}), 422, ["kind"]),
        (await api.get("/dead-letters", params={"since": "yesterday"}), 422, ["since"]),
        (
            await api.get(
                "/dead-letters",
                params={"since": now.isoformat(), "until": (now - timedelta(1)).isoformat()},
            ),
            422,
            ["until"],
        ),
        (await api.get("/dead-letters", params={"cursor": "bm90LWEtY3Vyc29y"}), 422, ["cursor"]),
        (await api.get("/dead-letters", params={"limit": 0}), 422, ["limit"]),
        (await api.get("/dead-letters/not-an-id"), 422, ["dead_letter_id"]),
        (await api.get(f"/dead-letters/{unknown}"), 404, ["dead_letter_id"]),
        (await api.post(f"/dead-letters/{unknown}/replay", json={"actor": "ops"}), 404, None),
        (await api.post(f"/dead-letters/{unknown}/replay", json={}), 422, ["actor"]),
        (await api.post("/replays", json={"actor": "ops", "limit": 5000}), 422, ["limit"]),
        (
            await api.post(
                "/replays",
                json={
                    "actor": "ops",
                    "match": {"since": now.isoformat(), "until": now.isoformat()},
                },
            ),
            422,
            ["match.until"],
        ),
        (await api.post("/replays", json={"actor": "ops", "match": {"tag": "x"}}), 422, None),
    ]
    for answer, status, fields in cases:
        assert answer.status_code == status, (answer.request.url, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        if fields is not None:
            assert _fields(answer) == fields, answer.text


async def test_with_tokens_on_every_operation_needs_the_admin_scope(tmp_path: Path) -> None:
    """With auth_mode=jwt a token for the API without dead-letters:admin is refused (403) on a
    read and a write; with the scope both pass the guard, and the audit trail names the
    token's subject, whatever actor the body claims."""
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"keys": [new_signing_key().as_dict(private=True)]}))
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}",
        auth_mode="jwt",
        auth=AuthSettings(signing_keys_file=keys),
        observability=ObservabilitySettings(analytics=False, metrics=False),
        process=ProcessSettings(workers=False),
        system_url="http://127.0.0.1:9",
    )
    issuer = TokenIssuer(settings.auth.issuer, KeyRing.from_file(keys))
    unknown = "00000000-0000-4000-8000-000000000000"

    def bearer(*scopes: str) -> dict[str, str]:
        token = issuer.issue(
            subject="ops-1",
            client_id="console",
            audience="urn:ledgerbridge:dead-letters",
            scopes=set(scopes),
        ).token
        return {"Authorization": f"Bearer {token}"}

    async with open_house(settings, layers={Layer.PROCESS}) as house:
        transport = httpx.ASGITransport(app=house.app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://house{BASE}") as http:
            for headers, read_status, write_status in (
                (bearer("order-to-cash:read", "order-to-cash:write"), 403, 403),
                (bearer("dead-letters:admin", "ops:operate", "ops:administer"), 200, 404),
            ):
                read = await http.get("/dead-letters", headers=headers)
                write = await http.post(
                    f"/dead-letters/{unknown}/replay", json={"actor": "ops"}, headers=headers
                )
                assert (read.status_code, write.status_code) == (read_status, write_status)
            assert house.insight.store is not None
            await DeadLetterChannel(house.insight.store.engine)(
                FailedDelivery(
                    Message(type="payment.received", source="/tests", data={}),
                    TOPIC,
                    GROUP,
                    "permanent error",
                    (Attempt(number=1, error="unknown invoice", error_type="NotFound"),),
                )
            )
            [letter] = (await http.get("/dead-letters", headers=headers)).json()["items"]
            discarded = await http.post(
                f"/dead-letters/{letter['id']}/discard",
                json={"actor": "someone-else", "reason": "test"},
                headers=headers,
            )
            assert discarded.json()["resolved_by"] == "ops-1"
