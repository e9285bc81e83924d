"""Every System API's OpenAPI document shows an example of each JSON body it takes or gives."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ledgerbridge.bootstrap import open_house
from ledgerbridge.runtime.app_factory import Layer
from ledgerbridge.runtime.settings import Settings


@pytest.fixture
async def documents() -> AsyncIterator[dict[str, dict[str, Any]]]:
    """Each System API version's live OpenAPI document, by base path."""
    async with (
        open_house(Settings(), layers={Layer.SYSTEM}, migrate=False) as house,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=house.app), base_url="http://house"
        ) as http,
    ):
        found = {}
        for api in house.apis:
            response = await http.get(f"{api.base_path}/openapi.json")
            response.raise_for_status()
            found[api.base_path] = response.json()
        yield found


def _missing_examples(document: dict[str, Any]) -> list[str]:
    schemas = document.get("components", {}).get("schemas", {})
    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            bodies = {"request": operation.get("requestBody", {})} | {
                status: response
                for status, response in operation.get("responses", {}).items()
                if status.startswith("2")
            }
            for where, body in bodies.items():
                media = body.get("content", {}).get("application/json")
                if media is None:
                    continue
                ref = media.get("schema", {}).get("$ref", "")
                schema = schemas.get(ref.rsplit("/", 1)[-1], media.get("schema", {}))
                if not {"example", "examples"} & (media.keys() | schema.keys()):
                    missing.append(f"{method.upper()} {path} {where}")
    return missing


async def test_every_system_api_is_documented(documents: dict[str, dict[str, Any]]) -> None:
    """All fourteen System APIs (and backend health) publish a document."""
    names = {base.split("/")[2] for base in documents}
    assert len(names - {"backend-health"}) == 14, sorted(names)


async def test_every_json_body_has_an_example(documents: dict[str, dict[str, Any]]) -> None:
    """Each operation with a JSON request body or 2xx JSON response shows an example of it."""
    missing = {base: _missing_examples(doc) for base, doc in documents.items()}
    assert {base: gaps for base, gaps in missing.items() if gaps} == {}


async def test_examples_are_valid_bodies(documents: dict[str, dict[str, Any]]) -> None:
    """The batch and page examples hold records of the API's own model."""
    accounts = documents["/system/crm-accounts/v1"]["paths"]
    batch = accounts["/accounts/batch"]["post"]
    request = batch["requestBody"]["content"]["application/json"]["example"]
    assert request["records"][0]["name"] == "Meridian Capital Partners AG"
    answer = batch["responses"]["200"]["content"]["application/json"]["example"]
    assert (answer["written"], answer["refused"]) == (1, 1)
    page = accounts["/accounts"]["get"]["responses"]["200"]["content"]["application/json"]
    assert page["example"]["items"][0]["erp_id"] == "1000042"
