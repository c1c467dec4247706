"""Compare this spec with a Stripe OpenAPI description (for example a newer `openapi.spec3.json`), operation by
operation: members, types, enums, required lists, nullability, formats, constraints and error codes.

Both layouts are read into one view: OpenAPI 3.0 `nullable` and 3.1 `type: [..., null]`; `allOf` merged; Stripe's v1
`anyOf: [<member>, {enum: [""]}]` as "an empty string unsets"; Stripe's errors as `responses.default` with a
`oneOf` of `v2.error.<code>`, this spec's as its ErrorCode catalog. Each difference is classed by what it would do
to a correct exchange with Stripe: refuse a correct request, reject a correct response, or nothing (cosmetic).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from conformance.spec.catalog import HTTP_METHODS, operations, resolve
from conformance.spec.sources import SCHEMA_KEYWORDS

_JSON_TYPES = {str: "string", bool: "boolean", int: "integer", float: "number"}
_UPPER_BOUNDS = {"maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties"}
_LOWER_BOUNDS = {"minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties"}


class Impact(StrEnum):
    REFUSES_REQUEST = "would refuse a correct request"
    REJECTS_RESPONSE = "would reject a correct response"
    COSMETIC = "cosmetic"


@dataclass(frozen=True)
class Difference:
    operation_id: str
    where: str
    kind: str
    ours: str
    stripe: str
    impact: Impact
    note: str = ""

    def line(self) -> str:
        note = f" ({self.note})" if self.note else ""
        return f"[{self.impact.value}] {self.where}: {self.kind}: ours {self.ours}, Stripe's {self.stripe}{note}"


class DescriptionError(Exception):
    """The file cannot be read as an OpenAPI description."""


def read_description(path: Path) -> dict[str, Any]:
    """A JSON or YAML OpenAPI description (JSON is read first: Stripe publishes both, and JSON parses far faster)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DescriptionError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from exc
    try:
        document = (
            json.loads(text)
            if text.lstrip().startswith("{")
            else yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        )
    except (ValueError, yaml.YAMLError) as exc:
        raise DescriptionError(f"{path} is neither JSON nor YAML: {str(exc).splitlines()[0]}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict) or "openapi" not in document:
        raise DescriptionError(f"{path} is not an OpenAPI description (no 'openapi' and 'paths' at its top)")
    return document


# ----------------------------------------------------------------------------------------- one view of a schema
@dataclass
class _View:
    """What a schema accepts, one level deep (members stay raw and are viewed when compared)."""

    types: set[str] = field(default_factory=set)  # empty: any type
    nullable: bool = False
    unset: bool = False  # accepts "" (Stripe's v1 unset)
    enum: set[Any] | None = None
    format: str | None = None
    members: dict[str, Any] = field(default_factory=dict)
    forbidden: set[str] = field(default_factory=set)
    required: set[str] = field(default_factory=set)
    closed: bool = False
    items: Any = None
    constraints: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, Any] = field(default_factory=dict)

    @property
    def structured(self) -> bool:
        return bool(self.members or self.forbidden or self.closed)


def _resolve(document: dict[str, Any], node: Any) -> Any:
    """The spec's `resolve`, with a broken reference in the user's file as a DescriptionError."""
    try:
        return resolve(document, node)
    except ValueError as exc:
        raise DescriptionError(str(exc)) from exc


def _is_unset(view: _View) -> bool:
    return view.enum == {""} and view.types <= {"string"}


def _is_null(view: _View) -> bool:
    return view.nullable and not view.types and view.enum is None and not view.structured


