"""The `conformance run` command: configuration, progress on the terminal, summary, exit status."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from conformance.engine.categories import Category
from conformance.engine.config import RunConfig, resolve_config
from conformance.engine.errors import KeyRefused, TargetUnreachable
from conformance.engine.options import ConfigError, Surface, on
from conformance.engine.results import CheckResult, RunResult, Status
from conformance.spec import SpecError
from conformance.targets import target

EXIT_CONFORMS, EXIT_FAILS, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
MARKS = {
    Status.PASSED: "[green]PASS[/]",
    Status.FAILED: "[red]FAIL[/]",
    Status.NOT_EXERCISED: "[yellow]SKIP[/]",
    Status.ERROR: "[magenta]ERROR[/]",
}


def interactive(console: Console) -> bool:
    """A person watching a terminal: a live count and a table. Piped, or under CI=true: plain lines a log keeps."""
    return console.is_terminal and os.environ.get("CI", "").strip().lower() not in ("1", "true", "yes")


def run_command(arguments: dict[str, Any]) -> int:
    console = Console(stderr=False, highlight=False)
    live = interactive(console)
    # One line per message, even in CI logs; no markup: messages quote what the target answered.
    errors = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)
    cli = {option.name: arguments.get(option.name) for option in on(Surface.CLI)}
    unreachable: TargetUnreachable | None = None
    try:
        config = resolve_config(cli)
        with target(config) as base_url:
            # The engine is imported once the target is chosen: an embedded server starts meanwhile (targets.py).
            from conformance.engine.runner import run_suite, unreachable_run

            console.print(
                f"conformance: testing {base_url}{' (embedded reference server)' if config.embedded else ''}",
                markup=False,
            )
            try:
                with _LiveCount(console, live, _planned(config)) as counter:
                    run = run_suite(config, base_url, progress=lambda result: _progress(console, result, counter))
            except TargetUnreachable as exc:  # still a run: its reports say what the first request got
                unreachable, run = exc, unreachable_run(config, base_url, str(exc))
    except (ConfigError, KeyRefused) as exc:
        errors.print(f"conformance: {exc}")
        return EXIT_USAGE
    except SpecError as exc:
        errors.print(f"conformance: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        errors.print("conformance: interrupted before any check ran")
        return EXIT_INTERRUPTED
    from conformance.report import write_reports

    directory = write_reports(run, config.report_dir)
    if unreachable is not None:
        errors.print(f"conformance: target unreachable: {printable(str(unreachable))}")
    else:
        _summary(console, run, live)
        _baseline(console, config, run)
    console.print(
        f"report: {directory / 'report.html'}\nresults: {directory / 'results.json'}  junit: {directory / 'junit.xml'}",
        soft_wrap=True,
        markup=False,
    )
    if unreachable is not None:
        return EXIT_UNREACHABLE
    if any(result.check_id == "run/interrupted" for result in run.results):
        return EXIT_INTERRUPTED
    return EXIT_CONFORMS if run.conforms else EXIT_FAILS


def report_command(results: str, output: str | None, previous: str | None) -> int:
    """Render the HTML report again from a saved results.json."""
    from pathlib import Path

    from conformance.report import write_report

    try:
        path = write_report(Path(results), Path(output) if output else None, Path(previous) if previous else None)
    except (OSError, ValueError, KeyError) as exc:
        Console(stderr=True, soft_wrap=True).print(f"conformance: cannot render {results}: {exc}")
        return EXIT_USAGE
    print(path)
    return EXIT_CONFORMS


def printable(text: str) -> str:
    """Text fit for a terminal: control characters (escape sequences of a hostile target) and lone
    surrogates shown as escapes, not sent to the terminal."""
    return "".join(
        character
        if character == "\n" or (character.isprintable() and not 0xD800 <= ord(character) <= 0xDFFF)
        else character.encode("unicode_escape", "backslashreplace").decode("ascii")
        for character in text
    )


def _planned(config: RunConfig) -> int:
    """How many results the run will report: those of its units, and one per operation for response validation."""
    from conformance.engine.plan import plan
    from conformance.spec import load_spec, operations

    units = plan(config)
    validated = len(operations(load_spec())) if Category.VALIDATION in config.only else 0
    return sum(len(unit.result_ids) for unit in units) + validated


class _LiveCount:
    """On a terminal, a transient line counting the results as they come (the failures print above it)."""

    def __init__(self, console: Console, live: bool, total: int) -> None:
        self._progress = (
            Progress(TextColumn("checks"), BarColumn(), MofNCompleteColumn(), console=console, transient=True)
            if live
            else None
        )
        self._task = self._progress.add_task("checks", total=total) if self._progress else None

    def __enter__(self) -> _LiveCount:
        if self._progress:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress:
            self._progress.stop()

    @property
    def live(self) -> bool:
        return self._progress is not None

    def advance(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)


def _progress(console: Console, result: CheckResult, counter: _LiveCount) -> None:
    counter.advance()
    if result.status != Status.PASSED or not counter.live:
        detail = f"  {printable(result.detail[:300])}" if result.status != Status.PASSED else ""
        expected = " (expected failure)" if result.expected_failure else ""
        expected += f" ({result.baseline} finding)" if result.baseline else ""
        console.print(
            f"{MARKS[result.status]} {escape(result.check_id)}{expected}{escape(detail)}", markup=True, soft_wrap=True
        )


def _baseline(console: Console, config: RunConfig, run: RunResult) -> None:
    """The findings against the baseline, and the baseline written again when asked."""
    if config.known is None or run.baseline is None:
        return
    summary = run.baseline
    console.print(
        f"baseline {config.known.path}: {summary['new']} new, {summary['known']} known, {summary['expired']} expired,"
        f" {len(summary['fixed'])} fixed since the baseline",
        markup=False,
        soft_wrap=True,
    )
    if any(result.check_id == "run/interrupted" for result in run.results):
        if config.baseline_update or config.baseline_prune:
            console.print("baseline not written: the run was interrupted", markup=False)
        return
    written = config.known.updated(run) if config.baseline_update else None
    if config.baseline_prune:
        written = config.known.pruned(run)
    if written is not None:
        try:
            written.write()
        except OSError as exc:
            console.print(f"conformance: cannot write the baseline {written.path}: {exc.strerror or exc}", markup=False)
            return
        console.print(f"baseline written: {written.path} ({len(written.entries)} findings)", markup=False)


def _summary(console: Console, run: RunResult, live: bool) -> None:
    by_category: dict[str, Counter[str]] = {}
    for result in run.results:
        by_category.setdefault(result.category.value, Counter())[result.status.value] += 1
    if not live:  # plain lines: a log keeps them as they are, and grep finds them
        for category, counts in [*by_category.items(), ("total", Counter(run.counts()))]:
            tally = ", ".join(f"{counts.get(status.value, 0)} {status.value}" for status in Status)
            console.print(f"{category}: {tally}", markup=False, highlight=False)
        console.print(f"{run.verdict.upper()}: {run.requests} requests in {run.duration:.1f} s", markup=False)
        return
    table = Table(title=f"{run.verdict.upper()}: {run.requests} requests in {run.duration:.1f} s")
    table.add_column("category")
    for status in Status:
        table.add_column(status.value, justify="right")
    for category, counts in by_category.items():
        table.add_row(category, *(str(counts.get(status.value, 0)) for status in Status))
    table.add_row("total", *(str(count) for count in run.counts().values()), style="bold")
    console.print(table)
