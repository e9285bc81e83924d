"""Contacts: the people at a customer."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from ledgerbridge.canonical._base import CanonicalModel
from ledgerbridge.canonical._party import Address

__all__ = ["Contact", "EmailAddress"]

EmailAddress = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
"""An e-mail address in its plain ``local@domain.tld`` form."""


class Contact(CanonicalModel):
    """A person at a customer organisation, linked to the Party by its ids."""

    canonical_id: str | None = None
    crm_id: str | None = None
    erp_id: str | None = None
    account_crm_id: str | None = None
    account_erp_id: str | None = None
    salutation: str | None = None
    first_name: str | None = None
    last_name: str = Field(min_length=1)
    title: str | None = None
    department: str | None = None
    email: EmailAddress | None = None
    phone: str | None = None
    mobile_phone: str | None = None
    mailing_address: Address | None = None
