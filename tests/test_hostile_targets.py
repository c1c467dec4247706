"""The suite against hostile targets: a classified result and the right exit code, within the timeouts."""

from __future__ import annotations

import time

import pytest

from conformance.cli import main

from .hostile import BEHAVIOURS, HostileServer, closed_port

PLANTED_KEY = "sk_test_PLANTEDhostile0123456789"
# The first request gets no usable HTTP answer: the target counts as unreachable (exit 3).
UNREACHABLE = {"never answers", "closes mid-response", "wrong content-length", "drips bytes"}


@pytest.mark.parametrize("behaviour", sorted(BEHAVIOURS))
def test_hostile_target_gets_a_classified_result(behaviour, tmp_path, capsys):
    with HostileServer(behaviour) as url:
        started = time.monotonic()
        code = main(["run", "--base-url", url, "--api-key", PLANTED_KEY, "--timeout", "2", "--max-examples", "2",
                     "--only", "semantics", "--report-dir", str(tmp_path)])
        elapsed = time.monotonic() - started
    output = capsys.readouterr()
    assert code == (3 if behaviour in UNREACHABLE else 1), output
    assert "Traceback" not in output.out + output.err
    assert elapsed < 90, f"{behaviour} took {elapsed:.0f} s"
    if code == 3:
        assert "target unreachable" in output.err
    else:
        results = next(tmp_path.glob("*/results.json")).read_text()
        assert '"status": "passed"' not in results or behaviour == "200 for everything"
        assert '"status": "error"' in results or '"status": "failed"' in results
    for text in (output.out, output.err, *(path.read_text(errors="replace") for path in tmp_path.rglob("*") if path.is_file())):
        assert PLANTED_KEY not in text


def test_target_down_at_start_exits_3(capsys, tmp_path):
    code = main(["run", "--base-url", f"http://127.0.0.1:{closed_port()}", "--api-key", PLANTED_KEY, "--report-dir", str(tmp_path)])
    output = capsys.readouterr()
    assert code == 3
    assert "target unreachable" in output.err and "Connect" in output.err
    assert PLANTED_KEY not in output.out + output.err


def test_target_that_dies_mid_run_gets_errors_not_a_hang(tmp_path):
    """The server goes away after the run started: the remaining checks end as errors, quickly."""
    import threading

    from conformance.engine.config import resolve_config
    from conformance.engine.results import Status
    from conformance.engine.runner import run_suite
    from tests.mutants import reference_target
    from conformance.reference.server import RunningServer

    server = RunningServer().start()
    config = resolve_config({"base_url": server.url, "api_key": "sk_test_reference_secret", "only": "error-codes,semantics",
                             "timeout": "2", "report_dir": str(tmp_path)}, environ={})
    reference_target(config)
    reported: list[object] = []

    def stop_after_some(result: object) -> None:  # mid-run by the results seen, not by a clock
        reported.append(result)
        if len(reported) == 20:
            threading.Thread(target=server.stop).start()

    started = time.monotonic()
    run = run_suite(config, server.url, progress=stop_after_some)
    assert time.monotonic() - started < 60
    counts = run.counts()
    assert counts[Status.PASSED.value] > 0 and counts[Status.ERROR.value] > 0, counts
    assert any("stopped answering" in result.detail for result in run.results)
