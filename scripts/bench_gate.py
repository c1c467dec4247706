"""How fast is the default gate? Its wall time, the split between categories, the requests per second it
achieves against the embedded reference server, and that server's raw capacity from a plain client loop
in the same process (the ratio is the suite's own overhead).

    python scripts/bench_gate.py [--raw-seconds 10] [--write docs/speed.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from conformance.engine.config import resolve_config  # noqa: E402
from conformance.engine.runner import run_suite  # noqa: E402
from conformance.targets import target  # noqa: E402
from conformance.reference.server import RunningServer  # noqa: E402
from conformance.spec import load_spec  # noqa: E402
from conformance.spec.catalog import api_version  # noqa: E402

HEADERS = {"Authorization": "Bearer sk_test_reference_secret", "Stripe-Version": api_version(load_spec())}


def gate() -> tuple[float, int, dict[str, float], int]:
    with tempfile.TemporaryDirectory() as reports:
        config = resolve_config({"report_dir": reports}, environ={})
        started = time.monotonic()
        with target(config) as url:
            run = run_suite(config, url)
        wall = time.monotonic() - started
    split: dict[str, float] = defaultdict(float)
    for result in run.results:
        split[result.category.value] += result.duration
    failures = sum(result.gating for result in run.results)
    return wall, run.requests, dict(split), failures


def raw_capacity(seconds: float) -> tuple[int, float]:
    """create + retrieve pairs from one plain httpx client, as fast as the server answers."""
    with RunningServer() as server, httpx.Client(base_url=server.url, headers=HEADERS) as client:
        account = client.post("/v2/core/accounts", json={"identity": {"country": "us"}}).json()["id"]
        sent, deadline, started = 0, time.monotonic() + seconds, time.monotonic()
        while time.monotonic() < deadline:
            person = client.post(f"/v2/core/accounts/{account}/persons", json={"given_name": "Load"}).json()["id"]
            client.get(f"/v2/core/accounts/{account}/persons/{person}")
            sent += 2
        return sent, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--raw-seconds", type=float, default=10.0)
    parser.add_argument("--write", help="also write the numbers as Markdown to this file")
    args = parser.parse_args()
    wall, requests, split, failures = gate()
    sent, elapsed = raw_capacity(args.raw_seconds)
    lines = [
        f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}",
        f"default gate (`make run` / `conformance run`): {wall:.1f} s wall, {requests} requests, {requests / wall:.0f} requests/s, {failures} failing checks",
        "time by category (sum of the checks' durations): " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in sorted(split.items(), key=lambda item: -item[1])),
        f"raw capacity of the reference server (plain httpx loop, create + retrieve): {sent / elapsed:.0f} requests/s",
        f"suite overhead: the gate achieves {100 * (requests / wall) / (sent / elapsed):.0f}% of the raw request rate",
    ]
    print("\n".join(lines))
    if args.write:
        Path(args.write).write_text(f"# Speed of the default gate\n\nMeasured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with "
                                    f"`python scripts/bench_gate.py --raw-seconds {args.raw_seconds:g}`.\n\n" + "\n".join(f"- {line}" for line in lines) + "\n")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
