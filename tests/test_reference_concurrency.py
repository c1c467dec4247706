"""Concurrent requests to the reference server: single-use tokens, idempotency and account-wide rules hold.

Each race starts its requests together (threads, each with its own httpx client, released by a
barrier) against a server of this module, whose person tokens live long enough for any machine.
"""

from __future__ import annotations

import secrets
import ssl
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from conformance.reference.server import RunningServer

from .conftest import SECRET_KEY, STRIPE_VERSION

# Plain HTTP on loopback: TLS is never used, but every httpx client builds a TLS context unless
# given one, which would cost more than the race itself.
TLS = ssl.create_default_context()


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with RunningServer() as running:
        yield running


def request(method: str, path: str, body: dict[str, Any] | None = None, idempotency_key: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {SECRET_KEY}", "Stripe-Version": STRIPE_VERSION}
    if method != "GET":
        headers["Idempotency-Key"] = idempotency_key or secrets.token_hex(16)
    return {"method": method, "url": path, "json": body, "headers": headers}


def race(server: RunningServer, requests: list[dict[str, Any]]) -> list[httpx.Response]:
    """Send all requests at once, one thread and one connection each; the responses in order."""
    barrier = threading.Barrier(len(requests))

    def send(one: dict[str, Any]) -> httpx.Response:
        with httpx.Client(base_url=server.url, timeout=30, verify=TLS) as http:
            barrier.wait(timeout=30)
            return http.request(**one)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, requests))


def call(server: RunningServer, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = httpx.request(**request(method, server.url + path, body), timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def account(server) -> str:
    return call(server, "POST", "/v2/core/accounts", {"identity": {"country": "us", "entity_type": "company"}})["id"]


def listed(server: RunningServer, account: str) -> list[str]:
    return [person["id"] for person in call(server, "GET", f"/v2/core/accounts/{account}/persons?limit=100")["data"]]


def outcomes(responses: list[httpx.Response]) -> Counter[tuple[int, str | None]]:
    return Counter((response.status_code, (response.json().get("error") or {}).get("code")) for response in responses)


def test_one_person_token_is_used_once(server, account):
    token = call(server, "POST", f"/v2/core/accounts/{account}/person_tokens", {"given_name": "Once"})["id"]
    responses = race(server, [request("POST", f"/v2/core/accounts/{account}/persons", {"person_token": token}) for _ in range(20)])
    assert outcomes(responses) == {(200, None): 1, (400, "token_already_used"): 19}
    winner = next(response.json() for response in responses if response.status_code == 200)
    assert listed(server, account) == [winner["id"]]


def test_parallel_creates_are_all_kept(server, account):
    responses = race(server, [request("POST", f"/v2/core/accounts/{account}/persons", {"given_name": f"Parallel {n}"}) for n in range(50)])
    assert outcomes(responses) == {(200, None): 50}
    created = {response.json()["id"] for response in responses}
    assert len(created) == 50
    ids = listed(server, account)
    assert len(ids) == 50 and set(ids) == created


def test_one_idempotency_key_creates_one_person(server, account):
    same = request("POST", f"/v2/core/accounts/{account}/persons", {"given_name": "Idempotent"}, idempotency_key=secrets.token_hex(16))
    responses = race(server, [same] * 20)
    assert outcomes(responses) == {(200, None): 20}
    assert len({response.text for response in responses}) == 1
    assert listed(server, account) == [responses[0].json()["id"]]


def test_concurrent_updates_each_move_updated(server, account):
    person = call(server, "POST", f"/v2/core/accounts/{account}/persons", {"given_name": "Busy"})
    path = f"/v2/core/accounts/{account}/persons/{person['id']}"
    responses = race(server, [request("POST", path, {"metadata": {"writer": str(n)}}) for n in range(10)])
    assert outcomes(responses) == {(200, None): 10}
    stamps = sorted(response.json()["updated"] for response in responses)
    assert len(set(stamps)) == 10 and stamps[0] > person["updated"]  # distinct even within one millisecond
    final = call(server, "GET", path)
    assert final["updated"] == stamps[-1] and final["created"] == person["created"]
    assert final["metadata"] == next(response.json() for response in responses if response.json()["updated"] == stamps[-1])["metadata"]


RIVALS = {
    "representatives": (2, {"relationship": {"representative": True}}, "additional_representative_not_allowed"),
    "owners at 60%": (5, {"relationship": {"owner": True, "percent_ownership": "60"}}, "total_person_ownership_exceeded"),
}


@pytest.mark.parametrize(("count", "body", "code"), RIVALS.values(), ids=RIVALS.keys())
def test_account_wide_rule_lets_one_rival_through(server, account, count, body, code):
    rivals = [request("POST", f"/v2/core/accounts/{account}/persons", {**body, "given_name": f"Rival {n}"}) for n in range(count)]
    responses = race(server, rivals)
    assert outcomes(responses) == {(200, None): 1, (400, code): count - 1}
    assert listed(server, account) == [next(response.json()["id"] for response in responses if response.status_code == 200)]
