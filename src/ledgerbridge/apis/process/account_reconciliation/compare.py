"""Comparing what a run read: every record is either matched or explained by its differences.

A *unit* is one thing compared: a CRM record with its ERP counterpart, or a record found on
one side only. A unit with no finding is matched; every other unit carries at least one
finding, so the matched and the explained add up to all that was compared.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from ledgerbridge.apis.process.account_reconciliation.client import DifferenceKind
from ledgerbridge.apis.process.account_reconciliation.sources import Snapshot
from ledgerbridge.canonical import Invoice, InvoiceStatus, Order, Party, SalesOrderState

LINK_ERP_ORDER = "link-erp-order"


@dataclass(frozen=True)
class Finding:
    """One difference; ``repair`` names the safe repair that resolves it, if there is one."""

    entity: str
    kind: DifferenceKind
    crm_id: str | None
    erp_ids: tuple[str, ...]
    detail: str
    field: str | None = None
    crm_value: str | None = None
    erp_value: str | None = None
    repair: str | None = None
    evidence: dict[str, str | None] = dataclasses.field(default_factory=dict)


@dataclass
class Comparison:
    """The units of one entity: how many were compared, matched, and what differed."""

    entity: str
    compared: int = 0
    matched: int = 0
    explained: int = 0
    findings: list[Finding] = dataclasses.field(default_factory=list)
    # Pairs confirmed by both sides, for the crosswalk: (crosswalk entity, CRM id, ERP id).
    pairs: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)

    def unit(self, findings: list[Finding]) -> None:
        """Count one compared unit and keep its findings."""
        self.compared += 1
        self.matched += not findings
        self.explained += bool(findings)
        self.findings += findings


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _address_fields(party: Party) -> dict[str, str | None]:
    address = party.billing_address
    return {
        "name": party.name[:40],
        "billing_address.street": address.street if address else None,
        "billing_address.city": address.city if address else None,
        "billing_address.postal_code": address.postal_code if address else None,
        "billing_address.country": address.country if address else None,
    }


def _account_pair(account: Party, customer: Party) -> list[Finding]:
    assert customer.erp_id is not None
    crm, erp = _address_fields(account), _address_fields(customer)
    return [
        Finding(
            "account",
            DifferenceKind.FIELD_MISMATCH,
            account.crm_id,
            (customer.erp_id,),
            f"{name} differs",
            field=name,
            crm_value=crm[name],
            erp_value=erp[name],
        )
        for name in crm
        if crm[name] != erp[name]
    ]


def compare_accounts(snap: Snapshot) -> Comparison:
    """CRM accounts against ERP customers, paired by ERP_Customer_Id__c, the crosswalk and
    the ERP's own CRM reference (BusinessPartnerIDByExtSystem)."""
    result = Comparison("account")
    party_links = snap.links.get("party", {})
    by_erp: dict[str, list[Party]] = defaultdict(list)
    unlinked: list[Party] = []
    for account in snap.crm_accounts.values():
        erp_id = account.erp_id or party_links.get(account.crm_id or "")
        (by_erp[erp_id] if erp_id else unlinked).append(account)
    paired: set[str] = set()
    for erp_id, accounts in sorted(by_erp.items()):
        customer = snap.erp_customers.get(erp_id)
        if customer is None:
            for account in accounts:
                result.unit([_missing_in_erp(account, f"ERP customer {erp_id} does not exist")])
            continue
        paired.add(erp_id)
        first = next((a for a in accounts if a.crm_id == customer.crm_id), accounts[0])
        findings = _account_pair(first, customer)
        if customer.crm_id != first.crm_id:
            findings.append(
                Finding(
                    "account",
                    DifferenceKind.FIELD_MISMATCH,
                    first.crm_id,
                    (erp_id,),
                    "the ERP customer refers to another CRM account",
                    field="crm_id",
                    crm_value=first.crm_id,
                    erp_value=customer.crm_id,
                )
            )
        others = sorted(a.crm_id for a in accounts if a is not first and a.crm_id)
        if others:
            findings.append(
                Finding(
                    "account",
                    DifferenceKind.DUPLICATE,
                    first.crm_id,
                    (erp_id,),
                    f"{len(accounts)} CRM accounts stand for ERP customer {erp_id}",
                    field="Account",
                    crm_value=",".join(others),
                )
            )
        if first.crm_id and customer.crm_id == first.crm_id:
            result.pairs.append(("party", first.crm_id, erp_id))
        result.unit(findings)
    by_crm = {c.crm_id: c for c in snap.erp_customers.values() if c.crm_id}
    for account in unlinked:
        customer = by_crm.get(account.crm_id or "")
        if customer is None or customer.erp_id is None or customer.erp_id in paired:
            result.unit([_missing_in_erp(account, "no ERP customer carries this CRM id")])
            continue
        paired.add(customer.erp_id)
        gap = Finding(
            "account",
            DifferenceKind.FIELD_MISMATCH,
            account.crm_id,
            (customer.erp_id,),
            "the CRM account lacks the number of the ERP customer that refers to it",
            field="erp_id",
            erp_value=customer.erp_id,
        )
        result.unit([gap, *_account_pair(account, customer)])
    for erp_id, customer in sorted(snap.erp_customers.items()):
        if erp_id not in paired:
            result.unit(
                [
                    Finding(
                        "account",
                        DifferenceKind.MISSING_IN_CRM,
                        customer.crm_id,
                        (erp_id,),
                        "no CRM account refers to this ERP customer",
                        evidence={"erp_name": customer.name, "erp_crm_reference": customer.crm_id},
                    )
                ]
            )
    return result


