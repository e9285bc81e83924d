"""Settings read from the environment: the bus namespace."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ledgerbridge.runtime.settings import Settings


def test_the_bus_namespace_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().bus_namespace == "ledgerbridge"
    monkeypatch.setenv("LEDGERBRIDGE_BUS_NAMESPACE", "bank-eu_2")
    assert Settings().bus_namespace == "bank-eu_2"


@pytest.mark.parametrize("namespace", ["", "bank.eu", "bank eu", "x" * 65])
def test_a_namespace_the_brokers_cannot_carry_is_refused(namespace: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(bus_namespace=namespace)
    assert raised.value.errors()[0]["loc"] == ("bus_namespace",)
