"""The suite against the chaos target (tests/chaos.py) for many drawn behaviours, the property of
tests/chaos_check.py for each.

    python scripts/chaos.py --draws 2000 --jobs 2          # two processes, seeds S and S+1, 1,000 draws each
    python scripts/chaos.py --seed 7 --draws 1000 --only-draw 412   # draw 412 of that run again, alone

Draws come from Hypothesis with a fixed seed, so a run is reproduced by its seed and draw count; a
failing draw is printed with its number, and `--only-draw` replays just that one (the other draws
are still generated, which keeps the sequence, but not run). Unlike the test, the script does not
stop at the first failing draw: it reports every one.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.chaos_check import Draw, for_each_draw, rig  # noqa: E402

DEFAULT_SEED = 20261202


def _outcome_kind(files: dict[str, bytes]) -> list[str]:
    """The classified results of a draw's run beyond pass/fail: which checks could not complete, and why."""
    for name, content in files.items():
        if name.endswith("results.json") and not name.startswith("latest/"):
            results = json.loads(content)["results"]
            return [
                result["detail"].split(":")[1].strip()
                for result in results
                if result["detail"].startswith("the check could not complete")
            ]
    return []


def worker(seed_value: int, count: int, only_draw: int | None) -> dict[str, object]:
    stats: dict[str, object] = {
        "seed": seed_value,
        "draws": 0,
        "run": 0,
        "failures": [],
        "exit": Counter(),
        "incomplete": Counter(),
        "slowest": 0.0,
        "requests": 0,
    }
    started = time.monotonic()
    with rig() as chaos:

        def one(draw: Draw) -> None:
            number = stats["draws"]
            stats["draws"] = number + 1
            if only_draw is not None and number != only_draw:
                return
            outcome = chaos.run(draw)
            stats["run"] += 1
            stats["exit"][str(outcome.code)] += 1
            stats["incomplete"].update(_outcome_kind(outcome.files))
            stats["slowest"] = max(stats["slowest"], outcome.elapsed)
            stats["requests"] += outcome.requests
            found = chaos.violations(draw, outcome)
            if found:
                stats["failures"].append({"draw": number, "violations": found, "repr": repr(draw)[:4000]})
                print(f"seed {seed_value} draw {number}: FAILED\n  " + "\n  ".join(found), file=sys.stderr, flush=True)
            if stats["run"] % 100 == 0:
                print(
                    f"seed {seed_value}: {stats['run']} draws run, {len(stats['failures'])} failing, "
                    f"{time.monotonic() - started:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )

        for_each_draw(seed_value, count, one)
    stats["seconds"] = round(time.monotonic() - started, 1)
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--draws", type=int, default=200, help="draws in all (split over the jobs)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the first job; job i has seed + i")
    parser.add_argument("--jobs", type=int, default=1, help="processes, each with its own seed")
    parser.add_argument("--only-draw", type=int, help="run only this draw (with the same --seed and --draws, one job)")
    parser.add_argument("--json", help="write the statistics here")
    args = parser.parse_args()
    started = time.monotonic()
    if args.jobs == 1:
        stats = [worker(args.seed, args.draws, args.only_draw)]
    else:
        share = args.draws // args.jobs
        processes = [
            subprocess.Popen(
                [sys.executable, __file__, "--draws", str(share), "--seed", str(args.seed + index), "--json", "-"],
                stdout=subprocess.PIPE,
                text=True,
            )
            for index in range(args.jobs)
        ]
        stats = [json.loads(process.communicate()[0]) for process in processes]
    failures = sum(len(job["failures"]) for job in stats)
    summary = {
        "draws run": sum(job["run"] for job in stats),
        "failing draws": failures,
        "wall seconds": round(time.monotonic() - started, 1),
        "seeds": [job["seed"] for job in stats],
        "draws per seed": [job["draws"] for job in stats],
        "exit codes": sum((Counter(job["exit"]) for job in stats), Counter()),
        "requests": sum(job["requests"] for job in stats),
        "slowest draw seconds": round(max(job["slowest"] for job in stats), 1),
        "checks that could not complete, by exception": sum((Counter(job["incomplete"]) for job in stats), Counter()),
        "failures": [failure | {"seed": job["seed"]} for job in stats for failure in job["failures"]],
    }
    if args.json == "-":
        print(json.dumps(stats[0], default=dict))
        return 0
    text = json.dumps(summary, indent=2, default=dict)
    if args.json:
        Path(args.json).write_text(text)
    print(text)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
