"""Record operations with Salesforce's rules: validation, references, auto numbers, roll-ups."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from ledgerbridge.sandboxes.crm import rules
from ledgerbridge.sandboxes.crm.errors import MultipleChoices, SalesforceError, not_found
from ledgerbridge.sandboxes.crm.ids import make_id, normalise_id
from ledgerbridge.sandboxes.crm.objects import BY_PREFIX, SOBJECTS, USER_ID, sobject
from ledgerbridge.sandboxes.crm.schema import Field, SObjectType
from ledgerbridge.sandboxes.crm.store import Store
from ledgerbridge.sandboxes.crm.values import coerce, format_datetime, next_stamp

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def resolve_type(name: str) -> SObjectType:
    """The sObject named in a URL, or the 404 Salesforce gives for an unknown one."""
    found = sobject(name)
    if found is None:
        raise not_found()
    return found


def record_url(api_version: str, type_name: str, record_id: str) -> str:
    """The REST path of a record, as carried in `attributes.url`."""
    return f"/services/data/v{api_version}/sobjects/{type_name}/{record_id}"


class Records:
    """Create, read, update, delete and upsert records of the declared sObjects."""

    def __init__(self, store: Store, clock: Clock = _utcnow) -> None:
        self.store = store
        self.clock = clock

    def ensure_standard_pricebook(self) -> str:
        """The id of the org's Standard Price Book, creating it in a new org as Salesforce does."""
        with self.store.transaction():
            for book in self.store.all_of("Pricebook2"):
                if book.get("IsStandard"):
                    return str(book["Id"])
            book_type = resolve_type("Pricebook2")
            record_id = self.create(book_type, {"Name": "Standard Price Book", "IsActive": True})
            data = self.load(book_type, record_id)
            self.store.replace(record_id, {**data, "IsStandard": True})
            return record_id

    # -- reads ---------------------------------------------------------------

    def load(self, sobject_type: SObjectType, record_id: str) -> dict[str, Any]:
        """The stored fields of a record of `sobject_type`, or 404."""
        normal = normalise_id(record_id)
        found = self.store.get(normal) if normal else None
        if found is None or found[0] != sobject_type.name:
            raise not_found()
        return found[1]

    def find_external(
        self, sobject_type: SObjectType, field_name: str, value: str
    ) -> tuple[Field, list[dict[str, Any]]]:
        """The external id field called `field_name` and the records whose value matches."""
        field = sobject_type.field(field_name)
        if field is None or not (field.external_id or field.name == "Id"):
            raise not_found(
                f"Provided external ID field does not exist or is not accessible: {field_name}"
            )
        if field.name == "Id":
            normal = normalise_id(value)
            found = self.store.get(normal) if normal else None
            matches = [found[1]] if found and found[0] == sobject_type.name else []
            return field, matches
        matches = self.store.all_of(sobject_type.name, equals={field.name: value}, ignore_case=True)
        return field, matches

    def render(
        self,
        sobject_type: SObjectType,
        data: Mapping[str, Any],
        api_version: str,
        fields: list[str] | None = None,
    ) -> dict[str, Any]:
        """The JSON of a record as GET returns it, optionally limited to `fields`."""
        body: dict[str, Any] = {
            "attributes": {
                "type": sobject_type.name,
                "url": record_url(api_version, sobject_type.name, data["Id"]),
            }
        }
        if fields is None:
            chosen = list(sobject_type.fields)
        else:
            chosen = [sobject_type.by_lower["id"]]
            for name in fields:
                field = sobject_type.field(name)
                if field is None:
                    raise SalesforceError(
                        400,
                        "INVALID_FIELD",
                        f"No such column '{name}' on sobject of type {sobject_type.name}",
                        [name],
                    )
                if field not in chosen:
                    chosen.append(field)
        for field in chosen:
            body[field.name] = data.get(field.name)
        return body

    # -- writes --------------------------------------------------------------

    def create(self, sobject_type: SObjectType, body: Mapping[str, Any]) -> str:
        """Insert a record; returns its id."""
        values = self._incoming(sobject_type, body, creating=True)
        with self.store.transaction():
            data: dict[str, Any] = {}
            for field in sobject_type.fields:
                data[field.name] = values.get(field.name, field.default)
            self._check_required(sobject_type, data)
            self._check_references(sobject_type, data, values)
            record_id = make_id(sobject_type.key_prefix, self.store.next_value("id"))
            stamp = format_datetime(self.clock())
            data.update(
                Id=record_id,
                IsDeleted=False,
                CreatedDate=stamp,
                CreatedById=USER_ID,
                LastModifiedDate=stamp,
                LastModifiedById=USER_ID,
                SystemModstamp=stamp,
            )
            rules.before_write(self.store, sobject_type.name, data, None)
            self.store.insert(sobject_type.name, record_id, data)
            rules.after_write(self.store, sobject_type.name, data)
        return record_id

    def update(self, sobject_type: SObjectType, record_id: str, body: Mapping[str, Any]) -> None:
        """Change some fields of a record."""
        values = self._incoming(sobject_type, body, creating=False)
        with self.store.transaction():
            before = self.load(sobject_type, record_id)
            data = {**before, **values}
            self._check_required(sobject_type, data)
            self._check_references(sobject_type, data, values)
            stamp = next_stamp(self.clock(), before.get("SystemModstamp"))
            data.update(LastModifiedDate=stamp, LastModifiedById=USER_ID, SystemModstamp=stamp)
            rules.before_write(self.store, sobject_type.name, data, before)
            self.store.replace(data["Id"], data)
            rules.after_write(self.store, sobject_type.name, data)

    def upsert(
        self, sobject_type: SObjectType, field_name: str, value: str, body: Mapping[str, Any]
    ) -> tuple[str, bool]:
        """Update the record whose external id is `value`, or create it; (id, created)."""
        with self.store.transaction():
            field, matches = self.find_external(sobject_type, field_name, value)
            if len(matches) > 1:
                raise MultipleChoices(
                    f"More than one record found for external id field {field.name}: {value}",
                    sobject_type.name,
                    [m["Id"] for m in matches],
                )
            given = {k: v for k, v in body.items() if k.lower() != field.name.lower()}
            for key, item in body.items():
                if key.lower() == field.name.lower() and item != value:
                    raise SalesforceError(
                        400,
                        "INVALID_FIELD",
                        f"The value of the external id field {field.name} in the body does not "
                        "match the value in the URL",
                        [field.name],
                    )
            if matches:
                self.update(sobject_type, matches[0]["Id"], given)
                return matches[0]["Id"], False
            if field.name == "Id":
                raise not_found()
            return self.create(sobject_type, {**given, field.name: value}), True

    def delete(self, sobject_type: SObjectType, record_id: str) -> None:
        """Delete a record and the children that cascade with it."""
        with self.store.transaction():
            data = self.load(sobject_type, record_id)
            rules.before_delete(self.store, sobject_type.name, data)
            self._delete_tree(sobject_type, data)
            rules.after_write(self.store, sobject_type.name, data)

    # -- rules ---------------------------------------------------------------

    def _incoming(
        self, sobject_type: SObjectType, body: Mapping[str, Any], *, creating: bool
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        refused: list[str] = []
        for name, raw in body.items():
            if name == "attributes":
                continue
            field = sobject_type.field(name)
            if field is None:
                raise SalesforceError(
                    400,
                    "INVALID_FIELD",
                    f"No such column '{name}' on sobject of type {sobject_type.name}",
                    [name],
                )
            if not (field.createable if creating else field.updateable):
                refused.append(field.name)
                continue
            values[field.name] = coerce(field, raw)
        if refused:
            raise SalesforceError(
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(refused)}. Please check the security "
                "settings of this field and verify that it is read/write for your profile or "
                "permission set.",
                refused,
            )
        return values

    @staticmethod
    def _check_required(sobject_type: SObjectType, data: Mapping[str, Any]) -> None:
        missing = [f.name for f in sobject_type.fields if f.required and data.get(f.name) is None]
        if (
            sobject_type.name == "OrderItem"
            and missing == []
            and not (data.get("Product2Id") or data.get("PricebookEntryId"))
        ):
            missing = ["PricebookEntryId"]
        if missing:
            raise SalesforceError(
                400,
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )

    def _check_references(
        self, sobject_type: SObjectType, data: dict[str, Any], given: Mapping[str, Any]
    ) -> None:
        for field in sobject_type.fields:
            if field.reference_to is None or field.name not in given or given[field.name] is None:
                continue
            value = str(given[field.name])
            normal = normalise_id(value)
            target = BY_PREFIX.get(value[:3]) if normal else None
            if target is None or target.name != field.reference_to:
                raise SalesforceError(
                    400,
                    "INVALID_CROSS_REFERENCE_KEY",
                    f"{field.label}: id value of incorrect type: {value}",
                    [field.name],
                )
            if normal is None or self.store.get(normal) is None:
                raise SalesforceError(
                    400,
                    "INVALID_CROSS_REFERENCE_KEY",
                    f"invalid cross reference id: {value}",
                    [field.name],
                )
            # Store the canonical 18-character form whatever the client sent.
            data[field.name] = normal

    def _children(self, parent_id: str, child: str, field_name: str) -> list[dict[str, Any]]:
        return rules.children(self.store, parent_id, child, field_name)

    def _delete_tree(self, sobject_type: SObjectType, data: Mapping[str, Any]) -> None:
        for child_type in SOBJECTS.values():
            for field in child_type.fields:
                if field.reference_to != sobject_type.name or field.name in ("Id",):
                    continue
                children = self._children(data["Id"], child_type.name, field.name)
                if not children:
                    continue
                if not field.cascade_delete:
                    raise SalesforceError(
                        400,
                        "DELETE_FAILED",
                        f"Your attempt to delete {sobject_type.name} {data['Id']} could not be "
                        f"completed because it is associated with {len(children)} "
                        f"{child_type.label_plural.lower()} through {field.name}.",
                    )
                for child in children:
                    self._delete_tree(child_type, child)
        # The deletion time, which the replication API reports as deletedDate.
        stamp = next_stamp(self.clock(), data.get("SystemModstamp"))
        self.store.delete(data["Id"], {**data, "SystemModstamp": stamp})
