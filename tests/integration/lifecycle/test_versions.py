"""Versions side by side: v1 and v2 served together, deprecation headers, 410 after sunset."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime

import pytest
from tests.integration.lifecycle.conftest import Deployed, crm_order, run_order

from ledgerbridge.bootstrap import open_house
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer
from ledgerbridge.runtime.settings import Settings
from ledgerbridge.runtime.versioning import (
    Lifecycle,
    LifecyclePolicyViolation,
    check_lifecycle_policy,
    earliest_sunset,
)

PROBLEM = "application/problem+json"
V1_DEPRECATED = datetime(2026, 11, 1, tzinfo=UTC)
V1_SUNSET = datetime(2028, 5, 1, tzinfo=UTC)


async def test_crm_orders_v1_and_v2_answer_the_same_order_in_their_own_shapes(
    deployed: Deployed,
) -> None:
    """v1 embeds the lines; v2 gives the header with a line count and pages the lines."""
    order = await crm_order(deployed)
    v1 = await deployed.http.get(f"/system/crm-orders/v1/orders/{order}")
    v2 = await deployed.http.get(f"/system/crm-orders/v2/orders/{order}")
    assert (v1.status_code, v2.status_code) == (200, 200)
    assert len(v1.json()["lines"]) == 2
    assert "lines" not in v2.json()
    assert "currency" not in v2.json()
    assert v2.json()["line_count"] == 2
    assert Decimal(v2.json()["net_total"]["amount"]) == Decimal(v1.json()["net_total"]["amount"])
    page = await deployed.http.get(
        f"/system/crm-orders/v2/orders/{order}/lines", params={"offset": 1, "limit": 1}
    )
    assert page.status_code == 200
    assert page.json()["total"] == 2
    assert [line["line_number"] for line in page.json()["items"]] == [
        v1.json()["lines"][1]["line_number"]
    ]


async def test_portal_v1_and_v2_show_one_order_with_a_breaking_change_between_them(
    deployed: Deployed,
) -> None:
    """Portal v1 keeps its flat status; v2 nests the state and adds the CRM total."""
    order = await run_order(deployed)
    v1 = await deployed.http.get(f"/experience/customer-portal/v1/orders/{order}/status")
    v2 = await deployed.http.get(f"/experience/customer-portal/v2/orders/{order}")
    assert (v1.status_code, v2.status_code) == (200, 200), v2.text
    assert v1.json()["status"] == "in_erp"
    assert v2.json()["state"] == {"code": "in_erp", "label": v1.json()["label"]}
    assert v2.json()["erp_reference"] == v1.json()["erp_order_number"]
    assert v2.json()["total"] == {"amount": "999.50", "currency": "EUR"}
    assert [e["label"] for e in v2.json()["timeline"]] == [e["label"] for e in v1.json()["history"]]
    gone_in_v2 = await deployed.http.get(f"/experience/customer-portal/v2/orders/{order}/status")
    assert gone_in_v2.status_code == 404


async def test_a_deprecated_version_says_so_and_names_its_successor(deployed: Deployed) -> None:
    """crm-orders v1 answers Deprecation (@epoch), Sunset (HTTP-date) and both Link relations."""
    order = await crm_order(deployed)
    v1 = await deployed.http.get(f"/system/crm-orders/v1/orders/{order}")
    assert v1.headers["Deprecation"] == f"@{int(V1_DEPRECATED.timestamp())}"
    assert v1.headers["Sunset"] == "Mon, 01 May 2028 00:00:00 GMT"
    assert parsedate_to_datetime(v1.headers["Sunset"]) == V1_SUNSET
    link = v1.headers["Link"]
    assert '</system/crm-orders/v1/lifecycle>; rel="deprecation"' in link
    assert '</system/crm-orders/v2>; rel="successor-version"' in link
    v2 = await deployed.http.get(f"/system/crm-orders/v2/orders/{order}")
    assert not {"Deprecation", "Sunset", "Link"} & set(v2.headers)


async def test_after_its_sunset_a_version_is_gone_and_points_to_its_successor(
    deployed: Deployed,
) -> None:
    """With the clock past the sunset, v1 answers 410 problem+json naming v2; v2 still serves."""
    order = await crm_order(deployed)
    deployed.house.insight.clock.fixed = datetime(2028, 5, 1, 0, 0, 1, tzinfo=UTC)
    gone = await deployed.http.get(f"/system/crm-orders/v1/orders/{order}")
    assert gone.status_code == 410
    assert gone.headers["content-type"] == PROBLEM
    assert gone.json()["successor_version"] == "/system/crm-orders/v2"
    assert "2028-05-01" in gone.json()["detail"]
    assert 'rel="successor-version"' in gone.headers["Link"]
    assert (await deployed.http.get(f"/system/crm-orders/v2/orders/{order}")).status_code == 200
    assert (await deployed.http.get("/system/crm-orders/v1/healthz")).status_code == 200
    deployed.house.insight.clock.fixed = datetime(2028, 4, 30, 23, 59, 59, tzinfo=UTC)
    assert (await deployed.http.get(f"/system/crm-orders/v1/orders/{order}")).status_code == 200


async def test_the_lifecycle_resource_tells_status_dates_and_successor(deployed: Deployed) -> None:
    """GET <v1>/lifecycle answers the version's status, dates and successor."""
    answer = (await deployed.http.get("/system/crm-orders/v1/lifecycle")).json()
    assert answer["status"] == "deprecated"
    assert answer["successor"] == "/system/crm-orders/v2"
    assert answer["sunset"].startswith("2028-05-01")


def _meta(lifecycle: Lifecycle) -> ApiMetadata:
    return ApiMetadata(
        name="crm-quotes",
        layer=Layer.SYSTEM,
        version=1,
        owner="t",
        summary="t",
        lifecycle=lifecycle,
    )


def test_governance_refuses_a_sunset_sooner_than_the_policy_window() -> None:
    """A sunset 17 months after deprecation breaks the 18-month policy; 18 months passes."""
    deprecated = datetime(2026, 8, 31, tzinfo=UTC)
    too_soon = _meta(Lifecycle(deprecated=deprecated, sunset=datetime(2028, 1, 31, tzinfo=UTC)))
    with pytest.raises(LifecyclePolicyViolation, match="crm-quotes v1"):
        check_lifecycle_policy([too_soon])
    in_time = _meta(Lifecycle(deprecated=deprecated, sunset=earliest_sunset(deprecated, 18)))
    check_lifecycle_policy([in_time])
    assert earliest_sunset(deprecated, 18) == datetime(2028, 2, 29, tzinfo=UTC)


async def test_a_house_refuses_to_start_when_a_declared_sunset_breaks_the_policy() -> None:
    """With a 24-month window configured, crm-orders v1 (18 months) stops the house opening."""
    settings = Settings(
        database_url="sqlite+aiosqlite:///:memory:", lifecycle={"deprecation_window_months": 24}
    )
    with pytest.raises(LifecyclePolicyViolation, match="crm-orders v1"):
        async with open_house(settings, migrate=False):
            pass


def test_a_lifecycle_refuses_dates_without_a_zone_or_a_sunset_before_deprecation() -> None:
    """Naive dates, a sunset without deprecation and a sunset first are all refused."""
    with pytest.raises(ValueError, match="time zone"):
        Lifecycle(deprecated=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="once it is deprecated"):
        Lifecycle(sunset=V1_SUNSET)
    with pytest.raises(ValueError, match="after the deprecation"):
        Lifecycle(deprecated=V1_SUNSET, sunset=V1_DEPRECATED)
