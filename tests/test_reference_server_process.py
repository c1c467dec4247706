"""The embedded target of a run: the reference server in a child process, with the run's decisions, a clear
error when it cannot start, and no process left behind."""

from __future__ import annotations

import asyncio
import pickle
import threading
from typing import Any

import httpx
import pytest

from conformance.reference.server import RunningServer, ServerOptions, ServerProcess
from conformance.reference.service import Settings
from conformance.spec import load_spec
from conformance.spec.catalog import api_version

HEADERS = {"Authorization": "Bearer sk_test_reference_secret", "Stripe-Version": api_version(load_spec())}


def test_settings_reach_the_child_whole() -> None:
    settings = Settings.deciding(rate_limit=5.0, representative_age_limit=21)
    copy = pickle.loads(pickle.dumps(settings))
    assert copy == settings and copy.age_limit == 21 and copy.rate_limit == 5.0
    with pytest.raises(TypeError):
        copy.decisions["representative_age_limit"] = 18  # still read-only


def test_the_child_serves_with_the_given_settings_until_stopped() -> None:
    server = ServerProcess(ServerOptions(settings=Settings.deciding(rate_limit=1.0)))
    with server:
        with httpx.Client(base_url=server.url, headers=HEADERS) as client:
            account = client.post("/v2/core/accounts", json={"identity": {"country": "us"}}).json()["id"]
            answers = [client.get(f"/v2/core/accounts/{account}/persons").status_code for _ in range(5)]
    assert answers[0] == 200 and 429 in answers  # the limit of 1 req/s was the child's
    assert server._process is not None and server._process.returncode is not None
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/v2/core/accounts/x/persons", headers=HEADERS, timeout=2)


def test_a_server_that_cannot_start_says_why(tmp_path) -> None:
    server = ServerProcess(ServerOptions(database=tmp_path / "missing" / "directory" / "persons.db"))
    with pytest.raises(RuntimeError, match="did not start on http://127.0.0.1:[0-9]+: .*(database|directory|open)"):
        server.start()
    assert server._process is not None and server._process.returncode is not None


def test_a_stop_lets_the_answer_in_flight_finish_and_then_refuses_connections() -> None:
    entered = threading.Event()

    def slow(app: Any) -> Any:
        async def delayed(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                entered.set()
                await asyncio.sleep(0.3)
            await app(scope, receive, send)

        return delayed

    server = RunningServer(ServerOptions(middleware=(slow,))).start()
    answers: list[httpx.Response] = []
    url = server.url + "/v2/core/accounts/acct_in_flight/persons"
    caller = threading.Thread(target=lambda: answers.append(httpx.get(url, headers=HEADERS, timeout=5)))
    caller.start()
    assert entered.wait(5)
    server.stop()  # while the request waits in the middleware
    caller.join(timeout=5)
    assert answers, "the request in flight got no answer"
    assert answers[0].status_code < 500 and set(answers[0].json()) & {"data", "error"}, answers[0].text
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, headers=HEADERS, timeout=2)
