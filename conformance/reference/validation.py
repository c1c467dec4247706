"""The reference server's request validation: each operation's parameters and JSON body checked against
the spec, with validators compiled once at start.

It accepts and refuses what openapi-core's request validator does, and says why in the same words
(tests/test_request_validation.py holds it to that), at a fraction of the cost: openapi-core resolves
the spec's schemas again on every request, about 5 ms each. The rules it follows are openapi-core's:
a parameter is read from its location (the first value), cast to its schema's type the way
openapi-core casts, then validated; an empty query value is refused; a missing parameter is an error
only when it is required.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import ValidationError

from conformance.spec import operations
from conformance.spec.catalog import resolve
from conformance.spec.schemas import CompiledSchema, describe, formats_used, openapi_validator

Formats = dict[str, Callable[[Any], bool]]
# openapi-core's reading of a boolean parameter (openapi_core.util).
TRUE_WORDS = ("y", "yes", "t", "true", "on", "1")
FALSE_WORDS = ("n", "no", "f", "false", "off", "0")


class ParameterProblem(Exception):
    """A parameter is missing, cannot be read as its type, or is not valid against its schema."""


def _boolean(value: str) -> bool:
    if value.lower() not in TRUE_WORDS + FALSE_WORDS:
        raise ValueError(f"{value!r} is not a boolean")
    return value.lower() in TRUE_WORDS


CASTS: dict[str | None, Callable[[str], Any]] = {
    "integer": int,
    "number": float,
    "boolean": _boolean,
    "string": str,
    None: str,
}


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path, query or header
    required: bool
    cast: Callable[[str], Any]
    schema: CompiledSchema

    def check(self, value: str) -> Any:
        """The value cast to the parameter's type, else ParameterProblem in openapi-core's words."""
        if self.location == "query" and value == "":
            raise ParameterProblem(f"{self.location.title()} parameter error: {self.name}")
        try:
            typed = self.cast(value)
        except (ValueError, TypeError):
            raise ParameterProblem(f"{self.location.title()} parameter error: {self.name}") from None
        errors = self.schema.errors(typed)
        if errors:
            raise ParameterProblem(
                f"Invalid {self.location} parameter: {self.name}: " + "; ".join(describe(e) for e in errors)
            )
        return typed


@dataclass(frozen=True)
class OperationRequests:
    parameters: tuple[Parameter, ...]
    body: CompiledSchema | None  # the application/json body's schema, if the operation takes one


class RequestValidator:
    """Compiled once per spec: `parameters()` and `body_errors()` for any operation by id."""

    def __init__(
        self, spec: dict[str, Any], formats: Formats, skip: Callable[[dict[str, Any]], bool] = lambda _: False
    ) -> None:
        """`skip`: parameters this validator leaves to the caller (the server reads deepObject arrays itself)."""
        used = formats_used(spec)  # walked once, not once per schema
        self._operations = {
            operation_id: _compile(spec, operation.path, operation.method, formats, skip, used)
            for operation_id, operation in operations(spec).items()
        }

    def parameters(
        self, operation_id: str, path: Mapping[str, str], query: Mapping[str, str], headers: Mapping[str, str]
    ) -> dict[str, Any]:
        """The typed values of the query parameters given; ParameterProblem for the first one at fault."""
        locations = {"path": path, "query": query, "header": headers}
        typed: dict[str, Any] = {}
        for parameter in self._operations[operation_id].parameters:
            value = locations[parameter.location].get(parameter.name)
            if value is None:
                if parameter.required:
                    raise ParameterProblem(f"Missing required {parameter.location} parameter: {parameter.name}")
                continue
            checked = parameter.check(value)
            if parameter.location == "query":
                typed[parameter.name] = checked
        return typed

    def body_errors(self, operation_id: str, body: Any) -> list[ValidationError]:
        schema = self._operations[operation_id].body
        return schema.errors(body) if schema is not None else []


def _compile(
    spec: dict[str, Any],
    path: str,
    method: str,
    formats: Formats,
    skip: Callable[[dict[str, Any]], bool],
    used: frozenset[str],
) -> OperationRequests:
    item = spec["paths"][path]
    operation = item[method]
    seen: set[tuple[str, str]] = set()
    parameters = []
    # The operation's own parameters first, then the path's not overridden: openapi-core's order.
    for reference in (*operation.get("parameters", []), *item.get("parameters", [])):
        declared = resolve(spec, reference)
        key = (declared["name"], declared["in"])
        if key in seen or declared["in"] == "cookie" or skip(declared):
            continue
        seen.add(key)
        kind = resolve(spec, declared["schema"]).get("type")
        if kind not in CASTS:
            raise ValueError(
                f"{method.upper()} {path}: parameter {declared['name']} is of type {kind};"
                " this server reads primitive parameters only"
            )
        schema = CompiledSchema(spec, declared["schema"], openapi_validator(spec, declared["schema"], formats), used)
        parameters.append(
            Parameter(declared["name"], declared["in"], bool(declared.get("required")), CASTS[kind], schema)
        )
    content = resolve(spec, operation.get("requestBody", {})).get("content", {})
    body = content.get("application/json", {}).get("schema")
    compiled = CompiledSchema(spec, body, openapi_validator(spec, body, formats), used) if body is not None else None
    return OperationRequests(tuple(parameters), compiled)
