"""OData V2 $batch: many reads and change sets in one HTTP request.

A $batch body is multipart/mixed: a read is one ``application/http`` part, a change set a
nested multipart/mixed of writes that S/4 commits together or not at all. The answer has
one part per request part in order; a change set that failed is answered by the single
error that stopped it, as SAP Gateway does. This module writes the body and reads the
answer; the client sends it.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from ledgerbridge.connectors.s4hana import _errors
from ledgerbridge.connectors.s4hana._wire import ODataEntity
from ledgerbridge.runtime.errors import ConnectorError

_CRLF = "\r\n"
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?')


@dataclass(frozen=True, slots=True)
class Retrieve:
    """A read in a $batch: ``path`` below the service (an entity set or an entity), options."""

    path: str
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Change:
    """A write in a change set: POST, PATCH or DELETE of ``path`` below the service."""

    method: str
    path: str
    payload: Mapping[str, Any] | None = None
    etag: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """Writes S/4 commits together, in order, or not at all."""

    changes: tuple[Change, ...]


BatchPart = Retrieve | ChangeSet


@dataclass(frozen=True, slots=True)
class BatchReply:
    """S/4's answer to one request of a $batch: the entities it returned, or its error."""

    status: int
    entities: list[ODataEntity]
    error: ConnectorError | None = None


def batch_body(parts: Sequence[BatchPart]) -> tuple[bytes, str]:
    """The multipart body of a $batch and its content type; paths are relative to the service."""
    boundary = f"batch_{secrets.token_hex(8)}"
    chunks: list[str] = []
    for part in parts:
        chunks.append(f"--{boundary}")
        if isinstance(part, Retrieve):
            query = f"?{urlencode(part.params)}" if part.params else ""
            chunks.append(_http_part("GET", f"{part.path}{query}", None, None))
            continue
        inner = f"changeset_{secrets.token_hex(8)}"
        lines = [f"Content-Type: multipart/mixed; boundary={inner}", ""]
        for change in part.changes:
            lines += [
                f"--{inner}",
                _http_part(change.method, change.path, change.payload, change.etag),
            ]
        lines.append(f"--{inner}--")
        chunks.append(_CRLF.join(lines))
    chunks.append(f"--{boundary}--")
    return (_CRLF.join(chunks) + _CRLF).encode(), f"multipart/mixed; boundary={boundary}"


def _http_part(
    method: str, target: str, payload: Mapping[str, Any] | None, etag: str | None
) -> str:
    lines = [
        "Content-Type: application/http",
        "Content-Transfer-Encoding: binary",
        "",
        f"{method} {target} HTTP/1.1",
        "Accept: application/json",
    ]
    if etag is not None:
        lines.append(f"If-Match: {etag}")
    body = ""
    if payload is not None:
        body = json.dumps(payload, separators=(",", ":"))
        lines += ["Content-Type: application/json", f"Content-Length: {len(body.encode())}"]
    return _CRLF.join([*lines, "", body])


def read_batch(content: bytes, content_type: str) -> list[list[BatchReply]]:
    """The replies of a $batch answer: per request part, its reply or its change set's.

    The multipart answer is split on its boundaries directly: the email package reads it
    too, at several times the cost for a few hundred parts.
    """
    replies: list[list[BatchReply]] = []
    for headers, body in _parts(content.decode(), content_type):
        kind = headers.get("content-type", "")
        if kind.startswith("multipart/mixed"):
            replies.append([_reply(inner) for _, inner in _parts(body, kind)])
        else:
            replies.append([_reply(body)])
    return replies


def _parts(text: str, content_type: str) -> list[tuple[dict[str, str], str]]:
    found = _BOUNDARY.search(content_type)
    if found is None:
        raise _errors.from_payload("a $batch answer that is not multipart")
    sections = text.replace("\r\n", "\n").split(f"--{found.group(1)}")
    parts = []
    for section in sections[1:]:
        if section.startswith("--"):  # the closing delimiter
            break
        head, _, body = section.strip("\n").partition("\n\n")
        parts.append((_headers(head.split("\n")), body))
    return parts


def _headers(lines: list[str]) -> dict[str, str]:
    pairs = (line.split(":", 1) for line in lines if ":" in line)
    return {name.strip().lower(): value.strip() for name, value in pairs}


def _reply(message: str) -> BatchReply:
    """The reply an ``application/http`` part holds: status line, headers, body."""
    head, _, body = message.lstrip("\n").partition("\n\n")
    status_line, *header_lines = head.split("\n")
    try:
        status = int(status_line.split(" ")[1])
    except (IndexError, ValueError) as exc:
        raise _errors.from_payload(f"a $batch status line {status_line!r}") from exc
    headers = _headers(header_lines)
    response = httpx.Response(status, headers=headers, content=body.rstrip("\n").encode())
    if response.is_error:
        return BatchReply(status, [], _errors.from_response(response))
    if not response.content:
        return BatchReply(status, [])
    try:
        d = response.json()["d"]
    except (ValueError, KeyError, TypeError) as exc:
        raise _errors.from_payload("a $batch part without a 'd' object") from exc
    if isinstance(d.get("results"), list):
        return BatchReply(status, [ODataEntity.from_json(item) for item in d["results"]])
    return BatchReply(status, [ODataEntity.from_json(d, etag=headers.get("etag"))])
