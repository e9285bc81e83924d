"""The Tryton connector against a real trytond: session, encodings, lookups, errors."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import httpx
import pytest
from tests.contract.tryton.conftest import SaleFixtures, crm_id

from ledgerbridge.connectors.tryton import TrytonClient, TrytonUserError
from ledgerbridge.runtime.errors import (
    AuthFailed,
    BackendRejected,
    BackendUnavailable,
    Conflict,
)
from ledgerbridge.tryton_setup import (
    COMPANY_NAME,
    CUSTOMERS,
    INTEGRATION_LOGIN,
    INTEGRATION_PASSWORD,
    TrytonServer,
    free_port,
)

# Each module starts its own trytond on a port.
pytestmark = pytest.mark.slow


async def test_login_loads_the_user_context_with_the_company(tryton: TrytonClient) -> None:
    """Logging in yields the user id and a context naming the demo company."""
    assert tryton.user_id > 0
    [company] = await tryton.read("company.company", [tryton.context["company"]], ["rec_name"])
    assert company["rec_name"] == COMPANY_NAME
    assert tryton.context["administrator"] in (0, False)


async def test_wrong_password_is_auth_failed(tryton_server: TrytonServer) -> None:
    """A refused password raises AuthFailed naming the backend."""
    client = TrytonClient(
        base_url=tryton_server.base_url,
        database=tryton_server.database,
        username=INTEGRATION_LOGIN,
        password="not-the-password",
    )
    with pytest.raises(AuthFailed) as raised:
        async with client:
            pass
    assert raised.value.backend == "tryton"
    assert raised.value.status_code == 401


async def test_no_server_is_backend_unavailable() -> None:
    """A port nobody listens on raises BackendUnavailable, not an httpx error."""
    client = TrytonClient(
        base_url=f"http://127.0.0.1:{free_port()}",
        database="erp",
        username=INTEGRATION_LOGIN,
        password=INTEGRATION_PASSWORD,
        timeout=2.0,
    )
    with pytest.raises(BackendUnavailable) as raised:
        async with client:
            pass
    assert raised.value.backend == "tryton"


async def test_server_error_status_is_backend_unavailable() -> None:
    """An HTTP 503 from in front of Tryton raises BackendUnavailable with the status."""
    transport = httpx.MockTransport(lambda request: httpx.Response(503, text="down"))
    client = TrytonClient(
        base_url="http://tryton.test",
        database="erp",
        username=INTEGRATION_LOGIN,
        password=INTEGRATION_PASSWORD,
        transport=transport,
    )
    with pytest.raises(BackendUnavailable) as raised:
        async with client:
            pass
    assert raised.value.status_code == 503


class RecordingTransport(httpx.AsyncBaseTransport):
    """Real HTTP, noting each JSON-RPC method and the status Tryton answered."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.calls: list[tuple[str, int]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        self.calls.append((json.loads(request.content)["method"], response.status_code))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_dropped_session_logs_in_again(tryton_server: TrytonServer) -> None:
    """After Tryton ends the session, the next call is refused, logs in again and succeeds."""
    transport = RecordingTransport()
    async with TrytonClient(
        base_url=tryton_server.base_url,
        database=tryton_server.database,
        username=INTEGRATION_LOGIN,
        password=INTEGRATION_PASSWORD,
        transport=transport,
    ) as tryton:
        await tryton.call("common.db.logout")
        transport.calls.clear()
        ids = await tryton.search("party.party", [["identifiers.code", "=", CUSTOMERS[0].crm_id]])
    assert len(ids) == 1
    assert transport.calls == [
        ("model.party.party.search", 401),
        ("common.db.login", 200),
        ("model.res.user.get_preferences", 200),
        ("model.party.party.search", 200),
    ]


async def test_party_created_with_crm_id_is_found_by_identifier(tryton: TrytonClient) -> None:
    """A party created with the CRM account id as identifier is found by that id."""
    account_id = crm_id("001")
    [party_id] = await tryton.create(
        "party.party",
        [{"name": "Umbrella Corp", "identifiers": [["create", [{"code": account_id}]]]}],
    )
    found = await tryton.find_party_by_identifier(account_id, ["name"])
    assert found is not None
    assert (found.id, found["name"]) == (party_id, "Umbrella Corp")
    assert await tryton.find_party_by_identifier(crm_id("001")) is None


async def test_two_sales_with_one_reference_are_a_conflict(
    tryton: TrytonClient, globex: SaleFixtures
) -> None:
    """A CRM order id found on two sales raises Conflict instead of picking one."""
    order_id = crm_id("801")
    await tryton.create("sale.sale", [globex.sale(order_id, 1), globex.sale(order_id, 1)])
    with pytest.raises(Conflict):
        await tryton.find_sale_by_reference(order_id)


async def test_decimal_and_date_values_round_trip(
    tryton: TrytonClient, globex: SaleFixtures
) -> None:
    """Decimals and dates written through the connector read back equal and typed."""
    order_id = crm_id("801")
    values = globex.sale(order_id, Decimal("3"))
    values["sale_date"] = dt.date(2026, 2, 28)
    values["lines"][0][1][0]["unit_price"] = Decimal("19.9900")
    [sale_id] = await tryton.create("sale.sale", [values])
    [sale] = await tryton.read(
        "sale.sale", [sale_id], ["sale_date", "untaxed_amount", "create_date"]
    )
    assert sale["sale_date"] == dt.date(2026, 2, 28)
    assert sale["untaxed_amount"] == Decimal("59.97")
    assert isinstance(sale["untaxed_amount"], Decimal)
    assert sale["create_date"].tzinfo is dt.UTC
    assert abs(sale["create_date"] - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)


async def test_a_refused_write_is_a_typed_user_error(
    tryton: TrytonClient, globex: SaleFixtures
) -> None:
    """A sale line without a unit price is refused with Tryton's message as TrytonUserError."""
    values = globex.sale(crm_id("801"), 1)
    del values["lines"][0][1][0]["unit_price"]
    with pytest.raises(TrytonUserError) as raised:
        await tryton.create("sale.sale", [values])
    assert isinstance(raised.value, BackendRejected)
    assert "Unit Price" in raised.value.message
    assert raised.value.backend == "tryton"


async def test_written_values_read_back_and_deleted_records_are_gone(
    tryton: TrytonClient,
) -> None:
    """Write changes a party's name as read back; delete removes it from searches."""
    account_id = crm_id("001")
    [party_id] = await tryton.create(
        "party.party",
        [{"name": "Soylent Corp", "identifiers": [["create", [{"code": account_id}]]]}],
    )
    await tryton.write("party.party", [party_id], {"name": "Soylent Foods"})
    [party] = await tryton.read("party.party", [party_id], ["name"])
    assert party["name"] == "Soylent Foods"
    await tryton.delete("party.party", [party_id])
    assert await tryton.find_party_by_identifier(account_id) is None


async def test_unexpected_server_error_is_backend_unavailable(tryton: TrytonClient) -> None:
    """An exception Tryton did not expect (an unknown field) is a server fault, not a leak."""
    with pytest.raises(BackendUnavailable, match="unexpected error"):
        await tryton.read("party.party", [1], ["no_such_field"])
