"""Fill a fresh Tryton database with the demo data, over JSON-RPC as the administrator.

The same steps a person takes in the Tryton client: countries, currency, company, chart of
accounts, fiscal years, payment term and method, products, customers, the integration user.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pycountry

from ledgerbridge.connectors.tryton import TrytonClient, WizardStep
from ledgerbridge.tryton_setup import _dataset as data

SEED_STEPS = 8
"""How many progress steps ``seed`` reports."""


async def seed(tryton: TrytonClient, *, year: int, step: Callable[[str], None]) -> None:
    """Create the demo data; ``step`` is called before each of the SEED_STEPS steps.

    Args:
        tryton: a client logged in as the administrator of an empty database.
        year: the first fiscal year (the next one is created too).
        step: told what is being created, for a progress display.
    """
    step("countries")
    await _countries(tryton)
    step("company and currency")
    company = await _company(tryton)
    step("chart of accounts")
    accounts = await _chart(tryton, company)
    step("fiscal years")
    for fiscal_year in (year, year + 1):
        await _fiscal_year(tryton, company, fiscal_year)
    step("payment term and method")
    await _payment(tryton, company, accounts["cash"])
    step("products")
    await _products(tryton, accounts)
    step("customers")
    await _customers(tryton)
    step("integration user")
    await _integration_user(tryton, company)


async def _xml_id(tryton: TrytonClient, module: str, name: str) -> int:
    return int(await tryton.call_model("ir.model.data", "get_id", module, name))


async def _countries(tryton: TrytonClient) -> None:
    """Every ISO 3166 country, as Tryton's own import script gives them: addresses need one."""
    await tryton.create(
        "country.country",
        [
            {
                "name": country.name,
                "code": country.alpha_2,
                "code3": country.alpha_3,
                "code_numeric": country.numeric,
            }
            for country in pycountry.countries
        ],
    )


async def _company(tryton: TrytonClient) -> int:
    [currency] = await tryton.create(
        "currency.currency",
        [
            {
                "name": "U.S. Dollar",
                "code": data.CURRENCY_CODE,
                "symbol": "$",
                "rounding": Decimal("0.01"),
                "digits": 2,
                "rates": [["create", [{"date": dt.date(1970, 1, 1), "rate": Decimal(1)}]]],
            }
        ],
    )
    [party] = await tryton.create("party.party", [{"name": data.COMPANY_NAME}])
    await tryton.execute_wizard(
        "company.company.config",
        steps=[
            WizardStep("company"),
            WizardStep("add", {"party": party, "currency": currency}),
        ],
    )
    await tryton.refresh_context()
    [company] = await tryton.search("company.company", [["party", "=", party]])
    return company


async def _chart(tryton: TrytonClient, company: int) -> dict[str, int]:
    template = await _xml_id(tryton, "account", "account_template_root_en")
    async with tryton.wizard("account.create_chart") as wizard:
        await wizard.press("account")
        await wizard.press("create_account", {"company": company, "account_template": template})
        accounts = {
            kind: await _account(tryton, company, [[f"type.{kind}", "=", True]])
            for kind in ("receivable", "payable", "revenue", "expense")
        }
        accounts["cash"] = await _account(tryton, company, [["code", "=", "1.1.1"]])
        # The last form sets the accounts every new party and product category inherits.
        await wizard.press(
            "create_properties",
            {
                "company": company,
                "account_receivable": accounts["receivable"],
                "account_payable": accounts["payable"],
                "category_account_revenue": accounts["revenue"],
                "category_account_expense": accounts["expense"],
            },
        )
    return accounts


async def _account(tryton: TrytonClient, company: int, domain: list[Any]) -> int:
    ids = await tryton.search(
        "account.account",
        [["company", "=", company], ["closed", "!=", True], *domain],
        limit=1,
    )
    if not ids:
        raise RuntimeError(f"the demo chart has no account matching {domain}")
    return ids[0]


