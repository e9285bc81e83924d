"""The Tryton adapter's finance capabilities: billing, receivables and payments, credit.

Strictly private to the Tryton adapter (`tryton.py`), which serves them as `ErpBilling`,
`ErpReceivables` and `ErpCredit`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ledgerbridge.apis.system._erp.port import Versioned
from ledgerbridge.apis.system._erp.tryton_records import (
    CREDIT_FIELDS,
    INVOICE_FIELDS,
    INVOICE_STATES,
    ISSUED,
    MOVE_LINE_FIELDS,
    PARTY_PAGE,
    PAYMENT,
    RECEIVABLE,
    etag,
    invoice_from,
    payment_from,
    plain,
    receivable_from,
)
from ledgerbridge.apis.system._erp.tryton_session import TrytonSession, int_id
from ledgerbridge.apis.system._erp.tryton_values import BACKEND
from ledgerbridge.canonical import (
    CreditExposure,
    CreditLimit,
    Invoice,
    InvoiceStatus,
    Money,
    Payment,
    ReceivableItem,
)
from ledgerbridge.connectors.tryton import TrytonRecord
from ledgerbridge.mapping import load_mapping
from ledgerbridge.runtime.errors import BackendRejected, NotFound, PreconditionFailed


class TrytonFinance(TrytonSession):
    """Issued customer invoices, receivable move lines, payments through Tryton's pay wizard,
    and the one credit limit Tryton keeps per customer and company (served as one segment)."""

    async def list_invoices(
        self,
        *,
        customer_erp_id: str | None,
        po_number: str | None,
        status: InvoiceStatus | None,
        changed_since: datetime | None,
        offset: int,
        limit: int,
    ) -> list[Invoice]:
        """See `ErpBilling.list_invoices`: issued customer invoices, by id.

        Tryton cannot search on what is left to pay, so open and partially paid invoices are
        told apart after reading every posted one that matches the other filters.
        """
        domain: list[Any] = list(ISSUED)
        if customer_erp_id is not None:
            domain.append(["party", "=", int_id(customer_erp_id)])
        if po_number is not None:
            domain.append(["sales.description", "=", po_number])
        if status is not None:
            domain.append(["state", "=", INVOICE_STATES[status]])
        if changed_since is not None:
            domain.append(
                ["OR", ["write_date", ">", changed_since], ["create_date", ">", changed_since]]
            )
        tryton = await self._client()
        if status in (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID):
            records = await tryton.search_read(
                "account.invoice", domain, INVOICE_FIELDS, order=[("id", "ASC")]
            )
            invoices = [invoice_from(record) for record in records]
            return [i for i in invoices if i.status is status][offset : offset + limit]
        records = await tryton.search_read(
            "account.invoice",
            domain,
            INVOICE_FIELDS,
            offset=offset,
            limit=limit,
            order=[("id", "ASC")],
        )
        return [invoice_from(record) for record in records]

    async def get_invoice(self, erp_number: str) -> Versioned[Invoice]:
        """See `ErpBilling.get_invoice`; a draft invoice is not issued, so not found."""
        record = await self._record("account.invoice", erp_number, INVOICE_FIELDS, ISSUED)
        return Versioned(invoice_from(record), etag(record))

    async def cancel_invoice(self, erp_number: str) -> tuple[Invoice, bool]:
        """See `ErpBilling.cancel_invoice`.

        Tryton cancels a posted customer invoice only where the company allows it
        (``cancel_invoice_out``); otherwise its refusal comes back as TrytonUserError.
        """
        async with self._writing:
            current = (await self.get_invoice(erp_number)).record
            if current.status is InvoiceStatus.CANCELLED:
                return current, False
            if current.status is not InvoiceStatus.OPEN:
                raise BackendRejected(
                    f"invoice {erp_number} is {current.status.value}: only unpaid invoices cancel",
                    backend=BACKEND,
                )
            await self._tryton.button("account.invoice", "cancel", [int(erp_number)])
        return (await self.get_invoice(erp_number)).record, True

    async def list_receivables(
        self,
        *,
        customer_erp_id: str | None,
        invoice_erp_number: str | None,
        cleared: bool | None,
        offset: int,
        limit: int,
    ) -> list[ReceivableItem]:
        """See `ErpReceivables.list_receivables`: receivable move lines, by id."""
        domain: list[Any] = list(RECEIVABLE)
        if customer_erp_id is not None:
            domain.append(["party", "=", int_id(customer_erp_id)])
        if invoice_erp_number is not None:
            domain.append(["move.origin", "=", f"account.invoice,{int_id(invoice_erp_number)}"])
        if cleared is not None:
            domain.append(["reconciliation", "!=" if cleared else "=", None])
        records = await self._lines(domain, offset=offset, limit=limit)
        currency = await self._company_currency()
        return [receivable_from(record, currency) for record in records]

    async def list_payments(
        self,
        *,
        customer_erp_id: str | None,
        reference: str | None,
        offset: int,
        limit: int,
    ) -> list[Payment]:
        """See `ErpReceivables.list_payments`: what the pay wizard posted, by id."""
        domain: list[Any] = list(PAYMENT)
        if customer_erp_id is not None:
            domain.append(["party", "=", int_id(customer_erp_id)])
        if reference is not None:
            domain.append(["move.description", "=", reference])
        records = await self._lines(domain, offset=offset, limit=limit)
        currency = await self._company_currency()
        return [payment_from(record, currency) for record in records]

    async def get_payment(self, company_code: str, fiscal_year: str, document: str) -> Payment:
        """See `ErpReceivables.get_payment`: the company id, the fiscal year's name and the
        move's number."""
        domain = [
            *PAYMENT,
            ["move.company", "=", int_id(company_code)],
            ["move.period.fiscalyear.name", "=", fiscal_year],
            ["move.number", "=", document],
        ]
        found = await self._lines(domain, offset=0, limit=1)
        if not found:
            raise NotFound(
                f"Tryton has no payment {document} in {company_code}/{fiscal_year}",
                backend=BACKEND,
            )
        return payment_from(found[0], await self._company_currency())

    async def post_payment(self, payment: Payment) -> tuple[Payment, bool]:
        """See `ErpReceivables.post_payment`, through Tryton's pay wizard.

        Pays the one invoice named, or the customer's oldest open one; the reference becomes
        the payment's description, by which a retry finds it. Less than is due leaves the rest
        open (a partial payment); more than is due is refused.
        """
        reference = _required(payment.reference, "reference")
        customer = _required(payment.customer_erp_id, "customer_erp_id")
        if len(payment.invoice_erp_numbers) > 1:
            raise BackendRejected(
                "a payment names at most one invoice; without one it pays the oldest open one",
                backend=BACKEND,
                fields=["invoice_erp_numbers"],
            )
        lookup = [
            *PAYMENT,
            ["party", "=", int_id(customer)],
            ["move.description", "=", reference],
        ]
        await self._client()
        async with self._writing:
            existing = await self._lines(lookup, offset=0, limit=1)
            if not existing:
                invoice = await self._invoice_to_pay(customer, payment.invoice_erp_numbers)
                await self._pay(invoice, payment, reference)
        found = existing or await self._lines(lookup, offset=0, limit=1)
        return payment_from(found[0], await self._company_currency()), not existing

    async def list_credit_limits(
        self,
        *,
        customer_erp_id: str | None,
        blocked: bool | None,
        offset: int,
        limit: int,
    ) -> list[CreditLimit]:
        """See `ErpCredit.list_credit_limits`; Tryton blocks no credit account."""
        if blocked:
            return []
        tryton = await self._client()
        domain: list[Any] = []
        if customer_erp_id is not None:
            domain.append(["id", "=", int_id(customer_erp_id)])
        # Tryton cannot search on the limit (a per-company value): page through the parties.
        found: list[TrytonRecord] = []
        start = 0
        while len(found) < offset + limit:
            page = await tryton.search_read(
                "party.party",
                domain,
                CREDIT_FIELDS,
                offset=start,
                limit=PARTY_PAGE,
                order=[("id", "ASC")],
            )
            found += [record for record in page if record["credit_limit_amount"] is not None]
            if len(page) < PARTY_PAGE:
                break
            start += PARTY_PAGE
        currency = await self._company_currency()
        return [self._credit_limit(record, currency) for record in found[offset : offset + limit]]

    async def get_credit_limit(self, customer_erp_id: str, segment: str) -> Versioned[CreditLimit]:
        """See `ErpCredit.get_credit_limit`."""
        record = await self._credit_record(customer_erp_id, segment)
        if record["credit_limit_amount"] is None:
            raise NotFound(
                f"Tryton has no credit limit for party {customer_erp_id} in segment {segment}",
                backend=BACKEND,
            )
        return Versioned(self._credit_limit(record, await self._company_currency()), etag(record))

    async def upsert_credit_limit(
        self, credit_limit: CreditLimit
    ) -> tuple[Versioned[CreditLimit], bool]:
        """See `ErpCredit.upsert_credit_limit`.

        Setting a limit needs Tryton's credit limit group; without it, Tryton's refusal comes
        back as TrytonUserError.
        """
        customer, segment = credit_limit.customer_erp_id, credit_limit.credit_segment
        async with self._writing:
            current = await self._credit_record(customer, segment)
            created = current["credit_limit_amount"] is None
            await self._set_credit_limit(credit_limit)
        return await self.get_credit_limit(customer, segment), created

    async def update_credit_limit(
        self, credit_limit: CreditLimit, *, etag: str
    ) -> Versioned[CreditLimit]:
        """See `ErpCredit.update_credit_limit`."""
        customer, segment = credit_limit.customer_erp_id, credit_limit.credit_segment
        async with self._writing:
            current = await self.get_credit_limit(customer, segment)
            if current.etag != etag:
                raise PreconditionFailed(
                    f"the credit limit of party {customer} changed since it was read",
                    backend=BACKEND,
                    status_code=412,
                    fields=["If-Match"],
                )
            await self._set_credit_limit(credit_limit)
        return await self.get_credit_limit(customer, segment)

    async def get_credit_exposure(self, customer_erp_id: str, segment: str) -> CreditExposure:
        """See `ErpCredit.get_credit_exposure`: Tryton's credit amount of the party.

        That is what sale_credit_limit checks a new sale against: receivables and the
        confirmed sales not invoiced yet, in the company currency.
        """
        limit = (await self.get_credit_limit(customer_erp_id, segment)).record
        [party] = await self._tryton.read(
            "party.party", [int_id(customer_erp_id)], ["credit_amount"]
        )
        return CreditExposure(
            customer_erp_id=limit.customer_erp_id,
            credit_segment=limit.credit_segment,
            limit=limit.limit,
            exposure=Money(amount=party["credit_amount"], currency=limit.limit.currency),
        )

    async def _lines(self, domain: Sequence[Any], *, offset: int, limit: int) -> list[TrytonRecord]:
        tryton = await self._client()
        return await tryton.search_read(
            "account.move.line",
            domain,
            MOVE_LINE_FIELDS,
            offset=offset,
            limit=limit,
            order=[("id", "ASC")],
        )

    async def _invoice_to_pay(self, customer: str, named: Sequence[str]) -> TrytonRecord:
        domain: list[Any] = [
            ["type", "=", "out"],
            ["state", "=", "posted"],
            ["party", "=", int_id(customer)],
        ]
        if named:
            domain.append(["id", "=", int_id(named[0])])
        found = await self._tryton.search_read(
            "account.invoice",
            domain,
            ["currency.code"],
            limit=1,
            order=[("invoice_date", "ASC"), ("id", "ASC")],
        )
        if not found:
            what = f"invoice {named[0]}" if named else "invoice"
            raise BackendRejected(
                f"customer {customer} has no open {what} to pay in Tryton",
                backend=BACKEND,
                fields=["invoice_erp_numbers" if named else "customer_erp_id"],
            )
        return found[0]

    async def _pay(self, invoice: TrytonRecord, payment: Payment, reference: str) -> None:
        if plain(invoice)["currency"]["code"] != payment.amount.currency:
            raise BackendRejected(
                f"invoice {invoice.id} is not in {payment.amount.currency}",
                backend=BACKEND,
                fields=["amount.currency"],
            )
        method = (
            await self._values.code_id(
                "account.invoice.payment.method", "name", self._payment_method_name
            )
            if self._payment_method_name is not None
            else None
        )
        if method is None:
            raise BackendRejected(
                "no payment method Tryton has is configured for incoming payments",
                backend=BACKEND,
            )
        async with self._tryton.wizard(
            "account.invoice.pay", model="account.invoice", ids=[invoice.id]
        ) as pay:
            if payment.amount.amount > pay.form["amount"]:
                raise BackendRejected(
                    f"{payment.amount} is more than the {pay.form['amount']} due on invoice"
                    f" {invoice.id}",
                    backend=BACKEND,
                    fields=["amount"],
                )
            await pay.press(
                "choice",
                {
                    "payment_method": method,
                    "amount": payment.amount.amount,
                    "date": payment.payment_date,
                    "description": reference,
                },
            )
            if pay.state == "ask":
                # Less than is due: keep the rest open, as a partial payment.
                await pay.press("pay", {"type": "partial"})

    async def _credit_record(self, customer_erp_id: str, segment: str) -> TrytonRecord:
        """The party with its credit limit in the user's company; NotFound in another segment."""
        if segment != self._credit_segment:
            raise NotFound(
                f"Tryton serves one credit segment, {self._credit_segment}, not {segment}",
                backend=BACKEND,
            )
        return await self._record("party.party", customer_erp_id, CREDIT_FIELDS)

    async def _set_credit_limit(self, credit_limit: CreditLimit) -> None:
        if credit_limit.blocked or credit_limit.valid_to is not None:
            raise BackendRejected(
                "Tryton keeps neither a credit block nor a validity end on a credit limit",
                backend=BACKEND,
                fields=["blocked" if credit_limit.blocked else "valid_to"],
            )
        currency = await self._company_currency()
        if credit_limit.limit.currency != currency:
            raise BackendRejected(
                f"Tryton keeps credit limits in the company currency, {currency}",
                backend=BACKEND,
                fields=["limit.currency"],
            )
        await self._tryton.write(
            "party.party",
            [int_id(credit_limit.customer_erp_id)],
            {"credit_limit_amount": credit_limit.limit.amount},
        )

    def _credit_limit(self, record: TrytonRecord, currency: str) -> CreditLimit:
        source = {**record, "credit_segment": self._credit_segment, "currency": currency}
        return load_mapping("tryton_credit_limit_to_credit_limit").to_model(
            source, CreditLimit, record_id=str(record.id)
        )


def _required(value: str | None, field: str) -> str:
    if not value:
        raise BackendRejected(f"a payment needs its {field}", backend=BACKEND, fields=[field])
    return value