def _view(document: dict[str, Any], node: Any) -> _View:
    node = _resolve(document, node)
    view = _View()
    if not isinstance(node, dict):
        return view
    kinds = node.get("type")
    view.types = set(kinds if isinstance(kinds, list) else [kinds] if kinds else [])
    view.nullable = "null" in view.types or node.get("nullable") is True
    view.types.discard("null")
    if "const" in node:
        view.enum = {node["const"]}
    elif "enum" in node:
        view.enum = set(node["enum"]) - {None}
        view.nullable |= None in node["enum"]
    view.format = node.get("format")
    for name, member in (node.get("properties") or {}).items():
        (view.forbidden.add(name) if member is False else view.members.__setitem__(name, member))
    view.required = set(node.get("required") or []) if isinstance(node.get("required"), list) else set()
    view.closed = node.get("additionalProperties") is False
    view.items = node.get("items")
    view.constraints = {
        keyword: node[keyword] for keyword in SCHEMA_KEYWORDS if keyword in node and not isinstance(node[keyword], dict)
    }
    view.sources = dict(node.get("x-source") or {})
    for part in node.get("allOf") or []:
        _merge_all(view, _view(document, part))
    branches = [_view(document, branch) for branch in node.get("anyOf") or node.get("oneOf") or []]
    if branches:
        _merge_any(view, branches)
    if view.enum is not None and "" in view.enum and view.enum != {""}:  # Stripe's string enums put "" among the values
        view.unset, view.enum = True, view.enum - {""}
    if (
        not view.types and view.enum
    ):  # `const: v2.core.account_person` is a string as much as `type: string, enum: [...]`
        view.types = {_JSON_TYPES.get(type(value), "string") for value in view.enum}
    return view


def _merge_all(view: _View, part: _View) -> None:
    """`allOf`: every part holds (this spec's request variants add `required` to a shared member set)."""
    view.types = view.types & part.types if view.types and part.types else view.types or part.types
    view.nullable = view.nullable and part.nullable if view.types or part.types else view.nullable or part.nullable
    view.enum = part.enum if view.enum is None else view.enum if part.enum is None else view.enum & part.enum
    view.format = view.format or part.format
    for name, member in part.members.items():
        view.members[name] = {"allOf": [view.members[name], member]} if name in view.members else member
    view.forbidden |= part.forbidden
    view.required |= part.required
    view.closed |= part.closed
    view.items = (
        part.items if view.items is None else view.items if part.items is None else {"allOf": [view.items, part.items]}
    )
    view.constraints.update(part.constraints)
    view.sources.update(part.sources)


def _merge_any(view: _View, branches: list[_View]) -> None:
    """`anyOf`/`oneOf`: null and empty-string branches are nullability and unsets; the others are unioned."""
    nullable = view.nullable or any(branch.nullable for branch in branches)
    view.unset |= any(_is_unset(branch) for branch in branches)
    valued = [branch for branch in branches if not _is_unset(branch) and not _is_null(branch)]
    if len(valued) == 1:
        _merge_all(view, valued[0])
    view.nullable = nullable
    if len(valued) == 1:
        return
    if not valued:
        return
    view.types |= set().union(*(branch.types for branch in valued)) if all(branch.types for branch in valued) else set()
    view.enum = (
        None
        if any(branch.enum is None for branch in valued)
        else set().union(*(branch.enum or set() for branch in valued))
    )
    for branch in valued:
        for name, member in branch.members.items():
            view.members[name] = {"anyOf": [view.members[name], member]} if name in view.members else member
    view.required |= set.intersection(*(branch.required for branch in valued))
    view.closed |= all(branch.closed for branch in valued)


