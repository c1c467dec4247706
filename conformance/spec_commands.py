"""`conformance spec`: the spec's summary, the constraints it adds beyond Stripe's description, and its
differences from a Stripe description the user supplies."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from conformance.spec import SpecError, load_spec, operations
from conformance.spec.decisions import decisions
from conformance.spec.diff import DescriptionError, diff, hard, read_description, render
from conformance.spec.sources import unstated_constraints
from conformance.spec.summary import summarize

EXIT_OK = 0
EXIT_DIFFERENT = 1
EXIT_USAGE = 2


def add_spec_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    spec = commands.add_parser(
        "spec",
        help="validate the OpenAPI document and print its summary (or: spec diff FILE, spec sources, spec decisions)",
    )
    spec.add_argument("--spec", help="path of the OpenAPI document (default: spec/openapi.yaml)")
    actions = spec.add_subparsers(dest="spec_command")
    compare = actions.add_parser(
        "diff", help="compare the spec with a Stripe OpenAPI description (JSON or YAML) for the nine operations"
    )
    compare.add_argument("description", help="a Stripe OpenAPI description, e.g. a newer openapi.spec3.json")
    compare.add_argument(
        "--all", action="store_true", help="list every cosmetic difference, not only their count by kind"
    )
    compare.add_argument("--json", action="store_true", help="print the differences as JSON")
    actions.add_parser(
        "sources", help="list the constraints the spec adds beyond Stripe's description, with their sources"
    )
    actions.add_parser(
        "decisions", help="list the decisions where Stripe publishes nothing: alternatives and the reference's choice"
    )


def spec_command(args: argparse.Namespace) -> int:
    try:
        spec = load_spec(args.spec)
        if args.spec_command == "diff":
            return _diff(spec, Path(args.description), every_cosmetic=args.all, as_json=args.json)
    except (SpecError, DescriptionError) as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.spec_command == "decisions":
        for decision in decisions(spec).values():
            alternatives = " | ".join(map(str, decision.alternatives))
            values = "" if "enum" in decision.values else f" (any value of {json.dumps(dict(decision.values))})"
            print(f"{decision.name}: {alternatives}{values}; reference server: {decision.default}")
            print(f"    {decision.description}")
        return EXIT_OK
    if args.spec_command == "sources":
        for constraint in unstated_constraints(spec):
            print(
                f"{constraint.pointer} {constraint.keyword}={json.dumps(constraint.value)}: "
                f"{constraint.described_source}"
            )
        return EXIT_OK
    summary = summarize(spec)
    print(f"{summary.title} ({summary.version})")
    print(
        f"valid OpenAPI 3.1: {summary.operations} operations, {summary.schemas} schemas, "
        f"{summary.documented_codes} documented error codes ({summary.error_rules} rules), "
        f"{summary.examples} examples, {summary.links} links"
    )
    for operation in operations(spec).values():
        print(f"  {operation.operation_id:<22} {operation.label:<55} {len(operation.errors):>3} codes")
    return EXIT_OK


def _diff(spec: dict, path: Path, *, every_cosmetic: bool, as_json: bool) -> int:  # type: ignore[type-arg]
    description = read_description(path)
    differences, absent = diff(spec, description)
    if len(absent) == len(operations(spec)):
        raise DescriptionError(f"{path} describes none of the spec's operations (no path and method in common)")
    if as_json:
        rows = [{**asdict(difference), "impact": difference.impact.value} for difference in differences]
        print(json.dumps({"differences": rows, "absent": absent, "hard": len(hard(differences))}, indent=2))
    else:
        for line in render(differences, absent, description, every_cosmetic=every_cosmetic):
            print(line)
    return EXIT_DIFFERENT if hard(differences) else EXIT_OK
