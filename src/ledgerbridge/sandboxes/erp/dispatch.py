"""Resolution and execution of one OData request inside a service, independent of HTTP.

The HTTP route and $batch both turn their input into a `Call` and render the `Reply`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from ledgerbridge.sandboxes.erp.erp import Erp
from ledgerbridge.sandboxes.erp.errors import ODataError, bad_request, not_found
from ledgerbridge.sandboxes.erp.metadata import render_metadata
from ledgerbridge.sandboxes.erp.model import EntityType, FunctionImport, Service
from ledgerbridge.sandboxes.erp.payloads import Created, key_of
from ledgerbridge.sandboxes.erp.query import (
    evaluate,
    parse_filter,
    parse_key,
    parse_literal,
    string_equalities,
)
from ledgerbridge.sandboxes.erp.representation import (
    ExpandTree,
    Renderer,
    etag_of,
    parse_expand,
    parse_select,
    sort_key,
    typed_values,
)
from ledgerbridge.sandboxes.erp.store import Record
from ledgerbridge.sandboxes.erp.values import to_json

_SEGMENT = re.compile(r"^(?P<set>[A-Za-z_][A-Za-z0-9_]*)(?:\((?P<key>.*)\))?$")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "MERGE", "DELETE"})


@dataclass(frozen=True)
class Call:
    """One OData request: method, path below the service root, raw query, headers, body."""

    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """A request header, looked up case-insensitively."""
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)

    @property
    def options(self) -> dict[str, str]:
        """System query options with percent-encoded names ($filter as %24filter) decoded."""
        return {unquote(k): v for k, v in parse_qsl(self.query, keep_blank_values=True)}

    @property
    def wants_json(self) -> bool:
        """JSON is served when asked for by Accept or $format=json."""
        return self.options.get("$format") == "json" or "application/json" in (
            self.header("accept") or ""
        )


@dataclass
class Reply:
    """The answer to a `Call`."""

    status: int
    body: bytes = b""
    media_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        """A JSON reply."""
        return cls(status, json.dumps(body).encode(), "application/json", headers or {})

    @classmethod
    def error(cls, error: ODataError) -> Reply:
        """SAP's error body with the error's status and headers."""
        return cls.json(error.body(), status=error.status, headers=dict(error.headers))


class Dispatcher:
    """Executes calls against one service."""

    def __init__(
        self, service: Service, erp: Erp, service_root: str, *, page_size: int = 1000
    ) -> None:
        self.service = service
        self.service_root = service_root
        self._page_size = page_size
        self._erp = erp
        self._store = erp.store
        self._renderer = Renderer(service, erp.store, service_root)

    def handle(self, call: Call) -> Reply:
        """Execute `call`, rendering a refusal as SAP's error reply."""
        try:
            return self.execute(call)
        except ODataError as error:
            return Reply.error(error)

    def execute(self, call: Call) -> Reply:
        """Execute `call`; refusals raise ODataError (so a change set can roll back)."""
        segments = [s for s in call.path.split("/") if s]
        if not segments:
            sets = [e.entity_set for e in self.service.entity_types]
            return Reply.json({"d": {"EntitySets": sets}})
        if segments == ["$metadata"]:
            return Reply(200, render_metadata(self.service), "application/xml")
        # $count is plain text whatever the client accepts
        if not call.wants_json and segments[-1] != "$count":
            raise ODataError(
                406, "/IWBEP/CM_MGW_RT/026", "Only JSON is served; send Accept: application/json"
            )
        function = self.service.function(segments[0])
        if function is not None and len(segments) == 1:
            return self._call_function(function, call)
        entity, key, record = self._resolve_root(segments[0])
        rest = segments[1:]
        if call.method == "GET":
            return self._read(entity, record, rest, call)
        if rest:
            raise bad_request("Writes address an entity set or one entity")
        payload = _payload(call.body)
        if call.method == "POST":
            if key is not None:
                raise ODataError(405, "/IWBEP/CM_MGW_RT/005", "POST goes to an entity set")
            return self._create(entity, payload)
        if record is None or key is None:
            raise ODataError(405, "/IWBEP/CM_MGW_RT/005", f"{call.method} needs an entity key")
        if call.method == "DELETE":
            _check_if_match(entity, record, call.header("if-match"))
            self._erp.delete(entity, key)
            return Reply(204)
        _check_if_match(entity, record, call.header("if-match"))
        self._erp.update(entity, key, payload)
        updated = self._store.get(entity.entity_set, key)
        return Reply(204, headers={"ETag": etag_of(updated)} if updated else {})

    def _create(self, entity: EntityType, payload: dict[str, Any]) -> Reply:
        created = self._erp.create(entity, payload)
        expand: ExpandTree = {n: {} for n in payload if created.entity.nav(n)}
        body, etag = self._entity(created, expand)
        return Reply.json(
            {"d": body},
            status=201,
            headers={"Location": body["__metadata"]["uri"], "ETag": etag},
        )

    def _entity(self, created: Created, expand: ExpandTree) -> tuple[dict[str, Any], str]:
        record = self._store.get(created.entity.entity_set, created.key)
        if record is None:
            raise ODataError(500, "/IWBEP/CM_MGW_RT/500", "The entity vanished")
        return self._renderer.entity_json(created.entity, record, expand=expand), etag_of(record)

    def _call_function(self, function: FunctionImport, call: Call) -> Reply:
        if call.method != function.http_method:
            raise ODataError(
                405,
                "/IWBEP/CM_MGW_RT/005",
                f"Function import {function.name} must be called with {function.http_method}",
            )
        options = call.options
        params: dict[str, str] = {}
        for param in function.params:
            raw = options.get(param.name)
            if raw is None:
                raise bad_request(f"Parameter '{param.name}' of {function.name} is missing")
            params[param.name] = str(parse_literal(raw))
        result = self._erp.call(function.name, params)
        if isinstance(result, Created):
            body, etag = self._entity(result, {})
            return Reply.json({"d": body}, headers={"ETag": etag})
        complex_type = self.service.complex_type(function.returns)
        if complex_type is None:
            raise ODataError(500, "/IWBEP/CM_MGW_RT/500", f"{function.name} has no result type")
        rows = [
            {
                "__metadata": {"type": f"{self.service.name}.{complex_type.name}"},
                **{p.name: to_json(p, row.get(p.name)) for p in complex_type.props},
            }
            for row in result
        ]
        return Reply.json({"d": {"results": rows}})

    def _resolve_root(
        self, segment: str
    ) -> tuple[EntityType, tuple[str, ...] | None, Record | None]:
        match = _SEGMENT.match(segment)
        entity = self.service.entity(match.group("set")) if match else None
        if match is None or entity is None:
            raise not_found(f"Resource not found for segment '{segment}'")
        if match.group("key") is None:
            return entity, None, None
        key = key_of(entity, parse_key(match.group("key"), entity))
        record = self._store.get(entity.entity_set, key)
        if record is None:
            raise not_found(f"Resource not found for segment '{segment}'")
        return entity, key, record

    def _read(
        self,
        entity: EntityType,
        record: Record | None,
        rest: list[str],
        call: Call,
    ) -> Reply:
        options = call.options
        records: list[Record] = []
        if record is not None and rest and rest[0] != "$count":
            nav = entity.nav(rest[0])
            target = self.service.entity(nav.target) if nav else None
            if nav is None or target is None:
                raise not_found(f"Resource not found for segment '{rest[0]}'")
            records = self._renderer.related(entity, record, nav)
            entity, rest = target, rest[1:]
            if not nav.many:
                if not records:
                    return Reply.json({"d": None})
                record = records[0]
            else:
                record = None
        elif record is None:
            filter_text = options.get("$filter")
            ast = parse_filter(filter_text, entity) if filter_text else None
            equal, exact = string_equalities(ast, entity) if ast else ({}, True)
            if exact and not rest and not options.get("$orderby"):
                return self._read_page(entity, equal, call)
            records = self._store.find(entity.entity_set, **equal)
        expand = parse_expand(options.get("$expand"), entity, self.service)
        select = parse_select(options.get("$select"), entity)
        if record is not None and not rest:
            body = self._renderer.entity_json(entity, record, expand=expand, select=select)
            return Reply.json({"d": body}, headers={"ETag": etag_of(record)})
        records = _apply_filter(entity, records, options.get("$filter"))
        if rest == ["$count"]:
            return Reply(200, str(len(records)).encode(), "text/plain")
        if rest:
            raise not_found(f"Resource not found for segment '{rest[0]}'")
        window = _window(entity, records, options)
        offset = _count_option(options.get("$skiptoken"), "$skiptoken") or 0
        page = window[offset : offset + self._page_size]
        more = offset + self._page_size < len(window)
        return self._collection(entity, page, more, lambda: len(records), call)

    def _read_page(self, entity: EntityType, equal: dict[str, str], call: Call) -> Reply:
        """A collection whose filter the store answers whole: only the page is read.

        It selects the same rows as filtering every record and then taking the window.
        """
        options = call.options
        parse_expand(options.get("$expand"), entity, self.service)
        parse_select(options.get("$select"), entity)
        skip = _count_option(options.get("$skip"), "$skip") or 0
        top = _count_option(options.get("$top"), "$top")
        offset = _count_option(options.get("$skiptoken"), "$skiptoken") or 0
        # One row past the page tells whether a next link is due.
        wanted = self._page_size + 1 if top is None else min(self._page_size + 1, top - offset)
        rows = self._store.find_page(entity.entity_set, equal, skip + offset, max(wanted, 0))
        more = len(rows) > self._page_size
        return self._collection(
            entity,
            rows[: self._page_size],
            more,
            lambda: self._store.count(entity.entity_set, equal),
            call,
        )

    def _collection(
        self,
        entity: EntityType,
        page: list[Record],
        more: bool,
        total: Callable[[], int],
        call: Call,
    ) -> Reply:
        options = call.options
        expand = parse_expand(options.get("$expand"), entity, self.service)
        select = parse_select(options.get("$select"), entity)
        result: dict[str, Any] = {
            "results": [
                self._renderer.entity_json(entity, r, expand=expand, select=select) for r in page
            ]
        }
        if options.get("$inlinecount") == "allpages":
            result["__count"] = str(total())
        if more:
            # Server-driven paging: the same request from the next offset.
            offset = _count_option(options.get("$skiptoken"), "$skiptoken") or 0
            query = {k: v for k, v in options.items() if k != "$skiptoken"}
            query["$skiptoken"] = str(offset + self._page_size)
            result["__next"] = f"{self.service_root}/{call.path.strip('/')}?{urlencode(query)}"
        return Reply.json({"d": result})


