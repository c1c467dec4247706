"""The HTML report, rendered from small synthetic results."""

from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from conformance.report import render_report, rerun_command, write_report

PLANTED = "sk_test_PLANTEDKEY123456789"


def exchange(status: int | None, body: str, *, operation_id: str | None = "retrieve_person") -> dict[str, Any]:
    url = "http://127.0.0.1:1/v2/core/accounts/acct_1/persons/person_1"
    return {
        "method": "GET", "url": url, "request_headers": {"Authorization": "Bearer sk_test_***"}, "request_body": None,
        "status": status, "response_headers": {"content-type": "application/json", "request-id": "req_1"}, "response_body": body,
        "error": None if status else "ConnectError: refused", "elapsed": 0.01, "operation_id": operation_id,
        "curl": f"curl -X GET {url} -H 'Authorization: Bearer sk_test_***'",
    }


def result(check_id: str, category: str, status: str, **fields: Any) -> dict[str, Any]:
    return {"check_id": check_id, "category": category, "title": check_id.replace("/", " "), "status": status, "operation_id": None,
            "code": None, "expectation": "", "detail": "", "spec_location": "", "exchanges": [], "duration": 0.01,
            "expected_failure": False, **fields}


def synthetic(results: list[dict[str, Any]]) -> dict[str, Any]:
    counts = {status: sum(r["status"] == status for r in results) for status in ("passed", "failed", "not exercised", "error")}
    gating = any(r["status"] in ("failed", "error") and not r["expected_failure"] for r in results)
    return {
        "verdict": "does not conform" if gating else "conforms", "counts": counts,
        "target": {"base_url": "http://127.0.0.1:1", "stripe_version": "2026-09-30.endive", "profile": None, "api_key": "sk_test_***"},
        "spec_version": "2026-09-30.endive", "seed": 7, "started": "2026-11-23T10:00:00Z", "duration": 1.5,
        "command": "conformance run --seed 7", "requests": 12, "results": results,
    }


def sample() -> dict[str, Any]:
    return synthetic([
        result("error-code/retrieve_person/not_found", "error-code scenarios", "failed", operation_id="retrieve_person", code="not_found",
               expectation="HTTP 404 with error.code 'not_found'", detail="error.code 'resource_missing', expected 'not_found'",
               spec_location="paths./v2/core/accounts/{account_id}/persons/{id}.get.responses.404",
               exchanges=[exchange(404, json.dumps({"error": {"code": "resource_missing", "message": "<script>alert('x')</script>"}}))]),
        result("error-code/create_person/email_invalid", "error-code scenarios", "passed", operation_id="create_person", code="email_invalid",
               exchanges=[exchange(400, '{"error": {"code": "email_invalid", "message": "</script><script>alert(2)</script>"}}')]),
        result("error-code/create_person/document_invalid", "error-code scenarios", "not exercised", operation_id="create_person",
               code="document_invalid", detail="needs fixture identity_document_file"),
        result("fuzzing/retrieve_person", "fuzzing", "passed", operation_id="retrieve_person", detail="25 requests, all conforming",
               requests=25),
        result("semantics/delete-then-not-found", "semantics", "error", detail="setup failed: create account answered 500",
               exchanges=[exchange(None, "")]),
        result("semantics/idempotent-replays", "semantics", "failed", expected_failure=True, detail="second effect"),
        result("semantics/token-is-single-use", "semantics", "passed", expected_failure=True),
    ])


@pytest.fixture
def run() -> dict[str, Any]:
    return sample()


class Matrix(HTMLParser):
    """The coverage matrix: header columns, and each row's cell classes."""

    def __init__(self) -> None:
        super().__init__()
        self.columns: list[str] = []
        self.rows: dict[str, list[str]] = {}
        self._in_table = self._in_code_head = False
        self._row: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag == "table" and "matrix" in classes:
            self._in_table = True
        elif self._in_table and tag == "th" and "code" in classes:
            self._in_code_head = True
        elif self._in_table and tag == "tr" and attributes.get("data-op"):
            self._row = attributes["data-op"]
            self.rows[self._row] = []
        elif self._row and tag == "td":
            self.rows[self._row].append(" ".join(classes))

    def handle_data(self, data: str) -> None:
        if self._in_code_head and data.strip():
            self.columns.append(data.strip())

    def handle_endtag(self, tag: str) -> None:
        if tag == "th":
            self._in_code_head = False
        elif tag == "table":
            self._in_table = False