# ------------------------------------------------------------------------------------------- comparing schemas
@dataclass
class _Comparison:
    ours_document: dict[str, Any]
    stripe_document: dict[str, Any]
    operation_id: str
    found: list[Difference] = field(default_factory=list)

    def add(
        self,
        where: str,
        kind: str,
        ours: Any,
        stripe: Any,
        stricter: bool,
        side: str,
        note: str = "",
        backed_by: Any = None,
    ) -> None:
        """One difference; `stricter` here than Stripe's is a hard one unless `backed_by` a source (x-source)."""
        impact = Impact.COSMETIC
        if stricter and not backed_by:
            impact = Impact.REFUSES_REQUEST if side == "request" else Impact.REJECTS_RESPONSE
        note = note or (_backed(backed_by) if stricter and backed_by else "")
        self.found.append(Difference(self.operation_id, where, kind, _shown(ours), _shown(stripe), impact, note))

    def schemas(self, ours_node: Any, stripe_node: Any, where: str, side: str, depth: int = 0) -> None:
        ours, stripe = _view(self.ours_document, ours_node), _view(self.stripe_document, stripe_node)
        self._scalars(ours, stripe, where, side)
        if depth < 24 and ours.structured:  # an open member without declared structure here: nothing to compare within
            self._members(ours, stripe, where, side, depth)
        if depth < 24 and ours.items is not None and stripe.items is not None:
            self.schemas(ours.items, stripe.items, f"{where}[]", side, depth + 1)

    def _scalars(self, ours: _View, stripe: _View, where: str, side: str) -> None:
        if ours.types != stripe.types:
            narrower = bool(ours.types) and (not stripe.types or not _accepts_types(ours.types, stripe.types))
            self.add(where, "type", sorted(ours.types) or "any", sorted(stripe.types) or "any", narrower, side)
        if ours.nullable != stripe.nullable:
            self.add(where, "nullable", ours.nullable, stripe.nullable, stripe.nullable, side)
        if stripe.unset and not _accepts_empty(ours):
            self.add(where, 'empty string ("" unsets)', "refuses it", "accepts it", True, side)
        if ours.enum != stripe.enum:
            narrower = ours.enum is not None and (stripe.enum is None or not stripe.enum <= ours.enum)
            self.add(where, "enum", _enum(ours.enum), _enum(stripe.enum), narrower, side)
        if ours.format != stripe.format:
            self.add(where, "format", ours.format or "none", stripe.format or "none", ours.format is not None, side)
        for keyword, value in ours.constraints.items():
            theirs = stripe.constraints.get(keyword)
            if theirs is not None and not _stricter(keyword, value, theirs):
                continue
            # A source excuses a rule Stripe's description is silent on, not one it contradicts.
            self.add(
                where,
                keyword,
                value,
                "none" if theirs is None else theirs,
                True,
                side,
                backed_by=ours.sources.get(keyword) if theirs is None else None,
            )
        for keyword, theirs in stripe.constraints.items():
            if keyword not in ours.constraints or (
                ours.constraints[keyword] != theirs and not _stricter(keyword, ours.constraints[keyword], theirs)
            ):
                self.add(where, keyword, ours.constraints.get(keyword, "none"), theirs, False, side)

    def _members(self, ours: _View, stripe: _View, where: str, side: str, depth: int) -> None:
        for name in sorted(set(stripe.members) - set(ours.members)):
            forbidden = name in ours.forbidden
            self.add(
                f"{where}.{name}",
                "member",
                "forbids it" if forbidden else "lacks it",
                "has it",
                forbidden or ours.closed,
                side,
            )
        if stripe.structured:
            for name in sorted(set(ours.members) - set(stripe.members)):
                self.add(f"{where}.{name}", "member", "has it", "lacks it", False, side)
        for name in sorted(ours.required - stripe.required):
            self.add(f"{where}.{name}", "required", "required", "optional", True, side)
        for name in sorted(stripe.required - ours.required - ours.forbidden):
            self.add(f"{where}.{name}", "required", "optional", "required", False, side)
        for name in sorted(set(ours.members) & set(stripe.members)):
            self.schemas(ours.members[name], stripe.members[name], f"{where}.{name}", side, depth + 1)


def _accepts_empty(view: _View) -> bool:
    """ "" is accepted: an unset, or a plain string (no enum, no pattern), or anything at all."""
    plain_string = (
        "string" in view.types
        and view.enum is None
        and "pattern" not in view.constraints
        and not view.constraints.get("minLength")
    )
    return view.unset or plain_string or (not view.types and view.enum is None)


def _accepts_types(ours: set[str], stripe: set[str]) -> bool:
    """Every type Stripe allows is allowed here too (a number includes the integers)."""
    return all(kind in ours or (kind == "integer" and "number" in ours) for kind in stripe)


def _stricter(keyword: str, ours: Any, stripe: Any) -> bool:
    if keyword in _UPPER_BOUNDS:
        return bool(ours < stripe)
    if keyword in _LOWER_BOUNDS:
        return bool(ours > stripe)
    return bool(ours != stripe)


def _backed(source: Any) -> str:
    """A stricter rule that the reference pages or a declared decision back is not a disagreement with Stripe."""
    if not source:
        return ""
    if "decision" in source:
        return f"stricter, by the decision {source['decision']} (a profile may choose otherwise)"
    kind = "seed" if "seed" in source else "reference"
    return f"stricter, backed by {kind} {source.get(kind)}"


def _enum(values: set[Any] | None) -> str:
    return "open" if values is None else str(sorted(map(str, values)))


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 160 else text[:157] + "..."


