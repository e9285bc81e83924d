"""Typed wire models of what Salesforce returns: records and upsert outcomes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


def _without_attributes(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_attributes(v) for k, v in value.items() if k != "attributes"}
    if isinstance(value, list):
        return [_without_attributes(v) for v in value]
    return value


class SObjectRecord(BaseModel):
    """One Salesforce record as the API returned it.

    `fields` holds every field except `attributes`; parent relationships selected in SOQL
    (``Account.Name``) stay nested dicts (``{"Account": {"Name": "Acme"}}``), also without their
    `attributes`. Numbers with a fraction arrive as Decimal, so amounts stay exact.

        record = await sf.get("Account", "001...")
        record.type, record.id, record.fields["Name"]
    """

    model_config = ConfigDict(frozen=True)

    type: str
    id: str
    fields: dict[str, Any]

    @classmethod
    def from_wire(cls, body: dict[str, Any]) -> SObjectRecord:
        """Build a record from a REST or SOQL record body (with its `attributes`)."""
        attributes = body.get("attributes") or {}
        url = str(attributes.get("url", ""))
        # A query need not select Id; the record URL always ends with it.
        record_id = body.get("Id") or url.rstrip("/").rsplit("/", 1)[-1]
        return cls(
            type=str(attributes.get("type", "")),
            id=str(record_id),
            fields=_without_attributes({k: v for k, v in body.items() if k != "attributes"}),
        )


class UpsertResult(BaseModel):
    """What an upsert by external id did: the record's id and whether it was created."""

    model_config = ConfigDict(frozen=True)

    id: str
    created: bool


class SaveError(BaseModel):
    """Why Salesforce refused one record of a collection: its status code, message and fields."""

    model_config = ConfigDict(frozen=True)

    status_code: str
    message: str
    fields: list[str] = []


class SaveResult(BaseModel):
    """The outcome for one record of an sObject Collections call."""

    model_config = ConfigDict(frozen=True)

    id: str | None
    success: bool
    created: bool | None = None
    errors: list[SaveError] = []

    @classmethod
    def from_wire(cls, body: dict[str, Any]) -> SaveResult:
        """Build a result from one item of a collections response."""
        return cls(
            id=body.get("id"),
            success=bool(body.get("success")),
            created=body.get("created"),
            errors=[
                SaveError(
                    status_code=str(e.get("statusCode") or e.get("errorCode") or ""),
                    message=str(e.get("message", "")),
                    fields=[str(f) for f in e.get("fields") or []],
                )
                for e in body.get("errors") or []
            ],
        )


class CompositeSubrequest(BaseModel):
    """One step of a composite request; `url` may be relative to the versioned data path.

    CompositeSubrequest(method="POST", url="sobjects/Account", reference_id="acct",
                        body={"Name": "Acme"})
    CompositeSubrequest(method="POST", url="sobjects/Contact", reference_id="ada",
                        body={"LastName": "Lovelace", "AccountId": "@{acct.id}"})
    """

    model_config = ConfigDict(frozen=True)

    method: str
    url: str
    reference_id: str
    body: dict[str, Any] | None = None


class CompositeResponse(BaseModel):
    """What one subrequest of a composite request answered."""

    model_config = ConfigDict(frozen=True)

    reference_id: str
    status_code: int
    body: Any = None
    headers: dict[str, str] = {}

    @property
    def ok(self) -> bool:
        """Whether the subrequest succeeded."""
        return self.status_code < 300


class ChangeEvent(BaseModel):
    """One Change Data Capture event: which record changed, how, and the changed fields.

    `fields` holds the payload without its ChangeEventHeader: every non-null field for CREATE,
    only the changed fields for UPDATE, nothing for DELETE. `header` keeps the whole header.
    """

    model_config = ConfigDict(frozen=True)

    replay_id: int
    entity: str
    change_type: str
    record_ids: list[str]
    changed_fields: list[str]
    transaction_key: str
    commit_timestamp: int
    fields: dict[str, Any]
    header: dict[str, Any]

    @property
    def origin_client(self) -> str | None:
        """The client name the change was made under (Sforce-Call-Options), if any."""
        origin = str(self.header.get("changeOrigin") or "")
        _, _, client = origin.partition(";client=")
        return client or None

    @classmethod
    def from_wire(cls, body: dict[str, Any]) -> ChangeEvent:
        """Build an event from one streamed CDC message."""
        payload = dict(body["payload"])
        header = payload.pop("ChangeEventHeader")
        return cls(
            replay_id=int(body["event"]["replayId"]),
            entity=str(header["entityName"]),
            change_type=str(header["changeType"]),
            record_ids=[str(i) for i in header.get("recordIds", [])],
            changed_fields=[str(f) for f in header.get("changedFields", [])],
            transaction_key=str(header.get("transactionKey", "")),
            commit_timestamp=int(header.get("commitTimestamp", 0)),
            fields=payload,
            header=header,
        )
