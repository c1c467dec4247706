"""`conformance replay`: a saved run's findings run again, against the same target or a second one, over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.reference.server import RunningServer, ServerOptions
from conformance.reference.service import Settings

KEY = "sk_test_reference_secret"
ORDER = "semantics/list-returns-every-person-once/order"


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, str]]:
    """The saved run's target (lists newest first) and a second one (oldest first, as the run states)."""
    with RunningServer(ServerOptions()) as first, RunningServer(
        ServerOptions(settings=Settings.deciding(list_order="oldest_first"))
    ) as second:
        yield first.url, second.url


@pytest.fixture(scope="module")
def saved(servers: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    reports = tmp_path_factory.mktemp("saved")
    arguments = ["run", "--base-url", servers[0], "--api-key", KEY, "--only", "semantics,error-codes"]
    assert main([*arguments, "--decide", "list_order=oldest_first", "--report-dir", str(reports)]) == 1
    return reports / "latest" / "results.json"


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFORMANCE_API_KEY", KEY)  # the saved command, like every saved output, holds no key


def test_a_finding_replayed_on_its_target_still_fails_and_on_a_fixed_one_passes(
    servers: tuple[str, str], saved: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(saved)]) == 1  # every finding of the saved run: the one, ORDER
    assert f"STILL FAILING  {ORDER} (was failed, now failed)" in capsys.readouterr().out
    assert main(["replay", str(saved), "--base-url", servers[1]]) == 0
    assert f"FIXED          {ORDER} (was failed, now passed)" in capsys.readouterr().out


def test_named_checks_replay_all_their_results_with_the_saved_runs_choices(
    servers: tuple[str, str], saved: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = "error-code/create_person/email_invalid"
    assert main(["replay", str(saved), "--check", code, "--check", "semantics/token-is-single-use"]) == 0
    out = capsys.readouterr().out
    assert f"PASSED         {code} (was passed, now passed)" in out
    assert out.count("semantics/token-is-single-use/") == 4 and ORDER not in out
    # The saved run stated oldest_first: so does the replay, and the second server agrees.
    assert main(["replay", str(saved), "--check", "semantics/list-returns-every-person-once", "--base-url", servers[1]]) == 0


def test_what_cannot_be_replayed_is_refused_with_the_reason(
    saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(saved), "--check", "semantics/no-such-check"]) == 2
    assert "the saved run has no result semantics/no-such-check" in capsys.readouterr().err
    broken = tmp_path / "results.json"
    broken.write_text("{not json", encoding="utf-8")
    assert main(["replay", str(broken)]) == 2
    assert "is not a results.json" in capsys.readouterr().err
    other = json.loads(saved.read_text(encoding="utf-8"))
    other["command"] = "rm -rf /"
    broken.write_text(json.dumps(other), encoding="utf-8")
    assert main(["replay", str(broken)]) == 2
    assert "the saved command is not a `conformance run`" in capsys.readouterr().err
