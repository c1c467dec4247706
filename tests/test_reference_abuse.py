"""Malformed and hostile input to the reference server over real HTTP: always a 4xx, never a 5xx or a hang.

Every refused request gets a 4xx with a JSON `{"error": {"code", "message"}}` body, and the account
it aimed at still holds nothing afterwards. What is odd but valid JSON (an escaped NUL, duplicate
keys) is accepted and kept exactly; what breaks HTTP itself (raw bytes outside ASCII in the request
line, NUL in a header) is refused below the application, by uvicorn's parser, with a 400 in the same JSON
envelope (conformance/reference/protocol.py); slow and numerous clients are in test_reference_limits.py.
The well-formed bad requests of docs/reference-server.md are in test_reference_behaviour.py.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conformance.reference.app import MAX_BODY_BYTES, MAX_JSON_DEPTH

from .conftest import SECRET_KEY, STRIPE_VERSION

TIMEOUT = 15.0  # seconds: every answer here is immediate; a hang fails, it does not stall the run
HEADERS = {"Authorization": f"Bearer {SECRET_KEY}", "Stripe-Version": STRIPE_VERSION}
# Plain HTTP on loopback, but every httpx client builds a TLS context unless given one (27 ms each).
TLS = ssl.create_default_context()
DEEP = 10_000
HUGE_INTEGER = b"1" + b"0" * 5000  # 10**5000, 5,001 digits: past Python's 4,300-digit limit for parsing integers


def persons(account: str, person_id: str = "") -> str:
    return f"/v2/core/accounts/{account}/persons" + (f"/{person_id}" if person_id else "")


@pytest.fixture(scope="module")
def http(reference_server) -> Iterator[httpx.Client]:
    """Well-formed setup and inspection calls (the abuse itself goes on connections of its own)."""
    with httpx.Client(base_url=reference_server.url, headers=HEADERS, timeout=TIMEOUT, verify=TLS) as client:
        yield client


@pytest.fixture
def account(http) -> str:
    response = http.post("/v2/core/accounts", json={"identity": {"country": "us", "entity_type": "company"}})
    assert response.status_code == 200, response.text
    return response.json()["id"]


@pytest.fixture
def person(http, account) -> dict[str, Any]:
    response = http.post(persons(account), json={"given_name": "Target", "metadata": {"kept": "yes"}})
    assert response.status_code == 200, response.text
    return response.json()


def listed(http: httpx.Client, account: str) -> list[dict[str, Any]]:
    response = http.get(persons(account) + "?limit=100")
    assert response.status_code == 200, response.text
    return response.json()["data"]


def send(server: Any, method: str, path: str, content: Any = None, headers: dict[str, Any] | None = None) -> httpx.Response:
    """One request with these exact bytes, on a connection of its own; `headers` overrides HEADERS (None drops one)."""
    merged = {**HEADERS, **(headers or {})}
    with httpx.Client(base_url=server.url, timeout=TIMEOUT, verify=TLS) as client:
        return client.request(method, path, content=content, headers={name: value for name, value in merged.items() if value is not None})


def assert_refused(response: httpx.Response, status: int | None = None, codes: tuple[str, ...] = (), *, v1: bool = False) -> dict[str, Any]:
    """A 4xx (this one, when given) with a JSON error object carrying a code and a message."""
    assert 400 <= response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
    if status is not None:
        assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/json"), response.headers
    error = response.json()["error"]
    assert isinstance(error, dict) and error.get("code") and error.get("message"), response.text[:300]
    if codes:
        assert error["code"] in codes, response.text[:300]
    if v1:
        assert error.get("type") == "invalid_request_error", response.text[:300]
    assert response.headers["request-id"].startswith("req_")
    return error


# ------------------------------------------------------------------------------------ JSON bodies

def nested(opening: bytes, closing: bytes, depth: int, leaf: bytes = b"1") -> bytes:
    return opening * depth + leaf + closing * depth


def dob(day: bytes = b"1", month: bytes = b"1", year: bytes = b"1990") -> bytes:
    return b'{"date_of_birth": {"day": ' + day + b', "month": ' + month + b', "year": ' + year + b"}}"


INVALID_JSON, INVALID_FIELDS, DOB_INVALID = ("invalid_json",), ("invalid_fields",), ("date_of_birth_invalid",)
# The depth limit (32) or the parser's recursion limit, whichever answers first.
TOO_DEEP = ("invalid_json", "invalid_fields")

MALFORMED_BODIES: dict[str, tuple[bytes, int, tuple[str, ...]]] = {
    "10,000 levels of objects": (nested(b'{"a":', b"}", DEEP), 400, TOO_DEEP),
    "10,000 levels of arrays": (nested(b"[", b"]", DEEP, b""), 400, TOO_DEEP),
    "10,000 levels inside metadata": (b'{"metadata": ' + nested(b'{"a":', b"}", DEEP) + b"}", 400, TOO_DEEP),
    "100 levels of objects": (nested(b'{"given_name":', b"}", 100, b'"x"'), 400, INVALID_FIELDS),
    "100 levels inside metadata": (b'{"metadata": ' + nested(b'{"k":', b"}", 99, b'"v"') + b"}", 400, INVALID_FIELDS),
    "100 levels of arrays in nationalities": (b'{"nationalities": ' + nested(b"[", b"]", 100, b'"US"') + b"}", 400, INVALID_FIELDS),
    "raw NUL byte in a string": (b'{"given_name": "a\x00b"}', 400, INVALID_JSON),
    "raw NUL byte in a key": (b'{"given\x00name": "a"}', 400, INVALID_JSON),
    "NUL byte after the object": (b'{"given_name": "a"}\x00', 400, INVALID_JSON),
    "lone high surrogate escape in a string": (b'{"given_name": "\\ud800"}', 400, INVALID_JSON),
    "lone low surrogate escape in a metadata key": (b'{"metadata": {"\\udfff": "v"}}', 400, INVALID_JSON),
    "lone surrogate escape in an address": (b'{"address": {"country": "US", "line1": "\\udbff"}}', 400, INVALID_JSON),
    "UTF-8 byte order mark": (b'\xef\xbb\xbf{"given_name": "a"}', 400, INVALID_JSON),
    "UTF-16 body": ('{"given_name": "a"}'.encode("utf-16"), 400, INVALID_JSON),
    "invalid UTF-8 in a key": (b'{"given_\xc3\x28name": "a"}', 400, INVALID_JSON),
    "NaN": (b'{"given_name": NaN}', 400, INVALID_JSON),
    "-Infinity": (b'{"date_of_birth": {"day": -Infinity, "month": 1, "year": 1990}}', 400, INVALID_JSON),
    "trailing comma": (b'{"given_name": "a",}', 400, INVALID_JSON),
    "single quotes": (b"{'given_name': 'a'}", 400, INVALID_JSON),
    "a JSON string": (b'"given_name"', 400, INVALID_FIELDS),
    "a JSON null": (b"null", 400, INVALID_FIELDS),
    # Huge and odd numbers in string members: the schema wants a string.
    "1e400 in a string member": (b'{"given_name": 1e400}', 400, INVALID_FIELDS),
    "-0 in a string member": (b'{"given_name": -0}', 400, INVALID_FIELDS),
    "1e-400 in a string member": (b'{"given_name": 1e-400}', 400, INVALID_FIELDS),
    "10**5000 in a string member": (b'{"given_name": ' + HUGE_INTEGER + b"}", 400, INVALID_JSON),
    "1e400 as percent_ownership": (b'{"relationship": {"owner": true, "percent_ownership": 1e400}}', 400, INVALID_FIELDS),
    '"1e400" as percent_ownership': (b'{"relationship": {"owner": true, "percent_ownership": "1e400"}}', 400, INVALID_FIELDS),
    '"-0" as percent_ownership': (b'{"relationship": {"owner": true, "percent_ownership": "-0"}}', 400, INVALID_FIELDS),
    '"1e-400" as percent_ownership': (b'{"relationship": {"owner": true, "percent_ownership": "1e-400"}}', 400, INVALID_FIELDS),
    '"NaN" as percent_ownership': (b'{"relationship": {"owner": true, "percent_ownership": "NaN"}}', 400, INVALID_FIELDS),
    "10**5000 as a percent_ownership string": (
        b'{"relationship": {"owner": true, "percent_ownership": "' + HUGE_INTEGER + b'"}}', 400, ("total_person_ownership_exceeded",)),
    # Huge and odd numbers in integer members (date_of_birth): a type error or not a calendar date.
    "1e400 as a day": (dob(day=b"1e400"), 400, INVALID_FIELDS),
    "10**5000 as a day": (dob(day=HUGE_INTEGER), 400, INVALID_JSON),
    "10**30 as a year": (dob(year=b"1" + b"0" * 30), 400, DOB_INVALID),
    "1e300 as a year": (dob(year=b"1e300"), 400, DOB_INVALID),  # integral: JSON Schema's integer; was a 500
    "-0 as a day": (dob(day=b"-0"), 400, DOB_INVALID),
    "1e-400 as a day": (dob(day=b"1e-400"), 400, DOB_INVALID),  # 0.0, integral: was a 500
    "-0.0 as a month": (dob(month=b"-0.0"), 400, DOB_INVALID),  # was a 500
    "1.5 as a day": (dob(day=b"1.5"), 400, INVALID_FIELDS),
    '"1" as a day': (dob(day=b'"1"'), 400, INVALID_FIELDS),
    "true as a day": (dob(day=b"true"), 400, INVALID_FIELDS),
}


@pytest.mark.parametrize(("content", "status", "codes"), MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
def test_malformed_create_is_refused_and_stores_nothing(reference_server, http, account, content, status, codes):
    response = send(reference_server, "POST", persons(account), content, {"Content-Type": "application/json"})
    assert_refused(response, status, codes)
    assert listed(http, account) == []


@pytest.mark.parametrize(("content", "status", "codes"), MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
def test_malformed_update_is_refused_and_changes_nothing(reference_server, http, account, person, content, status, codes):
    response = send(reference_server, "POST", persons(account, person["id"]), content, {"Content-Type": "application/json"})
    assert_refused(response, status, codes)
    assert listed(http, account) == [person]


MALFORMED_TOKENS = {name: MALFORMED_BODIES[name] for name in (
    "10,000 levels of objects", "100 levels inside metadata", "raw NUL byte in a key", "lone high surrogate escape in a string",
    "10**5000 as a day", "1e400 as a day", "NaN",
)}


@pytest.mark.parametrize(("content", "status", "codes"), MALFORMED_TOKENS.values(), ids=MALFORMED_TOKENS.keys())
def test_malformed_person_token_is_refused(reference_server, content, status, codes, account):
    response = send(reference_server, "POST", f"/v2/core/accounts/{account}/person_tokens", content, {"Content-Type": "application/json"})
    assert_refused(response, status, codes)


@pytest.mark.parametrize(("levels", "too_deep"), [(MAX_JSON_DEPTH, False), (MAX_JSON_DEPTH + 1, True)], ids=["at the limit", "one past"])
def test_the_depth_limit_is_exact(reference_server, http, account, levels, too_deep):
    """The body, metadata and its nested objects: `levels` in all, the innermost value counting as one."""
    content = b'{"metadata": ' + nested(b'{"k":', b"}", levels - 2, b'"v"') + b"}"
    error = assert_refused(send(reference_server, "POST", persons(account), content, {"Content-Type": "application/json"}), 400, INVALID_FIELDS)
    assert ("nested deeper" in error["message"]) is too_deep, error["message"]  # at the limit, the schema refuses it (metadata values are strings)
    assert listed(http, account) == []


def test_integral_floats_are_integers(reference_server, http, account):
    """JSON Schema counts 1.0 as an integer: the day of birth 28.0 is stored and echoed as 28 (it was a 500)."""
    json_headers = {"Content-Type": "application/json"}
    response = send(reference_server, "POST", persons(account), dob(day=b"28.0", month=b"1e0", year=b"1990.0"), json_headers)
    assert response.status_code == 200, response.text
    assert response.json()["date_of_birth"] == {"day": 28, "month": 1, "year": 1990}
    token = send(reference_server, "POST", f"/v2/core/accounts/{account}/person_tokens", dob(day=b"27.0"), json_headers)
    assert token.status_code == 200, token.text
    from_token = http.post(persons(account), json={"person_token": token.json()["id"]})
    assert from_token.status_code == 200, from_token.text
    assert from_token.json()["date_of_birth"] == {"day": 27, "month": 1, "year": 1990}


ODD_BUT_VALID: dict[str, tuple[bytes, dict[str, Any]]] = {
    # The suite's own semantic check (ODD_INPUTS) sends a NUL in given_name and accepts a 200.
    "escaped NUL in a string": (b'{"given_name": "a\\u0000b"}', {"given_name": "a\x00b"}),
    "escaped NUL in a metadata key": (b'{"metadata": {"k\\u0000": "v"}}', {"metadata": {"k\x00": "v"}}),
    "escaped NUL as a metadata value": (b'{"metadata": {"k": "\\u0000"}}', {"metadata": {"k": "\x00"}}),
    # Python's parser (and openapi-core's, which validates the same bytes) keeps the last value.
    "duplicate keys": (b'{"given_name": "First", "given_name": "Last"}', {"given_name": "Last"}),
    "duplicate nested keys": (b'{"metadata": {"k": "1"}, "metadata": {"k": "2", "k": "3"}}', {"metadata": {"k": "3"}}),
    "a valid surrogate pair": (b'{"given_name": "\\ud83d\\ude00"}', {"given_name": "\U0001F600"}),
}


@pytest.mark.parametrize(("content", "kept"), ODD_BUT_VALID.values(), ids=ODD_BUT_VALID.keys())
def test_odd_but_valid_json_is_kept_exactly(reference_server, http, account, content, kept):
    """Valid JSON with odd content is no error: a 200, or a 4xx for the schema; whatever is stored reads back as sent."""
    response = send(reference_server, "POST", persons(account), content, {"Content-Type": "application/json"})
    if response.status_code != 200:
        assert_refused(response)
        assert listed(http, account) == []
        return
    created = response.json()
    assert {name: created[name] for name in kept} == kept
    assert listed(http, account) == [created]
    assert http.get(persons(account, created["id"])).json() == created


# ----------------------------------------------------------------------- content types and methods

MULTIPART = b'--xyz\r\nContent-Disposition: form-data; name="given_name"\r\n\r\nJenny\r\n--xyz--\r\n'
WRONG_CONTENT_TYPES: dict[str, tuple[str | None, bytes]] = {
    "text/plain": ("text/plain", b'{"given_name": "Jenny"}'),
    "text/plain; charset=utf-8": ("text/plain; charset=utf-8", b'{"given_name": "Jenny"}'),
    "multipart/form-data": ("multipart/form-data; boundary=xyz", MULTIPART),
    "application/xml": ("application/xml", b"<person><given_name>Jenny</given_name></person>"),
    "text/xml": ("text/xml", b"<person/>"),
    "application/x-www-form-urlencoded": ("application/x-www-form-urlencoded", b"given_name=Jenny"),
    "application/octet-stream": ("application/octet-stream", b'{"given_name": "Jenny"}'),
    "application/jsonx": ("application/jsonx", b'{"given_name": "Jenny"}'),
    "application/json-patch+json": ("application/json-patch+json", b'[{"op": "add", "path": "/given_name", "value": "Jenny"}]'),
    "empty Content-Type": ("", b'{"given_name": "Jenny"}'),
    "no Content-Type with a body": (None, b'{"given_name": "Jenny"}'),
}


@pytest.mark.parametrize(("content_type", "content"), WRONG_CONTENT_TYPES.values(), ids=WRONG_CONTENT_TYPES.keys())
@pytest.mark.parametrize("where", ["create_person", "update_person", "create_person_token"])
def test_v2_post_with_another_content_type_is_a_415(reference_server, http, account, person, where, content_type, content):
    path = {"create_person": persons(account), "update_person": persons(account, person["id"]),
            "create_person_token": f"/v2/core/accounts/{account}/person_tokens"}[where]
    response = send(reference_server, "POST", path, content, {"Content-Type": content_type})
    assert_refused(response, 415, ("unsupported_media_type",))
    assert listed(http, account) == [person]


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_a_body_on_get_or_delete_is_a_415(reference_server, http, account, person, method):
    response = send(reference_server, method, persons(account, person["id"]), b'{"given_name": "Sneaky"}', {"Content-Type": "application/json"})
    assert_refused(response, 415, ("unsupported_media_type",))
    assert listed(http, account) == [person]


V1_REFUSED: dict[str, tuple[str, str | None, bytes]] = {
    "JSON body on create_token": ("/v1/tokens", "application/json", b'{"pii": {"id_number": "000000000"}}'),
    "JSON body on a v1 setup call": ("/v1/accounts", "application/json", b'{"type": "custom"}'),
    "text/plain on create_token": ("/v1/tokens", "text/plain", b"pii[id_number]=000000000"),
    "no Content-Type on create_token": ("/v1/tokens", None, b"pii[id_number]=000000000"),
    "invalid UTF-8 form": ("/v1/tokens", "application/x-www-form-urlencoded", b"pii[id_number]=\xff\xfe"),
    "10,000 nested brackets": ("/v1/tokens", "application/x-www-form-urlencoded", b"person" + b"[a]" * DEEP + b"=1"),  # was a 500
    "10,000 nested list indexes": ("/v1/tokens", "application/x-www-form-urlencoded", b"person[first_name]" + b"[0]" * DEEP + b"=1"),
    "100 nested brackets": ("/v1/tokens", "application/x-www-form-urlencoded", b"person" + b"[a]" * 100 + b"=1"),
    "unbalanced brackets": ("/v1/tokens", "application/x-www-form-urlencoded", b"person[dob[day]=1"),
    "value and object at once": ("/v1/tokens", "application/x-www-form-urlencoded", b"person=1&person[first_name]=a"),
    "10**5000 as a day": ("/v1/tokens", "application/x-www-form-urlencoded", b"person[dob][day]=" + HUGE_INTEGER + b"&person[dob][month]=1&person[dob][year]=1990"),
    "1e400 as percent_ownership": ("/v1/tokens", "application/x-www-form-urlencoded", b"person[relationship][percent_ownership]=1e400"),
}


@pytest.mark.parametrize(("path", "content_type", "content"), V1_REFUSED.values(), ids=V1_REFUSED.keys())
def test_malformed_v1_post_is_a_v1_400(reference_server, path, content_type, content):
    response = send(reference_server, "POST", path, content, {"Content-Type": content_type})
    assert_refused(response, 400, v1=True)


SETUP_BODIES = {
    "identity as a list": b'{"identity": []}',  # was an account without identity
    "identity as an empty string": b'{"identity": ""}',
    "identity false": b'{"identity": false}',
    "identity as a string": b'{"identity": "us"}',
    "non-ASCII letters as country": '{"identity": {"country": "éé"}}'.encode(),  # was accepted
    "NUL in the country": b'{"identity": {"country": "u\\u0000"}}',
    "country as a number": b'{"identity": {"country": 12}}',
    "entity_type as a list": b'{"identity": {"entity_type": []}}',
    "10,000 levels": nested(b'{"identity":', b"}", DEEP),
}


@pytest.mark.parametrize("content", SETUP_BODIES.values(), ids=SETUP_BODIES.keys())
def test_malformed_account_setup_is_a_400(reference_server, content):
    response = send(reference_server, "POST", "/v2/core/accounts", content, {"Content-Type": "application/json"})
    assert_refused(response, 400, ("invalid_fields", "invalid_json"))


# ------------------------------------------------------------------------------------------ sizes

def test_a_body_of_one_mebibyte_and_one_byte_is_a_413(reference_server, http, account):
    content = b'{"given_name": "' + b"x" * (MAX_BODY_BYTES - 17) + b'"}'
    assert len(content) == MAX_BODY_BYTES + 1
    response = send(reference_server, "POST", persons(account), content, {"Content-Type": "application/json"})
    assert_refused(response, 413, ("request_too_large",))
    assert listed(http, account) == []


def test_a_body_of_exactly_one_mebibyte_is_read(reference_server, http, account):
    """The limit is exact: 1 MiB is read (and refused here for what it says, not for its size)."""
    content = b'{"given_name": ' + b" " * (MAX_BODY_BYTES - 19) + b'"x"}'
    assert len(content) == MAX_BODY_BYTES
    response = send(reference_server, "POST", persons(account), content, {"Content-Type": "application/json"})
    assert response.status_code == 200, response.text[:300]
    assert [person["id"] for person in listed(http, account)] == [response.json()["id"]]


def test_a_chunked_body_growing_past_one_mebibyte_is_a_413(reference_server, http, account):
    def chunks() -> Iterator[bytes]:
        yield b'{"given_name": "'
        for _ in range(20):  # 20 x 64 KiB: the server stops reading after 16 of them
            yield b"x" * 65536
        yield b'"}'

    response = send(reference_server, "POST", persons(account), chunks(), {"Content-Type": "application/json"})
    assert response.request.headers.get("transfer-encoding") == "chunked" and "content-length" not in response.request.headers
    assert_refused(response, 413, ("request_too_large",))
    assert listed(http, account) == []


def test_a_declared_length_over_the_limit_is_a_413_without_waiting_for_the_body(reference_server, http, account):
    head = (f"POST {persons(account)} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {SECRET_KEY}\r\n"
            f"Stripe-Version: {STRIPE_VERSION}\r\nContent-Type: application/json\r\nContent-Length: {2 * MAX_BODY_BYTES}\r\n\r\n")
    status, _, body, elapsed = raw_exchange(reference_server.port, head.encode() + b'{"given_name": ')
    assert status == 413 and elapsed < 5, (status, body[:300])
    assert json.loads(body)["error"]["code"] == "request_too_large"
    assert listed(http, account) == []


# ------------------------------------------------------------------------------ paths and queries

LONG = "a" * DEEP
ODD_PATHS = {
    "%00 as person id": "{persons}/%00",
    "%00 inside a person id": "{persons}/person_test_%00abc",
    ".. as person id": "{persons}/..",
    "%2e%2e as person id": "{persons}/%2e%2e",
    "../.. out of the persons": "{persons}/../../accounts",
    "10,000-character person id": "{persons}/" + LONG,
    "10,000-character account id": "/v2/core/accounts/" + LONG + "/persons",
    "%00 as account id": "/v2/core/accounts/%00/persons",
    "%ff%fe (invalid UTF-8) as person id": "{persons}/%ff%fe",
    "%ed%a0%80 (a UTF-8 surrogate) as person id": "{persons}/%ed%a0%80",
    "%ff as account id": "/v2/core/accounts/%ff/persons",
    "10,000-character person token id": "/v2/core/accounts/{account}/person_tokens/" + LONG,
    "%00 as person token id": "/v2/core/accounts/{account}/person_tokens/%00",
    "10,000-character v1 token id": "/v1/tokens/" + LONG,
    "%00 as v1 token id": "/v1/tokens/%00",
    "double slash": "/v2/core/accounts//persons",
    "encoded slash in the account id": "/v2/core/accounts/{account}%2Fpersons/persons",
}


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
@pytest.mark.parametrize("template", ODD_PATHS.values(), ids=ODD_PATHS.keys())
def test_odd_path_is_a_4xx_and_stores_nothing(reference_server, http, account, template, method):
    path = template.format(persons=persons(account), account=account)
    response = send(reference_server, method, path, b'{"given_name": "Odd"}' if method == "POST" else None,
                    {"Content-Type": "application/json" if method == "POST" else None, "Idempotency-Key": f"odd-{time.monotonic_ns()}"})
    assert_refused(response)
    assert listed(http, account) == []


ODD_QUERIES = ["limit=" + "9" * 5000, "limit=1e400", "limit=-0", "limit=1.0", "limit=%00", "limit=0x10", "limit=",
               "page=%00", "page=" + LONG, "page=%ff%fe", "page=" + "%ed%a0%80" * 10, "limit=10&limit=abc"]


@pytest.mark.parametrize("query", ODD_QUERIES, ids=[query[:24] for query in ODD_QUERIES])
def test_odd_list_query_is_a_400(reference_server, account, query):
    response = send(reference_server, "GET", f"{persons(account)}?{query}")
    assert_refused(response, 400, ("invalid_fields",))


# ----------------------------------------------------------------------------------------- headers

ODD_HEADERS: dict[str, tuple[dict[str, Any], int, str]] = {
    "invalid UTF-8 Stripe-Version": ({"Stripe-Version": b"\xff\xfe"}, 400, "invalid_fields"),
    "10,000-character Stripe-Version": ({"Stripe-Version": LONG}, 400, "invalid_fields"),
    "invalid UTF-8 key": ({"Authorization": b"Bearer sk_test_\xff\xfe"}, 401, "authentication_required"),
    "invalid UTF-8 Basic credentials": ({"Authorization": b"Basic \xff\xfe"}, 401, "authentication_required"),
    "10,000-character key": ({"Authorization": "Bearer sk_test_" + LONG}, 401, "authentication_required"),
    "invalid UTF-8 Content-Type": ({"Content-Type": b"application/json\xff"}, 415, "unsupported_media_type"),
    "10,000-character Idempotency-Key": ({"Idempotency-Key": LONG}, 400, "invalid_fields"),
}


@pytest.mark.parametrize(("headers", "status", "code"), ODD_HEADERS.values(), ids=ODD_HEADERS.keys())
def test_odd_header_is_refused_and_stores_nothing(reference_server, http, account, headers, status, code):
    response = send(reference_server, "POST", persons(account), b'{"given_name": "Header"}', {"Content-Type": "application/json", **headers})
    assert_refused(response, status, (code,))
    assert listed(http, account) == []


def test_invalid_utf8_in_an_idempotency_key_still_replays(reference_server, http, account):
    """Header bytes outside ASCII read as Latin-1: an odd key is a key like any other."""
    headers = {"Content-Type": "application/json", "Idempotency-Key": b"key-\xff\xfe-" + account.encode(), "X-Junk": b"\xc3\x28"}
    first, again = (send(reference_server, "POST", persons(account), b'{"given_name": "Once"}', headers) for _ in range(2))
    assert (first.status_code, again.status_code) == (200, 200), again.text
    assert again.json() == first.json()
    assert [person["id"] for person in listed(http, account)] == [first.json()["id"]]


# ------------------------------------------------------------------------- below the application

def raw_exchange(port: int, data: bytes, timeout: float = TIMEOUT) -> tuple[int | None, bytes, bytes, float]:
    """Send bytes httpx would refuse to send; the status, head and body of the answer, and how long it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while b"\r\n\r\n" not in received or len(received.partition(b"\r\n\r\n")[2]) < _length(received):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.1 ") else None
    return status, head, body, time.monotonic() - started


