"""Stripe's official Python client (the `stripe` package) works against the reference server.

Its v2 services (and v1 tokens), auto-pagination over `next_page_url`, and the exception class it
raises for each error status. The default HTTP client (requests) speaks plain HTTP to the loopback
address, no custom http_client needed; retries are off so that the 429 answers at once.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import stripe
from stripe.v2 import DeletedObject, ListObject
from stripe.v2.core import AccountPerson, AccountPersonToken

from .conftest import SECRET_KEY, STRIPE_VERSION

Official = Callable[..., stripe.StripeClient]


@pytest.fixture(scope="module")
def official(reference_server) -> Official:
    """`official()` is the client of the default platform; `official(key)` another key's."""
    clients: dict[str, stripe.StripeClient] = {}

    def make(key: str = SECRET_KEY) -> stripe.StripeClient:
        if key not in clients:
            clients[key] = stripe.StripeClient(key, base_addresses={"api": reference_server.url}, stripe_version=STRIPE_VERSION, max_network_retries=0)
        return clients[key]

    return make


def test_persons_create_retrieve_update_list_delete(official, account):
    persons = official().v2.core.accounts.persons
    jenny = persons.create(account, {
        "given_name": "Jenny", "surname": "Rosen", "email": "jenny.rosen@example.com",
        "address": {"line1": "27 Fredrick Ave", "city": "Brothers", "postal_code": "97712", "state": "OR", "country": "US"},
        "id_numbers": [{"type": "us_ssn_last_4", "value": "0000"}],
        "relationship": {"owner": True, "percent_ownership": "0.8", "representative": True, "title": "CEO"},
        "metadata": {"keep": "1", "drop": "2"},
    })
    assert isinstance(jenny, AccountPerson) and jenny.id.startswith("person_test_")
    assert (jenny.account, jenny.address.country, jenny.relationship.percent_ownership) == (account, "us", Decimal("0.8"))  # the client's decimal
    assert jenny.id_numbers[0].to_dict() == {"type": "us_ssn_last_4"}
    assert persons.retrieve(account, jenny.id).to_dict() == jenny.to_dict()

    updated = persons.update(account, jenny.id, {"email": "jenny@example.com", "metadata": {"drop": None, "add": "3"}})
    assert (updated.email, updated.given_name, updated.metadata.to_dict()) == ("jenny@example.com", "Jenny", {"keep": "1", "add": "3"})
    assert updated.updated > jenny.updated and updated.created == jenny.created

    others = [persons.create(account, {"given_name": f"Other {n}"}).id for n in range(6)]
    first_page = persons.list(account, {"limit": 3})
    assert isinstance(first_page, ListObject) and len(first_page.data) == 3 and first_page.next_page_url
    assert [person.id for person in first_page.auto_paging_iter()] == [*others[::-1], jenny.id]

    deleted = persons.delete(account, jenny.id)
    assert isinstance(deleted, DeletedObject) and (deleted.id, deleted.object) == (jenny.id, "v2.core.account_person")
    assert [person.id for person in persons.list(account, {"limit": 100}).auto_paging_iter()] == others[::-1]


def test_person_tokens_create_retrieve_and_are_used(official, account):
    v2 = official().v2.core.accounts
    token = v2.person_tokens.create(account, {"given_name": "Tokenised", "relationship": {"director": True}})
    assert isinstance(token, AccountPersonToken) and token.id.startswith("perstok_") and token.used is False
    assert v2.person_tokens.retrieve(account, token.id).to_dict() == token.to_dict()
    person = v2.persons.create(account, {"person_token": token.id})
    assert (person.given_name, person.relationship.director) == ("Tokenised", True)
    assert v2.person_tokens.retrieve(account, token.id).used is True


@pytest.mark.parametrize("params", [
    {"person": {"first_name": "Jane", "dob": {"day": 1, "month": 2, "year": 1990}, "full_name_aliases": ["JD"], "relationship": {"owner": True, "percent_ownership": 80.5}}},
    {"pii": {"id_number": "000000000"}},
], ids=["person", "pii"])
def test_v1_tokens_create_and_retrieve(official, params):
    token = official().v1.tokens.create(params)
    assert isinstance(token, stripe.Token) and (token.type, token.used) == (next(iter(params)), False)
    assert official().v1.tokens.retrieve(token.id).to_dict() == token.to_dict()


def _conflicting_retry(official: Official, account: str) -> Any:
    options = {"idempotency_key": secrets.token_hex(16)}
    official().v2.core.accounts.persons.create(account, {"given_name": "First"}, options)
    return official().v2.core.accounts.persons.create(account, {"given_name": "Second"}, options)


ERRORS = {
    "400 email_invalid": (lambda official, account: official().v2.core.accounts.persons.create(account, {"email": "not-an-email"}),
                          stripe.InvalidRequestError, 400, "email_invalid"),
    "401 unknown key": (lambda official, account: official("sk_test_nobody_knows").v2.core.accounts.persons.list(account),
                        stripe.AuthenticationError, 401, "authentication_required"),
    "403 invalid_person_token": (lambda official, account: official().v2.core.accounts.persons.create(account, {"person_token": "perstok_unknown"}),
                                 stripe.PermissionError, 403, "invalid_person_token"),
    "404 not_found": (lambda official, account: official().v2.core.accounts.persons.retrieve(account, "person_test_missing"),
                      stripe.InvalidRequestError, 404, "not_found"),
    "404 resource_missing (v1)": (lambda official, account: official().v1.tokens.retrieve("cpt_missing"),
                                  stripe.InvalidRequestError, 404, "resource_missing"),
    "409 idempotency_error": (_conflicting_retry, stripe.IdempotencyError, 409, "idempotency_error"),
    "429 account_rate_limit_exceeded": (lambda official, account: official().v2.core.accounts.persons.list("acct_reference_rate_limited"),
                                        stripe.RateLimitError, 429, "account_rate_limit_exceeded"),
}


@pytest.mark.parametrize(("call", "exception", "status", "code"), ERRORS.values(), ids=ERRORS.keys())
def test_error_raises_the_clients_exception_class(official, account, call, exception, status, code):
    with pytest.raises(stripe.StripeError) as raised:
        call(official, account)
    error = raised.value
    assert type(error) is exception, repr(error)
    assert (error.http_status, error.error.code, error.json_body["error"]["code"]) == (status, code, code)
    assert error.request_id.startswith("req_")
