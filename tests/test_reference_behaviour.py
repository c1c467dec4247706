"""The reference server behaves as docs/reference-server.md says, over real HTTP on loopback.

Objects, updates, deletes, keys and malformed requests, idempotency, pagination, person tokens,
v1 tokens and persistence. Error codes one by one are in test_reference_error_codes.py.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from conformance.engine.client import ApiClient, Exchange
from conformance.engine.validation import ResponseValidator
from conformance.reference.server import RunningServer, ServerOptions
from conformance.reference.service import ID_ALPHABET, Settings, new_id
from conformance.spec import load_spec, operations

from .conftest import SECRET_KEY, STRIPE_VERSION, TOKEN_LIFETIME

PUBLISHABLE_KEY = "pk_test_reference_publishable"
LIVE_SECRET_KEY = "sk_live_ref_secret"
LIVE_PUBLISHABLE_KEY = "pk_live_ref_publishable"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
OPERATION_IDS = sorted(operations(load_spec()))

JENNY = {
    "given_name": "Jenny",
    "surname": "Rosen",
    "email": "jenny.rosen@example.com",
    "phone": "+1 541 555 0100",
    "date_of_birth": {"day": 28, "month": 1, "year": 1990},
    "address": {"line1": "27 Fredrick Ave", "city": "Brothers", "postal_code": "97712", "state": "OR", "country": "US"},
    "id_numbers": [{"type": "us_ssn_last_4", "value": "0000"}],
    "relationship": {"owner": True, "percent_ownership": "0.8", "representative": True, "title": "CEO"},
}


def persons(account: str, person_id: str = "") -> str:
    return f"/v2/core/accounts/{account}/persons" + (f"/{person_id}" if person_id else "")


def person_tokens(account: str, token_id: str = "") -> str:
    return f"/v2/core/accounts/{account}/person_tokens" + (f"/{token_id}" if token_id else "")


def ok(exchange: Exchange) -> dict[str, Any]:
    assert exchange.status == 200, f"{exchange.method} {exchange.url}: {exchange.status} {exchange.response_text}"
    return exchange.json


def new_account(client: ApiClient, key: str | None = None) -> str:
    return ok(client.request("POST", "/v2/core/accounts", json_body={"identity": {"country": "us"}}, key=key))["id"]


def listed_ids(client: ApiClient, account: str) -> list[str]:
    page = ok(client.request("GET", persons(account) + "?limit=100", operation_id="list_persons"))
    return [person["id"] for person in page["data"]]


def epoch(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


@pytest.fixture(scope="module")
def validator(spec) -> ResponseValidator:
    return ResponseValidator(spec)


@pytest.fixture
def api_for():
    """ApiClients on other servers than the session's (live key, short tokens, persistence)."""
    made: list[ApiClient] = []

    def make(server: RunningServer, key: str = SECRET_KEY) -> ApiClient:
        made.append(ApiClient(server.url, key, stripe_version=STRIPE_VERSION))
        return made[-1]

    yield make
    for api in made:
        api.close()


# --------------------------------------------------------------------------- the nine operations

@pytest.fixture(scope="module")
def nine_exchanges(reference_server) -> Iterator[dict[str, Exchange]]:
    """Each spec operation called once, successfully, with a realistic request, keyed by operation id."""
    client = ApiClient(reference_server.url, SECRET_KEY, stripe_version=STRIPE_VERSION)
    account = new_account(client)
    sent: dict[str, Exchange] = {}

    def call(operation_id: str, method: str, path: str, **body: Any) -> dict[str, Any]:
        sent[operation_id] = client.request(method, path, operation_id=operation_id, **body)
        return ok(sent[operation_id])

    token = call("create_person_token", "POST", person_tokens(account), json_body={**JENNY, "given_name": "Token"})
    call("retrieve_person_token", "GET", person_tokens(account, token["id"]))
    person = call("create_person", "POST", persons(account), json_body=JENNY)
    call("retrieve_person", "GET", persons(account, person["id"]))
    call("update_person", "POST", persons(account, person["id"]), json_body={"email": "jenny@example.com", "metadata": {"crm": "42"}})
    call("list_persons", "GET", persons(account) + "?limit=5")
    call("delete_person", "DELETE", persons(account, person["id"]))
    v1 = call("create_token", "POST", "/v1/tokens", form={"person": {"first_name": "Jane", "last_name": "Diaz", "relationship": {"owner": True, "percent_ownership": 80}}})
    call("retrieve_token", "GET", f"/v1/tokens/{v1['id']}")
    yield sent
    client.close()


