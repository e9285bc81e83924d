"""Tryton's JSON encodings and the typed records the connector returns.

Tryton sends and expects Decimal, date, datetime, time, timedelta and bytes as objects
tagged with ``__class__`` (``{"__class__": "Decimal", "decimal": "100.00"}``). Datetimes
are naive UTC on Tryton's side; ours are aware UTC.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


def encode(value: object) -> object:
    """The JSON form Tryton expects for one value that plain JSON cannot carry.

    Used as ``json.dumps(..., default=encode)``; raises TypeError for anything else.
    """
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return {
            "__class__": "datetime",
            "year": value.year,
            "month": value.month,
            "day": value.day,
            "hour": value.hour,
            "minute": value.minute,
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, dt.time):
        return {
            "__class__": "time",
            "hour": value.hour,
            "minute": value.minute,
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, dt.timedelta):
        return {"__class__": "timedelta", "seconds": value.total_seconds()}
    if isinstance(value, bytes | bytearray):
        return {"__class__": "bytes", "base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"cannot send {type(value).__name__} to Tryton")


def decode(obj: dict[str, Any]) -> object:
    """Turn one tagged JSON object back into its Python value (a ``json`` object hook)."""
    kind = obj.get("__class__")
    if kind == "Decimal":
        return Decimal(obj["decimal"])
    if kind == "date":
        return dt.date(obj["year"], obj["month"], obj["day"])
    if kind == "datetime":
        return dt.datetime(
            obj["year"],
            obj["month"],
            obj["day"],
            obj["hour"],
            obj["minute"],
            obj["second"],
            obj["microsecond"],
            tzinfo=dt.UTC,
        )
    if kind == "time":
        return dt.time(obj["hour"], obj["minute"], obj["second"], obj["microsecond"])
    if kind == "timedelta":
        return dt.timedelta(seconds=obj["seconds"])
    if kind == "bytes":
        return base64.b64decode(obj["base64"])
    return obj


def dumps(payload: object) -> bytes:
    """A JSON-RPC body in Tryton's encoding."""
    return json.dumps(payload, default=encode, separators=(",", ":")).encode()


def loads(body: bytes) -> Any:
    """A JSON-RPC answer with Tryton's tagged values decoded."""
    return json.loads(body, object_hook=decode)


@dataclass(frozen=True)
class TrytonRecord(Mapping[str, Any]):
    """One record as Tryton read it: its model, its id and the fields asked for.

    Usage::

        sale = (await tryton.read("sale.sale", [sale_id], ["state", "total_amount"]))[0]
        if sale["state"] == "processing": ...
    """

    model: str
    data: Mapping[str, Any]

    @property
    def id(self) -> int:
        """The record's id in its model."""
        return int(self.data["id"])

    def __getitem__(self, field: str) -> Any:
        return self.data[field]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)