def matrix(html: str) -> dict[tuple[str, str], str]:
    """{(operation_id, column): cell class}."""
    parser = Matrix()
    parser.feed(html)
    # The first header row holds success and fuzzing requests; the second the codes, which rows put between them.
    success, fuzzing, *codes = parser.columns
    columns = [success, *codes, fuzzing]
    return {(operation, column): state(classes)
            for operation, cells in parser.rows.items() for column, classes in zip(columns, cells, strict=True)}


def state(classes: str) -> str:
    """A cell's state: its m-<status> class, or nd (not documented)."""
    return next((name.removeprefix("m-") for name in classes.split() if name.startswith("m-") or name == "nd"), classes)


def test_verdict_and_counts(run: dict[str, Any]) -> None:
    html = render_report(run)
    assert re.search(r'<h1 id="verdict"[^>]*>\W*Does not conform</h1>', html)
    counts = dict(re.findall(r'<span data-status="([^"]+)"><b>(\d+)</b>', html))
    assert counts == {"passed": "3", "failed": "2", "not exercised": "1", "error": "1"}
    assert "Conforms" in render_report(synthetic([result("semantics/x", "semantics", "passed")]))
    for shown in ("http://127.0.0.1:1", "2026-09-30.endive", "sk_test_***", "conformance run --seed 7", "<dd>12</dd>"):
        assert shown in html


def test_matrix_cells(run: dict[str, Any]) -> None:
    cells = matrix(render_report(run))
    assert cells[("retrieve_person", "not_found")] == "failed"
    assert cells[("create_person", "email_invalid")] == "passed"
    assert cells[("create_person", "document_invalid")] == "not-exercised"
    assert cells[("create_token", "not_found")] == "nd"  # v1 create token documents no v2 code
    assert cells[("retrieve_person", "success")] == "passed"
    assert cells[("update_person", "success")] == "not-exercised"
    html = render_report(run)
    reason = "error-code/create_person/document_invalid: not exercised (needs fixture identity_document_file)"
    assert f'title="create_person / document_invalid: not exercised - {reason}"' in html  # the reason, on hover
    assert re.search(r'<tr data-op="retrieve_person">.*?<td class="num">25</td>', html, re.S)


def bodies(html: str) -> list[dict[str, Any]]:
    """The check bodies the page builds its details from."""
    return json.loads(re.search(r'<script type="application/json" id="bodies">(.*?)</script>', html, re.S).group(1))


def test_hostile_bodies_render_as_text(run: dict[str, Any]) -> None:
    html = render_report(run)
    assert html.count("<script") == 2  # the page's own: the JSON island and the code
    assert "<script>alert" not in html and "</script><script>alert(2)" not in html
    assert "\\u003cscript>alert" in html  # escaped in the island; the page inserts it as text
    assert "alert('x')" in bodies(html)[0]["exchanges"][0]["body"]


def test_failed_checks_carry_their_evidence(run: dict[str, Any]) -> None:
    html = render_report(run)
    assert re.search(r'<details class="check s-failed" id="c0" data-s="failed" data-op="retrieve_person"[^>]*><summary>'
                     r'<span class="badge b-failed">FAILED</span> <code class="cid">error-code/retrieve_person/not_found</code>', html)
    failed = bodies(html)[0]
    assert failed["expectation"] == "HTTP 404 with error.code 'not_found'"
    assert failed["detail"] == "error.code 'resource_missing', expected 'not_found'"
    assert failed["spec_location"] == "paths./v2/core/accounts/{account_id}/persons/{id}.get.responses.404"
    assert failed["rerun"] == rerun_command("error-code/retrieve_person/not_found")
    [shown] = failed["exchanges"]
    assert shown["curl"].startswith("curl -X GET") and shown["response"] == "HTTP 404" and "request-id: req_1" in shown["headers"]
    assert shown["body"].startswith('{\n  "error": {\n    "code": "resource_missing"')  # pretty-printed
    assert bodies(html)[4]["exchanges"][0]["response"] == "no response: ConnectError: refused"


def test_exchanges_are_capped() -> None:
    html = render_report(synthetic([result("semantics/many", "semantics", "failed", exchanges=[exchange(200, str(n)) for n in range(10)])]))
    [many] = bodies(html)
    assert [e["body"] for e in many["exchanges"]] == ["4", "5", "6", "7", "8", "9"] and many["omitted"] == 4