def _length(received: bytes) -> int:
    for line in received.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def request_bytes(account: str, line: bytes | None = None, extra: bytes = b"", body: bytes = b"{}") -> bytes:
    line = line or f"POST {persons(account)} HTTP/1.1".encode()
    return (line + b"\r\nHost: 127.0.0.1\r\n" + f"Authorization: Bearer {SECRET_KEY}\r\nStripe-Version: {STRIPE_VERSION}\r\n".encode()
            + b"Content-Type: application/json\r\n" + extra + b"Connection: close\r\n\r\n" + body)


BROKEN_HTTP: dict[str, Any] = {
    "raw invalid UTF-8 in the path": lambda a: request_bytes(a, f"POST {persons(a)}/".encode() + b"\xff\xfe HTTP/1.1", b"Content-Length: 2\r\n"),
    "raw invalid UTF-8 in the account id": lambda a: request_bytes(a, b"POST /v2/core/accounts/\xff/persons HTTP/1.1", b"Content-Length: 2\r\n"),
    "raw NUL in the path": lambda a: request_bytes(a, f"POST {persons(a)}".encode() + b"\x00 HTTP/1.1", b"Content-Length: 2\r\n"),
    "raw space in the path": lambda a: request_bytes(a, f"POST {persons(a)}/a b HTTP/1.1".encode(), b"Content-Length: 2\r\n"),
    "NUL in a header value": lambda a: request_bytes(a, extra=b"X-Junk: a\x00b\r\nContent-Length: 2\r\n"),
    "invalid UTF-8 in a header name": lambda a: request_bytes(a, extra=b"X-\xff: a\r\nContent-Length: 2\r\n"),
    "Content-Length and Transfer-Encoding": lambda a: request_bytes(a, extra=b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", body=b"2\r\n{}\r\n0\r\n\r\n"),
    "non-numeric Content-Length": lambda a: request_bytes(a, extra=b"Content-Length: two\r\n"),
    "Content-Length past 2**64": lambda a: request_bytes(a, extra=b"Content-Length: 99999999999999999999999\r\n"),
    "malformed chunk size": lambda a: request_bytes(a, extra=b"Transfer-Encoding: chunked\r\n", body=b"zz\r\n{}\r\n0\r\n\r\n"),
}


@pytest.mark.parametrize("build", BROKEN_HTTP.values(), ids=BROKEN_HTTP.keys())
def test_broken_http_is_a_400_from_the_server_and_stores_nothing(reference_server, http, account, build):
    """uvicorn's parser refuses these before the application sees them: a 400 in the API's envelope (it was
    uvicorn's text/plain), the connection closed, never a 5xx or a hang."""
    status, head, body, elapsed = raw_exchange(reference_server.port, build(account))
    assert status == 400, (status, head, body[:200])
    assert elapsed < TIMEOUT
    assert b"content-type: application/json" in head.lower() and b"connection: close" in head.lower(), head
    error = json.loads(body)["error"]
    assert error["code"] == "invalid_request" and error["message"], error
    assert re.search(rb"request-id: req_[0-9a-f]+", head.lower()), head
    assert listed(http, account) == []


def test_a_client_that_leaves_mid_body_is_no_server_error(reference_server, http, account, caplog):
    """The server waits for the declared body; the client leaves: nothing stored, no internal error logged (it was)."""
    with socket.create_connection(("127.0.0.1", reference_server.port), timeout=TIMEOUT) as sock:
        sock.sendall(request_bytes(account, extra=b"Content-Length: 100\r\n", body=b'{"given_name": "Gone'))
        time.sleep(0.3)
    time.sleep(0.3)  # the server notices the disconnect
    assert listed(http, account) == []
    assert [record.getMessage() for record in caplog.records if record.name == "conformance.reference"] == []
