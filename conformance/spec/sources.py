"""The constraints this spec adds beyond what Stripe's own description states, and where each comes from.

Stripe's description states types, enums, required lists, nullability and formats. Anything stricter
(a pattern, a length, a bound, a default, a member that must never appear, a required header) carries
`x-source` on the node that holds it: per keyword, a reference page or fact (`seed` or `reference`
file and the words it `says`) or a `decision` of `info.x-conformance-defaults`. Decision-backed
constraints follow the target's decision (`decided`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.spec.decisions import ANY, defaults

# Schema keywords Stripe's description does not use for these operations.
SCHEMA_KEYWORDS = (
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "default",
)
FORBIDDEN = "forbidden"  # members declared `false`: they must never appear
REQUIRED = "required"  # on a header parameter or a response header
# Keys whose value maps names to entries (member names are not keywords).
_CONTAINERS = frozenset(
    {
        "paths",
        "properties",
        "schemas",
        "parameters",
        "headers",
        "responses",
        "content",
        "links",
        "securitySchemes",
        "encoding",
        "components",
        "$defs",
        "patternProperties",
    }
)
_SKIPPED = frozenset({"examples", "example", "description", "summary", "x-source"})


@dataclass(frozen=True)
class Constraint:
    """One constraint Stripe's description does not state, where it is, and its declared source."""

    pointer: str
    keyword: str
    value: Any
    source: Mapping[str, Any] | None

    @property
    def described_source(self) -> str:
        if self.source is None:
            return "no source"
        if "decision" in self.source:
            when = f" = {self.source['holds_when']}" if "holds_when" in self.source else ""
            return f"decision {self.source['decision']}{when}"
        kind = "seed" if "seed" in self.source else "reference"
        return f'{kind} {self.source.get(kind)}: "{self.source.get("says")}"'


def _pointer(parts: list[str]) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def _is_header(pointer: list[str], node: dict[str, Any]) -> bool:
    return node.get("in") == "header" or (len(pointer) >= 2 and pointer[-2] == "headers" and "schema" in node)


def _node_constraints(node: dict[str, Any], pointer: list[str]) -> Iterator[tuple[str, Any]]:
    for keyword in SCHEMA_KEYWORDS:
        if keyword in node and not isinstance(node[keyword], dict):
            yield keyword, node[keyword]
    members = node.get("properties")
    if isinstance(members, dict):
        forbidden = sorted(name for name, schema in members.items() if schema is False)
        if forbidden:
            yield FORBIDDEN, forbidden
    if node.get("required") is True and _is_header(pointer, node):
        yield REQUIRED, True


def _walk(node: Any, pointer: list[str], container: bool = False) -> Iterator[tuple[list[str], dict[str, Any]]]:
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(item, [*pointer, str(index)])
        return
    if not isinstance(node, dict):
        return
    if not container:
        yield pointer, node
    for key, child in node.items():
        if not container and (key in _SKIPPED or key.startswith("x-")):
            continue
        yield from _walk(child, [*pointer, key], container=not container and key in _CONTAINERS)


def unstated_constraints(spec: dict[str, Any]) -> list[Constraint]:
    """Every constraint beyond Stripe's description, in document order, with its `x-source` entry."""
    found = []
    for pointer, node in _walk(spec, []):
        sources = node.get("x-source") or {}
        for keyword, value in _node_constraints(node, pointer):
            found.append(Constraint(_pointer(pointer), keyword, value, sources.get(keyword)))
    return found


def stale_sources(spec: dict[str, Any]) -> list[str]:
    """`x-source` entries naming a keyword their node does not hold (left behind by an edit)."""
    stale = []
    for pointer, node in _walk(spec, []):
        held = {keyword for keyword, _ in _node_constraints(node, pointer)}
        stale += [f"{_pointer(pointer)}: {keyword}" for keyword in node.get("x-source") or {} if keyword not in held]
    return stale


def source_problem(constraint: Constraint, spec: dict[str, Any], shared: Path) -> str | None:
    """Why a constraint's source does not back it (None when it does). `shared` holds seeds/ and reference/."""
    source = constraint.source
    if source is None:
        return "no x-source"
    if "decision" in source:
        decisions = defaults(spec)
        if source["decision"] not in decisions:
            return f"decision {source['decision']!r} is not in info.x-conformance-defaults"
        if "holds_when" not in source and decisions[source["decision"]] != constraint.value:
            decided = decisions[source["decision"]]
            return f"{constraint.keyword} is {constraint.value!r} but decision {source['decision']} says {decided!r}"
        return None
    for kind, folder in (("seed", "seeds"), ("reference", "reference")):
        if kind in source:
            path = shared / folder / str(source[kind])
            if not path.is_file():
                return f"{kind} file {source[kind]!r} does not exist"
            text, says = (
                " ".join(path.read_text(encoding="utf-8").split()),
                " ".join(str(source.get("says", "")).split()),
            )
            if not says or says not in text:
                return f"{source[kind]} does not say {source.get('says')!r}"
            return None
    return f"a source is a seed, a reference or a decision, not {dict(source)!r}"


def apply_decisions(spec: dict[str, Any], decided: Mapping[str, Any]) -> dict[str, Any]:
    """The spec as it holds for a target with these decisions (unnamed ones keep the spec's defaults)."""
    applied = copy.deepcopy(spec)
    values = {**defaults(applied), **decided}
    for _, node in _walk(applied, []):
        for keyword, source in (node.get("x-source") or {}).items():
            if "decision" not in source or keyword not in node:
                continue
            value = values.get(source["decision"], ANY)
            if ("holds_when" in source and value != source["holds_when"]) or value == ANY:
                del node[keyword]
            elif "holds_when" not in source:
                node[keyword] = value
    return applied
