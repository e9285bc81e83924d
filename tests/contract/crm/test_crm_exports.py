"""The public surfaces of the Salesforce connector and the CRM sandbox do not drift."""

from __future__ import annotations

import inspect

import pytest

import ledgerbridge.connectors.salesforce as connector
import ledgerbridge.sandboxes.crm as sandbox


@pytest.mark.parametrize("package", [connector, sandbox])
def test_all_is_sorted_and_complete(package: object) -> None:
    """__all__ is sorted and names every public attribute the package defines."""
    exported = list(package.__all__)  # type: ignore[attr-defined]
    public = {
        name
        for name, value in vars(package).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert exported == sorted(exported)
    assert set(exported) == public


def test_the_connector_signature_is_stable() -> None:
    """SalesforceClient keeps the keyword-only constructor others build on."""
    parameters = inspect.signature(connector.SalesforceClient).parameters
    assert list(parameters)[:6] == [
        "base_url",
        "client_id",
        "client_secret",
        "api_version",
        "transport",
        "timeout",
    ]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters.values())


def test_the_sandbox_factory_signature_is_stable() -> None:
    """create_app keeps its keyword-only parameters and defaults."""
    parameters = inspect.signature(sandbox.create_app).parameters
    defaults = {name: p.default for name, p in parameters.items()}
    assert {
        "database": ":memory:",
        "client_id": "ledgerbridge",
        "client_secret": "sandbox-secret",
        "api_version": "59.0",
    }.items() <= defaults.items()
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters.values())
