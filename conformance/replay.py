"""`conformance replay RESULTS.json`: run a saved run's findings again, against the same target or another.

A finding's requests cannot be sent again byte for byte: they name accounts, persons and tokens that its check made
on that target, which another target (or the same one, later) does not have. So replay runs each named check again as
the saved run did (its command gives the seed, the examples, the categories and the stated decisions): the same set-up,
the same requests, judged by the same expectations. It reports each result beside its saved status.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

from conformance.engine.options import BY_NAME, ConfigError

EXIT_PASSED, EXIT_FAILING, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


def saved_run(path: Path) -> dict[str, Any]:
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise ConfigError(f"{path} is not a results.json: {exc}") from exc
    if not isinstance(run, dict) or not isinstance(run.get("results"), list) or not isinstance(run.get("command"), str):
        raise ConfigError(f"{path} is not a results.json (no results and command)")
    return run


def saved_options(run: dict[str, Any]) -> dict[str, Any]:
    """The run options of the saved run, read back from the command it recorded to reproduce it."""
    from conformance.cli import build_parser

    words = [word for word in shlex.split(run["command"]) if not word.startswith("CONFORMANCE_API_KEY=")]
    if words[:2] != ["conformance", "run"]:
        raise ConfigError(f"the saved command is not a `conformance run`: {run['command'][:100]}")
    try:
        parsed = vars(build_parser().parse_args(words[1:]))
    except SystemExit:  # argparse has printed why
        raise ConfigError(f"the saved command cannot be read again: {run['command'][:200]}") from None
    return {name: value for name, value in parsed.items() if name in BY_NAME}


def chosen(run: dict[str, Any], checks: list[str] | None) -> list[str]:
    """The result ids to replay: those named (a check id names all its results), else the saved run's findings."""
    saved = [result["check_id"] for result in run["results"] if isinstance(result, dict) and "check_id" in result]
    if not checks:
        return [
            result["check_id"]
            for result in run["results"]
            if result.get("status") in ("failed", "error") and not result.get("expected_failure")
        ]
    picked = [result_id for result_id in saved if any(_names(check, result_id) for check in checks)]
    unknown = [check for check in checks if not any(_names(check, result_id) for result_id in saved)]
    if unknown:
        raise ConfigError(f"the saved run has no result {', '.join(unknown)}")
    return picked


def _names(check: str, result_id: str) -> bool:
    return result_id == check or result_id.startswith(check + "/")


def replay_command(arguments: dict[str, Any]) -> int:
    from conformance.console import printable

    try:
        run = saved_run(Path(arguments["results"]))
        wanted = chosen(run, arguments.get("check"))
        if not wanted:
            print("conformance: the saved run has no finding to replay (name one with --check)")
            return EXIT_PASSED
        options = saved_options(run)
        for name in ("base_url", "api_key", "profile"):
            if arguments.get(name):
                options[name] = arguments[name]
        return _replay(run, options, wanted, printable)
    except ConfigError as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _replay(run: dict[str, Any], options: dict[str, Any], wanted: list[str], printable: Any) -> int:
    from conformance.engine.categories import Category
    from conformance.engine.config import resolve_config
    from conformance.engine.errors import KeyRefused, TargetUnreachable
    from conformance.engine.plan import Environment, plan
    from conformance.engine.results import Status
    from conformance.engine.runner import ensure_reachable
    from conformance.targets import target

    config = resolve_config({**options, "baseline": None, "baseline_update": None, "baseline_prune": None})
    before = {result["check_id"]: result.get("status") for result in run["results"]}
    over_a_run = [result_id for result_id in wanted if result_id.startswith(f"{Category.VALIDATION}/")]
    units = [unit for unit in plan(config) if set(unit.result_ids) & set(wanted)]
    with target(config) as base_url:
        environment = Environment(config, base_url)
        try:
            ensure_reachable(environment)
        except (TargetUnreachable, KeyRefused) as exc:
            print(f"conformance: {printable(str(exc))}", file=sys.stderr)
            return EXIT_UNREACHABLE
        print(f"conformance: replaying {len(wanted)} results of {run.get('started', '?')} on {base_url}")
        failing = 0
        for unit in units:
            for result in unit.run(environment)[0]:
                if result.check_id not in wanted:
                    continue
                was = before.get(result.check_id, "?")
                failing += result.gating
                change = _change(was, result.status.value)
                detail = f"  {printable(result.detail[:300])}" if result.status != Status.PASSED else ""
                print(f"{change:<14} {result.check_id} (was {was}, now {result.status.value}){detail}")
    for result_id in over_a_run:
        print(
            f"{'not replayed':<14} {result_id}: judged over a whole run's responses; replay the checks that sent them"
        )
    return EXIT_FAILING if failing else EXIT_PASSED


def _change(was: str, now: str) -> str:
    failing = ("failed", "error")
    if was in failing and now == "passed":
        return "FIXED"
    if was in failing and now in failing:
        return "STILL FAILING"
    if now in failing:
        return "NOW FAILING"
    return now.upper()
