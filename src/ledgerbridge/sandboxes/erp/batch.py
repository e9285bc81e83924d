"""OData V2 $batch: multipart/mixed requests with change sets, answered 202.

Retrieve parts run one by one; a change set runs in order inside one transaction, so
either all its writes commit or (on the first refusal) none does and the change set is
answered by that single error, as SAP Gateway does.
"""

from __future__ import annotations

import email
import email.message
import secrets
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import unquote

from ledgerbridge.sandboxes.erp.dispatch import WRITE_METHODS, Call, Dispatcher, Reply
from ledgerbridge.sandboxes.erp.errors import ODataError, bad_request
from ledgerbridge.sandboxes.erp.store import Store

_CRLF = "\r\n"


@dataclass(frozen=True)
class ChangeSet:
    """Writes that commit together, in order."""

    calls: tuple[Call, ...]


Part = Call | ChangeSet


def parse_batch(body: bytes, content_type: str, service_path: str) -> list[Part]:
    """Split a $batch body into retrieve calls and change sets."""
    if "multipart/mixed" not in content_type or "boundary=" not in content_type:
        raise bad_request("A $batch request must be multipart/mixed with a boundary")
    message = email.message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    if not message.is_multipart():
        raise bad_request("The $batch body has no parts")
    parts: list[Part] = []
    for part in _subparts(message):
        if part.get_content_type() == "multipart/mixed":
            calls = tuple(_call(sub, service_path) for sub in _subparts(part))
            if any(c.method not in WRITE_METHODS for c in calls):
                raise bad_request("A change set may contain only POST, PUT, PATCH, MERGE or DELETE")
            parts.append(ChangeSet(calls))
        else:
            call = _call(part, service_path)
            if call.method != "GET":
                raise bad_request("Writes in a $batch must be inside a change set")
            parts.append(call)
    return parts


def _subparts(message: email.message.Message) -> list[email.message.Message]:
    payload = message.get_payload()
    if not isinstance(payload, list):
        raise bad_request("Malformed multipart content in $batch")
    return [p for p in payload if isinstance(p, email.message.Message)]


def _call(part: email.message.Message, service_path: str) -> Call:
    if part.get_content_type() != "application/http":
        raise bad_request("Each $batch part must be application/http")
    raw = part.get_payload()
    if not isinstance(raw, str):
        raise bad_request("Malformed application/http part in $batch")
    text = raw.replace("\r\n", "\n")
    head, _, body = text.lstrip("\n").partition("\n\n")
    request_line, *header_lines = head.split("\n")
    try:
        method, target, _version = request_line.split(" ")
    except ValueError as exc:
        raise bad_request(f"Malformed request line in $batch: '{request_line}'") from exc
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    # Parts inherit JSON: clients rarely repeat Accept on every part.
    headers.setdefault("Accept", "application/json")
    path, _, query = target.partition("?")
    path = unquote(path)
    if service_path in path:
        path = path.split(service_path, 1)[1]
    return Call(method.upper(), path.lstrip("/"), query, headers, body.rstrip("\n").encode())


def run_batch(dispatcher: Dispatcher, store: Store, parts: list[Part]) -> tuple[bytes, str]:
    """Execute the parts; return the multipart body and its content type."""
    boundary = f"batchresponse_{secrets.token_hex(8)}"
    chunks: list[str] = []
    for part in parts:
        chunks.append(f"--{boundary}")
        if isinstance(part, Call):
            chunks.append(_http_part(dispatcher.handle(part)))
            continue
        replies = _run_change_set(dispatcher, store, part)
        if len(replies) == 1 and replies[0].status >= 400:
            chunks.append(_http_part(replies[0]))
            continue
        inner = f"changesetresponse_{secrets.token_hex(8)}"
        lines = [f"Content-Type: multipart/mixed; boundary={inner}", ""]
        for reply in replies:
            lines += [f"--{inner}", _http_part(reply)]
        lines.append(f"--{inner}--")
        chunks.append(_CRLF.join(lines))
    chunks.append(f"--{boundary}--")
    return (_CRLF.join(chunks) + _CRLF).encode(), f"multipart/mixed; boundary={boundary}"


def _run_change_set(dispatcher: Dispatcher, store: Store, change_set: ChangeSet) -> list[Reply]:
    try:
        with store.transaction():
            return [dispatcher.execute(call) for call in change_set.calls]
    except ODataError as error:
        return [Reply.error(error)]


def _http_part(reply: Reply) -> str:
    lines = [
        "Content-Type: application/http",
        "Content-Transfer-Encoding: binary",
        "",
        f"HTTP/1.1 {reply.status} {HTTPStatus(reply.status).phrase}",
    ]
    if reply.media_type:
        lines.append(f"Content-Type: {reply.media_type}")
    lines += [f"{name}: {value}" for name, value in reply.headers.items()]
    lines += [f"Content-Length: {len(reply.body)}", "", reply.body.decode()]
    return _CRLF.join(lines)
