"""The engine never cries wolf: against the clean reference server every check passes, and the
`conformance run` command exits with the documented codes (0 conforms, 2 usage, 3 unreachable)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

from conformance.cli import main
from conformance.engine.config import resolve_config
from conformance.engine.options import Surface, on
from conformance.engine.results import RunResult, Status
from conformance.engine.runner import run_suite
from conformance.report import write_reports
from conformance.targets import target
from conformance.spec import load_spec, operations


@pytest.fixture(autouse=True)
def _no_conformance_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads CONFORMANCE_*; the tests must not depend on the caller's environment."""
    for variable in (option.variable for option in on(Surface.ENVIRONMENT)):
        monkeypatch.delenv(variable, raising=False)


def _not_passed(run: RunResult) -> str:
    return "\n".join(f"{result.status}: {result.check_id}: {result.detail}" for result in run.results if result.status != Status.PASSED)


# --------------------------------------------------------------------------------- no false alarms


def test_every_check_passes_on_the_reference_server(tmp_path: Path) -> None:
    config = resolve_config({"only": "error-codes,semantics,v1-tokens,validation", "report_dir": str(tmp_path), "workers": 4}, environ={})
    with target(config) as url:
        run = run_suite(config, url)

    counts = run.counts()
    assert counts[Status.FAILED] == 0 and counts[Status.ERROR] == 0, f"false alarms on the reference server:\n{_not_passed(run)}"
    assert counts[Status.NOT_EXERCISED] == 0, f"checks not exercised on the reference server:\n{_not_passed(run)}"
    by_id = {result.check_id: result for result in run.results}
    documented = [f"error-code/{operation.operation_id}/{code}" for operation in operations(load_spec()).values() for code in operation.errors]
    assert documented and all(by_id.get(check_id) and by_id[check_id].status == Status.PASSED for check_id in documented), (
        f"error codes without a passed check: {[check_id for check_id in documented if check_id not in by_id or by_id[check_id].status != Status.PASSED]}"
    )
    assert all(by_id[f"response-validation/{operation_id}"].status == Status.PASSED for operation_id in operations(load_spec()))
    assert run.conforms

    directory = write_reports(run, config.report_dir)
    results = json.loads((directory / "results.json").read_text(encoding="utf-8"))
    assert results["verdict"] == "conforms"
    assert results["counts"]["failed"] == 0 and results["counts"]["error"] == 0
    assert len(results["results"]) == len(run.results)
    junit = ElementTree.parse(directory / "junit.xml").getroot()
    assert junit.tag == "testsuites" and int(junit.get("tests", "0")) == len(run.results)
    assert all(suite.get("failures") == "0" and suite.get("errors") == "0" for suite in junit.iter("testsuite"))
    assert (tmp_path / "latest" / "results.json").is_file() and (tmp_path / "latest" / "junit.xml").is_file()


def test_fuzzing_finds_nothing_on_the_reference_server(tmp_path: Path) -> None:
    config = resolve_config({"only": "fuzzing", "report_dir": str(tmp_path), "max_examples": 10}, environ={})
    with target(config) as url:
        run = run_suite(config, url)
    assert run.results and run.counts()[Status.PASSED] == len(run.results), f"false alarms of fuzzing:\n{_not_passed(run)}"


# --------------------------------------------------------------------------------- exit codes


def _closed_port() -> tuple[socket.socket, int]:
    """A bound but not listening port: connections to it are refused at once."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    return holder, holder.getsockname()[1]


def _live_key() -> str:
    return "_".join(["sk", "live", "conformance" + "x" * 12])  # built at run time: no live key in the sources


def test_cli_exits_0_on_the_reference_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--only", "semantics", "--report-dir", str(tmp_path)]) == 0, capsys.readouterr().out
    assert (tmp_path / "latest" / "results.json").is_file()
    assert json.loads((tmp_path / "latest" / "results.json").read_text())["verdict"] == "conforms"


def _usage_cases(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    not_yaml = tmp_path / "not-yaml.yaml"
    not_yaml.write_text("base_url: [http://127.0.0.1:12111\napi_key: {sk_test_x\n", encoding="utf-8")
    return {
        "bad-shard": (["--shard", "3/2"], "--shard takes i/n"),
        "bad-only": (["--only", "nonsense"], "--only takes"),
        "missing-profile": (["--profile", str(tmp_path / "missing.yaml")], "cannot read the profile"),
        "profile-not-yaml": (["--profile", str(not_yaml)], "is not valid YAML"),
        "ftp-base-url": (["--base-url", "ftp://x"], "--base-url must be an http(s) URL"),
        "base-url-without-key": (["--base-url", "http://127.0.0.1:1"], "an API key is needed"),
    }




USAGE_CASES = ["bad-shard", "bad-only", "missing-profile", "profile-not-yaml", "ftp-base-url", "base-url-without-key"]


@pytest.mark.parametrize("case", USAGE_CASES)
def test_cli_exits_2_on_usage_errors(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    arguments, says = _usage_cases(tmp_path)[case]
    assert main(["run", "--report-dir", str(tmp_path / "reports"), *arguments]) == 2
    captured = capsys.readouterr()
    message = " ".join(captured.err.split())  # as a user reads it, whatever the wrapping
    assert message.startswith("conformance: ") and says in message, captured.err
    assert "Traceback" not in captured.err
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("case", [*USAGE_CASES, "live-key"])
def test_cli_usage_messages_are_one_line(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # what rich assumes when stderr is not a terminal
    arguments = ["--base-url", "http://example.invalid", "--api-key", _live_key()] if case == "live-key" else _usage_cases(tmp_path)[case][0]
    assert main(["run", *arguments]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines


def test_cli_exits_3_when_the_target_is_unreachable(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    holder, port = _closed_port()
    try:
        code = main(["run", "--base-url", f"http://127.0.0.1:{port}", "--api-key", "sk_test_x", "--only", "semantics", "--report-dir", str(tmp_path)])
    finally:
        holder.close()
    assert code == 3
    message = " ".join(capsys.readouterr().err.split())
    assert "target unreachable" in message and str(port) in message


def test_cli_refuses_a_live_key_against_a_remote_target_before_any_request(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    attempts: list[Any] = []

    def no_request(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise AssertionError("a request was attempted before the live-mode refusal")

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", no_request)
    monkeypatch.setattr(socket, "getaddrinfo", no_request)
    monkeypatch.setattr(socket, "create_connection", no_request)
    key = _live_key()
    assert main(["run", "--base-url", "http://example.invalid", "--api-key", key, "--report-dir", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    message = " ".join(captured.err.split())
    assert "refusing a live-mode key against a non-loopback target" in message and "--allow-live" in message, captured.err
    assert key not in captured.err + captured.out
    assert attempts == []
    assert not any(tmp_path.iterdir())
