"""What openapi-core needs around the spec: requests and responses in its protocol, and its schema
errors as readable lines. Shared by the reference server (requests) and the engine (responses)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers

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


def explain(exc: BaseException) -> str:
    """One readable line for an openapi-core validation error, naming every member at fault."""
    details = sorted({describe(error) for error in leaf_errors(schema_errors(exc))})
    return "; ".join(details) if details else str(exc)
