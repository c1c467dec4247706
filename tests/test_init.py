"""`conformance init`: a starter profile that names every setting the suite reads, and that the suite accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conformance.cli import main
from conformance.engine.config import resolve_config
from conformance.engine.fixtures import FIXTURES
from conformance.engine.options import Surface, on
from conformance.spec import load_spec, operations
from conformance.spec.decisions import ANY, decisions


def test_the_starter_profile_names_every_setting_and_is_accepted_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "profile.yaml"
    assert main(["init", "--output", str(path), "--base-url", "http://127.0.0.1:9"]) == 0
    text = path.read_text(encoding="utf-8")
    profile = yaml.safe_load(text)
    spec = load_spec()
    assert profile["capabilities"]["operations"] == list(operations(spec))
    assert profile["decisions"] == {name: ANY for name in decisions(spec)}
    assert all(f"# {name}:" in text for name in FIXTURES)
    assert all(f"# {option.name}:" in text for option in on(Surface.PROFILE) if option.name not in ("base_url",))
    assert all(len(line) <= 120 for line in text.splitlines())
    config = resolve_config({"profile": str(path), "api_key": "sk_test_init_0000"}, environ={})
    assert config.base_url == "http://127.0.0.1:9" and set(config.decisions.values()) == {ANY}


def test_init_does_not_write_over_a_file_unless_forced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text("mine\n", encoding="utf-8")
    assert main(["init", "--output", str(path)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err and path.read_text(encoding="utf-8") == "mine\n"
    assert main(["init", "--output", str(path), "--force"]) == 0 and "decisions:" in path.read_text(encoding="utf-8")


def test_a_profile_naming_a_fixture_the_suite_does_not_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump({"base_url": "http://127.0.0.1:9", "fixtures": {"rate_limted_account": "acct_1"}}))
    with pytest.raises(Exception, match="fixtures rate_limted_account: not fixtures the suite reads"):
        resolve_config({"profile": str(path), "api_key": "sk_test_init_0000"}, environ={})
