"""The checks of a run as independent units, so that threads, pytest-xdist or CI shards can share them out.

Every unit makes its own accounts, persons and tokens through its own Workbench, validates every
response it received with openapi-core, and cleans up what it created.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conformance.engine.accounts import AccountPool
from conformance.engine.categories import Category
from conformance.engine.checks import CHECKS
from conformance.engine.checks.error_codes import check_id as code_check_id
from conformance.engine.checks.error_codes import run_code_scenario
from conformance.engine.checks.fuzzing import fuzz_operation, fuzz_stateful, load_schema
from conformance.engine.checks.triggers import Candidate, pinned
from conformance.engine.client import ApiClient, Exchange, redact
from conformance.engine.config import RunConfig
from conformance.engine.judge import Judge, SemanticCheck, Stop
from conformance.engine.results import CheckResult, Finding, Status
from conformance.engine.untrusted import Untrusted
from conformance.engine.validation import ResponseValidator
from conformance.engine.workbench import NotExercised, SetupFailed, Workbench
from conformance.spec import Operation, load_spec, operations
from conformance.spec.sources import apply_decisions

SILENT_UNITS_BEFORE_GIVING_UP = 3


@dataclass
class Environment:
    """What units share in one worker: the spec, its validator and schemathesis schema, the target."""

    config: RunConfig
    base_url: str
    spec: dict[str, Any] = field(default_factory=dict)  # default: the spec as it holds for the target's decisions
    silent_units: int = 0  # checks in a row that got no response at all

    def __post_init__(self) -> None:
        if not self.spec:
            self.spec = apply_decisions(load_spec(), self.config.decisions)

    @property
    def gone(self) -> bool:
        """The target stopped answering: the remaining checks end at once instead of each timing out."""
        return self.silent_units >= SILENT_UNITS_BEFORE_GIVING_UP

    @functools.cached_property
    def operations(self) -> dict[str, Operation]:
        return operations(self.spec)

    @functools.cached_property
    def documented_codes(self) -> frozenset[str]:
        return frozenset(code for operation in self.operations.values() for code in operation.errors)

    @functools.cached_property
    def pool(self) -> AccountPool | None:
        """The target's accounts pool, shared by the units of this worker; None: accounts are created."""
        if not self.config.accounts:
            return None
        return AccountPool(self.config.accounts, float(self.config.fixtures.get("pool_wait_seconds", 120)))

    @functools.cached_property
    def validator(self) -> ResponseValidator:
        return ResponseValidator(self.spec)

    @functools.cached_property
    def schema(self) -> Any:
        return load_schema(self.spec)

    def client(self) -> ApiClient:
        return ApiClient(
            self.base_url,
            self.config.api_key or "",
            stripe_version=self.config.stripe_version,
            timeout=self.config.timeout,
            pace=self.config.pace,
        )


UnitBody = Callable[[Environment, Workbench], list[Finding]]


@dataclass(frozen=True)
class CheckUnit:
    check_id: str
    category: Category
    operation_id: str | None
    body: UnitBody
    assertions: tuple[str, ...] = ()  # when it judges several: the names of its results, `<check id>/<assertion>`

    @property
    def result_ids(self) -> tuple[str, ...]:
        return tuple(f"{self.check_id}/{assertion}" for assertion in self.assertions) or (self.check_id,)

    def run(self, environment: Environment) -> tuple[list[CheckResult], ApiClient]:
        """Run in a fresh client and workbench; every response is validated; what was created is removed."""
        implemented = environment.config.operations
        client = environment.client()
        started = time.monotonic()
        if environment.gone:
            client.close()
            detail = (
                f"not run: the target stopped answering ({SILENT_UNITS_BEFORE_GIVING_UP} checks in "
                "a row got no response)"
            )
            return self.results(self.every(Status.ERROR, detail), started), client
        if implemented is not None and self.operation_id is not None and self.operation_id not in implemented:
            client.close()
            detail = f"the target's profile says it does not implement {self.operation_id}"
            return self.results(self.every(Status.NOT_EXERCISED, detail), started), client
        bench = Workbench(
            client,
            environment.config.fixtures,
            environment.config.decisions,
            environment.pool,
            environment.config.rate_limit_per_second,
            api=environment.operations,
        )
        try:
            findings = self.body(environment, bench)
            _validate_all(environment, client, findings)
        except NotExercised as exc:
            findings = self.every(Status.NOT_EXERCISED, str(exc), client.exchanges[-3:])
        except SetupFailed as exc:
            findings = self.every(Status.ERROR, str(exc), client.exchanges[-3:])
        except Untrusted as exc:
            findings = self.every(
                Status.FAILED,
                f"the target answered a value the suite will not use: {exc}",
                client.exchanges[-3:],
                "every id and URL in the target's answers usable again (an id of 1 to 1,024 characters, a relative "
                "URL)",
            )
        except Exception as exc:  # noqa: BLE001 - a hostile or broken target gets a classified result, not a crash
            detail = f"the check could not complete: {type(exc).__name__}: {redact(str(exc))[:300]}"
            findings = self.every(Status.ERROR, detail, client.exchanges[-3:])
        finally:
            bench.cleanup()
            client.close()
        results = self.results(findings, started)
        answered = any(exchange.status is not None for exchange in client.exchanges)
        environment.silent_units = 0 if answered or not client.exchanges else environment.silent_units + 1
        _mark_expected(results, environment.config.expected_failures)
        return results, client

    def every(
        self, status: Status, detail: str, exchanges: list[Exchange] | None = None, expectation: str = ""
    ) -> list[Finding]:
        """One finding per result, all with the same outcome (the unit could not judge them one by one)."""
        return [
            Finding(status, detail, list(exchanges or ()), expectation, assertion=assertion)
            for assertion in self.assertions or (None,)
        ]

    def results(self, findings: list[Finding], started: float) -> list[CheckResult]:
        """The results of the unit's findings: its ids, category and operation, and its time shared among them."""
        share = (time.monotonic() - started) / max(1, len(findings))
        return [finding.result(self.check_id, self.category, self.operation_id, share) for finding in findings]


