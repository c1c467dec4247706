"""`conformance diff`: the same scenarios and semantic checks against two targets, and how their answers differ.

This is how a team learns what Stripe does where it publishes nothing: point one side at Stripe's sandbox, the other
at an implementation. Every decision is stated `any` on both sides, so that each check observes the alternative a
target takes instead of judging it, and the observations are compared.

What is compared, per result id, after normalising (the rules are NORMALISING, and tests hold them):
- the status of the result (passed, failed, error; not exercised on one side only is "only one side ran it");
- the decisions it observed (list order, nested update merge or replace, idempotency scope...);
- its answers: for every operation it called, each distinct (operation, HTTP status, error type, error code) with the
  shape of the body: which members are present and the JSON type of each, recursively.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

NORMALISING = (
    "set-up calls (no operation under test: accounts, v1 objects) are not compared",
    "ids, timestamps, messages and every other value are compared by JSON type only (string, number, boolean, null)",
    "the values of error.type, error.code and of every `object` member are compared as values",
    "metadata is compared by type: its keys are the caller's",
    "a list's shape is the set of its items' shapes, so its length and order do not count",
    "repeated answers of the same operation, status and code (polling, a burst) count once",
)
KEPT_VALUES = ("object",)  # members compared by value wherever they are (error.type and code: the signature)


def shape(value: Any, member: str = "") -> Any:
    """The shape of a JSON value under the rules above."""
    if isinstance(value, dict):
        if member == "metadata":
            return "object"
        return {key: shape(item, key) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return sorted({json.dumps(shape(item), sort_keys=True) for item in value})
    if member in KEPT_VALUES and isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return "string"


def answers(exchanges: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """A result's answers: signature (operation, status, error type and code) -> the body's shape."""
    found: dict[str, Any] = {}
    for exchange in exchanges:
        if not exchange.get("operation_id"):
            continue
        try:
            body = json.loads(exchange.get("response_body") or "")
        except (ValueError, RecursionError):
            body = None
        error: dict[str, Any] = {}
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            error = body["error"]
        status = exchange.get("status")
        signature = " ".join(
            str(part)
            for part in (exchange["operation_id"], status if status is not None else "no answer", error.get("type"))
            + ((error.get("code"),) if error else ())
            if part is not None
        )
        found.setdefault(signature, shape(body))
    return found


@dataclass
class Comparison:
    """The results of two runs side by side."""

    sides: tuple[dict[str, Any], dict[str, Any]]  # each run's target facts
    agreements: list[str] = field(default_factory=list)
    differences: list[dict[str, Any]] = field(default_factory=list)  # {id, differences: [text], a, b}
    only: tuple[list[str], list[str]] = field(default_factory=lambda: ([], []))  # ids only side a / b could run
    neither: list[str] = field(default_factory=list)  # not exercised on either side

    @property
    def agrees(self) -> bool:
        return not self.differences

    def to_dict(self) -> dict[str, Any]:
        return {
            "agrees": self.agrees,
            "sides": list(self.sides),
            "normalising": list(NORMALISING),
            "counts": {
                "agreements": len(self.agreements),
                "differences": len(self.differences),
                "only_a": len(self.only[0]),
                "only_b": len(self.only[1]),
                "neither": len(self.neither),
            },
            "differences": self.differences,
            "only_a": self.only[0],
            "only_b": self.only[1],
            "neither": self.neither,
            "agreements": self.agreements,
        }


def compare(a: dict[str, Any], b: dict[str, Any]) -> Comparison:
    """Two results.json documents, result by result."""
    comparison = Comparison((a.get("target") or {}, b.get("target") or {}))
    left = {result["check_id"]: result for result in a.get("results", [])}
    right = {result["check_id"]: result for result in b.get("results", [])}
    for result_id in sorted(set(left) | set(right)):
        one, other = left.get(result_id), right.get(result_id)
        ran = [result is not None and result.get("status") != "not exercised" for result in (one, other)]
        if not any(ran):
            comparison.neither.append(result_id)
        elif not all(ran):
            comparison.only[0 if ran[0] else 1].append(result_id)
        else:
            assert one is not None and other is not None  # both ran
            found = _differences(one, other)
            if found:
                comparison.differences.append(
                    {"id": result_id, "differences": found, "a": _side(one), "b": _side(other)}
                )
            else:
                comparison.agreements.append(result_id)
    return comparison


def _side(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": result.get("status"),
        "detail": str(result.get("detail", ""))[:500],
        "observed": result.get("observed"),
    }


def _differences(one: dict[str, Any], other: dict[str, Any]) -> list[str]:
    found = []
    if one.get("status") != other.get("status"):
        found.append(f"status: {one.get('status')} / {other.get('status')}")
    observed_a, observed_b = one.get("observed") or {}, other.get("observed") or {}
    for name in sorted(set(observed_a) | set(observed_b)):
        if observed_a.get(name) != observed_b.get(name):
            found.append(f"decision {name}: {observed_a.get(name)!r} / {observed_b.get(name)!r}")
    answers_a, answers_b = answers(one.get("exchanges") or []), answers(other.get("exchanges") or [])
    for signature in sorted(set(answers_a) - set(answers_b)):
        found.append(f"answer only on a: {signature}")
    for signature in sorted(set(answers_b) - set(answers_a)):
        found.append(f"answer only on b: {signature}")
    for signature in sorted(set(answers_a) & set(answers_b)):
        if answers_a[signature] != answers_b[signature]:
            found.append(f"shape of {signature}: {_shape_difference(answers_a[signature], answers_b[signature])}")
    return found


def _shape_difference(a: Any, b: Any, where: str = "body") -> str:
    """The first place where two shapes part, as a path."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in b:
                return f"{where}.{key} only on a"
            if key not in a:
                return f"{where}.{key} only on b"
            if a[key] != b[key]:
                return _shape_difference(a[key], b[key], f"{where}.{key}")
    return f"{where}: {json.dumps(a)[:120]} / {json.dumps(b)[:120]}"


