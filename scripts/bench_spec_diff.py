"""How long `conformance spec diff` takes on a description the size of Stripe's (about 5 MB), JSON beside YAML.

The description is tests/data/stripe-layout.yaml padded with unrelated operations and schemas, as the real
openapi.spec3.json holds hundreds of other endpoints around the nine compared here.

    python scripts/bench_spec_diff.py [--megabytes 5] [--runs 5]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from conformance.spec import load_spec
from conformance.spec.diff import diff, read_description

REPO = Path(__file__).resolve().parents[1]
BASE = REPO / "tests" / "data" / "stripe-layout.yaml"


def padded(megabytes: float) -> dict:  # type: ignore[type-arg]
    document = yaml.safe_load(BASE.read_text())
    filler = {
        "type": "object",
        "properties": {
            f"member_{n}": {"type": "string", "maxLength": 5000, "description": "x" * 60} for n in range(40)
        },
    }
    index = 0
    while len(json.dumps(document)) < megabytes * 2**20:
        for _ in range(50):
            document["components"]["schemas"][f"padding.object_{index}"] = copy.deepcopy(filler)
            document["paths"][f"/v1/padding_{index}"] = {
                "get": {
                    "operationId": f"GetPadding{index}",
                    "responses": {
                        "200": {
                            "description": "Successful response.",
                            "content": {
                                "application/json": {"schema": {"$ref": f"#/components/schemas/padding.object_{index}"}}
                            },
                        }
                    },
                }
            }
            index += 1
    return document


def _median(times: list[float]) -> str:
    return f"{statistics.median(times) * 1000:8.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    spec = load_spec()
    with tempfile.TemporaryDirectory() as folder:
        document = padded(args.megabytes)
        as_json, as_yaml = Path(folder) / "openapi.spec3.json", Path(folder) / "openapi.spec3.yaml"
        as_json.write_text(json.dumps(document))
        as_yaml.write_text(yaml.safe_dump(document, sort_keys=False))
        print(
            f"description: {as_json.stat().st_size / 2**20:.1f} MB as JSON, "
            f"{as_yaml.stat().st_size / 2**20:.1f} MB as YAML, "
            f"{len(document['paths'])} paths; median of {args.runs} runs"
        )
        timings: dict[str, list[float]] = {
            "read JSON": [],
            "read YAML (libyaml)" if yaml.__with_libyaml__ else "read YAML": [],
            "diff (9 operations)": [],
        }
        for _ in range(args.runs):
            for label, path in zip(list(timings)[:2], (as_json, as_yaml), strict=True):
                started = time.perf_counter()
                read_description(path)
                timings[label].append(time.perf_counter() - started)
            started = time.perf_counter()
            diff(spec, document)
            timings["diff (9 operations)"].append(time.perf_counter() - started)
        for label, times in timings.items():
            print(f"  {label:<24}{_median(times)}")
        started = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "-m", "conformance", "spec", "diff", str(as_json)],
            capture_output=True,
            text=True,
            check=False,
        )
        print(
            f"  {'whole command (JSON)':<24}{(time.perf_counter() - started) * 1000:8.1f} ms"
            f"  exit {completed.returncode}: "
            f"{completed.stdout.strip().splitlines()[-1]}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
