"""Benchmark the reference server: create_person then retrieve_person, at several concurrency levels.

    python scripts/bench_reference.py                      # 1000 create+retrieve pairs per level
    python scripts/bench_reference.py --seconds 10         # 10 s per level instead
    python scripts/bench_reference.py --concurrency 1 4 16 --database /tmp/bench.db

The server runs in this process (RunningServer, real HTTP on 127.0.0.1, uvicorn in a thread), and
each client thread has its own httpx.Client and its own account. Clients and server share one
interpreter and its GIL, so the figures are a floor for the server on its own.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import ssl
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conformance.reference.server import RunningServer, ServerOptions  # noqa: E402
from conformance.spec import load_spec  # noqa: E402
from conformance.spec.catalog import api_version  # noqa: E402

KEY = "sk_test_reference_secret"
STRIPE_VERSION = api_version(load_spec())
HEADERS = {"Authorization": f"Bearer {KEY}", "Stripe-Version": STRIPE_VERSION}
TLS = ssl.create_default_context()  # plain HTTP: shared so that each client does not build its own


@dataclass
class Timings:
    create: list[float] = field(default_factory=list)
    retrieve: list[float] = field(default_factory=list)
    failures: int = 0


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of the values (seconds)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)] if ordered else float("nan")


def worker(url: str, pairs: int | None, seconds: float | None, start: threading.Barrier, timings: Timings, lock: threading.Lock) -> None:
    """Create then retrieve persons on an account of its own, `pairs` times or for `seconds`."""
    mine = Timings()
    with httpx.Client(base_url=url, headers=HEADERS, timeout=60, verify=TLS) as http:
        account = http.post("/v2/core/accounts", json={"identity": {"country": "us"}}).raise_for_status().json()["id"]
        persons = f"/v2/core/accounts/{account}/persons"
        http.get(persons).raise_for_status()  # warm the connection
        start.wait(timeout=60)
        deadline = time.perf_counter() + seconds if seconds else None
        done = 0
        while (pairs is None or done < pairs) and (deadline is None or time.perf_counter() < deadline):
            done += 1
            began = time.perf_counter()
            created = http.post(persons, json={"given_name": f"Bench {done}", "surname": "Person", "email": "bench@example.com"})
            mine.create.append(time.perf_counter() - began)
            if created.status_code != 200:
                mine.failures += 1
                continue
            began = time.perf_counter()
            retrieved = http.get(f"{persons}/{created.json()['id']}")
            mine.retrieve.append(time.perf_counter() - began)
            mine.failures += retrieved.status_code != 200
    with lock:
        timings.create += mine.create
        timings.retrieve += mine.retrieve
        timings.failures += mine.failures


def run_level(url: str, concurrency: int, iterations: int, seconds: float | None) -> tuple[Timings, float]:
    """One level: `concurrency` workers sharing `iterations` pairs (or each running `seconds`), released together."""
    timings, lock = Timings(), threading.Lock()
    start = threading.Barrier(concurrency + 1)
    shares = [iterations // concurrency + (index < iterations % concurrency) for index in range(concurrency)]
    threads = [
        threading.Thread(target=worker, args=(url, None if seconds else share, seconds, start, timings, lock))
        for share in shares
    ]
    for thread in threads:
        thread.start()
    start.wait(timeout=60)
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return timings, time.perf_counter() - began


def report(concurrency: int, timings: Timings, elapsed: float) -> str:
    requests = len(timings.create) + len(timings.retrieve)
    line = f"concurrency {concurrency:>3}: {requests:>6} requests in {elapsed:6.2f} s = {requests / elapsed:8.1f} req/s"
    for name, values in (("create", timings.create), ("retrieve", timings.retrieve)):
        line += f" | {name} p50 {percentile(values, 0.50) * 1000:6.2f} ms p99 {percentile(values, 0.99) * 1000:6.2f} ms"
    return line + (f" | {timings.failures} failed" if timings.failures else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1000, help="create+retrieve pairs per concurrency level (default 1000)")
    parser.add_argument("--seconds", type=float, help="run each level for this long instead of a number of iterations")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16], help="client threads per level (default 1 16)")
    parser.add_argument("--database", default=":memory:", help="SQLite file of the server (default :memory:)")
    args = parser.parse_args(argv)
    if args.iterations < 1 or any(level < 1 for level in args.concurrency) or (args.seconds is not None and args.seconds <= 0):
        parser.error("--iterations, --seconds and --concurrency must be positive")

    load = ", load average " + " ".join(f"{value:.2f}" for value in os.getloadavg()) if hasattr(os, "getloadavg") else ""
    print(f"machine: {os.cpu_count()} CPUs, {platform.machine()}, {platform.system()} {platform.release()}{load}")
    print(f"python:  {platform.python_implementation()} {platform.python_version()}; httpx {httpx.__version__}")
    workload = f"{args.seconds:g} s" if args.seconds else f"{args.iterations} create+retrieve pairs"
    print(f"server:  reference server in-process on 127.0.0.1, database {args.database}; {workload} per level")
    with RunningServer(ServerOptions(database=args.database)) as server:
        for level in args.concurrency:
            timings, elapsed = run_level(server.url, level, args.iterations, args.seconds)
            print(report(level, timings, elapsed), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
