"""`conformance init`: a commented starter profile for a new target.

Written from the tables the suite runs on, so that it names every setting there is and no other: the profile keys of
the run options, the fixtures (conformance/engine/fixtures.py), the operations and decisions of the spec.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml


def starter_profile(base_url: str) -> str:
    from conformance.engine.fixtures import FIXTURES
    from conformance.engine.options import Surface, on
    from conformance.spec import load_spec, operations
    from conformance.spec.decisions import decisions

    spec = load_spec()
    lines = [
        "# A target profile for the Stripe v2 Persons conformance suite (conformance run --profile THIS_FILE).",
        "# Written by `conformance init`; every setting the suite reads is here, commented out where it has a default.",
        "description: my implementation",
        f"base_url: {_scalar(base_url)}",
        "# api_key: better in CONFORMANCE_API_KEY, never in a committed file",
    ]
    for option in on(Surface.PROFILE):
        if option.name not in ("base_url", "api_key"):
            lines.append(f"# {option.name}:  # {option.help}")
    lines += [
        "",
        "# The operations the target implements; the others are not exercised (default: all).",
        "capabilities:",
    ]
    lines.append("  operations:")
    lines += [f"    - {operation_id}" for operation_id in operations(spec)]
    lines += [
        "",
        "# Values the suite cannot make on the target; a code that needs a missing one is not exercised.",
        "fixtures:",
    ]
    lines += [f"  # {name}:  # {meaning}" for name, meaning in FIXTURES.items()]
    lines += [
        "",
        "# The target's choices where Stripe publishes nothing: stated ones are checked strictly, `any` is observed",
        "# and reported (conformance discover finds them; conformance spec decisions explains each).",
        "decisions:",
    ]
    for decision in decisions(spec).values():
        choices = ", ".join(map(str, decision.alternatives))
        if decision.description:
            lines.append(f"  # {textwrap.shorten(decision.description, 110, placeholder='...')}")
        lines.append(f"  {decision.name}: any  # {choices}; the reference server takes {decision.default}")
    lines += [
        "",
        "# Requests that provoke a code on this target, by [operation_id/]code: {method, path, json_body?, form?,",
        "# key_fixture?} (path may use {account_id} and {person_id}), or {candidate: NAME}, one of the suite's.",
        "triggers: {}",
        "",
        "# Existing accounts to lease instead of creating any (when the key cannot create accounts):",
        "# accounts:",
        "#   - {id: acct_..., entity_type: company}",
        "",
        "# coverage:",
        "#   min_exercised: 90  # percent of the results that must be exercised for the run to conform",
        "",
        "# Findings the target will never fix (result or check id: reason); for those it will, use --baseline.",
        "expected_failures: {}",
    ]
    return "\n".join(lines) + "\n"


def _scalar(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def init_command(arguments: dict[str, Any]) -> int:
    output = Path(arguments.get("output") or "conformance-profile.yaml")
    if output.exists() and not arguments.get("force"):
        print(f"conformance: {output} exists; pass --force to write over it", file=sys.stderr)
        return 2
    try:
        output.write_text(starter_profile(arguments.get("base_url") or "http://127.0.0.1:8080"), encoding="utf-8")
    except OSError as exc:
        print(f"conformance: cannot write {output}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"{output}: a starter profile; then `conformance run --profile {output}`")
    return 0