# ------------------------------------------------------------------------------------------- operations
def _template(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def _stripe_operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for path, item in document["paths"].items():
        if isinstance(item, dict):
            for method in HTTP_METHODS:
                if isinstance(item.get(method), dict):
                    found[(method, _template(path))] = {
                        **item[method],
                        "path": path,
                        "parameters": [*item.get("parameters", []), *item[method].get("parameters", [])],
                    }
    return found


def _parameters(
    document: dict[str, Any], path: str, operation: dict[str, Any]
) -> dict[tuple[Any, Any], dict[str, Any]]:
    """Parameters by place and name; path parameters by position in the path (their names differ between layouts)."""
    positions = {name: f"#{index + 1} ({name})" for index, name in enumerate(re.findall(r"\{([^}]*)\}", path))}
    resolved = [_resolve(document, parameter) for parameter in operation.get("parameters", [])]
    return {
        (p["in"], positions.get(p["name"], p["name"]) if p["in"] == "path" else p["name"]): p
        for p in resolved
        if isinstance(p, dict) and "in" in p and "name" in p
    }


def _media(document: dict[str, Any], holder: Any) -> dict[str, Any]:
    return (_resolve(document, holder) or {}).get("content") or {}


def _compare_parameters(comparison: _Comparison, ours: dict[str, Any], stripe: dict[str, Any]) -> None:
    ours_params = _parameters(comparison.ours_document, ours["path"], ours)
    stripe_params = _parameters(comparison.stripe_document, stripe["path"], stripe)
    stripe_headers = any(where == "header" for where, _ in stripe_params)
    for key in sorted(set(ours_params) | set(stripe_params)):
        where = f"{key[0]} parameter {key[1]}"
        mine, theirs = ours_params.get(key), stripe_params.get(key)
        if mine is None:
            comparison.add(where, "parameter", "lacks it", "has it", True, "request")
        elif theirs is None:
            source = (mine.get("x-source") or {}).get("required")
            note = (
                "Stripe's description declares no headers at all" if key[0] == "header" and not stripe_headers else ""
            )
            comparison.add(
                where,
                "parameter",
                "required" if mine.get("required") else "optional",
                "lacks it",
                bool(mine.get("required")),
                "request",
                note,
                backed_by=source,
            )
        else:
            if mine.get("required") and not theirs.get("required"):
                comparison.add(
                    where,
                    "required",
                    "required",
                    "optional",
                    True,
                    "request",
                    backed_by=(mine.get("x-source") or {}).get("required"),
                )
            comparison.schemas(mine.get("schema", {}), theirs.get("schema", {}), where, "request")


def _compare_body(comparison: _Comparison, ours: dict[str, Any], stripe: dict[str, Any]) -> None:
    ours_body, stripe_body = (
        _resolve(comparison.ours_document, ours.get("requestBody") or {}),
        _resolve(comparison.stripe_document, stripe.get("requestBody") or {}),
    )
    ours_media, stripe_media = ours_body.get("content") or {}, stripe_body.get("content") or {}
    for media in sorted(set(ours_media) & set(stripe_media)):
        if ours_body.get("required") and not stripe_body.get("required"):
            comparison.add(f"request body ({media})", "required", "required", "optional", True, "request")
        comparison.schemas(
            ours_media[media].get("schema", {}), stripe_media[media].get("schema", {}), "request body", "request"
        )
    declared = [media for media in stripe_media if (stripe_media[media].get("schema") or {}).get("properties")]
    for media in sorted(set(declared) - set(ours_media)):
        comparison.add(f"request body ({media})", "media type", "lacks it", "has it", True, "request")


def _stripe_errors(document: dict[str, Any], operation: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], Any]:
    """Stripe's documented codes (code -> the `error` object's schema) and its generic error schema."""
    schema = _resolve(
        document,
        (_media(document, operation.get("responses", {}).get("default", {})).get("application/json") or {}).get(
            "schema"
        )
        or {},
    )
    codes, generic = {}, None
    for branch in schema.get("oneOf") or schema.get("anyOf") or [schema]:
        error = _resolve(document, (_resolve(document, branch).get("properties") or {}).get("error") or {})
        code = _resolve(document, (error.get("properties") or {}).get("code") or {})
        values = code.get("enum") or ([code["const"]] if "const" in code else [])
        if len(values) == 1:
            codes[str(values[0])] = error
        elif error:
            generic = branch
    return codes, generic


