"""The `conformance` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from conformance.spec import SpecError, load_spec, operations
from conformance.spec.summary import summarize

EXIT_OK = 0
EXIT_USAGE = 2


def _print_spec_summary(spec_path: str | None) -> int:
    try:
        spec = load_spec(spec_path)
    except SpecError as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return EXIT_USAGE
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="conformance", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    spec = commands.add_parser("spec", help="validate the OpenAPI document and print its summary")
    spec.add_argument("--spec", help="path of the OpenAPI document (default: spec/openapi.yaml)")
    run = commands.add_parser("run", help="run the conformance suite (for now: validate the spec and summarise it)")
    run.add_argument("--spec", help="path of the OpenAPI document (default: spec/openapi.yaml)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("spec", "run"):
        return _print_spec_summary(args.spec)
    parser.error(f"unknown command {args.command}")
    return EXIT_USAGE
