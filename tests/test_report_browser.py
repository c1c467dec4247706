"""The HTML report in a real chromium: reports of real runs against the reference server and a broken one."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from conformance.engine.config import resolve_config
from conformance.engine.runner import run_suite
from conformance.report import write_reports
from conformance.targets import target

from conformance.report import write_report

from .mutants import reference_target, rewrite_json

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-quic"]
ONLY = "error-codes,semantics"
RENDER_TIMEOUT_MS = 5000  # how long a check's details may take to be built after it is opened
INJECTED = "<script>window.__pwned = true</script>"


def _broken(data: Any) -> Any:
    """Persons lose their `object` member, `not_found` becomes `resource_missing`, error messages carry markup."""
    if isinstance(data, dict) and data.get("object") == "v2.core.account_person":
        data = {name: value for name, value in data.items() if name != "object"}
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        code = "resource_missing" if error.get("code") == "not_found" else error.get("code")
        data = {**data, "error": {**error, "code": code, "message": f"{error.get('message', '')} {INJECTED}"}}
    return data


break_bodies = rewrite_json(_broken)


def run_report(config: Any, base_url: str) -> tuple[Path, dict[str, Any]]:
    run = run_suite(config, base_url)
    directory = write_reports(run, config.report_dir)
    return write_report(directory / "results.json"), json.loads((directory / "results.json").read_text())


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"chromium is needed at {CHROMIUM} for the report's browser tests (CI installs Debian's chromium: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def reference_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    config = resolve_config({"only": ONLY, "report_dir": str(tmp_path_factory.mktemp("reference")), "workers": 4}, environ={})
    with target(config) as base_url:
        return run_report(config, base_url)


@pytest.fixture(scope="module")
def broken_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    from conformance.reference.server import RunningServer, ServerOptions

    with RunningServer(ServerOptions(middleware=(break_bodies,))) as server:
        config = resolve_config({"base_url": server.url, "api_key": "sk_test_reference_secret", "only": ONLY,
                                 "report_dir": str(tmp_path_factory.mktemp("broken")), "workers": 4}, environ={})
        # With a base URL the fixtures come only from the profile: give it the reference server's.
        reference_target(config)
        return run_report(config, server.url)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 800})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    # The report must not touch the network: fail any request that is not the file itself.
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://") else route.abort())
    yield page
    context.close()
    assert not problems, problems


def shown_checks(page: Any) -> list[str]:
    return page.eval_on_selector_all("details.check:not([hidden]) code.cid", "nodes => nodes.map(n => n.textContent)")


def shown_counts(page: Any) -> dict[str, int]:
    return {status: int(page.locator(f'#counts [data-status="{status}"] b').inner_text())
            for status in ("passed", "failed", "not exercised", "error")}


def screenshot(page: Any, path: Path) -> None:
    """The whole page, to look at: from the top (a full-page shot draws the sticky filters where the page
    was scrolled), with every check painted (off-screen ones skip rendering: content-visibility: auto)."""
    page.evaluate("window.scrollTo(0, 0)")
    page.add_style_tag(content="details.check { content-visibility: visible; }")
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def test_reference_run(page: Any, reference_report: tuple[Path, dict[str, Any]]) -> None:
    report, results = reference_report
    counts = results["counts"]
    assert results["conforms"] is True and counts["failed"] == counts["error"] == 0
    page.goto(report.as_uri())
    assert page.locator("#verdict").inner_text() == "✓ Conforms"
    assert shown_counts(page) == counts
    assert page.locator("td.cell.m-failed").count() == 0
    assert len(shown_checks(page)) == len(results["results"])

    page.fill("#filters input[name=q]", "email_invalid")
    expected = {r["check_id"] for r in results["results"] if "email_invalid" in f"{r['check_id']} {r['title']} {r['detail']}".lower()}
    assert set(shown_checks(page)) == expected and expected
    check = page.locator("details.check:not([hidden])", has=page.locator("code.cid", has_text="error-code/create_person/email_invalid"))
    check.locator("summary").click()
    probe = check.locator(".exchange:not(.setup) pre.curl").last  # a passed check's exchanges, built on opening
    probe.wait_for(state="visible", timeout=RENDER_TIMEOUT_MS)  # built by script after the click, later under load
    assert probe.is_visible() and probe.inner_text().startswith("curl -X POST")
    screenshot(page, report.parent / "screenshot.png")


def test_broken_run(page: Any, broken_report: tuple[Path, dict[str, Any]]) -> None:
    report, results = broken_report
    counts = results["counts"]
    assert counts["failed"] > 0 and counts["passed"] > 0
    page.goto(report.as_uri())
    assert page.locator("#verdict").inner_text() == "✗ Does not conform"
    assert shown_counts(page) == counts
    assert page.locator('tr[data-op="retrieve_person"] td.cell.m-failed').count() >= 1

    failed = page.locator("details.check.s-failed", has=page.locator("code.cid", has_text="error-code/retrieve_person/not_found"))
    curl = failed.locator("pre.curl").last
    assert not curl.is_visible()
    failed.locator("summary").click()
    curl.wait_for(state="visible", timeout=RENDER_TIMEOUT_MS)
    assert curl.is_visible() and curl.inner_text().startswith("curl -X GET")
    assert "resource_missing" in failed.locator("pre.body").last.inner_text()
    assert INJECTED in failed.inner_text()  # shown as text ...
    assert page.evaluate("window.__pwned") is None  # ... never run

    page.select_option("#filters select[name=status]", "failed")
    shown = shown_checks(page)
    assert len(shown) == counts["failed"]
    assert set(shown) == {r["check_id"] for r in results["results"] if r["status"] == "failed"}
    assert page.locator("#shown").inner_text() == f"{counts['failed']} of {len(results['results'])} checks shown"

    page.fill("#filters input[name=q]", "retrieve_person/not_found")
    assert shown_checks(page) == ["error-code/retrieve_person/not_found"]
    page.click("#filters button[type=reset]")
    # A locator assertion, not wait_for_function: its polling evaluates strings, which the report's CSP forbids.
    expect(page.locator("details.check:not([hidden])")).to_have_count(len(results["results"]), timeout=RENDER_TIMEOUT_MS)

    page.locator('tr[data-op="retrieve_person"] td.cell.m-failed').first.click()
    assert "failed" in page.locator("#cell-info").inner_text()
    target = page.locator("#cell-info a.goto").get_attribute("href")
    page.click("#cell-info a.goto")
    page.locator(f"{target} pre.curl").last.wait_for(state="visible", timeout=RENDER_TIMEOUT_MS)
    assert page.locator(f"{target} pre.curl").last.is_visible()  # the cell's check, opened
    filters, summary = page.locator("#filters").bounding_box(), page.locator(f"{target} > summary").bounding_box()
    assert summary["y"] >= filters["y"] + filters["height"] - 1  # scrolled to, not under the sticky filters
    screenshot(page, report.parent / "screenshot.png")
