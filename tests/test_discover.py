"""`conformance discover`: the profile snippet that pins what works on a target, over real HTTP.

The target decides otherwise than the reference server's defaults (ownership as a fraction, oldest first): the
snippet pins the candidate that provokes total_person_ownership_exceeded there and both decisions, and a profile made
of it gives a clean run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.cli import main
from conformance.engine.config import resolve_config
from conformance.engine.options import ConfigError
from conformance.reference.server import RunningServer, ServerOptions
from conformance.reference.service import Settings

KEY = "sk_test_reference_secret"
REFERENCE = yaml.safe_load((Path(__file__).resolve().parents[1] / "profiles" / "reference.yaml").read_text("utf-8"))
CHOICES = {"percent_ownership_scale": "fraction", "list_order": "oldest_first", "person_token_lifetime_seconds": 1}


@pytest.fixture(scope="module")
def target() -> Iterator[str]:
    with RunningServer(ServerOptions(settings=Settings.deciding(**CHOICES))) as server:
        yield server.url


def _profile(path: Path, **settings: Any) -> str:
    keys = {name: REFERENCE[name] for name in ("api_key", "publishable_key")}
    path.write_text(yaml.safe_dump({**keys, **settings}), encoding="utf-8")
    return str(path)


def test_the_snippet_pins_what_works_and_a_profile_of_it_gives_a_clean_run(
    target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    known = _profile(tmp_path / "known.yaml", fixtures=REFERENCE["fixtures"])
    snippet = tmp_path / "discovered.yaml"
    assert main(["discover", "--base-url", target, "--profile", known, "--output", str(snippet), "--workers", "4"]) == 0
    assert "0 not provoked" in capsys.readouterr().out
    found = yaml.safe_load(snippet.read_text(encoding="utf-8"))
    assert found["triggers"]["create_person/total_person_ownership_exceeded"] == {"candidate": "two owners of 0.6 each"}
    assert {name: found["decisions"][name] for name in CHOICES} == {**CHOICES, "person_token_lifetime_seconds": 1.0}

    merged = _profile(tmp_path / "merged.yaml", fixtures=REFERENCE["fixtures"], **found)
    reports = tmp_path / "reports"
    status = main(["run", "--base-url", target, "--profile", merged, "--only", "error-codes,semantics,v1-tokens",
                   "--report-dir", str(reports), "--workers", "4"])
    assert status == 0, capsys.readouterr().out[-3000:]


def test_codes_no_candidate_provokes_are_listed_with_each_answer(target: str, tmp_path: Path) -> None:
    bare = _profile(tmp_path / "bare.yaml")  # no fixtures: the platform keys and special accounts are unknown
    snippet = tmp_path / "discovered.yaml"
    assert main(["discover", "--base-url", target, "--profile", bare, "--output", str(snippet)]) == 0
    text = snippet.read_text(encoding="utf-8")
    assert "# not provoked: create_person/platform_registration_required: the suite's trigger: needs fixture" in text


def test_a_pinned_candidate_must_be_one_of_the_suite(tmp_path: Path) -> None:
    triggers = {"create_person/unsupported_state": {"candidate": "a state of mind"}}
    profile = _profile(tmp_path / "p.yaml", base_url="http://127.0.0.1:9", triggers=triggers)
    with pytest.raises(ConfigError, match="names no candidate of the suite for unsupported_state .it has 'the armed"):
        resolve_config({"profile": profile}, environ={})