def _payload(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body or b"{}")
    except ValueError as exc:
        raise bad_request("The request body is not valid JSON") from exc
    if not isinstance(payload, dict):
        raise bad_request("The request body must be a JSON object")
    return payload


def _check_if_match(entity: EntityType, record: Record, if_match: str | None) -> None:
    if if_match is None:
        if any(p.etag for p in entity.props):
            raise ODataError(428, "/IWBEP/CM_MGW_RT/026", "Precondition required: send If-Match")
        return
    if if_match.strip() not in ("*", etag_of(record)):
        raise ODataError(
            412,
            "/IWBEP/CM_MGW_RT/025",
            "The entity has been changed by another user; the ETag does not match",
        )


def _apply_filter(entity: EntityType, records: list[Record], text: str | None) -> list[Record]:
    if not text:
        return records
    ast = parse_filter(text, entity)
    return [r for r in records if evaluate(ast, typed_values(entity, r)) is True]


def _window(entity: EntityType, records: list[Record], options: dict[str, str]) -> list[Record]:
    """The records $orderby, $skip and $top select, before server-driven paging."""
    orderby = options.get("$orderby")
    if orderby:
        for clause in reversed([c.strip() for c in orderby.split(",") if c.strip()]):
            name, _, direction = clause.partition(" ")
            if entity.prop(name) is None or direction.strip() not in ("", "asc", "desc"):
                raise bad_request(f"Invalid $orderby clause '{clause}'")
            keyed = [(sort_key(typed_values(entity, r), name), r) for r in records]
            keyed.sort(key=lambda pair: pair[0], reverse=direction.strip() == "desc")
            records = [r for _, r in keyed]
    skip = _count_option(options.get("$skip"), "$skip")
    top = _count_option(options.get("$top"), "$top")
    records = records[skip or 0 :]
    return records if top is None else records[:top]


def _count_option(text: str | None, name: str) -> int | None:
    if text is None or text == "":
        return None
    if not text.isdigit():
        raise bad_request(f"Invalid value '{text}' for system query option {name}")
    return int(text)