def test_the_flow_calls_every_operation_of_the_spec(nine_exchanges):
    assert sorted(nine_exchanges) == OPERATION_IDS and len(OPERATION_IDS) == 9


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_operation_succeeds_and_validates(nine_exchanges, validator, operation_id):
    exchange = nine_exchanges[operation_id]
    assert exchange.status == 200, exchange.response_text
    assert validator.problems(exchange) == []
    assert exchange.response_headers["request-id"].startswith("req_")


# ----------------------------------------------------------------------------------------- objects

def test_person_object_has_the_documented_shape(client, account):
    created = ok(client.request("POST", persons(account), json_body=JENNY))
    assert created["id"].startswith("person_test_")
    assert (created["object"], created["account"], created["livemode"]) == ("v2.core.account_person", account, False)
    assert TIMESTAMP.match(created["created"]) and created["updated"] == created["created"]
    assert created["id_numbers"] == [{"type": "us_ssn_last_4"}]  # without the value
    assert created["address"] == {**JENNY["address"], "country": "us"}
    assert {name: created[name] for name in ("metadata", "additional_addresses", "additional_names", "nationalities")} == {
        "metadata": {}, "additional_addresses": [], "additional_names": [], "nationalities": [],
    }
    assert ok(client.request("GET", persons(account, created["id"]))) == created


def test_empty_body_creates_a_person_with_empty_defaults(client, account):
    created = ok(client.request("POST", persons(account), json_body={}))
    assert {name: created.get(name) for name in ("metadata", "additional_addresses", "additional_names", "nationalities", "id_numbers")} == {
        "metadata": {}, "additional_addresses": [], "additional_names": [], "nationalities": [], "id_numbers": [],
    }


def test_countries_are_echoed_lowercase(client, account):
    body = {
        "address": {"country": "US", "line1": "1 Main St", "postal_code": "97712", "state": "OR"},
        "additional_addresses": [{"country": "US", "purpose": "registered", "postal_code": "10001", "state": "NY"}],
        "nationalities": ["US", "Gb"],
    }
    created = ok(client.request("POST", persons(account), json_body=body))
    assert (created["address"]["country"], created["additional_addresses"][0]["country"], created["nationalities"]) == ("us", "us", ["us", "gb"])


def test_new_ids_take_every_character_at_every_place():
    # A miss is 24 * 62 * (61/62)**3000 likely (1e-18) where every character is as likely as the others; a bias, such as
    # padding a short number with "a"s, shows at once.
    ids = [new_id("x_", 24) for _ in range(3000)]
    assert len(set(ids)) == len(ids) and {len(made) for made in ids} == {26}
    assert all({made[place] for made in ids} == set(ID_ALPHABET) for place in range(2, 26))


