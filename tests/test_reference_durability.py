"""`conformance serve --database FILE` keeps every acknowledged write: across a clean stop and across kill -9.

The server runs as a real subprocess (`python -m conformance serve`); a write load from a few
threads records every person id whose 200 the client received in full; the server is killed with
SIGKILL in the middle of the load and started again on the same file: each of those ids is there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.reference.server import free_port

from .conftest import SECRET_KEY, STRIPE_VERSION

REPO = Path(__file__).resolve().parents[1]
HEADERS = {"Authorization": f"Bearer {SECRET_KEY}", "Stripe-Version": STRIPE_VERSION}
START_TIMEOUT = 30.0  # seconds for a cold start (imports, the spec, openapi-core) on a loaded machine
WRITERS = 4
LOAD_SECONDS = 1.0


class Served:
    """One `conformance serve` subprocess on loopback."""

    def __init__(self, database: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "conformance", "serve", "--host", "127.0.0.1", "--port", str(self.port), "--database", str(database)],
                cwd=REPO, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        self._wait_until_answering()

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited with {self.process.returncode} at start:\n{self.output()}")
            try:
                httpx.get(self.url + "/v2/core/accounts/acct_probe/persons", headers=HEADERS, timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError(f"the server did not answer within {START_TIMEOUT:g} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, how: signal.Signals) -> int:
        """A clean stop (uvicorn shuts down gracefully, then re-raises the signal); the exit status."""
        self.process.send_signal(how)
        return self.process.wait(timeout=20)


@pytest.fixture
def serve(tmp_path) -> Iterator[Callable[[], Served]]:
    """Start servers on one database file; every one still running is killed, even when the test fails."""
    started: list[Served] = []

    def start() -> Served:
        served = Served(tmp_path / "ref.db", tmp_path / "server.log")
        started.append(served)
        return served

    yield start
    for served in started:
        if served.process.poll() is None:
            served.kill()


def call(url: str, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.request(method, url + path, json=body, headers=HEADERS, timeout=10)


def new_account(url: str) -> str:
    response = call(url, "POST", "/v2/core/accounts", {"identity": {"country": "us", "entity_type": "company"}})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def write_load(url: str, account: str, stop: threading.Event) -> tuple[list[str], list[str], list[threading.Thread]]:
    """Creates from WRITERS threads until `stop` or the server goes: the ids acknowledged (a whole 200 received),
    the other answers, and the threads (filling both lists as they go)."""
    acknowledged: list[str] = []
    other: list[str] = []
    lock = threading.Lock()

    def writer(number: int) -> None:
        with httpx.Client(base_url=url, headers=HEADERS, timeout=10) as http:
            sequence = 0
            while not stop.is_set():
                sequence += 1
                try:
                    response = http.post(f"/v2/core/accounts/{account}/persons", json={"given_name": f"Writer {number}", "surname": f"No {sequence}"})
                    body = response.json() if response.status_code == 200 else None
                except (httpx.TransportError, ValueError):
                    return  # the server is gone (or died mid-response): that write was never acknowledged
                with lock:
                    if body is not None:
                        acknowledged.append(body["id"])
                    else:
                        other.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=writer, args=(number,), daemon=True) for number in range(WRITERS)]
    for thread in threads:
        thread.start()
    return acknowledged, other, threads


def listed_ids(url: str, account: str) -> list[str]:
    ids, path = [], f"/v2/core/accounts/{account}/persons?limit=100"
    while path:
        response = call(url, "GET", path)
        assert response.status_code == 200, response.text
        ids += [person["id"] for person in response.json()["data"]]
        path = response.json()["next_page_url"]
    return ids


def test_acknowledged_writes_survive_kill_9(serve):
    first = serve()
    account = new_account(first.url)
    stop = threading.Event()
    acknowledged, other, threads = write_load(first.url, account, stop)
    time.sleep(LOAD_SECONDS)
    first.kill()  # mid-load: requests are in flight
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    assert not any(thread.is_alive() for thread in threads), "a writer hung on a killed server"
    assert other == [], other[:5]
    assert len(acknowledged) >= 10, f"only {len(acknowledged)} writes acknowledged in {LOAD_SECONDS} s:\n{first.output()}"

    second = serve()
    with httpx.Client(base_url=second.url, headers=HEADERS, timeout=10) as http:
        missing = [person_id for person_id in acknowledged if http.get(f"/v2/core/accounts/{account}/persons/{person_id}").status_code != 200]
    assert missing == [], f"{len(missing)} of {len(acknowledged)} acknowledged persons lost after kill -9"
    stored = listed_ids(second.url, account)
    assert set(acknowledged) <= set(stored)
    assert len(stored) == len(set(stored)), "a person listed twice"
    # At most one unacknowledged create per writer can have committed before the kill.
    assert len(stored) - len(acknowledged) <= WRITERS
    # The file is still a working database: it takes new writes.
    assert call(second.url, "POST", f"/v2/core/accounts/{account}/persons", {"given_name": "After"}).status_code == 200


def test_data_survives_a_clean_stop(serve):
    """Stopped by SIGTERM, as a service manager stops it (uvicorn shuts down, then re-raises the signal: exit -15)."""
    first = serve()
    account = new_account(first.url)
    created = [call(first.url, "POST", f"/v2/core/accounts/{account}/persons", {"given_name": name}).json() for name in ("Ann", "Bob", "Cy")]
    updated = call(first.url, "POST", f"/v2/core/accounts/{account}/persons/{created[0]['id']}", {"metadata": {"edited": "yes"}})
    assert updated.status_code == 200, updated.text
    deleted = call(first.url, "DELETE", f"/v2/core/accounts/{account}/persons/{created[2]['id']}")
    assert deleted.status_code == 200, deleted.text
    token = call(first.url, "POST", f"/v2/core/accounts/{account}/person_tokens", {"given_name": "Later"}).json()["id"]
    replayed = httpx.post(f"{first.url}/v2/core/accounts/{account}/persons", json={"given_name": "Once"}, timeout=10,
                          headers={**HEADERS, "Idempotency-Key": f"durable-{account}"}).json()
    assert first.stop(signal.SIGTERM) in (0, -signal.SIGTERM), first.output()
    assert "Traceback" not in first.output(), first.output()

    second = serve()
    assert listed_ids(second.url, account) == [replayed["id"], created[1]["id"], created[0]["id"]]
    assert call(second.url, "GET", f"/v2/core/accounts/{account}/persons/{created[0]['id']}").json() == updated.json()
    assert call(second.url, "GET", f"/v2/core/accounts/{account}/persons/{created[2]['id']}").status_code == 404
    # Idempotency records are kept: the same key replays the first answer, no second person.
    again = httpx.post(f"{second.url}/v2/core/accounts/{account}/persons", json={"given_name": "Once"}, timeout=10,
                       headers={**HEADERS, "Idempotency-Key": f"durable-{account}"})
    assert again.json() == replayed
    # The person token is kept too, and is still single use.
    from_token = call(second.url, "POST", f"/v2/core/accounts/{account}/persons", {"person_token": token})
    assert from_token.status_code == 200 and from_token.json()["given_name"] == "Later", from_token.text
    twice = call(second.url, "POST", f"/v2/core/accounts/{account}/persons", {"person_token": token})
    assert (twice.status_code, twice.json()["error"]["code"]) == (400, "token_already_used")


def test_ctrl_c_stops_serve_quietly(serve):
    served = serve()
    status = served.stop(signal.SIGINT)
    assert "Traceback" not in served.output(), served.output()
    assert status in (0, 130)