def _missing_in_erp(account: Party, detail: str) -> Finding:
    return Finding(
        "account",
        DifferenceKind.MISSING_IN_ERP,
        account.crm_id,
        (account.erp_id,) if account.erp_id else (),
        detail,
        evidence={"crm_name": account.name, "crm_account_number": account.account_number},
    )


def compare_orders(snap: Snapshot) -> Comparison:
    """CRM orders against ERP sales orders, paired by the CRM id each ERP order carries."""
    result = Comparison("order")
    by_reference: dict[str, list[SalesOrderState]] = defaultdict(list)
    for sales_order in sorted(snap.erp_orders.values(), key=lambda s: int(s.erp_number or 0)):
        if sales_order.external_reference:
            by_reference[sales_order.external_reference].append(sales_order)
    for crm_id in sorted(set(snap.crm_orders) | set(by_reference)):
        order = snap.crm_orders.get(crm_id)
        copies = by_reference.get(crm_id, [])
        numbers = tuple(s.erp_number for s in copies if s.erp_number)
        findings: list[Finding]
        if order is None:
            detail = f"ERP sales order(s) {', '.join(numbers)} refer to a CRM order that is absent"
            findings = [Finding("order", DifferenceKind.MISSING_IN_CRM, crm_id, numbers, detail)]
        elif not copies:
            findings = [_order_without_copy(snap, crm_id, order.erp_number)]
        elif len(copies) > 1:
            detail = f"{len(copies)} ERP sales orders carry this CRM order id"
            findings = [Finding("order", DifferenceKind.DUPLICATE, crm_id, numbers, detail)]
        else:
            (copy,) = copies
            findings = _order_pair(crm_id, order.erp_number, order.net_total.amount, copy)
            if order.customer_erp_id and copy.customer_erp_id != order.customer_erp_id:
                findings.append(
                    Finding(
                        "order",
                        DifferenceKind.FIELD_MISMATCH,
                        crm_id,
                        numbers,
                        "the orders are for different ERP customers",
                        field="customer_erp_id",
                        crm_value=order.customer_erp_id,
                        erp_value=copy.customer_erp_id,
                    )
                )
            if copy.erp_number and order.erp_number in (None, copy.erp_number):
                result.pairs.append(("order", crm_id, copy.erp_number))
        evidence = _order_evidence(order, copies)
        result.unit([dataclasses.replace(f, evidence=evidence) for f in findings])
    return result


def _order_evidence(order: Order | None, copies: list[SalesOrderState]) -> dict[str, str | None]:
    """What each side holds about an order, for the person who takes up a difference."""
    evidence: dict[str, str | None] = {}
    if order is not None:
        evidence |= {
            "crm_status": order.status.value,
            "crm_order_date": order.order_date.isoformat(),
            "crm_net_total": f"{order.net_total.amount} {order.currency}",
            "crm_customer": order.customer_crm_id,
            "crm_erp_number": order.erp_number,
        }
    for copy in copies:
        total = None if copy.net_total is None else f"{copy.net_total.amount} {copy.currency}"
        evidence |= {
            f"erp_{copy.erp_number}_status": copy.status.value,
            f"erp_{copy.erp_number}_net_total": total,
            f"erp_{copy.erp_number}_customer": copy.customer_erp_id,
        }
    return evidence


def _order_without_copy(snap: Snapshot, crm_id: str, erp_number: str | None) -> Finding:
    elsewhere = snap.erp_orders.get(erp_number) if erp_number else None
    if elsewhere is None:
        detail = "no ERP sales order carries this CRM order id"
        return Finding("order", DifferenceKind.MISSING_IN_ERP, crm_id, (), detail)
    return Finding(
        "order",
        DifferenceKind.FIELD_MISMATCH,
        crm_id,
        (erp_number or "",),
        "the ERP sales order the CRM names carries another CRM order id",
        field="external_reference",
        crm_value=crm_id,
        erp_value=elsewhere.external_reference,
    )