@pytest.mark.parametrize(
    ("secret_key", "publishable_key", "livemode", "person_id"),
    [(SECRET_KEY, PUBLISHABLE_KEY, False, r"person_test_\w+"), (LIVE_SECRET_KEY, LIVE_PUBLISHABLE_KEY, True, r"person_(?!test_)\w+")],
    ids=["test", "live"],
)
def test_livemode_follows_the_key(client, secret_key, publishable_key, livemode, person_id):
    account = ok(client.request("POST", "/v2/core/accounts", json_body={}, key=secret_key))
    person = ok(client.request("POST", persons(account["id"]), json_body={"given_name": "Mode"}, key=secret_key))
    token = ok(client.request("POST", person_tokens(account["id"]), json_body={"given_name": "Mode"}, key=publishable_key))
    assert (account["livemode"], person["livemode"], token["livemode"]) == (livemode, livemode, livemode)
    assert re.fullmatch(person_id, person["id"]), person["id"]
    assert token["id"].startswith("perstok_")


# ---------------------------------------------------------------------------------- update, delete

def test_update_changes_only_the_members_sent(client, account):
    before = ok(client.request("POST", persons(account), json_body={
        **JENNY, "additional_names": [{"purpose": "alias", "given_name": "Jen"}, {"purpose": "maiden", "surname": "Smith"}],
        "nationalities": ["us"], "metadata": {"keep": "1", "drop": "2"},
    }))
    changes = {
        "address": {"line1": "1 New St"},
        "relationship": {"title": "CFO"},
        "additional_names": [{"purpose": "alias", "full_name": "J. Rosen"}],
        "metadata": {"drop": None, "add": "3"},
    }
    after = ok(client.request("POST", persons(account, before["id"]), json_body=changes, operation_id="update_person"))
    expected = {
        **before,
        "address": {**before["address"], "line1": "1 New St"},
        "relationship": {**before["relationship"], "title": "CFO"},
        "additional_names": [{"purpose": "alias", "full_name": "J. Rosen"}],
        "metadata": {"keep": "1", "add": "3"},
        "updated": after["updated"],
    }
    assert after == expected
    assert after["updated"] > before["updated"]
    assert ok(client.request("GET", persons(account, before["id"]))) == after


def test_updated_strictly_increases_and_created_never_changes(client, account):
    person = ok(client.request("POST", persons(account), json_body={"given_name": "Tick"}))
    seen = [person]
    for step in range(6):  # (updates within one millisecond: test_reference_concurrency)
        seen.append(ok(client.request("POST", persons(account, person["id"]), json_body={"metadata": {"step": str(step)}})))
    assert {each["created"] for each in seen} == {person["created"]}
    updates = [each["updated"] for each in seen]
    assert all(TIMESTAMP.match(stamp) for stamp in updates)
    assert all(earlier < later for earlier, later in zip(updates, updates[1:], strict=False)), updates


def test_delete_answers_deleted_then_the_person_is_not_found(client, account):
    person = ok(client.request("POST", persons(account), json_body={"given_name": "Gone"}))
    deleted = ok(client.request("DELETE", persons(account, person["id"])))
    assert deleted == {"id": person["id"], "object": "v2.core.account_person"}  # v2.deleted_object, no `deleted`
    for method, body in (("GET", None), ("POST", {"given_name": "Back"}), ("DELETE", None)):
        exchange = client.request(method, persons(account, person["id"]), json_body=body)
        assert (exchange.status, exchange.error_code) == (404, "not_found"), (method, exchange.response_text)
    assert listed_ids(client, account) == []


# -------------------------------------------------------------------------- keys and bad requests

def send_raw(server: RunningServer, path: str, content: bytes, changes: dict[str, str | None]) -> httpx.Response:
    """A POST with these exact bytes and valid headers but for `changes` (a None value drops the header)."""
    headers = {"Authorization": f"Bearer {SECRET_KEY}", "Stripe-Version": STRIPE_VERSION, "Content-Type": "application/json", **changes}
    return httpx.post(server.url + path, content=content, headers={name: value for name, value in headers.items() if value is not None}, timeout=30)


