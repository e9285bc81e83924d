"""The data set both sandboxes are seeded with, planned from a seed before anything is written.

A plan is a pure function of its seed, sizes and scenario: the same arguments give the same
customers, products, orders and payments, with the same CRM ids and ERP numbers, so a CRM and
an ERP seeded in two separate processes agree on every cross-system link. CRM ids are taken
from a fixed block of the org's id sequence; ERP numbers are predicted from the ERP's number
ranges (business partners from 1000000, sales orders from 1), which a fresh ERP then draws
in the plan's order.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from ledgerbridge.sandboxes.crm.ids import make_id

CENTS = Decimal("0.01")
CURRENCY = "EUR"
# Planned CRM records take ids from this point of the org's sequence on, clear of the
# Standard Price Book a new org creates first.
FIRST_CRM_SEQUENCE = 1_000
FIRST_BUSINESS_PARTNER = 1_000_000
FIRST_SALES_ORDER = 1
DEFAULT_AS_OF = date(2026, 1, 1)

_COMPANY_WORDS = (
    "Alder", "Birch", "Cobalt", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris", "Juniper",
    "Kestrel", "Lumen", "Meridian", "Nimbus", "Orchid", "Pioneer", "Quarry", "Riverside",
    "Summit", "Tidal", "Upland", "Vertex", "Willow", "Zenith",
)  # fmt: skip
_COMPANY_KINDS = (
    "Industries", "Logistics", "Foods", "Systems", "Textiles", "Energy", "Pharma", "Retail",
    "Engineering", "Components",
)  # fmt: skip
_LEGAL_FORMS = ("GmbH", "AG", "Ltd", "SA", "BV", "Inc")
_CITIES = (
    ("Berlin", "10115", "DE"), ("Hamburg", "20095", "DE"), ("Munich", "80331", "DE"),
    ("Vienna", "1010", "AT"), ("Zurich", "8001", "CH"), ("Paris", "75001", "FR"),
    ("Lyon", "69001", "FR"), ("Madrid", "28001", "ES"), ("Milan", "20121", "IT"),
    ("Amsterdam", "1011", "NL"), ("Brussels", "1000", "BE"), ("Dublin", "D01", "IE"),
)  # fmt: skip
_STREETS = ("Main Street", "Market Square", "Station Road", "Harbour Lane", "Mill Way")
_FIRST_NAMES = (
    "Anna", "Ben", "Clara", "David", "Elena", "Felix", "Greta", "Hugo", "Ines", "Jonas",
    "Katrin", "Lukas", "Maria", "Noah", "Olga", "Paul",
)  # fmt: skip
_LAST_NAMES = (
    "Berger", "Costa", "Dubois", "Fischer", "Garcia", "Hansen", "Jansen", "Keller", "Lopez",
    "Martin", "Novak", "Rossi", "Schmidt", "Weber",
)  # fmt: skip
_TITLES = ("Buyer", "Head of Purchasing", "Accounts Payable", "Operations Manager")
_PRODUCT_WORDS = (
    "Bearing", "Valve", "Sensor", "Cable", "Pump", "Filter", "Gasket", "Motor", "Relay",
    "Bracket", "Coupling", "Switch",
)  # fmt: skip
_PRODUCT_GRADES = ("Standard", "Pro", "Heavy Duty", "Compact", "Marine")
_INDUSTRIES = ("Manufacturing", "Retail", "Energy", "Transportation", "Healthcare", "Technology")


class Scenario(enum.StrEnum):
    """Whether both sides agree, or differ on purpose for reconciliation."""

    MATCHED = "matched"
    MISMATCHED = "mismatched"


class MismatchClass(enum.StrEnum):
    """The kinds of seeded difference between the CRM and the ERP."""

    MISSING_IN_ERP = "missing_in_erp"
    MISSING_IN_CRM = "missing_in_crm"
    FIELD_MISMATCH = "field_mismatch"
    AMOUNT_MISMATCH = "amount_mismatch"
    DUPLICATE = "duplicate"


class Payment(enum.StrEnum):
    """How much of a historical order's invoice the customer has paid."""

    PAID = "Paid"
    PARTIAL = "Partially Paid"
    UNPAID = "Unpaid"


