"""Run the suite against one target and write its results."""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from conformance.engine.categories import Category
from conformance.engine.checks.response_validation import validation_results
from conformance.engine.client import ApiClient, Exchange, redact
from conformance.engine.config import RunConfig
from conformance.engine.errors import KeyRefused, TargetUnreachable
from conformance.engine.options import BY_NAME
from conformance.engine.pii import PiiRedactor
from conformance.engine.plan import CheckUnit, Environment, plan
from conformance.engine.results import CheckResult, Finding, RunResult, Status
from conformance.spec import load_spec, operations
from conformance.spec.catalog import operations_table

Progress = Callable[[CheckResult], None]


def ensure_reachable(environment: Environment) -> None:
    client = environment.client()
    try:
        first = client.request("GET", environment.operations["list_persons"].url(account_id="conformance_reachability"))
    finally:
        client.close()
    if first.status is None:
        raise TargetUnreachable(f"{environment.base_url} did not answer: {first.error}")
    if first.status == 401:
        raise KeyRefused(f"{environment.base_url} refused the API key (401): check --api-key or CONFORMANCE_API_KEY")


def _shutdown_ignoring_interrupts(pool: ThreadPoolExecutor, *, cancel_futures: bool) -> None:
    """Wait for the running checks to finish their clean-up, even through a second Ctrl-C."""
    while True:
        try:
            pool.shutdown(wait=True, cancel_futures=cancel_futures)
            return
        except KeyboardInterrupt:
            cancel_futures = True


Outcome = tuple[list[CheckResult], ApiClient]


def run_units(
    units: list[CheckUnit], environment: Environment, workers: int, finish: Callable[[Outcome], None]
) -> bool:
    """Run the units, `workers` at a time, handing each outcome to `finish` (the pooled units' first, then the
    fuzzing units', each group in plan order). Hypothesis runs one test per thread at a time: fuzzing stays on
    this thread while the pool works. False when interrupted (Ctrl-C): the running units finish and clean up
    after themselves, queued ones are dropped, and what ran is finished all the same."""
    pooled = [unit for unit in units if unit.category != Category.FUZZING]
    serial = [unit for unit in units if unit.category == Category.FUZZING]
    pool = ThreadPoolExecutor(max_workers=workers)
    futures = [pool.submit(unit.run, environment) for unit in pooled]
    fuzzed: list[Outcome] = []
    finished: set[int] = set()  # marked before finishing: one interrupted half-way is not finished twice
    interrupted = False
    try:
        for unit in serial:
            fuzzed.append(unit.run(environment))
        for index, future in enumerate(futures):
            finished.add(index)
            finish(future.result())
    except KeyboardInterrupt:
        interrupted = True
        _shutdown_ignoring_interrupts(pool, cancel_futures=True)
        for index, future in enumerate(futures):
            if index not in finished and future.done() and not future.cancelled() and future.exception() is None:
                finish(future.result())
    finally:
        _shutdown_ignoring_interrupts(pool, cancel_futures=False)
    for outcome in fuzzed:
        finish(outcome)
    return not interrupted


def reproduce_command(config: RunConfig) -> str:
    """The command that runs the same checks again with the same seed (keys come from the environment); the
    flags are spelt as the options table spells them."""

    def given(name: str, value: object) -> list[str]:
        return [BY_NAME[name].flag, str(value)]

    words = ["conformance", "run"]
    if not config.embedded:
        words += given("base_url", config.base_url)
    if config.profile:
        words += given("profile", config.profile)
    words += given("seed", config.seed) + given("max_examples", config.max_examples)
    if set(config.only) != set(Category):
        words += given("only", ",".join(config.only))
    for statement in config.decide:
        words += given("decide", statement)
    if config.shard != (1, 1):
        words += given("shard", f"{config.shard[0]}/{config.shard[1]}")
    command = " ".join(shlex.quote(word) for word in words)
    return redact(command if config.embedded else "CONFORMANCE_API_KEY=... " + command)


