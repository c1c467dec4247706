"""The engine's response validation is openapi-core configured to cost less (references inlined, one format
checker shared): it must judge every answer as openapi-core does by default, to the letter of each problem.

The answers are the reference server's to every operation (successes and errors), each also spoiled a few
dozen ways with a fixed seed: members dropped, added or given values of another type or format, a header
dropped, the status or the content type changed.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from openapi_core import Config, OpenAPI

from conformance.engine.client import ApiClient, Exchange
from conformance.engine.validation import ResponseValidator
from conformance.spec import operations
from conformance.spec.openapi_core_io import inlined

from .conftest import SECRET_KEY, STRIPE_VERSION
from .test_reference_behaviour import JENNY, V1_TOKENS, new_account, ok, person_tokens, persons

SEED = 20261203
SPOILED_PER_ANSWER = 40
ODD_VALUES = (None, 0, -3, 1.5, True, "", "x", "not an email", "2026-13-45T25:61:00Z", "1990-02-30", [], [1], {}, {"a": 1})


def answers(client: ApiClient) -> Iterator[Exchange]:
    """One answer or more of every operation, successes and documented errors."""
    account = new_account(client)
    person = client.request("POST", persons(account), json_body=JENNY, operation_id="create_person")
    person_id = ok(person)["id"]
    yield person
    yield client.request("GET", persons(account, person_id), operation_id="retrieve_person")
    yield client.request(
        "POST", persons(account, person_id), json_body={"metadata": {"a": "b"}}, operation_id="update_person"
    )
    yield client.request("GET", persons(account) + "?limit=1", operation_id="list_persons")
    yield client.request("POST", persons(account), json_body={"email": "nope"}, operation_id="create_person")
    yield client.request("GET", persons(account, "person_missing"), operation_id="retrieve_person")
    yield client.request("DELETE", persons(account, person_id), operation_id="delete_person")
    token = client.request("POST", person_tokens(account), json_body=JENNY, operation_id="create_person_token")
    yield token
    yield client.request("GET", person_tokens(account, ok(token)["id"]), operation_id="retrieve_person_token")
    for form, _prefix in V1_TOKENS.values():
        v1 = client.request("POST", "/v1/tokens", form=form, operation_id="create_token")
        yield v1
        yield client.request("GET", f"/v1/tokens/{ok(v1)['id']}", operation_id="retrieve_token")
    yield client.request("GET", "/v1/tokens/tok_missing", operation_id="retrieve_token")


def members(node: Any, where: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if where:
        yield where
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield from members(value, (*where, key))


def spoiled(answer: Exchange, rng: random.Random) -> Exchange:
    """The answer with one thing wrong (or, now and then, nothing the spec minds)."""
    body = copy.deepcopy(answer.json)
    headers, status, roll = dict(answer.response_headers), answer.status, rng.random()
    if roll < 0.05:
        headers.pop("request-id", None)
    elif roll < 0.08:
        headers["content-type"] = "text/plain"
    elif roll < 0.1:
        status = rng.choice((200, 400, 404, 500))
    else:
        where = rng.choice(list(members(body)))
        parent = body
        for key in where[:-1]:
            parent = parent[key]
        if roll < 0.35 and isinstance(parent, dict):
            del parent[where[-1]]
        elif roll < 0.45 and isinstance(parent, dict):
            parent[f"unexpected_{rng.randrange(3)}"] = rng.choice(ODD_VALUES)
        else:
            parent[where[-1]] = rng.choice(ODD_VALUES)
    text = json.dumps(body)
    return dataclasses.replace(answer, status=status, response_headers=headers, response_text=text, problems=None)


@pytest.fixture(scope="module")
def originals(reference_server) -> list[Exchange]:
    client = ApiClient(reference_server.url, SECRET_KEY, stripe_version=STRIPE_VERSION)
    try:
        return list(answers(client))
    finally:
        client.close()


def test_every_reference_answer_conforms(originals, spec):
    assert {answer.operation_id for answer in originals} == set(operations(spec))
    validator = ResponseValidator(spec)
    assert {answer.url: validator.problems(answer) for answer in originals} == {answer.url: [] for answer in originals}


def test_judges_as_openapi_core_does_by_default(originals, spec):
    rng = random.Random(SEED)
    corpus = originals + [spoiled(answer, rng) for answer in originals for _ in range(SPOILED_PER_ANSWER)]
    fast, default = ResponseValidator(spec), ResponseValidator(spec)
    no_validation: Any = None  # the document is valid (test_spec_document); only the judging is compared
    default.openapi = OpenAPI.from_dict(spec, config=Config(spec_validator_cls=no_validation))
    verdicts = [(default.problems(dataclasses.replace(answer)), fast.problems(dataclasses.replace(answer))) for answer in corpus]
    differing = [(answer.operation_id, mine, theirs) for answer, (theirs, mine) in zip(corpus, verdicts) if mine != theirs]
    assert differing == []
    refused = sum(bool(theirs) for theirs, _ in verdicts)
    assert 0.4 * len(corpus) < refused < 0.95 * len(corpus)  # the corpus holds both kinds, in number


def test_inlined_leaves_no_reference_in_the_spec(spec):
    assert '"$ref"' not in json.dumps(inlined(spec))


@pytest.mark.parametrize(
    "document",
    [
        {"components": {"schemas": {"Node": {"properties": {"next": {"$ref": "#/components/schemas/Node"}}}}}},
        {"components": {"schemas": {"A": {"$ref": "#/components/schemas/B"}, "B": {"$ref": "#/components/schemas/A"}}}},
        {"components": {"schemas": {"A": {"$ref": "#/components/schemas/Missing"}}}},
    ],
    ids=["recursive schema", "loop of references", "dangling reference"],
)
def test_inlined_keeps_a_document_it_cannot_inline(document):
    assert inlined(document) is document
