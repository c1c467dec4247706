"""A short numeric summary of the spec, for the CLI and for notes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.spec.catalog import HTTP_METHODS, documented_codes, operations


@dataclass(frozen=True)
class SpecSummary:
    title: str
    version: str
    operations: int
    schemas: int
    error_rules: int
    documented_codes: int
    examples: int
    links: int


def _media_examples(spec: dict[str, Any]) -> int:
    count = 0
    for item in spec.get("paths", {}).values():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if not operation:
                continue
            bodies = [operation.get("requestBody", {}), *operation.get("responses", {}).values()]
            for body in bodies:
                for media in body.get("content", {}).values():
                    count += len(media.get("examples", {}))
    return count


def summarize(spec: dict[str, Any]) -> SpecSummary:
    schemas = spec.get("components", {}).get("schemas", {})
    ops = operations(spec)
    return SpecSummary(
        title=spec["info"]["title"],
        version=spec["info"]["version"],
        operations=len(ops),
        schemas=len(schemas),
        error_rules=sum(1 for name in schemas if name.startswith("ErrorCode.")),
        documented_codes=len(documented_codes(spec)),
        examples=_media_examples(spec),
        links=sum(
            len(response.get("links", {}))
            for item in spec.get("paths", {}).values()
            for method in HTTP_METHODS
            for response in item.get(method, {}).get("responses", {}).values()
        ),
    )
