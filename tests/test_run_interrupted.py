"""Ctrl-C on `conformance run`: it stops within seconds, without a traceback, and reports what ran.

The run is a real subprocess against the embedded reference server (a child process of the run, which
ignores SIGINT: the run alone decides when it ends, and the server answers until then).
SIGINT is sent once the first checks have reported (rather than after a fixed delay, which a loaded
machine could spend starting up). run_suite then lets the running checks finish, drops the queued
ones, adds a `run/interrupted` result, and console.py writes the reports and exits 130.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RESULT_MARKS = ("PASS ", "FAIL ", "ERROR ", "SKIP ")
EXIT_INTERRUPTED = 130
STARTUP_TIMEOUT = 60.0  # until the first checks report, on a loaded machine
EXIT_TIMEOUT = 30.0  # from SIGINT to exit: the running checks finish, the reports are written


class Run:
    """`python -m conformance run ...` with its output read line by line as it comes."""

    def __init__(self, *arguments: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "conformance", "run", *arguments], cwd=REPO, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"},
            # pytest-xdist workers ignore SIGINT and children inherit that, and Python keeps an ignored
            # SIGINT ignored: give the run the default disposition a terminal's Ctrl-C meets.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stdout: list[str] = []
        self.stderr = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:  # type: ignore[union-attr]
            self.lines.put(line)

    def wait_for_lines(self, count: int, starting: tuple[str, ...], timeout: float) -> None:
        """Until `count` lines starting so have come out."""
        deadline, seen = time.monotonic() + timeout, 0
        while seen < count:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"{seen} of {count} lines {starting} within {timeout:g} s:\n{''.join(self.stdout)}") from None
            self.stdout.append(line)
            seen += line.startswith(starting)

    def interrupt(self, timeout: float) -> tuple[int, float]:
        """SIGINT, as Ctrl-C sends it; the exit status and the seconds it took to exit."""
        sent = time.monotonic()
        self.process.send_signal(signal.SIGINT)
        try:
            status = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"still running {timeout:g} s after SIGINT:\n{''.join(self.stdout)}") from None
        elapsed = time.monotonic() - sent
        self._reader.join(timeout=5)
        while not self.lines.empty():
            self.stdout.append(self.lines.get())
        self.stderr = self.process.stderr.read()  # type: ignore[union-attr]
        return status, elapsed

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    @property
    def output(self) -> str:
        return "".join(self.stdout) + self.stderr


@pytest.fixture
def run_subprocess():
    started: list[Run] = []

    def start(*arguments: str) -> Run:
        started.append(Run(*arguments))
        return started[-1]

    yield start
    for run in started:
        run.kill()  # whatever happened in the test, no run outlives it


def test_sigint_mid_run_exits_130_and_reports_what_ran(tmp_path, run_subprocess):
    run = run_subprocess("--report-dir", str(tmp_path), "--only", "error-codes,semantics")
    run.wait_for_lines(5, RESULT_MARKS, STARTUP_TIMEOUT)
    status, elapsed = run.interrupt(EXIT_TIMEOUT)

    assert status == EXIT_INTERRUPTED, run.output
    assert "Traceback" not in run.output, run.output
    assert elapsed < EXIT_TIMEOUT
    runs = [path for path in tmp_path.iterdir() if path.name != "latest"]
    assert len(runs) == 1, sorted(path.name for path in tmp_path.iterdir())
    for name in ("results.json", "report.html", "junit.xml"):
        assert (runs[0] / name).stat().st_size > 0, name
        assert (tmp_path / "latest" / name).read_bytes() == (runs[0] / name).read_bytes()
    results = json.loads((runs[0] / "results.json").read_text())["results"]
    interrupted = [result for result in results if result["check_id"] == "run/interrupted"]
    assert len(interrupted) == 1 and interrupted[0]["status"] == "error", interrupted
    ran, planned = (int(word) for word in interrupted[0]["detail"].split(":")[1].split()[::2][:2])
    assert 5 <= ran < planned and ran == len(results) - 1, interrupted[0]["detail"]
    # Every check that ran is in the report with its own outcome; none was cut off half way.
    assert all(result["status"] in ("passed", "failed", "not exercised") for result in results if result["check_id"] != "run/interrupted"), \
        [(result["check_id"], result["status"], result.get("detail")) for result in results if result["status"] == "error"]
    assert "report.html" in run.output and str(runs[0]) in "".join(run.stdout).replace("\n", "")
    assert "run/interrupted" in (runs[0] / "report.html").read_text()


def test_sigint_before_any_check_exits_130_quietly(tmp_path, run_subprocess):
    """Interrupted while the embedded server starts or the run is planned: one line, exit 130, no report needed."""
    run = run_subprocess("--report-dir", str(tmp_path), "--only", "semantics")
    # "conformance: testing <url>": the imports are done, the embedded server is up, no check has reported yet.
    run.wait_for_lines(1, ("conformance: testing",), STARTUP_TIMEOUT)
    status, _ = run.interrupt(EXIT_TIMEOUT)
    assert status == EXIT_INTERRUPTED, run.output
    assert "Traceback" not in run.output, run.output
    # Either no check had run (one line on stderr) or some had, and their report was written.
    assert "conformance: interrupted before any check ran" in run.stderr or (tmp_path / "latest" / "results.json").exists(), run.output
