"""Realistic examples of the System APIs' bodies, written into each OpenAPI document.

Each example is one record as the integration sees it (a Frankfurt asset manager buying
custody services), validated by its model when the document is built, so an example can
never drift from its schema. `add_examples` gives every JSON request body and 2xx JSON
response that has no example of its own the example of its schema: a model's own, or a
page (``Page[X]``) or batch (``Batch[X]``) made of X's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from ledgerbridge.apis.system.backend_health.client import BreakerStates
from ledgerbridge.apis.system.crm_orders.client import (
    BillingStatus,
    ErpLink,
    OrderLinePage,
    OrderSummary,
)
from ledgerbridge.canonical import (
    Case,
    Contact,
    Opportunity,
    Order,
    Party,
    Price,
    PriceBook,
    Product,
    SalesOrderState,
)
from ledgerbridge.runtime.batch import BatchResult

_EUR = "EUR"
_ADDRESS = {
    "street": "Taunusanlage 12",
    "city": "Frankfurt am Main",
    "postal_code": "60325",
    "region": "HE",
    "country": "DE",
}
_LINE = {
    "line_number": 1,
    "product_sku": "CUST-PRO",
    "product_crm_id": "01t5g00000Ab3CdAAJ",
    "description": "Custody account, professional tier",
    "quantity": "3",
    "unit": "EA",
    "unit_price": {"amount": "1250.00", "currency": _EUR},
    "net_amount": {"amount": "3750.00", "currency": _EUR},
}
_ORDER: dict[str, Any] = {
    "crm_id": "8015g00000XyZ12AAB",
    "crm_number": "00000417",
    "erp_number": None,
    "customer_crm_id": "0015g00000Qm7RtAAJ",
    "customer_erp_id": "1000042",
    "order_date": "2026-11-24",
    "currency": _EUR,
    "status": "activated",
    "po_number": "PO-2026-4711",
    "lines": [_LINE],
    "net_total": {"amount": "3750.00", "currency": _EUR},
}

_EXAMPLES: dict[str, tuple[type[BaseModel], dict[str, Any]]] = {
    "Party": (
        Party,
        {
            "crm_id": "0015g00000Qm7RtAAJ",
            "erp_id": "1000042",
            "name": "Meridian Capital Partners AG",
            "account_number": "CUST-0042",
            "billing_address": _ADDRESS,
            "phone": "+49 69 9130 4200",
            "currency": _EUR,
        },
    ),
    "Contact": (
        Contact,
        {
            "crm_id": "0035g00000Lk2PqAAJ",
            "account_crm_id": "0015g00000Qm7RtAAJ",
            "salutation": "Ms.",
            "first_name": "Ada",
            "last_name": "Byron",
            "title": "Head of Treasury",
            "email": "ada.byron@meridian-capital.example",
            "phone": "+49 69 9130 4211",
            "mailing_address": _ADDRESS,
        },
    ),
    "Opportunity": (
        Opportunity,
        {
            "crm_id": "0065g00000Hj8KlAAJ",
            "account_crm_id": "0015g00000Qm7RtAAJ",
            "name": "Custody mandate 2027",
            "stage": "negotiation",
            "close_date": "2026-12-15",
            "currency": _EUR,
            "amount": {"amount": "120000.00", "currency": _EUR},
            "probability": "75",
        },
    ),
    "Case": (
        Case,
        {
            "crm_id": "5005g00000Rt4UvAAJ",
            "case_number": "00001024",
            "account_crm_id": "0015g00000Qm7RtAAJ",
            "order_crm_id": "8015g00000XyZ12AAB",
            "subject": "Invoice 90000017 amount disputed",
            "description": "The customer was billed four custody accounts; the order has three.",
            "status": "working",
            "priority": "high",
            "origin": "Email",
            "opened_at": "2026-11-24T09:15:00Z",
        },
    ),
    "PriceBook": (
        PriceBook,
        {
            "crm_id": "01s5g00000Fg6HiAAJ",
            "name": "Institutional 2027",
            "active": True,
            "standard": False,
        },
    ),
    "Price": (
        Price,
        {
            "crm_id": "01u5g00000Cd2EfAAJ",
            "price_book_crm_id": "01s5g00000Fg6HiAAJ",
            "product_sku": "CUST-PRO",
            "product_crm_id": "01t5g00000Ab3CdAAJ",
            "unit_price": {"amount": "1250.00", "currency": _EUR},
            "per_quantity": "1",
            "unit": "EA",
            "valid_from": "2027-01-01",
            "valid_to": "2027-12-31",
            "active": True,
        },
    ),
    "Product": (
        Product,
        {
            "crm_id": "01t5g00000Ab3CdAAJ",
            "erp_id": "CUST-PRO",
            "sku": "CUST-PRO",
            "name": "Custody account, professional tier",
            "unit": "EA",
            "active": True,
        },
    ),
    "Order": (Order, _ORDER),
    "SalesOrderState": (
        SalesOrderState,
        {
            "erp_number": "4500001234",
            "external_reference": "8015g00000XyZ12AAB",
            "customer_erp_id": "1000042",
            "po_number": "PO-2026-4711",
            "order_date": "2026-11-24",
            "currency": _EUR,
            "status": "in_erp",
            "net_total": {"amount": "3750.00", "currency": _EUR},
            "lines": [
                {
                    "item_number": "10",
                    "product_sku": "CUST-PRO",
                    "description": "Custody account, professional tier",
                    "quantity": "3",
                    "unit": "EA",
                    "unit_price": {"amount": "1250.00", "currency": _EUR},
                    "net_amount": {"amount": "3750.00", "currency": _EUR},
                }
            ],
        },
    ),
    "ErpLink": (ErpLink, {"erp_order_number": "4500001234"}),
    "BillingStatus": (
        BillingStatus,
        {"invoice_status": "Invoiced", "payment_status": "Partially Paid"},
    ),
    "OrderSummary": (
        OrderSummary,
        {k: v for k, v in _ORDER.items() if k not in ("lines", "customer_erp_id")}
        | {"erp_number": "4500001234", "status": "in_erp", "line_count": 1},
    ),
    "OrderLinePage": (
        OrderLinePage,
        {"items": [_LINE], "total": 1, "offset": 0, "limit": 50},
    ),
    "BreakerStates": (
        BreakerStates,
        {
            "breakers": [
                {
                    "backend": "salesforce",
                    "state": "closed",
                    "failures": 0,
                    "threshold": 5,
                    "reset_timeout_seconds": 30.0,
                },
                {
                    "backend": "s4hana",
                    "state": "open",
                    "failures": 5,
                    "threshold": 5,
                    "reset_timeout_seconds": 30.0,
                    "retry_after_seconds": 12,
                },
            ]
        },
    ),
    "BatchResult": (
        BatchResult,
        {
            "results": [
                {"index": 0, "id": "0015g00000Qm7RtAAJ", "created": True},
                {
                    "index": 1,
                    "problem": {
                        "title": "Record not written",
                        "detail": "STRING_TOO_LONG: Account Number: data value too large",
                        "errors": [
                            {
                                "field": "records.1.AccountNumber",
                                "message": "STRING_TOO_LONG: Account Number: data value too large",
                            }
                        ],
                    },
                },
            ],
            "written": 1,
            "refused": 1,
        },
    ),
}

_WRAPPERS: dict[str, Callable[[Any], Any]] = {
    "Page_": lambda item: {
        "items": [item],
        "next_cursor": "eyJhZnRlciI6IjAwMTVnMDAwMDBRbTdSdEFBSiJ9",
    },
    "Batch_": lambda item: {"records": [item]},
}


def example_of(schema_name: str) -> Any:
    """The example for a component schema of a System API's document, or None."""
    name = schema_name.removesuffix("-Input").removesuffix("-Output")
    for prefix, wrap in _WRAPPERS.items():
        if name.startswith(prefix) and name.endswith("_"):
            item = example_of(name[len(prefix) : -1])
            return None if item is None else wrap(item)
    found = _EXAMPLES.get(name)
    if found is None:
        return None
    model, example = found
    return model.model_validate(example).model_dump(mode="json", exclude_none=True)


def add_examples(app: FastAPI) -> FastAPI:
    """Make ``app``'s OpenAPI document carry an example on each JSON body that lacks one."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        document = build()
        for operation in (op for path in document["paths"].values() for op in path.values()):
            bodies = [operation.get("requestBody", {})] + [
                response
                for status, response in operation.get("responses", {}).items()
                if status.startswith("2")
            ]
            for body in bodies:
                media = body.get("content", {}).get("application/json")
                ref = (media or {}).get("schema", {}).get("$ref")
                if media is None or ref is None or "example" in media or "examples" in media:
                    continue
                example = example_of(ref.rsplit("/", 1)[-1])
                if example is not None:
                    media["example"] = example
        return document

    app.openapi = openapi  # type: ignore[method-assign]
    return app
