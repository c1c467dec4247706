"""Slow and numerous clients against the reference server, over real sockets: every wait is bounded,
every refusal is the API's JSON envelope, and the connection is closed after it."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from conformance.reference.protocol import HttpLimits
from conformance.reference.server import RunningServer, ServerOptions

from .conftest import SECRET_KEY, STRIPE_VERSION

LIMITS = HttpLimits(head_timeout=0.6, body_timeout=0.6, max_connections=8)
SLACK = 1.5  # seconds past a limit within which the answer must have come
HEAD = f"Host: 127.0.0.1\r\nAuthorization: Bearer {SECRET_KEY}\r\nStripe-Version: {STRIPE_VERSION}\r\n"


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with RunningServer(ServerOptions(limits=LIMITS)) as running:
        yield running


def connect(server: RunningServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def answer_and_close(sock: socket.socket) -> tuple[bytes, dict, float]:
    """Everything the server sends until it closes: the head, the JSON error, and when the close came."""
    started, received = time.monotonic(), b""
    while chunk := sock.recv(65536):
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return head, json.loads(body)["error"], time.monotonic() - started


def account(server: RunningServer) -> str:
    response = httpx.post(
        f"{server.url}/v2/core/accounts",
        json={"identity": {"country": "us", "entity_type": "company"}},
        headers={"Authorization": f"Bearer {SECRET_KEY}", "Stripe-Version": STRIPE_VERSION},
    )
    assert response.status_code == 200, response.text
    return response.json()["id"]


def persons_listed(server: RunningServer, account_id: str) -> list:
    response = httpx.get(
        f"{server.url}/v2/core/accounts/{account_id}/persons",
        headers={"Authorization": f"Bearer {SECRET_KEY}", "Stripe-Version": STRIPE_VERSION},
    )
    return response.json()["data"]


def test_a_declared_body_that_never_arrives_times_out_and_the_connection_closes(server):
    account_id = account(server)
    with connect(server) as sock:
        sock.sendall(
            f"POST /v2/core/accounts/{account_id}/persons HTTP/1.1\r\n{HEAD}Content-Type: application/json\r\n"
            "Content-Length: 100\r\n\r\n".encode()
            + b'{"given_name": "Never'
        )
        head, error, elapsed = answer_and_close(sock)
    assert head.startswith(b"HTTP/1.1 408") and b"connection: close" in head.lower(), head
    assert error["code"] == "request_timeout" and error["message"]
    assert LIMITS.body_timeout - 0.1 <= elapsed < LIMITS.body_timeout + SLACK
    assert persons_listed(server, account_id) == []


@pytest.mark.parametrize("how", ["sends nothing", "drips its head"])
def test_a_head_that_does_not_arrive_in_time_is_a_408_and_the_connection_closes(server, how):
    with connect(server) as sock:
        started = time.monotonic()
        if how == "drips its head":
            for byte in f"GET /v2/core/accounts/acct_1/persons HTTP/1.1\r\n{HEAD}".encode():
                try:
                    sock.sendall(bytes([byte]))
                except OSError:
                    break  # closed by the server: what this test expects
                time.sleep(0.05)  # each byte well within the limit, the whole head far beyond it
                if time.monotonic() - started > LIMITS.head_timeout + SLACK:
                    break
        head, error, _ = answer_and_close(sock)
        elapsed = time.monotonic() - started
    assert head.startswith(b"HTTP/1.1 408"), head
    assert error["code"] == "request_timeout"
    assert elapsed < LIMITS.head_timeout + SLACK


def test_slow_clients_hold_at_most_the_connection_limit(server):
    held = [connect(server) for _ in range(LIMITS.max_connections)]
    try:
        for sock in held:
            sock.sendall(b"GET /v2/core/acc")  # the start of a head, never finished
        time.sleep(0.1)
        with connect(server) as one_more:
            started = time.monotonic()
            head, error, _ = answer_and_close(one_more)
            assert time.monotonic() - started < 0.5  # refused at once, not held
        assert head.startswith(b"HTTP/1.1 503") and error["code"] == "too_many_connections", head
        # The held ones are dropped at the head deadline; then the server answers as before.
        for sock in held:
            assert answer_and_close(sock)[1]["code"] == "request_timeout"
    finally:
        for sock in held:
            sock.close()
    assert persons_listed(server, account(server)) == []


def test_a_keep_alive_connection_serves_request_after_request(server):
    """The head deadline is per request: a connection in use is not cut at head_timeout."""
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {SECRET_KEY}", "Stripe-Version": STRIPE_VERSION}
    ) as client:
        account_id = account(server)
        started = time.monotonic()
        while time.monotonic() - started < 2 * LIMITS.head_timeout:
            assert client.get(f"/v2/core/accounts/{account_id}/persons").status_code == 200
            time.sleep(0.1)
