"""The console's dead letters: list and filter, inspect, replay, discard with a reason.

The list is loaded into the console page by htmx, so a slow or absent dead-letters API never
holds the rest of the page back; each action answers the row it changed. Operators and
administrators see and replay; discarding is for administrators. The signed-in user is the
actor the dead-letters API records.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from ledgerbridge.apis.process.dead_letters.client import (
    DEAD_LETTER_ID_PATTERN,
    DeadLettersClient,
    DiscardRequest,
    StatusName,
)
from ledgerbridge.runtime.errors import LedgerbridgeError
from ledgerbridge.runtime.security import SignedIn

Render = Callable[..., HTMLResponse]
Gate = Callable[[Request, frozenset[str]], SignedIn | Response]
DeadLetterId = Annotated[str, Path(pattern=DEAD_LETTER_ID_PATTERN)]
Filter = Annotated[str | None, Query(max_length=256)]


def dead_letter_routes(
    client: DeadLettersClient,
    *,
    render: Render,
    read_form: Callable[[Request], Awaitable[dict[str, str]]],
    gate: Gate,
    staff: frozenset[str],
    administrators: frozenset[str],
) -> APIRouter:
    """The console's dead-letter routes, through the dead-letters API; ``gate`` lets in
    ``staff`` (and ``administrators`` alone to discard)."""
    router = APIRouter(prefix="/console/dead-letters", include_in_schema=False)

    @router.get("")
    async def listed(
        request: Request,
        status: StatusName | None = "open",
        source: Filter = None,
        consumer: Filter = None,
        case_id: Filter = None,
    ) -> Response:
        """The dead letters matching the filters, newest last (an htmx fragment)."""
        user = gate(request, staff)
        if isinstance(user, Response):
            return user
        filters = {"status": status, "source": source, "consumer": consumer, "case_id": case_id}
        try:
            page = await client.list_dead_letters(
                status=status,
                source=source or None,
                consumer=consumer or None,
                case_id=case_id or None,
                limit=100,
            )
        except LedgerbridgeError as exc:
            return render("dead_letters.html", letters=None, error=exc.message, filters=filters)
        return render(
            "dead_letters.html",
            letters=page.items,
            filters=filters,
            administrator=not user.roles.isdisjoint(administrators),
        )

    @router.get("/{dead_letter_id}")
    async def inspect(request: Request, dead_letter_id: DeadLetterId) -> Response:
        """One dead letter whole: payload, attempts and audit trail (an htmx fragment)."""
        user = gate(request, staff)
        if isinstance(user, Response):
            return user
        letter = await client.get_dead_letter(dead_letter_id)
        payload = json.dumps(letter.payload, indent=2, sort_keys=True)
        return render("dead_letter_detail.html", letter=letter, payload=payload)

    @router.post("/{dead_letter_id}/replay")
    async def replay(request: Request, dead_letter_id: DeadLetterId) -> Response:
        """Replay one dead letter; answers its row with the outcome."""
        user = gate(request, staff)
        if isinstance(user, Response):
            return user
        outcome = await client.replay(dead_letter_id, user.subject)
        letter = await client.get_dead_letter(dead_letter_id)
        note = f"replay: {outcome.result}" + (f" ({outcome.detail})" if outcome.detail else "")
        administrator = not user.roles.isdisjoint(administrators)
        return render("dead_letter_row.html", letter=letter, note=note, administrator=administrator)

    @router.post("/{dead_letter_id}/discard")
    async def discard(request: Request, dead_letter_id: DeadLetterId) -> Response:
        """Discard one dead letter with the reason typed in its row; refused without one."""
        user = gate(request, administrators)
        if isinstance(user, Response):
            return user
        reason = (await read_form(request)).get("reason", "").strip()
        if not reason:
            letter = await client.get_dead_letter(dead_letter_id)
            return render(
                "dead_letter_row.html",
                letter=letter,
                error="a reason is needed",
                administrator=True,
            )
        request_body = DiscardRequest(actor=user.subject, reason=reason)
        discarded = await client.discard(dead_letter_id, request_body)
        return render(
            "dead_letter_row.html", letter=discarded, note="discarded", administrator=True
        )

    return router