JSON_BODY = b'{"given_name": "Jenny"}'
REFUSED = {
    "no key": ({"Authorization": None}, JSON_BODY, 401, "authentication_required"),
    "malformed header": ({"Authorization": f"Token {SECRET_KEY}"}, JSON_BODY, 401, "authentication_required"),
    "empty bearer": ({"Authorization": "Bearer"}, JSON_BODY, 401, "authentication_required"),
    "unknown key": ({"Authorization": "Bearer sk_test_nobody_knows"}, JSON_BODY, 401, "authentication_required"),
    "publishable key": ({"Authorization": f"Bearer {PUBLISHABLE_KEY}"}, JSON_BODY, 401, "authentication_required"),
    "no Stripe-Version": ({"Stripe-Version": None}, JSON_BODY, 400, "invalid_fields"),
    "form body": ({"Content-Type": "application/x-www-form-urlencoded"}, b"given_name=Jenny", 415, "unsupported_media_type"),
    "malformed JSON": ({}, b'{"given_name": "Jenny"', 400, "invalid_json"),
    "JSON array": ({}, b'[{"given_name": "Jenny"}]', 400, "invalid_fields"),
    "2 MB body": ({}, b'{"given_name": "' + b"x" * (2 * 1024 * 1024) + b'"}', 413, "request_too_large"),
    "invalid UTF-8": ({}, b'{"given_name": "J\xffenny"}', 400, "invalid_json"),
}


@pytest.mark.parametrize(("changes", "content", "status", "code"), REFUSED.values(), ids=REFUSED.keys())
def test_bad_request_is_refused_and_stores_nothing(reference_server, client, account, changes, content, status, code):
    response = send_raw(reference_server, persons(account), content, changes)
    error = response.json()["error"]
    assert (response.status_code, error.get("code")) == (status, code), response.text
    assert error["message"]
    assert response.headers["request-id"].startswith("req_")
    assert listed_ids(client, account) == []


BASIC = "Basic " + base64.b64encode(f"{SECRET_KEY}:".encode()).decode()
FORM = "application/x-www-form-urlencoded"
ACCEPTED = {
    "basic auth on create_person": (BASIC, "persons", JSON_BODY, "application/json", "person_test_"),
    "publishable key on create_person_token": (f"Bearer {PUBLISHABLE_KEY}", "person_tokens", JSON_BODY, "application/json", "perstok_"),
    "publishable key on v1 create_token": (f"Bearer {PUBLISHABLE_KEY}", "v1", b"person[first_name]=Jenny", FORM, "cpt_"),
}


@pytest.mark.parametrize(("authorization", "where", "content", "content_type", "prefix"), ACCEPTED.values(), ids=ACCEPTED.keys())
def test_key_is_accepted(reference_server, account, authorization, where, content, content_type, prefix):
    path = {"persons": persons(account), "person_tokens": person_tokens(account), "v1": "/v1/tokens"}[where]
    response = send_raw(reference_server, path, content, {"Authorization": authorization, "Content-Type": content_type})
    assert response.status_code == 200, response.text
    assert response.json()["id"].startswith(prefix)


# ------------------------------------------------------------------------------------ idempotency

def test_same_key_same_body_replays_the_first_answer(client, account):
    first, again = (client.request("POST", persons(account), json_body=JENNY, idempotency_key=f"idem-same-{account}") for _ in range(2))
    assert (first.status, again.status) == (200, 200)
    assert again.json == first.json
    assert listed_ids(client, account) == [first.json["id"]]


CONFLICTS = {
    "v2 create_person": ("create_person", "json_body", {"given_name": "One"}, {"given_name": "Two"}),
    "v1 create_token": ("create_token", "form", {"pii": {"id_number": "000000001"}}, {"pii": {"id_number": "000000002"}}),
}