def write(comparison: Comparison, directory: Path) -> Path:
    """diff.json and diff.html in a new folder of `directory`; returns the folder."""
    from conformance.engine.client import redact
    from conformance.report.render import template

    folder = directory / ("diff-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"))
    folder.mkdir(parents=True, exist_ok=True)
    document = comparison.to_dict()
    (folder / "diff.json").write_text(redact(json.dumps(document, indent=2, ensure_ascii=False)), encoding="utf-8")
    (folder / "diff.html").write_text(redact(template("diff.html.j2").render(diff=document)), encoding="utf-8")
    return folder


COMPARED = "error-code,semantics,v1-tokens"  # what both sides run: the scenarios and the semantic checks


def diff_command(arguments: dict[str, Any]) -> int:
    """Run both sides (or read two saved results.json), compare, write diff.json and diff.html; 1 if they differ."""
    import sys

    from conformance.console import printable
    from conformance.engine.errors import KeyRefused, TargetUnreachable
    from conformance.engine.options import ConfigError

    try:
        if arguments.get("saved"):
            a, b = (_saved(Path(path)) for path in arguments["saved"])
        else:
            a, b = _run_side("a", arguments), _run_side("b", arguments)
    except TargetUnreachable as exc:
        print(f"conformance: target unreachable: {printable(str(exc))}", file=sys.stderr)
        return 3
    except (ConfigError, KeyRefused, OSError, ValueError) as exc:
        print(f"conformance: {printable(str(exc))}", file=sys.stderr)
        return 2
    comparison = compare(a, b)
    try:
        folder = write(comparison, Path(arguments.get("report_dir") or "reports"))
    except OSError as exc:
        print(f"conformance: cannot write the diff: {exc.strerror or exc}", file=sys.stderr)
        return 2
    counts = comparison.to_dict()["counts"]
    print(
        f"{'AGREE' if comparison.agrees else 'DIFFER'}: {counts['agreements']} agreements, {counts['differences']}"
        f" differences, {counts['only_a']} only on a, {counts['only_b']} only on b, {counts['neither']} on neither"
    )
    for difference in comparison.differences[:50]:
        print(f"  {difference['id']}: {'; '.join(difference['differences'])[:300]}")
    print(f"diff: {folder / 'diff.html'}  json: {folder / 'diff.json'}")
    return 0 if comparison.agrees else 1


def _saved(path: Path) -> dict[str, Any]:
    run = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(run, dict) or not isinstance(run.get("results"), list):
        raise ValueError(f"{path} is not a results.json (no results)")
    if not all(isinstance(result, dict) and isinstance(result.get("check_id"), str) for result in run["results"]):
        raise ValueError(f"{path} is not a results.json (a result without a check_id)")
    return run


# Side b takes nothing from the CONFORMANCE_* variables of side a: its own key comes from --against-api-key or this one.
AGAINST_KEY_VARIABLE = "CONFORMANCE_AGAINST_API_KEY"


def _run_side(side: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """One side's run, every decision stated `any` (observed, never judged), as results.json holds it. Side a is
    the run's usual target (--base-url, --api-key, --profile and the CONFORMANCE_* variables, else the embedded
    server); side b is --against, with its own --against-api-key and --against-profile only."""
    import os

    from conformance.engine.config import resolve_config
    from conformance.engine.options import Surface, on
    from conformance.engine.runner import run_suite
    from conformance.spec import load_spec
    from conformance.spec.decisions import observing_every_decision
    from conformance.targets import target

    environ = dict(os.environ)
    base_url, api_key, profile = (arguments.get(name) for name in ("base_url", "api_key", "profile"))
    if side == "b":
        variables = {option.variable for option in on(Surface.ENVIRONMENT)}
        environ = {name: value for name, value in environ.items() if name not in variables}
        base_url, profile = arguments["against"], arguments.get("against_profile")
        api_key = arguments.get("against_api_key") or os.environ.get(AGAINST_KEY_VARIABLE)
    statements = observing_every_decision(load_spec())
    cli = {"base_url": base_url, "api_key": api_key, "profile": profile, "only": arguments.get("only") or COMPARED}
    pacing = {name: arguments.get(name) for name in ("seed", "pace", "timeout")}  # the same for both sides
    config = resolve_config({**cli, **pacing, "decide": statements}, environ=environ)
    config.min_exercised = 0.0
    with target(config) as url:
        print(f"conformance: running {','.join(config.only)} on {url}", flush=True)
        run = run_suite(config, url)
    document: dict[str, Any] = run.to_dict()
    return document
