"""Decisions where Stripe publishes nothing: the suite against the reference server deciding each alternative.

For every alternative of every decision, the server is started so (`Settings.deciding`) and the suite:
- stating nothing (every decision `any`) gives no failure and observes the alternative;
- stating the matching alternative gives no failure in the decision's checks;
- stating another alternative makes the decision's check fail.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest

from conformance.engine.config import ConfigError, resolve_config
from conformance.engine.checks import CHECKS
from conformance.engine.plan import Environment, plan
from conformance.engine.results import CheckResult, Status
from conformance.reference.profile import FIXTURES as REFERENCE_FIXTURES
from conformance.reference.server import RunningServer, ServerOptions
from conformance.reference.service import Settings
from conformance.spec import load_spec
from conformance.spec.decisions import ANY, decisions, defaults

from .conftest import run_units

KEY = "sk_test_reference_secret"
DECLARED = decisions(load_spec())
SERVER_BASE = {"person_token_lifetime_seconds": 1}  # token_expired is exercised within the 5 s the scenario may wait


def _alternatives(*, include_default: bool) -> list[Any]:
    return [
        pytest.param(decision.name, value, id=f"{decision.name}={value}")
        for decision in DECLARED.values()
        for value in decision.alternatives
        if include_default or value != decision.default
    ]


def _contrary(name: str, value: Any) -> Any:
    """Another alternative; for a decision with one listed value (a number), the next number."""
    others = [other for other in DECLARED[name].alternatives if other != value]
    return others[0] if others else value + 1


@functools.lru_cache(maxsize=1)
def _spec() -> dict[str, Any]:
    return load_spec()


def _deciding(server_choices: dict[str, Any]) -> RunningServer:
    return RunningServer(ServerOptions(settings=Settings.deciding(**{**SERVER_BASE, **server_choices})))


def _run(server_choices: dict[str, Any], statements: dict[str, Any], *, only_decision: str | None = None) -> list[CheckResult]:
    with _deciding(server_choices) as server:
        return _run_on(server, statements, only_decision=only_decision)


def _run_on(server: RunningServer, statements: dict[str, Any], *, only_decision: str | None = None) -> list[CheckResult]:
    """The units against a server already deciding (every unit makes its own accounts)."""
    config = resolve_config({"base_url": server.url, "api_key": KEY, "only": "error-codes,semantics,v1-tokens"}, environ={})
    config.fixtures = {**REFERENCE_FIXTURES, "max_wait_seconds": 5}
    config.decisions = {name: statements.get(name, ANY) for name in DECLARED}
    environment = Environment(config, server.url)
    units = plan(config, environment.spec)
    if only_decision:
        deciding = {check.check_id for check in CHECKS.values() if only_decision in check.decisions}
        units = [unit for unit in units if unit.check_id in deciding]
    return run_units(units, environment)


def _failing(results: list[CheckResult]) -> list[str]:
    return [f"{r.check_id}: {r.status} {r.detail[:200]}" for r in results if r.status in (Status.FAILED, Status.ERROR)]


def _seen(observed: set[Any], value: Any) -> bool:
    def matches(item: Any) -> bool:
        # A limit the suite does not search for, or a default larger than the persons it listed, is not a value.
        if isinstance(item, str) and (item == "not observed" or item.startswith("at least")):
            return True
        return bool(item == value or (isinstance(item, float) and abs(item - value) < 1))

    return bool(observed) and all(matches(item) for item in observed)


@pytest.mark.parametrize(
    ("name", "value"), [pytest.param("", None, id="every-default"), *_alternatives(include_default=False)]
)
def test_stating_nothing_gives_no_failure_and_observes_the_alternative(name: str, value: Any) -> None:
    """The whole of error-codes, semantics and v1-tokens, with every decision any: no false failure."""
    results = _run({name: value} if name else {}, {})
    assert not _failing(results)
    for decision in [name] if name else list(DECLARED):
        expected = value if name else DECLARED[decision].default
        if decision == "person_token_lifetime_seconds" and not name:
            expected = SERVER_BASE[decision]
        observed = {result.observed[decision] for result in results if decision in result.observed}
        assert _seen(observed, expected), (decision, observed)


@pytest.mark.parametrize(("name", "value"), _alternatives(include_default=True))
def test_the_matching_statement_passes_and_a_contrary_one_fails(name: str, value: Any) -> None:
    with _deciding({name: value}) as server:  # one server for both runs
        matching = _run_on(server, {name: value}, only_decision=name)
        contrary = _run_on(server, {name: _contrary(name, value)}, only_decision=name)
    assert matching and not _failing(matching)
    failed = [result for result in contrary if result.status == Status.FAILED and name in result.observed]
    assert failed, [f"{result.check_id} {result.status}" for result in contrary]


def test_every_decision_has_a_check_that_observes_it() -> None:
    observing = {name for check in CHECKS.values() for name in check.decisions}
    assert observing == set(DECLARED)


def test_a_profile_states_decisions_and_is_refused_when_it_names_an_unknown_one(tmp_path: Any) -> None:
    profile = tmp_path / "profile.yaml"
    profile.write_text("decisions: {update_nested_objects: replace, list_order: any}\n", encoding="utf-8")
    config = resolve_config({"base_url": "http://127.0.0.1:9", "api_key": KEY, "profile": str(profile)}, environ={})
    assert config.decisions["update_nested_objects"] == "replace"
    assert config.decisions["list_order"] == ANY and config.decisions["update_arrays"] == ANY
    profile.write_text("decisions: {update_nested: replace}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown decisions update_nested"):
        resolve_config({"base_url": "http://127.0.0.1:9", "api_key": KEY, "profile": str(profile)}, environ={})
    profile.write_text("fixtures: {token_lifetime_seconds: 1}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="person_token_lifetime_seconds"):
        resolve_config({"base_url": "http://127.0.0.1:9", "api_key": KEY, "profile": str(profile)}, environ={})
    with pytest.raises(ConfigError, match="one of 'merge', 'replace' or 'any'"):
        resolve_config({"base_url": "http://127.0.0.1:9", "api_key": KEY, "decide": ["update_nested_objects=deep"]}, environ={})


def test_the_embedded_run_states_what_its_server_decides() -> None:
    config = resolve_config({"decide": ["list_order=oldest_first", "update_arrays=any"]}, environ={})
    assert config.reference_decisions["list_order"] == "oldest_first"
    assert config.decisions["list_order"] == "oldest_first" and config.decisions["update_arrays"] == ANY
    assert config.reference_decisions["update_arrays"] == defaults(_spec())["update_arrays"]
    with pytest.raises(ValueError, match="'any' is for profiles"):
        Settings.deciding(list_order=ANY)


def test_run_decide_starts_the_embedded_server_deciding_so_and_states_it(tmp_path: Any) -> None:
    from conformance.cli import main

    argv = ["run", "--only", "semantics", "--decide", "list_order=oldest_first", "--min-exercised", "100"]
    assert main([*argv, "--report-dir", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "latest" / "results.json").read_text(encoding="utf-8"))
    assert results["decisions"]["list_order"]["stated"] == "oldest_first"
    assert set(results["decisions"]["list_order"]["observed"].values()) == {"oldest_first"}
    assert "--decide list_order=oldest_first" in results["command"] and results["min_exercised"] == 100.0
