"""What openapi-core needs around the spec: requests and responses in its protocol, and its schema
errors as readable lines. Shared by the reference server (requests) and the engine (responses)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jsonschema import FormatChecker
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.schemas.factories import DialectSchemaValidatorsFactory
from openapi_schema_validator import OAS31_BASE_DIALECT_ID, OAS30ReadValidator, OAS31Validator
from werkzeug.datastructures import Headers

from conformance.spec.catalog import resolve
from conformance.spec.schemas import describe, leaf_errors

# openapi-core finds operations under the spec's server; every request is presented as sent there.
SPEC_HOST = "https://api.stripe.com"


@dataclass
class SpecRequest:
    """A request as openapi-core's Request protocol wants it."""

    path: str
    method: str
    parameters: RequestParameters
    content_type: str
    body: bytes | None
    host_url: str = SPEC_HOST


@dataclass
class SpecResponse:
    """A response as openapi-core's Response protocol wants it."""

    status_code: int
    content_type: str
    headers: Headers
    data: bytes


def schema_errors(exc: BaseException) -> list[Any]:
    """The jsonschema errors behind an openapi-core validation error."""
    return list(getattr(exc.__cause__, "schema_errors", None) or [])


def explain(exc: BaseException) -> str:
    """One readable line for an openapi-core validation error, naming every member at fault."""
    details = sorted({describe(error) for error in leaf_errors(schema_errors(exc))})
    return "; ".join(details) if details else str(exc)


class _SharedFormatChecker(FormatChecker):
    """A format checker whose deep copy is itself: openapi-core copies its checker for every schema it
    validates, so as to add extra format validators to the copy; with none configured the copy is never
    changed, and copying (a fifth of the cost of validating an answer) buys nothing."""

    def __init__(self, base: FormatChecker) -> None:
        super().__init__(())
        self.checkers = dict(base.checkers)

    def __deepcopy__(self, memo: dict[int, Any]) -> _SharedFormatChecker:
        return self


class _Cycle(Exception):
    """A reference that leads back to itself: such a document cannot be inlined."""


def inlined(spec: dict[str, Any]) -> dict[str, Any]:
    """The document with every local `$ref` replaced by what it points at (shared, not copied), or the document
    itself where a reference loops back on itself or points at nothing. openapi-core follows each reference
    through jsonschema-path on every access; with none left it gives the same verdicts a third faster."""
    done: dict[str, Any] = {}

    def walk(node: Any, following: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [walk(item, following) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/") or len(node) > 1:
            return {key: walk(value, following) for key, value in node.items()}
        if ref in following:
            raise _Cycle(ref)
        if ref not in done:
            done[ref] = walk(resolve(spec, node), (*following, ref))
        return done[ref]

    try:
        result: dict[str, Any] = walk(spec, ())
    except (_Cycle, ValueError):  # ValueError: a reference that points at nothing; openapi-core will say so
        return spec
    return result


def validating_openapi(spec: dict[str, Any]) -> OpenAPI:
    """openapi-core over a document already validated (load_spec does it once per content), configured to
    judge as by default at less cost: references inlined, one format checker for every schema (OAS 3.0's,
    as openapi-core's own 3.1 default uses, for `byte` and `binary`)."""
    schemas = DialectSchemaValidatorsFactory(
        OAS31Validator, OAS31_BASE_DIALECT_ID, format_checker=_SharedFormatChecker(OAS30ReadValidator.FORMAT_CHECKER)
    )
    # spec_validator_cls None: no validation (openapi-core accepts it; its annotation does not say so).
    no_validation: Any = None
    config = Config(spec_validator_cls=no_validation, schema_validators_factory=schemas)
    return OpenAPI.from_dict(inlined(spec), config=config)
