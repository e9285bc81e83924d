"""The system of record of each field a customer shares between CRM and ERP: the one place
that says which side masters what.

The CRM masters the name the relationship is known by; the ERP masters the billing address,
the one invoices and dunning go to (finance keeps it). The ERP customer number is the
ERP's and reaches the CRM at onboarding. Fields only one side holds (the CRM's phone and
currency) are not shared, so they are not synced.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from ledgerbridge.apis.process.customer_onboarding.client import Side
from ledgerbridge.canonical import Party

MASTERS: MappingProxyType[str, Side] = MappingProxyType(
    {
        "name": Side.CRM,
        "billing_address": Side.ERP,
    }
)


def value_of(party: Party, field: str) -> Any:
    """``party``'s value of a shared field, in JSON form (so it compares and stores alike)."""
    return party.model_dump(mode="json")[field]


def with_values(party: Party, values: dict[str, Any]) -> Party:
    """``party`` with shared fields set to ``values`` (JSON form)."""
    return Party.model_validate(party.model_dump(mode="json") | values)


def shared_values(party: Party) -> dict[str, Any]:
    """The shared fields of ``party``, in JSON form."""
    return {field: value_of(party, field) for field in MASTERS}
