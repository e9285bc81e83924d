"""What every part of the Tryton adapter shares: the connector, its login, the writer lock.

Strictly private to the Tryton adapter (`tryton.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from ledgerbridge.apis.system._erp.tryton_records import (
    DEFAULT_CREDIT_SEGMENT,
    plain,
)
from ledgerbridge.apis.system._erp.tryton_values import BACKEND, TrytonValues
from ledgerbridge.connectors.tryton import TrytonClient, TrytonRecord
from ledgerbridge.runtime.errors import NotFound


class TrytonSession:
    """The connection to one Tryton and what the adapter's parts share over it.

    The client logs in on first use, so the house starts while Tryton is still coming up.
    Writes run one at a time under ``_writing``: Tryton on SQLite races on its sequences when
    two writes create records at once, and Tryton is no faster with parallel writers.
    """

    def __init__(
        self,
        tryton: TrytonClient,
        *,
        payment_term: str | None = None,
        payment_method: str | None = None,
        product_category: str | None = None,
        credit_segment: str = DEFAULT_CREDIT_SEGMENT,
    ) -> None:
        """Args:
        tryton: the connector, not logged in yet (the adapter logs in on first use).
        payment_term: the name of the payment term for customers that have none, when
            Tryton's account configuration names no default either.
        payment_method: the name of the invoice payment method (its journal and account)
            that incoming payments are posted with; without one, posting is refused.
        product_category: the name of the accounting category new products get; without
            one, creating a product is refused.
        credit_segment: the name under which Tryton's one credit limit per customer (in the
            user's company) is served; other segments do not exist.
        """
        self._tryton = tryton
        self._payment_method_name = payment_method
        self._credit_segment = credit_segment
        self._writing = asyncio.Lock()
        self._login = asyncio.Lock()
        self._logged_in = False
        self._values = TrytonValues(
            tryton, payment_term=payment_term, product_category=product_category
        )

    async def aclose(self) -> None:
        """See `ErpPort.aclose`."""
        await self._tryton.aclose()

    async def _client(self) -> TrytonClient:
        if not self._logged_in:
            async with self._login:
                if not self._logged_in:
                    await self._tryton.login()
                    self._logged_in = True
        return self._tryton

    async def _record(
        self, model: str, erp_id: str, fields: Sequence[str], domain: Sequence[Any] = ()
    ) -> TrytonRecord:
        tryton = await self._client()
        found = (
            await tryton.search_read(model, [["id", "=", int(erp_id)], *domain], fields, limit=1)
            if erp_id.isdigit()
            else []
        )
        if not found:
            raise NotFound(f"Tryton has no {model} with id {erp_id}", backend=BACKEND)
        return found[0]

    async def _company_currency(self) -> str:
        tryton = await self._client()
        [company] = await tryton.read(
            "company.company", [tryton.context["company"]], ["currency.code"]
        )
        return str(plain(company)["currency"]["code"])


def int_id(erp_id: str) -> int:
    """A Tryton id from our text form; an id that cannot be Tryton's matches nothing."""
    return int(erp_id) if erp_id.isdigit() else -1
