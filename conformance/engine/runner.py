"""Run the suite against one target and write its results."""

from __future__ import annotations

import shlex
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from conformance.engine.client import ApiClient, redact
from conformance.engine.config import RunConfig
from conformance.engine.fuzzing import fuzz_operation, load_schema
from conformance.engine.results import Category, CheckResult, RunResult, Status, write_json, write_junit
from conformance.engine.scenarios import run_code_scenario
from conformance.engine.semantics import CHECKS, CheckFailed
from conformance.engine.triggers import SetupFailed, Workbench
from conformance.engine.validation import ResponseValidator
from conformance.spec import load_spec, operations

Progress = Callable[[CheckResult], None]


class TargetUnreachable(Exception):
    """The target did not answer the first request."""


@contextmanager
def target(config: RunConfig) -> Iterator[str]:
    """The base URL to test: the given one, or an embedded reference server started for the run."""
    if not config.embedded:
        yield config.base_url  # type: ignore[misc]
        return
    from conformance.reference.server import RunningServer, ServerOptions
    from conformance.reference.service import Settings

    lifetime = float(config.fixtures.get("token_lifetime_seconds", 600))
    with RunningServer(ServerOptions(settings=Settings(token_lifetime=lifetime))) as server:
        yield server.url


def _semantic(bench: Workbench, check_id: str, category: Category, check: Callable[[Workbench], None]) -> CheckResult:
    result = CheckResult(check_id=check_id, category=category, title=check.__name__.replace("_", " "), status=Status.PASSED,
                         expectation=(check.__doc__ or "").strip())
    started, first = time.monotonic(), len(bench.client.exchanges)
    try:
        check(bench)
    except CheckFailed as exc:
        result.status, result.expectation, result.detail = Status.FAILED, exc.expectation, exc.seen
    except SetupFailed as exc:
        result.status, result.detail = Status.ERROR, str(exc)
    result.exchanges = [exchange.to_dict() for exchange in bench.client.exchanges[first:]]
    result.duration = time.monotonic() - started
    return result


def _validation_results(client: ApiClient, validator: ResponseValidator, operation_ids: list[str]) -> list[CheckResult]:
    """One result per operation: every response the run received for it, validated by openapi-core."""
    results = []
    for operation_id in operation_ids:
        exchanges = [exchange for exchange in client.exchanges if exchange.operation_id == operation_id]
        invalid = [(exchange, problems) for exchange in exchanges if exchange.status is not None and (problems := validator.problems(exchange))]
        result = CheckResult(
            check_id=f"response-validation/{operation_id}", category=Category.VALIDATION, title=f"responses of {operation_id} valid against the spec",
            status=Status.PASSED if exchanges else Status.NOT_EXERCISED, operation_id=operation_id,
            expectation="every response has a documented status and a body and headers valid for it (openapi-core)",
            detail=f"{len(exchanges)} responses validated" if exchanges else "no response received for this operation",
        )
        if invalid:
            result.status = Status.FAILED
            result.detail = f"{len(invalid)} of {len(exchanges)} responses invalid: " + " | ".join(f"{e.method} {e.url.split('?')[0]} -> {e.status}: {p[0]}" for e, p in invalid[:5])
            result.exchanges = [exchange.to_dict() for exchange, _ in invalid[:5]]
        results.append(result)
    return results


def run_suite(config: RunConfig, base_url: str, progress: Progress | None = None) -> RunResult:
    spec = load_spec()
    ops = operations(spec)
    validator = ResponseValidator(spec)
    client = ApiClient(base_url, config.api_key or "", stripe_version=config.stripe_version, timeout=config.timeout, pace=config.pace)
    bench = Workbench(client, config.fixtures)
    started, results = time.monotonic(), []
    started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def record(result: CheckResult) -> None:
        if result.check_id in config.expected_failures:
            result.expected_failure = True
        results.append(result)
        if progress:
            progress(result)

    try:
        first = client.request("GET", "/v2/core/accounts/conformance_reachability/persons")
        if first.status is None:
            raise TargetUnreachable(f"{base_url} did not answer: {first.error}")
        if "error-codes" in config.only:
            for operation in ops.values():
                for code in operation.errors:
                    record(run_code_scenario(bench, validator, operation, code))
        for check_id, (category, check) in CHECKS.items():
            if check_id.split("/")[0] in config.only:
                record(_semantic(bench, check_id, category, check))
        if "fuzzing" in config.only:
            schema = load_schema(spec)
            account_id = bench.account()
            for index, operation in enumerate(ops.values()):
                record(fuzz_operation(bench, validator, schema, operation, account_id, max_examples=config.max_examples, seed_value=config.seed + index))
        if "validation" in config.only:
            for result in _validation_results(client, validator, list(ops)):
                record(result)
    finally:
        bench.cleanup()
        client.close()
    return RunResult(
        target={"base_url": base_url if not config.embedded else f"{base_url} (embedded reference server)", "stripe_version": config.stripe_version,
                "profile": str(config.profile) if config.profile else None, "api_key": redact(config.api_key or "")},
        spec_version=spec["info"]["version"], seed=config.seed, started=started_at, duration=time.monotonic() - started,
        command=redact(" ".join(shlex.quote(arg) for arg in ["conformance", *sys.argv[1:]])), results=results, requests=len(client.exchanges),
    )


def write_reports(run: RunResult, report_dir: Path) -> Path:
    """reports/<run>/results.json and junit.xml, and reports/latest as a copy of the newest run."""
    name = run.started.replace(":", "").replace("-", "") + f"-seed{run.seed}"
    directory = report_dir / name
    directory.mkdir(parents=True, exist_ok=True)
    write_json(run, directory / "results.json")
    write_junit(run, directory / "junit.xml")
    latest = report_dir / "latest"
    if latest.is_symlink() or latest.is_file():
        latest.unlink()
    elif latest.is_dir():
        shutil.rmtree(latest)
    shutil.copytree(directory, latest)
    return directory
