"""An async OData V2 client for S/4HANA's A2X APIs (business partner, sales order, ...)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import httpx

from ledgerbridge.connectors.s4hana import _errors
from ledgerbridge.connectors.s4hana._batch import BatchPart, BatchReply, batch_body, read_batch
from ledgerbridge.connectors.s4hana._wire import (
    KeyValue,
    LiteralValue,
    ODataEntity,
    key_segment,
    odata_literal,
)

_CSRF_HEADER = "X-CSRF-Token"


class S4HanaClient:
    """Reads and writes S/4HANA entities over OData V2 with Basic auth and CSRF handling.

    Usage::

        async with S4HanaClient(
            base_url="http://erp:8080/sap/opu/odata/sap", username="U", password="P"
        ) as s4:
            partner = await s4.get("API_BUSINESS_PARTNER", "A_BusinessPartner", "1000000")
            orders = await s4.query(
                "API_SALES_ORDER_SRV", "A_SalesOrder",
                filter=f"SoldToParty eq {odata_literal('1000000')}", top=50,
            )

    The CSRF token is fetched on the first write and reused with the session cookies;
    when S/4 answers 403 with `X-CSRF-Token: Required` (expired session) the client
    fetches a new token once and repeats the write.
    """

    def __init__(
        self,
        *,
        base_url: str,
        username: str,
        password: str,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            auth=httpx.BasicAuth(username, password),
            transport=transport,
            timeout=httpx.Timeout(timeout),
            headers={"Accept": "application/json"},
        )
        self._csrf_token: str | None = None
        self._csrf_lock = asyncio.Lock()

    async def __aenter__(self) -> S4HanaClient:
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

    async def get(
        self,
        service: str,
        entity_set: str,
        key: str | Mapping[str, KeyValue],
        *,
        expand: Sequence[str] = (),
        select: Sequence[str] = (),
    ) -> ODataEntity:
        """Read one entity by key.

        Args:
            service: the service name, e.g. "API_SALES_ORDER_SRV".
            entity_set: the entity set, e.g. "A_SalesOrder".
            key: the key value, or a mapping of key property to value for compound keys.
            expand: navigation paths to expand inline ("to_Item/to_PricingElement").
            select: properties to return (all when empty).

        Returns:
            The entity; raises NotFound when the key does not exist.
        """
        params = _options(expand=expand, select=select)
        response = await self._send("GET", f"{service}/{entity_set}{key_segment(key)}", params)
        return ODataEntity.from_json(_d(response), etag=response.headers.get("ETag"))

    async def query(
        self,
        service: str,
        entity_set: str,
        *,
        filter: str | None = None,
        select: Sequence[str] = (),
        expand: Sequence[str] = (),
        orderby: str | None = None,
        top: int | None = None,
        skip: int | None = None,
    ) -> list[ODataEntity]:
        """Read a page of an entity set.

        Args:
            service: the service name.
            entity_set: the entity set.
            filter: a $filter expression; build literals with `odata_literal`.
            select: properties to return.
            expand: navigation paths to expand inline.
            orderby: a $orderby clause such as "CreationDate desc".
            top: at most this many entities.
            skip: skip this many first.

        Returns:
            The entities in the order S/4 returned them, all pages of them: when S/4 pages
            the result (`__next`), the client follows the links.
        """
        params = _options(expand=expand, select=select)
        for name, value in (
            ("$filter", filter),
            ("$orderby", orderby),
            ("$top", top),
            ("$skip", skip),
        ):
            if value is not None:
                params[name] = str(value)
        entities: list[ODataEntity] = []
        url: str | None = f"{service}/{entity_set}"
        seen: set[str] = set()
        while url is not None:
            body = _d(await self._send("GET", url, params))
            results = body.get("results")
            if not isinstance(results, list):
                raise _errors.from_payload("a collection without results")
            entities += [ODataEntity.from_json(item) for item in results]
            # Server-driven paging: __next is a complete URL carrying every option.
            next_url = body.get("__next")
            if next_url is not None and (not isinstance(next_url, str) or next_url in seen):
                raise _errors.from_payload(f"a __next link that goes nowhere new: {next_url!r}")
            url, params = next_url, {}
            if next_url is not None:
                seen.add(next_url)
        return entities

    async def count(self, service: str, entity_set: str, *, filter: str | None = None) -> int:
        """How many entities of a set match `filter` (all when None), via /$count."""
        params = {"$filter": filter} if filter is not None else {}
        response = await self._send("GET", f"{service}/{entity_set}/$count", params)
        try:
            return int(response.text.strip())
        except ValueError as exc:
            raise _errors.from_payload("a $count that is not a number") from exc

    async def create(
        self, service: str, entity_set: str, payload: Mapping[str, Any]
    ) -> ODataEntity:
        """Create an entity, with deep insert of navigation properties.

        Args:
            service: the service name.
            entity_set: the entity set to create in.
            payload: properties in V2 JSON form (decimals as strings); navigation
                properties hold child lists (`{"to_Item": [{...}]}`).

        Returns:
            The created entity as S/4 numbered and completed it.
        """
        response = await self._write("POST", f"{service}/{entity_set}", dict(payload), etag=None)
        return ODataEntity.from_json(_d(response), etag=response.headers.get("ETag"))

    async def update(
        self,
        service: str,
        entity_set: str,
        key: str | Mapping[str, KeyValue],
        payload: Mapping[str, Any],
        *,
        etag: str | None,
    ) -> None:
        """Change properties of an entity (PATCH), guarded by its ETag.

        Args:
            service: the service name.
            entity_set: the entity set.
            key: the key value or compound key mapping.
            payload: the properties to change.
            etag: the entity's ETag as read; a stale one raises Conflict. None sends no
                If-Match (S/4 refuses that for ETag-protected entities).
        """
        path = f"{service}/{entity_set}{key_segment(key)}"
        await self._write("PATCH", path, dict(payload), etag=etag)

    async def delete(
        self,
        service: str,
        entity_set: str,
        key: str | Mapping[str, KeyValue],
        *,
        etag: str | None,
    ) -> None:
        """Delete an entity (S/4 allows it for sales orders without follow-up documents).

        Args:
            service: the service name.
            entity_set: the entity set.
            key: the key value or compound key mapping.
            etag: the entity's ETag as read; a stale one raises Conflict.
        """
        await self._write("DELETE", f"{service}/{entity_set}{key_segment(key)}", None, etag=etag)

    async def call(
        self,
        service: str,
        function: str,
        params: Mapping[str, LiteralValue],
        *,
        method: str = "POST",
    ) -> ODataEntity:
        """Call a function import that returns one entity.

        Args:
            service: the service name.
            function: the function import, e.g. "releaseCreditBlock".
            params: parameter values; they are sent as OData literals.
            method: the function's HTTP method as its metadata declares it.

        Returns:
            The entity the function returned.
        """
        response = await self._invoke(service, function, params, method)
        return ODataEntity.from_json(_d(response), etag=response.headers.get("ETag"))

    async def call_collection(
        self,
        service: str,
        function: str,
        params: Mapping[str, LiteralValue],
        *,
        method: str = "POST",
    ) -> list[ODataEntity]:
        """Call a function import that returns a collection (of entities or complex values).

        Args:
            service: the service name.
            function: the function import, e.g. "Cancel" of API_BILLING_DOCUMENT_SRV.
            params: parameter values; they are sent as OData literals.
            method: the function's HTTP method as its metadata declares it.

        Returns:
            The returned rows; complex values have an empty `uri` and no ETag.
        """
        results = _d(await self._invoke(service, function, params, method)).get("results")
        if not isinstance(results, list):
            raise _errors.from_payload("a function collection without results")
        return [ODataEntity.from_json(row) for row in results]

    async def batch(self, service: str, parts: Sequence[BatchPart]) -> list[list[BatchReply]]:
        """Send reads and change sets in one $batch request.

        Args:
            service: the service name; every part's path is relative to it.
            parts: `Retrieve` reads and `ChangeSet` writes, in order.

        Returns:
            Per part, in order: a read's one reply; a change set's reply per change, or the
            single error reply that rolled it back. A refused part does not raise; a $batch
            S/4 refuses as a whole does.
        """
        content, content_type = batch_body(parts)
        response = await self._write(
            "POST", f"{service}/$batch", None, etag=None, raw=(content, content_type)
        )
        return read_batch(response.content, response.headers.get("Content-Type", ""))

    async def _invoke(
        self, service: str, function: str, params: Mapping[str, LiteralValue], method: str
    ) -> httpx.Response:
        query = {name: odata_literal(value) for name, value in params.items()}
        path = f"{service}/{function}"
        if method == "GET":
            return await self._send("GET", path, query)
        return await self._write(method, path, None, etag=None, params=query)

    async def _fetch_csrf_token(self, service: str, stale: str | None) -> str:
        async with self._csrf_lock:
            # Another task may have refreshed the token while this one waited.
            if self._csrf_token is not None and self._csrf_token != stale:
                return self._csrf_token
            response = await self._send("GET", f"{service}/", {}, headers={_CSRF_HEADER: "Fetch"})
            token = str(response.headers.get(_CSRF_HEADER, ""))
            if not token:
                raise _errors.from_payload("no CSRF token in the fetch response")
            self._csrf_token = token
            return token

    async def _write(
        self,
        method: str,
        path: str,
        payload: dict[str, Any] | None,
        *,
        etag: str | None,
        params: dict[str, str] | None = None,
        raw: tuple[bytes, str] | None = None,
    ) -> httpx.Response:
        service = path.split("/", 1)[0]
        token = self._csrf_token or await self._fetch_csrf_token(service, None)
        headers = {_CSRF_HEADER: token}
        content = None
        if payload is not None:
            headers["Content-Type"] = "application/json"
        elif raw is not None:
            content, headers["Content-Type"] = raw
        if etag is not None:
            headers["If-Match"] = etag
        query = params or {}
        response = await self._request(
            method, path, query, headers=headers, json=payload, content=content
        )
        if response.status_code == 403 and (
            response.headers.get(_CSRF_HEADER, "").lower() == "required"
        ):
            headers[_CSRF_HEADER] = await self._fetch_csrf_token(service, token)
            response = await self._request(
                method, path, query, headers=headers, json=payload, content=content
            )
        if response.is_error:
            raise _errors.from_response(response)
        return response

    async def _send(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        *,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        response = await self._request(method, path, params, headers=headers or {})
        if response.is_error:
            raise _errors.from_response(response)
        return response

    async def _request(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        *,
        headers: dict[str, str],
        json: dict[str, Any] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        try:
            return await self._http.request(
                method, path, params=params or None, headers=headers, json=json, content=content
            )
        except httpx.HTTPError as exc:
            raise _errors.from_transport(exc) from exc


def _options(*, expand: Sequence[str], select: Sequence[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    if expand:
        params["$expand"] = ",".join(expand)
    if select:
        params["$select"] = ",".join(select)
    return params


def _d(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise _errors.from_payload("not JSON") from exc
    if not isinstance(body, dict) or not isinstance(body.get("d"), dict):
        raise _errors.from_payload("no 'd' object")
    d: dict[str, Any] = body["d"]
    return d
