"""The ERP port's batch of customers, the same on S/4HANA ($batch) and Tryton (one by one)."""

from __future__ import annotations

from tests.contract.erp_port.conftest import crm_id

from ledgerbridge.apis.system._erp import ErpPort
from ledgerbridge.canonical import Address, Party


def _party(name: str) -> Party:
    return Party(
        crm_id=crm_id("001"),
        name=name,
        billing_address=Address(
            street="12 Taunusanlage", city="Frankfurt am Main", postal_code="60325", country="DE"
        ),
    )


async def test_ensure_customers_creates_each_once_like_ensure_customer(erp: ErpPort) -> None:
    """A batch creates what is missing, finds what exists, in order; a repeat creates nothing."""
    parties = [_party(f"Meridian Capital {n}") for n in range(3)]
    existing, _ = await erp.ensure_customer(parties[1])
    first = await erp.ensure_customers(parties)
    assert [outcome[1] for outcome in first if isinstance(outcome, tuple)] == [True, False, True]
    again = await erp.ensure_customers(parties)
    assert again == [(outcome[0], False) for outcome in first if isinstance(outcome, tuple)]
    customers = [outcome[0] for outcome in first if isinstance(outcome, tuple)]
    assert customers[1] == existing
    assert [c.crm_id for c in customers] == [p.crm_id for p in parties]
    assert await erp.get_customer(str(customers[2].erp_id)) == customers[2]
