"""Bounded load test of the reference server: a realistic mix from concurrent asyncio clients.

    python scripts/load_reference.py                          # 32 clients for 30 s
    python scripts/load_reference.py --seconds 10 --clients 8 --database /tmp/load.db

The server runs in a SUBPROCESS (`python -m conformance serve` on 127.0.0.1), so that the clients
do not share its interpreter and GIL. Each client (one httpx.AsyncClient, one connection) loops over
a weighted mix: create person, retrieve person, update person, list persons, create person token;
several clients share each account, so account-wide rules and the storage lock see contention.
Every answer but a 200 counts as an error (transport error, 5xx, any other status). Prints the
throughput and p50/p95/p99 latency per operation and overall, the CPU count and the load average,
and exits 1 when any request failed. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import resource
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from conformance.reference.server import free_port
from conformance.spec import load_spec
from conformance.spec.catalog import api_version

REPO = Path(__file__).resolve().parents[1]
KEY = "sk_test_reference_secret"
STRIPE_VERSION = api_version(load_spec())
HEADERS = {"Authorization": f"Bearer {KEY}", "Stripe-Version": STRIPE_VERSION}
TLS = ssl.create_default_context()  # plain HTTP: shared, so that no client builds its own
MIX = {"create_person": 20, "retrieve_person": 30, "update_person": 15, "list_persons": 20, "create_person_token": 15}
START_TIMEOUT = 60.0
REQUEST_TIMEOUT = 30.0
SHOWN_ERRORS = 8


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    def record(self, operation: str, seconds: float, problem: str | None) -> None:
        self.latencies[operation].append(seconds)
        if problem:
            self.errors[operation] += 1
            if len(self.samples) < SHOWN_ERRORS:
                self.samples.append(f"{operation}: {problem}")


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)] if ordered else float("nan")


def person_body(rng: random.Random, client: int, sequence: int) -> dict[str, Any]:
    """A plausible person; names unique per client and sequence (no duplicate_person_not_allowed)."""
    return {
        "given_name": f"Load{client}", "surname": f"Person{sequence}", "email": f"load{client}.{sequence}@example.com",
        "phone": "+1 541 555 0100", "date_of_birth": {"day": rng.randint(1, 28), "month": rng.randint(1, 12), "year": rng.randint(1950, 2000)},
        "address": {"line1": f"{rng.randint(1, 999)} Main St", "city": "Brothers", "postal_code": "97712", "state": "OR", "country": "US"},
        "relationship": {"director": True, "title": "Director"}, "metadata": {"client": str(client), "sequence": str(sequence)},
    }


class Server:
    """`python -m conformance serve` in a subprocess, always stopped by `close()`."""

    def __init__(self, database: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - kept open for the server's lifetime, closed by close()
        started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "conformance", "serve", "--host", "127.0.0.1", "--port", str(self.port), "--database", database],
            cwd=REPO, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
        )
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited with {self.process.returncode}:\n{self.output()}")
            try:
                httpx.get(self.url + "/v2/core/accounts/acct_probe/persons", headers=HEADERS, timeout=1, verify=TLS)
                break
            except httpx.TransportError:
                if time.monotonic() - started > START_TIMEOUT:
                    self.close()
                    raise SystemExit(f"the server did not answer within {START_TIMEOUT:g} s") from None
                time.sleep(0.05)
        self.startup = time.monotonic() - started

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the server process so far (Linux /proc), else None."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return None

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()


async def client_loop(number: int, url: str, account: str, start: asyncio.Event, deadline_box: list[float], stats: Stats, seed: int) -> None:
    rng = random.Random(seed * 1000 + number)
    operations, weights = list(MIX), list(MIX.values())
    persons_path = f"/v2/core/accounts/{account}/persons"
    mine: list[str] = []  # persons this client created (and may retrieve or update)
    sequence = 0
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=REQUEST_TIMEOUT, verify=TLS, limits=limits) as http:
        await http.get(persons_path)  # open the connection before the clock starts
        await start.wait()
        while time.perf_counter() < deadline_box[0]:
            operation = rng.choices(operations, weights)[0]
            if operation in ("retrieve_person", "update_person") and not mine:
                operation = "create_person"
            sequence += 1
            if operation == "create_person":
                method, path, body = "POST", persons_path, person_body(rng, number, sequence)
            elif operation == "retrieve_person":
                method, path, body = "GET", f"{persons_path}/{rng.choice(mine)}", None
            elif operation == "update_person":
                method, path, body = "POST", f"{persons_path}/{rng.choice(mine)}", {"metadata": {"updated": str(sequence)}, "email": f"u{number}.{sequence}@example.com"}
            elif operation == "list_persons":
                method, path, body = "GET", persons_path + f"?limit={rng.choice((10, 10, 10, 100))}", None
            else:
                method, path, body = "POST", f"/v2/core/accounts/{account}/person_tokens", {"given_name": f"Token{number}", "surname": f"T{sequence}"}
            headers = {"Idempotency-Key": f"load-{seed}-{number}-{sequence}"} if method == "POST" else None
            began = time.perf_counter()
            problem = None
            try:
                response = await http.request(method, path, json=body, headers=headers)
                if response.status_code != 200:
                    problem = f"{method} {path} -> {response.status_code} {response.text[:200]}"
                elif operation == "create_person":
                    mine.append(response.json()["id"])
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                problem = f"{method} {path} -> {type(exc).__name__}: {exc}"
            stats.record(operation, time.perf_counter() - began, problem)


async def run_load(url: str, clients: int, accounts: int, seconds: float, seed: int) -> tuple[Stats, float]:
    async with httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=REQUEST_TIMEOUT, verify=TLS) as setup:
        created = []
        for _ in range(accounts):
            response = await setup.post("/v2/core/accounts", json={"identity": {"country": "us", "entity_type": "company"}})
            response.raise_for_status()
            created.append(response.json()["id"])
    stats, start, deadline_box = Stats(), asyncio.Event(), [math.inf]
    tasks = [asyncio.create_task(client_loop(number, url, created[number % accounts], start, deadline_box, stats, seed)) for number in range(clients)]
    await asyncio.sleep(0.5)  # let every client open its connection
    began = time.perf_counter()
    deadline_box[0] = began + seconds
    start.set()
    # Bounded: a request may still be in flight at the deadline, but never beyond its own timeout.
    done, pending = await asyncio.wait(tasks, timeout=seconds + REQUEST_TIMEOUT + 5)
    for task in pending:
        task.cancel()
        stats.errors["(cancelled client)"] += 1
    for task in done:
        if task.exception() is not None:
            stats.errors["(crashed client)"] += 1
            stats.samples.append(f"client crashed: {task.exception()!r}")
    return stats, time.perf_counter() - began


def report(stats: Stats, elapsed: float, server: Server, server_cpu: float | None, client_cpu: float, args: argparse.Namespace) -> None:
    cpus = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    print(f"reference server load test: {args.clients} clients, {args.accounts} accounts, {args.seconds:g} s, seed {args.seed}, database {args.database}")
    print(f"machine: {cpus} CPUs ({usable} usable), load average before {args.load_before[0]:.2f} {args.load_before[1]:.2f} {args.load_before[2]:.2f}, "
          f"after {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}; Python {sys.version.split()[0]}")
    print(f"server: started in {server.startup:.1f} s (subprocess pid {server.process.pid})"
          + (f", {server_cpu:.1f} CPU-s during the load ({server_cpu / elapsed:.0%} of one core)" if server_cpu is not None else ""))
    print(f"clients: {client_cpu:.1f} CPU-s during the load ({client_cpu / elapsed:.0%} of one core)")
    print()
    print(f"{'operation':<22}{'requests':>9}{'errors':>8}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    everything: list[float] = []
    for operation in [*MIX, *sorted(set(stats.latencies) - set(MIX))]:
        values = stats.latencies.get(operation, [])
        everything += values
        print(f"{operation:<22}{len(values):>9}{stats.errors[operation]:>8}{len(values) / elapsed:>9.1f}"
              f"{percentile(values, .5) * 1000:>9.1f}{percentile(values, .95) * 1000:>9.1f}{percentile(values, .99) * 1000:>9.1f}"
              f"{max(values, default=float('nan')) * 1000:>9.1f}")
    total_errors = sum(stats.errors.values())
    print(f"{'overall':<22}{len(everything):>9}{total_errors:>8}{len(everything) / elapsed:>9.1f}"
          f"{percentile(everything, .5) * 1000:>9.1f}{percentile(everything, .95) * 1000:>9.1f}{percentile(everything, .99) * 1000:>9.1f}"
          f"{max(everything, default=float('nan')) * 1000:>9.1f}")
    print(f"\n{total_errors} errors ({total_errors / max(1, len(everything)):.2%}) in {elapsed:.1f} s")
    for sample in stats.samples:
        print(f"  {sample}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of the load (default 30)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument("--accounts", type=int, default=8, help="accounts the clients share (default 8)")
    parser.add_argument("--database", default=":memory:", help="the server's SQLite file (default: in memory)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the operation mix")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.clients < 1 or not 1 <= args.accounts <= args.clients:
        parser.error("--seconds must be positive, --clients at least 1, --accounts between 1 and --clients")
    args.load_before = os.getloadavg()
    server = Server(args.database)
    try:
        cpu_before = server.cpu_seconds()
        client_before = resource.getrusage(resource.RUSAGE_SELF)
        stats, elapsed = asyncio.run(run_load(server.url, args.clients, args.accounts, args.seconds, args.seed))
        client_after = resource.getrusage(resource.RUSAGE_SELF)
        cpu_after = server.cpu_seconds()
        server_cpu = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
        client_cpu = (client_after.ru_utime + client_after.ru_stime) - (client_before.ru_utime + client_before.ru_stime)
        report(stats, elapsed, server, server_cpu, client_cpu, args)
        if "Traceback" in server.output():
            print("\nthe server logged a traceback:\n" + server.output())
            return 1
    finally:
        server.close()
    return 1 if sum(stats.errors.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
