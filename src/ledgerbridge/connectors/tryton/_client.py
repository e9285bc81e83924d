"""An async JSON-RPC client for Tryton (trytond 8.x)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
from collections.abc import AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import Any

import httpx

from ledgerbridge.connectors.tryton import _errors
from ledgerbridge.connectors.tryton._wire import TrytonRecord, dumps, loads
from ledgerbridge.connectors.tryton._wizard import WizardResult, WizardSession, WizardStep
from ledgerbridge.runtime.errors import AuthFailed, Conflict, ConnectorError

Domain = Sequence[Any]
"""A Tryton search domain, such as ``[["reference", "=", "8011x000001"]]``."""


class TrytonClient:
    """Calls Tryton models, buttons and wizards over JSON-RPC in one user session.

    Usage::

        async with TrytonClient(
            base_url="http://127.0.0.1:8000", database="erp", username="ledgerbridge",
            password="secret",
        ) as tryton:
            sale = await tryton.find_sale_by_reference("8011x000001", ["state"])
            if sale is None:
                [sale_id] = await tryton.create("sale.sale", [{...}])
                await tryton.button("sale.sale", "quote", [sale_id])

    Entering the context logs in (common.db.login) and loads the user's context (company,
    language, ...), which every model call then carries. When Tryton drops the session
    (HTTP 401 on a call), the client logs in again once and repeats the call: a refused
    session means the call did not run.
    """

    def __init__(
        self,
        *,
        base_url: str,
        database: str,
        username: str,
        password: str,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=f"{base_url.rstrip('/')}/{database}/",
            transport=transport,
            timeout=httpx.Timeout(timeout),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        self._username = username
        self._password = password
        self._ids = itertools.count(1)
        self._authorization: str | None = None
        self._user_id: int | None = None
        self._context: dict[str, Any] = {}
        self._login_lock = asyncio.Lock()

    async def __aenter__(self) -> TrytonClient:
        try:
            await self.login()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the underlying connection pool."""
        await self._http.aclose()

    @property
    def user_id(self) -> int:
        """The id of the logged-in user (res.user)."""
        if self._user_id is None:
            raise RuntimeError("not logged in to Tryton yet")
        return self._user_id

    @property
    def context(self) -> Mapping[str, Any]:
        """The user context every model call carries (company, language, ...)."""
        return dict(self._context)

    async def login(self) -> None:
        """Open a session with the password and load the user's context.

        Raises AuthFailed when Tryton refuses the credentials.
        """
        async with self._login_lock:
            await self._login()

    async def refresh_context(self) -> None:
        """Load the user context again, after the user's company or language changed."""
        self._context = dict(await self.call("model.res.user.get_preferences", True, {}))

    async def call(self, method: str, *params: Any) -> Any:
        """Call one JSON-RPC method with the parameters as given (no context added).

        Args:
            method: the dotted method, e.g. "model.sale.sale.search" or "common.db.logout".
            params: the positional parameters, encoded the Tryton way.

        Returns:
            The decoded result.
        """
        authorization = self._authorization
        try:
            return await self._rpc(method, list(params), authorization)
        except AuthFailed as refused:
            if authorization is None or refused.status_code != 401:
                raise
        async with self._login_lock:
            # Another task may have logged in again while this one waited.
            if self._authorization == authorization:
                await self._login()
        return await self._rpc(method, list(params), self._authorization)

    async def call_model(
        self,
        model: str,
        method: str,
        *params: Any,
        context: Mapping[str, Any] | None = None,
    ) -> Any:
        """Call a model's RPC method with the user context as the last parameter.

        Args:
            model: the model name, e.g. "sale.sale".
            method: the method, e.g. "search" or a button such as "confirm".
            params: the positional parameters before the context.
            context: keys added to the user context for this call.
        """
        return await self.call(f"model.{model}.{method}", *params, self._with(context))

    async def search(
        self,
        model: str,
        domain: Domain,
        *,
        offset: int = 0,
        limit: int | None = None,
        order: Sequence[tuple[str, str]] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> list[int]:
        """The ids of the records matching a domain, in Tryton's order unless given."""
        order_param = [list(item) for item in order] if order is not None else None
        ids = await self.call_model(
            model, "search", list(domain), offset, limit, order_param, context=context
        )
        return [int(i) for i in ids]

    async def read(
        self,
        model: str,
        ids: Sequence[int],
        fields: Sequence[str],
        *,
        context: Mapping[str, Any] | None = None,
    ) -> list[TrytonRecord]:
        """Read fields of records; related fields by dotted name ("party.rec_name")."""
        rows = await self.call_model(model, "read", list(ids), list(fields), context=context)
        return [TrytonRecord(model, row) for row in rows]

    async def search_read(
        self,
        model: str,
        domain: Domain,
        fields: Sequence[str],
        *,
        offset: int = 0,
        limit: int | None = None,
        order: Sequence[tuple[str, str]] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> list[TrytonRecord]:
        """Search and read in one round trip."""
        order_param = [list(item) for item in order] if order is not None else None
        rows = await self.call_model(
            model,
            "search_read",
            list(domain),
            offset,
            limit,
            order_param,
            list(fields),
            context=context,
        )
        return [TrytonRecord(model, row) for row in rows]

    async def create(
        self,
        model: str,
        values: Sequence[Mapping[str, Any]],
        *,
        context: Mapping[str, Any] | None = None,
    ) -> list[int]:
        """Create records, one per mapping; returns their ids in the same order.

        One2Many fields take actions: ``{"lines": [["create", [{...}, {...}]]]}``.
        """
        ids = await self.call_model(model, "create", [dict(v) for v in values], context=context)
        return [int(i) for i in ids]

    async def write(
        self,
        model: str,
        ids: Sequence[int],
        values: Mapping[str, Any],
        *,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Write the same values on records."""
        await self.call_model(model, "write", list(ids), dict(values), context=context)

    async def delete(
        self, model: str, ids: Sequence[int], *, context: Mapping[str, Any] | None = None
    ) -> None:
        """Delete records."""
        await self.call_model(model, "delete", list(ids), context=context)

    async def button(
        self,
        model: str,
        name: str,
        ids: Sequence[int],
        *,
        context: Mapping[str, Any] | None = None,
    ) -> Any:
        """Press a workflow button on records, such as sale.sale "confirm" or
        account.invoice "post"; returns what the button returns (mostly None)."""
        return await self.call_model(model, name, list(ids), context=context)

    @contextlib.asynccontextmanager
    async def wizard(
        self,
        name: str,
        *,
        model: str | None = None,
        ids: Sequence[int] = (),
        context: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[WizardSession]:
        """Open a wizard, run its start state, and delete its session on the way out.

        Args:
            name: the wizard name, e.g. "account.invoice.pay".
            model: the model of the records it runs on (the active model), if any.
            ids: the records (the first is the active id).
            context: keys added to the user context.
        """
        active = dict(context or {})
        if model is not None:
            active |= {"active_model": model, "active_id": ids[0], "active_ids": list(ids)}
        created = await self.call(f"wizard.{name}.create", self._with(None))
        if not isinstance(created, list) or len(created) != 3:
            raise _errors.from_payload(f"wizard {name} opened without a session")
        session, start, _end = created
        wizard = WizardSession(self.call, name, session, self._with(active))
        try:
            await wizard.open(start)
            yield wizard
        except BaseException:
            # Tryton expires abandoned wizard sessions itself; the failure worth reporting
            # is the one that interrupted the wizard, not a failed clean-up after it.
            with contextlib.suppress(ConnectorError):
                await self.call(f"wizard.{name}.delete", session, self._with(None))
            raise
        await self.call(f"wizard.{name}.delete", session, self._with(None))

    async def execute_wizard(
        self,
        name: str,
        *,
        steps: Sequence[WizardStep],
        model: str | None = None,
        ids: Sequence[int] = (),
        context: Mapping[str, Any] | None = None,
    ) -> WizardResult:
        """Run a wizard through a fixed sequence of button presses.

        Each step fills the form on screen (its own values plus the step's) and presses
        the step's button; see ``wizard`` for the arguments.

        Returns:
            The form it stopped on, if any, and the actions it returned.
        """
        async with self.wizard(name, model=model, ids=ids, context=context) as wizard:
            for step in steps:
                await wizard.press(step.button, step.values)
        return wizard.result()

    async def acknowledge_warning(self, warning: _errors.TrytonUserWarning) -> None:
        """Accept a UserWarning once, so that repeating the call goes through."""
        await self.create(
            "res.user.warning", [{"user": self.user_id, "name": warning.name, "always": False}]
        )

    async def find_sale_by_reference(
        self, reference: str, fields: Sequence[str] = ("state", "reference")
    ) -> TrytonRecord | None:
        """The sale whose reference is our CRM order id, or None.

        Raises Conflict when more than one sale carries the reference.
        """
        return _one(
            await self.search_read("sale.sale", [["reference", "=", reference]], fields, limit=2),
            f"sale reference {reference!r}",
        )

    async def find_party_by_identifier(
        self, code: str, fields: Sequence[str] = ("name",)
    ) -> TrytonRecord | None:
        """The party holding an identifier with this code (our CRM account id), or None.

        Raises Conflict when more than one party holds it.
        """
        return _one(
            await self.search_read(
                "party.party", [["identifiers.code", "=", code]], fields, limit=2
            ),
            f"party identifier {code!r}",
        )

    def _with(self, extra: Mapping[str, Any] | None) -> dict[str, Any]:
        return {**self._context, **(extra or {})}

    async def _login(self) -> None:
        result = await self._rpc(
            "common.db.login", [self._username, {"password": self._password}], None
        )
        if not isinstance(result, list) or len(result) < 2:
            raise _errors.from_payload("login answered without a session")
        user_id, token = int(result[0]), str(result[1])
        credentials = f"{self._username}:{user_id}:{token}".encode()
        self._authorization = "Session " + base64.b64encode(credentials).decode("ascii")
        self._user_id = user_id
        context = await self._rpc("model.res.user.get_preferences", [True, {}], self._authorization)
        self._context = dict(context)

    async def _rpc(self, method: str, params: list[Any], authorization: str | None) -> Any:
        request_id = next(self._ids)
        headers = {"Authorization": authorization} if authorization else {}
        body = dumps({"id": request_id, "method": method, "params": params})
        try:
            response = await self._http.post("rpc/", content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise _errors.from_transport(exc) from exc
        if response.is_error:
            raise _errors.from_response(response)
        try:
            answer = loads(response.content)
        except (ValueError, KeyError, TypeError) as exc:
            # Malformed JSON, or a tagged value missing its parts.
            raise _errors.from_payload("not Tryton's JSON") from exc
        if not isinstance(answer, dict):
            raise _errors.from_payload("not a JSON-RPC object")
        if answer.get("error") is not None:
            raise _errors.from_error(answer["error"])
        if "result" not in answer:
            raise _errors.from_payload("neither result nor error")
        return answer["result"]


def _one(records: list[TrytonRecord], what: str) -> TrytonRecord | None:
    if len(records) > 1:
        raise Conflict(f"more than one Tryton record for {what}", backend=_errors.BACKEND)
    return records[0] if records else None
