"""Semantic checks that no schema expresses, as plain functions over a Workbench.

Each check raises CheckFailed (what was expected, what was seen) or returns; the runner records
every exchange it made.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from conformance.engine.client import Exchange
from conformance.engine.results import Category
from conformance.engine.triggers import Workbench
from conformance.engine.untrusted import path, path_id

PERSON = {
    "given_name": "Jenny", "surname": "Rosen", "email": "jenny.rosen@example.com",
    "address": {"line1": "27 Fredrick Ave", "city": "Brothers", "postal_code": "97712", "state": "OR", "country": "US"},
    "id_numbers": [{"type": "us_ssn_last_4", "value": "0000"}],
    "relationship": {"owner": True, "percent_ownership": "0.8", "representative": True, "title": "CEO"},
    "metadata": {"order": "1", "keep": "yes"},
}


class CheckFailed(Exception):
    def __init__(self, expectation: str, seen: str) -> None:
        super().__init__(f"expected {expectation}; {seen}")
        self.expectation = expectation
        self.seen = seen


def expect(condition: bool, expectation: str, seen: str) -> None:
    if not condition:
        raise CheckFailed(expectation, seen)


def ok(exchange: Exchange, what: str) -> dict[str, Any]:
    expect(exchange.status == 200 and isinstance(exchange.json, dict), f"{what} to answer 200 with an object",
           f"got {exchange.status or exchange.error}: {exchange.response_text[:300]}")
    return exchange.json


def persons_path(account_id: str, person_id: str = "") -> str:
    persons = path("/v2/core/accounts/{}/persons", account_id)
    return f"{persons}/{path_id(person_id)}" if person_id else persons


def _create(bench: Workbench, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
    person = ok(bench.client.request("POST", persons_path(account_id), json_body=body, operation_id="create_person"), "create person")
    bench.created_persons.append((account_id, person["id"]))
    return person


def _retrieve(bench: Workbench, account_id: str, person_id: str) -> Exchange:
    return bench.client.request("GET", persons_path(account_id, person_id), operation_id="retrieve_person")


def _same_members(sent: dict[str, Any], got: dict[str, Any], where: str) -> None:
    for name, value in sent.items():
        if name == "id_numbers":
            expect([{"type": n["type"]} for n in value] == got.get(name), f"{where}.id_numbers to list the types sent", f"got {got.get(name)!r}")
        elif isinstance(value, dict):
            expect(isinstance(got.get(name), dict), f"{where}.{name} to be an object", f"got {got.get(name)!r}")
            _same_members(value, got[name], f"{where}.{name}")
        elif name == "country":
            expect(str(got.get(name, "")).lower() == value.lower(), f"{where}.country {value!r} (any case)", f"got {got.get(name)!r}")
        else:
            expect(got.get(name) == value, f"{where}.{name} == {value!r}", f"got {got.get(name)!r}")


# ---------------------------------------------------------------------------------------- checks
def retrieve_returns_what_was_created(bench: Workbench) -> None:
    account_id = bench.account()
    created = _create(bench, account_id, PERSON)
    _same_members(PERSON, created, "create response")
    _same_members(PERSON, ok(_retrieve(bench, account_id, created["id"]), "retrieve person"), "retrieved person")


def update_changes_only_what_was_sent(bench: Workbench) -> None:
    account_id = bench.account()
    created = _create(bench, account_id, PERSON)
    time.sleep(0.002)  # `updated` has millisecond precision
    updated = ok(bench.client.request("POST", persons_path(account_id, created["id"]), json_body={"email": "jenny@example.org", "address": {"city": "Bend"}}, operation_id="update_person"), "update person")
    expect(updated.get("email") == "jenny@example.org", "email to change", f"got {updated.get('email')!r}")
    expect((updated.get("address") or {}).get("line1") == "27 Fredrick Ave", "address.line1 to stay when only address.city is sent", f"got {updated.get('address')!r}")
    expect((updated.get("address") or {}).get("city") == "Bend", "address.city to change", f"got {updated.get('address')!r}")
    _same_members({key: PERSON[key] for key in ("given_name", "surname", "relationship", "id_numbers")}, updated, "updated person")
    expect(updated.get("created") == created.get("created"), "created never to change", f"{created.get('created')} became {updated.get('created')}")
    expect(str(updated.get("updated")) > str(created.get("updated")), "updated to move forward on update", f"{created.get('updated')} then {updated.get('updated')}")


def metadata_null_removes_a_key(bench: Workbench) -> None:
    account_id = bench.account()
    created = _create(bench, account_id, PERSON)
    updated = ok(bench.client.request("POST", persons_path(account_id, created["id"]), json_body={"metadata": {"order": None, "new": "1"}}, operation_id="update_person"), "update person")
    expect(updated.get("metadata") == {"keep": "yes", "new": "1"}, "metadata {'keep': 'yes', 'new': '1'} after setting 'order' to null", f"got {updated.get('metadata')!r}")


def delete_then_not_found(bench: Workbench) -> None:
    account_id = bench.account()
    created = _create(bench, account_id, {"given_name": "Short-lived"})
    deleted = ok(bench.client.request("DELETE", persons_path(account_id, created["id"]), operation_id="delete_person"), "delete person")
    # Stripe's v2.deleted_object: the deleted id, and optionally its type in `object` (no `deleted` member is promised).
    expect(deleted.get("id") == created["id"], f"the deleted object to carry id {created['id']!r}", f"got {deleted!r}")
    expect(deleted.get("object", "v2.core.account_person") == "v2.core.account_person",
           "the deleted object's optional `object` to name the deleted type, v2.core.account_person", f"got {deleted!r}")
    gone = _retrieve(bench, account_id, created["id"])
    expect(gone.status == 404 and gone.error_code == "not_found", "404 not_found after delete", f"got {gone.status} {gone.error_code}")


def _walk(bench: Workbench, url: str, direction: str, max_pages: int) -> tuple[list[str], list[dict[str, Any]]]:
    """Follow `next_page_url` or `previous_page_url` verbatim; the ids seen and the pages."""
    seen: list[str] = []
    pages: list[dict[str, Any]] = []
    while url and len(pages) < max_pages:
        if bench.fixtures.get("page_urls", "relative") == "relative":
            expect(url.startswith("/v2/"), f"{direction} relative (/v2/...), as the target's page_urls decision says", f"got {url!r}")
        else:  # absolute or any: an absolute URL must stay on the target, and is followed by its path
            parts, target = urlsplit(url), urlsplit(bench.client.base_url)
            expect(not parts.netloc or (parts.scheme, parts.netloc) == (target.scheme, target.netloc), f"{direction} on the target itself", f"got {url!r}")
            url = urlunsplit(("", "", parts.path, parts.query, ""))
        page = ok(bench.client.request("GET", url, operation_id="list_persons"), "list persons")
        pages.append(page)
        seen += [person["id"] for person in page.get("data", [])]
        url = page.get(direction)
    return seen, pages


def list_returns_every_person_once(bench: Workbench) -> None:
    account_id = bench.account()
    created = [_create(bench, account_id, {"given_name": f"Listed {index}"})["id"] for index in range(5)]
    deadline = time.monotonic() + float(bench.fixtures.get("list_consistency_seconds", 0))
    while True:
        seen, pages = _walk(bench, f"{persons_path(account_id)}?limit=2", "next_page_url", max_pages=20)
        if set(seen) == set(created) or time.monotonic() >= deadline:
            break
        time.sleep(0.5)  # Stripe documents v2 lists as eventually consistent
    expect(len(seen) == len(set(seen)), "each person once across pages", f"duplicates: {sorted({i for i in seen if seen.count(i) > 1})}")
    expect(set(seen) == set(created), f"the {len(created)} persons created, across pages of 2", f"missing {sorted(set(created) - set(seen))}, unexpected {sorted(set(seen) - set(created))}")
    expect(len(pages) == 3 and pages[-1].get("next_page_url") is None, "3 pages of 2, 2 and 1, the last with next_page_url null",
           f"{len(pages)} pages, the last next_page_url {pages[-1].get('next_page_url')!r}")
    expect(pages[0].get("previous_page_url") is None, "previous_page_url null on the first page", f"got {pages[0].get('previous_page_url')!r}")
    if bench.fixtures.get("list_order", "newest_first") == "newest_first":
        expect(seen == created[::-1], "newest first (the spec's decision for list order)", f"order {seen}, created {created}")
    back, _ = _walk(bench, pages[-1].get("previous_page_url") or "", "previous_page_url", max_pages=20)
    expect(sorted(back) == sorted(seen[:-1]), "previous_page_url to walk back over the earlier pages", f"walked back over {back}")


def representative_age_limit(bench: Workbench) -> None:
    limit = int(bench.fixtures.get("representative_age_limit", 13))
    today = date.today()

    def born(years: int) -> dict[str, int]:
        return {"day": 1, "month": 1, "year": today.year - years - 1}

    account_id = bench.account()
    old_enough = bench.client.request("POST", persons_path(account_id), json_body={"relationship": {"representative": True}, "date_of_birth": born(limit)}, operation_id="create_person")
    expect(old_enough.status == 200, f"a representative aged {limit} to be accepted (age limit {limit})", f"got {old_enough.status} {old_enough.error_code}")
    if old_enough.status == 200:
        bench.created_persons.append((account_id, old_enough.json["id"]))
    too_young = bench.client.request("POST", persons_path(bench.account()), json_body={"relationship": {"representative": True}, "date_of_birth": born(limit - 2)}, operation_id="create_person")
    error = (too_young.json or {}).get("error") if isinstance(too_young.json, dict) else None
    expect(too_young.error_code == "date_of_birth_age_restriction" and isinstance(error, dict) and str(error.get("age_limit")) == str(limit),
           f"date_of_birth_age_restriction with age_limit {limit!r} for a representative aged {limit - 1}", f"got {too_young.status} {too_young.response_text[:200]}")


def dates_of_birth_are_validated(bench: Workbench) -> None:
    account_id = bench.account()
    future = date.today().year + 1
    for dob, why in (({"day": 1, "month": 6, "year": future}, "a future date"), ({"day": 31, "month": 4, "year": 1990}, "31 April")):
        answer = bench.client.request("POST", persons_path(account_id), json_body={"date_of_birth": dob}, operation_id="create_person")
        expect(answer.error_code == "date_of_birth_invalid", f"date_of_birth_invalid for {why}", f"got {answer.status} {answer.error_code}")


def update_replaces_arrays(bench: Workbench) -> None:
    account_id = bench.account()
    created = _create(bench, account_id, {"additional_names": [{"purpose": "alias", "full_name": "J. R."}, {"purpose": "maiden", "surname": "Smith"}], "nationalities": ["US", "CA"]})
    updated = ok(bench.client.request("POST", persons_path(account_id, created["id"]), json_body={"additional_names": [{"purpose": "alias", "full_name": "Jen"}], "nationalities": ["FR"]}, operation_id="update_person"), "update person")
    if bench.fixtures.get("update_arrays", "replace") == "replace":
        names = [(name.get("purpose"), name.get("full_name")) for name in updated.get("additional_names") or []]
        expect(names == [("alias", "Jen")], "update to replace additional_names (the spec's decision: arrays are replaced)", f"got {names}")
        expect([str(n).lower() for n in updated.get("nationalities") or []] == ["fr"], "update to replace nationalities", f"got {updated.get('nationalities')!r}")


ODD_INPUTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("a 10,000-character given_name", {"given_name": "J" * 10_000}),
    ("astral, NUL, right-to-left and combining characters", {"given_name": "\U0001F600\x00\u202e\u0301", "surname": "\U00010348" * 50}),
    ("an overflowing date_of_birth year", {"date_of_birth": {"day": 1, "month": 1, "year": 2**70}}),
    ("negative date_of_birth members", {"date_of_birth": {"day": -1, "month": -1, "year": -1}}),
    ("200 metadata keys", {"metadata": {f"k{index}": "v" * 500 for index in range(200)}}),
    ("an unknown member", {"given_name": "Jenny", "unknown_member": {"nested": [1, 2, 3]}}),
    ("a wrongly typed member", {"relationship": {"owner": "yes", "percent_ownership": 80}}),
)


def odd_input_never_breaks_the_server(bench: Workbench) -> None:
    account_id = bench.account()
    for what, body in ODD_INPUTS:
        answer = bench.client.request("POST", persons_path(account_id), json_body=body, operation_id="create_person")
        expect(answer.status is not None and answer.status < 500, f"a 4xx or a 200, never a 5xx, for {what}", f"got {answer.status or answer.error}")
        if answer.status == 200 and isinstance(answer.json, dict):
            bench.created_persons.append((account_id, answer.json.get("id", "")))


def accounts_are_isolated(bench: Workbench) -> None:
    first, second = bench.account(), bench.account()
    person = _create(bench, first, {"given_name": "Isolated"})
    other = _retrieve(bench, second, person["id"])
    expect(other.status == 404, "a person not to be reachable through another account (404)", f"got {other.status}")
    token = bench.person_token(first)
    other = bench.client.request("GET", path("/v2/core/accounts/{}/person_tokens/{}", second, token), operation_id="retrieve_person_token")
    expect(other.status == 404, "a person token not to be reachable through another account (404)", f"got {other.status}")
    listed = ok(bench.client.request("GET", persons_path(second), operation_id="list_persons"), "list persons")
    expect(person["id"] not in [p.get("id") for p in listed.get("data", [])], "another account's list not to hold the person", "it does")


def token_is_single_use(bench: Workbench) -> None:
    account_id = bench.account()
    token = bench.person_token(account_id, {"given_name": "Tokenised", "surname": "Person"})
    token_path = path("/v2/core/accounts/{}/person_tokens/{}", account_id, token)
    expect(ok(bench.client.request("GET", token_path, operation_id="retrieve_person_token"), "retrieve token").get("used") is False, "used false before use", "it was not")
    person = _create(bench, account_id, {"person_token": token})
    expect(person.get("given_name") == "Tokenised", "the person to carry the token's members", f"given_name {person.get('given_name')!r}")
    expect(ok(bench.client.request("GET", token_path, operation_id="retrieve_person_token"), "retrieve token").get("used") is True, "used true after use", "it was not")
    again = bench.client.request("POST", persons_path(account_id), json_body={"person_token": token}, operation_id="create_person")
    expect(again.error_code == "token_already_used", "token_already_used on a second use", f"got {again.status} {again.error_code}")


def token_expiry_is_as_configured(bench: Workbench) -> None:
    account_id = bench.account()
    exchange = bench.client.request("POST", path("/v2/core/accounts/{}/person_tokens", account_id), json_body={"given_name": "Expiring"}, operation_id="create_person_token")
    token = ok(exchange, "create person token")
    lifetime = float(bench.fixtures.get("token_lifetime_seconds", 600))
    parse = lambda value: datetime.fromisoformat(str(value).replace("Z", "+00:00"))  # noqa: E731
    seen = (parse(token["expires_at"]) - parse(token["created"])).total_seconds()
    expect(abs(seen - lifetime) < 1, f"expires_at = created + {lifetime:g} s", f"got {seen:g} s")


def idempotent_replays(bench: Workbench) -> None:
    account_id = bench.account()
    key = "conformance-" + secrets.token_hex(12)
    body = {"given_name": "Replayed"}
    first = ok(bench.client.request("POST", persons_path(account_id), json_body=body, idempotency_key=key, operation_id="create_person"), "create person")
    bench.created_persons.append((account_id, first["id"]))
    second = ok(bench.client.request("POST", persons_path(account_id), json_body=body, idempotency_key=key, operation_id="create_person"), "replayed create")
    expect(second.get("id") == first.get("id"), "a replay to return the first person", f"{first.get('id')} then {second.get('id')}")
    listed = ok(bench.client.request("GET", persons_path(account_id), operation_id="list_persons"), "list persons")
    expect(len(listed.get("data", [])) == 1, "one person after a replay", f"{len(listed.get('data', []))} listed")
    conflict = bench.client.request("POST", persons_path(account_id), json_body={"given_name": "Other"}, idempotency_key=key, operation_id="create_person")
    expect(conflict.status == 409 and conflict.error_code == "idempotency_error", "409 idempotency_error for the same key with another body", f"got {conflict.status} {conflict.error_code}")


def pii_is_never_echoed(bench: Workbench) -> None:
    account_id = bench.account()
    secret_value = "".join(secrets.choice("0123456789") for _ in range(9))
    body = {"id_numbers": [{"type": "us_ssn", "value": secret_value}], "address": {"country": "US"}}
    created = bench.client.request("POST", persons_path(account_id), json_body=body, operation_id="create_person")
    person = ok(created, "create person")
    bench.created_persons.append((account_id, person["id"]))
    token = bench.client.request("POST", path("/v2/core/accounts/{}/person_tokens", account_id), json_body={**body, "given_name": "Secretive"}, operation_id="create_person_token")
    ok(token, "create person token")
    pii = bench.client.request("POST", "/v1/tokens", form={"pii": {"id_number": secret_value}}, operation_id="create_token")
    ok(pii, "create PII token")
    for exchange in (created, _retrieve(bench, account_id, person["id"]), bench.client.request("GET", persons_path(account_id), operation_id="list_persons"), token, pii):
        expect(secret_value not in exchange.response_text, f"the id number never to be echoed ({exchange.method} {exchange.url})", "the response holds it")
    expect("Secretive" not in token.response_text, "a person token not to echo the tokenised data", "it holds given_name")


def livemode_matches_the_key(bench: Workbench) -> None:
    account_id = bench.account()
    person = _create(bench, account_id, {"given_name": "Mode"})
    test_key = not bench.client.api_key.startswith(("sk_live_", "rk_live_"))
    expect(person.get("livemode") is (not test_key), f"livemode {not test_key} with a {'test' if test_key else 'live'} key", f"got {person.get('livemode')!r}")


def auth_is_enforced(bench: Workbench) -> None:
    account_id = bench.account()
    path = persons_path(account_id)
    missing = bench.client.request("GET", path, authorize=False, operation_id="list_persons")
    expect(missing.status == 401 and isinstance((missing.json or {}).get("error"), dict), "401 with an error object without a key", f"got {missing.status}")
    wrong_key = bench.client.api_key[:-4] + ("0000" if not bench.client.api_key.endswith("0000") else "1111")
    bad = bench.client.request("POST", path, json_body={"given_name": "Intruder"}, key=wrong_key, operation_id="create_person")
    expect(bad.status == 401, "401 with an unknown key", f"got {bad.status}")


def v1_person_token_round_trip(bench: Workbench) -> None:
    created = ok(bench.client.request("POST", "/v1/tokens", form={"person": {"first_name": "Jane", "relationship": {"owner": True}}}, operation_id="create_token"), "create v1 person token")
    expect(created.get("object") == "token" and created.get("type") == "person", "a token object of type person", f"got {created.get('object')!r}/{created.get('type')!r}")
    expect(created.get("used") is False, "used false", f"got {created.get('used')!r}")
    retrieved = ok(bench.client.request("GET", path("/v1/tokens/{}", created["id"]), operation_id="retrieve_token"), "retrieve v1 token")
    expect(retrieved.get("id") == created["id"], "retrieve to return the same token", f"got {retrieved.get('id')!r}")


SemanticCheck = Callable[[Workbench], None]
CHECKS: dict[str, tuple[Category, SemanticCheck]] = {
    "semantics/retrieve-returns-what-was-created": (Category.SEMANTICS, retrieve_returns_what_was_created),
    "semantics/update-changes-only-what-was-sent": (Category.SEMANTICS, update_changes_only_what_was_sent),
    "semantics/metadata-null-removes-a-key": (Category.SEMANTICS, metadata_null_removes_a_key),
    "semantics/delete-then-not-found": (Category.SEMANTICS, delete_then_not_found),
    "semantics/list-returns-every-person-once": (Category.SEMANTICS, list_returns_every_person_once),
    "semantics/representative-age-limit": (Category.SEMANTICS, representative_age_limit),
    "semantics/dates-of-birth-are-validated": (Category.SEMANTICS, dates_of_birth_are_validated),
    "semantics/update-replaces-arrays": (Category.SEMANTICS, update_replaces_arrays),
    "semantics/odd-input-never-breaks-the-server": (Category.SEMANTICS, odd_input_never_breaks_the_server),
    "semantics/accounts-are-isolated": (Category.SEMANTICS, accounts_are_isolated),
    "semantics/token-is-single-use": (Category.SEMANTICS, token_is_single_use),
    "semantics/token-expiry-is-as-configured": (Category.SEMANTICS, token_expiry_is_as_configured),
    "semantics/idempotent-replays": (Category.SEMANTICS, idempotent_replays),
    "semantics/pii-is-never-echoed": (Category.SEMANTICS, pii_is_never_echoed),
    "semantics/livemode-matches-the-key": (Category.SEMANTICS, livemode_matches_the_key),
    "semantics/auth-is-enforced": (Category.SEMANTICS, auth_is_enforced),
    "v1-tokens/person-token-round-trip": (Category.V1_TOKENS, v1_person_token_round_trip),
}
