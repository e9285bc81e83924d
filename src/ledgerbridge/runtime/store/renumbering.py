"""ERP renumbering: which ERP serves, and each old ERP id's new one until every copy is fixed.

A cut-over to another ERP gives every customer and order a new id there. Until every place
that stored an old id (the CRM's ERP id fields, the Process layer's rows) has been rewritten,
the old ids must still reach the right records, so the translation is kept here, where every
worker process of the house reads it and a restart finds it:

- ``erp_cutover``: one row per cut-over: the ERP switched to, when, and when it settled (every
  renumbering rewritten; the translation ends). The latest row names the serving ERP.
- ``erp_renumbering``: one row per record renumbered: its kind ("party" or "order"), its CRM
  id, its old and new ERP ids, the batch its rewrite travels in, and when that batch was
  rewritten.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ledgerbridge.runtime.messaging import Message, add_to_outbox
from ledgerbridge.runtime.store.schema import metadata

erp_cutover = sa.Table(
    "erp_cutover",
    metadata,
    sa.Column("cutover_id", sa.String(36), primary_key=True),
    sa.Column("erp", sa.String(32), nullable=False),
    sa.Column("switched_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True)),
    sa.Column("settled_at", sa.DateTime(timezone=True)),
    sa.Index("ix_erp_cutover_switched", "switched_at"),
)

erp_renumbering = sa.Table(
    "erp_renumbering",
    metadata,
    sa.Column(
        "cutover_id", sa.String(36), sa.ForeignKey("erp_cutover.cutover_id"), primary_key=True
    ),
    sa.Column("entity", sa.String(16), primary_key=True),
    sa.Column("old_id", sa.String(64), primary_key=True),
    sa.Column("new_id", sa.String(64), nullable=False),
    sa.Column("crm_id", sa.String(64), nullable=False),
    sa.Column("customer_old_id", sa.String(64)),
    sa.Column("customer_new_id", sa.String(64)),
    sa.Column("translate", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("batch", sa.Integer(), nullable=False),
    sa.Column("rewritten_at", sa.DateTime(timezone=True)),
    sa.Index("ix_erp_renumbering_batch", "cutover_id", "batch"),
)


TOPIC = "erp.renumbered"
"""Where a cut-over publishes its renumbering, one batch a message."""
EVENT_TYPE = "erp.renumbered"


@dataclass(frozen=True, slots=True)
class Renumbering:
    """One record the cut-over renumbered: its kind, its CRM id, its old and new ERP ids, and
    for an order its customer's old and new ids."""

    entity: str
    crm_id: str
    old_id: str
    new_id: str
    customer_old_id: str | None = None
    customer_new_id: str | None = None
    translate: bool = False
    """Whether the ERP switch answers the old id until the cut-over settles."""

    def as_data(self) -> dict[str, str | None]:
        """The record as it travels in an ``erp.renumbered`` event."""
        return {
            "entity": self.entity,
            "crm_id": self.crm_id,
            "old_id": self.old_id,
            "new_id": self.new_id,
            "customer_old_id": self.customer_old_id,
            "customer_new_id": self.customer_new_id,
        }


@dataclass(frozen=True, slots=True)
class RenumberedBatch:
    """One ``erp.renumbered`` event: a batch of a cut-over's renumbering."""

    cutover_id: str
    batch: int
    items: tuple[Renumbering, ...]

    def message(self) -> Message:
        """The event, with an id that is the same each time the batch is published."""
        return Message(
            id=f"{self.cutover_id}:{self.batch}",
            type=EVENT_TYPE,
            source="/system/backend-health/erp",
            subject=self.cutover_id,
            data={
                "cutover_id": self.cutover_id,
                "batch": self.batch,
                "renumbered": [item.as_data() for item in self.items],
            },
        )

    @classmethod
    def of(cls, message: Message) -> RenumberedBatch:
        """The batch an ``erp.renumbered`` event carries.

        Raises:
            ValueError: the event is not an ``erp.renumbered`` batch.
        """
        data = message.data
        if message.type != EVENT_TYPE:
            raise ValueError(f"not an {EVENT_TYPE} event: {message.type}")
        items = tuple(
            Renumbering(
                entity=str(item["entity"]),
                crm_id=str(item["crm_id"]),
                old_id=str(item["old_id"]),
                new_id=str(item["new_id"]),
                customer_old_id=item.get("customer_old_id"),
                customer_new_id=item.get("customer_new_id"),
            )
            for item in data["renumbered"]
        )
        return cls(cutover_id=str(data["cutover_id"]), batch=int(data["batch"]), items=items)


