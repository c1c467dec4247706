"""openapi-core validation of every response the suite receives, whichever part of it sent the request."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from conformance.engine.client import Exchange
from conformance.spec import operations
from conformance.spec.catalog import Operation
from conformance.spec.openapi_core_io import SpecRequest, SpecResponse, explain, validating_openapi


class ResponseValidator:
    """Checks a response against the spec: status documented, headers and body valid for it, and,
    for a documented error code, the members that code carries (the spec's ErrorCode rules)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.openapi = validating_openapi(spec)
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
            return [
                f"status {exchange.status} is not documented for {operation.operation_id} (documented: {documented})"
            ]
        url = urlsplit(exchange.url)
        request = SpecRequest(
            path=url.path,
            method=exchange.method.lower(),
            parameters=RequestParameters(
                query=ImmutableMultiDict(), header=Headers(), cookie=ImmutableMultiDict(), path={}
            ),
            content_type="application/json",
            body=None,
        )
        content_type = exchange.response_headers.get("content-type", "").split(";")[0].strip()
        response = SpecResponse(
            exchange.status, content_type, Headers(exchange.response_headers), exchange.response_text.encode()
        )
        try:
            return [explain(error) for error in self.openapi.response_validator.iter_errors(request, response)]
        except RecursionError:  # openapi-core parses the body again: one nested thousands deep (chaos draw 665)
            return ["the response body nests too deeply to be read or validated"]
