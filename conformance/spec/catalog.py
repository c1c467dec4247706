"""The operations of the spec and their documented error codes, read from the document itself.

An operation's documented codes are the `ErrorCode.<code>` rules that its error responses
reference (`allOf: [V2Error, ErrorCode.a, ErrorCode.b, ...]`); the status is the response's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

HTTP_METHODS = ("get", "put", "post", "delete", "patch")
ERROR_RULE_PREFIX = "#/components/schemas/ErrorCode."


@dataclass(frozen=True)
class DocumentedError:
    """One documented error code of one operation."""

    code: str
    status: int
    members: tuple[str, ...]
    constants: dict[str, Any]
    description: str
    schema_name: str


@dataclass(frozen=True)
class Operation:
    """One operation of the spec."""

    operation_id: str
    method: str
    path: str
    summary: str
    statuses: tuple[int, ...]
    publishable_key_allowed: bool
    errors: dict[str, DocumentedError] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"


MAX_REFERENCE_CHAIN = 64  # a `$ref` chain longer than this is a loop


def resolve(spec: dict[str, Any], node: Any) -> Any:
    """Follow local `$ref`s (`#/a/b`) until a node without one; ValueError for a reference that cannot be followed."""
    for _ in range(MAX_REFERENCE_CHAIN + 1):
        if not (isinstance(node, dict) and "$ref" in node):
            return node
        ref = str(node["$ref"])
        if not ref.startswith("#/"):
            raise ValueError(f"only local references are supported, not {ref!r}")
        node = spec
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise ValueError(f"the reference {ref!r} points at nothing")
            node = node[part]
    raise ValueError(f"a chain of more than {MAX_REFERENCE_CHAIN} references (a loop?) ends at {node.get('$ref')!r}")


def _error_rule(spec: dict[str, Any], ref: str, status: int) -> DocumentedError:
    name = ref.removeprefix("#/components/schemas/")
    rule = resolve(spec, {"$ref": ref})
    error = rule["properties"]["error"]
    then = error["then"]
    constants = {key: value["const"] for key, value in then.get("properties", {}).items() if "const" in value}
    return DocumentedError(
        code=error["if"]["properties"]["code"]["const"],
        status=status,
        members=tuple(sorted(then["required"])),
        constants=constants,
        description=rule.get("description", ""),
        schema_name=name,
    )


def _documented_errors(spec: dict[str, Any], responses: dict[str, Any]) -> dict[str, DocumentedError]:
    errors: dict[str, DocumentedError] = {}
    for status, response in responses.items():
        schema = resolve(spec, resolve(spec, response).get("content", {}).get("application/json", {}).get("schema", {}))
        for part in schema.get("allOf", []):
            ref = part.get("$ref", "")
            if ref.startswith(ERROR_RULE_PREFIX):
                documented = _error_rule(spec, ref, int(status))
                errors[documented.code] = documented
    return errors


def operations(spec: dict[str, Any]) -> dict[str, Operation]:
    """Every operation of the spec by operationId, in document order."""
    found: dict[str, Operation] = {}
    for path, item in spec.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method not in item:
                continue
            operation = item[method]
            responses = operation.get("responses", {})
            found[operation["operationId"]] = Operation(
                operation_id=operation["operationId"],
                method=method,
                path=path,
                summary=operation.get("summary", ""),
                statuses=tuple(sorted(int(status) for status in responses if status.isdigit())),
                publishable_key_allowed=bool(operation.get("x-publishable-key-allowed", False)),
                errors=_documented_errors(spec, responses),
            )
    return found


def documented_codes(spec: dict[str, Any]) -> set[str]:
    """Every code documented by at least one operation."""
    return {code for operation in operations(spec).values() for code in operation.errors}


def api_version(spec: dict[str, Any]) -> str:
    """The Stripe API version the spec describes, and the `Stripe-Version` sent by default (`info.version`)."""
    return str(spec["info"]["version"])
