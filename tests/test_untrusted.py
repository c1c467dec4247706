"""Values from the target are checked before use (conformance/engine/untrusted.py); the client keeps its deadlines."""

from __future__ import annotations

import time

import httpx
import pytest

from conformance.engine.client import ApiClient
from conformance.engine.untrusted import (
    MAX_ID_CHARS,
    Untrusted,
    path_id,
    request_target,
    retry_after,
    same_origin,
)

from conformance.spec import load_spec, operations

from .chaos import Answer, Behaviour, ChaosServer, Sentinel

KEY = "sk_test_untrusted0123456789"
OPERATIONS = operations(load_spec())


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("acct_1", "acct_1"),
        ("a/b", "a%2Fb"),
        ("../..", "..%2F.."),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("a?b#c", "a%3Fb%23c"),
        ("a b", "a%20b"),
        ("\x00\r\n", "%00%0D%0A"),
        ("%2F", "%252F"),
        ("é", "%C3%A9"),
    ],
)
def test_an_id_is_one_quoted_segment(value, quoted):
    assert path_id(value) == quoted
    assert OPERATIONS["list_persons"].url(account_id=path_id(value)) == f"/v2/core/accounts/{quoted}/persons"


@pytest.mark.parametrize(
    "value",
    ["", "a" * (MAX_ID_CHARS + 1), "a" * 20 * 2**20, "\ud800", 12, None, ["acct_1"], {"id": "acct_1"}],
    ids=["empty", "one too long", "20 MB", "lone surrogate", "int", "None", "list", "dict"],
)
def test_an_id_that_cannot_be_a_segment_is_refused(value):
    with pytest.raises(Untrusted):
        path_id(value)


def test_the_longest_id_fits_the_longest_target():
    longest = OPERATIONS["retrieve_person"].url(account_id=path_id("\U0001f600" * MAX_ID_CHARS), id=path_id("a" * MAX_ID_CHARS))
    assert request_target(longest)


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.2/v2/",
        "https://127.0.0.2/v2/",
        "//127.0.0.2/v2/",
        "ftp://x/",
        "javascript:alert(1)",
        "v2/relative",
        "",
        "/v2/a b",
        "/v2/a\x00",
        "/v2/a\r\nHost: x",
        "/v2/a#fragment",
        "/v2/\\127.0.0.2",
        "/v2/../v1/tokens",
        "/v2/./x",
        "/v2/é",
        "/v2/" + "a" * 20 * 2**20,
        None,
        12,
    ],
)
def test_a_request_target_other_than_a_plain_path_is_refused(target):
    with pytest.raises(Untrusted):
        request_target(target)


@pytest.mark.parametrize(
    "target", ["/v2/core/accounts/acct_1/persons?limit=2&page=p_2", "/v1/tokens/tok_1", "/v2/a%2Fb%00/@:"]
)
def test_a_plain_path_is_sent_as_it_is(target):
    assert request_target(target) == target


def test_same_origin_is_scheme_host_and_port():
    base = httpx.URL("http://127.0.0.1:8000")
    assert same_origin(httpx.URL("http://127.0.0.1:8000/v2/x"), base)
    assert not any(
        same_origin(httpx.URL(url), base)
        for url in ("https://127.0.0.1:8000/", "http://127.0.0.2:8000/", "http://127.0.0.1:8001/")
    )


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, 1.0),
        ("2", 2.0),
        ("0.5", 0.5),
        ("-5", 0.0),
        ("99999999999", 3.0),
        ("inf", 3.0),
        ("1e309", 3.0),
        ("-inf", 0.0),
        ("NaN", 1.0),
        ("nan", 1.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 1.0),
        ("abc", 1.0),
        ("", 1.0),
    ],
)
def test_retry_after_is_clamped_whatever_it_says(header, seconds):
    assert retry_after(header, cap=3.0) == seconds


# ---------------------------------------------------------------------------------- the client


@pytest.fixture(scope="module")
def chaos():
    with (
        Sentinel("127.0.0.2") as other,
        Sentinel("127.0.0.1") as near,
        ChaosServer(other=other.address, near=near.address) as server,
    ):
        yield server, other, near


def client_for(server: ChaosServer, timeout: float = 0.5) -> ApiClient:
    return ApiClient(server.url, KEY, stripe_version="2026-09-30.endive", timeout=timeout)