def _compare_errors(comparison: _Comparison, ours_operation: Any, ours: dict[str, Any], stripe: dict[str, Any]) -> None:
    codes, generic = _stripe_errors(comparison.stripe_document, stripe)
    documented = ours_operation.errors
    if not codes and not documented:
        return
    for code in sorted(set(codes) - set(documented)):
        comparison.add(
            f"error {code}",
            "error code",
            "not documented here",
            "documented",
            False,
            "response",
            "no scenario here; its answers still fit the generic error",
        )
    for code in sorted(set(documented) - set(codes)):
        comparison.add(
            f"error {code}",
            "error code",
            "documented",
            "not listed",
            False,
            "response",
            "its scenario may find Stripe never answers it",
        )
    for code in sorted(set(documented) & set(codes)):
        theirs = _view(comparison.stripe_document, codes[code])
        for member in sorted(set(documented[code].members) - theirs.required):
            comparison.add(f"error {code}.{member}", "required", "required", "optional", True, "response")
        for member in sorted(theirs.required - set(documented[code].members)):
            comparison.add(f"error {code}.{member}", "required", "optional", "required", False, "response")
        for member, value in documented[code].constants.items():
            allowed = _view(comparison.stripe_document, theirs.members.get(member, {})).enum
            if allowed is not None and value not in allowed:
                comparison.add(f"error {code}.{member}", "enum", value, _enum(allowed), True, "response")
    ours_generic = next(
        (
            part
            for response in ours.get("responses", {}).values()
            for part in (
                (_media(comparison.ours_document, response).get("application/json") or {}).get("schema") or {}
            ).get("allOf", [])[:1]
        ),
        None,
    )
    if generic is not None and ours_generic is not None:
        comparison.schemas(ours_generic, generic, "error (generic)", "response")


def diff(ours: dict[str, Any], stripe: dict[str, Any]) -> tuple[list[Difference], list[str]]:
    """The differences per operation, and the operations of this spec that the description does not have."""
    stripe_operations = _stripe_operations(stripe)
    found: list[Difference] = []
    absent: list[str] = []
    for operation in operations(ours).values():
        theirs = stripe_operations.get((operation.method, _template(operation.path)))
        if theirs is None:
            absent.append(operation.operation_id)
            continue
        mine = ours["paths"][operation.path][operation.method]
        mine = {
            **mine,
            "path": operation.path,
            "parameters": [*ours["paths"][operation.path].get("parameters", []), *mine.get("parameters", [])],
        }
        comparison = _Comparison(ours, stripe, operation.operation_id)
        _compare_parameters(comparison, mine, theirs)
        _compare_body(comparison, mine, theirs)
        ours_ok = (_media(ours, mine.get("responses", {}).get("200", {})).get("application/json") or {}).get("schema")
        theirs_ok = (_media(stripe, theirs.get("responses", {}).get("200", {})).get("application/json") or {}).get(
            "schema"
        )
        if ours_ok is not None and theirs_ok is not None:
            comparison.schemas(ours_ok, theirs_ok, "response 200", "response")
        _compare_errors(comparison, operation, mine, theirs)
        found += comparison.found
    return found, absent


def hard(differences: list[Difference]) -> list[Difference]:
    """The differences that would refuse a correct request or reject a correct response."""
    return [difference for difference in differences if difference.impact is not Impact.COSMETIC]


def render(
    differences: list[Difference], absent: list[str], description: dict[str, Any], *, every_cosmetic: bool = False
) -> Iterator[str]:
    """Per operation: the hard differences, then the cosmetic ones (each, or counted by kind); then the totals."""
    version = (description.get("info") or {}).get("version", "unknown version")
    yield f"compared with a description of {version}"
    for operation_id in dict.fromkeys(difference.operation_id for difference in differences):
        yield f"{operation_id}:"
        mine = [d for d in differences if d.operation_id == operation_id]
        yield from (
            f"  {difference.line()}" for difference in sorted(hard(mine), key=lambda d: (d.impact.value, d.where))
        )
        cosmetic = sorted((d for d in mine if d.impact is Impact.COSMETIC), key=lambda d: d.where)
        if every_cosmetic:
            yield from (f"  {difference.line()}" for difference in cosmetic)
        elif cosmetic:
            kinds = Counter(difference.kind for difference in cosmetic)
            yield (
                f"  [cosmetic] {len(cosmetic)}: "
                + ", ".join(f"{count} {kind}" for kind, count in kinds.most_common())
                + " (--all lists them)"
            )
    if absent:
        yield f"not in the description: {', '.join(absent)}"
    counts = {impact: sum(1 for d in differences if d.impact is impact) for impact in Impact}
    yield ", ".join(f"{count} {impact.value}" for impact, count in counts.items())
