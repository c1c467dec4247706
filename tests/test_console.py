"""`conformance run` on a terminal (a live count, a table) and in a log (piped or CI=true: plain lines)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from rich.console import Console

from conformance.cli import main
from conformance.console import _summary, interactive
from conformance.engine.categories import Category
from conformance.engine.results import CheckResult, RunResult, Status
from conformance.reference.server import RunningServer, ServerOptions

KEY = "sk_test_reference_secret"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with RunningServer(ServerOptions()) as running:
        yield running.url


def test_a_log_gets_a_plain_line_per_result_and_a_plain_summary(
    server: str, tmp_path: object, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    status = main(["run", "--base-url", server, "--api-key", KEY, "--only", "v1-tokens", "--report-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0
    assert "PASS v1-tokens/person-token-round-trip/token-object" in out
    assert "v1-tokens: 2 passed, 0 failed, 0 not exercised, 0 error" in out and "CONFORMS: " in out
    assert not set("┏┃━│└") & set(out) and "\x1b[" not in out


def _run() -> RunResult:
    results = [CheckResult("semantics/a/b", Category.SEMANTICS, "t", Status.PASSED)]
    return RunResult({}, "v", 1, "2026-12-03T00:00:00Z", 1.0, "conformance run", results, requests=3)


def test_a_terminal_gets_a_table_unless_ci_says_it_is_a_log(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Console(file=io.StringIO(), force_terminal=True, width=100)
    monkeypatch.delenv("CI", raising=False)
    assert interactive(terminal) and not interactive(Console(file=io.StringIO()))
    monkeypatch.setenv("CI", "true")
    assert not interactive(terminal)
    _summary(terminal, _run(), live=True)
    table = terminal.file.getvalue()  # type: ignore[attr-defined]
    assert "┏" in table and "CONFORMS: 3 requests" in table
