"""The `conformance` command."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence

from conformance.engine.options import BY_NAME, Surface, on
from conformance.spec_commands import add_spec_commands, spec_command

EXIT_OK = 0
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="conformance", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    add_spec_commands(commands)
    run = commands.add_parser(
        "run", help="run the conformance suite against a target (default: the embedded reference server)"
    )
    for option in on(Surface.CLI):
        run.add_argument(option.flag, **option.argument())
    replay = commands.add_parser(
        "replay", help="run a saved run's findings (or the checks named) again, against its target or another"
    )
    replay.add_argument("results", help="path of the saved run's results.json")
    replay.add_argument(
        "--check", action="append", metavar="ID", help="a result or check id to replay (repeat; default: every finding)"
    )
    _take(
        replay,
        "base_url",
        "api_key",
        "profile",
        base_url="another target (default: the saved run's)",
        profile="its profile (default: the saved run's)",
    )
    diff = commands.add_parser(
        "diff", help="run the scenarios and semantic checks against two targets and compare their answers"
    )
    _take(diff, "base_url", "api_key", "profile", base_url="side a (default: the embedded reference server)")
    diff.add_argument("--against", metavar="URL", help="side b's base URL")
    diff.add_argument("--against-api-key", metavar="KEY", help="side b's secret key (or CONFORMANCE_AGAINST_API_KEY)")
    diff.add_argument("--against-profile", metavar="FILE", help="side b's profile")
    _take(
        diff,
        "only",
        "seed",
        "report_dir",
        "pace",
        "timeout",
        only="categories to compare (default error-code,semantics,v1-tokens)",
        report_dir="where diff-<time>/ is written (default reports)",
    )
    diff.add_argument("--saved", nargs=2, metavar="RESULTS", help="compare two saved results.json instead of running")
    discover = commands.add_parser(
        "discover", help="find which candidate triggers and decisions work on a target; write the profile snippet"
    )
    _take(
        discover,
        "base_url",
        "api_key",
        "profile",
        "pace",
        "timeout",
        "workers",
        profile="its profile so far (keys, fixtures)",
    )
    discover.add_argument("--output", help="where the snippet is written (default discovered-profile.yaml)")
    init = commands.add_parser("init", help="write a commented starter profile for a new target")
    _take(init, "base_url", base_url="the target's base URL (default http://127.0.0.1:8080)")
    init.add_argument("--output", help="the file to write (default conformance-profile.yaml)")
    init.add_argument("--force", action="store_true", help="write over an existing file")
    report = commands.add_parser("report", help="render the HTML report again from a saved results.json")
    report.add_argument("results", help="path of a run's results.json")
    report.add_argument("--output", help="where to write the HTML (default: report.html beside results.json)")
    report.add_argument("--previous", help="a previous run's results.json, to show what changed")
    serve = commands.add_parser("serve", help="run the reference server in the foreground")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=12111, help="port to listen on (default 12111)")
    serve.add_argument(
        "--database", default=":memory:", help="SQLite file that keeps the data across restarts (default: in memory)"
    )
    serve.add_argument(
        "--decide",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="take another alternative of a decision (repeat; conformance spec decisions lists them)",
    )
    serve.add_argument(
        "--token-lifetime",
        type=float,
        help="person token lifetime in seconds (--decide person_token_lifetime_seconds=...)",
    )
    serve.add_argument(
        "--age-limit", type=int, help="minimum age of a representative (--decide representative_age_limit=...)"
    )
    serve.add_argument(
        "--rate-limit", type=float, default=None, help="requests per second per account before 429 (default: no limit)"
    )
    serve.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        help="an accepted API key (repeat; default: the documented fixture keys)",
    )
    return parser


def _take(parser: argparse.ArgumentParser, *names: str, **helps: str) -> None:
    """Run options another command takes too: the same flag and metavar as the table's, its own help where given."""
    for name in names:
        option = BY_NAME[name]
        parser.add_argument(option.flag, **{**option.argument(), **({"help": helps[name]} if name in helps else {})})


def _serve(args: argparse.Namespace) -> int:
    from conformance.engine.config import statement
    from conformance.engine.options import ConfigError
    from conformance.reference.server import ServerOptions, keys_or_default, serve_forever
    from conformance.reference.service import Settings

    if (
        (args.token_lifetime is not None and args.token_lifetime <= 0)
        or (args.age_limit is not None and args.age_limit < 0)
        or (args.rate_limit is not None and args.rate_limit <= 0)
    ):
        print(
            "conformance: --token-lifetime and --rate-limit must be positive, --age-limit not negative", file=sys.stderr
        )
        return EXIT_USAGE
    shorthands = {"person_token_lifetime_seconds": args.token_lifetime, "representative_age_limit": args.age_limit}
    try:
        choices = {name: value for name, value in shorthands.items() if value is not None}
        choices.update(statement(text) for text in args.decide)
        settings = Settings.deciding(rate_limit=args.rate_limit, **choices)
    except (ConfigError, ValueError) as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        options = ServerOptions(
            host=args.host,
            port=args.port,
            database=args.database,
            keys=keys_or_default(args.api_keys),
            settings=settings,
        )
        print(f"reference server on http://{args.host}:{args.port} (database {args.database})", flush=True)
        serve_forever(options)
    except (ValueError, OSError) as exc:
        print(f"conformance: cannot serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def command() -> int:
    """The `conformance` command (and `python -m conformance`): `main`, then an exit that does not collect the
    run's garbage object by object (half a second after a gate); the objects stay alive until the OS frees them."""
    status = main()
    gc.freeze()
    return status


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _dispatch(argv)
    except KeyboardInterrupt:  # outside a run's own handling (start-up, writing): no traceback
        print("conformance: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _dispatch(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "spec":
        return spec_command(args)
    if args.command == "run":
        from conformance.console import run_command

        return run_command(vars(args))
    if args.command == "replay":
        from conformance.replay import replay_command

        return replay_command(vars(args))
    if args.command == "diff":
        if not args.against and not args.saved:
            parser.error("diff needs --against URL (side b), or --saved A.json B.json")
        from conformance.differential import diff_command

        return diff_command(vars(args))
    if args.command == "discover":
        from conformance.discovery import discover_command

        return discover_command(vars(args))
    if args.command == "init":
        from conformance.init import init_command

        return init_command(vars(args))
    if args.command == "report":
        from conformance.console import report_command

        return report_command(args.results, args.output, args.previous)
    if args.command == "serve":
        return _serve(args)
    parser.error(f"unknown command {args.command}")  # exits
