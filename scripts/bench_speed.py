"""Speed, side by side in one run: the reference server against Prism, the gate against plain schemathesis,
and fuzzing depth per second.

    python scripts/bench_speed.py                       # everything, 5 s per server level
    python scripts/bench_speed.py --only servers --seconds 10 --concurrency 1 4 16
    python scripts/bench_speed.py --write docs/benchmarks.md

Servers run as subprocesses pinned to CPU 0 and the client to CPU 1 (where the machine has two), so
that neither shares the other's interpreter or core. The client is the standard library's
http.client (one keep-alive connection per thread): httpx costs more per request than the reference
server now does and would measure itself. Each level starts after a warm-up (Node's JIT and Python's
caches both need one). Prism (`@stoplight/prism-cli`, from npm) is skipped with a message where it is
missing; set PRISM to its executable or install it in /tmp/prism. Loopback only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import plain_schemathesis  # noqa: E402
from conformance.reference.server import free_port  # noqa: E402
from conformance.spec import load_spec, operations  # noqa: E402
from conformance.spec.catalog import api_version  # noqa: E402

SPEC = REPO / "spec" / "openapi.yaml"
KEY = "sk_test_reference_secret"
VERSION = api_version(load_spec())
HEADERS = {
    "Authorization": f"Bearer {KEY}",
    "Stripe-Version": VERSION,
    "Content-Type": "application/json",
}
FIXED_ACCOUNT = "acct_1Nv0FGQ9RKHgCVdK"  # for targets that create no accounts (Prism, the null app)
TWO_CORES = (os.cpu_count() or 1) >= 2 and hasattr(os, "sched_setaffinity")
SERVER_CPU, CLIENT_CPU = {0}, {1}


def prism_executable() -> str | None:
    candidates = [os.environ.get("PRISM"), shutil.which("prism"), "/tmp/prism/node_modules/.bin/prism"]
    return next((path for path in candidates if path and Path(path).exists()), None)


@contextmanager
def served(command: list[str], port: int, log: Path) -> Iterator[str]:
    """A server subprocess on CPU 0, until it answers on `port`."""
    pin = (lambda: os.sched_setaffinity(0, SERVER_CPU)) if TWO_CORES else None
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=REPO, stdout=output, stderr=subprocess.STDOUT, preexec_fn=pin)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited with {process.returncode}: {log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{' '.join(command)} did not listen on {port} within 60 s") from None
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def reference(port: int, database: str | None = None) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "conformance",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--token-lifetime",
        "1",
    ]
    return command + (["--database", database] if database else [])


# ----------------------------------------------------------------------------- server throughput


@dataclass
class Level:
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)] * 1000 if ordered else float("nan")


class Connection:
    def __init__(self, address: str) -> None:
        host, port = address.rsplit(":", 1)
        self.http = http.client.HTTPConnection(host, int(port), timeout=30)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        self.http.request(method, path, body=json.dumps(body) if body is not None else None, headers=HEADERS)
        response = self.http.getresponse()
        return response.status, json.loads(response.read() or b"null")


class Start:
    """Every client thread opens its connection (and its account) first; the clock starts when all are ready."""

    def __init__(self, threads: int, seconds: float) -> None:
        self.barrier = threading.Barrier(threads + 1, action=self._set_deadline)
        self.seconds, self.deadline, self.began = seconds, 0.0, 0.0

    def _set_deadline(self) -> None:
        self.began = time.perf_counter()
        self.deadline = self.began + self.seconds


def pairs(address: str, account: str | None, start: Start, level: Level, lock: threading.Lock) -> None:
    """create_person then retrieve_person until the deadline, on an account of this thread's own."""
    connection, mine, failures = Connection(address), [], 0
    if account is None:
        account = connection.call("POST", "/v2/core/accounts", {"identity": {"country": "us"}})[1]["id"]
    persons = f"/v2/core/accounts/{account}/persons"
    person = {"given_name": "Bench", "surname": "Person", "email": "b@example.com"}
    start.barrier.wait(60)
    while time.perf_counter() < start.deadline:
        began = time.perf_counter()
        status, created = connection.call("POST", persons, person)
        mine.append(time.perf_counter() - began)
        if status != 200:
            failures += 1
            continue
        began = time.perf_counter()
        status, _ = connection.call("GET", f"{persons}/{created['id']}")
        mine.append(time.perf_counter() - began)
        failures += status != 200
    with lock:
        level.latencies += mine
        level.failures += failures


