"""The decisions where Stripe publishes nothing, as the spec declares them (`info.x-conformance-defaults`).

Each decision names the behaviour, the alternatives an implementation may choose, and the value the
reference server takes by default. A target states its choice in its profile (`decisions:`), or `any`.
Where a decision is stated the suite checks it strictly; where it is `any`, the checks judge only what
holds under every alternative and report the alternative they observed.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema

from conformance.spec.loader import load_spec

ANY = "any"  # a target that states no choice


@dataclass(frozen=True)
class Decision:
    name: str
    default: Any  # the reference server's choice, unless it is started to decide otherwise
    alternatives: tuple[Any, ...]  # the choices; for a number, values the suite's own tests try
    values: Mapping[str, Any]  # JSON Schema of what a profile may state (besides `any`)
    description: str

    def problem(self, value: Any) -> str | None:
        """Why `value` cannot be stated for this decision, or None."""
        if value == ANY:
            return None
        if not _values_validator(json.dumps(dict(self.values), sort_keys=True)).is_valid(value):
            allowed = ", ".join(map(repr, self.values["enum"])) if "enum" in self.values else f"{dict(self.values)}"
            return f"decision {self.name} is one of {allowed} or 'any', not {value!r}"
        return None


@functools.lru_cache(maxsize=64)
def _values_validator(schema: str) -> Any:
    """The validator of a decision's values, its schema checked once (it was checked on every value: a fifth of the
    reference server's start)."""
    values = json.loads(schema)
    validator = jsonschema.validators.validator_for(values)
    validator.check_schema(values)
    return validator(values)


def decisions(spec: Mapping[str, Any]) -> dict[str, Decision]:
    """The declared decisions by name; ValueError for an entry that does not have the declared form."""
    found = {}
    for name, entry in (spec["info"].get("x-conformance-defaults") or {}).items():
        if not isinstance(entry, dict) or "default" not in entry or not entry.get("alternatives"):
            raise ValueError(f"info.x-conformance-defaults.{name} needs a default and alternatives")
        alternatives = tuple(entry["alternatives"])
        decision = Decision(
            name=str(name),
            default=entry["default"],
            alternatives=alternatives,
            values=entry.get("values") or {"enum": list(alternatives)},
            description=" ".join(str(entry.get("description", "")).split()),
        )
        for value in (decision.default, *alternatives):
            if (problem := decision.problem(value)) is not None:
                raise ValueError(f"info.x-conformance-defaults.{name}: {problem}")
        found[decision.name] = decision
    return found


def defaults(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The reference server's choices: each decision's default."""
    return {name: decision.default for name, decision in decisions(spec).items()}


def stated(spec: Mapping[str, Any], statements: Mapping[str, Any]) -> dict[str, Any]:
    """Every decision with the value the statements give it (`any` where they give none); ValueError
    naming the statement for an unknown decision or a value it does not allow."""
    declared = decisions(spec)
    unknown = sorted(set(statements) - set(declared))
    if unknown:
        raise ValueError(f"unknown decisions {', '.join(unknown)}; the spec declares {', '.join(sorted(declared))}")
    for name, value in statements.items():
        if (problem := declared[name].problem(value)) is not None:
            raise ValueError(problem)
    return {name: statements.get(name, ANY) for name in declared}


@functools.cache
def declared_default(name: str) -> Any:
    """A decision's default in the spec the suite loads by default (`CONFORMANCE_SPEC`, else spec/openapi.yaml):
    the one place a default is read from, never typed again."""
    return decisions(load_spec())[name].default


def observing_every_decision(spec: Mapping[str, Any]) -> list[str]:
    """`--decide NAME=any` for every declared decision: each is observed and reported, never judged (`conformance
    diff` and `conformance discover` run so, whatever a profile states)."""
    return [f"{name}={ANY}" for name in decisions(spec)]
