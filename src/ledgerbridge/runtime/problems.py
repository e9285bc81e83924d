"""RFC 9457 problem+json: the single error body of every API, and the handlers that produce it."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from ledgerbridge.runtime import errors
from ledgerbridge.runtime.context import correlation_id_var

PROBLEM_MEDIA_TYPE = "application/problem+json"
_TYPE_BASE = "https://ledgerbridge.dev/problems/"


class FieldProblem(BaseModel):
    """One offending field: where it is (dotted path) and what is wrong with it."""

    field: str
    message: str


class Problem(BaseModel):
    """The body of every error response (RFC 9457)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    correlation_id: str | None = None
    errors: list[FieldProblem] = []


class UpstreamProblem(errors.LedgerbridgeError):
    """A layer below answered with problem+json; passed on with its status and fields."""

    def __init__(
        self, status: int, body: dict[str, Any], *, retry_after: int | None = None
    ) -> None:
        super().__init__(str(body.get("detail") or body.get("title") or "upstream error"))
        self.status = status
        self.body = body
        # Seconds the layer below asked us to wait (its Retry-After), when it said.
        self.retry_after = retry_after


def problem_response(
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    kind: str | None = None,
    instance: str | None = None,
    field_errors: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Build a problem+json response; ``kind`` names the problem type (a full URI passes as is)."""
    type_uri = kind if kind is None or ":" in kind else f"{_TYPE_BASE}{kind}"
    body = Problem(
        type=type_uri or "about:blank",
        title=title or HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=instance,
        correlation_id=correlation_id_var.get(),
        errors=field_errors or [],
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] or parts
    return ".".join(parts)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = [FieldProblem(field=_field_path(e["loc"]), message=e["msg"]) for e in exc.errors()]
    names = ", ".join(f.field for f in fields)
    return problem_response(
        422,
        title="Invalid request",
        detail=f"invalid field(s): {names}",
        kind="validation",
        instance=request.url.path,
        field_errors=fields,
    )


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return problem_response(
        exc.status_code,
        detail=str(exc.detail) if exc.detail else None,
        instance=request.url.path,
        headers=dict(exc.headers) if exc.headers else None,
    )


_CONNECTOR_STATUS: dict[type[errors.ConnectorError], tuple[int, str]] = {
    errors.NotFound: (404, "not-found"),
    errors.PreconditionFailed: (412, "precondition-failed"),
    errors.Conflict: (409, "conflict"),
    errors.BackendRejected: (422, "backend-rejected"),
    errors.AuthFailed: (502, "backend-auth-failed"),
    errors.BackendUnavailable: (503, "backend-unavailable"),
}


async def _ledgerbridge(request: Request, exc: Exception) -> JSONResponse:
    path = request.url.path
    if isinstance(exc, UpstreamProblem):
        body = exc.body
        return problem_response(
            exc.status,
            title=body.get("title"),
            detail=body.get("detail"),
            kind=body.get("type"),
            instance=path,
            field_errors=[FieldProblem.model_validate(e) for e in body.get("errors", [])],
        )
    if isinstance(exc, errors.MappingError):
        return problem_response(
            422,
            title="Record cannot be mapped",
            detail=exc.message,
            kind="mapping",
            instance=path,
            field_errors=[FieldProblem(field=exc.field, message=f"failed rule {exc.rule}")],
        )
    if isinstance(exc, errors.IdempotencyConflict):
        return problem_response(422, detail=exc.message, kind="idempotency-key", instance=path)
    if isinstance(exc, errors.ConnectorError):
        status, kind = next(
            (v for k, v in _CONNECTOR_STATUS.items() if isinstance(exc, k)), (502, "backend")
        )
        # A paused backend (open breaker, rate limit) knows when to try again; tell the caller.
        retry_after = (
            {"Retry-After": str(exc.retry_after)} if isinstance(exc, errors.BackendPaused) else None
        )
        return problem_response(
            status,
            detail=f"{exc.backend}: {exc.message}",
            kind=kind,
            instance=path,
            field_errors=[FieldProblem(field=f, message=exc.message) for f in exc.fields],
            headers=retry_after,
        )
    raise exc


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error of ``app`` answer as problem+json."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(errors.LedgerbridgeError, _ledgerbridge)
