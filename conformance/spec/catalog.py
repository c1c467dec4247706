"""The operations of the spec and their documented error codes, read from the document itself.

An operation's documented codes are the `ErrorCode.<code>` rules that its error responses
reference (`allOf: [V2Error, ErrorCode.a, ErrorCode.b, ...]`); the status is the response's.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.spec.loader import load_spec

HTTP_METHODS = ("get", "put", "post", "delete", "patch")
PATH_PARAMETER = re.compile(r"\{(\w+)\}")
CREATED_ID = "$response.body#/id"  # a link parameter taken from this: the linking operation created the object
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
    # Each path parameter naming an object that an operation of the spec creates: the creating operation's id,
    # read from the links that give the parameter from its answer's id (an account comes from the set-up document).
    created_by: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def path_parameters(self) -> tuple[str, ...]:
        return tuple(PATH_PARAMETER.findall(self.path))

    def url(self, **segments: str) -> str:
        """The path with each parameter replaced by its segment, which the caller has made safe to place there;
        KeyError naming a parameter that is not given, TypeError for one the path does not have."""
        if unknown := sorted(set(segments) - set(self.path_parameters)):
            raise TypeError(f"{self.operation_id} has no path parameter {', '.join(unknown)}")
        return PATH_PARAMETER.sub(lambda match: segments[match.group(1)], self.path)

    def match(self, path: str) -> dict[str, str] | None:
        """The raw path parameters of a request path of this operation, or None when the path is not one."""
        pattern = "".join(
            "([^/]+)" if index % 2 else re.escape(part) for index, part in enumerate(PATH_PARAMETER.split(self.path))
        )
        found = re.fullmatch(pattern + "/?", path)
        return dict(zip(self.path_parameters, found.groups(), strict=True)) if found else None


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


def _creators(spec: dict[str, Any]) -> dict[str, dict[str, str]]:
    """For each linked operation, the parameters a link fills from the created object's id, and who created it."""
    found: dict[str, dict[str, str]] = {}
    for item in spec.get("paths", {}).values():
        for method in HTTP_METHODS:
            operation = item.get(method) or {}
            for response in operation.get("responses", {}).values():
                for link in (resolve(spec, response).get("links") or {}).values():
                    for name, expression in (link.get("parameters") or {}).items():
                        if expression == CREATED_ID and method == "post":
                            found.setdefault(link["operationId"], {})[name] = operation["operationId"]
    return found


def operations(spec: dict[str, Any]) -> dict[str, Operation]:
    """Every operation of the spec by operationId, in document order."""
    found: dict[str, Operation] = {}
    creators = _creators(spec)
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
                created_by=creators.get(operation["operationId"], {}),
            )
    return found


def documented_codes(spec: dict[str, Any]) -> set[str]:
    """Every code documented by at least one operation."""
    return {code for operation in operations(spec).values() for code in operation.errors}


def api_version(spec: dict[str, Any]) -> str:
    """The Stripe API version the spec describes, and the `Stripe-Version` sent by default (`info.version`)."""
    return str(spec["info"]["version"])


@functools.cache
def default_operations() -> dict[str, Operation]:
    """The operations of the spec the suite loads by default, read once per process."""
    return operations(load_spec())


def operations_table(api: Mapping[str, Operation]) -> list[dict[str, Any]]:
    """The operations as results.json carries them, so that a report needs no spec: id, method and path, and each
    documented code with its HTTP status."""
    return [
        {
            "operation_id": operation.operation_id,
            "label": operation.label,
            "errors": {code: error.status for code, error in operation.errors.items()},
        }
        for operation in api.values()
    ]
