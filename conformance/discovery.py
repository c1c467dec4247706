"""`conformance discover`: which of the suite's candidate triggers provoke each code on a target, and which
alternative the target takes for each decision, written as the profile snippet that pins them.

Every candidate of every code is tried on its own (fresh set-up each), not only up to the first that works, and the
semantic checks run with every decision stated `any`, so that each decision is observed. The snippet pins, for a code
with several candidates, the first one that worked; for a decision, the alternative every observation agreed on. Codes
no candidate provoked are listed with each candidate's answer. A user points it at the sandbox once and keeps the
result in the target's profile.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from conformance.engine.options import ConfigError


@dataclass
class Discovered:
    """What discovery found on one target."""

    base_url: str
    triggers: dict[str, str] = field(default_factory=dict)  # operation/code -> the candidate to pin
    worked: dict[str, list[str]] = field(default_factory=dict)  # operation/code -> every candidate that worked
    unprovoked: dict[str, list[str]] = field(default_factory=dict)  # operation/code -> why each candidate failed
    decisions: dict[str, Any] = field(default_factory=dict)  # decision -> the alternative observed
    undecided: dict[str, list[Any]] = field(default_factory=dict)  # decision -> observations that disagree

    def snippet(self) -> str:
        """The profile keys that pin what was found, commented with how."""
        lines = [f"# conformance discover against {self.base_url}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"]
        if self.triggers:
            lines.append("triggers:")
            for key, candidate in sorted(self.triggers.items()):
                others = [name for name in self.worked[key] if name != candidate]
                lines.append(f"  {key}:" + (f"  # also worked: {'; '.join(others)}" if others else ""))
                lines.append(f"    candidate: {_scalar(candidate)}")
        if self.decisions:
            lines.append("decisions:")
            lines += [f"  {name}: {_scalar(value)}" for name, value in sorted(self.decisions.items())]
        for name, values in sorted(self.undecided.items()):
            lines.append(f"# {name}: observed {', '.join(map(repr, values))}: not pinned")
        for key, reasons in sorted(self.unprovoked.items()):
            lines.append(f"# not provoked: {key}: {' | '.join(reasons)[:300]}")
        return "\n".join(lines) + "\n"


def _scalar(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=1000).strip().removesuffix("...").strip()


def discover(config: Any, base_url: str, progress: Callable[[str], None] = lambda line: None) -> Discovered:
    """Try every candidate of every code (one unit each), then observe the decisions through the semantic checks."""
    from conformance.engine.categories import Category
    from conformance.engine.checks.triggers import candidates
    from conformance.engine.plan import Environment, code_unit, plan
    from conformance.engine.results import Status
    from conformance.engine.runner import ensure_reachable
    from conformance.spec.decisions import decisions

    environment = Environment(config, base_url)
    ensure_reachable(environment)
    found = Discovered(base_url)
    codes = [(operation, code) for operation in environment.operations.values() for code in operation.errors]

    def ladder_outcomes(operation: Any, code: str) -> list[tuple[str, Status, str]]:
        outcomes = []
        for candidate in candidates(code):
            result = code_unit(operation, code, candidate).run(environment)[0][0]
            outcomes.append((candidate.name, result.status, result.detail))
        return outcomes

    # Codes (each with its ladder in turn) and semantic checks are independent units, run as a run runs them:
    # --workers at a time, reported in the spec's order.
    with ThreadPoolExecutor(max_workers=config.workers) as pool:
        ladders = [pool.submit(ladder_outcomes, operation, code) for operation, code in codes]
        for (operation, code), ladder in zip(codes, ladders, strict=True):
            key = f"{operation.operation_id}/{code}"
            outcomes = ladder.result()
            worked = [name for name, status, _ in outcomes if status == Status.PASSED]
            if worked:
                found.worked[key] = worked
                if len(outcomes) > 1:
                    found.triggers[key] = worked[0]
            else:
                reasons = [detail or f"{name}: {status.value}" for name, status, detail in outcomes]  # names it
                found.unprovoked[key] = reasons or ["the suite has no trigger for it"]
            pin = f" ({worked[0]})" if len(outcomes) > 1 and worked else ""
            progress(f"{'found' if worked else 'none ':<6} {key}{pin}")
        semantic = [unit for unit in plan(config, environment.spec) if unit.category == Category.SEMANTICS]
        observed: dict[str, list[Any]] = {}
        for outcome in pool.map(lambda unit: unit.run(environment), semantic):
            for result in outcome[0]:
                for name, value in result.observed.items():
                    observed.setdefault(name, []).append(value)
    declared = decisions(environment.spec)
    for name, values in observed.items():
        # Only alternatives the decision allows: a check that could not look reports a marker ("not observed").
        distinct = [
            value for value in dict.fromkeys(values) if value is not None and declared[name].problem(value) is None
        ]
        if len(distinct) == 1:
            found.decisions[name] = distinct[0]
        elif distinct:
            found.undecided[name] = distinct
    return found


def discover_command(arguments: dict[str, Any]) -> int:
    from conformance.console import printable
    from conformance.engine.config import resolve_config
    from conformance.engine.errors import KeyRefused, TargetUnreachable
    from conformance.spec import load_spec
    from conformance.spec.decisions import observing_every_decision
    from conformance.targets import target

    statements = observing_every_decision(load_spec())
    cli = {name: arguments.get(name) for name in ("base_url", "api_key", "profile", "pace", "timeout", "workers")}
    try:
        config = resolve_config({**cli, "decide": statements}, environ=dict(os.environ))
        with target(config) as base_url:
            print(f"conformance: discovering on {base_url}", flush=True)
            found = discover(config, base_url, progress=lambda line: print(printable(line), flush=True))
    except (ConfigError, KeyRefused, TargetUnreachable) as exc:
        print(f"conformance: {printable(str(exc))}", file=sys.stderr)
        return 2
    snippet = found.snippet()
    output = Path(arguments.get("output") or "discovered-profile.yaml")
    try:
        output.write_text(snippet, encoding="utf-8")
    except OSError as exc:
        print(snippet)
        print(f"conformance: cannot write {output}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(
        f"{len(found.worked)} codes provoked ({len(found.triggers)} pinned), {len(found.unprovoked)} not provoked,"
        f" {len(found.decisions)} decisions observed ({len(found.undecided)} not agreed): {output}"
    )
    return 0
