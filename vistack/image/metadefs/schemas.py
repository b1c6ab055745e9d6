"""The JSON schemas served at `/v2/schemas/metadefs/*`, and the check of bodies against them.

glanceclient builds a model from each of these schemas and validates every namespace, object,
property and tag it receives against it, so a schema that is stricter than the bodies served
breaks `glance md-namespace-list`; a looser one lets bad input in. One table therefore serves
both purposes: `check()` validates a request body against the same document clients download,
and the API tests validate every response against it too.

`check()` implements the subset of JSON Schema (draft 4) these documents use: `type`, `enum`,
`minLength`/`maxLength`, `pattern`, `format: regex`, `minimum`/`maximum`, `items`,
`minItems`/`maxItems`, `uniqueItems`, `properties`, `required`, `additionalProperties` and local
`$ref`s into `definitions`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from vistack.common.errors import BadRequest, Forbidden

MAX_NAME = 80
MAX_DESCRIPTION = 500
#: Set by the service; a body naming one at the top level is refused (Glance: 403).
READ_ONLY = ("created_at", "updated_at", "self", "schema")
PROPERTY_TYPES = ["array", "boolean", "integer", "number", "object", "string", "null"]
VISIBILITIES = ["public", "private"]

_DRAFT = "http://json-schema.org/draft-04/schema#"


def _string(description: str, max_length: int | None = MAX_NAME, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "description": description, **extra}
    if max_length is not None:
        schema["maxLength"] = max_length
    return schema


def _timestamps() -> dict[str, Any]:
    return {
        "created_at": _string(
            "When it was created (UTC, ISO 8601).", None, format="date-time", readOnly=True
        ),
        "updated_at": _string(
            "When it was last changed (UTC, ISO 8601).", None, format="date-time", readOnly=True
        ),
    }


def _links(*, self_link: bool = True) -> list[dict[str, str]]:
    links = [{"rel": "describedby", "href": "{schema}"}]
    if self_link:
        links.insert(0, {"rel": "self", "href": "{self}"})
    return links


def _collection_links() -> list[dict[str, str]]:
    return [
        {"rel": "first", "href": "{first}"},
        {"rel": "next", "href": "{next}"},
        {"rel": "describedby", "href": "{schema}"},
    ]


def _property_fields() -> dict[str, Any]:
    """What a property definition may say: a JSON-schema fragment for one metadata key."""
    count = {"type": "integer", "minimum": 0}
    return {
        "name": _string("The metadata key this definition describes.", minLength=1),
        "title": _string("A short human-readable label for the key.", 255),
        "description": _string("What the key does, for the person setting it.", None),
        "type": {"type": "string", "enum": PROPERTY_TYPES, "description": "The value's type."},
        "operators": {
            "type": "array",
            "items": {"type": "string"},
            "description": "How a value is compared, e.g. ['<or>'] for a choice of values.",
        },
        "default": {"description": "The value assumed when the key is not set."},
        "readonly": {"type": "boolean", "description": "Whether users may change the value."},
        "enum": {"type": "array", "description": "The only values allowed."},
        "minimum": {"type": "number", "description": "Smallest allowed number."},
        "maximum": {"type": "number", "description": "Largest allowed number."},
        "minLength": {**count, "description": "Shortest allowed string."},
        "maxLength": {**count, "description": "Longest allowed string."},
        "pattern": {"type": "string", "format": "regex", "description": "A regex to match."},
        "items": {
            "type": "object",
            "description": "For arrays: what each element must be.",
            "properties": {
                "type": {"type": "string", "enum": PROPERTY_TYPES},
                "enum": {"type": "array"},
            },
            "additionalProperties": False,
        },
        "uniqueItems": {"type": "boolean", "description": "For arrays: no repeated elements."},
        "minItems": {**count, "description": "For arrays: fewest elements."},
        "maxItems": {**count, "description": "For arrays: most elements."},
        "additionalItems": {"type": "boolean", "description": "For arrays: extra elements."},
    }


def _definitions() -> dict[str, Any]:
    return {
        "property": {
            "type": "object",
            "description": "Property definitions by key.",
            "additionalProperties": {
                "type": "object",
                "required": ["title", "type"],
                "properties": _property_fields(),
                "additionalProperties": False,
            },
        },
        "stringArray": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
    }


def _association_fields() -> dict[str, Any]:
    return {
        "name": _string("The resource type, e.g. OS::Glance::Image.", minLength=1),
        "prefix": _string(
            "Prepended to the namespace's property names when they are set on this resource "
            "type (e.g. 'hw_' for images, 'hw:' for flavors)."
        ),
        "properties_target": _string(
            "Where on the resource the properties go when it has several places for "
            "key/value pairs (e.g. 'image' for a volume's image metadata)."
        ),
        **_timestamps(),
    }


def _object_fields() -> dict[str, Any]:
    return {
        "name": _string("The object's name, unique in its namespace.", minLength=1),
        "description": {
            **_string("What the group of properties is for.", None),
            "type": ["string", "null"],
        },
        "required": {"$ref": "#/definitions/stringArray"},
        "properties": {"$ref": "#/definitions/property"},
        "schema": _string("This schema's path.", None, readOnly=True),
        "self": _string("This object's path.", None, readOnly=True),
        **_timestamps(),
    }


def _tag_fields() -> dict[str, Any]:
    return {"name": _string("The tag.", minLength=1), **_timestamps()}


def _namespace_fields() -> dict[str, Any]:
    nullable = {"type": ["string", "null"]}
    return {
        "namespace": _string("The namespace's unique name, e.g. OS::Compute::VMware.", minLength=1),
        "display_name": {**_string("A human-readable name."), **nullable},
        "description": {
            **_string("What the namespace's definitions are for.", MAX_DESCRIPTION),
            **nullable,
        },
        "visibility": {
            "type": "string",
            "enum": VISIBILITIES,
            "description": "Who can see it: everyone (public) or its owner project (private).",
        },
        "protected": {"type": "boolean", "description": "If true, it cannot be deleted."},
        "owner": _string("The project that owns it.", 255),
        "resource_type_associations": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": _association_fields(),
                "additionalProperties": False,
            },
        },
        "properties": {"$ref": "#/definitions/property"},
        "objects": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": _object_fields(),
                "additionalProperties": False,
            },
        },
        "tags": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": _tag_fields(),
                "additionalProperties": False,
            },
        },
        "schema": _string("This schema's path.", None, readOnly=True),
        "self": _string("This namespace's path.", None, readOnly=True),
        **_timestamps(),
    }


def _document(
    name: str,
    properties: dict[str, Any],
    *,
    required: list[str] | None = None,
    links: list[dict[str, str]] | None = None,
    definitions: bool = True,
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "$schema": _DRAFT,
        "name": name,
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        document["required"] = required
    if definitions:
        document["definitions"] = _definitions()
    if links:
        document["links"] = links
    return document


def _collection(name: str, item: dict[str, Any], *, paged: bool = False) -> dict[str, Any]:
    # The item's $refs resolve against the collection's own definitions.
    own = {k: v for k, v in item.items() if k not in ("$schema", "definitions")}
    properties: dict[str, Any] = {
        name: {"type": "array", "items": own},
        "schema": {"type": "string"},
    }
    if paged:
        properties.update(first={"type": "string"}, next={"type": "string"})
    return _document(
        name,
        properties,
        links=_collection_links() if paged else [{"rel": "describedby", "href": "{schema}"}],
    )


def namespace_schema() -> dict[str, Any]:
    return _document("namespace", _namespace_fields(), required=["namespace"], links=_links())


def namespaces_schema() -> dict[str, Any]:
    return _collection("namespaces", namespace_schema(), paged=True)


def object_schema() -> dict[str, Any]:
    return _document("object", _object_fields(), required=["name"], links=_links())


def objects_schema() -> dict[str, Any]:
    return _collection("objects", object_schema())


def property_schema() -> dict[str, Any]:
    return _document(
        "property",
        _property_fields(),
        required=["name", "title", "type"],
        links=_links(self_link=False),
    )


def properties_schema() -> dict[str, Any]:
    return _document(
        "properties",
        {"properties": {"$ref": "#/definitions/property"}, "schema": {"type": "string"}},
        links=[{"rel": "describedby", "href": "{schema}"}],
    )


def tag_schema() -> dict[str, Any]:
    return _document("tag", _tag_fields(), required=["name"], definitions=False)


def tags_schema() -> dict[str, Any]:
    item = {
        "type": "object",
        "required": ["name"],
        "properties": _tag_fields(),
        "additionalProperties": False,
    }
    return _document(
        "tags",
        {"tags": {"type": "array", "items": item}, "schema": {"type": "string"}},
        definitions=False,
        links=[{"rel": "describedby", "href": "{schema}"}],
    )


def resource_type_schema() -> dict[str, Any]:
    """One association of a namespace with a resource type (Glance calls the schema this)."""
    return _document(
        "resource_type_association",
        _association_fields(),
        required=["name"],
        definitions=False,
    )


def resource_types_schema() -> dict[str, Any]:
    item = {
        "type": "object",
        "required": ["name"],
        "properties": _association_fields(),
        "additionalProperties": False,
    }
    return _document(
        "resource_type_associations",
        {
            "resource_type_associations": {"type": "array", "items": item},
            "schema": {"type": "string"},
        },
        definitions=False,
        links=[{"rel": "describedby", "href": "{schema}"}],
    )


#: `/v2/schemas/metadefs/<name>` → the document.
SCHEMAS = {
    "namespace": namespace_schema,
    "namespaces": namespaces_schema,
    "object": object_schema,
    "objects": objects_schema,
    "property": property_schema,
    "properties": properties_schema,
    "tag": tag_schema,
    "tags": tags_schema,
    "resource_type": resource_type_schema,
    "resource_types": resource_types_schema,
}


# -- checking --------------------------------------------------------------------------------


def check_body(body: Any, schema: Mapping[str, Any], what: str) -> dict[str, Any]:
    """`body` as a valid `what`, or the reason it is not.

    :raises Forbidden: it sets a read-only attribute (Glance answers 403 for that).
    :raises BadRequest: it does not match `schema`.
    """
    if not isinstance(body, dict):
        raise BadRequest(f"The {what} must be a JSON object.")
    for key in READ_ONLY:
        if key in body:
            raise Forbidden(f"Attribute '{key}' is read-only.")
    check(body, schema, what)
    return body


def check(value: Any, schema: Mapping[str, Any], what: str) -> None:
    """:raises BadRequest: `value` does not match `schema`, naming where and why."""
    _check(value, schema, schema, what)


_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "null": lambda v: v is None,
}


def _check(value: Any, schema: Mapping[str, Any], root: Mapping[str, Any], path: str) -> None:
    ref = schema.get("$ref")
    if ref is not None:
        schema = root["definitions"][ref.rsplit("/", 1)[-1]]
    expected = schema.get("type")
    if expected is not None:
        names = [expected] if isinstance(expected, str) else list(expected)
        if not any(_TYPES[name](value) for name in names):
            raise BadRequest(f"Invalid {path}: {_show(value)} is not of type {' or '.join(names)}.")
    if "enum" in schema and value not in schema["enum"]:
        choices = ", ".join(str(choice) for choice in schema["enum"])
        raise BadRequest(f"Invalid {path}: {_show(value)} is not one of: {choices}.")
    if isinstance(value, str):
        _check_string(value, schema, path)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise BadRequest(f"Invalid {path}: {value} is less than {schema['minimum']}.")
        if "maximum" in schema and value > schema["maximum"]:
            raise BadRequest(f"Invalid {path}: {value} is greater than {schema['maximum']}.")
    elif isinstance(value, list):
        _check_array(value, schema, root, path)
    elif isinstance(value, dict):
        _check_object(value, schema, root, path)


def _check_string(value: str, schema: Mapping[str, Any], path: str) -> None:
    if len(value) < schema.get("minLength", 0):
        raise BadRequest(f"Invalid {path}: it must not be empty.")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        raise BadRequest(f"Invalid {path}: it is longer than {schema['maxLength']} characters.")
    if schema.get("format") == "regex":
        try:
            re.compile(value)
        except re.error as error:
            raise BadRequest(
                f"Invalid {path}: {value!r} is not a regular expression ({error})."
            ) from None
    if "pattern" in schema and re.search(schema["pattern"], value) is None:
        raise BadRequest(f"Invalid {path}: {value!r} does not match {schema['pattern']!r}.")


def _check_array(
    value: list[Any], schema: Mapping[str, Any], root: Mapping[str, Any], path: str
) -> None:
    if len(value) < schema.get("minItems", 0):
        raise BadRequest(f"Invalid {path}: it needs at least {schema['minItems']} items.")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        raise BadRequest(f"Invalid {path}: it allows at most {schema['maxItems']} items.")
    if schema.get("uniqueItems"):
        seen = [json.dumps(item, sort_keys=True) for item in value]
        if len(set(seen)) != len(seen):
            raise BadRequest(f"Invalid {path}: its items must be unique.")
    items = schema.get("items")
    if isinstance(items, Mapping):
        for index, item in enumerate(value):
            _check(item, items, root, f"{path}[{index}]")


def _check_object(
    value: dict[str, Any], schema: Mapping[str, Any], root: Mapping[str, Any], path: str
) -> None:
    for name in schema.get("required", ()):
        if name not in value:
            raise BadRequest(f"Invalid {path}: '{name}' is a required property.")
    properties: Mapping[str, Any] = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in properties:
            _check(item, properties[key], root, f"{path}.{key}")
        elif extra is False:
            raise BadRequest(f"Invalid {path}: additional property '{key}' is not allowed.")
        elif isinstance(extra, Mapping):
            _check(item, extra, root, f"{path}.{key}")


def _show(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."
