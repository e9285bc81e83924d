"""Describe output synthesised from the schema: the global list, object and field describes.

The shapes follow Salesforce's describe JSON; the attributes real orgs carry but the sandbox
has no use for (layouts, record types beyond Master) come back with their neutral values.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from ledgerbridge.sandboxes.crm.objects import CHILD_RELATIONSHIPS, SOBJECTS
from ledgerbridge.sandboxes.crm.records import resolve_type
from ledgerbridge.sandboxes.crm.routing import json_response, route
from ledgerbridge.sandboxes.crm.schema import Field, SObjectType
from ledgerbridge.sandboxes.crm.state import SandboxState

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "currency": "xsd:double",
    "double": "xsd:double",
    "percent": "xsd:double",
}
_NUMBERS = ("currency", "double", "percent")
_LONG_TEXT = 4000
_MERGEABLE = ("Account", "Contact", "Case")


def _urls(version: str, name: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{name}"
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def summary(sobject_type: SObjectType, version: str) -> dict[str, Any]:
    """The entry of an sObject in the global describe."""
    name = sobject_type.name
    return {
        "activateable": False,
        "createable": True,
        "custom": False,
        "customSetting": False,
        "deepCloneable": False,
        "deletable": True,
        "deprecatedAndHidden": False,
        "feedEnabled": name != "PricebookEntry",
        "hasSubtypes": False,
        "isInterface": False,
        "isSubtype": False,
        "keyPrefix": sobject_type.key_prefix,
        "label": sobject_type.label,
        "labelPlural": sobject_type.label_plural,
        "layoutable": True,
        "mergeable": name in _MERGEABLE,
        "mruEnabled": True,
        "name": name,
        "queryable": True,
        "replicateable": True,
        "retrieveable": True,
        "searchable": name != "PricebookEntry",
        "triggerable": True,
        "undeletable": True,
        "updateable": True,
        "urls": _urls(version, name),
    }


def _picklist(field: Field) -> list[dict[str, Any]]:
    return [
        {
            "active": True,
            "defaultValue": value == field.default,
            "label": value,
            "validFor": None,
            "value": value,
        }
        for value in field.picklist
    ]


def field_describe(sobject_type: SObjectType, field: Field) -> dict[str, Any]:
    """The describe of one field, with the attributes Salesforce reports."""
    kind = field.type
    textual = kind not in _SOAP_TYPES
    length = field.length if textual else (18 if kind in ("id", "reference") else 0)
    long_text = kind == "textarea" and field.length > _LONG_TEXT
    system = not field.createable and not field.updateable and not field.calculated
    is_name = field is sobject_type.name_field
    return {
        "aggregatable": kind not in ("boolean",) and not long_text,
        "autoNumber": field.auto_number,
        "byteLength": length * 3,
        "calculated": field.calculated,
        "calculatedFormula": None,
        "cascadeDelete": field.cascade_delete,
        "caseSensitive": False,
        "compoundFieldName": None,
        "controllerName": None,
        "createable": field.createable,
        "custom": field.name.endswith("__c"),
        "defaultValue": field.default if kind == "boolean" else None,
        "defaultedOnCreate": field.default is not None or system or field.auto_number,
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": 0,
        "externalId": field.external_id,
        "extraTypeInfo": None,
        "filterable": not long_text,
        "groupable": kind not in _NUMBERS and kind != "datetime" and not long_text,
        "htmlFormatted": False,
        "idLookup": field.name == "Id" or field.external_id or (is_name and kind == "string"),
        "inlineHelpText": None,
        "label": field.label or field.name,
        "length": length,
        "name": field.name,
        "nameField": is_name,
        "namePointing": False,
        "nillable": not field.required and kind != "boolean" and field.name != "Id" and not system,
        "permissionable": not field.required and field.createable,
        "picklistValues": _picklist(field),
        "polymorphicForeignKey": False,
        "precision": (18 if kind != "percent" else 3) if kind in _NUMBERS else 0,
        "referenceTargetField": None,
        "referenceTo": [field.reference_to] if field.reference_to else [],
        "relationshipName": field.relationship_name,
        "relationshipOrder": None,
        "restrictedDelete": False,
        "restrictedPicklist": field.restricted,
        "scale": field.scale if kind in _NUMBERS else 0,
        "soapType": _SOAP_TYPES.get(kind, "xsd:string"),
        "sortable": not long_text,
        "type": kind,
        "unique": False,
        "updateable": field.updateable,
        "writeRequiresMasterRead": False,
    }


def _child_relationships(sobject_type: SObjectType) -> list[dict[str, Any]]:
    out = []
    for child in SOBJECTS.values():
        for field in child.fields:
            if field.reference_to != sobject_type.name:
                continue
            out.append(
                {
                    "cascadeDelete": field.cascade_delete,
                    "childSObject": child.name,
                    "deprecatedAndHidden": False,
                    "field": field.name,
                    "junctionIdListNames": [],
                    "junctionReferenceTo": [],
                    "relationshipName": CHILD_RELATIONSHIPS.get((child.name, field.name)),
                    "restrictedDelete": not field.cascade_delete,
                }
            )
    return out


def describe(sobject_type: SObjectType, version: str) -> dict[str, Any]:
    """The full describe of an sObject."""
    return {
        **summary(sobject_type, version),
        "actionOverrides": [],
        "childRelationships": _child_relationships(sobject_type),
        "compactLayoutable": True,
        "fields": [field_describe(sobject_type, f) for f in sobject_type.fields],
        "listviewable": None,
        "lookupLayoutable": None,
        "namedLayoutInfos": [],
        "networkScopeFieldName": None,
        "recordTypeInfos": [
            {
                "active": True,
                "available": True,
                "defaultRecordTypeMapping": True,
                "developerName": "Master",
                "master": True,
                "name": "Master",
                "recordTypeId": "012000000000000AAA",
                "urls": {
                    "layout": f"/services/data/v{version}/sobjects/{sobject_type.name}"
                    "/describe/layouts/012000000000000AAA"
                },
            }
        ],
        "searchLayoutable": True,
        "supportedScopes": [
            {"label": f"All {sobject_type.label_plural.lower()}", "name": "everything"},
            {"label": f"My {sobject_type.label_plural.lower()}", "name": "mine"},
        ],
    }


def routes(state: SandboxState) -> APIRouter:
    """The describe endpoints; mounted before the record routes, whose paths they shadow."""
    router = APIRouter()

    @route(router, "/services/data/v{version}/sobjects", ["GET"])
    async def global_describe(version: str) -> Response:
        """List every sObject of the org."""
        sobjects = [summary(t, version) for t in SOBJECTS.values()]
        return json_response({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects})

    @route(router, "/services/data/v{version}/sobjects/{name}", ["GET"])
    async def basic_info(version: str, name: str) -> Response:
        """An sObject's summary and its most recently created records."""
        sobject_type = resolve_type(name)
        name_field = sobject_type.name_field.name
        recent = state.store.all_of(sobject_type.name)[-5:][::-1]
        items = [state.records.render(sobject_type, r, version, [name_field]) for r in recent]
        return json_response(
            {"objectDescribe": summary(sobject_type, version), "recentItems": items}
        )

    @route(router, "/services/data/v{version}/sobjects/{name}/describe", ["GET"])
    async def object_describe(version: str, name: str) -> Response:
        """The full describe of an sObject."""
        return json_response(describe(resolve_type(name), version))

    return router