def _order_pair(
    crm_id: str, crm_number: str | None, crm_total: Decimal, copy: SalesOrderState
) -> list[Finding]:
    number = copy.erp_number or ""
    findings = []
    if crm_number is None:
        findings.append(
            Finding(
                "order",
                DifferenceKind.FIELD_MISMATCH,
                crm_id,
                (number,),
                "the CRM order lacks the number of the ERP sales order that carries its id",
                field="erp_number",
                erp_value=number,
                repair=LINK_ERP_ORDER,
            )
        )
    elif crm_number != number:
        findings.append(
            Finding(
                "order",
                DifferenceKind.FIELD_MISMATCH,
                crm_id,
                (number,),
                "the CRM order names another ERP sales order than the one carrying its id",
                field="erp_number",
                crm_value=crm_number,
                erp_value=number,
            )
        )
    if copy.net_total is not None and copy.net_total.amount != crm_total:
        findings.append(
            Finding(
                "order",
                DifferenceKind.AMOUNT_MISMATCH,
                crm_id,
                (number,),
                "the net totals differ",
                field="net_total",
                crm_value=_text(crm_total),
                erp_value=_text(copy.net_total.amount),
            )
        )
    return findings


def compare_invoices(snap: Snapshot) -> Comparison:
    """ERP invoices against the CRM order each bills and the ERP sales order it bills."""
    result = Comparison("invoice")
    live = [i for i in snap.invoices if i.status is not InvoiceStatus.CANCELLED]
    per_order: dict[str, list[Invoice]] = defaultdict(list)
    for invoice in live:
        per_order[invoice.order_erp_number or ""].append(invoice)
    for invoice in live:
        findings: list[Finding] = []
        ids = (invoice.erp_number,)
        if invoice.po_number not in snap.crm_orders:
            detail = f"the invoice bills CRM order {invoice.po_number}, which is absent"
            findings.append(
                Finding("invoice", DifferenceKind.MISSING_IN_CRM, invoice.po_number, ids, detail)
            )
        billed = snap.erp_orders.get(invoice.order_erp_number or "")
        expected = None if billed is None or billed.net_total is None else billed.net_total.amount
        if expected is not None and expected != invoice.net_total.amount:
            findings.append(
                Finding(
                    "invoice",
                    DifferenceKind.AMOUNT_MISMATCH,
                    invoice.po_number,
                    ids,
                    f"the invoice and sales order {invoice.order_erp_number} differ in net total",
                    field="net_total",
                    crm_value=_text(expected),
                    erp_value=_text(invoice.net_total.amount),
                )
            )
        siblings = per_order[invoice.order_erp_number or ""]
        if invoice.order_erp_number and len(siblings) > 1:
            others = ",".join(i.erp_number for i in siblings if i is not invoice)
            detail = f"sales order {invoice.order_erp_number} is billed more than once"
            findings.append(
                Finding(
                    "invoice",
                    DifferenceKind.DUPLICATE,
                    invoice.po_number,
                    ids,
                    detail,
                    field="order_erp_number",
                    erp_value=others,
                )
            )
        result.unit(findings)
    return result


def compare_payments(snap: Snapshot) -> Comparison:
    """ERP payments against the invoices they clear and the CRM orders those invoices bill.

    A payment's own reference is the payer's (a bank or cash application writes what it
    likes there), so the CRM order it pays is the one its invoices bill."""
    result = Comparison("payment")
    invoices = {i.erp_number: i for i in snap.invoices}
    paid: dict[str, list[str]] = defaultdict(list)
    for payment in snap.payments:
        findings: list[Finding] = []
        ids = (payment.erp_document or "",)
        cleared = [invoices[n] for n in payment.invoice_erp_numbers if n in invoices]
        crm_id = cleared[0].po_number if cleared else payment.reference
        if not cleared:
            detail = "the payment clears no invoice the ERP holds"
            findings.append(Finding("payment", DifferenceKind.MISSING_IN_ERP, crm_id, ids, detail))
        for invoice in cleared:
            if invoice.po_number not in snap.crm_orders:
                detail = (
                    f"the payment clears invoice {invoice.erp_number} of CRM order "
                    f"{invoice.po_number}, which is absent"
                )
                findings.append(
                    Finding(
                        "payment", DifferenceKind.MISSING_IN_CRM, invoice.po_number, ids, detail
                    )
                )
            if invoice.customer_erp_id and invoice.customer_erp_id != payment.customer_erp_id:
                findings.append(
                    Finding(
                        "payment",
                        DifferenceKind.FIELD_MISMATCH,
                        crm_id,
                        ids,
                        f"the payment and invoice {invoice.erp_number} name different customers",
                        field="customer_erp_id",
                        crm_value=invoice.customer_erp_id,
                        erp_value=payment.customer_erp_id,
                    )
                )
            key = f"{payment.amount.amount}:{invoice.erp_number}"
            if key in paid[invoice.po_number or ""]:
                detail = f"a second payment of {payment.amount} clears invoice {invoice.erp_number}"
                findings.append(Finding("payment", DifferenceKind.DUPLICATE, crm_id, ids, detail))
            paid[invoice.po_number or ""].append(key)
        if len(cleared) == 1 and payment.amount.amount > cleared[0].gross_total.amount:
            findings.append(
                Finding(
                    "payment",
                    DifferenceKind.AMOUNT_MISMATCH,
                    crm_id,
                    ids,
                    f"the payment exceeds invoice {cleared[0].erp_number}",
                    field="amount",
                    crm_value=_text(cleared[0].gross_total.amount),
                    erp_value=_text(payment.amount.amount),
                )
            )
        result.unit(findings)
    return result
