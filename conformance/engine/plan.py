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

from conformance.engine import semantics  # noqa: F401  (registers the checks)
from conformance.engine.accounts import AccountPool
from conformance.engine.client import ApiClient, redact
from conformance.engine.config import RunConfig
from conformance.engine.fuzzing import fuzz_operation, fuzz_stateful, load_schema
from conformance.engine.judge import CHECKS, Judge, SemanticCheck, Stop
from conformance.engine.results import Category, CheckResult, Status
from conformance.engine.scenarios import check_id as code_check_id
from conformance.engine.scenarios import run_code_scenario
from conformance.engine.triggers import NotExercised, SetupFailed, Workbench, profile_trigger
from conformance.engine.untrusted import Untrusted
from conformance.engine.validation import ResponseValidator
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


UnitBody = Callable[[Environment, Workbench], list[CheckResult]]


@dataclass(frozen=True)
class CheckUnit:
    check_id: str
    category: Category
    operation_id: str | None
    body: UnitBody
    assertions: tuple[str, ...] = ()  # the ids of its results, when it judges several; else (check_id,)

    @property
    def result_ids(self) -> tuple[str, ...]:
        return self.assertions or (self.check_id,)

    def run(self, environment: Environment) -> tuple[list[CheckResult], ApiClient]:
        """Run in a fresh client and workbench; every response is validated; what was created is removed."""
        implemented = environment.config.operations
        client = environment.client()
        if environment.gone:
            client.close()
            detail = (
                f"not run: the target stopped answering ({SILENT_UNITS_BEFORE_GIVING_UP} checks in "
                "a row got no response)"
            )
            return self.every(Status.ERROR, detail), client
        if implemented is not None and self.operation_id is not None and self.operation_id not in implemented:
            client.close()
            return self.every(
                Status.NOT_EXERCISED, f"the target's profile says it does not implement {self.operation_id}"
            ), client
        bench = Workbench(
            client,
            environment.config.fixtures,
            environment.config.decisions,
            environment.pool,
            environment.config.rate_limit_per_second,
            api=environment.operations,
        )
        started = time.monotonic()
        try:
            results = self.body(environment, bench)
            _validate_all(environment, client, results)
        except NotExercised as exc:
            results = self.every(Status.NOT_EXERCISED, str(exc), client)
        except SetupFailed as exc:
            results = self.every(Status.ERROR, str(exc), client)
        except Untrusted as exc:
            results = self.every(Status.FAILED, f"the target answered a value the suite will not use: {exc}", client)
            for result in results:
                result.expectation = (
                    "every id and URL in the target's answers usable again (an id of 1 "
                    "to 1,024 characters, a relative URL)"
                )
        except Exception as exc:  # noqa: BLE001 - a hostile or broken target gets a classified result, not a crash
            detail = f"the check could not complete: {type(exc).__name__}: {redact(str(exc))[:300]}"
            results = self.every(Status.ERROR, detail, client)
        finally:
            bench.cleanup()
            client.close()
        elapsed = time.monotonic() - started
        for result in results:
            result.duration = result.duration or elapsed / len(results)
            result.operation_id = result.operation_id or self.operation_id
        answered = any(exchange.status is not None for exchange in client.exchanges)
        environment.silent_units = 0 if answered or not client.exchanges else environment.silent_units + 1
        _mark_expected(results, environment.config.expected_failures)
        return results, client

    def every(self, status: Status, detail: str, client: ApiClient | None = None) -> list[CheckResult]:
        """One result per result id, all with the same outcome (the unit could not judge them one by one)."""
        exchanges = [exchange.to_dict() for exchange in client.exchanges[-3:]] if client else []
        return [
            CheckResult(
                check_id=result_id,
                category=self.category,
                title=result_id,
                status=status,
                operation_id=self.operation_id,
                detail=detail,
                exchanges=exchanges,
            )
            for result_id in self.result_ids
        ]


def _mark_expected(results: list[CheckResult], expected: dict[str, str]) -> None:
    """A result named in expected_failures is expected to fail. Where a whole check is named, its failing
    assertions are; and when none fails, all of them are, so that the listing is reported as passing."""
    failing = {result.check_id.rsplit("/", 1)[0] for result in results if result.status != Status.PASSED}
    for result in results:
        check = result.check_id.rsplit("/", 1)[0]
        named = check in expected and (result.status != Status.PASSED or check not in failing)
        result.expected_failure = result.check_id in expected or named


def _validate_all(environment: Environment, client: ApiClient, results: list[CheckResult]) -> None:
    """A result also fails when a response it was judged on is invalid against the spec (the first passing result
    that shows the exchange, else the first passing result)."""
    for exchange in client.exchanges:
        problems = environment.validator.problems(exchange) if exchange.status is not None else []
        passing = [result for result in results if result.status == Status.PASSED]
        if not problems or not passing:
            continue
        shown = exchange.to_dict()
        result = next((result for result in passing if shown in result.exchanges), passing[0])
        result.status = Status.FAILED
        where = f"{exchange.method} {exchange.url.split('?')[0]} -> {exchange.status}"
        result.detail = f"response invalid against the spec: {where}: {problems[0]}"
        if shown not in result.exchanges:
            result.exchanges = [*result.exchanges, shown]


def _semantic(semantic: SemanticCheck) -> UnitBody:
    def body(environment: Environment, bench: Workbench) -> list[CheckResult]:
        judge = Judge(semantic, bench)
        started = time.monotonic()
        status, reason = Status.NOT_EXERCISED, ""
        try:
            semantic.body(bench, judge)
        except Stop as exc:
            reason = f"not reached: {semantic.check_id}/{exc} failed first"
        except NotExercised as exc:
            reason = str(exc)
        except SetupFailed as exc:
            status, reason = Status.ERROR, str(exc)
        results = semantic.results(judge, reason or "not judged by the check", status)
        for result in results:
            result.duration = (time.monotonic() - started) / len(results)
        return results

    return body


def _code(operation_id: str, code: str) -> UnitBody:
    def body(environment: Environment, bench: Workbench) -> list[CheckResult]:
        triggers = environment.config.triggers
        definition = triggers.get(f"{operation_id}/{code}") or triggers.get(code)
        override = profile_trigger(definition) if definition else None
        operation = environment.operations[operation_id]
        return [
            run_code_scenario(bench, environment.validator, operation, code, override, environment.documented_codes)
        ]

    return body


def _fuzz(operation_id: str, index: int) -> UnitBody:
    def body(environment: Environment, bench: Workbench) -> list[CheckResult]:
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


def _stateful(environment: Environment, bench: Workbench) -> list[CheckResult]:
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
    if "error-codes" in config.only:
        units += [
            CheckUnit(
                code_check_id(operation, code),
                Category.ERROR_CODES,
                operation.operation_id,
                _code(operation.operation_id, code),
            )
            for operation in ops.values()
            for code in operation.errors
        ]
    for semantic in CHECKS.values():
        if semantic.check_id.split("/")[0] in config.only:
            semantic = semantic.for_operations(ops)
            units.append(
                CheckUnit(semantic.check_id, semantic.category, None, _semantic(semantic), tuple(semantic.result_ids()))
            )
    if "fuzzing" in config.only:
        units += [
            CheckUnit(f"fuzzing/{operation_id}", Category.FUZZING, operation_id, _fuzz(operation_id, index))
            for index, operation_id in enumerate(ops)
        ]
        units.append(CheckUnit("fuzzing/stateful", Category.FUZZING, None, _stateful))
    index, count = config.shard
    return [unit for position, unit in enumerate(units) if position % count == index - 1]