@dataclass(frozen=True, slots=True)
class OpenCutover:
    """A cut-over whose renumbering is not rewritten everywhere yet, with the old ids the
    ERP switch still answers."""

    cutover_id: str
    erp: str
    renamed: dict[tuple[str, str], str]


async def record_cutover(
    conn: AsyncConnection,
    cutover_id: str,
    *,
    erp: str,
    renumbered: Iterable[Renumbering],
    batch_size: int,
) -> int:
    """Record that ``erp`` serves from now on and how the cut-over renumbered; returns how
    many batches the renumbering is cut into. Nothing renumbered: the cut-over is settled."""
    rows = [
        {
            "cutover_id": cutover_id,
            "entity": r.entity,
            "old_id": r.old_id,
            "new_id": r.new_id,
            "crm_id": r.crm_id,
            "customer_old_id": r.customer_old_id,
            "customer_new_id": r.customer_new_id,
            "translate": r.translate,
            "batch": index // batch_size,
        }
        for index, r in enumerate(renumbered)
    ]
    now = datetime.now(UTC)
    await conn.execute(
        erp_cutover.insert().values(
            cutover_id=cutover_id,
            erp=erp,
            switched_at=now,
            published_at=None if rows else now,
            settled_at=None if rows else now,
        )
    )
    if rows:
        await conn.execute(erp_renumbering.insert(), rows)
    return -(-len(rows) // batch_size)


async def serving_erp(conn: AsyncConnection) -> str | None:
    """The ERP the latest cut-over switched to; None when none ever ran."""
    query = (
        sa.select(erp_cutover.c.erp)
        .order_by(erp_cutover.c.switched_at.desc(), erp_cutover.c.cutover_id.desc())
        .limit(1)
    )
    return (await conn.execute(query)).scalar_one_or_none()


async def open_cutovers(conn: AsyncConnection) -> list[OpenCutover]:
    """Every cut-over not settled yet, oldest first, with its old ids' new ones."""
    open_ = (
        await conn.execute(
            sa.select(erp_cutover.c.cutover_id, erp_cutover.c.erp)
            .where(erp_cutover.c.settled_at.is_(None))
            .order_by(erp_cutover.c.switched_at)
        )
    ).all()
    found = []
    for row in open_:
        renamed = await conn.execute(
            sa.select(
                erp_renumbering.c.entity, erp_renumbering.c.old_id, erp_renumbering.c.new_id
            ).where(
                erp_renumbering.c.cutover_id == row.cutover_id,
                erp_renumbering.c.translate.is_(True),
            )
        )
        found.append(
            OpenCutover(
                cutover_id=row.cutover_id,
                erp=row.erp,
                renamed={(r.entity, r.old_id): r.new_id for r in renamed},
            )
        )
    return found


async def publish_renumbering(conn: AsyncConnection, cutover_id: str) -> int:
    """Write each batch of a cut-over's renumbering to the outbox, once; returns how many.

    In the caller's transaction: the batches are published exactly when the cut-over is
    marked published.
    """
    marked = await conn.execute(
        erp_cutover.update()
        .where(erp_cutover.c.cutover_id == cutover_id, erp_cutover.c.published_at.is_(None))
        .values(published_at=datetime.now(UTC))
    )
    if marked.rowcount != 1:
        return 0
    rows = await conn.execute(
        sa.select(erp_renumbering)
        .where(erp_renumbering.c.cutover_id == cutover_id)
        .order_by(erp_renumbering.c.batch, erp_renumbering.c.entity, erp_renumbering.c.old_id)
    )
    batches: dict[int, list[Renumbering]] = {}
    for r in rows:
        batches.setdefault(r.batch, []).append(
            Renumbering(
                r.entity, r.crm_id, r.old_id, r.new_id, r.customer_old_id, r.customer_new_id
            )
        )
    for number, items in batches.items():
        batch = RenumberedBatch(cutover_id=cutover_id, batch=number, items=tuple(items))
        await add_to_outbox(conn, TOPIC, batch.message(), key=cutover_id)
    return len(batches)


async def mark_rewritten(conn: AsyncConnection, cutover_id: str, batch: int) -> bool:
    """Note that one batch is rewritten everywhere; settle the cut-over when it was the last.

    Returns whether the cut-over is settled now.
    """
    now = datetime.now(UTC)
    await conn.execute(
        erp_renumbering.update()
        .where(
            erp_renumbering.c.cutover_id == cutover_id,
            erp_renumbering.c.batch == batch,
            erp_renumbering.c.rewritten_at.is_(None),
        )
        .values(rewritten_at=now)
    )
    pending = await pending_rewrites(conn, cutover_id)
    if pending == 0:
        await conn.execute(
            erp_cutover.update()
            .where(erp_cutover.c.cutover_id == cutover_id, erp_cutover.c.settled_at.is_(None))
            .values(settled_at=now)
        )
    return pending == 0


async def pending_rewrites(conn: AsyncConnection, cutover_id: str) -> int:
    """How many records of a cut-over's renumbering are not rewritten yet."""
    query = sa.select(sa.func.count()).where(
        erp_renumbering.c.cutover_id == cutover_id, erp_renumbering.c.rewritten_at.is_(None)
    )
    return int((await conn.execute(query)).scalar_one())


async def is_settled(conn: AsyncConnection, cutover_id: str) -> bool:
    """Whether every record the cut-over renumbered is rewritten (the translation ended)."""
    query = sa.select(erp_cutover.c.settled_at).where(erp_cutover.c.cutover_id == cutover_id)
    return (await conn.execute(query)).scalar_one_or_none() is not None


async def rewrite_order_columns(
    conn: AsyncConnection,
    renumbered: Iterable[Renumbering],
    *,
    crm_order_id: sa.Column[Any],
    erp_order_number: sa.Column[Any],
    customer_erp_id: sa.Column[Any],
) -> int:
    """Rewrite a table's order number and customer id columns, row by row of each renumbered
    order (found by its CRM id and the old value, so running twice changes nothing); returns
    how many rows changed."""
    table = crm_order_id.table
    changed = 0
    for item in renumbered:
        if item.entity != "order":
            continue
        pairs = [(erp_order_number, item.old_id, item.new_id)]
        if item.customer_old_id is not None and item.customer_new_id is not None:
            pairs.append((customer_erp_id, item.customer_old_id, item.customer_new_id))
        for column, old, new in pairs:
            result = await conn.execute(
                sa.update(table)
                .where(crm_order_id == item.crm_id, column == old)
                .values({column.name: new})
            )
            changed += result.rowcount
    return changed


__all__ = [
    "EVENT_TYPE",
    "TOPIC",
    "OpenCutover",
    "RenumberedBatch",
    "Renumbering",
    "erp_cutover",
    "erp_renumbering",
    "is_settled",
    "mark_rewritten",
    "open_cutovers",
    "pending_rewrites",
    "publish_renumbering",
    "record_cutover",
    "rewrite_order_columns",
    "serving_erp",
]