def test_dripped_headers_end_at_the_deadline(chaos):
    """A head in pieces, each well within the timeout, DRIP_SECONDS in all: the deadline covers the whole response."""
    server, _, _ = chaos
    server.play(Behaviour((Answer(delivery="drip"),)))
    client = client_for(server)
    started = time.monotonic()
    exchange = client.request("GET", "/v2/core/accounts/acct_1/persons")
    client.close()
    assert time.monotonic() - started < 1.0
    assert exchange.status is None and "Timeout" in (exchange.error or ""), exchange.error


@pytest.mark.parametrize("header", ["NaN", "99999999999", "-1", "soon"])
def test_a_rate_limited_answer_is_retried_within_the_timeout(chaos, header):
    """Retry-After: NaN crashed the run (time.sleep(nan)); a huge one waited 10 s per retry whatever --timeout said."""
    server, _, _ = chaos
    server.play(Behaviour((Answer(status=429, headers=(("Retry-After", header),)),)))
    client = client_for(server, timeout=0.2)
    started = time.monotonic()
    exchange = client.request("GET", "/v2/core/accounts/acct_1/persons")
    client.close()
    assert exchange.status == 429
    assert len(server.requests) == 4  # the first try and three retries
    assert time.monotonic() - started < 4 * 0.2 + 1.0


@pytest.mark.parametrize(
    "location", ["http://{other}/v2/core/accounts", "//{other}/v2/", "http://{near}/v2/", "/v2/core/accounts"]
)
def test_a_redirect_is_never_followed(chaos, location):
    server, other, near = chaos
    server.play(Behaviour((Answer(status=302, headers=(("Location", location),)),)))
    client = client_for(server)
    exchange = client.request("GET", "/v2/core/accounts/acct_1/persons")
    client.close()
    assert exchange.status == 302 and len(server.requests) == 1
    assert other.connections == [] and near.connections == []


@pytest.mark.parametrize(
    "target", ["http://{other}/v2/core/accounts", "//{other}/v2/core/accounts", "/v2/\x00", "/v2/" + "a" * 20 * 2**20]
)
def test_a_refused_target_is_recorded_and_never_sent(chaos, target):
    server, other, near = chaos
    server.play(Behaviour((Answer(),)))
    client = client_for(server)
    exchange = client.request(
        "GET", target.replace("{other}", other.address), headers={"Authorization": f"Bearer {KEY}"}
    )
    client.close()
    assert exchange.status is None and exchange.error.startswith("not sent: "), exchange.error
    assert len(exchange.url) < 300 and KEY not in str(exchange.to_dict())
    assert server.requests == [] and other.connections == [] and near.connections == []


@pytest.mark.parametrize("cookie", ["session=\u00a5", "a=b; Domain=127.0.0.1", "x=" + "y" * 4000])
def test_a_cookie_from_the_target_is_never_sent_back(chaos, cookie):
    """The chaos script's draw 58: a Set-Cookie with a non-ASCII value was sent back and crashed the next request."""
    server, _, _ = chaos
    server.play(Behaviour((Answer(headers=(("Set-Cookie", cookie),)),)))
    client = client_for(server)
    first = client.request("GET", "/v2/core/accounts/acct_1/persons")
    second = client.request("GET", "/v2/core/accounts/acct_1/persons")
    client.close()
    assert first.status == second.status == 200
    assert len(server.requests) == 2 and all("cookie" not in request.headers for request in server.requests)


def test_a_body_nested_too_deep_for_openapi_core_is_a_problem_not_a_crash():
    """The chaos script's draw 665: openapi-core parses a response body again, and one nested deeply enough raised
    RecursionError out of the run's final response validation, so that no report was written."""
    from conformance.engine.client import Exchange
    from conformance.engine.validation import ResponseValidator
    from conformance.spec import load_spec

    exchange = Exchange(method="GET", url="http://127.0.0.1:9/v2/core/accounts/acct_1/persons", request_headers={},
                        request_body=None, operation_id="list_persons")
    exchange.status = 200
    exchange.response_headers = {"content-type": "application/json"}
    exchange.response_text = "[" * 100_000 + "]" * 100_000
    assert ResponseValidator(load_spec()).problems(exchange) == ["the response body nests too deeply to be read or validated"]
