"""The pytest plugin (conformance/pytest_plugin.py): the suite's checks as pytest items.

Runs go through pytester in a subprocess, like an integrator's `pytest --conformance ...`: each has
its own embedded reference server (or talks to one started here), and nothing leaks between runs.
Selection is checked by collecting in this process, where no target is started.
"""

from __future__ import annotations

import os
import socket
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.engine.options import Surface, on
from conformance.engine.checks import CHECKS
from conformance.reference.profile import FIXTURES as REFERENCE_FIXTURES
from conformance.reference.auth import DEFAULT_KEYS
from conformance.reference.server import RunningServer, ServerOptions
from conformance.spec import load_spec, operations

from .mutants import rewrite_json
from .planted_pii import echo_planted, planted_in

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]
PLANTED_KEY = "sk_test_PLANTEDsecret123456"
LIVEMODE_CHECK = "semantics/livemode-matches-the-key/livemode"
SEMANTIC_CHECKS = sum(  # one item per assertion
    len(check.for_operations(operations(load_spec())).result_ids()) for check_id, check in CHECKS.items() if check_id.startswith("semantics/")
)


def _plugin_args() -> tuple[str, ...]:
    """Load the plugin by its entry point when the project is installed (`make test`), else by module.

    `-p conformance.pytest_plugin` beside the installed entry point would register the module twice.
    """
    installed = any(ep.value == "conformance.pytest_plugin" for ep in entry_points(group="pytest11"))
    return ("-p", "conformance") if installed else ("-p", "conformance.pytest_plugin")


