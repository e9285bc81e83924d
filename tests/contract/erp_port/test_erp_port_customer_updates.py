"""Customers changed in place through the ERP port: both adapters change the name and the
billing address at the version read, and refuse a stale version or a move of the CRM id.

The Tryton template imports no countries, and a canonical address needs one: there the
address is written but reads back as none, so address assertions hold for what each ERP
keeps.
"""

from __future__ import annotations

import pytest
from tests.contract.erp_port.conftest import crm_id

from ledgerbridge.apis.system._erp import ErpPort
from ledgerbridge.apis.system._erp.port import ErpCustomerUpdates
from ledgerbridge.canonical import Address, Party
from ledgerbridge.runtime.errors import BackendRejected, NotFound, PreconditionFailed

FRANKFURT = Address(
    street="12 Taunusanlage", city="Frankfurt am Main", postal_code="60325", country="DE"
)
HAMBURG = Address(street="Ballindamm 1", city="Hamburg", postal_code="20095", country="DE")


async def _customer(erp: ErpPort) -> tuple[ErpCustomerUpdates, Party]:
    assert isinstance(erp, ErpCustomerUpdates)
    party = Party(crm_id=crm_id("001"), name="Meridian Capital", billing_address=FRANKFURT)
    created, _ = await erp.ensure_customer(party)
    assert created.erp_id is not None
    assert created.billing_address == FRANKFURT
    return erp, created


async def test_an_update_at_the_version_read_changes_name_and_address(erp: ErpPort) -> None:
    """read_customer answers what get_customer does, with an ETag; update_customer at that
    ETag changes the name and the address and answers the new version, read back alike."""
    updates, created = await _customer(erp)
    assert created.erp_id is not None
    read = await updates.read_customer(created.erp_id)
    assert read.record == await erp.get_customer(created.erp_id)
    assert read.etag is not None

    wanted = created.model_copy(update={"name": "Meridian Capital AG", "billing_address": HAMBURG})
    updated = await updates.update_customer(created.erp_id, wanted, etag=read.etag)

    assert updated.record == wanted
    assert updated.etag != read.etag
    assert await updates.read_customer(created.erp_id) == updated


async def test_an_address_change_alone_moves_the_version(erp: ErpPort) -> None:
    """Changing only the address gives the customer a new ETag, so the old one is stale."""
    updates, created = await _customer(erp)
    assert created.erp_id is not None
    read = await updates.read_customer(created.erp_id)

    moved = await updates.update_customer(
        created.erp_id, created.model_copy(update={"billing_address": HAMBURG}), etag=read.etag
    )

    assert moved.record.billing_address == HAMBURG
    assert moved.etag != read.etag
    with pytest.raises(PreconditionFailed) as stale:
        await updates.update_customer(
            created.erp_id, created.model_copy(update={"name": "Other"}), etag=read.etag
        )
    assert stale.value.fields == ["If-Match"]
    assert await updates.read_customer(created.erp_id) == moved


async def test_an_update_may_not_move_the_crm_id_or_drop_the_address(erp: ErpPort) -> None:
    """Another CRM id, or no address for a customer that has one, is refused naming the
    field; nothing is written."""
    updates, created = await _customer(erp)
    assert created.erp_id is not None
    read = await updates.read_customer(created.erp_id)

    refusals = [("crm_id", created.model_copy(update={"crm_id": crm_id("001")}))]
    if created.billing_address is not None:
        refusals.append(("billing_address", created.model_copy(update={"billing_address": None})))
    for field, wanted in refusals:
        with pytest.raises(BackendRejected) as refused:
            await updates.update_customer(created.erp_id, wanted, etag=read.etag)
        assert refused.value.fields == [field]
    assert await updates.read_customer(created.erp_id) == read


async def test_an_unknown_customer_is_not_found(erp: ErpPort) -> None:
    """Reading or updating a customer the ERP does not have raises NotFound."""
    assert isinstance(erp, ErpCustomerUpdates)
    party = Party(crm_id=crm_id("001"), name="Nobody", billing_address=FRANKFURT)
    with pytest.raises(NotFound):
        await erp.read_customer("9999999")
    with pytest.raises(NotFound):
        await erp.update_customer("9999999", party, etag='W/"anything"')
