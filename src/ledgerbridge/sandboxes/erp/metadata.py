"""Generate OData V2 $metadata (EDMX) from the declarative model."""

from __future__ import annotations

from xml.etree.ElementTree import Element, SubElement, tostring

from ledgerbridge.sandboxes.erp.model import EntityType, Nav, Prop, Service

_EDMX = "http://schemas.microsoft.com/ado/2007/06/edmx"
_EDM = "http://schemas.microsoft.com/ado/2008/09/edm"
_M = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
_SAP = "http://www.sap.com/Protocols/SAPData"


def _association_name(entity: EntityType, nav: Nav) -> str:
    return f"assoc_{entity.name}_{nav.name}"


def _property(parent: Element, prop: Prop) -> None:
    attrs = {"Name": prop.name, "Type": prop.edm_type}
    if prop.max_length is not None:
        attrs["MaxLength"] = str(prop.max_length)
    if prop.precision is not None:
        attrs["Precision"] = str(prop.precision)
    if prop.scale is not None:
        attrs["Scale"] = str(prop.scale)
    if not prop.nullable:
        attrs["Nullable"] = "false"
    if prop.etag:
        attrs["ConcurrencyMode"] = "Fixed"
    attrs["sap:label"] = prop.label or prop.name
    SubElement(parent, "Property", attrs)


def _entity_type(schema: Element, service: Service, entity: EntityType) -> None:
    node = SubElement(schema, "EntityType", {"Name": entity.type_name, "sap:content-version": "1"})
    key = SubElement(node, "Key")
    for name in entity.keys:
        SubElement(key, "PropertyRef", {"Name": name})
    for prop in entity.props:
        _property(node, prop)
    for nav in entity.navs:
        assoc = _association_name(entity, nav)
        SubElement(
            node,
            "NavigationProperty",
            {
                "Name": nav.name,
                "Relationship": f"{service.name}.{assoc}",
                "FromRole": f"FromRole_{assoc}",
                "ToRole": f"ToRole_{assoc}",
            },
        )


def _association(schema: Element, service: Service, entity: EntityType, nav: Nav) -> None:
    target = service.entity(nav.target)
    if target is None:
        raise ValueError(f"{entity.name}.{nav.name} points at unknown set {nav.target}")
    assoc = _association_name(entity, nav)
    node = SubElement(schema, "Association", {"Name": assoc, "sap:content-version": "1"})
    SubElement(
        node,
        "End",
        {"Type": service.qualified(entity), "Multiplicity": "1", "Role": f"FromRole_{assoc}"},
    )
    SubElement(
        node,
        "End",
        {
            "Type": service.qualified(target),
            "Multiplicity": "*" if nav.many else "0..1",
            "Role": f"ToRole_{assoc}",
        },
    )


def _container(schema: Element, service: Service) -> None:
    node = SubElement(
        schema,
        "EntityContainer",
        {"Name": service.container, "m:IsDefaultEntityContainer": "true"},
    )
    for entity in service.entity_types:
        SubElement(
            node,
            "EntitySet",
            {"Name": entity.entity_set, "EntityType": service.qualified(entity)},
        )
    for function in service.functions:
        attrs = {"Name": function.name, "m:HttpMethod": function.http_method}
        if function.returns_complex:
            if service.complex_type(function.returns) is None:
                raise ValueError(f"{function.name} returns unknown type {function.returns}")
            attrs["ReturnType"] = f"Collection({service.name}.{function.returns})"
        else:
            target = service.entity(function.returns)
            if target is None:
                raise ValueError(f"{function.name} returns unknown set {function.returns}")
            attrs.update(ReturnType=service.qualified(target), EntitySet=target.entity_set)
        node_fi = SubElement(node, "FunctionImport", attrs)
        for param in function.params:
            attrs = {"Name": param.name, "Type": param.edm_type, "Mode": "In"}
            if param.max_length is not None:
                attrs["MaxLength"] = str(param.max_length)
            SubElement(node_fi, "Parameter", attrs)
    for entity in service.entity_types:
        for nav in entity.navs:
            assoc = _association_name(entity, nav)
            assoc_set = SubElement(
                node,
                "AssociationSet",
                {"Name": f"{assoc}_set", "Association": f"{service.name}.{assoc}"},
            )
            SubElement(
                assoc_set, "End", {"EntitySet": entity.entity_set, "Role": f"FromRole_{assoc}"}
            )
            SubElement(assoc_set, "End", {"EntitySet": nav.target, "Role": f"ToRole_{assoc}"})


def render_metadata(service: Service) -> bytes:
    """Render the EDMX document of `service` as UTF-8 XML bytes."""
    root = Element(
        "edmx:Edmx",
        {
            "Version": "1.0",
            "xmlns:edmx": _EDMX,
            "xmlns:m": _M,
            "xmlns:sap": _SAP,
        },
    )
    data_services = SubElement(root, "edmx:DataServices", {"m:DataServiceVersion": "2.0"})
    schema = SubElement(
        data_services,
        "Schema",
        {"Namespace": service.name, "xml:lang": "en", "sap:schema-version": "1", "xmlns": _EDM},
    )
    for entity in service.entity_types:
        _entity_type(schema, service, entity)
    for complex_type in service.complex_types:
        node = SubElement(schema, "ComplexType", {"Name": complex_type.name})
        for prop in complex_type.props:
            _property(node, prop)
    for entity in service.entity_types:
        for nav in entity.navs:
            _association(schema, service, entity, nav)
    _container(schema, service)
    return b'<?xml version="1.0" encoding="utf-8"?>' + tostring(root, encoding="unicode").encode()
