"""`conformance diff`: the same checks against two targets, compared after explicit normalising rules.

Over real HTTP: the reference server against itself agrees; against itself with one decision switched, exactly that
difference is reported. The normalising rules are held one by one on small answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main
from conformance.differential import answers, compare, shape
from conformance.reference.server import RunningServer, ServerOptions
from conformance.reference.service import Settings

KEY = "sk_test_reference_secret"
PROFILE = str(Path(__file__).resolve().parents[1] / "profiles" / "reference.yaml")
ORDER = "semantics/list-returns-every-person-once/order"


def _exchange(body: Any, status: int = 200, operation_id: str | None = "retrieve_person") -> dict[str, Any]:
    return {"operation_id": operation_id, "status": status, "response_body": json.dumps(body)}


def test_values_are_compared_by_type_but_codes_types_and_object_names_by_value() -> None:
    person = {"id": "person_1", "object": "v2.core.person", "created": "2026-01-01T00:00:00Z", "given_name": "A"}
    other = {**person, "id": "person_2", "created": "2027-05-05T10:00:00Z", "given_name": "B"}
    assert shape(person) == shape(other)
    assert shape({**person, "object": "v2.core.account"}) != shape(person)
    assert shape({**person, "given_name": None}) != shape(person)  # a string became null
    assert shape({**person, "metadata": {"a": "1"}}) == shape({**person, "metadata": {"b": "2", "c": "3"}})
    assert shape({"data": [1, 2, 3]}) == shape({"data": [4]}) != shape({"data": ["4"]})  # lengths do not count
    refused = {"error": {"type": "invalid_request_error", "code": "email_invalid", "message": "x"}}
    assert list(answers([_exchange(refused, 400)])) == ["retrieve_person 400 invalid_request_error email_invalid"]
    assert answers([_exchange({}, operation_id=None)]) == {}  # set-up calls are not compared
    polled = [_exchange(person), _exchange(other), _exchange(person)]
    assert answers(polled) == answers([_exchange(person)])  # repeated answers count once


def _result(result_id: str, status: str, *exchanges: dict[str, Any], **observed: Any) -> dict[str, Any]:
    return {"check_id": result_id, "status": status, "exchanges": list(exchanges), "observed": observed, "detail": ""}


def test_compare_sorts_results_into_agreements_differences_and_one_sided() -> None:
    a = {"results": [_result("x/same", "passed", _exchange({"id": "1"})), _result("x/status", "passed"),
                     _result("x/only-a", "passed"), _result("x/neither", "not exercised"),
                     _result("x/decided", "passed", list_order="newest_first")]}
    b = {"results": [_result("x/same", "passed", _exchange({"id": "2"})), _result("x/status", "failed"),
                     _result("x/only-a", "not exercised"), _result("x/decided", "passed", list_order="oldest_first")]}
    comparison = compare(a, b)
    assert comparison.agreements == ["x/same"] and comparison.only == (["x/only-a"], []) and comparison.neither == ["x/neither"]
    assert {d["id"]: d["differences"] for d in comparison.differences} == {
        "x/decided": ["decision list_order: 'newest_first' / 'oldest_first'"],
        "x/status": ["status: passed / failed"],
    }


@pytest.fixture(scope="module")
def targets() -> Iterator[tuple[str, str, str]]:
    """Two servers that decide alike, and one that lists oldest first."""
    with RunningServer(ServerOptions()) as one, RunningServer(ServerOptions()) as two, RunningServer(
        ServerOptions(settings=Settings.deciding(list_order="oldest_first"))
    ) as switched:
        yield one.url, two.url, switched.url


def _diff(a: str, b: str, reports: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, dict[str, Any]]:
    monkeypatch.setenv("CONFORMANCE_API_KEY", KEY)
    monkeypatch.delenv("CONFORMANCE_AGAINST_API_KEY", raising=False)
    status = main(["diff", "--base-url", a, "--profile", PROFILE, "--against", b, "--against-profile", PROFILE,
                   "--against-api-key", KEY, "--report-dir", str(reports)])
    folder = next(reports.glob("diff-*"))
    assert (folder / "diff.html").read_text(encoding="utf-8").count("<h2>") == 6
    return status, json.loads((folder / "diff.json").read_text(encoding="utf-8"))


def test_the_reference_server_agrees_with_itself(
    targets: tuple[str, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    status, diff = _diff(targets[0], targets[1], tmp_path, monkeypatch)
    assert status == 0 and diff["agrees"] and diff["differences"] == []
    assert diff["counts"]["agreements"] > 150 and diff["counts"]["only_a"] == diff["counts"]["only_b"] == 0


def test_one_decision_switched_is_exactly_one_difference(
    targets: tuple[str, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    status, diff = _diff(targets[0], targets[2], tmp_path, monkeypatch)
    assert status == 1 and not diff["agrees"]
    assert [(d["id"], d["differences"]) for d in diff["differences"]] == [
        (ORDER, ["decision list_order: 'newest_first' / 'oldest_first'"])
    ]


def test_two_saved_runs_compare_without_a_target(tmp_path: Path) -> None:
    for name, order in (("a.json", "newest_first"), ("b.json", "oldest_first")):
        (tmp_path / name).write_text(json.dumps({"results": [_result(ORDER, "passed", list_order=order)]}), encoding="utf-8")
    assert main(["diff", "--saved", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--report-dir", str(tmp_path)]) == 1


def test_an_unusable_side_is_a_clear_error_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from .hostile import closed_port

    (tmp_path / "list.json").write_text("[1]", encoding="utf-8")
    assert main(["diff", "--saved", str(tmp_path / "list.json"), str(tmp_path / "list.json")]) == 2
    assert "is not a results.json" in capsys.readouterr().err
    down = f"http://127.0.0.1:{closed_port()}"
    assert main(["diff", "--base-url", down, "--api-key", KEY, "--against", down, "--against-api-key", KEY]) == 3
    err = capsys.readouterr().err
    assert "target unreachable" in err and "Traceback" not in err
