"""exchanges.har: every request of a run, as HAR 1.2, written beside results.json over real HTTP.

Parsed back and checked against HAR 1.2's required structure (tests/data/har-1.2.schema.json), against the run's own
request count, and against the results that name their entries.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conformance.cli import main
from conformance.engine.checks.semantics import PERSON
from conformance.reference.server import RunningServer, ServerOptions


KEY = "sk_test_reference_secret"
SCHEMA = json.loads((Path(__file__).parent / "data" / "har-1.2.schema.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with RunningServer(ServerOptions()) as running:
        yield running.url


def _run(url: str, reports: Path, *options: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    main(["run", "--base-url", url, "--api-key", KEY, "--only", "semantics,v1-tokens", "--report-dir", str(reports), *options])
    folder = reports / "latest"
    text = (folder / "exchanges.har").read_text(encoding="utf-8")
    return json.loads(text), json.loads((folder / "results.json").read_text(encoding="utf-8")), text


def test_every_request_of_the_run_is_an_entry_of_a_valid_har(server: str, tmp_path: Path) -> None:
    har, results, text = _run(server, tmp_path)
    jsonschema.validate(har, SCHEMA)
    entries = har["log"]["entries"]
    assert len(entries) == results["requests"] > 100
    assert {entry["request"]["method"] for entry in entries} >= {"GET", "POST", "DELETE"}
    assert all(entry["response"]["status"] for entry in entries)  # every request of this run was answered
    forms = [entry for entry in entries if entry["request"]["url"].endswith("/v1/tokens")]
    assert forms and forms[0]["request"]["postData"]["mimeType"] == "application/x-www-form-urlencoded"
    assert KEY not in text and "Bearer sk_test_***" in text  # keys reduced to their kind, as everywhere

    linked = [(result, exchange) for result in results["results"] for exchange in result["exchanges"]]
    assert linked and all("har_entry" in exchange for _, exchange in linked)
    for result, exchange in linked:
        entry = entries[exchange["har_entry"]]
        assert (entry["request"]["method"], entry["request"]["url"], entry["response"]["status"]) == (
            exchange["method"],
            exchange["url"],
            exchange["status"],
        ), result["check_id"]


def test_a_run_that_masks_personal_data_masks_it_in_the_har_too(server: str, tmp_path: Path) -> None:
    """The semantic checks send a person (given name, surname, email, address); --redact-pii leaves none of it."""
    sent = (PERSON["given_name"], PERSON["surname"], PERSON["email"], PERSON["address"]["line1"])
    _, _, plain = _run(server, tmp_path / "plain")
    assert all(value in plain for value in sent)
    har, _, masked = _run(server, tmp_path / "masked", "--redact-pii")
    jsonschema.validate(har, SCHEMA)
    assert [value for value in sent if value in masked] == [] and "[redacted]" in masked


def test_a_large_body_is_kept_as_results_json_keeps_it_with_its_size() -> None:
    from conformance.engine.client import MAX_SHOWN_BODY, Exchange
    from conformance.engine.results import RunResult
    from conformance.report.har import har

    big = Exchange("GET", "http://127.0.0.1:1/v2/core/accounts/a/persons", {}, None, status=200, response_text="x" * 200_000)
    run = RunResult({}, "v", 1, "2026-12-03T00:00:00Z", 1.0, "conformance run", [], exchanges=[big])
    content = har(run)["log"]["entries"][0]["response"]["content"]
    jsonschema.validate(har(run), SCHEMA)
    assert content["size"] == 200_000 and len(content["text"]) < MAX_SHOWN_BODY + 100 and "more characters" in content["text"]
