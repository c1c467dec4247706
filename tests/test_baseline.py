"""Baselines (`--baseline FILE`, `--baseline-update`, `--baseline-prune`), over real HTTP against the reference server.

The finding: the run states `list_order=oldest_first` while the server lists newest first, so exactly one result,
ORDER, fails. A server deciding oldest_first then fixes it.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main
from conformance.engine.config import resolve_config
from conformance.engine.options import ConfigError
from conformance.reference.server import RunningServer, ServerOptions
from conformance.reference.service import Settings

pytest_plugins = ["pytester"]

KEY = "sk_test_reference_secret"
ORDER = "semantics/list-returns-every-person-once/order"


@pytest.fixture(scope="module")
def newest_first() -> Iterator[str]:
    with RunningServer(ServerOptions()) as server:
        yield server.url


@pytest.fixture(scope="module")
def oldest_first() -> Iterator[str]:
    with RunningServer(ServerOptions(settings=Settings.deciding(list_order="oldest_first"))) as server:
        yield server.url


def _run(url: str, reports: Path, *options: str) -> tuple[int, dict[str, Any], Path]:
    """`conformance run` of the semantic checks, stating oldest_first; its exit status, results.json and run folder."""
    status = main(
        ["run", "--base-url", url, "--api-key", KEY, "--only", "semantics", "--decide", "list_order=oldest_first"]
        + ["--report-dir", str(reports), *options]
    )
    folder = (reports / "latest").resolve()
    return status, json.loads((folder / "results.json").read_text(encoding="utf-8")), folder


def _result(results: dict[str, Any], result_id: str) -> dict[str, Any]:
    return next(result for result in results["results"] if result["check_id"] == result_id)


def _write(path: Path, *findings: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"format": "conformance-baseline/1", "findings": list(findings)}), encoding="utf-8")
    return path


def test_a_finding_in_the_baseline_is_known_and_no_longer_fails_the_gate(
    newest_first: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONFORMANCE_API_KEY", raising=False)
    baseline = tmp_path / "baseline.json"
    status, results, _ = _run(newest_first, tmp_path / "first", "--baseline", str(baseline), "--baseline-update")
    assert status == 1 and _result(results, ORDER)["baseline"] == "new"  # the run judged by the empty baseline
    written = json.loads(baseline.read_text(encoding="utf-8"))
    assert [finding["id"] for finding in written["findings"]] == [ORDER]

    status, results, folder = _run(newest_first, tmp_path / "second", "--baseline", str(baseline))
    assert status == 0 and results["conforms"] and _result(results, ORDER)["status"] == "failed"
    assert _result(results, ORDER)["baseline"] == "known"
    assert {name: results["baseline"][name] for name in ("new", "known", "expired")} == {"new": 0, "known": 1, "expired": 0}
    case = next(case for case in ElementTree.parse(folder / "junit.xml").iter("testcase") if case.get("name") == ORDER)
    assert case.find("skipped") is not None and case.find("failure") is None  # a CI reading JUnit gates alike
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert re.search(r'data-baseline="known findings">Known findings \(1\)', html)
    assert re.search(r'data-baseline="new findings">New findings \(0\)', html)


def test_a_finding_the_baseline_does_not_list_fails_and_a_results_json_serves_as_a_baseline(
    newest_first: str, tmp_path: Path
) -> None:
    other = _write(tmp_path / "other.json", {"id": "semantics/some-other-check/assertion", "reason": "elsewhere"})
    status, results, _ = _run(newest_first, tmp_path / "new", "--baseline", str(other))
    assert status == 1 and _result(results, ORDER)["baseline"] == "new"
    assert results["baseline"]["not_checked"] == ["semantics/some-other-check/assertion"]

    previous = tmp_path / "new" / "latest" / "results.json"
    status, results, _ = _run(newest_first, tmp_path / "again", "--baseline", str(previous))
    assert status == 0 and _result(results, ORDER)["baseline"] == "known"


def test_an_expired_entry_fails_again_and_says_so(newest_first: str, tmp_path: Path) -> None:
    baseline = _write(tmp_path / "b.json", {"id": ORDER, "reason": "sorting lands in 2.0", "expires": "2001-01-31"})
    status, results, folder = _run(newest_first, tmp_path / "run", "--baseline", str(baseline))
    order = _result(results, ORDER)
    assert status == 1 and order["baseline"] == "expired"
    assert order["detail"].startswith("[baseline entry expired on 2001-01-31] observed list_order")
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "Expired in the baseline (1)" in html and "sorting lands in 2.0" in html

    later = _write(tmp_path / "later.json", {"id": ORDER, "expires": "2999-12-31"})
    assert _run(newest_first, tmp_path / "later", "--baseline", str(later))[0] == 0


def test_a_fixed_finding_is_reported_and_pruned(oldest_first: str, tmp_path: Path) -> None:
    kept = {"id": "semantics/some-other-check/assertion", "reason": "not run here", "expires": None}
    baseline = _write(tmp_path / "b.json", {"id": ORDER, "reason": "was newest first"}, kept)
    status, results, folder = _run(oldest_first, tmp_path / "run", "--baseline", str(baseline), "--baseline-prune")
    assert status == 0 and _result(results, ORDER)["status"] == "passed" and results["baseline"]["fixed"] == [ORDER]
    assert "Fixed since the baseline (1)" in (folder / "report.html").read_text(encoding="utf-8")
    pruned = json.loads(baseline.read_text(encoding="utf-8"))["findings"]
    assert [(finding["id"], finding["reason"]) for finding in pruned] == [(kept["id"], kept["reason"])]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "neither JSON nor YAML"),
        ('{"findings": [{"reason": "no id"}]}', "each finding needs an id"),
        ('{"findings": [{"id": "x", "expires": "next week"}]}', "must be a date"),
        ('["a", "list"]', "must hold findings"),
    ],
)
def test_a_broken_baseline_is_refused_before_anything_is_sent(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        resolve_config({"base_url": "http://127.0.0.1:9", "api_key": KEY, "baseline": str(path)}, environ={})


def test_writing_a_baseline_needs_one_and_one_way_of_writing(tmp_path: Path) -> None:
    remote = {"base_url": "http://127.0.0.1:9", "api_key": KEY}
    with pytest.raises(ConfigError, match="need --baseline FILE"):
        resolve_config({**remote, "baseline_update": True}, environ={})
    with pytest.raises(ConfigError, match="pick one"):
        resolve_config({**remote, "baseline": str(tmp_path / "b.json"), "baseline_update": True, "baseline_prune": True}, environ={})
    with pytest.raises(ConfigError, match="no such file"):
        resolve_config({**remote, "baseline": str(tmp_path / "missing.json")}, environ={})
    assert resolve_config({**remote, "baseline": str(tmp_path / "new.json"), "baseline_update": True}, environ={}).known


def test_under_pytest_a_known_finding_is_an_xfail_and_a_new_one_a_failure(
    newest_first: str, tmp_path: Path, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .test_pytest_plugin import REPO, _plugin_args

    monkeypatch.setenv("PYTHONPATH", str(REPO))
    baseline = _write(tmp_path / "b.json", {"id": ORDER, "reason": "sorting lands in 2.0"})
    common = [*_plugin_args(), "-p", "no:cacheprovider", f"--conformance-base-url={newest_first}",
              f"--conformance-api-key={KEY}", "--conformance-decide=list_order=oldest_first", "-k", "list-returns-every"]
    known = pytester.runpytest_subprocess(*common, f"--conformance-baseline={baseline}", "-rx", timeout=300)
    known.assert_outcomes(passed=6, xfailed=1)
    assert "known finding (baseline" in known.stdout.str()
    new = pytester.runpytest_subprocess(*common, timeout=300)
    new.assert_outcomes(passed=6, failed=1)
