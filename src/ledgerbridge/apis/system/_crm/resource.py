"""One CRM object as a canonical resource: list with filters and cursor paging, get with an
ETag, create, and update guarded by If-Match.

The ETag of a record is its SystemModstamp, which Salesforce moves on every change; an update
whose If-Match no longer matches is refused with 412 before anything is written. Calls go
through the CRM's resilience policy: reads and updates are retried when the CRM is
unavailable, a create runs once (a repeat could create a second record).

A resource with a ``batch_key`` also takes batches (``POST /{path}/batch``): up to 2000
records upserted by that key through sObject Collections, 200 per call, each call retried
as a whole (an upsert by key is safe to repeat).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Header, Path, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from ledgerbridge.apis.system._batch import refused, require_unique_keys
from ledgerbridge.apis.system._crm.soql import soql_literal
from ledgerbridge.apis.system.ids import SALESFORCE_ID
from ledgerbridge.connectors.salesforce import SalesforceClient, SaveResult, SObjectRecord
from ledgerbridge.mapping import load_mapping
from ledgerbridge.runtime.batch import Batch, BatchOutcome, BatchResult
from ledgerbridge.runtime.errors import MappingError, NotFound, PreconditionFailed
from ledgerbridge.runtime.paging import Cursor, Limit, Page, decode_cursor, encode_cursor
from ledgerbridge.runtime.resilience import BackendPolicy, policies

ModelT = TypeVar("ModelT", bound=BaseModel)
_ETAG_FIELD = "SystemModstamp"
BACKEND = "salesforce"
# Salesforce's key prefix of each object's ids, for the examples of the id parameters.
_KEY_PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "Case": "500",
    "Product2": "01t",
    "Pricebook2": "01s",
    "PricebookEntry": "01u",
}
# Records per sObject Collections call: Salesforce's maximum. Each call is one guarded
# attempt, so a 2000-record batch never has to fit in one call's timeout.
COLLECTION_SIZE = 200


@dataclass(frozen=True, slots=True)
class CrmResource(Generic[ModelT]):
    """How one CRM object maps to a canonical model and which filters its list accepts.

    ``filters`` maps a query parameter to the SOQL field it must equal; ``batch_key``
    names the canonical field a batch upserts by and the CRM external id field holding it;
    ``fixed`` maps each CRM field the CRM sets only at creation to its canonical field: an
    update does not send it, and refuses a body that would change it (422 naming the field).
    """

    sobject: str
    model: type[ModelT]
    select: tuple[str, ...]
    read_mapping: str
    write_mapping: str
    filters: Mapping[str, str] = field(default_factory=dict)
    batch_key: tuple[str, str] | None = None
    fixed: Mapping[str, str] = field(default_factory=dict)

    def to_model(self, record: SObjectRecord) -> ModelT:
        """The canonical form of a CRM record."""
        mapping = load_mapping(self.read_mapping)
        return mapping.to_model(record.fields, self.model, record_id=record.id)

    def to_fields(self, model: BaseModel) -> dict[str, Any]:
        """The CRM fields of a canonical model, for a create or an update."""
        mapping = load_mapping(self.write_mapping)
        return mapping.apply(
            model.model_dump(mode="json"), record_id=getattr(model, "crm_id", None)
        )

    def update_fields(self, model: BaseModel, current: SObjectRecord) -> dict[str, Any]:
        """The CRM fields an update of ``current`` to ``model`` sends: the fixed ones left out.

        Raises RequestValidationError naming each canonical field that would change a fixed one.
        """
        fields = self.to_fields(model)
        moved = [
            canonical
            for name, canonical in self.fixed.items()
            if name in fields and fields[name] != current.fields.get(name)
        ]
        if moved:
            raise RequestValidationError(
                [
                    {
                        "loc": ("body", canonical),
                        "msg": f"cannot change once the {self.sobject} exists",
                        "type": "value_error",
                    }
                    for canonical in moved
                ]
            )
        return {name: value for name, value in fields.items() if name not in self.fixed}

    @property
    def soql_fields(self) -> str:
        """The SELECT list: the mapped fields plus the one the ETag is made of."""
        return ", ".join(dict.fromkeys(("Id", *self.select, _ETAG_FIELD)))


def _etag(record: SObjectRecord) -> str:
    return f'W/"{record.fields.get(_ETAG_FIELD)}"'


def _policy() -> BackendPolicy:
    return policies.policy_for(BACKEND)


async def _fetch(
    crm: SalesforceClient, resource: CrmResource[Any], record_id: str
) -> SObjectRecord:
    found = await _policy().guarded(crm.query, repeatable=True)(
        f"SELECT {resource.soql_fields} FROM {resource.sobject} "  # noqa: S608 - SOQL, escaped
        f"WHERE Id = {soql_literal(record_id)}"
    )
    if not found:
        raise NotFound(f"no {resource.sobject} {record_id}", backend=BACKEND, fields=["id"])
    return found[0]


def crm_router(resource: CrmResource[ModelT], *, path: str, crm: SalesforceClient) -> APIRouter:
    """The routes of ``resource`` under ``/{path}``."""
    router = APIRouter()
    model = resource.model
    noun = resource.sobject
    record_id_path = Path(
        pattern=SALESFORCE_ID, examples=[f"{_KEY_PREFIXES.get(noun, '001')}5g00000Qm7RtAAJ"]
    )

    async def list_records(request: Request, limit: Limit = 50, cursor: Cursor = None) -> Any:
        after = decode_cursor(cursor).get("after")
        where = [
            f"{soql_field} = {soql_literal(request.query_params[param])}"
            for param, soql_field in resource.filters.items()
            if param in request.query_params
        ]
        if after is not None:
            where.append(f"Id > {soql_literal(str(after))}")
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        records = await _policy().guarded(crm.query, repeatable=True)(
            f"SELECT {resource.soql_fields} FROM {noun}{clause} "  # noqa: S608 - SOQL, escaped
            f"ORDER BY Id LIMIT {limit + 1}"
        )
        page = records[:limit]
        next_cursor = encode_cursor({"after": page[-1].id}) if len(records) > limit else None
        return Page[model](  # type: ignore[valid-type]
            items=[resource.to_model(r) for r in page], next_cursor=next_cursor
        )

    async def get_record(response: Response, record_id: Annotated[str, record_id_path]) -> Any:
        record = await _fetch(crm, resource, record_id)
        response.headers["ETag"] = _etag(record)
        return resource.to_model(record)

    async def create_record(body: Any, response: Response) -> Any:
        record_id = await _policy().guarded(crm.create)(noun, resource.to_fields(body))
        record = await _fetch(crm, resource, record_id)
        response.headers["ETag"] = _etag(record)
        response.headers["Location"] = f"{path}/{record_id}"
        return resource.to_model(record)

    async def update_record(
        body: Any,
        response: Response,
        record_id: Annotated[str, record_id_path],
        if_match: Annotated[
            str,
            Header(
                description="The ETag of the version you read.",
                examples=['W/"2026-11-24T09:15:00.000+0000"'],
            ),
        ],
    ) -> Any:
        current = await _fetch(crm, resource, record_id)
        if if_match != _etag(current):
            raise PreconditionFailed(
                f"{noun} {record_id} changed since it was read",
                backend="salesforce",
                fields=["If-Match"],
            )
        fields = resource.update_fields(body, current)
        await _policy().guarded(crm.update, repeatable=True)(noun, record_id, fields)
        record = await _fetch(crm, resource, record_id)
        response.headers["ETag"] = _etag(record)
        return resource.to_model(record)

    # The body and response types are the resource's own model, known only at run time.
    for endpoint in (create_record, update_record):
        endpoint.__annotations__["body"] = model
    if resource.batch_key is not None:
        _add_batch_route(router, resource, path=path, crm=crm)
    router.add_api_route(
        f"/{path}",
        list_records,
        methods=["GET"],
        response_model=Page[model],  # type: ignore[valid-type]
        summary=f"List {noun} records, filtered and paged",
        openapi_extra=_filter_docs(resource.filters),
    )
    router.add_api_route(
        f"/{path}/{{record_id}}",
        get_record,
        methods=["GET"],
        response_model=model,
        summary=f"One {noun} record, with its ETag",
    )
    router.add_api_route(
        f"/{path}",
        create_record,
        methods=["POST"],
        response_model=model,
        status_code=status.HTTP_201_CREATED,
        summary=f"Create a {noun} record",
    )
    router.add_api_route(
        f"/{path}/{{record_id}}",
        update_record,
        methods=["PUT"],
        response_model=model,
        summary=f"Replace a {noun} record's fields (If-Match required)",
    )
    return router


def _filter_docs(filters: Mapping[str, str]) -> dict[str, Any]:
    return {
        "parameters": [
            {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
            for name in filters
        ]
    }


def _add_batch_route(
    router: APIRouter, resource: CrmResource[ModelT], *, path: str, crm: SalesforceClient
) -> None:
    assert resource.batch_key is not None
    key, external_field = resource.batch_key
    noun = resource.sobject

    async def upsert_batch(body: Any) -> BatchResult:
        records: list[BaseModel] = body.records
        keys = [getattr(record, key) for record in records]
        require_unique_keys(keys, key)
        outcomes: dict[int, BatchOutcome] = {}
        rows: list[tuple[int, dict[str, Any]]] = []
        for index, record in enumerate(records):
            try:
                rows.append((index, {**resource.to_fields(record), external_field: keys[index]}))
            except MappingError as exc:
                outcomes[index] = refused(index, exc)
        upsert = _policy().guarded(crm.upsert_many, repeatable=True)
        for start in range(0, len(rows), COLLECTION_SIZE):
            chunk = rows[start : start + COLLECTION_SIZE]
            saved = await upsert(noun, external_field, [fields for _, fields in chunk])
            for (index, _), result in zip(chunk, saved, strict=True):
                outcomes[index] = _outcome(index, result)
        return BatchResult.of([outcomes[i] for i in range(len(records))])

    upsert_batch.__annotations__["body"] = Batch[resource.model]  # type: ignore[name-defined]
    router.add_api_route(
        f"/{path}/batch",
        upsert_batch,
        methods=["POST"],
        response_model=BatchResult,
        summary=f"Upsert up to 2000 {noun} records by {key}; an outcome per record",
        description=(
            f"Each record is created, or updated when a {noun} with its {key} exists, so "
            "sending a batch again writes no second record. Invalid records fail the "
            "request (422) before anything is written; a record the CRM refuses gets a "
            "problem naming its index and fields, and the others are written."
        ),
    )


def _outcome(index: int, result: SaveResult) -> BatchOutcome:
    if result.success:
        return BatchOutcome(index=index, id=result.id, created=result.created)
    detail = "; ".join(f"{e.status_code}: {e.message}" for e in result.errors)
    fields = [name for e in result.errors for name in e.fields]
    return BatchOutcome.refused(index, detail or "refused by the CRM", fields)
