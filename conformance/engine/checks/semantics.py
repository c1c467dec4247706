"""Semantic checks that no schema expresses, each a plain function over a Workbench and a Judge.

A check is registered with `@check(id, assertions, decisions=...)`; see conformance/engine/judge.py. The v1
Tokens checks are in v1_tokens.py, the same way.
Where Stripe publishes nothing, a check judges the decision through `judge.decide`, never directly.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from conformance.engine.client import Exchange
from conformance.engine.judge import Judge, Stop, check
from conformance.engine.workbench import Workbench, lifetime_of
from conformance.spec import Operation
from conformance.spec.decisions import declared_default

PERSON: dict[str, Any] = {
    "given_name": "Jenny",
    "surname": "Rosen",
    "email": "jenny.rosen@example.com",
    "address": {"line1": "27 Fredrick Ave", "city": "Brothers", "postal_code": "97712", "state": "OR", "country": "US"},
    "id_numbers": [{"type": "us_ssn_last_4", "value": "0000"}],
    "relationship": {"owner": True, "percent_ownership": "0.8", "representative": True, "title": "CEO"},
    "metadata": {"order": "1", "keep": "yes"},
}


def _create(bench: Workbench, account_id: str, body: dict[str, Any], json_body: Any = None) -> Exchange:
    return bench.call("create_person", account_id=account_id, json=body if json_body is None else json_body)


def _update(bench: Workbench, account_id: str, person_id: str, body: dict[str, Any]) -> Exchange:
    return bench.call("update_person", account_id=account_id, id=person_id, json=body)


def _retrieve(bench: Workbench, account_id: str, person_id: str) -> Exchange:
    return bench.call("retrieve_person", account_id=account_id, id=person_id)


def _listed_ids(bench: Workbench, account_id: str) -> list[Any] | None:
    listed = bench.call("list_persons", account_id=account_id)
    if listed.status != 200 or not isinstance(listed.json, dict) or not isinstance(listed.json.get("data"), list):
        return None
    return [person.get("id") for person in listed.json["data"] if isinstance(person, dict)]


def _error(exchange: Exchange) -> dict[str, Any]:
    error = exchange.json.get("error") if isinstance(exchange.json, dict) else None
    return error if isinstance(error, dict) else {}


def _answer(exchange: Exchange) -> str:
    return f"got {exchange.status or exchange.error} {exchange.error_code or ''} {exchange.response_text[:200]}".strip()


def _mismatches(sent: dict[str, Any], got: Any, where: str) -> list[str]:
    """How `got` differs from the members `sent` (countries in any case, id numbers by type)."""
    if not isinstance(got, dict):
        return [f"{where} is {got!r}, not an object"]
    found = []
    for name, value in sent.items():
        if name == "id_numbers":
            if [{"type": number["type"]} for number in value] != got.get(name):
                found.append(f"{where}.id_numbers is {got.get(name)!r}, not the types sent")
        elif isinstance(value, dict):
            found += _mismatches(value, got.get(name), f"{where}.{name}")
        elif name == "country":
            if str(got.get(name, "")).lower() != value.lower():
                found.append(f"{where}.country is {got.get(name)!r}, not {value!r} in any case")
        elif got.get(name) != value:
            found.append(f"{where}.{name} is {got.get(name)!r}, not {value!r}")
    return found


def _utc_today() -> date:
    return datetime.now(UTC).date()


def _born(age: int, *, birthday_passed: bool) -> dict[str, int]:
    """A date of birth of someone aged `age` today, one day clear of the birthday (time zones may differ)."""
    day = _utc_today() + timedelta(days=-1 if birthday_passed else 1)
    try:
        birth = day.replace(year=day.year - age)
    except ValueError:  # 29 February
        birth = day.replace(year=day.year - age, day=28)
    return {"day": birth.day, "month": birth.month, "year": birth.year}


# ------------------------------------------------------------------------------------------ persons
@check(
    "semantics/retrieve-returns-what-was-created",
    {
        "create-echoes-members": "the created person to carry every member sent (id numbers by type only)",
        "retrieve-returns-members": "the retrieved person to carry every member sent",
    },
)
def retrieve_returns_what_was_created(bench: Workbench, judge: Judge) -> None:
    account_id = bench.account()
    created = judge.ok("create-echoes-members", _create(bench, account_id, PERSON), "create person")
    judge.expect("create-echoes-members", not (found := _mismatches(PERSON, created, "person")), "; ".join(found))
    retrieved = judge.ok("retrieve-returns-members", _retrieve(bench, account_id, created["id"]), "retrieve person")
    found = _mismatches(PERSON, retrieved, "person")
    judge.expect("retrieve-returns-members", not found, "; ".join(found))


@check(
    "semantics/update-changes-only-what-was-sent",
    {
        "sent-members-changed": "the members sent (email, address.city) to change",
        "nested-objects": "a nested object sent in part to be merged or replaced, as the decision says",
        "other-members-kept": "the members not sent (names, relationship, id numbers) to stay as they were",
        "created-unchanged": "`created` never to change",
        "updated-advances": "`updated` to move forward on update",
    },
    decisions=("update_nested_objects",),
)
def update_changes_only_what_was_sent(bench: Workbench, judge: Judge) -> None:
    account_id = bench.account()
    created = judge.ok("sent-members-changed", _create(bench, account_id, PERSON), "create person")
    time.sleep(0.002)  # `updated` has millisecond precision
    # The country goes too: a target that replaces nested objects would otherwise refuse an address without one.
    sent = {"email": "jenny@example.org", "address": {"city": "Bend", "country": "US"}}
    updated = judge.ok("sent-members-changed", _update(bench, account_id, created["id"], sent), "update person")
    address: dict[str, Any] = updated["address"] if isinstance(updated.get("address"), dict) else {}
    judge.expect(
        "sent-members-changed",
        updated.get("email") == sent["email"] and address.get("city") == "Bend",
        f"email {updated.get('email')!r}, address {address!r}",
    )
    line1 = address.get("line1")
    observed = "merge" if line1 == PERSON["address"]["line1"] else "replace" if line1 is None else None
    judge.decide("nested-objects", "update_nested_objects", observed, f"address after update {address!r}")
    kept = {name: PERSON[name] for name in ("given_name", "surname", "relationship", "id_numbers")}
    judge.expect("other-members-kept", not (found := _mismatches(kept, updated, "person")), "; ".join(found))
    judge.expect(
        "created-unchanged",
        updated.get("created") == created.get("created"),
        f"{created.get('created')} became {updated.get('created')}",
    )
    judge.expect(
        "updated-advances",
        str(updated.get("updated")) > str(created.get("updated")),
        f"{created.get('updated')} then {updated.get('updated')}",
    )


@check(
    "semantics/metadata-null-removes-a-key",
    {"null-removes-the-key": "metadata {'keep': 'yes', 'new': '1'} after setting 'order' to null and adding 'new'"},
)
def metadata_null_removes_a_key(bench: Workbench, judge: Judge) -> None:
    account_id = bench.account()
    created = judge.ok("null-removes-the-key", _create(bench, account_id, PERSON), "create person")
    changes = {"metadata": {"order": None, "new": "1"}}
    updated = judge.ok("null-removes-the-key", _update(bench, account_id, created["id"], changes), "update person")
    metadata = updated.get("metadata")
    judge.expect("null-removes-the-key", metadata == {"keep": "yes", "new": "1"}, f"got {metadata!r}")


@check(
    "semantics/delete-then-not-found",
    {
        "deleted-object": "the deleted object to carry the person's id, and in its optional `object` the deleted type",
        "retrieve-answers-not-found": "404 not_found on retrieving a deleted person",
        "not-listed-after-delete": "a deleted person never to be listed",
    },
)
def delete_then_not_found(bench: Workbench, judge: Judge) -> None:
    account_id = bench.account()
    created = judge.ok("deleted-object", _create(bench, account_id, {"given_name": "Short-lived"}), "create person")
    exchange = bench.call("delete_person", account_id=account_id, id=created["id"])
    deleted = judge.ok("deleted-object", exchange, "delete person")
    # Stripe's v2.deleted_object: the deleted id, and optionally its type in `object` (no `deleted` member is promised).
    judge.expect(
        "deleted-object",
        deleted.get("id") == created["id"]
        and deleted.get("object", "v2.core.account_person") == "v2.core.account_person",
        f"got {deleted!r} for {created['id']!r}",
    )
    gone = _retrieve(bench, account_id, created["id"])
    judge.expect("retrieve-answers-not-found", gone.status == 404 and gone.error_code == "not_found", _answer(gone))
    listed = _listed_ids(bench, account_id)
    judge.expect("not-listed-after-delete", listed is not None and created["id"] not in listed, f"listed: {listed}")


def _page_urls(bench: Workbench, url: str) -> tuple[str | None, str]:
    """The page_urls alternative a page URL follows (None: neither), and the path to request."""
    if url.startswith("/v2/"):
        return "relative", url
    parts, target = urlsplit(url), urlsplit(bench.client.base_url)
    if (parts.scheme, parts.netloc) == (target.scheme, target.netloc) and parts.path.startswith("/v2/"):
        return "absolute", urlunsplit(("", "", parts.path, parts.query, ""))
    return None, ""


def _walk(bench: Workbench, judge: Judge, url: str, direction: str) -> tuple[list[Any], list[dict[str, Any]]]:
    """Follow `next_page_url` or `previous_page_url`; the ids seen and the pages."""
    seen: list[Any] = []
    pages: list[dict[str, Any]] = []
    while url and len(pages) < 20:
        if pages or direction == "previous_page_url":
            form, url = _page_urls(bench, url)
            if "page-urls" not in judge.verdicts:
                judge.decide("page-urls", "page_urls", form, f"{direction} {url!r}")
            if form is None:
                raise Stop("page-urls")
        page = judge.ok("every-person-listed", bench.follow("list_persons", url), "list")
        pages.append(page)
        seen += [person.get("id") for person in page.get("data") or [] if isinstance(person, dict)]
        following = page.get(direction)
        url = following if isinstance(following, str) else ""
    return seen, pages


@check(
    "semantics/list-returns-every-person-once",
    {
        "page-urls": "page URLs relative (/v2/...) or absolute on the target's own origin, as the decision says",
        "every-person-listed": "the 5 persons created, across pages of 2",
        "each-person-once": "each person once across pages",
        "page-sizes": "3 pages of 2, 2 and 1, the last with next_page_url null",
        "first-page-has-no-previous": "previous_page_url null on the first page",
        "order": "the persons in creation order, newest or oldest first as the decision says",
        "walks-back": "previous_page_url to walk back over the earlier pages",
    },
    decisions=("page_urls", "list_order"),
)
def list_returns_every_person_once(bench: Workbench, judge: Judge) -> None:
    account_id = bench.account()
    created = []
    for index in range(5):
        person = judge.ok(
            "every-person-listed", _create(bench, account_id, {"given_name": f"Listed {index}"}), "create"
        )
        created.append(person["id"])
    deadline = time.monotonic() + float(bench.fixtures.get("list_consistency_seconds", 0))
    while True:
        seen, pages = _walk(
            bench, judge, bench.url("list_persons", {"limit": 2}, account_id=account_id), "next_page_url"
        )
        if set(seen) == set(created) or time.monotonic() >= deadline:
            break
        time.sleep(0.5)  # Stripe documents v2 lists as eventually consistent
    missing, unexpected = sorted(set(created) - set(seen)), sorted(set(seen) - set(created))
    judge.expect("every-person-listed", not missing and not unexpected, f"missing {missing}, unexpected {unexpected}")
    duplicates = sorted({person_id for person_id in seen if seen.count(person_id) > 1})
    judge.expect("each-person-once", not duplicates, f"duplicates: {duplicates}")
    sizes = [len(page.get("data") or []) for page in pages]
    judge.expect(
        "page-sizes",
        sizes == [2, 2, 1] and pages[-1].get("next_page_url") is None,
        f"pages of {sizes}, the last next_page_url {pages[-1].get('next_page_url')!r}",
    )
    judge.expect(
        "first-page-has-no-previous",
        pages[0].get("previous_page_url") is None,
        f"got {pages[0].get('previous_page_url')!r}",
    )
    order = "newest_first" if seen == created[::-1] else "oldest_first" if seen == created else None
    judge.decide("order", "list_order", order, f"listed {seen}, created {created}")
    if "page-urls" not in judge.verdicts:
        judge.expect("page-urls", True, "")  # one page only: no page URL to judge (page-sizes fails)
    back, _ = _walk(bench, judge, str(pages[-1].get("previous_page_url") or ""), "previous_page_url")
    judge.expect("walks-back", sorted(back) == sorted(seen[: -sizes[-1] or None]), f"walked back over {back}")


@check(
    "semantics/list-limits",
    {
        "default-page-size": "a list without `limit` to answer pages of the stated default size",
        "largest-limit": "the largest `limit` accepted, one more refused with a 400 and an error object",
        "smallest-limit": "the smallest `limit` accepted, one less refused with a 400 and an error object",
    },
    decisions=("list_limit_default", "list_limit_max", "list_limit_min"),
)
def list_limits(bench: Workbench, judge: Judge) -> None:
    stated = bench.decisions.get("list_limit_default")
    account_id = bench.account()
    count = (int(stated) if isinstance(stated, int) else int(declared_default("list_limit_default"))) + 1
    for index in range(count):
        judge.ok("default-page-size", _create(bench, account_id, {"given_name": f"Paged {index}"}), "create person")
    page = judge.ok(
        "default-page-size",
        bench.call("list_persons", account_id=account_id),
        "list persons",
    )
    size = len(page.get("data") or [])
    observed = size if size < count else None if size > count else f"at least {count}"
    judge.decide("default-page-size", "list_limit_default", observed, f"a page of {size} of {count} persons")
    for assertion, decision, step in (("largest-limit", "list_limit_max", 1), ("smallest-limit", "list_limit_min", -1)):
        limit = bench.decisions.get(decision)
        if not isinstance(limit, int):
            judge.decide(assertion, decision, "not observed", "the suite does not search for it")
            continue
        inside = bench.call("list_persons", account_id=account_id, query={"limit": limit})
        outside = bench.call("list_persons", account_id=account_id, query={"limit": limit + step})
        refused = outside.status == 400 and bool(_error(outside))
        observed = limit if inside.status == 200 and refused else None
        judge.decide(
            assertion, decision, observed, f"limit {limit}: {inside.status}; limit {limit + step}: {outside.status}"
        )


@check(
    "semantics/representative-age-limit",
    {
        "newborn-refused": "date_of_birth_age_restriction, with an age_limit member, for a representative aged 0",
        "age-limit": "the age_limit the target answers, as the decision says",
        "accepted-at-limit": "a representative as old as the age limit to be accepted",
        "refused-below-limit": "date_of_birth_age_restriction for a representative one year younger than the limit",
    },
    decisions=("representative_age_limit",),
)
def representative_age_limit(bench: Workbench, judge: Judge) -> None:
    account_id = bench.account()

    def representative(age: int, *, birthday_passed: bool) -> Exchange:
        dob = _born(age, birthday_passed=birthday_passed)
        return _create(bench, account_id, {"relationship": {"representative": True}, "date_of_birth": dob})

    newborn = representative(0, birthday_passed=True)
    age_limit = _error(newborn).get("age_limit")
    judge.require(
        "newborn-refused",
        newborn.error_code == "date_of_birth_age_restriction" and str(age_limit).isdigit(),
        _answer(newborn),
    )
    observed = int(str(age_limit))
    judge.decide("age-limit", "representative_age_limit", observed, f"age_limit {age_limit!r}")
    stated = bench.decisions.get("representative_age_limit")
    limit = int(stated) if isinstance(stated, int) else observed
    at_limit = representative(limit, birthday_passed=True)
    judge.expect(
        "accepted-at-limit", at_limit.status == 200, _answer(at_limit), f"a representative aged {limit} accepted"
    )
    below = representative(limit - 1, birthday_passed=True) if limit > 1 else newborn
    judge.expect(
        "refused-below-limit",
        below.error_code == "date_of_birth_age_restriction" and str(_error(below).get("age_limit")) == str(limit),
        _answer(below),
        f"date_of_birth_age_restriction with age_limit {limit!r} for a representative aged {limit - 1}",
    )


@check(
    "semantics/dates-of-birth-are-validated",
    {
        "future-date-refused": "date_of_birth_invalid for a date of birth in the future",
        "impossible-date-refused": "date_of_birth_invalid for 31 April",
    },
)
def dates_of_birth_are_validated(bench: Workbench, judge: Judge) -> None:
    account_id = bench.account()
    future = {"day": 1, "month": 6, "year": _utc_today().year + 1}
    for assertion, dob in (
        ("future-date-refused", future),
        ("impossible-date-refused", {"day": 31, "month": 4, "year": 1990}),
    ):
        answer = _create(bench, account_id, {"date_of_birth": dob})
        judge.expect(assertion, answer.error_code == "date_of_birth_invalid", _answer(answer))


@check(
    "semantics/update-of-arrays",
    {
        "sent-items-stored": "every item of an array sent on update to be stored",
        "arrays": "the stored items replaced by the sent ones, or kept beside them, as the decision says",
    },
    decisions=("update_arrays",),
)
def update_of_arrays(bench: Workbench, judge: Judge) -> None:
    account_id = bench.account()
    first = {"additional_names": [{"purpose": "alias", "full_name": "J. R."}], "nationalities": ["US", "CA"]}
    created = judge.ok("sent-items-stored", _create(bench, account_id, first), "create person")
    sent = {"additional_names": [{"purpose": "maiden", "full_name": "Jen"}], "nationalities": ["FR"]}
    updated = judge.ok("sent-items-stored", _update(bench, account_id, created["id"], sent), "update person")
    names = [name.get("full_name") for name in updated.get("additional_names") or [] if isinstance(name, dict)]
    nationalities = [str(country).upper() for country in updated.get("nationalities") or []]
    judge.expect(
        "sent-items-stored",
        "Jen" in names and "FR" in nationalities,
        f"additional_names {names}, nationalities {nationalities}",
    )
    forms = {"replace": (["Jen"], ["FR"]), "merge": (["J. R.", "Jen"], ["US", "CA", "FR"])}
    observed = next((form for form, seen in forms.items() if seen == (names, nationalities)), None)
    judge.decide("arrays", "update_arrays", observed, f"additional_names {names}, nationalities {nationalities}")


ODD_INPUTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("a 10,000-character given_name", {"given_name": "J" * 10_000}),
    ("astral, NUL, right-to-left and combining characters", {"given_name": "\U0001f600\x00\u202e\u0301"}),
    ("an overflowing date_of_birth year", {"date_of_birth": {"day": 1, "month": 1, "year": 2**70}}),
    ("negative date_of_birth members", {"date_of_birth": {"day": -1, "month": -1, "year": -1}}),
    ("200 metadata keys", {"metadata": {f"k{index}": "v" * 500 for index in range(200)}}),
    ("an unknown member", {"given_name": "Jenny", "unknown_member": {"nested": [1, 2, 3]}}),
    ("a wrongly typed member", {"relationship": {"owner": "yes", "percent_ownership": 80}}),
)


@check("semantics/odd-input-never-breaks-the-server", {"no-server-error": "a 4xx or a 200, never a 5xx, for odd input"})
def odd_input_never_breaks_the_server(bench: Workbench, judge: Judge) -> None:
    account_id = bench.account()
    broken = []
    for what, body in ODD_INPUTS:
        answer = _create(bench, account_id, body)
        if answer.status is None or answer.status >= 500:
            broken.append(f"{what}: {answer.status or answer.error}")
    judge.expect("no-server-error", not broken, "; ".join(broken))


@check(
    "semantics/accounts-are-isolated",
    {
        "person-not-retrievable": "a person not to be reachable through another account (404)",
        "token-not-retrievable": "a person token not to be reachable through another account (404)",
        "person-not-listed": "another account's list not to hold the person",
    },
)
def accounts_are_isolated(bench: Workbench, judge: Judge) -> None:
    first, second = bench.account(), bench.account()
    person = judge.ok("person-not-retrievable", _create(bench, first, {"given_name": "Isolated"}), "create person")
    other = _retrieve(bench, second, person["id"])
    judge.expect("person-not-retrievable", other.status == 404, _answer(other))
    token = bench.person_token(first)
    other = bench.call("retrieve_person_token", account_id=second, id=token)
    judge.expect("token-not-retrievable", other.status == 404, _answer(other))
    listed = _listed_ids(bench, second)
    judge.expect("person-not-listed", listed is not None and person["id"] not in listed, f"listed: {listed}")


# ------------------------------------------------------------------------------------ person tokens
@check(
    "semantics/token-is-single-use",
    {
        "unused-before-use": "`used` false before the token is used",
        "person-carries-token-members": "a person created from a token to carry the token's members",
        "used-after-use": "`used` true after the token is used",
        "second-use-refused": "token_already_used on a second use",
    },
)
def token_is_single_use(bench: Workbench, judge: Judge) -> None:
    account_id = bench.account()
    token = bench.person_token(account_id, {"given_name": "Tokenised", "surname": "Person"})

    def used() -> Any:
        exchange = bench.call("retrieve_person_token", account_id=account_id, id=token)
        return (
            exchange.json.get("used") if exchange.status == 200 and isinstance(exchange.json, dict) else exchange.status
        )

    judge.expect("unused-before-use", (before := used()) is False, f"used is {before!r}")
    person = judge.ok("person-carries-token-members", _create(bench, account_id, {"person_token": token}), "create")
    judge.expect("person-carries-token-members", person.get("given_name") == "Tokenised", f"person {person!r}")
    judge.expect("used-after-use", (after := used()) is True, f"used is {after!r}")
    again = _create(bench, account_id, {"person_token": token})
    judge.expect("second-use-refused", again.error_code == "token_already_used", _answer(again))


@check(
    "semantics/token-lifetime",
    {
        "expires-after-created": "a person token's expires_at after its created",
        "lifetime": "expires_at = created + the token lifetime the decision says (within a second)",
    },
    decisions=("person_token_lifetime_seconds",),
)
def token_lifetime(bench: Workbench, judge: Judge) -> None:
    account_id = bench.account()
    exchange = bench.call("create_person_token", account_id=account_id, json={"given_name": "Expiring"})
    token = judge.ok("expires-after-created", exchange, "create person token")
    lifetime = lifetime_of(token)
    seen = f"created {token.get('created')!r}, expires_at {token.get('expires_at')!r}"
    judge.require("expires-after-created", lifetime is not None and lifetime > 0, seen)
    judge.decide(
        "lifetime",
        "person_token_lifetime_seconds",
        round(lifetime or 0, 3),
        seen,
        agrees=lambda stated, observed: abs(float(stated) - observed) < 1,
    )


@check(
    "semantics/metadata-alongside-person-token",
    {
        "metadata-alongside": "metadata beside person_token accepted, or refused with param_alongside_person_token, as "
        "the decision says"
    },
    decisions=("metadata_alongside_person_token",),
)
def metadata_alongside_person_token(bench: Workbench, judge: Judge) -> None:
    account_id = bench.account()
    token = bench.person_token(account_id, {"given_name": "Tokenised"})
    answer = _create(bench, account_id, {"person_token": token, "metadata": {"source": "token"}})
    metadata = answer.json.get("metadata") if answer.status == 200 and isinstance(answer.json, dict) else None
    accepted = isinstance(metadata, dict) and metadata.get("source") == "token"
    observed = "allowed" if accepted else "refused" if answer.error_code == "param_alongside_person_token" else None
    judge.decide("metadata-alongside", "metadata_alongside_person_token", observed, _answer(answer))


# ---------------------------------------------------------------------------------- other decisions
@check(
    "semantics/percent-ownership-scale",
    {
        "small-share-accepted": "an owner with percent_ownership '0.5' accepted (a valid share on either scale)",
        "scale": "percent_ownership '50' accepted (percent), or refused as more than the whole (fraction), as the "
        "decision says",
    },
    decisions=("percent_ownership_scale",),
)
def percent_ownership_scale(bench: Workbench, judge: Judge) -> None:
    small = _create(bench, bench.account(), {"relationship": {"owner": True, "percent_ownership": "0.5"}})
    judge.expect("small-share-accepted", small.status == 200, _answer(small))
    half = _create(bench, bench.account(), {"relationship": {"owner": True, "percent_ownership": "50"}})
    over_one = ("person_percent_ownership_invalid", "total_person_ownership_exceeded")
    observed = "percent" if half.status == 200 else "fraction" if half.error_code in over_one else None
    judge.decide("scale", "percent_ownership_scale", observed, _answer(half))


@check(
    "semantics/identity-country-rule",
    {
        "address-refused": "identity_country_required for a person with an address on an account without a country",
        "rule": "a person without an address on such an account accepted (addresses) or identity_country_required "
        "(persons), as the decision says",
    },
    decisions=("identity_country_rule",),
)
def identity_country_rule(bench: Workbench, judge: Judge) -> None:
    account_id = bench.account(country=None)
    with_address = _create(bench, account_id, {"address": {"country": "US", "city": "Brothers"}})
    judge.expect("address-refused", with_address.error_code == "identity_country_required", _answer(with_address))
    plain = _create(bench, account_id, {"given_name": "Countryless"})
    observed = (
        "addresses" if plain.status == 200 else "persons" if plain.error_code == "identity_country_required" else None
    )
    judge.decide("rule", "identity_country_rule", observed, _answer(plain))


@check(
    "semantics/idempotent-replays",
    {
        "replay-returns-first": "a replay (same key, same body) to return the first person",
        "replay-creates-nothing": "one person after a replay",
        "other-body-conflicts": "409 idempotency_error for the same key with another body",
        "key-scope": "the same key on another path a conflict (key) or a new request (key_and_path), as the decision "
        "says",
    },
    decisions=("idempotency_key_scope",),
)
def idempotent_replays(bench: Workbench, judge: Judge) -> None:
    account_id = bench.account()
    key = "conformance-" + secrets.token_hex(12)
    body = {"given_name": "Replayed"}

    def create(on: str, sent: dict[str, Any]) -> Exchange:
        exchange = bench.call("create_person", account_id=on, json=sent, idempotency_key=key)
        return exchange

    first = judge.ok("replay-returns-first", create(account_id, body), "create person")
    second = judge.ok("replay-returns-first", create(account_id, body), "replayed create")
    judge.expect(
        "replay-returns-first", second.get("id") == first.get("id"), f"{first.get('id')} then {second.get('id')}"
    )
    listed = _listed_ids(bench, account_id)
    judge.expect("replay-creates-nothing", listed is not None and len(listed) == 1, f"listed: {listed}")
    conflict = create(account_id, {"given_name": "Other"})
    judge.expect(
        "other-body-conflicts", conflict.status == 409 and conflict.error_code == "idempotency_error", _answer(conflict)
    )
    elsewhere = create(bench.account(), body)
    new_person = (
        elsewhere.status == 200 and isinstance(elsewhere.json, dict) and elsewhere.json.get("id") != first.get("id")
    )
    conflicted = elsewhere.status == 409 and elsewhere.error_code == "idempotency_error"
    observed = "key" if conflicted else "key_and_path" if new_person else None
    judge.decide("key-scope", "idempotency_key_scope", observed, _answer(elsewhere))


@check(
    "semantics/pii-is-never-echoed",
    {
        "id-number-never-echoed": "an id number's value never in any response (person, list, token, PII token)",
        "token-holds-no-data": "a person token not to echo the tokenised data",
    },
)
def pii_is_never_echoed(bench: Workbench, judge: Judge) -> None:
    account_id = bench.account()
    secret_value = "".join(secrets.choice("0123456789") for _ in range(9))
    body = {"id_numbers": [{"type": "us_ssn", "value": secret_value}], "address": {"country": "US"}}
    created = _create(bench, account_id, body)
    person = judge.ok("id-number-never-echoed", created, "create person")
    token = bench.call("create_person_token", account_id=account_id, json={**body, "given_name": "Secretive"})
    judge.ok("token-holds-no-data", token, "create person token")
    pii = bench.call("create_token", form={"pii": {"id_number": secret_value}})
    listed = bench.call("list_persons", account_id=account_id)
    answers = (created, _retrieve(bench, account_id, person["id"]), listed, token, pii)
    echoed = [f"{exchange.method} {exchange.url}" for exchange in answers if secret_value in exchange.response_text]
    judge.expect("id-number-never-echoed", not echoed, f"echoed by {echoed}")
    judge.expect("token-holds-no-data", "Secretive" not in token.response_text, "the token holds given_name")


# ------------------------------------------------------------------------------ negative and positive data
INVALID_BODIES: dict[str, dict[str, Any]] = {
    "unknown-enum-value": {"given_name": "Invalid", "political_exposure": "sometimes"},
    "wrong-type": {"given_name": 12},
    "unknown-member": {"given_name": "Invalid", "favourite_colour": "blue"},
    "missing-required-member": {"given_name": "Invalid", "id_numbers": [{"type": "us_ssn"}]},
}


@check(
    "semantics/invalid-requests-are-refused",
    {
        **{
            name: f"a create_person with {name.replace('-', ' ')} refused with a 400 and an error object"
            for name in INVALID_BODIES
        },
        "malformed-json": "a create_person whose body is not JSON refused with a 400 and an error object",
        "missing-stripe-version": "a v2 request without Stripe-Version refused with a 400 and an error object",
        "nothing-stored": "no person stored by any refused request",
    },
)
def invalid_requests_are_refused(bench: Workbench, judge: Judge) -> None:
    account_id = bench.account()

    def refused(exchange: Exchange) -> bool:
        return exchange.status == 400 and bool(_error(exchange))

    for name, body in INVALID_BODIES.items():
        answer = _create(bench, account_id, body)
        judge.expect(name, refused(answer), _answer(answer))
    malformed = bench.call("create_person", account_id=account_id, raw_body=b'{"given_name": "Invalid"')
    judge.expect("malformed-json", refused(malformed), _answer(malformed))
    unversioned = bench.call("create_person", account_id=account_id, json={"given_name": "Invalid"}, versioned=False)
    judge.expect("missing-stripe-version", refused(unversioned), _answer(unversioned))
    listed = _listed_ids(bench, account_id)
    judge.expect("nothing-stored", listed == [], f"listed after the refused requests: {listed}")


def _v2(operation: Operation) -> bool:
    return operation.path.startswith("/v2/")


def _v2_probes(bench: Workbench, account_id: str) -> dict[str, tuple[dict[str, Any], Any]]:
    """A plain, valid request of each v2 operation, on objects made for it: (path parameters, body)."""
    made = {"create_person": bench.created("create_person", account_id, "Probed")}
    made["create_person_token"] = bench.created("create_person_token", account_id, "Probed")
    return {
        operation.operation_id: (
            {"account_id": account_id, **{name: made[creator] for name, creator in operation.created_by.items()}},
            {} if operation.method == "post" else None,
        )
        for operation in bench.api.values()
        if _v2(operation)
    }


@check(
    "semantics/minimal-requests-succeed",
    {"operation": "the minimal valid request (no body member, no parameter) answered 200"},
    per_operation=_v2,
)
def minimal_requests_succeed(bench: Workbench, judge: Judge) -> None:
    account_id = bench.account()
    probes = _v2_probes(bench, account_id)
    for operation_id in judge.check.assertions:  # delete last: the others use the person
        params, body = probes[operation_id]
        answer = bench.call(operation_id, json=body, **params)
        judge.expect(operation_id, answer.status == 200 and isinstance(answer.json, dict), _answer(answer))


# ---------------------------------------------------------------------------------------------- keys
@check("semantics/livemode-matches-the-key", {"livemode": "livemode true with a live key, false with a test key"})
def livemode_matches_the_key(bench: Workbench, judge: Judge) -> None:
    person = judge.ok("livemode", _create(bench, bench.account(), {"given_name": "Mode"}), "create person")
    live = bench.client.api_key.startswith(("sk_live_", "rk_live_"))
    judge.expect("livemode", person.get("livemode") is live, f"livemode {person.get('livemode')!r}")


@check(
    "semantics/auth-is-enforced",
    {
        "no-key-refused": "401 with an error object without a key",
        "malformed-key-refused": "401 with an error object for a credential that is no API key",
        "unknown-test-key": "a well-formed test key the target never issued refused (401) or accepted, as the "
        "decision says",
    },
    decisions=("unknown_test_keys",),
)
def auth_is_enforced(bench: Workbench, judge: Judge) -> None:
    account_id = bench.account()
    missing = bench.call("list_persons", account_id=account_id, authorize=False)
    judge.expect("no-key-refused", missing.status == 401 and bool(_error(missing)), _answer(missing))
    malformed = bench.call("list_persons", account_id=account_id, key="not an API key")
    judge.expect("malformed-key-refused", malformed.status == 401 and bool(_error(malformed)), _answer(malformed))
    unknown = "sk_test_conformance" + secrets.token_hex(12)
    answer = bench.call("list_persons", account_id=account_id, key=unknown)
    refused = answer.status == 401 and bool(_error(answer))
    observed = "refused" if refused else "accepted" if answer.status == 200 else None
    judge.decide("unknown-test-key", "unknown_test_keys", observed, _answer(answer))


def _secret_only_v2(operation: Operation) -> bool:
    return operation.path.startswith("/v2/") and not operation.publishable_key_allowed


@check(
    "semantics/publishable-keys-are-refused",
    {"operation": "a publishable key refused with a 401 and an error object (v2 is for secret keys)"},
    per_operation=_secret_only_v2,
)
def publishable_keys_are_refused(bench: Workbench, judge: Judge) -> None:
    key = bench.fixture("publishable_key")
    account_id = bench.account()
    probes = _v2_probes(bench, account_id)
    for operation_id in judge.check.assertions:
        params, body = probes[operation_id]
        answer = bench.call(operation_id, json=body, key=key, **params)
        judge.expect(operation_id, answer.status == 401 and bool(_error(answer)), _answer(answer))
