"""JSON Schema validators for the spec's component schemas (2020-12, references resolved in the spec)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_URI = "urn:conformance:spec"
Validator = Draft202012Validator  # OAS31Validator is one of its kind (extended from it)


def schema_validator(spec: dict[str, Any], schema: str | dict[str, Any]) -> Draft202012Validator:
    """A validator for a component schema name (`AccountPerson`) or a schema taken from the spec."""
    return Draft202012Validator(
        _root(schema), registry=_registry(spec), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def openapi_validator(
    spec: dict[str, Any], schema: str | dict[str, Any], formats: dict[str, Callable[[Any], bool]]
) -> OAS31Validator:
    """The validator openapi-core builds for a schema of the spec: OAS 3.1's, its format checks and the extra ones."""
    checker = FormatChecker()
    checker.checkers = {**oas31_format_checker.checkers}
    for name, check in formats.items():
        checker.checks(name)(check)
    return OAS31Validator(_root(schema), registry=_registry(spec), format_checker=checker)


class CompiledSchema:
    """One schema of the spec, compiled twice. jsonschema-rs says quickly that an instance is valid;
    the jsonschema validator it is built beside has the last word on one that jsonschema-rs refuses, and
    gives the errors that name the members at fault. So an instance is refused only when the exact
    validator refuses it, and the fast one costs microseconds on the common, valid case."""

    def __init__(
        self, spec: dict[str, Any], schema: str | dict[str, Any], exact: Validator, used: frozenset[str] | None = None
    ) -> None:
        """`used`: the formats the spec uses (`formats_used(spec)`), for a caller that compiles many of its schemas."""
        self.exact = exact
        checker = exact.format_checker
        # The exact validator's own format checks, so that the two agree on every format the spec uses.
        names = formats_used(spec) if used is None else used
        formats = {name: _conforms(checker, name) for name in names if checker and name in checker.checkers}
        self._fast = jsonschema_rs.Draft202012Validator(
            _root(schema), registry=jsonschema_rs.Registry([(SPEC_URI, spec)]), formats=formats, validate_formats=True
        )

    def errors(self, instance: Any) -> list[ValidationError]:
        try:
            if self._fast.is_valid(instance):
                return []
        except (ValueError, TypeError, OverflowError):  # a value jsonschema-rs cannot take in: the exact one decides
            pass
        return list(self.exact.iter_errors(instance))


def _conforms(checker: FormatChecker, name: str) -> Callable[[str], bool]:
    return lambda value: checker.conforms(value, name)


def formats_used(spec: dict[str, Any]) -> frozenset[str]:
    """Every `format` a schema of the spec names."""
    return frozenset(_formats(spec))


def _formats(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("format"), str):
            yield node["format"]
        for value in node.values():
            yield from _formats(value)
    elif isinstance(node, list):
        for item in node:
            yield from _formats(item)


def _registry(spec: dict[str, Any]) -> Registry[Any]:
    registry: Registry[Any] = Registry().with_resource(
        SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    return registry


def _root(schema: str | dict[str, Any]) -> dict[str, Any]:
    return {"$ref": f"{SPEC_URI}#/components/schemas/{schema}"} if isinstance(schema, str) else _rebase(schema)


def _rebase(node: Any) -> Any:
    """Point the local references of a schema lifted out of the spec back into the spec."""
    if isinstance(node, dict):
        return {
            key: (f"{SPEC_URI}{value}" if key == "$ref" and value.startswith("#/") else _rebase(value))
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rebase(item) for item in node]
    return node


def leaf_errors(errors: list[Any]) -> list[Any]:
    """The innermost errors (the ones under allOf/anyOf say what is actually wrong)."""
    leaves: list[Any] = []
    for error in errors:
        leaves.extend(leaf_errors(list(error.context)) if getattr(error, "context", None) else [error])
    return leaves


def describe(error: Any) -> str:
    """`path.to.member: message` for one jsonschema error."""
    where = ".".join(str(part) for part in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message