@pytest.mark.parametrize(("operation_id", "encoding", "first", "second"), CONFLICTS.values(), ids=CONFLICTS.keys())
def test_same_key_other_body_is_an_idempotency_error(client, account, validator, operation_id, encoding, first, second):
    path = persons(account) if operation_id == "create_person" else "/v1/tokens"
    key = f"idem-other-{operation_id}-{account}"
    ok(client.request("POST", path, idempotency_key=key, **{encoding: first}))
    conflict = client.request("POST", path, idempotency_key=key, operation_id=operation_id, **{encoding: second})
    assert (conflict.status, conflict.error_code, conflict.json["error"].get("type")) == (409, "idempotency_error", "idempotency_error"), conflict.response_text
    assert validator.problems(conflict) == []
    assert len(listed_ids(client, account)) == (operation_id == "create_person")


def test_replayed_create_with_a_person_token_returns_the_same_person(client, account):
    token = ok(client.request("POST", person_tokens(account), json_body={"given_name": "Tokenised"}))
    first, again = (client.request("POST", persons(account), json_body={"person_token": token["id"]}, idempotency_key=f"idem-token-{account}") for _ in range(2))
    assert (first.status, again.status) == (200, 200), again.response_text
    assert again.json == first.json and first.json["given_name"] == "Tokenised"
    assert listed_ids(client, account) == [first.json["id"]]


# ------------------------------------------------------------------------------------- pagination

@pytest.fixture(scope="module")
def paged(reference_server) -> Iterator[tuple[ApiClient, str, list[str]]]:
    """An account with 25 persons; their ids in creation order."""
    client = ApiClient(reference_server.url, SECRET_KEY, stripe_version=STRIPE_VERSION)
    account = new_account(client)
    created = [ok(client.request("POST", persons(account), json_body={"given_name": f"Person {n:02d}"}))["id"] for n in range(25)]
    yield client, account, created
    client.close()


def walk(client: ApiClient, validator: ResponseValidator, url: str, direction: str) -> list[dict[str, Any]]:
    """Follow `next_page_url` or `previous_page_url` verbatim from `url`, to the end; every page."""
    pages: list[dict[str, Any]] = []
    while url:
        exchange = client.request("GET", url, operation_id="list_persons")
        assert validator.problems(exchange) == []
        pages.append(ok(exchange))
        url = pages[-1][direction]
        assert len(pages) <= 25, "the pages do not end"
    return pages


def ids_of(pages: list[dict[str, Any]]) -> list[list[str]]:
    return [[person["id"] for person in page["data"]] for page in pages]


def test_pages_walk_forward_and_back(paged, validator):
    client, account, created = paged
    forward = walk(client, validator, persons(account) + "?limit=7", "next_page_url")
    assert [len(page) for page in ids_of(forward)] == [7, 7, 7, 4]
    assert [person for page in ids_of(forward) for person in page] == created[::-1]  # each once, newest first
    assert forward[0]["previous_page_url"] is None
    back = walk(client, validator, forward[-1]["previous_page_url"], "previous_page_url")
    assert ids_of(back) == ids_of(forward)[-2::-1]


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=seven", "page=not-a-page-token", "page=eyJhY2NvdW50IjoiYWNjdF9vdGhlciJ9"])
def test_invalid_list_query_is_a_400(client, account, query):
    exchange = client.request("GET", persons(account) + "?" + query)
    assert (exchange.status, exchange.error_code) == (400, "invalid_fields"), exchange.response_text


# ---------------------------------------------------------------------------------- person tokens