@dataclass(frozen=True)
class Sizes:
    """How much to generate: customers drive everything else.

    Attributes:
        customers: matched customers (accounts in the CRM, business partners in the ERP).
        contacts_per_customer: CRM contacts of each account.
        products: products (CRM Product2 with a standard price, ERP A_Product with PR00).
        open_orders_per_customer: activated, not yet delivered orders.
        historical_orders_per_customer: delivered, invoiced orders, most of them paid.
        max_lines: most items on one order (at least one).
        mismatch_rate: share of customers and of orders given each kind of mismatch
            (mismatched scenario only; at least one of each).
    """

    customers: int
    contacts_per_customer: int = 2
    products: int = 0
    open_orders_per_customer: int = 1
    historical_orders_per_customer: int = 2
    max_lines: int = 3
    mismatch_rate: float = 0.02

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError("generate at least one customer")
        if self.max_lines < 1:
            raise ValueError("an order needs at least one line")
        if not 0 <= self.mismatch_rate <= 0.1:
            raise ValueError("mismatch_rate must lie between 0 and 0.1")

    @property
    def product_count(self) -> int:
        """Products to generate: as asked, or one per ten customers (5 to 500)."""
        return self.products or min(max(self.customers // 10, 5), 500)


@dataclass
class Customer:
    """A customer as both sides hold it; `erp_*` fields are the ERP's own values."""

    index: int
    crm_id: str | None
    erp_number: str | None
    name: str
    street: str
    city: str
    postal_code: str
    country: str
    phone: str
    industry: str
    erp_city: str = ""
    duplicate_crm_id: str | None = None
    kept_out_of_erp: bool = False

    @property
    def in_crm(self) -> bool:
        """Whether the CRM has this account."""
        return self.crm_id is not None

    @property
    def in_erp(self) -> bool:
        """Whether the ERP has this business partner."""
        return self.erp_number is not None


@dataclass(frozen=True)
class Contact:
    """A CRM contact of an account (the ERP keeps no contacts)."""

    crm_id: str
    customer: int
    first_name: str
    last_name: str
    email: str
    title: str


@dataclass(frozen=True)
class Product:
    """A product: CRM Product2 (ProductCode) = ERP A_Product (Product)."""

    sku: str
    crm_id: str
    entry_id: str
    name: str
    price: Decimal


@dataclass(frozen=True)
class Line:
    """One order line: which product, how many, at what unit price."""

    product: int
    quantity: int
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        """Quantity times unit price."""
        return (self.unit_price * self.quantity).quantize(CENTS)


@dataclass
class Order:
    """An order as both sides hold it; the ERP keys it by the CRM id (PurchaseOrderByCustomer)."""

    crm_id: str
    item_ids: list[str]
    customer: int
    ordered_on: date
    lines: list[Line]
    historical: bool
    payment: Payment
    in_crm: bool = True
    erp_copies: int = 1
    erp_numbers: list[str] = field(default_factory=list)
    erp_lines: list[Line] | None = None

    @property
    def in_erp(self) -> bool:
        """Whether the ERP has this order (once, or more than once for a duplicate)."""
        return bool(self.erp_numbers)

    @property
    def lines_in_erp(self) -> list[Line]:
        """The lines as the ERP has them."""
        return self.erp_lines if self.erp_lines is not None else self.lines

    @property
    def crm_total(self) -> Decimal:
        """The CRM's TotalAmount."""
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def erp_total(self) -> Decimal:
        """The ERP's TotalNetAmount."""
        return sum((line.amount for line in self.lines_in_erp), Decimal("0.00"))

    @property
    def paid_amount(self) -> Decimal:
        """What the customer paid on the ERP invoice (nothing unless historical)."""
        if not self.historical or self.payment is Payment.UNPAID:
            return Decimal("0.00")
        if self.payment is Payment.PARTIAL:
            return (self.erp_total / 2).quantize(CENTS)
        return self.erp_total


@dataclass(frozen=True)
class Mismatch:
    """One seeded difference, as the manifest lists it for reconciliation."""

    kind: MismatchClass
    entity: str
    crm_id: str | None
    erp_ids: tuple[str, ...]
    field: str | None = None
    crm_value: str | None = None
    erp_value: str | None = None


@dataclass
class Plan:
    """Everything to write into both sandboxes, and the differences seeded on purpose."""

    seed: int
    scenario: Scenario
    sizes: Sizes
    as_of: date
    customers: list[Customer]
    contacts: list[Contact]
    products: list[Product]
    orders: list[Order]
    mismatches: list[Mismatch]
    last_crm_sequence: int


class _Ids:
    """Hands out planned CRM ids and ERP numbers in the order the sandboxes would."""

    def __init__(self) -> None:
        self._crm = FIRST_CRM_SEQUENCE
        self._partner = FIRST_BUSINESS_PARTNER
        self._order = FIRST_SALES_ORDER

    def crm(self, key_prefix: str) -> str:
        self._crm += 1
        return make_id(key_prefix, self._crm)

    def partner(self) -> str:
        number = self._partner
        self._partner += 1
        return str(number)

    def sales_order(self) -> str:
        number = self._order
        self._order += 1
        return str(number)

    @property
    def last_crm_sequence(self) -> int:
        return self._crm


def make_plan(
    *,
    seed: int,
    sizes: Sizes,
    scenario: Scenario = Scenario.MATCHED,
    as_of: date = DEFAULT_AS_OF,
) -> Plan:
    """Plan a data set; the same arguments always give the same plan.

    Args:
        seed: seed of every random choice.
        sizes: how many customers, products and orders.
        scenario: matched (both sides agree) or mismatched (recorded differences).
        as_of: the day the data set ends: open orders fall in the fortnight before it,
            historical ones in the year before that.

    Returns:
        The plan, with CRM ids and predicted ERP numbers filled in.

    Raises:
        ValueError: for a mismatched scenario of fewer than 10 customers.
    """
    if scenario is Scenario.MISMATCHED and sizes.customers < 10:
        raise ValueError("the mismatched scenario needs at least 10 customers")
    rng = random.Random(seed)
    ids = _Ids()
    customers = [_customer(rng, ids, i) for i in range(sizes.customers)]
    contacts = [
        _contact(rng, ids, c.index) for c in customers for _ in range(sizes.contacts_per_customer)
    ]
    products = [_product(rng, ids, i) for i in range(sizes.product_count)]
    chosen: dict[MismatchClass, list[int]] = {}
    if scenario is Scenario.MISMATCHED:
        # Customers with a seeded mismatch of their own get no orders, so each listed
        # difference stands alone.
        pool = rng.sample(range(len(customers)), k=len(customers))
        per_class = max(1, round(sizes.mismatch_rate * len(customers)))
        for kind in (
            MismatchClass.MISSING_IN_ERP,
            MismatchClass.FIELD_MISMATCH,
            MismatchClass.DUPLICATE,
        ):
            chosen[kind], pool = pool[:per_class], pool[per_class:]
    singled = {i for picks in chosen.values() for i in picks}
    buyers = [c.index for c in customers if c.index not in singled]
    orders = _orders(rng, ids, sizes, buyers, products, as_of)
    mismatches: list[Mismatch] = []
    if scenario is Scenario.MISMATCHED:
        mismatches += _customer_mismatches(rng, ids, customers, chosen)
        mismatches += _order_mismatches(rng, sizes, orders)
    _number_erp(ids, customers, orders)
    mismatches = [_with_erp_ids(m, customers, orders) for m in mismatches]
    return Plan(
        seed,
        scenario,
        sizes,
        as_of,
        customers,
        contacts,
        products,
        orders,
        mismatches,
        ids.last_crm_sequence,
    )


def _customer(rng: random.Random, ids: _Ids, index: int) -> Customer:
    city, postal_code, country = rng.choice(_CITIES)
    name = (
        f"{rng.choice(_COMPANY_WORDS)} {rng.choice(_COMPANY_KINDS)} "
        f"{rng.choice(_LEGAL_FORMS)} {index + 1:05d}"
    )
    return Customer(
        index=index,
        crm_id=ids.crm("001"),
        erp_number=None,
        name=name,
        street=f"{rng.choice(_STREETS)} {rng.randint(1, 199)}",
        city=city,
        postal_code=postal_code,
        country=country,
        phone=f"+49 30 {rng.randint(1000000, 9999999)}",
        industry=rng.choice(_INDUSTRIES),
        erp_city=city,
    )


def _contact(rng: random.Random, ids: _Ids, customer: int) -> Contact:
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    crm_id = ids.crm("003")
    return Contact(
        crm_id=crm_id,
        customer=customer,
        first_name=first,
        last_name=last,
        email=f"{first}.{last}.{crm_id[-6:]}@example.com".lower(),
        title=rng.choice(_TITLES),
    )


def _product(rng: random.Random, ids: _Ids, index: int) -> Product:
    price = Decimal(rng.randint(500, 250_000)) / 100
    return Product(
        sku=f"LB-{index + 1:06d}",
        crm_id=ids.crm("01t"),
        entry_id=ids.crm("01u"),
        name=f"{rng.choice(_PRODUCT_WORDS)} {rng.choice(_PRODUCT_GRADES)} {index + 1}",
        price=price,
    )


def _lines(rng: random.Random, sizes: Sizes, products: list[Product]) -> list[Line]:
    count = rng.randint(1, min(sizes.max_lines, len(products)))
    picks = rng.sample(range(len(products)), k=count)
    return [Line(p, rng.randint(1, 20), products[p].price) for p in picks]


def _new_order(
    rng: random.Random,
    ids: _Ids,
    sizes: Sizes,
    customer: int,
    products: list[Product],
    on: date,
    *,
    historical: bool,
) -> Order:
    crm_id = ids.crm("801")
    lines = _lines(rng, sizes, products)
    draw = rng.random()
    payment = Payment.PAID if draw < 0.7 else Payment.PARTIAL if draw < 0.85 else Payment.UNPAID
    return Order(
        crm_id=crm_id,
        item_ids=[ids.crm("802") for _ in lines],
        customer=customer,
        ordered_on=on,
        lines=lines,
        historical=historical,
        payment=payment if historical else Payment.UNPAID,
    )


def _orders(
    rng: random.Random,
    ids: _Ids,
    sizes: Sizes,
    buyers: list[int],
    products: list[Product],
    as_of: date,
) -> list[Order]:
    orders = []
    for customer in buyers:
        for _ in range(sizes.historical_orders_per_customer):
            on = as_of - timedelta(days=rng.randint(30, 395))
            orders.append(_new_order(rng, ids, sizes, customer, products, on, historical=True))
        for _ in range(sizes.open_orders_per_customer):
            on = as_of - timedelta(days=rng.randint(1, 14))
            orders.append(_new_order(rng, ids, sizes, customer, products, on, historical=False))
    # Both systems number orders as they come in, so they are written oldest first.
    orders.sort(key=lambda o: (o.ordered_on, o.crm_id))
    return orders


def _customer_mismatches(
    rng: random.Random,
    ids: _Ids,
    customers: list[Customer],
    chosen: dict[MismatchClass, list[int]],
) -> list[Mismatch]:
    found = []
    for i in chosen[MismatchClass.MISSING_IN_ERP]:
        customers[i].kept_out_of_erp = True
        found.append(Mismatch(MismatchClass.MISSING_IN_ERP, "customer", customers[i].crm_id, ()))
    for i in chosen[MismatchClass.FIELD_MISMATCH]:
        customer = customers[i]
        customer.erp_city = rng.choice([c for c, _, _ in _CITIES if c != customer.city])
        found.append(
            Mismatch(
                MismatchClass.FIELD_MISMATCH,
                "customer",
                customer.crm_id,
                (),
                field="BillingCity/CityName",
                crm_value=customer.city,
                erp_value=customer.erp_city,
            )
        )
    for i in chosen[MismatchClass.DUPLICATE]:
        customers[i].duplicate_crm_id = ids.crm("001")
        found.append(
            Mismatch(
                MismatchClass.DUPLICATE,
                "customer",
                customers[i].crm_id,
                (),
                field="Account",
                crm_value=customers[i].duplicate_crm_id,
            )
        )
    # A business partner the CRM never heard of: no CRM id to link it by.
    extra = _customer(rng, ids, len(customers))
    extra.crm_id = None
    customers.append(extra)
    found.append(Mismatch(MismatchClass.MISSING_IN_CRM, "customer", None, ()))
    return found


def _order_mismatches(rng: random.Random, sizes: Sizes, orders: list[Order]) -> list[Mismatch]:
    per_class = max(1, round(sizes.mismatch_rate * len(orders)))
    pool = rng.sample(range(len(orders)), k=len(orders))
    picks = {kind: pool[n * per_class : (n + 1) * per_class] for n, kind in enumerate(_ORDER_KINDS)}
    found = []
    for i in picks[MismatchClass.MISSING_IN_ERP]:
        orders[i].erp_copies = 0
        found.append(Mismatch(MismatchClass.MISSING_IN_ERP, "order", orders[i].crm_id, ()))
    for i in picks[MismatchClass.MISSING_IN_CRM]:
        orders[i].in_crm = False
        found.append(Mismatch(MismatchClass.MISSING_IN_CRM, "order", orders[i].crm_id, ()))
    for i in picks[MismatchClass.AMOUNT_MISMATCH]:
        order = orders[i]
        first = order.lines[0]
        order.erp_lines = [Line(first.product, first.quantity + 1, first.unit_price)]
        order.erp_lines += order.lines[1:]
        found.append(
            Mismatch(
                MismatchClass.AMOUNT_MISMATCH,
                "order",
                order.crm_id,
                (),
                field="TotalAmount/TotalNetAmount",
                crm_value=str(order.crm_total),
                erp_value=str(order.erp_total),
            )
        )
    for i in picks[MismatchClass.DUPLICATE]:
        orders[i].erp_copies = 2
        found.append(Mismatch(MismatchClass.DUPLICATE, "order", orders[i].crm_id, ()))
    return found


_ORDER_KINDS = (
    MismatchClass.MISSING_IN_ERP,
    MismatchClass.MISSING_IN_CRM,
    MismatchClass.AMOUNT_MISMATCH,
    MismatchClass.DUPLICATE,
)


def _number_erp(ids: _Ids, customers: list[Customer], orders: list[Order]) -> None:
    # The ERP numbers partners and orders in the order they are written: the plan's order.
    for customer in customers:
        customer.erp_number = None if customer.kept_out_of_erp else ids.partner()
    for order in orders:
        order.erp_numbers = [ids.sales_order() for _ in range(order.erp_copies)]


def _with_erp_ids(mismatch: Mismatch, customers: list[Customer], orders: list[Order]) -> Mismatch:
    if mismatch.entity == "customer":
        if mismatch.crm_id is None:
            numbers = [c.erp_number for c in customers if c.crm_id is None and c.erp_number]
        else:
            found = next(c for c in customers if c.crm_id == mismatch.crm_id)
            numbers = [found.erp_number] if found.erp_number else []
    else:
        numbers = next(o.erp_numbers for o in orders if o.crm_id == mismatch.crm_id)
    return Mismatch(
        mismatch.kind,
        mismatch.entity,
        mismatch.crm_id,
        tuple(numbers),
        mismatch.field,
        mismatch.crm_value,
        mismatch.erp_value,
    )


def relink(plan: Plan, crm_ids: dict[str, str]) -> Plan:
    """The plan with planned CRM ids replaced by the ids a running org gave them.

    Ids the org never saw (an order missing in the CRM) stay as planned.
    """

    def crm(value: str | None) -> str | None:
        return None if value is None else crm_ids.get(value, value)

    return replace(
        plan,
        customers=[
            replace(c, crm_id=crm(c.crm_id), duplicate_crm_id=crm(c.duplicate_crm_id))
            for c in plan.customers
        ],
        orders=[replace(o, crm_id=crm(o.crm_id) or o.crm_id) for o in plan.orders],
        mismatches=[
            replace(
                m,
                crm_id=crm(m.crm_id),
                crm_value=crm(m.crm_value) if m.field == "Account" else m.crm_value,
            )
            for m in plan.mismatches
        ],
    )
