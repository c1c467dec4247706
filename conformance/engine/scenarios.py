"""One scenario per documented error code of each operation, read from the spec's catalog."""

from __future__ import annotations

import time

from conformance.engine.results import Category, CheckResult, Status
from conformance.engine.triggers import TRIGGERS, NotExercised, SetupFailed, Trigger, Workbench, send
from conformance.engine.validation import ResponseValidator
from conformance.spec import Operation


def check_id(operation: Operation, code: str) -> str:
    return f"error-code/{operation.operation_id}/{code}"


def run_code_scenario(bench: Workbench, validator: ResponseValidator, operation: Operation, code: str, override: Trigger | None = None) -> CheckResult:
    documented = operation.errors[code]
    result = CheckResult(
        check_id=check_id(operation, code), category=Category.ERROR_CODES, title=f"{operation.operation_id} answers {code}",
        status=Status.PASSED, operation_id=operation.operation_id, code=code,
        expectation=f"HTTP {documented.status} with error.code {code!r} and members {', '.join(documented.members)}"
        + "".join(f", {name} = {value!r}" for name, value in documented.constants.items()),
        spec_location=f"paths.{operation.path}.{operation.method}.responses.{documented.status} -> #/components/schemas/{documented.schema_name}",
    )
    started, first = time.monotonic(), len(bench.client.exchanges)
    try:
        trigger = override or TRIGGERS.get(code)
        if trigger is None:
            raise NotExercised(f"the suite has no trigger for {code}")
        exchange = send(bench, trigger(bench, operation), operation.operation_id)
    except NotExercised as exc:
        result.status, result.detail = Status.NOT_EXERCISED, str(exc)
    except SetupFailed as exc:
        result.status, result.detail = Status.ERROR, str(exc)
    else:
        problems = _problems(exchange, documented.status, code, documented.members, documented.constants) + validator.problems(exchange)
        if problems:
            result.status, result.detail = (Status.ERROR if exchange.status is None else Status.FAILED), "; ".join(problems)
    result.exchanges = [exchange.to_dict() for exchange in bench.client.exchanges[first:]]
    result.duration = time.monotonic() - started
    return result


def _problems(exchange, status: int, code: str, members: tuple[str, ...], constants: dict) -> list[str]:
    if exchange.status is None:
        return [f"no response: {exchange.error}"]
    problems = []
    if exchange.status != status:
        problems.append(f"status {exchange.status}, expected {status}")
    if exchange.error_code != code:
        problems.append(f"error.code {exchange.error_code!r}, expected {code!r}")
    error = (exchange.json or {}).get("error") if isinstance(exchange.json, dict) else None
    if isinstance(error, dict) and exchange.error_code == code:
        missing = [name for name in members if name not in error]
        if missing:
            problems.append(f"error lacks {', '.join(missing)}")
        problems += [f"error.{name} is {error.get(name)!r}, expected {value!r}" for name, value in constants.items() if error.get(name) != value]
    return problems