def run_level(address: str, account: str | None, concurrency: int, seconds: float) -> Level:
    level, lock, start = Level(), threading.Lock(), Start(concurrency, seconds)
    threads = [threading.Thread(target=pairs, args=(address, account, start, level, lock)) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    start.barrier.wait(60)
    for thread in threads:
        thread.join()
    level.elapsed = time.perf_counter() - start.began
    return level


# The floor under any starlette + uvicorn server: the same stack as the reference server (httptools,
# TCP_NODELAY, no access log) answering every request with a fixed person and doing nothing else.
NULL_APP = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
from conformance.reference.server import listening_socket
PERSON = b'{"id": "person_1", "object": "v2.core.account_person"}'
async def answer(request):
    await request.body()
    return Response(PERSON, media_type="application/json")
app = Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])
config = uvicorn.Config(app, http="httptools", lifespan="off", log_level="warning", access_log=False)
uvicorn.Server(config).run(sockets=[listening_socket("127.0.0.1", int(sys.argv[1]))])
"""


def servers(args: argparse.Namespace, work: Path) -> list[str]:
    targets: list[tuple[str, list[str], int, str | None]] = []
    port = free_port()
    name = "null starlette + uvicorn app (fixed answer: the stack's own cost)"
    targets.append((name, [sys.executable, "-c", NULL_APP, str(port)], port, FIXED_ACCOUNT))
    port = free_port()
    targets.append(("reference server, in memory", reference(port), port, None))
    port = free_port()
    targets.append(
        (
            "reference server, --database FILE (WAL, synchronous=FULL)",
            reference(port, str(work / "bench.db")),
            port,
            None,
        )
    )
    prism = prism_executable()
    if prism:
        port = free_port()
        targets.append(
            (
                f"Prism ({prism_version(prism)}) mock",
                [prism, "mock", str(SPEC), "-h", "127.0.0.1", "-p", str(port)],
                port,
                FIXED_ACCOUNT,
            )
        )
    else:
        print("Prism skipped: no `prism` on PATH, in $PRISM or in /tmp/prism (npm install @stoplight/prism-cli)")
    lines = [
        "| target | " + " | ".join(f"c={level} req/s (p50 / p99 ms)" for level in args.concurrency) + " |",
        "|---|" + "---|" * len(args.concurrency),
    ]
    rates: dict[str, dict[int, float]] = {}
    for name, command, port, account in targets:
        with served(command, port, work / f"server-{port}.log") as address:
            run_level(address, account, 1, args.warmup)  # warm-up, not counted
            cells = []
            for concurrency in args.concurrency:
                level = run_level(address, account, concurrency, args.seconds)
                rates.setdefault(name, {})[concurrency] = level.rate
                failed = f", {level.failures} failed" if level.failures else ""
                cells.append(f"{level.rate:,.0f} ({level.percentile(0.5):.2f} / {level.percentile(0.99):.2f}){failed}")
                print(f"{name}: concurrency {concurrency}: {cells[-1]}", flush=True)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    memory = rates["reference server, in memory"]
    for name, by_level in rates.items():
        if name != "reference server, in memory":
            ratios = ", ".join(f"c={level}: {memory[level] / rate:.2f}x" for level, rate in by_level.items() if rate)
            lines += ["", f"Reference server (in memory) / {name}: {ratios}."]
    return lines


def prism_version(prism: str) -> str:
    try:
        return subprocess.run([prism, "--version"], capture_output=True, text=True, timeout=60).stdout.strip() or "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


# ----------------------------------------------------------------------------- the gate and fuzzing


def conformance_run(args: list[str], work: Path) -> dict[str, Any]:
    """`conformance run ARGS`, its wall time and its results.json."""
    reports = Path(tempfile.mkdtemp(dir=work))
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--report-dir", str(reports), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    wall = time.monotonic() - started
    results = next(reports.rglob("results.json"), None)
    if results is None:
        raise RuntimeError(
            f"conformance run {' '.join(args)} wrote no results (exit {done.returncode}): {done.stderr[-2000:]}"
        )
    return {"wall": wall, "exit": done.returncode, **json.loads(results.read_text())}


def schemathesis_run(address: str, max_examples: int, work: Path, *extra: str) -> dict[str, Any]:
    """Plain `schemathesis run --checks all` on the spec, with the headers and an account it needs; requests
    counted from its HAR file."""
    connection = Connection(address)
    account = connection.call("POST", "/v2/core/accounts", {"identity": {"country": "us"}})[1]["id"]
    directory = Path(tempfile.mkdtemp(dir=work))
    har = directory / "exchanges.har"
    options = ["--max-examples", str(max_examples), "--report", "har", "--report-har-path", str(har), *extra]
    command = plain_schemathesis.command(f"http://{address}", KEY, VERSION, account, directory, *options)
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, cwd=directory, check=False)
    wall = time.monotonic() - started
    if not har.exists():
        raise RuntimeError(f"schemathesis wrote no HAR file (exit {done.returncode}): {done.stdout[-2000:]}")
    requests = len(json.loads(har.read_text())["log"]["entries"])
    return {"wall": wall, "exit": done.returncode, "requests": requests}


def row(name: str, setting: int, run: dict[str, Any], last: object) -> str:
    rate = run["requests"] / run["wall"]
    return f"| {name} | {setting} | {run['wall']:.1f} | {run['requests']} | {rate:.0f} | {last} |"


def by_category(results: list[dict[str, Any]]) -> str:
    """The checks' own durations summed per category, longest first (they overlap when workers run at once)."""
    seconds: dict[str, float] = {}
    for result in results:
        seconds[result["category"]] = seconds.get(result["category"], 0.0) + result["duration"]
    return ", ".join(f"{name} {total:.1f}" for name, total in sorted(seconds.items(), key=lambda item: -item[1]))


