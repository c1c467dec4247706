"""How to provoke each documented error code, operation by operation.

A trigger sets up what it needs on the target (fresh accounts, persons, tokens) through a
`Workbench`, then returns the one request expected to answer the code. Codes that depend on how a
platform or account is configured take their values from the target's fixtures; when a fixture
is missing, the trigger raises `NotExercised` with the reason.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from conformance.engine.client import Exchange
from conformance.engine.untrusted import path_id, retry_after
from conformance.engine.workbench import NotExercised, Workbench, lifetime_of, path_of
from conformance.spec import Operation

Trigger = Callable[["Workbench", Operation], "Probe"]


@dataclass(frozen=True)
class Probe:
    """The request expected to answer a code."""

    method: str
    path: str
    json_body: Any = None
    form: dict[str, Any] | None = None
    key: str | None = None
    idempotency_key: str | None = None
    # Some codes need the same request twice (token reuse, idempotency conflict): sent first, its answer not judged.
    before: tuple[Probe, ...] = ()
    # A rate-limit burst: sent up to this many times, unpaced, until the first 429 (which is judged).
    burst: int = 1


@dataclass(frozen=True)
class Candidate:
    """One way to provoke a code whose rule Stripe does not publish; a scenario tries its candidates in turn."""

    name: str
    trigger: Trigger
    # Decisions under which the candidate can work: skipped when the target states another alternative.
    when: Mapping[str, Any] = field(default_factory=dict)
    # An answer that shows the target took an alternative where the code cannot occur: the reason, else None.
    rules_out: Callable[[Exchange], str | None] = lambda exchange: None

    def contradicted(self, decisions: Mapping[str, Any]) -> str | None:
        for name, value in self.when.items():
            if decisions.get(name, "any") not in ("any", value):
                return f"{self.name}: needs {name} = {value}, the target states {decisions[name]}"
        return None


def _object_creator(operation: Operation) -> str | None:
    """The operation creating the object this operation addresses (retrieve_person: create_person), or None."""
    return next((creator for name, creator in operation.created_by.items() if name != "account_id"), None)


def _id_prefix(creator: str | None) -> str:
    return "perstok_" if creator == "create_person_token" else "person_test_"


def baseline(
    bench: Workbench, operation: Operation, account_id: str, *, key: str | None = None, usable: bool = True
) -> Probe:
    """A plain, valid call of `operation` on `account_id`; `usable` says whether objects can be created there."""
    object_id = ""
    if (creator := _object_creator(operation)) is not None:
        placeholder = _id_prefix(creator) + "conformance_placeholder"
        object_id = bench.created(creator, account_id, "Baseline") if usable else placeholder
    body = {"given_name": "Baseline"} if operation.method == "post" else None
    return Probe(operation.method.upper(), path_of(operation, account_id, object_id), json_body=body, key=key)


def person_write(
    bench: Workbench,
    operation: Operation,
    body: dict[str, Any],
    *,
    account_id: str | None = None,
    base: dict[str, Any] | None = None,
) -> Probe:
    """Create a person with `body`, or (update_person) create one from `base` and update it with `body`."""
    account_id = account_id or bench.account()
    if _object_creator(operation) is None:
        return Probe("POST", path_of(operation, account_id), json_body=body)
    person_id = bench.person(account_id, base or {"given_name": "Updatable"})
    return Probe("POST", path_of(operation, account_id, person_id), json_body=body)


TERMS = {"account": {"date": "2026-01-01T00:00:00Z", "ip": "127.0.0.1", "user_agent": "conformance"}}


def body_trigger(body: dict[str, Any]) -> Trigger:
    return lambda bench, operation: person_write(bench, operation, body)


def _with_key(fixture: str) -> Trigger:
    def trigger(bench: Workbench, operation: Operation) -> Probe:
        key = bench.fixture(fixture)
        return baseline(bench, operation, bench.account(), key=key)

    return trigger


def _on_fixture_account(fixture: str) -> Trigger:
    return lambda bench, operation: baseline(bench, operation, bench.fixture(fixture), usable=False)


def _on_v1_object(kind: str) -> Trigger:
    return lambda bench, operation: baseline(bench, operation, bench.v1_object(kind), usable=False)


def _second(
    relationship: dict[str, Any], *, first: dict[str, Any] | None = None, setup: tuple[dict[str, Any], ...] = ()
) -> Trigger:
    """An account already holding `setup` persons and `first`; the write adds `relationship` to another person."""

    def trigger(bench: Workbench, operation: Operation) -> Probe:
        account_id = bench.account()
        for body in (*setup, first or {"given_name": "First", "relationship": relationship}):
            bench.person(account_id, body)
        return person_write(bench, operation, {"relationship": relationship}, account_id=account_id)

    return trigger


def _duplicate(bench: Workbench, operation: Operation) -> Probe:
    account_id = bench.account()
    same = {"given_name": "Jenny", "surname": "Rosen", "date_of_birth": {"day": 28, "month": 1, "year": 1990}}
    bench.person(account_id, same)
    return person_write(bench, operation, same, account_id=account_id)


def _on_entity(
    entity_type: str, body: dict[str, Any], *, existing: tuple[dict[str, Any], ...] = (), country: str | None = "us"
) -> Trigger:
    def trigger(bench: Workbench, operation: Operation) -> Probe:
        account_id = bench.account(country=country, entity_type=entity_type)
        for person in existing:
            bench.person(account_id, person)
        return person_write(bench, operation, body, account_id=account_id)

    return trigger


def _address_without_country(bench: Workbench, operation: Operation) -> Probe:
    return person_write(bench, operation, {"address": {"city": "Brothers", "line1": "27 Fredrick Ave"}})


def _token_used_twice(bench: Workbench, operation: Operation) -> Probe:
    account_id = bench.account()
    token = bench.person_token(account_id)
    first = person_write(bench, operation, {"person_token": token}, account_id=account_id)
    again = person_write(bench, operation, {"person_token": token}, account_id=account_id)
    return Probe(again.method, again.path, json_body=again.json_body, before=(first,))


def _token_of_other_account(bench: Workbench, operation: Operation) -> Probe:
    token = bench.person_token(bench.account())
    return person_write(bench, operation, {"person_token": token})


def _expired_token(bench: Workbench, operation: Operation) -> Probe:
    """A token used after its lifetime: the stated one, or the one its created/expires_at show."""
    account_id = bench.account()
    token = bench.person_token_object(account_id)
    stated = bench.decisions.get("person_token_lifetime_seconds", "any")
    lifetime = float(stated) if isinstance(stated, (int, float)) else lifetime_of(token)
    wait = float(bench.fixtures.get("max_wait_seconds", 5))
    if lifetime is None or lifetime > wait:
        shown = "cannot be read from its created and expires_at" if lifetime is None else f"is {lifetime:g} s"
        raise NotExercised(
            f"the target's person token lifetime {shown}, longer than the {wait:g} s this scenario may wait"
        )
    time.sleep(lifetime + 0.2)
    return person_write(bench, operation, {"person_token": token["id"]}, account_id=account_id)


def _alongside_token(bench: Workbench, operation: Operation) -> Probe:
    account_id = bench.account()
    return person_write(
        bench,
        operation,
        {"person_token": bench.person_token(account_id), "given_name": "Alongside"},
        account_id=account_id,
    )


def _token_required(bench: Workbench, operation: Operation) -> Probe:
    key = bench.fixture("platform_token_mandated_key")
    probe = person_write(bench, operation, {"given_name": "Without token"})
    return Probe(probe.method, probe.path, json_body=probe.json_body, key=key)


def _immutable_identity(bench: Workbench, operation: Operation) -> Probe:
    account_id, person_id = bench.fixture("identity_locked_account"), bench.fixture("identity_locked_person")
    return Probe(
        "POST", path_of(operation, account_id, person_id), json_body={"given_name": f"Changed {secrets.token_hex(3)}"}
    )


def _missing_object(bench: Workbench, operation: Operation) -> Probe:
    prefix = _id_prefix(_object_creator(operation))
    body = {"given_name": "Nobody"} if operation.method == "post" else None
    return Probe(
        operation.method.upper(),
        path_of(operation, bench.account(), prefix + "conformance_missing_" + secrets.token_hex(6)),
        json_body=body,
    )


def _conflicting_replay(bench: Workbench, operation: Operation) -> Probe:
    """The same key with another body (a DELETE has none: the same key on another person)."""
    key = "conformance-" + secrets.token_hex(12)
    account_id = bench.account()
    if operation.method == "delete":  # no body: the same key on another object
        first = Probe(
            "DELETE", path_of(operation, account_id, bench.person(account_id, {"given_name": "A"})), idempotency_key=key
        )
        return Probe(
            "DELETE",
            path_of(operation, account_id, bench.person(account_id, {"given_name": "B"})),
            idempotency_key=key,
            before=(first,),
        )
    probe = baseline(bench, operation, account_id)
    first = Probe(probe.method, probe.path, json_body={"given_name": "First"}, idempotency_key=key)
    return Probe(probe.method, probe.path, json_body={"given_name": "Second"}, idempotency_key=key, before=(first,))


def _publishable_key_required(bench: Workbench, operation: Operation) -> Probe:
    return baseline(bench, operation, bench.account(), key=bench.fixture("live_secret_key"))


def _young_representative(bench: Workbench, operation: Operation) -> Probe:
    """A representative born yesterday: younger than any age limit a target may take."""
    born = date.fromordinal(date.today().toordinal() - 1)
    return person_write(
        bench,
        operation,
        {
            "relationship": {"representative": True},
            "date_of_birth": {"day": born.day, "month": born.month, "year": born.year},
        },
    )


def _over_owned(share: str) -> Trigger:
    def trigger(bench: Workbench, operation: Operation) -> Probe:
        account_id = bench.account()
        bench.person(account_id, {"given_name": "Owner", "relationship": {"owner": True, "percent_ownership": share}})
        relationship = {"owner": True, "percent_ownership": share}
        return person_write(bench, operation, {"relationship": relationship}, account_id=account_id)

    return trigger


def _key_scope_rules_out(exchange: Exchange) -> str | None:
    if exchange.status == 200:
        return (
            "the target scopes idempotency keys by path (the same key on another path was a new "
            "request), so a DELETE has no other request to conflict with"
        )
    return None


def _country_mismatch_on_individual(bench: Workbench, operation: Operation) -> Probe:
    account_id = bench.account(country="us", entity_type="individual")
    if _object_creator(operation) is None:
        return Probe("POST", path_of(operation, account_id), json_body={"address": {"country": "CA"}})
    person_id = bench.person(account_id, {"given_name": "Individual"})
    return Probe("POST", path_of(operation, account_id, person_id), json_body={"address": {"country": "CA"}})


# A burst is capped in requests and in time, whatever the profile declares.
MAX_BURST_REQUESTS = 500
BURST_SECONDS = 10.0


def _burst_beyond_limit(bench: Workbench, operation: Operation) -> Probe:
    """A plain call sent about twice the declared per-account limit, unpaced: on a target that enforces the limit,
    one of them is refused. Run only when the profile declares `rate_limit_per_second`."""
    limit = bench.rate_limit_per_second
    if not limit:
        raise NotExercised(
            "the profile declares no per-account limit (rate_limit_per_second): no burst is sent unasked"
        )
    probe = baseline(bench, operation, bench.account())
    count = min(MAX_BURST_REQUESTS, math.ceil(2 * limit) + 2)
    return Probe(probe.method, probe.path, json_body=probe.json_body, key=probe.key, burst=count)


TRIGGERS: dict[str, Trigger | tuple[Candidate, ...]] = {
    # platform and account configuration
    "platform_registration_required": _with_key("platform_unregistered_key"),
    "non_connect_platform_accounts_v2_access_blocked": _with_key("platform_non_connect_key"),
    "accounts_v2_access_blocked": _with_key("platform_v2_blocked_key"),
    "person_token_required": _token_required,
    "account_not_yet_compatible_with_v2": _on_fixture_account("not_v2_compatible_account"),
    "account_rate_limit_exceeded": (
        Candidate("a fixture account that is rate limited", _on_fixture_account("rate_limited_account")),
        Candidate("a burst beyond the declared per-account limit", _burst_beyond_limit),
    ),
    "v1_account_instead_of_v2_account": _on_v1_object("account"),
    "v1_customer_instead_of_v2_account": _on_v1_object("customer"),
    "immutable_identity_param": _immutable_identity,
    "token_must_be_created_with_publishable_key": _publishable_key_required,
    "not_found": _missing_object,
    "idempotency_error": (
        Candidate(
            "the same key with another body, or on another person for a DELETE",
            _conflicting_replay,
            rules_out=_key_scope_rules_out,
        ),
    ),
    # addresses
    "address_country_required": _address_without_country,
    "identity_country_required": _on_entity(
        "company", {"address": {"country": "US", "city": "Brothers"}}, country=None
    ),
    "address_characters_invalid": (
        Candidate("markup characters", body_trigger({"address": {"country": "US", "line1": "27 Fredrick <b>{}</b>"}})),
        Candidate(
            "control characters", body_trigger({"address": {"country": "US", "line1": "27 Fredrick\x07\x1b Ave"}})
        ),
        Candidate(
            "an astral-plane character", body_trigger({"address": {"country": "US", "line1": "27 Fredrick \U0001f3e0"}})
        ),
    ),
    "address_town_invalid": body_trigger({"address": {"country": "US", "town": "Shibuya"}}),
    "postal_code_required_for_jp_address": body_trigger(
        {"address": {"country": "JP", "city": "Tokyo", "line1": "1-1 Chiyoda"}}
    ),
    "address_postal_code_invalid": body_trigger({"address": {"country": "US", "postal_code": "1234"}}),
    "unsupported_postal_code": (
        Candidate(
            "a US military (APO) postal code", body_trigger({"address": {"country": "US", "postal_code": "09001"}})
        ),
        Candidate(
            "a US Pacific military postal code", body_trigger({"address": {"country": "US", "postal_code": "96201"}})
        ),
        Candidate(
            "a Canadian postal code in a US address",
            body_trigger({"address": {"country": "US", "postal_code": "K1A0B1"}}),
        ),
    ),
    "address_state_invalid": body_trigger({"address": {"country": "US", "state": "ZZ"}}),
    "unsupported_state": (
        Candidate("the armed forces state AE", body_trigger({"address": {"country": "US", "state": "AE"}})),
        Candidate("the armed forces state AP", body_trigger({"address": {"country": "US", "state": "AP"}})),
        Candidate("a territory, PR", body_trigger({"address": {"country": "US", "state": "PR"}})),
    ),
    "non_jp_kana_kanji_address": body_trigger(
        {"address": {"country": "US"}, "script_addresses": {"kana": {"country": "US", "city": "ブラザーズ"}}}
    ),
    "address_country_mismatch": body_trigger(
        {"address": {"country": "US"}, "additional_addresses": [{"country": "CA", "purpose": "registered"}]}
    ),
    "address_country_identity_country_mismatch": _country_mismatch_on_individual,
    # person members
    "script_characters_invalid": body_trigger({"script_names": {"kana": {"given_name": "Jenny"}}}),
    "email_invalid": body_trigger({"email": "jenny.rosen.example.com"}),
    "email_domain_invalid_for_recipient": (
        Candidate("a reserved test domain", body_trigger({"email": "jenny.rosen@example.test"})),
        Candidate("a reserved invalid domain", body_trigger({"email": "jenny.rosen@example.invalid"})),
        Candidate("a domain without a dot", body_trigger({"email": "jenny.rosen@localhost"})),
    ),
    "phone_invalid": body_trigger({"phone": "12"}),
    "date_of_birth_invalid": body_trigger({"date_of_birth": {"day": 30, "month": 2, "year": 1990}}),
    "id_number_invalid": body_trigger({"id_numbers": [{"type": "us_ssn", "value": "12"}]}),
    "incorrect_id_number_for_country": body_trigger(
        {"address": {"country": "US"}, "id_numbers": [{"type": "gb_nino", "value": "QQ123456C"}]}
    ),
    "ip_address_invalid": body_trigger(
        {"additional_terms_of_service": {"account": {**TERMS["account"], "ip": "999.1.1.1"}}}
    ),
    "document_invalid": body_trigger(
        {"documents": {"passport": {"files": ["file_conformance_unknown"], "type": "files"}}}
    ),
    "document_purpose_invalid": lambda bench, operation: person_write(
        bench,
        operation,
        {"documents": {"passport": {"files": [bench.fixture("identity_document_file")], "type": "files"}}},
    ),
    # relationships
    "legal_guardian_representative_not_allowed": body_trigger(
        {"relationship": {"legal_guardian": True, "representative": True}}
    ),
    "authorizer_relationship_invalid_for_representative": body_trigger(
        {"relationship": {"authorizer": True, "representative": True}}
    ),
    "additional_tos_only_allowed_for_legal_guardian": body_trigger({"additional_terms_of_service": TERMS}),
    "person_percent_ownership_invalid": body_trigger({"relationship": {"owner": True, "percent_ownership": "0"}}),
    "invalid_relationship_for_identity_type_structure_and_country": (
        Candidate("an owner on a non_profit account", _on_entity("non_profit", {"relationship": {"owner": True}})),
        Candidate(
            "a director on an individual account", _on_entity("individual", {"relationship": {"director": True}})
        ),
        Candidate(
            "an owner on a government_entity account",
            _on_entity("government_entity", {"relationship": {"owner": True}}),
        ),
    ),
    "date_of_birth_age_restriction": _young_representative,
    "individual_additional_person_not_allowed": _on_entity(
        "individual", {"given_name": "Second"}, existing=({"given_name": "First"},)
    ),
    "additional_representative_not_allowed": _second({"representative": True}),
    "additional_legal_guardian_not_allowed": _second(
        {"legal_guardian": True}, setup=({"given_name": "Representative", "relationship": {"representative": True}},)
    ),
    "legal_guardian_requires_existing_representative": body_trigger({"relationship": {"legal_guardian": True}}),
    "authorizer_duplicate": _second({"authorizer": True}),
    "total_person_ownership_exceeded": (
        Candidate("two owners of 60% each", _over_owned("60"), when={"percent_ownership_scale": "percent"}),
        Candidate("two owners of 0.6 each", _over_owned("0.6"), when={"percent_ownership_scale": "fraction"}),
    ),
    "duplicate_person_not_allowed": _duplicate,
    # person tokens
    "param_alongside_person_token": _alongside_token,
    "token_already_used": _token_used_twice,
    "token_expired": _expired_token,
    "incorrect_account_for_person_token": _token_of_other_account,
    "incorrect_token_wrong_type": lambda bench, operation: person_write(
        bench, operation, {"person_token": bench.fixture("wrong_type_token")}
    ),
    "invalid_person_token": lambda bench, operation: person_write(
        bench, operation, {"person_token": "perstok_conformance_unknown_" + secrets.token_hex(8)}
    ),
    "v1_token_invalid_in_v2": lambda bench, operation: person_write(
        bench, operation, {"person_token": bench.v1_person_token()}
    ),
}


def candidates(code: str) -> tuple[Candidate, ...]:
    """The ways the suite tries to provoke `code`, in the order it tries them."""
    trigger = TRIGGERS.get(code)
    if trigger is None:
        return ()
    return trigger if isinstance(trigger, tuple) else (Candidate("the suite's trigger", trigger),)


def pinned(code: str, definition: Mapping[str, Any]) -> Candidate:
    """A trigger a profile pins: one of the suite's candidates by name (`{candidate: NAME}`, as `conformance discover`
    writes), or a request of its own (`{method, path, ...}`). KeyError for a candidate the suite does not have."""
    if "candidate" in definition:
        found = [candidate for candidate in candidates(code) if candidate.name == definition["candidate"]]
        if not found:
            raise KeyError(definition["candidate"])
        return found[0]
    return Candidate("the profile's trigger", profile_trigger(definition))


def profile_trigger(definition: Mapping[str, Any]) -> Trigger:
    """A trigger written in a target profile: `{method, path, json_body?, form?, key_fixture?}`, where the
    path may use {account_id} (a fresh account) and {person_id} (a fresh person of that account)."""

    def trigger(bench: Workbench, operation: Operation) -> Probe:
        template = str(definition["path"])
        account_id = bench.account() if "{account_id}" in template else ""
        person_id = bench.person(account_id, {"given_name": "Trigger"}) if "{person_id}" in template else ""
        key = bench.fixture(definition["key_fixture"]) if definition.get("key_fixture") else None
        filled = template.replace("{account_id}", path_id(account_id) if account_id else "")
        filled = filled.replace("{person_id}", path_id(person_id) if person_id else "")
        return Probe(
            str(definition["method"]).upper(),
            filled,
            json_body=definition.get("json_body"),
            form=definition.get("form"),
            key=key,
        )

    return trigger


def send(bench: Workbench, probe: Probe, operation_id: str) -> Exchange:
    """Send a probe (and what must precede it) and return the judged exchange."""
    for earlier in probe.before:
        send(bench, earlier, operation_id)
    started = time.monotonic()
    for sent in range(1, probe.burst + 1):  # noqa: B007 - the count is read after the loop
        exchange = bench.client.request(
            probe.method,
            probe.path,
            json_body=probe.json_body,
            form=probe.form,
            key=probe.key,
            idempotency_key=probe.idempotency_key,
            operation_id=operation_id,
            retry_rate_limited=False,
            paced=probe.burst == 1,
        )
        if exchange.status in (429, None) or time.monotonic() - started > BURST_SECONDS:
            break
    if probe.burst > 1:
        _after_burst(bench, exchange, sent, time.monotonic() - started)
    return exchange


def _after_burst(bench: Workbench, last: Exchange, sent: int, elapsed: float) -> None:
    """Honour the refusal's Retry-After, so that clean-up and later checks are not refused in turn; or, without one,
    say whether the burst outran the declared limit at all (a slow target or link cannot show a limit)."""
    if last.status == 429:
        time.sleep(retry_after(last.response_headers.get("retry-after"), cap=BURST_SECONDS))
        return
    limit = float(bench.rate_limit_per_second or 0)
    if last.status is not None and sent / max(elapsed, 1e-3) <= limit:
        raise NotExercised(
            f"a burst of {sent} requests took {elapsed:.1f} s, no faster than the declared {limit:g} per second"
        )