def run_suite(config: RunConfig, base_url: str, progress: Progress | None = None) -> RunResult:
    environment = Environment(config, base_url)
    ensure_reachable(environment)
    started, started_at = time.monotonic(), _now()
    results: list[CheckResult] = []
    exchanges: list[Exchange] = []
    redactor = PiiRedactor() if config.redact_pii else None

    today = datetime.now(UTC).date()

    def report(result: CheckResult) -> None:
        if config.known is not None:
            config.known.judge(result, today)
        results.append(redactor.result(result) if redactor else result)
        if progress:
            progress(result)

    def finish(outcome: Outcome) -> None:
        unit_results, client = outcome
        exchanges.extend(client.exchanges)
        for result in unit_results:
            report(result)

    units = plan(config, environment.spec)
    if not run_units(units, environment, config.workers, finish):
        interrupted = Finding(
            Status.ERROR, f"interrupted: {len(results)} of {len(units)} checks ran", title="run interrupted"
        )
        results.append(interrupted.result("run/interrupted", Category.SEMANTICS, None))
    if Category.VALIDATION in config.only:
        for result in validation_results(environment.validator, exchanges, list(environment.operations)):
            if result.check_id in config.expected_failures:
                result.expected_failure = True
            report(result)
    run = RunResult(
        target=_target_facts(config, base_url),
        spec_version=environment.spec["info"]["version"],
        seed=config.seed,
        started=started_at,
        duration=time.monotonic() - started,
        command=reproduce_command(config),
        results=results,
        requests=len(exchanges),
        decisions=decision_table(config.decisions, results),
        min_exercised=config.min_exercised or 0.0,
        operations=operations_table(environment.operations),
        baseline=config.known.summary(results) if config.known is not None else None,
        exchanges=exchanges,
    )
    return redactor.run(run) if redactor else run


def decision_table(stated: dict[str, Any], results: list[CheckResult]) -> dict[str, dict[str, Any]]:
    """Each decision: the target's stated choice (or any), and what the checks observed, by result id."""
    table: dict[str, dict[str, Any]] = {name: {"stated": value, "observed": {}} for name, value in stated.items()}
    for result in results:
        for name, value in result.observed.items():
            table.setdefault(name, {"stated": "any", "observed": {}})["observed"][result.check_id] = value
    return table


def _target_facts(config: RunConfig, base_url: str) -> dict[str, Any]:
    return {
        "base_url": base_url if not config.embedded else f"{base_url} (embedded reference server)",
        "stripe_version": config.stripe_version,
        "profile": str(config.profile) if config.profile else None,
        "api_key": redact(config.api_key or ""),
        "accounts": _accounts_fact(config),
    }


def _accounts_fact(config: RunConfig) -> str:
    if config.accounts:
        return f"a pool of {len(config.accounts)} leased from the profile (none created or closed)"
    if config.fixtures.get("can_create_accounts", True):
        return "created and closed by each check"
    return "none: the checks that need an account are not exercised"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unreachable_run(config: RunConfig, base_url: str, reason: str) -> RunResult:
    """The run of a target that did not answer its first request: one error, so that the reports say why."""
    unreachable = Finding(
        Status.ERROR, redact(reason), expectation="an HTTP answer to the first request", title="target reachable"
    )
    result = unreachable.result("run/target-unreachable", Category.SEMANTICS, None)
    run = RunResult(
        target=_target_facts(config, base_url),
        spec_version=load_spec()["info"]["version"],
        seed=config.seed,
        started=_now(),
        duration=0.0,
        command=reproduce_command(config),
        results=[result],
        requests=1,
        operations=operations_table(operations(load_spec())),
    )
    return PiiRedactor().run(run) if config.redact_pii else run


__all__ = ["CheckUnit", "TargetUnreachable", "run_suite", "unreachable_run"]