def test_person_token_lifecycle(client, account, validator):
    created = client.request("POST", person_tokens(account), json_body=JENNY, operation_id="create_person_token")
    token = ok(created)
    assert token["id"].startswith("perstok_") and token["used"] is False and TIMESTAMP.match(token["expires_at"])
    assert epoch(token["expires_at"]) - epoch(token["created"]) == pytest.approx(TOKEN_LIFETIME, abs=0.002)
    assert set(token) == {"id", "object", "created", "expires_at", "livemode", "used"}  # the person's data is never echoed
    assert ok(client.request("GET", person_tokens(account, token["id"]))) == token

    person = ok(client.request("POST", persons(account), json_body={"person_token": token["id"], "metadata": {"via": "token"}}))
    expected = {**JENNY, "address": {**JENNY["address"], "country": "us"}, "id_numbers": [{"type": "us_ssn_last_4"}], "metadata": {"via": "token"}}
    assert {name: person[name] for name in expected} == expected
    assert ok(client.request("GET", person_tokens(account, token["id"]))) == {**token, "used": True}

    reused = client.request("POST", persons(account), json_body={"person_token": token["id"]}, operation_id="create_person")
    assert (reused.status, reused.error_code) == (400, "token_already_used"), reused.response_text
    assert validator.problems(reused) == []
    elsewhere = client.request("GET", person_tokens(new_account(client), token["id"]))
    assert (elsewhere.status, elsewhere.error_code) == (404, "not_found")


def test_person_token_expires(api_for):
    lifetime = 0.3
    with RunningServer(ServerOptions(settings=Settings.deciding(person_token_lifetime_seconds=lifetime))) as server:
        client = api_for(server)
        account = new_account(client)
        token = ok(client.request("POST", person_tokens(account), json_body={"given_name": "Late"}))
        assert epoch(token["expires_at"]) - epoch(token["created"]) == pytest.approx(lifetime, abs=0.002)
        time.sleep(lifetime + 0.1)
        expired = client.request("POST", persons(account), json_body={"person_token": token["id"]})
        assert (expired.status, expired.error_code) == (400, "token_expired"), expired.response_text
        assert listed_ids(client, account) == []


# ------------------------------------------------------------------------------------- v1 tokens

V1_TOKENS = {
    "person": ({"person": {"first_name": "Jane", "last_name": "Diaz", "dob": {"day": 1, "month": 2, "year": 1990},
                           "address": {"city": "Brothers", "country": "US"}, "relationship": {"owner": True, "percent_ownership": 80}}}, "cpt_"),
    "pii": ({"pii": {"id_number": "000000000"}}, "pii_"),
}


@pytest.mark.parametrize(("form", "prefix"), V1_TOKENS.values(), ids=V1_TOKENS.keys())
def test_v1_token_is_created_and_retrieved(client, validator, form, prefix):
    created = client.request("POST", "/v1/tokens", form=form, operation_id="create_token")
    token = ok(created)
    assert token["id"].startswith(prefix)
    assert (token["object"], token["type"], token["used"], token["livemode"]) == ("token", next(iter(form)), False, False)
    assert isinstance(token["created"], int) and token["client_ip"] == "127.0.0.1"
    assert not {"person", "pii"} & set(token)  # what it carries is never echoed
    assert validator.problems(created) == []
    assert ok(client.request("GET", f"/v1/tokens/{token['id']}")) == token


# Requests Stripe's own description accepts on POST /v1/tokens (raw form bodies, as its clients send them).
STRIPE_ACCEPTS = {
    "empty-string unsets": b"person[dob]=&person[full_name_aliases]=&person[metadata]=&person[relationship][percent_ownership]="
                           b"&person[additional_tos_acceptances][account][user_agent]=&person[documents][passport][files][0]=",
    "expand[] on create": b"pii[id_number]=000000000&expand[]=card&expand[]=bank_account",
    "us_cfpb_data": b"person[us_cfpb_data][ethnicity_details][ethnicity][0]=cuban&person[us_cfpb_data][race_details][race][]=asian"
                    b"&person[us_cfpb_data][race_details][race_other]=x&person[us_cfpb_data][self_identified_gender]=y",
    "percent_ownership without bounds": b"person[relationship][owner]=true&person[relationship][percent_ownership]=150.5",
}


