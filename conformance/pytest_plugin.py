"""Run the conformance checks as pytest items: `pytest --conformance` or `pytest --conformance-base-url URL ...`.

The plugin is loaded by the `pytest11` entry point in every pytest run of an environment where the
project is installed, so it stays inert (it only adds its options) unless `--conformance` or
`--conformance-base-url` is given; CONFORMANCE_* variables alone never activate it.

Collection: when active, a `ConformanceSuite` collector (node id `conformance`) is appended to what
the Session collects, and yields one `ConformanceCheck` per CheckUnit of `plan(config)`, named by its
check id (`conformance::semantics/token-is-single-use`). Being ordinary collected items, they go
through -k/-m/--deselect/--lf like any test, and every xdist worker collects the same list in
the same order (the plan is deterministic for a configuration).
"""

from __future__ import annotations

import os
import re
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from conformance.engine.options import Surface, on

if TYPE_CHECKING:  # the engine (schemathesis, openapi-core, ...) is imported only once the plugin is active
    from conformance.engine.config import RunConfig
    from conformance.engine.plan import CheckUnit, Environment
    from conformance.engine.results import CheckResult

PLUGIN_NAME = "conformance-run"
BODY_LIMIT = 600  # characters of a response body shown in a failure
EXCHANGES_SHOWN = 5  # last exchanges of a check shown in a failure (all with -vv)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "Stripe v2 Persons conformance checks")
    group.addoption(
        "--conformance",
        action="store_true",
        default=False,
        help="run the conformance checks (against the embedded reference server unless a base URL is given)",
    )
    for option in on(Surface.PYTEST):
        group.addoption(option.pytest_flag, dest=f"conformance_{option.name}", **option.argument())


def pytest_configure(config: pytest.Config) -> None:
    if not (config.getoption("conformance") or config.getoption("conformance_base_url")):
        return  # inert: the project's own test runs load this plugin too
    from conformance.engine.config import resolve_config
    from conformance.engine.options import ConfigError

    cli: dict[str, Any] = {option.name: config.getoption(f"conformance_{option.name}") for option in on(Surface.PYTEST)}
    try:
        run_config = resolve_config(cli, environ=dict(os.environ))
    except ConfigError as exc:
        raise pytest.UsageError(f"conformance: {_pytest_flags(str(exc))}") from None
    config.addinivalue_line("markers", "conformance: a check of the Stripe v2 Persons conformance suite")
    config.pluginmanager.register(ConformancePlugin(run_config), PLUGIN_NAME)


def _pytest_flags(message: str) -> str:
    """ConfigError speaks of `conformance run`'s flags (--base-url); name this plugin's instead."""
    names = "|".join(re.escape(option.flag.removeprefix("--")) for option in on(Surface.PYTEST))
    return re.sub(rf"--({names})\b", r"--conformance-\1", message)


class ConformancePlugin:
    """Per-process state of an active run: the configuration, the target and the shared Environment."""

    def __init__(self, run_config: RunConfig) -> None:
        self.run_config = run_config
        self._stack = ExitStack()  # keeps the embedded server running until the process unconfigures
        self._environment: Environment | None = None
        self._results: dict[str, list[CheckResult]] = {}  # unit id -> its results, for the items of its assertions

    def results_of(self, unit: CheckUnit) -> list[CheckResult]:
        """A unit's results: it runs once per process, for the first of its items, and serves the others."""
        if unit.check_id not in self._results:
            self._results[unit.check_id], _client = unit.run(self.environment())
            if self.run_config.known is not None:
                today = datetime.now(UTC).date()
                for result in self._results[unit.check_id]:
                    self.run_config.known.judge(result, today)
        return self._results[unit.check_id]

    def scrub(self, text: str) -> str:
        """Keys out of a text: the usual sk_/pk_/rk_ masking, and the configured keys whatever their form."""
        from conformance.engine.client import redact

        text = redact(text)
        for key in (self.run_config.api_key, self.run_config.publishable_key):
            if key:
                text = text.replace(key, "***")
        return text

    def environment(self) -> Environment:
        """The target (embedded server started once per process) and its Environment; checked reachable once."""
        from conformance.engine.errors import KeyRefused, TargetUnreachable
        from conformance.engine.plan import Environment
        from conformance.engine.runner import ensure_reachable
        from conformance.targets import target

        if self._environment is None:
            try:
                base_url = self._stack.enter_context(target(self.run_config))
                environment = Environment(self.run_config, base_url)
                ensure_reachable(environment)
            except (TargetUnreachable, RuntimeError, OSError) as exc:
                self._stack.close()
                raise pytest.UsageError(self.scrub(f"conformance: the target is not reachable: {exc}")) from None
            except KeyRefused as exc:
                self._stack.close()
                raise pytest.UsageError(self.scrub(f"conformance: {exc}")) from None
            self._environment = environment
        return self._environment

    @pytest.hookimpl(tryfirst=True)  # before xdist spawns its workers: one clear error instead of one per worker
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        config = session.config
        if config.option.collectonly:
            return
        xdist_controller = config.pluginmanager.has_plugin("dsession") and not hasattr(config, "workerinput")
        if xdist_controller and self.run_config.embedded:
            return  # each worker starts its own reference server
        self.environment()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self._stack.close()

    def pytest_report_header(self, config: pytest.Config) -> str:
        if self._environment is not None:
            where = self._environment.base_url + (" (embedded reference server)" if self.run_config.embedded else "")
        else:
            where = "embedded reference server" if self.run_config.embedded else str(self.run_config.base_url)
        return self.scrub(
            f"conformance: target {where}, Stripe-Version {self.run_config.stripe_version}, "
            f"seed {self.run_config.seed}, categories {','.join(self.run_config.only)}"
        )

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) -> Any:
        report = yield
        if isinstance(collector, pytest.Session) and report.passed:
            report.result.append(ConformanceSuite.from_parent(collector, name="conformance", nodeid="conformance"))
        return report


