"""The suite against the clean reference server and every fault-injected mutant (tests/mutants.py).

    python scripts/mutation.py                      # the suite: caught or missed, by which check, time to the first failure
    python scripts/mutation.py --with-schemathesis  # and plain `schemathesis run --checks all` on the same mutants, same budget
    python scripts/mutation.py --write docs/benchmarks.md

A mutant counts as caught by the suite when any check fails against it. Plain schemathesis already
reports failures against the clean server (its defaults disagree with documented business-rule
400s), so a mutant counts as caught by schemathesis only when it reports a failure (check and
operation) that it does not report against the clean server.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import plain_schemathesis  # noqa: E402
from mutants import CONTROL, MUTANTS, Mutant, reference_target  # noqa: E402

from conformance.engine.config import resolve_config  # noqa: E402
from conformance.engine.plan import Environment, plan  # noqa: E402
from conformance.engine.categories import Category  # noqa: E402
from conformance.engine.results import Status  # noqa: E402
from conformance.reference.server import RunningServer, ServerOptions  # noqa: E402
from conformance.spec import load_spec  # noqa: E402
from conformance.spec.catalog import api_version  # noqa: E402

KEY = "sk_test_reference_secret"
VERSION = api_version(load_spec())
# Cheap, broad checks first: the time to the first failure is what a CI gate waits for.
ORDER = {Category.SEMANTICS: 0, Category.V1_TOKENS: 1, Category.ERROR_CODES: 2, Category.FUZZING: 3}


@dataclass
class Outcome:
    caught_by: list[str] = field(default_factory=list)
    first_failure: float | None = None
    seconds: float = 0.0
    requests: int = 0


def run_suite(mutant: Mutant, budget: float, max_examples: int, stop_at_first: bool = True) -> Outcome:
    outcome = Outcome()
    with RunningServer(ServerOptions(**mutant.options)) as server, tempfile.TemporaryDirectory() as reports:
        config = resolve_config({"base_url": server.url, "api_key": KEY, "max_examples": max_examples, "report_dir": reports}, environ={})
        reference_target(config, mutant.fixtures)
        environment = Environment(config, server.url)
        started = time.monotonic()
        for unit in sorted(plan(config, environment.spec), key=lambda unit: ORDER[unit.category]):
            if time.monotonic() - started > budget:
                break
            results, client = unit.run(environment)
            outcome.requests += len(client.exchanges)
            if any(result.status in (Status.FAILED, Status.ERROR) for result in results):
                outcome.caught_by.append(unit.check_id)
                outcome.first_failure = outcome.first_failure or time.monotonic() - started
                if stop_at_first:
                    break
        outcome.seconds = time.monotonic() - started
    return outcome


def _schemathesis_failures(junit: Path) -> set[str]:
    """(operation, failure title) pairs from schemathesis's JUnit report."""
    found = set()
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        for failure in case.findall("failure"):
            titles = re.findall(r"^\s*-?\s*(ST\d+[^\n]*|[A-Z][^\n]{3,80})$", failure.get("message", "") + "\n" + (failure.text or ""), flags=re.MULTILINE)
            found.add(f"{case.get('name')}: {titles[0].strip() if titles else 'failure'}")
    return found