@pytest.fixture
def hermetic(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs import `conformance` from this checkout and see no CONFORMANCE_* setting of the caller."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    for variable in (option.variable for option in on(Surface.ENVIRONMENT)):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def run(pytester: pytest.Pytester, hermetic: None) -> Callable[..., pytest.RunResult]:
    """`pytest <args>` in a subprocess, like an integrator's run: its own embedded server, nothing shared."""

    def run_pytest(*args: str) -> pytest.RunResult:
        return pytester.runpytest_subprocess(*_plugin_args(), "-p", "no:cacheprovider", *args, timeout=300)

    return run_pytest


@pytest.fixture
def collect(pytester: pytest.Pytester, hermetic: None) -> Callable[..., list[pytest.Item]]:
    """The items `pytest <args>` selects, collected in this process (no target is started for collection)."""

    def collect_items(*args: str) -> list[pytest.Item]:
        recorder = pytester.inline_run(*_plugin_args(), "-p", "no:cacheprovider", "--collect-only", *args)
        return list(recorder.getcall("pytest_collection_finish").session.items)  # after -k's deselection

    return collect_items


def _output(result: pytest.RunResult) -> str:
    return result.stdout.str() + "\n" + result.stderr.str()


def _flip(value: Any) -> Any:
    """Every livemode the opposite (a server that gets the mode wrong)."""
    if isinstance(value, dict):
        return {name: (not item if name == "livemode" and isinstance(item, bool) else _flip(item)) for name, item in value.items()}
    return [_flip(item) for item in value] if isinstance(value, list) else value


@pytest.fixture(scope="module")
def broken_server() -> Iterator[RunningServer]:
    """A reference server that answers livemode wrong, and accepts the planted key (to show it never leaks)."""
    with RunningServer(ServerOptions(middleware=(rewrite_json(_flip),), keys=(*DEFAULT_KEYS, PLANTED_KEY))) as server:
        yield server


def _profile(pytester: pytest.Pytester, **settings: Any) -> str:
    """A target profile: with a base URL, fixtures come only from a profile."""
    path = pytester.path / "profile.yaml"
    path.write_text(yaml.safe_dump({"fixtures": dict(REFERENCE_FIXTURES), **settings}), encoding="utf-8")
    return str(path)


def test_inert_without_its_options(pytester: pytest.Pytester, hermetic: None) -> None:
    result = pytester.runpytest(*_plugin_args(), "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_semantic_checks_pass_on_the_embedded_server_with_junit_properties(run: Callable[..., pytest.RunResult], pytester: pytest.Pytester) -> None:
    result = run("--conformance", "--conformance-only", "semantics", "-q", "--junitxml=junit.xml")
    result.assert_outcomes(passed=SEMANTIC_CHECKS)
    cases = ElementTree.parse(pytester.path / "junit.xml").getroot().iter("testcase")
    properties = {case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")} for case in cases}
    assert properties["semantics/token-is-single-use/used-after-use"] == {"category": "semantics"}
    assert len(properties) == SEMANTIC_CHECKS


def test_k_selects_by_check_id(collect: Callable[..., list[pytest.Item]]) -> None:
    assert [item.nodeid for item in collect("--conformance", "-k", "token-is-single-use")] == [
        f"conformance::semantics/token-is-single-use/{name}"
        for name in ("unused-before-use", "person-carries-token-members", "used-after-use", "second-use-refused")
    ]
    assert [item.nodeid for item in collect("--conformance", "-k", "used-after-use")] == [
        "conformance::semantics/token-is-single-use/used-after-use"
    ]


def test_k_expression_over_error_code_ids_and_user_properties(collect: Callable[..., list[pytest.Item]]) -> None:
    ids = [item.nodeid for item in collect("--conformance", "-k", "error-code and create_person")]
    # -k matches substrings, as for any test: create_person_token's codes are in; `error-code/create_person/` narrows.
    assert ids and all(i.startswith("conformance::error-code/create_person") for i in ids)
    assert {"conformance::error-code/create_person/email_invalid", "conformance::error-code/create_person_token/idempotency_error"} <= set(ids)
    assert [item.nodeid for item in collect("--conformance", "-k", "error-code/create_person/")] == [i for i in ids if "/create_person/" in i]

    [item] = collect("--conformance", "-k", "email_invalid and create_person/")
    assert dict(item.user_properties) == {"category": "error-code", "operation": "create_person", "code": "email_invalid"}
    assert [item.nodeid for item in collect("--conformance", "--conformance-only", "fuzzing", "-k", "list_persons")] == ["conformance::fuzzing/list_persons"]


def test_a_broken_server_fails_with_the_exchanges(run: Callable[..., pytest.RunResult], pytester: pytest.Pytester, broken_server: RunningServer) -> None:
    result = run("--conformance-base-url", broken_server.url, "--conformance-api-key", PLANTED_KEY, "--conformance-profile", _profile(pytester),
                 "--conformance-only", "semantics")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 1, outcomes
    report = [line for line in result.outlines if LIVEMODE_CHECK in line]
    assert any(line.startswith(f"FAILED conformance::{LIVEMODE_CHECK}") for line in report), report
    failure = result.stdout.str().split(f"_ {LIVEMODE_CHECK} _", 1)[1]
    assert "expected livemode true with a live key, false with a test key; livemode True" in failure
    assert "curl -X POST" in failure and '"livemode":true' in failure
    assert "Bearer sk_test_***" in failure
    assert PLANTED_KEY not in _output(result)


def test_expected_failures_xfail_and_a_listed_check_that_passes_fails(run: Callable[..., pytest.RunResult], pytester: pytest.Pytester,
                                                                      broken_server: RunningServer) -> None:
    profile = _profile(pytester, expected_failures={LIVEMODE_CHECK: "known: livemode inverted", "semantics/token-is-single-use": "was flaky"})
    result = run("--conformance-base-url", broken_server.url, "--conformance-api-key", "sk_test_reference_secret", "--conformance-profile", profile,
                 "--conformance-only", "semantics", "-k", "livemode or token-is-single-use", "-rxX")
    result.assert_outcomes(xfailed=1, failed=4, deselected=SEMANTIC_CHECKS - 5)
    result.stdout.fnmatch_lines(["*token-is-single-use/used-after-use unexpectedly passed: remove it from expected_failures*", "*known: livemode inverted*"])


def test_an_unreachable_target_is_one_usage_error(run: Callable[..., pytest.RunResult]) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = run("--conformance-base-url", f"http://127.0.0.1:{port}", "--conformance-api-key", PLANTED_KEY, "--conformance-only", "semantics")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = _output(result)
    assert f"ERROR: conformance: the target is not reachable: http://127.0.0.1:{port} did not answer" in output
    assert output.count("ERROR") == 1 and "Traceback" not in output and "conformance::" not in output
    assert PLANTED_KEY not in output


def test_configuration_errors_are_usage_errors_naming_the_plugin_flags(pytester: pytest.Pytester, hermetic: None) -> None:
    result = pytester.runpytest(*_plugin_args(), "--conformance-base-url", "http://127.0.0.1:9")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: conformance: an API key is needed for --conformance-base-url: pass --conformance-api-key *"])
    result = pytester.runpytest(*_plugin_args(), "--conformance", "--conformance-only", "everything")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: conformance: --conformance-only takes *"])


def test_xdist_workers_share_out_the_checks(run: Callable[..., pytest.RunResult]) -> None:
    result = run("--conformance", "--conformance-only", "semantics", "-n", "2", "-v")
    result.assert_outcomes(passed=SEMANTIC_CHECKS)
    assert all(f"[{worker}]" in result.stdout.str() for worker in ("gw0", "gw1"))


def test_redact_pii_masks_personal_data_in_what_failures_print(run: Callable[..., pytest.RunResult], pytester: pytest.Pytester) -> None:
    with RunningServer(ServerOptions(middleware=(rewrite_json(echo_planted),))) as server:
        result = run("--conformance-base-url", server.url, "--conformance-api-key", "sk_test_reference_secret", "--conformance-profile", _profile(pytester),
                     "--conformance-only", "semantics", "-k", "retrieve-returns-what-was-created", "--conformance-redact-pii", "-vv")
    assert result.parseoutcomes().get("failed") == 2
    assert planted_in(_output(result)) == [] and "[redacted]" in _output(result)


def test_xdist_workers_lease_a_pool_without_sharing_an_account(
    run: Callable[..., pytest.RunResult], pytester: pytest.Pytester
) -> None:
    """Two worker processes, a small pool: leases hold across processes, so list checks see only their own persons."""
    from tests.test_account_pool import KINDS, _pool

    with RunningServer() as server:
        pool = _pool(server.url)
        profile = _profile(pytester, accounts=pool, fixtures={**REFERENCE_FIXTURES, "can_create_accounts": False})
        result = run("--conformance-base-url", server.url, "--conformance-api-key", "sk_test_reference_secret",
                     "--conformance-profile", profile, "--conformance-only", "semantics", "-n", "2", "-v")
    result.assert_outcomes(passed=SEMANTIC_CHECKS)
    assert len(pool) == sum(KINDS.values())
