"""docs/ci/conformance.yml: a workflow a team copies, so its commands must be ones the suite accepts."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from conformance.cli import build_parser
from conformance.engine.options import BY_NAME

WORKFLOW = Path(__file__).resolve().parents[1] / "docs" / "ci" / "conformance.yml"


def test_the_workflow_runs_the_gate_with_options_the_cli_accepts_and_uploads_the_report() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    steps = workflow["jobs"]["conformance"]["steps"]
    gate = next(step for step in steps if str(step.get("run", "")).startswith("conformance run"))
    arguments = vars(build_parser().parse_args(shlex.split(gate["run"])[1:]))
    # Typed as resolve_config types them (it would also read the profile, which exists only in the team's repository).
    given = {name: BY_NAME[name].parse(name, value) for name, value in arguments.items() if name in BY_NAME and value}
    assert given["report_dir"] == Path("reports") and given["profile"] and given["min_exercised"] == 90
    assert "secrets.CONFORMANCE_API_KEY" in gate["env"]["CONFORMANCE_API_KEY"]  # never a key in the file
    upload = next(step for step in steps if str(step.get("uses", "")).startswith("actions/upload-artifact"))
    assert upload["if"] == "always()" and upload["with"]["path"] == "reports/latest/"
