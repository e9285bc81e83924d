"""Batch writes, the same on every batch endpoint: a `Batch` of records in, a `BatchResult` out.

A batch is checked whole before anything is written: a record that fails validation is a
422 for the request, naming ``records.<index>.<field>``, and nothing is written. The
records that pass are written (in chunks, as the backend takes them) and each gets its own
outcome in order: its id and whether it was created, or the problem that kept it out,
naming the record's index and fields. A batch upserts by each record's key, so sending it
again writes no second record.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from ledgerbridge.runtime.problems import FieldProblem

ItemT = TypeVar("ItemT")

MAX_BATCH = 2000


class Batch(BaseModel, Generic[ItemT]):
    """Records to write in one request, at most 2000."""

    records: list[ItemT] = Field(min_length=1, max_length=MAX_BATCH)


class RecordProblem(BaseModel):
    """Why one record of a batch was not written."""

    title: str
    detail: str
    errors: list[FieldProblem] = []


class BatchOutcome(BaseModel):
    """What became of one record of a batch: written (``id``, ``created``) or a ``problem``."""

    index: int = Field(ge=0, description="The record's position in the request.")
    id: str | None = Field(default=None, description="The record's id in the backend.")
    created: bool | None = None
    problem: RecordProblem | None = None

    @classmethod
    def refused(cls, index: int, detail: str, fields: list[str]) -> BatchOutcome:
        """The outcome of a record the backend refused, naming its index and fields."""
        paths = [f"records.{index}.{name}" for name in fields] or [f"records.{index}"]
        return cls(
            index=index,
            problem=RecordProblem(
                title="Record not written",
                detail=detail,
                errors=[FieldProblem(field=path, message=detail) for path in paths],
            ),
        )


class BatchResult(BaseModel):
    """One outcome per record, in request order, and how many were written."""

    results: list[BatchOutcome]
    written: int
    refused: int

    @classmethod
    def of(cls, results: list[BatchOutcome]) -> BatchResult:
        """The result made of ``results``, counted."""
        refused = sum(1 for r in results if r.problem is not None)
        return cls(results=results, written=len(results) - refused, refused=refused)
