"""--redact-pii: distinctive personal data, sent by the suite and echoed by the target, is in no output;
ids, codes and statuses are."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conformance.cli import main
from conformance.engine.config import resolve_config
from conformance.engine.pii import MASK, PiiRedactor
from conformance.engine.categories import Category
from conformance.engine.client import Exchange
from conformance.engine.results import CheckResult, Status
from conformance.reference.server import RunningServer, ServerOptions

from .mutants import rewrite_json
from .planted_pii import VALUES, echo_planted, planted_in

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def echoing_server():
    with RunningServer(ServerOptions(middleware=(rewrite_json(echo_planted),))) as server:
        yield server


def profile(tmp_path: Path, url: str, **settings) -> Path:
    """The reference profile on this server, with a trigger that sends personal data of its own."""
    data = yaml.safe_load((REPO / "profiles" / "reference.yaml").read_text())
    data.update(base_url=url, **settings)
    data["triggers"] = {
        "email_invalid": {
            "method": "POST",
            "path": "/v2/core/accounts/{account_id}/persons",
            "json_body": {
                "email": "zebulonia.q.planted-pii.test",
                "given_name": "Zebulonia",
                "surname": "Quixote-Vanterpool",
                "address": {"line1": "742 Evergreen Terrace", "city": "Springfieldia", "country": "US"},
            },
        }
    }
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def outputs(tmp_path: Path, capsys) -> str:
    captured = capsys.readouterr()
    files = [path.read_text(encoding="utf-8") for path in (tmp_path / "reports").rglob("*") if path.is_file()]
    return "\n".join([captured.out, captured.err, *files])


def run(tmp_path: Path, url: str, *extra: str, **settings) -> int:
    return main(
        [
            "run",
            "--profile",
            str(profile(tmp_path, url, **settings)),
            "--only",
            "semantics,v1-tokens,error-codes,validation",
            "--workers",
            "2",
            "--report-dir",
            str(tmp_path / "reports"),
            *extra,
        ]
    )


def test_no_personal_value_is_in_any_output(echoing_server, tmp_path, capsys):
    code = run(tmp_path, echoing_server.url, redact_pii=True)  # the profile setting
    text = outputs(tmp_path, capsys)
    assert code == 1  # the echoed data breaks checks: the run still reports them
    assert planted_in(text) == []
    results = next((tmp_path / "reports").glob("*/results.json")).read_text()
    assert '"pii_redacted": true' in results and MASK in results
    # Ids, codes and statuses stay readable.
    assert (
        "acct_" in results
        and "person_test_" in results
        and '"code": "email_invalid"' in results
        and '"status": 400' in results
    )
    assert "us_ssn" in results and '\\"country\\": \\"US\\"' in results
    assert "Personal data redacted" in next((tmp_path / "reports").glob("*/report.html")).read_text()


def test_without_the_option_the_planted_values_are_there(echoing_server, tmp_path, capsys):
    """The control: the same run unredacted shows them (so the test above can fail)."""
    run(tmp_path, echoing_server.url)
    assert set(planted_in(outputs(tmp_path, capsys))) >= set(VALUES)


@pytest.mark.parametrize(
    ("cli", "environ", "expected"),
    [
        ({"redact_pii": True}, {}, True),
        ({}, {"CONFORMANCE_REDACT_PII": "1"}, True),
        ({}, {"CONFORMANCE_REDACT_PII": "false"}, False),
        ({}, {}, False),
    ],
)
def test_the_option_comes_from_the_command_line_or_the_environment(cli, environ, expected):
    assert resolve_config(cli, environ=environ).redact_pii is expected


def test_text_that_quotes_a_body_is_masked():
    redactor = PiiRedactor()
    result = CheckResult(
        check_id="semantics/x",
        category=Category.SEMANTICS,
        title="t",
        status=Status.FAILED,
        expectation="create response.given_name == 'Zebulonia'",
        detail='got 400 \'{"error": {"code": "x"}, "surname": "Quixote-Vanterpool", "date_of_birth": {"year": 1931}}\''
        " and pii%5Bid_number%5D=987654329",
        exchanges=[
            Exchange(
                "POST",
                "http://127.0.0.1:1/v2/core/accounts/acct_1/persons",
                {"Content-Type": "application/json"},
                '{"given_name": "Zebulonia", "date_of_birth": {"day": 17, "month": 11, "year": 1931}}',
                status=400,
                response_text="not json: 742 Evergreen Terrace",
            ),
            Exchange(
                "POST",
                "http://127.0.0.1:1/v1/tokens",
                {"Content-Type": "application/x-www-form-urlencoded"},
                "person%5Bfirst_name%5D=Zebulonia&person%5Bdob%5D%5Byear%5D=1931",
                status=200,
            ),
        ],
    )
    redactor.result(result)
    text = str([result.expectation, result.detail, [exchange.to_dict() for exchange in result.exchanges]])
    assert planted_in(text) == ["742 Evergreen Terrace"]  # in a body that is no structure, quoted by no member name
    assert '"code": "x"' in result.detail


def test_a_long_body_is_redacted_in_linear_time():
    """Found by the chaos target: a 64 KiB run of dots took the email pattern 40 s (it was quadratic)."""
    import time

    started = time.monotonic()
    masked = PiiRedactor().text("." * 64 * 1024 + " jenny@example.com")
    assert time.monotonic() - started < 1.0
    assert masked.endswith(f" {MASK}")
