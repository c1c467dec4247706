"""Accounts the suite may not create: a profile's pool of existing accounts, leased one check at a time."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.engine.accounts import AccountPool, Lease, NoPoolAccount, PoolAccount
from conformance.engine.client import ApiClient
from conformance.engine.config import ConfigError, resolve_config
from conformance.engine.results import Status
from conformance.engine.runner import run_suite
from conformance.engine.workbench import Workbench
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


def _run_checks(steps: list[list[tuple[str, str]]], pool: AccountPool) -> dict[int, list[str]]:
    """Run checks at once, each leasing its (entity type, country) steps in turn with a pause between, then giving
    its leases back: each check's outcomes, an account id per lease or the message of the one it could not get."""
    outcomes: dict[int, list[str]] = {check: [] for check in range(len(steps))}

    def check(number: int) -> None:
        held: list[Lease] = []  # the check's leases, as its workbench keeps them
        try:
            for entity_type, country in steps[number]:
                held.append(pool.lease(entity_type, country, held))
                outcomes[number].append(held[-1].account.id)
                time.sleep(0.1)  # the check's own work
        except NoPoolAccount as exc:
            outcomes[number].append(str(exc))
        for lease in held:
            lease.release()

    threads = [threading.Thread(target=check, args=(number,)) for number in range(len(steps))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_checks_that_need_two_accounts_at_once_all_get_them_without_waiting_out_the_timeout(tmp_path: Path) -> None:
    # Four checks, each wanting two of three accounts at once: a first lease leaves one account free for a
    # second, so no three of them hold one each while they wait for another.
    accounts = tuple(PoolAccount(f"acct_pooled_{n}", "company", "us") for n in range(3))
    pool = AccountPool(accounts, wait_seconds=60, lock_dir=tmp_path)
    started = time.monotonic()
    outcomes = _run_checks([[("company", "us"), ("company", "us")]] * 4, pool)
    assert time.monotonic() - started < 10
    assert all(len(set(got)) == 2 and all(a.startswith("acct_pooled_") for a in got) for got in outcomes.values())


def test_checks_that_wait_for_each_others_accounts_do_not_wait_out_the_timeout(tmp_path: Path) -> None:
    # Each holds the one account of a kind and wants the other's: one gives up at once, gives its account back
    # at its clean-up, and the other gets it.
    company, person = PoolAccount("acct_pooled_co", "company", "us"), PoolAccount("acct_pooled_in", "individual", "us")
    accounts = (company, person)
    pool = AccountPool(accounts, wait_seconds=60, lock_dir=tmp_path)
    started = time.monotonic()
    outcomes = _run_checks([[("company", "us"), ("individual", "us")], [("individual", "us"), ("company", "us")]], pool)
    assert time.monotonic() - started < 5
    gave_up = [got[-1] for got in outcomes.values() if not got[-1].startswith("acct_pooled_")]
    assert len(gave_up) == 1, outcomes
    assert "while it holds another: the pool's 1 are held by checks that wait for one too" in gave_up[0]
    assert any(len(got) == 2 and got[-1].startswith("acct_pooled_") for got in outcomes.values()), outcomes


def test_a_check_waits_for_an_account_that_a_running_check_will_give_back(tmp_path: Path) -> None:
    accounts = tuple(PoolAccount(f"acct_pooled_{n}", "company", "us") for n in "abc")
    pool = AccountPool(accounts, wait_seconds=10, lock_dir=tmp_path)
    mine: list[Lease] = []
    mine.append(pool.lease("company", "us", mine))
    running: list[Lease] = []  # another check's two, which it holds while it waits for nothing
    running.append(pool.lease("company", "us", running))
    running.append(pool.lease("company", "us", running))
    threading.Timer(0.3, lambda: [lease.release() for lease in running]).start()
    started = time.monotonic()
    mine.append(pool.lease("company", "us", mine))
    assert time.monotonic() - started >= 0.25
    assert len({lease.account.id for lease in mine}) == 2


def test_a_first_account_leaves_one_free_for_a_check_that_holds_one(tmp_path: Path) -> None:
    accounts = tuple(PoolAccount(f"acct_pooled_{n}", "company", "us") for n in "ab")
    pool = AccountPool(accounts, wait_seconds=0.3, lock_dir=tmp_path)
    mine: list[Lease] = []
    mine.append(pool.lease("company", "us", mine))
    with pytest.raises(NoPoolAccount, match="stayed leased to other checks for 0.3 s"):
        pool.lease("company", "us", [])  # another check's first: it would take the one left
    mine.append(pool.lease("company", "us", mine))  # the holder's second gets it
    for lease in mine:
        lease.release()
    alone = pool.lease("company", "us", [])  # no check holds one, yet one stays free: this holds across processes
    other_process_view = AccountPool(accounts, wait_seconds=0.3, lock_dir=tmp_path)
    with pytest.raises(NoPoolAccount, match="stayed leased to other checks"):
        other_process_view.lease("company", "us", [])
    alone.release()
    single = AccountPool(accounts[:1], wait_seconds=0.3, lock_dir=tmp_path)
    assert single.lease("company", "us", []).account == accounts[0]  # the one of its kind: no check can hold two


def test_an_attempt_gives_back_its_accounts_after_deleting_its_persons(
    logged_server: tuple[RunningServer, RequestLog], tmp_path: Path
) -> None:
    server, log = logged_server
    client = ApiClient(server.url, KEY, stripe_version=api_version(load_spec()))
    identity = {"identity": {"entity_type": "company", "country": "us"}}
    ids = [client.request("POST", "/v2/core/accounts", json_body=identity).json["id"] for _ in range(3)]
    pool = AccountPool(tuple(PoolAccount(i, "company", "us") for i in ids), wait_seconds=0.3, lock_dir=tmp_path)
    bench = Workbench(client, {}, pool=pool)

    def persons(account_id: str) -> list[str]:
        return [p["given_name"] for p in client.request("GET", f"/v2/core/accounts/{account_id}/persons").json["data"]]

    kept = bench.account()
    bench.person(kept, {"given_name": "Before"})
    with bench.attempt():  # a ladder's candidate that fails after its set-up
        spent = bench.account()
        spent_person = bench.person(spent, {"given_name": "Spent"})
        bench.person(kept, {"given_name": "Inside"})
    assert [lease.account.id for lease in bench.leases] == [kept]
    assert persons(spent) == []  # deleted before the account went back
    assert sorted(persons(kept)) == ["Before", "Inside"]  # the account stays held, and its persons with it
    other_check = AccountPool(pool.accounts, wait_seconds=0.3, lock_dir=tmp_path)
    theirs: list[Lease] = []
    theirs.append(other_check.lease("company", "us", theirs))
    theirs.append(other_check.lease("company", "us", theirs))
    assert {lease.account.id for lease in theirs} == set(ids) - {kept}  # the spent one was given back
    bench.cleanup()
    assert persons(kept) == [] and bench.leases == []
    # Deleted once, by the attempt: the clean-up sends nothing to an account another check now holds.
    assert log.requests.count(("DELETE", f"/v2/core/accounts/{spent}/persons/{spent_person}")) == 1
    client.close()


def test_a_person_id_a_later_create_answers_again_is_deleted_again(
    logged_server: tuple[RunningServer, RequestLog], tmp_path: Path
) -> None:
    server, log = logged_server
    client = ApiClient(server.url, KEY, stripe_version=api_version(load_spec()))
    identity = {"identity": {"entity_type": "company", "country": "us"}}
    account_id = client.request("POST", "/v2/core/accounts", json_body=identity).json["id"]
    bench = Workbench(client, {}, pool=AccountPool((PoolAccount(account_id, "company", "us"),), 0.3, tmp_path))
    with bench.attempt():
        person_id = bench.person(bench.account(), {"given_name": "Reused"})
    client.exchanges.append(copy.copy(client.exchanges[-2]))  # the create, as a target reusing the id answers it
    bench.cleanup()
    assert log.requests.count(("DELETE", f"/v2/core/accounts/{account_id}/persons/{person_id}")) == 2
    client.close()