def run_schemathesis(mutant: Mutant, budget: float, max_examples: int) -> tuple[set[str], float, int]:
    with RunningServer(ServerOptions(**mutant.options)) as server, tempfile.TemporaryDirectory() as work:
        account = httpx.post(f"{server.url}/v2/core/accounts", json={"identity": {"country": "us", "entity_type": "company"}},
                             headers={"Authorization": f"Bearer {KEY}", "Stripe-Version": VERSION}).json()["id"]
        command = plain_schemathesis.command(server.url, KEY, VERSION, account, Path(work), "--max-time", str(int(budget)),
                                             "--max-examples", str(max_examples), "--report", "junit", "--report-dir", work)
        started = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, timeout=budget * 4 + 60, cwd=work, check=False)
        elapsed = time.monotonic() - started
        junit = next(Path(work).rglob("*.xml"), None)
        requests = sum(int(n) for n in re.findall(r"(\d+) generated", done.stdout)[:1]) if done.stdout else 0
        return (_schemathesis_failures(junit) if junit else {f"no report (exit {done.returncode})"}), elapsed, requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per mutant for each tool (default 20)")
    parser.add_argument("--max-examples", type=int, default=10, help="fuzzing examples per operation (default 10)")
    parser.add_argument("--with-schemathesis", action="store_true", help="also run plain schemathesis on every mutant")
    parser.add_argument("--only", help="comma-separated mutant names")
    parser.add_argument("--write", help="write the table as Markdown to this file")
    args = parser.parse_args()
    chosen = [m for m in MUTANTS if not args.only or m.name in args.only.split(",")]

    clean = run_suite(CONTROL, budget=600, max_examples=args.max_examples, stop_at_first=False)
    print(f"clean server: {len(clean.caught_by)} false failures {clean.caught_by} in {clean.seconds:.1f} s, {clean.requests} requests")
    baseline: set[str] = set()
    if args.with_schemathesis:
        baseline, st_seconds, _ = run_schemathesis(CONTROL, args.budget, args.max_examples)
        print(f"plain schemathesis on the clean server: {len(baseline)} failures in {st_seconds:.1f} s")

    rows = []
    for mutant in chosen:
        ours = run_suite(mutant, args.budget, args.max_examples)
        row = {"mutant": mutant.name, "ours": ours}
        if args.with_schemathesis:
            found, seconds, requests = run_schemathesis(mutant, args.budget, args.max_examples)
            row["theirs"] = (sorted(found - baseline), seconds, requests)
        rows.append(row)
        theirs = row.get("theirs")
        print(f"{mutant.name:45} suite: {'caught by ' + ours.caught_by[0] if ours.caught_by else 'MISSED':70} "
              f"{(ours.first_failure or ours.seconds):6.1f} s" + (f" | schemathesis: {'caught' if theirs[0] else 'missed'} {theirs[1]:5.1f} s" if theirs else ""), flush=True)

    caught = sum(bool(row["ours"].caught_by) for row in rows)
    print(f"\nsuite: {caught}/{len(rows)} mutants caught ({100 * caught / len(rows):.0f}%), {len(clean.caught_by)} false failures on the clean server")
    if args.with_schemathesis:
        theirs_caught = sum(bool(row["theirs"][0]) for row in rows)
        print(f"plain schemathesis: {theirs_caught}/{len(rows)} ({100 * theirs_caught / len(rows):.0f}%), {len(baseline)} failures on the clean server")
    if args.write:
        _write(Path(args.write), rows, clean, baseline, args)
    return 0 if caught == len(rows) and not clean.caught_by else 1


def _write(path: Path, rows: list[dict], clean: Outcome, baseline: set[str], args: argparse.Namespace) -> None:
    caught = sum(bool(row["ours"].caught_by) for row in rows)
    lines = [
        "# Benchmarks", "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPUs ({platform.machine()}, {platform.system()} {platform.release()}), "
        f"Python {platform.python_version()}; load average at the end {os.getloadavg()[0]:.1f}.", "",
        "## Mutation score", "",
        f"Command: `python scripts/mutation.py --with-schemathesis --budget {args.budget:g} --max-examples {args.max_examples} --write {path}`", "",
        f"- this suite: **{caught}/{len(rows)}** mutants caught, {len(clean.caught_by)} false failures on the clean server "
        f"(full run there: {clean.seconds:.1f} s, {clean.requests} requests)",
    ]
    if args.with_schemathesis:
        theirs = sum(bool(row["theirs"][0]) for row in rows)
        lines.append(f"- plain `schemathesis run spec/openapi.yaml --checks all` (same budget per mutant, account id and headers given): "
                     f"**{theirs}/{len(rows)}**, and {len(baseline)} failures already on the clean server (counted as its baseline)")
    lines += ["", "| mutant | this suite | first failure (s) | schemathesis | new schemathesis failure |", "|---|---|---|---|---|"]
    for row in rows:
        ours: Outcome = row["ours"]
        found, seconds, _ = row.get("theirs", ([], 0.0, 0))
        lines.append(f"| {row['mutant']} | {ours.caught_by[0] if ours.caught_by else 'missed'} | {ours.first_failure or 0:.1f} | "
                     f"{'caught' if found else 'missed' if 'theirs' in row else '-'} | {(found[0] if found else '').replace('|', '/')[:90]} |")
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