async def _fiscal_year(tryton: TrytonClient, company: int, year: int) -> None:
    move_type = await _xml_id(tryton, "account", "sequence_type_account_move")
    invoice_type = await _xml_id(tryton, "account_invoice", "sequence_type_account_invoice")
    move_sequence, invoice_sequence = await tryton.create(
        "ir.sequence.strict",
        [
            {"name": f"Moves {year}", "sequence_type": move_type, "company": company},
            {"name": f"Invoices {year}", "sequence_type": invoice_type, "company": company},
        ],
    )
    [fiscal_year] = await tryton.create(
        "account.fiscalyear",
        [
            {
                "name": str(year),
                "company": company,
                "start_date": dt.date(year, 1, 1),
                "end_date": dt.date(year, 12, 31),
                "move_sequence": move_sequence,
                "invoice_sequences": [
                    [
                        "create",
                        [
                            {
                                "company": company,
                                "out_invoice_sequence": invoice_sequence,
                                "in_invoice_sequence": invoice_sequence,
                                "out_credit_note_sequence": invoice_sequence,
                                "in_credit_note_sequence": invoice_sequence,
                            }
                        ],
                    ]
                ],
            }
        ],
    )
    await tryton.button("account.fiscalyear", "create_period", [fiscal_year])


async def _payment(tryton: TrytonClient, company: int, cash_account: int) -> None:
    await tryton.create(
        "account.invoice.payment_term",
        [
            {
                "name": data.PAYMENT_TERM_NAME,
                "lines": [
                    [
                        "create",
                        [
                            {
                                "type": "remainder",
                                "relativedeltas": [["create", [{"days": 30}]]],
                            }
                        ],
                    ]
                ],
            }
        ],
    )
    [journal] = await tryton.search("account.journal", [["type", "=", "cash"]], limit=1)
    await tryton.create(
        "account.invoice.payment.method",
        [
            {
                "name": data.PAYMENT_METHOD_NAME,
                "company": company,
                "journal": journal,
                "credit_account": cash_account,
                "debit_account": cash_account,
            }
        ],
    )


async def _products(tryton: TrytonClient, accounts: dict[str, int]) -> None:
    [category] = await tryton.create(
        "product.category",
        [
            {
                "name": data.PRODUCT_CATEGORY_NAME,
                "accounting": True,
                "account_revenue": accounts["revenue"],
                "account_expense": accounts["expense"],
            }
        ],
    )
    unit = await _xml_id(tryton, "product", "uom_unit")
    await tryton.create(
        "product.template",
        [
            {
                "name": product.name,
                "code": product.code,
                "type": "service",
                "default_uom": unit,
                "sale_uom": unit,
                "salable": True,
                "list_price": product.list_price,
                "account_category": category,
                "products": [["create", [{}]]],
            }
            for product in data.PRODUCTS
        ],
    )


async def _customers(tryton: TrytonClient) -> None:
    await tryton.create(
        "party.party",
        [
            {
                "name": customer.name,
                "identifiers": [["create", [{"code": customer.crm_id}]]],
                "addresses": [
                    [
                        "create",
                        [
                            {
                                "street": customer.street,
                                "postal_code": customer.postal_code,
                                "city": customer.city,
                            }
                        ],
                    ]
                ],
                **(
                    {"credit_limit_amount": customer.credit_limit}
                    if customer.credit_limit is not None
                    else {}
                ),
            }
            for customer in data.CUSTOMERS
        ],
    )


async def _integration_user(tryton: TrytonClient, company: int) -> None:
    groups = [
        await _xml_id(tryton, module, name)
        for module, name in (
            ("sale", "group_sale"),
            ("sale", "group_sale_admin"),
            ("account", "group_account"),
            ("party", "group_party_admin"),
            ("product", "group_product_admin"),
        )
    ]
    await tryton.create(
        "res.user",
        [
            {
                "name": "ledgerbridge integration",
                "login": data.INTEGRATION_LOGIN,
                "password": data.INTEGRATION_PASSWORD,
                "groups": [["add", groups]],
                "companies": [["add", [company]]],
                "company": company,
            }
        ],
    )