def test_planted_key_never_appears(run: dict[str, Any]) -> None:
    def plant(value: Any) -> Any:
        if isinstance(value, str):
            return f"{value} {PLANTED} '{PLANTED}' <{PLANTED}>"
        if isinstance(value, dict):
            return {key: plant(item) for key, item in value.items()}
        if isinstance(value, list):
            return [plant(item) for item in value]
        return value

    planted = plant(copy.deepcopy(run))
    planted["target"]["api_key"] = PLANTED
    planted["results"][1]["exchanges"][0]["response_body"] = json.dumps({"key": PLANTED, "quoted": f"'{PLANTED}'"})
    html = render_report(planted, previous=plant(copy.deepcopy(run)))
    assert "PLANTEDKEY" not in html
    assert "sk_test_***" in html


def test_changes_since_previous_run(run: dict[str, Any]) -> None:
    previous = copy.deepcopy(run)
    previous["results"][0]["status"] = "passed"  # retrieve_person/not_found: newly failing
    previous["results"][1]["status"] = "failed"  # create_person/email_invalid: fixed
    html = render_report(run, previous)

    def listed(title: str) -> list[str]:
        start = html.index(f'<h3 data-change="{title}">')
        end = min(index for index in (html.find("<h3", start + 1), html.index("</section>", start)) if index != -1)
        return re.findall(r"<code>([^<]+)</code>", html[start:end])

    assert listed("new failures") == ["error-code/retrieve_person/not_found"]
    assert listed("fixed") == ["error-code/create_person/email_invalid"]
    assert listed("still failing") == ["semantics/delete-then-not-found", "semantics/idempotent-replays"]
    assert "Changes since the previous run" not in render_report(run)


def test_expected_failures_apart_and_unexpected_passes_flagged(run: dict[str, Any]) -> None:
    html = render_report(run)
    checks = html.index('<section id="checks">')
    expected = html.index('<section id="expected-section">')
    assert "semantics/idempotent-replays" not in html[checks:expected]
    section = html[expected:]
    assert "semantics/idempotent-replays" in section and "expected failure" in section
    assert re.search(r"UNEXPECTED PASS</span> <code class=\"cid\">semantics/token-is-single-use", section)


def test_long_bodies_are_truncated() -> None:
    body = "x" * 50_000
    html = render_report(synthetic([result("semantics/big", "semantics", "failed", exchanges=[exchange(500, body)])]))
    [shown] = bodies(html)[0]["exchanges"]
    assert shown["body"] == "x" * 20 * 1024 and shown["truncated"]


def test_rerun_command() -> None:
    expected = "pytest --conformance -k 'error-code/create_person/not_found'"
    assert rerun_command("error-code/create_person/not_found") == expected


def test_write_report(tmp_path: Path, run: dict[str, Any]) -> None:
    results, previous = tmp_path / "results.json", tmp_path / "previous.json"
    results.write_text(json.dumps(run))
    previous.write_text(json.dumps(run))
    written = write_report(results, previous_path=previous)
    assert written == tmp_path / "report.html"
    assert "Changes since the previous run" in written.read_text()
    assert write_report(results, tmp_path / "other.html") == tmp_path / "other.html"


def test_the_matrix_comes_from_the_operations_results_json_carries_not_from_the_spec() -> None:
    """A run of another spec (an operation and a code this suite's spec does not have) renders as that run saw it,
    with the fuzzing requests the results count."""
    run = synthetic([
        result("error-code/list_widgets/widget_jammed", "error-code", "failed", operation_id="list_widgets", code="widget_jammed"),
        result("fuzzing/list_widgets", "fuzzing", "passed", operation_id="list_widgets", detail="all conforming", requests=17),
    ])
    run["operations"] = [{"operation_id": "list_widgets", "label": "GET /v9/widgets", "errors": {"widget_jammed": 409}}]
    html = render_report(run)
    cells = matrix(html)
    assert cells == {("list_widgets", "success"): "passed", ("list_widgets", "widget_jammed"): "failed",
                     ("list_widgets", "fuzzing requests"): "num"}
    assert '<td class="num">17</td>' in html and 'title="GET /v9/widgets"' in html and "1 of 1</b> documented" in html


def test_a_results_json_of_before_the_one_vocabulary_renders_under_the_categories_names(run: dict[str, Any]) -> None:
    groups = re.findall(r'<details class="group" data-group="([^"]+)"', render_report(run))  # sample(): old labels
    assert groups == ["fuzzing", "error-code", "semantics", "expected failures"]
