"""One scenario per documented error code of each operation, read from the spec's catalog.

A code whose rule Stripe does not publish has a ladder of candidate triggers: the scenario passes on
the first candidate that draws the code as documented, and names it; it fails only when none does,
showing each candidate's answer. A setup step that the target refuses with a documented code (its own
rule, such as a person refused on an account without a country) leaves the scenario not exercised.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from conformance.engine.categories import Category
from conformance.engine.checks.triggers import Candidate, candidates, send
from conformance.engine.client import Exchange
from conformance.engine.results import Finding, Status
from conformance.engine.validation import ResponseValidator
from conformance.engine.workbench import NotExercised, SetupFailed, Workbench
from conformance.spec import Operation


def check_id(operation: Operation, code: str) -> str:
    return f"{Category.ERROR_CODES}/{operation.operation_id}/{code}"


def run_code_scenario(
    bench: Workbench,
    validator: ResponseValidator,
    operation: Operation,
    code: str,
    pinned: Candidate | None = None,
    documented_codes: Collection[str] = (),
) -> Finding:
    """The scenario of one code: the pinned candidate (the profile's trigger), else the suite's ladder."""
    documented = operation.errors[code]
    finding = Finding(
        Status.PASSED,
        title=f"{operation.operation_id} answers {code}",
        code=code,
        expectation=f"HTTP {documented.status} with error.code {code!r} and members {', '.join(documented.members)}"
        + "".join(f", {name} = {value!r}" for name, value in documented.constants.items()),
        spec_location=f"paths.{operation.path}.{operation.method}.responses.{documented.status} -> "
        f"#/components/schemas/{documented.schema_name}",
    )
    first = len(bench.client.exchanges)
    ladder = (pinned,) if pinned is not None else candidates(code)
    answers: list[str] = []  # a candidate's wrong answer
    unexercised: list[str] = []  # why a candidate could not be tried
    errors: list[str] = []  # a setup that failed without a documented code
    drawn = None
    for candidate in ladder:
        with bench.attempt():  # each candidate on accounts of its own, given back before the next
            if (contradiction := candidate.contradicted(bench.decisions)) is not None:
                unexercised.append(contradiction)
                continue
            try:
                exchange = send(bench, candidate.trigger(bench, operation), operation.operation_id)
            except NotExercised as exc:
                unexercised.append(f"{candidate.name}: {exc}")
                continue
            except SetupFailed as exc:
                refused = exc.exchange.error_code
                if refused in documented_codes:
                    unexercised.append(
                        f"{candidate.name}: the target refused the setup with its own rule ({exc}); pin a trigger for "
                        f"{operation.operation_id}/{code} in the profile's triggers to exercise it"
                    )
                else:
                    errors.append(f"{candidate.name}: {exc}")
                continue
            problems = _problems(exchange, documented.status, code, documented.members, documented.constants)
            problems += validator.problems(exchange)
            if not problems:
                drawn = candidate
                break
            if (ruled_out := candidate.rules_out(exchange)) is not None:
                unexercised.append(f"{candidate.name}: {ruled_out}")
            elif exchange.status is None:
                errors.append(f"{candidate.name}: {'; '.join(problems)}")
            else:
                answers.append(f"{candidate.name}: {'; '.join(problems)}")
    if not ladder:
        finding.status, finding.detail = Status.NOT_EXERCISED, f"the suite has no trigger for {code}"
    elif drawn is not None:
        finding.detail = f"drawn by {drawn.name}" if len(ladder) > 1 else ""
    elif answers:
        finding.status, finding.detail = Status.FAILED, " | ".join(answers + unexercised + errors)
    elif errors:
        finding.status, finding.detail = Status.ERROR, " | ".join(errors + unexercised)
    else:
        finding.status, finding.detail = Status.NOT_EXERCISED, " | ".join(unexercised)
    finding.exchanges = bench.client.exchanges[first:]
    return finding


def _problems(
    exchange: Exchange, status: int, code: str, members: tuple[str, ...], constants: dict[str, Any]
) -> list[str]:
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
        problems += [
            f"error.{name} is {error.get(name)!r}, expected {value!r}"
            for name, value in constants.items()
            if error.get(name) != value
        ]
    return problems
