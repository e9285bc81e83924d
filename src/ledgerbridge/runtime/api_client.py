"""The base of every published API client: typed calls over HTTP, problem+json raised as errors."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from ledgerbridge.runtime.errors import BackendUnavailable
from ledgerbridge.runtime.paging import Page
from ledgerbridge.runtime.problems import PROBLEM_MEDIA_TYPE, UpstreamProblem

ModelT = TypeVar("ModelT", bound=BaseModel)


class ApiClient:
    """Calls one API below through an ``httpx.AsyncClient`` the composition root hands over.

    Subclasses set ``base_path`` and add one typed method per operation.
    """

    base_path: str = ""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def _call(
        self,
        method: str,
        path: str,
        model: type[ModelT],
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ModelT:
        response = await self._send(method, path, json=json, params=params, headers=headers)
        return model.model_validate_json(response.content)

    async def _versioned(self, path: str, model: type[ModelT]) -> tuple[ModelT, str]:
        """The record at ``path`` and the ETag of the version read, for `_replace`."""
        response = await self._send("GET", path)
        return model.model_validate_json(response.content), response.headers["ETag"]

    async def _replace(self, path: str, record: ModelT, *, etag: str) -> ModelT:
        """PUT ``record`` at ``path`` if it is still the version ``etag``; what it became."""
        body = record.model_dump(mode="json")
        headers = {"If-Match": etag}
        return await self._call("PUT", path, type(record), json=body, headers=headers)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        try:
            response = await self._http.request(
                method, f"{self.base_path}{path}", json=json, params=params, headers=headers
            )
        except httpx.TransportError as exc:
            raise BackendUnavailable(
                f"{self.base_path} unreachable: {exc!r}", backend=self.base_path
            ) from exc
        if response.is_error:
            raise _problem_of(response)
        return response

    async def _page(
        self,
        path: str,
        model: type[ModelT],
        *,
        filters: dict[str, str | None],
        limit: int,
        cursor: str | None,
    ) -> Page[ModelT]:
        """One page of a list endpoint; filters left as None are not sent."""
        params = {name: value for name, value in filters.items() if value is not None}
        params["limit"] = str(limit)
        if cursor is not None:
            params["cursor"] = cursor
        return await self._call("GET", path, Page[model], params=params)  # type: ignore[valid-type]


def _problem_of(response: httpx.Response) -> UpstreamProblem:
    retry_after = _seconds(response.headers.get("Retry-After"))
    if response.headers.get("content-type", "").startswith(PROBLEM_MEDIA_TYPE):
        return UpstreamProblem(response.status_code, response.json(), retry_after=retry_after)
    return UpstreamProblem(
        response.status_code,
        {"title": "Upstream error", "detail": response.text[:200], "status": response.status_code},
        retry_after=retry_after,
    )


def _seconds(retry_after: str | None) -> int | None:
    """A Retry-After in delay-seconds (the form our layers send); None for anything else."""
    return int(retry_after) if retry_after is not None and retry_after.isdigit() else None
