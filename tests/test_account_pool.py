"""Accounts the suite may not create: a profile's pool of existing accounts, leased one check at a time."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.engine.accounts import AccountPool, NoPoolAccount, PoolAccount
from conformance.engine.client import ApiClient
from conformance.engine.config import ConfigError, resolve_config
from conformance.engine.results import Status
from conformance.engine.runner import run_suite
from conformance.reference.profile import FIXTURES as REFERENCE_FIXTURES
from conformance.reference.server import RunningServer, ServerOptions
from conformance.reference.service import Settings
from conformance.spec import load_spec
from conformance.spec.catalog import api_version
from tests.mutants import answer_request

KEY = "sk_test_reference_secret"
# Enough of each kind the suite asks for that two workers never wait on each other for long.
KINDS = {("company", "us"): 4, ("company", None): 2, ("individual", "us"): 2, ("non_profit", "us"): 1,
         ("government_entity", "us"): 1}


class RequestLog:
    """ASGI middleware recording the method and path of every request the server received."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []

    def __call__(self, app: Any) -> Any:
        async def logged(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                self.requests.append((scope["method"], scope["path"]))
            await app(scope, receive, send)

        return logged


@pytest.fixture(scope="module")
def logged_server() -> Iterator[tuple[RunningServer, RequestLog]]:
    log = RequestLog()
    options = ServerOptions(settings=Settings.deciding(person_token_lifetime_seconds=1), middleware=(log,))
    with RunningServer(options) as server:
        yield server, log


def _pool(url: str) -> list[dict[str, Any]]:
    client = ApiClient(url, KEY, stripe_version=api_version(load_spec()))
    pool = []
    for (entity_type, country), count in KINDS.items():
        identity = {"entity_type": entity_type, **({"country": country} if country else {})}
        for _ in range(count):
            created = client.request("POST", "/v2/core/accounts", json_body={"identity": identity})
            assert created.status == 200, created.response_text
            pool.append({"id": created.json["id"], "entity_type": entity_type, "country": country})
    client.close()
    return pool


def _profile(tmp_path: Path, url: str, **settings: Any) -> Path:
    profile = tmp_path / "profile.yaml"
    fixtures = {**REFERENCE_FIXTURES, "max_wait_seconds": 5, **settings.pop("fixtures", {})}
    profile.write_text(yaml.safe_dump({"base_url": url, "fixtures": fixtures, **settings}))
    return profile


def test_with_a_pool_the_suite_creates_and_closes_no_account_and_every_check_passes(
    logged_server: tuple[RunningServer, RequestLog], tmp_path: Path
) -> None:
    server, log = logged_server
    pool = _pool(server.url)
    profile = _profile(tmp_path, server.url, accounts=pool, fixtures={"can_create_accounts": False})
    config = resolve_config(
        {"profile": str(profile), "api_key": KEY, "only": "error-codes,semantics,v1-tokens", "workers": 2}, environ={}
    )
    log.requests.clear()
    run = run_suite(config, server.url)

    bad = [f"{r.check_id}: {r.status} {r.detail[:160]}" for r in run.results if r.status is not Status.PASSED]
    assert not bad
    account_calls = [
        (m, p) for m, p in log.requests if m == "POST" and (p == "/v2/core/accounts" or p.endswith("/close"))
    ]
    assert not account_calls
    used = {path.split("/")[4] for _, path in log.requests if path.startswith("/v2/core/accounts/")}
    leased = {(e["entity_type"], e["country"]) for e in pool if e["id"] in used}
    assert leased >= set(KINDS) - {("government_entity", "us")}  # the last candidate of its ladder, rarely reached
    client = ApiClient(server.url, KEY, stripe_version=api_version(load_spec()))
    left = {e["id"]: client.request("GET", f"/v2/core/accounts/{e['id']}/persons").json["data"] for e in pool}
    client.close()
    assert all(persons == [] for persons in left.values()), left  # every person a check created was deleted
    assert run.target["accounts"] == f"a pool of {len(pool)} leased from the profile (none created or closed)"


def test_without_a_pool_or_account_creation_the_checks_that_need_one_are_not_exercised(
    logged_server: tuple[RunningServer, RequestLog], tmp_path: Path
) -> None:
    server, log = logged_server
    profile = _profile(tmp_path, server.url, fixtures={"can_create_accounts": False})
    config = resolve_config({"profile": str(profile), "api_key": KEY, "only": "error-codes,semantics"}, environ={})
    log.requests.clear()
    run = run_suite(config, server.url)

    assert not [r.check_id for r in run.results if r.status is Status.ERROR]
    skipped = [r for r in run.results if r.status is Status.NOT_EXERCISED]
    assert len(skipped) > 100
    assert all("allows no account creation" in r.detail or "fixture" in r.detail for r in skipped)
    assert any(r.detail == (
        "needs an account (company, US): the profile allows no account creation (can_create_accounts: false)"
        " and gives no accounts pool") for r in skipped)
    assert not [call for call in log.requests if call == ("POST", "/v2/core/accounts")]
    assert "not exercised" in run.verdict
    assert run.target["accounts"] == "none: the checks that need an account are not exercised"


def _no_account_creation(method: str, path: str, body: bytes) -> tuple[int, bytes] | None:
    """A target that implements the persons endpoints only: creating an account is a 404."""
    if (method, path) == ("POST", "/v2/core/accounts"):
        return 404, b'{"error": {"type": "invalid_request_error"}}'
    return None


def test_a_target_without_the_set_up_calls_gets_an_error_that_points_at_the_pool(tmp_path: Path) -> None:
    with RunningServer(ServerOptions(middleware=(answer_request(_no_account_creation),))) as server:
        config = resolve_config(
            {"profile": str(_profile(tmp_path, server.url)), "api_key": KEY, "only": "semantics"}, environ={}
        )
        run = run_suite(config, server.url)
    created = next(r for r in run.results if r.check_id.startswith("semantics/retrieve-returns-what-was-created"))
    assert created.status is Status.ERROR
    assert "spec/setup.yaml" in created.detail and "accounts pool" in created.detail and "404" in created.detail


@pytest.mark.parametrize(
    ("accounts", "message"),
    [
        ("acct_1", "must be a list"),
        ([{"id": "acct_1", "entity_type": "llc"}], "entity_type must be one of company"),
        ([{"id": "acct_1", "country": "usa"}], "two-letter country code"),
        ([{"id": "acct/1"}], "accounts[0].id"),
        ([{"id": "acct_1"}, {"id": "acct_1"}], "listed twice"),
        ([{"id": "acct_1", "currency": "usd"}], "must be a mapping with id, entity_type and country"),
    ],
)
def test_a_malformed_pool_is_refused_with_the_entry_named(tmp_path: Path, accounts: Any, message: str) -> None:
    profile = _profile(tmp_path, "http://127.0.0.1:9", accounts=accounts)
    with pytest.raises(ConfigError, match="profile") as raised:
        resolve_config({"profile": str(profile), "api_key": KEY}, environ={})
    assert message in str(raised.value)


def test_a_pool_needs_a_target_and_switches_are_booleans(tmp_path: Path) -> None:
    profile = tmp_path / "embedded.yaml"
    profile.write_text(yaml.safe_dump({"accounts": [{"id": "acct_1", "entity_type": "company", "country": "us"}]}))
    with pytest.raises(ConfigError, match="embedded server starts empty"):
        resolve_config({"profile": str(profile)}, environ={})
    typo = _profile(tmp_path, "http://127.0.0.1:9", fixtures={"can_create_accounts": "nope"})
    with pytest.raises(ConfigError, match="can_create_accounts must be true or false"):
        resolve_config({"profile": str(typo), "api_key": KEY}, environ={})


def test_a_leased_account_is_given_to_no_other_check_until_released(tmp_path: Path) -> None:
    account = PoolAccount("acct_pooled", "company", "us")
    pool = AccountPool((account,), wait_seconds=5, lock_dir=tmp_path)
    other_process_view = AccountPool((account,), wait_seconds=0.2, lock_dir=tmp_path)
    first = pool.lease("company", "US", [])
    with pytest.raises(NoPoolAccount, match="stayed leased to other checks"):
        other_process_view.lease("company", "us", [])
    with pytest.raises(NoPoolAccount, match="has 1, and this check needs 2 at once"):
        pool.lease("company", "us", [first])
    none = r"needs an account \(individual, US\): the profile's accounts pool has none"
    with pytest.raises(NoPoolAccount, match=none):
        pool.lease("individual", "us", [])

    got: list[str] = []
    waiter = threading.Thread(target=lambda: got.append(pool.lease("company", "us", []).account.id))
    waiter.start()
    time.sleep(0.2)
    assert not got  # still waiting for the lease
    first.release()
    waiter.join(timeout=5)
    assert got == ["acct_pooled"]