@pytest.mark.parametrize("content", STRIPE_ACCEPTS.values(), ids=STRIPE_ACCEPTS.keys())
def test_v1_token_takes_what_stripe_accepts(reference_server, client, validator, content):
    created = send_raw(reference_server, "/v1/tokens", content, {"Content-Type": "application/x-www-form-urlencoded"})
    assert created.status_code == 200, created.text
    token = created.json()
    assert ok(client.request("GET", f"/v1/tokens/{token['id']}?expand%5B0%5D=card", operation_id="retrieve_token")) == token


V1_REFUSED = {
    "no body at all": (b"", "invalid_request", None),
    "two kinds at once": (b"pii[id_number]=1&person[first_name]=J", "invalid_request", "pii"),
    "a kind this server does not create": (b"card[number]=4242424242424242", "invalid_request", "card"),
    "an expansion the token does not have": (b"pii[id_number]=1&expand[]=person", "invalid_request", "expand"),
}


@pytest.mark.parametrize(("content", "code", "param"), V1_REFUSED.values(), ids=V1_REFUSED.keys())
def test_v1_token_business_rules_are_a_v1_400(reference_server, content, code, param):
    refused = send_raw(reference_server, "/v1/tokens", content, {"Content-Type": "application/x-www-form-urlencoded" if content else None})
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert (error["type"], error["code"], error.get("param")) == ("invalid_request_error", code, param) and error["message"]


def test_retrieve_token_expansions_are_checked(client):
    token = ok(client.request("POST", "/v1/tokens", form=V1_TOKENS["pii"][0]))
    assert ok(client.request("GET", f"/v1/tokens/{token['id']}?expand%5B%5D=card&expand%5B%5D=bank_account")) == token
    refused = client.request("GET", f"/v1/tokens/{token['id']}?expand%5B%5D=pii")
    assert (refused.status, refused.json["error"]["param"]) == (400, "expand")


@pytest.mark.parametrize(("version", "status"), [("2026-09-30.endive", 200), ("2025-11-17.preview; embedded_beta=v2", 200),
                                                 ("2026-09-30", 200), ("endive", 400), ("2026-09-30.endive extra", 400)])
def test_stripe_version_takes_a_date_a_release_and_beta_flags(reference_server, account, version, status):
    with httpx.Client(base_url=reference_server.url, headers={"Authorization": f"Bearer {SECRET_KEY}", "Stripe-Version": version}) as http:
        answer = http.get(persons(account))
    assert answer.status_code == status, answer.text


def test_unknown_v1_token_is_a_v1_404(client, validator):
    exchange = client.request("GET", "/v1/tokens/cpt_doesnotexist", operation_id="retrieve_token")
    assert exchange.status == 404
    error = exchange.json["error"]
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", "resource_missing", "token") and error["message"]
    assert validator.problems(exchange) == []


def test_v1_person_token_is_refused_by_v2(client, account):
    v1 = ok(client.request("POST", "/v1/tokens", form=V1_TOKENS["person"][0]))
    exchange = client.request("POST", persons(account), json_body={"person_token": v1["id"]})
    assert (exchange.status, exchange.error_code) == (400, "v1_token_invalid_in_v2"), exchange.response_text
    assert listed_ids(client, account) == []


# ------------------------------------------------------------------------------------ persistence

def test_persons_survive_a_restart_on_the_same_database(tmp_path, api_for):
    options = ServerOptions(database=tmp_path / "ref.db")
    with RunningServer(options) as server:
        client = api_for(server)
        account = new_account(client)
        created = [ok(client.request("POST", persons(account), json_body={**JENNY, "given_name": name, "relationship": {"director": True}})) for name in ("Ann", "Bob", "Cy")]
        ok(client.request("POST", persons(account, created[0]["id"]), json_body={"metadata": {"edited": "yes"}}))
        expected = [ok(client.request("GET", persons(account, person["id"]))) for person in created]
    with RunningServer(options) as server:
        client = api_for(server)
        assert listed_ids(client, account) == [person["id"] for person in reversed(created)]
        assert [ok(client.request("GET", persons(account, person["id"]))) for person in created] == expected
