"""Response validation: every response the run received, whichever check sent it, validated by openapi-core against
the spec, one result per operation. It runs after the other checks, over the exchanges they recorded."""

from __future__ import annotations

from conformance.engine.categories import Category
from conformance.engine.client import Exchange
from conformance.engine.results import CheckResult, Finding, Status
from conformance.engine.validation import ResponseValidator


def validation_results(
    validator: ResponseValidator, exchanges: list[Exchange], operation_ids: list[str]
) -> list[CheckResult]:
    """One result per operation: every response the run received for it, validated by openapi-core."""
    results = []
    for operation_id in operation_ids:
        received = [
            exchange for exchange in exchanges if exchange.operation_id == operation_id and exchange.status is not None
        ]
        invalid = [(exchange, problems) for exchange in received if (problems := validator.problems(exchange))]
        finding = Finding(
            Status.PASSED if received else Status.NOT_EXERCISED,
            f"{len(received)} responses validated" if received else "no response received for this operation",
            title=f"responses of {operation_id} valid against the spec",
            expectation="every response has a documented status and a body and headers valid for it (openapi-core)",
        )
        if invalid:
            finding.status = Status.FAILED
            finding.detail = f"{len(invalid)} of {len(received)} responses invalid: " + " | ".join(
                f"{e.method} {e.url.split('?')[0]} -> {e.status}: {p[0]}" for e, p in invalid[:5]
            )
            finding.exchanges = [exchange for exchange, _ in invalid[:5]]
        results.append(finding.result(f"{Category.VALIDATION}/{operation_id}", Category.VALIDATION, operation_id))
    return results
