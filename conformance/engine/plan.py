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

from conformance.engine.client import ApiClient, redact
from conformance.engine.config import RunConfig
from conformance.engine.fuzzing import fuzz_operation, fuzz_stateful, load_schema
from conformance.engine.results import Category, CheckResult, Status
from conformance.engine.scenarios import check_id as code_check_id
from conformance.engine.scenarios import run_code_scenario
from conformance.engine.semantics import CHECKS, CheckFailed
from conformance.engine.triggers import SetupFailed, Workbench, profile_trigger
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
            self.spec = apply_decisions(load_spec(), self.config.fixtures)

    @property
    def gone(self) -> bool:
        """The target stopped answering: the remaining checks end at once instead of each timing out."""
        return self.silent_units >= SILENT_UNITS_BEFORE_GIVING_UP

    @functools.cached_property
    def operations(self) -> dict[str, Operation]:
        return operations(self.spec)

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


@dataclass(frozen=True)
class CheckUnit:
    check_id: str
    category: Category
    operation_id: str | None
    body: Callable[[Environment, Workbench], CheckResult]

    def run(self, environment: Environment) -> tuple[CheckResult, ApiClient]:
        """Run in a fresh client and workbench; every response is validated; what was created is removed."""
        implemented = environment.config.operations
        client = environment.client()
        if environment.gone:
            client.close()
            return CheckResult(
                check_id=self.check_id,
                category=self.category,
                title=self.check_id,
                status=Status.ERROR,
                operation_id=self.operation_id,
                detail=f"not run: the target stopped answering ({SILENT_UNITS_BEFORE_GIVING_UP} checks in a row got no "
                "response)",
            ), client
        if implemented is not None and self.operation_id is not None and self.operation_id not in implemented:
            client.close()
            return CheckResult(
                check_id=self.check_id,
                category=self.category,
                title=self.check_id,
                status=Status.NOT_EXERCISED,
                operation_id=self.operation_id,
                detail=f"the target's profile says it does not implement {self.operation_id}",
            ), client
        bench = Workbench(client, environment.config.fixtures)
        started = time.monotonic()
        try:
            result = self.body(environment, bench)
            _validate_all(environment, client, result)
        except Untrusted as exc:
            result = self._broken(
                Status.FAILED, f"the target answered a value the suite will not use: {exc}", client, started
            )
            result.expectation = (
                "every id and URL in the target's answers usable again (an id of 1 to 1,024 characters, a relative URL)"
            )
        except Exception as exc:  # a hostile or broken target must give a classified result, not a crash
            result = self._broken(
                Status.ERROR,
                f"the check could not complete: {type(exc).__name__}: {redact(str(exc))[:300]}",
                client,
                started,
            )
        finally:
            bench.cleanup()
            client.close()
        answered = any(exchange.status is not None for exchange in client.exchanges)
        environment.silent_units = 0 if answered or not client.exchanges else environment.silent_units + 1
        if result.check_id in environment.config.expected_failures:
            result.expected_failure = True
        return result, client

    def _broken(self, status: Status, detail: str, client: ApiClient, started: float) -> CheckResult:
        return CheckResult(
            check_id=self.check_id,
            category=self.category,
            title=self.check_id,
            status=status,
            operation_id=self.operation_id,
            detail=detail,
            exchanges=[exchange.to_dict() for exchange in client.exchanges[-3:]],
            duration=time.monotonic() - started,
        )


def _validate_all(environment: Environment, client: ApiClient, result: CheckResult) -> None:
    """A check also fails when any response it received is invalid against the spec."""
    if result.status != Status.PASSED:
        return
    for exchange in client.exchanges:
        problems = environment.validator.problems(exchange) if exchange.status is not None else []
        if problems:
            result.status = Status.FAILED
            where = f"{exchange.method} {exchange.url.split('?')[0]} -> {exchange.status}"
            result.detail = f"response invalid against the spec: {where}: {problems[0]}"
            result.exchanges = [*result.exchanges, exchange.to_dict()]
            return


def _semantic(
    check_id: str, category: Category, check: Callable[[Workbench], None]
) -> Callable[[Environment, Workbench], CheckResult]:
    def body(environment: Environment, bench: Workbench) -> CheckResult:
        result = CheckResult(
            check_id=check_id,
            category=category,
            title=check.__name__.replace("_", " "),
            status=Status.PASSED,
            expectation=(check.__doc__ or "").strip(),
        )
        started = time.monotonic()
        try:
            check(bench)
        except CheckFailed as exc:
            result.status, result.expectation, result.detail = Status.FAILED, exc.expectation, exc.seen
        except SetupFailed as exc:
            result.status, result.detail = Status.ERROR, str(exc)
        result.exchanges = [exchange.to_dict() for exchange in bench.client.exchanges]
        result.duration = time.monotonic() - started
        return result

    return body


def _code(operation_id: str, code: str) -> Callable[[Environment, Workbench], CheckResult]:
    def body(environment: Environment, bench: Workbench) -> CheckResult:
        definition = environment.config.triggers.get(code)
        override = profile_trigger(definition) if definition else None
        return run_code_scenario(bench, environment.validator, environment.operations[operation_id], code, override)

    return body


def _fuzz(operation_id: str, index: int) -> Callable[[Environment, Workbench], CheckResult]:
    def body(environment: Environment, bench: Workbench) -> CheckResult:
        config = environment.config
        try:
            account_id = bench.account()
        except SetupFailed as exc:
            return CheckResult(
                check_id=f"fuzzing/{operation_id}",
                category=Category.FUZZING,
                title=f"fuzzing {operation_id}",
                status=Status.ERROR,
                operation_id=operation_id,
                detail=str(exc),
            )
        return fuzz_operation(
            bench,
            environment.validator,
            environment.schema,
            environment.operations[operation_id],
            account_id,
            max_examples=config.max_examples,
            seed_value=config.seed + index,
        )

    return body


def _stateful(environment: Environment, bench: Workbench) -> CheckResult:
    config = environment.config
    try:
        account_id = bench.account()
    except SetupFailed as exc:
        return CheckResult(
            check_id="fuzzing/stateful",
            category=Category.FUZZING,
            title="stateful fuzzing",
            status=Status.ERROR,
            detail=str(exc),
        )
    routes = {(operation.method, operation.path): operation for operation in environment.operations.values()}
    # Sequences cost several requests each: half the per-operation budget keeps the default gate short.
    return fuzz_stateful(
        bench,
        environment.validator,
        environment.schema,
        routes,
        account_id,
        max_examples=max(5, config.max_examples // 2),
        seed_value=config.seed,
    )


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
    units += [
        CheckUnit(check_id, category, None, _semantic(check_id, category, check))
        for check_id, (category, check) in CHECKS.items()
        if check_id.split("/")[0] in config.only
    ]
    if "fuzzing" in config.only:
        units += [
            CheckUnit(f"fuzzing/{operation_id}", Category.FUZZING, operation_id, _fuzz(operation_id, index))
            for index, operation_id in enumerate(ops)
        ]
        units.append(CheckUnit("fuzzing/stateful", Category.FUZZING, None, _stateful))
    index, count = config.shard
    return [unit for position, unit in enumerate(units) if position % count == index - 1]
