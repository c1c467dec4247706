"""Fuzzing with schemathesis: schema-valid requests per operation, sent to real objects of the target.

Schemathesis generates the cases; the suite sends them through its own client (so every request
is recorded and redacted) with the target's account, keys and headers, and judges each answer:
a transport error, a 5xx, an undocumented status or a body invalid for its status fails;
a documented business-rule 4xx does not.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode

import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky, Unsatisfiable

from conformance.engine.client import Exchange, form_encode
from conformance.engine.results import Finding, Status
from conformance.engine.untrusted import Untrusted, path_id
from conformance.engine.validation import ResponseValidator
from conformance.engine.workbench import SetupFailed, Workbench
from conformance.spec import Operation

# Stripe states `format: decimal` (percent_ownership) but not its syntax: generate plain decimal strings, which
# any reading of it accepts, so that generated requests reach the rules behind the format.
schemathesis.openapi.format("decimal", st.from_regex(r"\A[0-9]{1,3}(\.[0-9]{1,4})?\Z"))

# Headers the suite sets itself: generated values would only test the generator.
OWN_HEADERS = {"authorization", "stripe-version", "idempotency-key", "content-type", "stripe-account", "stripe-context"}
MAX_SHOWN_FAILURES = 5


@contextlib.contextmanager
def seed_alone() -> Iterator[None]:
    """While the suite fuzzes, its draws follow its seed alone.

    Hypothesis (6.13x and later) also draws, now and then, literals it mines from every *local* module the process has
    imported: the suite's own when it is installed editable, a user's conftest under pytest. The same seed then sent
    other requests whenever another module was imported or a literal changed anywhere (71 or 73 linked requests by
    entry point; 68, 72 or 77 against Prism). The pool is empty while the suite fuzzes. It is a private hook of
    Hypothesis: where it is gone, nothing is changed.
    """
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants
    except ImportError:  # pragma: no cover - another Hypothesis
        yield
        return
    original = getattr(providers, "_get_local_constants", None)
    if original is None:  # pragma: no cover - another Hypothesis
        yield
        return
    empty = Constants()
    providers._get_local_constants = lambda: empty
    providers.CONSTANTS_CACHE.cache.clear()  # the constants allowed per choice, computed from the pool
    try:
        yield
    finally:
        providers._get_local_constants = original
        providers.CONSTANTS_CACHE.cache.clear()


def _objects(bench: Workbench, operation: Operation, account_id: str) -> dict[str, str]:
    """Path parameters that point at real objects, so generated requests reach real code paths."""
    params = {"account_id": account_id}
    for name, creator in operation.created_by.items():
        params[name] = bench.created(creator, account_id, "Fuzzed")
    return params


def _send(bench: Workbench, operation: Operation, case: Any) -> Exchange:
    path = operation.path
    try:
        # Path parameters are generated (schemathesis has quoted them already) or, stateful, taken from the
        # target's answers along links (not quoted): unquoted first, as schemathesis does, so quoting stays idempotent.
        for name, value in case.path_parameters.items():
            path = path.replace("{" + name + "}", path_id(unquote(str(value))))
    except Untrusted as exc:
        return bench.client.refuse(operation.method.upper(), path, str(exc), operation.operation_id)
    query = urlencode(form_encode(case.query or {}))  # arrays in brackets (`expand[0]=card`), as Stripe reads them
    headers = {name: str(value) for name, value in (case.headers or {}).items() if name.lower() not in OWN_HEADERS}
    body = case.body if not isinstance(case.body, type(schemathesis.core.NOT_SET)) else None
    is_form = case.media_type == "application/x-www-form-urlencoded"
    raw = body.encode() if isinstance(body, str) else body if isinstance(body, bytes) else None  # already serialised
    structured = None if raw is not None else body
    return bench.client.request(
        operation.method.upper(),
        path + (f"?{query}" if query else ""),
        headers=headers,
        operation_id=operation.operation_id,
        json_body=None if is_form else structured,
        form=structured if is_form else None,
        raw_body=raw,
    )


@dataclass
class _Breaches:
    """The requests of one fuzzing check that broke the contract: all counted, the first few kept to show."""

    validator: ResponseValidator
    count: int = 0
    shown: list[Exchange] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def judge(self, exchange: Exchange) -> None:
        found = list(self.validator.problems(exchange))
        if exchange.status is not None and exchange.status >= 500:
            found.insert(0, f"server error {exchange.status}")
        if not found:
            return
        self.count += 1
        if len(self.shown) < MAX_SHOWN_FAILURES:
            self.shown.append(exchange)
            self.lines.append(f"{exchange.method} {exchange.url.split('?')[0]} -> {exchange.status}: {found[0]}")

    def conclude(self, result: Finding, sent: list[Exchange], passing: str) -> Finding:
        if self.count:
            result.status = Status.FAILED
            result.detail = (
                f"{self.count} of {len(sent)} requests broke the contract (first {len(self.lines)} shown): "
                + " | ".join(self.lines)
            )
            result.exchanges = self.shown
        elif result.status == Status.PASSED:
            result.detail = f"{len(sent)} {passing}, all conforming"
            result.exchanges = sent[-3:]
        result.requests = len(sent)
        return result


def fuzz_operation(
    bench: Workbench,
    validator: ResponseValidator,
    schema: Any,
    operation: Operation,
    account_id: str,
    *,
    max_examples: int,
    seed_value: int,
) -> Finding:
    result = Finding(
        Status.PASSED,
        title=f"fuzzing {operation.label}",
        expectation="every schema-valid request gets a documented status and a body valid for it, never a 5xx",
        spec_location=f"paths.{operation.path}.{operation.method}",
    )
    first = len(bench.client.exchanges)
    breaches = _Breaches(validator)
    try:
        fixed = _objects(bench, operation, account_id)
        api_operation = schema[operation.path][operation.method.upper()]
        strategy = api_operation.as_strategy(path_parameters=fixed)

        @seed(seed_value)
        @settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            derandomize=False,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
            print_blob=False,
        )
        @given(strategy)
        def run_case(case: Any) -> None:
            breaches.judge(_send(bench, operation, case))

        with seed_alone():
            run_case()
    except SetupFailed as exc:
        result.status, result.detail = Status.ERROR, str(exc)
    except Unsatisfiable as exc:
        result.status, result.detail = Status.ERROR, f"schemathesis could not generate requests: {exc}"
    return breaches.conclude(result, bench.client.exchanges[first:], "requests")


def load_schema(spec: dict[str, Any]) -> Any:
    return schemathesis.openapi.from_dict(spec)


def fuzz_stateful(
    bench: Workbench,
    validator: ResponseValidator,
    schema: Any,
    operations_by_route: dict[tuple[str, str], Operation],
    account_id: str,
    *,
    max_examples: int,
    seed_value: int,
) -> Finding:
    """Sequences of calls chained by the spec's links (create -> retrieve/update/delete, token -> person)."""
    import requests
    from hypothesis.stateful import run_state_machine_as_test
    from schemathesis.core.transport import Response

    result = Finding(
        Status.PASSED,
        title="stateful fuzzing along the spec's links",
        expectation="every call of a linked sequence gets a documented status and a valid body, never a 5xx",
        spec_location="paths.*.responses.200.links",
    )
    first = len(bench.client.exchanges)
    breaches = _Breaches(validator)

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Any) -> None:
            if "account_id" in case.path_parameters:
                case.path_parameters["account_id"] = account_id

        def call(self, case: Any, **kwargs: Any) -> Response:
            exchange = _send(bench, operations_by_route[(case.method.lower(), case.operation.path)], case)
            breaches.judge(exchange)
            prepared = requests.Request(exchange.method, exchange.url).prepare()
            headers = {name.lower(): [value] for name, value in exchange.response_headers.items()}
            return Response(
                exchange.status or 599,
                headers,
                exchange.response_text.encode(),
                prepared,
                exchange.elapsed,
                verify=False,
            )

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            return None  # judged in call(), with the suite's own validator

    try:
        with seed_alone():
            run_state_machine_as_test(
                seed(seed_value)(Machine),
                settings=settings(
                    max_examples=max_examples,
                    stateful_step_count=6,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                    print_blob=False,
                    # The target's answers steer the sequences, so a replay can draw differently: no shrinking and
                    # no replays.
                    phases=[Phase.generate],
                ),
            )
    except Flaky:
        pass  # the target's state steered a replay elsewhere (as schemathesis, end the exploration there)
    except SetupFailed as exc:
        result.status, result.detail = Status.ERROR, str(exc)
    return breaches.conclude(result, bench.client.exchanges[first:], "requests in linked sequences")