def gate(args: argparse.Namespace, work: Path) -> list[str]:
    lines = [
        "| run | workers | wall (s) | requests | requests/s | gating failures | checks' time by category (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for workers in args.workers:
        run = conformance_run(["--workers", str(workers)], work)
        failing = sum(
            result["status"] in ("failed", "error") and not result["expected_failure"] for result in run["results"]
        )
        name = "`conformance run` (embedded server, every category)"
        lines.append(row(name, workers, run, f"{failing} | {by_category(run['results'])}"))
        print(lines[-1], flush=True)
    port = free_port()
    with served(reference(port), port, work / "gate-server.log") as address:
        plain = schemathesis_run(address, 25, work)
    name = "plain `schemathesis run --checks all` (same spec, a `conformance serve`, 25 examples)"
    lines.append(row(name, 1, plain, f"exit {plain['exit']} | -"))
    print(lines[-1], flush=True)
    return lines


def fuzzing(args: argparse.Namespace, work: Path) -> list[str]:
    count = len(operations(load_spec()))
    lines = [
        "| fuzzing-only run | max examples | wall (s) | requests | requests/s | requests per operation per s |",
        "|---|---|---|---|---|---|",
    ]
    for examples in args.examples:
        port = free_port()
        with served(reference(port), port, work / f"fuzz-{port}.log") as address:
            ours = conformance_run(
                [
                    "--base-url",
                    f"http://{address}",
                    "--profile",
                    str(REPO / "profiles" / "reference.yaml"),
                    "--only",
                    "fuzzing,validation",
                    "--max-examples",
                    str(examples),
                ],
                work,
            )
            theirs = schemathesis_run(address, examples, work)
            same_phases = schemathesis_run(address, examples, work, "--phases", "fuzzing,stateful")
        for name, run in (
            ("this suite (`--only fuzzing,validation`: every response validated by openapi-core)", ours),
            ("plain `schemathesis run --checks all` (every phase: examples, coverage, fuzzing, stateful)", theirs),
            (
                "plain `schemathesis run --checks all --phases fuzzing,stateful` (the phases this suite runs)",
                same_phases,
            ),
        ):
            lines.append(row(name, examples, run, f"{run['requests'] / count / run['wall']:.1f}"))
            print(lines[-1], flush=True)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", nargs="+", choices=("servers", "gate", "fuzzing"), default=["servers", "gate", "fuzzing"]
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per server level (default 5)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per server (default 2)")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 4, 16], help="client threads per level (default 1 4 16)"
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4], help="gate workers (default 1 2 4)")
    parser.add_argument(
        "--examples", type=int, nargs="+", default=[25], help="fuzzing examples per operation (default 25)"
    )
    parser.add_argument(
        "--write", type=Path, help="replace the '## Speed' section of this Markdown file with the tables"
    )
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.warmup < 0 or min(args.concurrency + args.workers + args.examples) < 1:
        parser.error("--seconds, --concurrency, --workers and --examples must be positive")
    everywhere = os.sched_getaffinity(0) if TWO_CORES else set()
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    header = (
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPUs ({platform.machine()}), Python "
        f"{platform.python_version()}, load average {load} at the start; servers on CPU 0 and clients on CPU 1, "
        "but for the gate, which has every CPU as a user's run does"
        f"{'' if TWO_CORES else ' (one CPU: not pinned)'}."
    )
    print(header)
    sections = {
        "servers": (
            "Server throughput: create_person + retrieve_person, "
            f"{args.seconds:g} s per level after {args.warmup:g} s of warm-up",
            servers,
        ),
        "gate": ("The default gate, end to end (start-up, embedded server and reports included)", gate),
        "fuzzing": ("Fuzzing depth per second, against one `conformance serve` subprocess", fuzzing),
    }
    pinned = {"servers", "fuzzing"}
    command = " ".join(["python scripts/bench_speed.py", *(argv if argv is not None else sys.argv[1:])])
    lines = ["## Speed", "", header, "", f"Command: `{command}`", ""]
    with tempfile.TemporaryDirectory() as directory:
        for name in args.only:
            title, measure = sections[name]
            print(f"\n{title}")
            if TWO_CORES:
                os.sched_setaffinity(0, CLIENT_CPU if name in pinned else everywhere)
            lines += [f"### {title}", "", *measure(args, Path(directory)), ""]
    if args.write:
        write_section(args.write, lines)
    return 0


def write_section(path: Path, lines: list[str]) -> None:
    """Replace (or append) the `## Speed` section: the other sections are other scripts' figures."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    start = text.find("\n## Speed\n")
    end = text.find("\n## ", start + 1) if start >= 0 else -1
    section = "\n".join(lines).rstrip() + "\n"
    if start < 0:
        text = text.rstrip() + "\n\n" + section
    else:
        text = text[: start + 1] + section + (text[end:] if end >= 0 else "")
    path.write_text(text)
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    raise SystemExit(main())
