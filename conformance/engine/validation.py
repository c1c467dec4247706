"""openapi-core validation of every response the suite receives, whichever part of it sent the request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from conformance.engine.client import Exchange
from conformance.spec import operations
from conformance.spec.catalog import Operation

SPEC_HOST = "https://api.stripe.com"


@dataclass
class _Request:
    host_url: str
    path: str
    method: str
    parameters: RequestParameters
    content_type: str
    body: bytes | None


@dataclass
class _Response:
    status_code: int
    content_type: str
    headers: Headers
    data: bytes


def _leaves(errors: list[Any]) -> list[Any]:
    found = []
    for error in errors:
        found.extend(_leaves(list(error.context)) if getattr(error, "context", None) else [error])
    return found


def describe(exc: BaseException) -> str:
    """One readable line per schema problem, with the JSON path where it is."""
    cause = exc.__cause__
    details = [
        f"{'/'.join(str(part) for part in error.absolute_path) or '(body)'}: {error.message}"
        for error in _leaves(list(getattr(cause, "schema_errors", None) or []))
    ]
    return "; ".join(sorted(set(details))) if details else str(exc)


class ResponseValidator:
    """Checks a response against the spec: status documented, headers and body valid for it, and,
    for a documented error code, the members that code carries (the spec's ErrorCode rules)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.openapi = OpenAPI.from_dict(spec)
        self.operations: dict[str, Operation] = operations(spec)

    def problems(self, exchange: Exchange) -> list[str]:
        """What is wrong with the response (empty when it conforms); computed once per exchange."""
        if exchange.problems is None:
            exchange.problems = self._problems(exchange)
        return exchange.problems

    def _problems(self, exchange: Exchange) -> list[str]:
        if exchange.status is None:
            return [f"no response: {exchange.error}"]
        operation = self.operations.get(exchange.operation_id or "")
        if operation is None:
            return []
        if exchange.status not in operation.statuses:
            documented = ", ".join(str(status) for status in operation.statuses)
            return [f"status {exchange.status} is not documented for {operation.operation_id} (documented: {documented})"]
        url = urlsplit(exchange.url)
        request = _Request(
            host_url=SPEC_HOST, path=url.path, method=exchange.method.lower(),
            parameters=RequestParameters(query=ImmutableMultiDict(), header=Headers(), cookie=ImmutableMultiDict(), path={}),
            content_type="application/json", body=None,
        )
        content_type = exchange.response_headers.get("content-type", "").split(";")[0].strip()
        response = _Response(exchange.status, content_type, Headers(exchange.response_headers), exchange.response_text.encode())
        result = self.openapi.unmarshal_response(request, response)
        return [describe(error) for error in result.errors]
