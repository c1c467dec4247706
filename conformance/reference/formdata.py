"""Form bodies with bracket notation (`person[address][city]=Brothers`), decoded as the spec types them."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import parse_qsl

from conformance.reference.errors import ApiError
from conformance.spec.catalog import resolve


def decode_form(body: bytes, spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Nest the bracketed keys, then turn leaves into the booleans and numbers the schema asks for."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError("invalid_request", f"The form body cannot be decoded: {exc}.") from exc
    tree: dict[str, Any] = {}
    for key, value in pairs:
        _insert(tree, _path(key), value)
    coerced: dict[str, Any] = _coerce(spec, schema, tree)
    return coerced


def _path(key: str) -> list[str]:
    head, _, rest = key.partition("[")
    parts = [head]
    while rest:
        part, _, rest = rest.partition("]")
        parts.append(part)
        rest = rest.removeprefix("[")
    if not head or any("[" in part or "]" in part for part in parts):
        raise ApiError("invalid_request", f"Malformed form key {key!r}.")
    return parts


def _insert(tree: dict[str, Any], path: list[str], value: str) -> None:
    """Place one pair in the tree; `key[]` appends to a list (`expand[]=a&expand[]=b`)."""
    *parents, leaf = path
    where = ".".join(path)
    if "" in parents:
        raise ApiError("invalid_request", f"Form key {where} has an empty bracket before its end.")
    node: dict[str, Any] = tree
    appended = leaf == ""
    for depth, part in enumerate(parents):
        holds_list = appended and depth == len(parents) - 1
        child = node.setdefault(part, [] if holds_list else {})
        if isinstance(child, str) or isinstance(child, list) != holds_list:
            raise ApiError(
                "invalid_request", f"Form key {where} is given as more than one of a value, a list and an object."
            )
        if holds_list:
            child.append(value)
            return
        node = child
    if isinstance(node.get(leaf), (dict, list)):
        raise ApiError(
            "invalid_request", f"Form key {where} is given as more than one of a value, a list and an object."
        )
    node[leaf] = value


def _unset_or_value(spec: dict[str, Any], schema: dict[str, Any], value: Any) -> dict[str, Any]:
    """The branch of Stripe's `anyOf: [<member>, {enum: [""]}]` (an empty string unsets) that fits the value."""
    branches = [resolve(spec, branch) for branch in schema["anyOf"]]
    valued = [branch for branch in branches if branch.get("enum") != [""]]
    return schema if value == "" or len(valued) != 1 else valued[0]


def _coerce(spec: dict[str, Any], schema: dict[str, Any], value: Any) -> Any:
    schema = resolve(spec, schema)
    if "anyOf" in schema:
        schema = _unset_or_value(spec, schema, value)
    kind = schema.get("type")
    if isinstance(value, list):  # `expand[]=a&expand[]=b`
        return [_coerce(spec, schema.get("items", {}), item) for item in value]
    if isinstance(value, dict):
        if kind == "array" and all(key.isdigit() for key in value):  # `aliases[0]=a&aliases[1]=b`
            return [_coerce(spec, schema.get("items", {}), value[key]) for key in sorted(value, key=int)]
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", {})
        return {
            key: _coerce(spec, properties.get(key, extra if isinstance(extra, dict) else {}), item)
            for key, item in value.items()
        }
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    if kind in ("integer", "number"):
        try:
            number = float(value) if kind == "number" else int(value)
        except ValueError:
            return value  # the schema check reports it
        return number if math.isfinite(number) else value  # "nan" would pass minimum/maximum
    return value