class ConformanceSuite(pytest.Collector):
    """The synthetic collector of the checks; never bound to a file."""

    def collect(self) -> list[pytest.Item]:
        from conformance.engine.plan import plan

        plugin: ConformancePlugin = self.config.pluginmanager.get_plugin(PLUGIN_NAME)  # type: ignore[assignment]
        return [
            ConformanceCheck.from_parent(self, name=result_id, unit=unit)
            for unit in plan(plugin.run_config)
            for result_id in unit.result_ids
        ]


class CheckFailure(Exception):
    """A check that failed or could not reach its verdict; repr_failure prints its report, not a traceback."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.detail)
        self.result = result


class ConformanceCheck(pytest.Item):
    def __init__(self, *, unit: CheckUnit, **kwargs: Any) -> None:
        from conformance.engine.categories import Category

        super().__init__(**kwargs)
        self.unit = unit
        self.add_marker(pytest.mark.conformance)
        # `--dist loadgroup` keeps the items of one check on one worker, so that it runs once.
        self.add_marker(pytest.mark.xdist_group(unit.check_id))
        # Carried into --junitxml as <properties>.
        self.user_properties.append(("category", unit.category.value))
        if unit.operation_id:
            self.user_properties.append(("operation", unit.operation_id))
        if unit.category == Category.ERROR_CODES:
            self.user_properties.append(("code", unit.check_id.rsplit("/", 1)[-1]))

    @property
    def plugin(self) -> ConformancePlugin:
        plugin: ConformancePlugin = self.config.pluginmanager.get_plugin(PLUGIN_NAME)  # type: ignore[assignment]
        return plugin

    def runtest(self) -> None:
        from conformance.engine.results import Standing, Status

        run_config = self.plugin.run_config
        result = next(result for result in self.plugin.results_of(self.unit) if result.check_id == self.name)
        if run_config.redact_pii:
            from conformance.engine.pii import PiiRedactor

            PiiRedactor().result(result)
        failed = result.status in (Status.FAILED, Status.ERROR)
        if result.status == Status.NOT_EXERCISED:
            pytest.skip(self.plugin.scrub(result.detail or "not exercised"))
        if result.baseline == Standing.KNOWN:
            pytest.xfail(self.plugin.scrub(f"known finding (baseline {run_config.baseline}): {result.detail[:300]}"))
        if result.expected_failure:
            if failed:
                expected = run_config.expected_failures
                reason = expected.get(result.check_id) or expected.get(result.check_id.rsplit("/", 1)[0])
                pytest.xfail(self.plugin.scrub(reason or "listed in expected_failures"))
            pytest.fail(f"{result.check_id} unexpectedly passed: remove it from expected_failures", pytrace=False)
        if failed:
            raise CheckFailure(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CheckFailure):
            return self.plugin.scrub("\n".join(self._report(excinfo.value.result)))
        # Anything else (a bug, a transport error): the usual traceback, rendered to text so that keys
        # held in locals (--showlocals) are scrubbed too.
        return self.plugin.scrub(str(super().repr_failure(excinfo, style=style)))

    def _report(self, result: CheckResult) -> list[str]:
        from conformance.engine.results import Status

        # The first line is what the short test summary (-r) shows.
        if result.status == Status.ERROR:
            lines = [f"ERROR, the check could not reach its verdict: {result.detail}"]
            lines += [f"  expected: {result.expectation}"] if result.expectation else []
        else:
            lines = [f"expected {result.expectation}; {result.detail}" if result.expectation else result.detail]
        if result.spec_location:
            lines.append(f"  spec:     {result.spec_location}")
        exchanges = result.exchanges if self.config.get_verbosity() >= 2 else result.exchanges[-EXCHANGES_SHOWN:]
        if len(exchanges) < len(result.exchanges):
            lines.append(f"  ({len(result.exchanges) - len(exchanges)} earlier exchanges not shown; -vv shows all)")
        for number, exchange in enumerate(exchanges, start=len(result.exchanges) - len(exchanges) + 1):
            body = exchange.response_text
            shown = body[:BODY_LIMIT] + (f"... ({len(body)} characters)" if len(body) > BODY_LIMIT else "")
            answer = f"{exchange.status} {shown}" if exchange.status is not None else f"no response: {exchange.error}"
            lines += [
                f"  exchange {number} of {len(result.exchanges)}:",
                f"    {exchange.curl()}",
                f"    -> {answer}",
            ]
        return lines

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, self.name