def _mark_expected(results: list[CheckResult], expected: dict[str, str]) -> None:
    """A result named in expected_failures is expected to fail. Where a whole check is named, its failing
    assertions are; and when none fails, all of them are, so that the listing is reported as passing."""
    failing = {result.check_id.rsplit("/", 1)[0] for result in results if result.status != Status.PASSED}
    for result in results:
        check = result.check_id.rsplit("/", 1)[0]
        named = check in expected and (result.status != Status.PASSED or check not in failing)
        result.expected_failure = result.check_id in expected or named


def _validate_all(environment: Environment, client: ApiClient, findings: list[Finding]) -> None:
    """A finding also fails when a response it was judged on is invalid against the spec (the first passing finding
    that shows the exchange, else the first passing finding)."""
    for exchange in client.exchanges:
        problems = environment.validator.problems(exchange) if exchange.status is not None else []
        passing = [finding for finding in findings if finding.status == Status.PASSED]
        if not problems or not passing:
            continue
        finding = next((finding for finding in passing if exchange in finding.exchanges), passing[0])
        finding.status = Status.FAILED
        where = f"{exchange.method} {exchange.url.split('?')[0]} -> {exchange.status}"
        finding.detail = f"response invalid against the spec: {where}: {problems[0]}"
        if exchange not in finding.exchanges:
            finding.exchanges = [*finding.exchanges, exchange]


def _semantic(semantic: SemanticCheck) -> UnitBody:
    def body(environment: Environment, bench: Workbench) -> list[Finding]:
        judge = Judge(semantic, bench)
        status, reason = Status.NOT_EXERCISED, ""
        try:
            semantic.body(bench, judge)
        except Stop as exc:
            reason = f"not reached: {semantic.check_id}/{exc} failed first"
        except NotExercised as exc:
            reason = str(exc)
        except SetupFailed as exc:
            status, reason = Status.ERROR, str(exc)
        return semantic.findings(judge, reason or "not judged by the check", status)

    return body


def code_unit(operation: Operation, code: str, candidate: Candidate | None = None) -> CheckUnit:
    """The scenario of one documented code: with `candidate` alone (as `conformance discover` tries each), else with
    the trigger the profile pins, else the suite's ladder."""
    operation_id = operation.operation_id

    def body(environment: Environment, bench: Workbench) -> list[Finding]:
        chosen = candidate
        if chosen is None:
            triggers = environment.config.triggers
            definition = triggers.get(f"{operation_id}/{code}") or triggers.get(code)
            chosen = pinned(code, definition) if definition else None
        target = environment.operations[operation_id]  # as it holds for the target's decisions
        return [run_code_scenario(bench, environment.validator, target, code, chosen, environment.documented_codes)]

    return CheckUnit(code_check_id(operation, code), Category.ERROR_CODES, operation_id, body)


def _fuzz(operation_id: str, index: int) -> UnitBody:
    def body(environment: Environment, bench: Workbench) -> list[Finding]:
        config = environment.config
        operation = environment.operations[operation_id]
        account_id = bench.account()
        seed_value = config.seed + index
        return [
            fuzz_operation(
                bench,
                environment.validator,
                environment.schema,
                operation,
                account_id,
                max_examples=config.max_examples,
                seed_value=seed_value,
            )
        ]

    return body


def _stateful(environment: Environment, bench: Workbench) -> list[Finding]:
    config = environment.config
    account_id = bench.account()
    routes = {(operation.method, operation.path): operation for operation in environment.operations.values()}
    # Sequences cost several requests each: half the per-operation budget keeps the default gate short.
    examples = max(5, config.max_examples // 2)
    return [
        fuzz_stateful(
            bench,
            environment.validator,
            environment.schema,
            routes,
            account_id,
            max_examples=examples,
            seed_value=config.seed,
        )
    ]


def plan(config: RunConfig, spec: dict[str, Any] | None = None) -> list[CheckUnit]:
    """Every unit the configuration selects (categories, shard), in a stable order."""
    ops = operations(spec or load_spec())
    units: list[CheckUnit] = []
    if Category.ERROR_CODES in config.only:
        units += [code_unit(operation, code) for operation in ops.values() for code in operation.errors]
    for semantic in CHECKS.values():
        if semantic.category in config.only:
            semantic = semantic.for_operations(ops)
            units.append(
                CheckUnit(semantic.check_id, semantic.category, None, _semantic(semantic), tuple(semantic.assertions))
            )
    if Category.FUZZING in config.only:
        units += [
            CheckUnit(f"fuzzing/{operation_id}", Category.FUZZING, operation_id, _fuzz(operation_id, index))
            for index, operation_id in enumerate(ops)
        ]
        units.append(CheckUnit("fuzzing/stateful", Category.FUZZING, None, _stateful))
    index, count = config.shard
    return [unit for position, unit in enumerate(units) if position % count == index - 1]
