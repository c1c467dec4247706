"""JSON Schema validators for the spec's component schemas (2020-12, references resolved in the spec)."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_URI = "urn:conformance:spec"


def schema_validator(spec: dict[str, Any], schema: str | dict[str, Any]) -> Draft202012Validator:
    """A validator for a component schema name (`AccountPerson`) or a schema taken from the spec."""
    registry: Registry = Registry().with_resource(SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012))
    root = {"$ref": f"{SPEC_URI}#/components/schemas/{schema}"} if isinstance(schema, str) else _rebase(schema)
    return Draft202012Validator(root, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _rebase(node: Any) -> Any:
    """Point the local references of a schema lifted out of the spec back into the spec."""
    if isinstance(node, dict):
        return {key: (f"{SPEC_URI}{value}" if key == "$ref" and value.startswith("#/") else _rebase(value)) for key, value in node.items()}
    if isinstance(node, list):
        return [_rebase(item) for item in node]
    return node
