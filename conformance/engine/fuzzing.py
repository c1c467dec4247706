"""Fuzzing with schemathesis: schema-valid requests per operation, sent to real objects of the target.

Schemathesis generates the cases; the suite sends them through its own client (so every request
is recorded and redacted) with the target's account, keys and headers, and judges each answer:
a transport error, a 5xx, an undocumented status or a body invalid for its status fails;
a documented business-rule 4xx does not.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable

from conformance.engine.client import Exchange
from conformance.engine.results import Category, CheckResult, Status
from conformance.engine.triggers import SetupFailed, Workbench
from conformance.engine.validation import ResponseValidator
from conformance.spec import Operation

# Headers the suite sets itself: generated values would only test the generator.
OWN_HEADERS = {"authorization", "stripe-version", "idempotency-key", "content-type", "stripe-account", "stripe-context"}
MAX_SHOWN_FAILURES = 5


def _objects(bench: Workbench, operation: Operation, account_id: str) -> dict[str, str]:
    """Path parameters that point at real objects, so generated requests reach real code paths."""
    params = {"account_id": account_id}
    if "/persons/{id}" in operation.path:
        params["id"] = bench.person(account_id, {"given_name": "Fuzzed"})
    elif "/person_tokens/{id}" in operation.path:
        params["id"] = bench.person_token(account_id)
    elif "{token}" in operation.path:
        params["token"] = bench.v1_person_token()
    return params


def _send(bench: Workbench, operation: Operation, case: Any) -> Exchange:
    path = operation.path
    for name, value in case.path_parameters.items():
        path = path.replace("{" + name + "}", str(value))
    query = urlencode(case.query or {}, doseq=True)
    headers = {name: str(value) for name, value in (case.headers or {}).items() if name.lower() not in OWN_HEADERS}
    body = case.body if not isinstance(case.body, type(schemathesis.core.NOT_SET)) else None
    is_form = case.media_type == "application/x-www-form-urlencoded"
    return bench.client.request(
        operation.method.upper(), path + (f"?{query}" if query else ""), headers=headers, operation_id=operation.operation_id,
        json_body=None if is_form else body, form=body if is_form else None,
    )


def fuzz_operation(bench: Workbench, validator: ResponseValidator, schema: Any, operation: Operation, account_id: str, *, max_examples: int, seed_value: int) -> CheckResult:
    result = CheckResult(
        check_id=f"fuzzing/{operation.operation_id}", category=Category.FUZZING, title=f"fuzzing {operation.label}",
        status=Status.PASSED, operation_id=operation.operation_id,
        expectation="every schema-valid request gets a documented status and a body valid for it, never a 5xx",
        spec_location=f"paths.{operation.path}.{operation.method}",
    )
    started, first = time.monotonic(), len(bench.client.exchanges)
    failures: list[Exchange] = []
    problems: list[str] = []
    try:
        fixed = _objects(bench, operation, account_id)
        api_operation = schema[operation.path][operation.method.upper()]
        strategy = api_operation.as_strategy(path_parameters=fixed)

        @seed(seed_value)
        @settings(max_examples=max_examples, deadline=None, database=None, derandomize=False,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate], print_blob=False)
        @given(strategy)
        def run_case(case: Any) -> None:
            exchange = _send(bench, operation, case)
            found = validator.problems(exchange)
            if exchange.status is not None and exchange.status >= 500:
                found.insert(0, f"server error {exchange.status}")
            if found and len(failures) < MAX_SHOWN_FAILURES:
                failures.append(exchange)
                problems.append(f"{exchange.method} {exchange.url.split('?')[0]} -> {exchange.status}: {found[0]}")

        run_case()
    except SetupFailed as exc:
        result.status, result.detail = Status.ERROR, str(exc)
    except Unsatisfiable as exc:
        result.status, result.detail = Status.ERROR, f"schemathesis could not generate requests: {exc}"
    sent = bench.client.exchanges[first:]
    if problems:
        result.status, result.detail = Status.FAILED, f"{len(problems)} of {len(sent)} requests failed (first shown): " + " | ".join(problems)
        result.exchanges = [exchange.to_dict() for exchange in failures]
    else:
        result.detail = result.detail or f"{len(sent)} requests, all conforming"
        result.exchanges = [exchange.to_dict() for exchange in sent[-3:]]
    result.duration = time.monotonic() - started
    return result


def load_schema(spec: dict[str, Any]) -> Any:
    return schemathesis.openapi.from_dict(spec)
