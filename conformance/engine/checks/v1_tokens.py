"""The v1 Tokens endpoints that create person and PII tokens: form-encoded requests, the token object, retrieve."""

from __future__ import annotations

from conformance.engine.categories import Category
from conformance.engine.judge import Judge, check
from conformance.engine.workbench import Workbench


@check(
    "v1-tokens/person-token-round-trip",
    {
        "token-object": "POST /v1/tokens with person to answer a token object of type person, used false",
        "retrieve-returns-it": "GET /v1/tokens/{token} to return the same token",
    },
    category=Category.V1_TOKENS,
)
def v1_person_token_round_trip(bench: Workbench, judge: Judge) -> None:
    form = {"person": {"first_name": "Jane", "relationship": {"owner": True}}}
    created = judge.ok("token-object", bench.call("create_token", form=form), "create")
    judge.expect(
        "token-object",
        (created.get("object"), created.get("type"), created.get("used")) == ("token", "person", False),
        f"object {created.get('object')!r}, type {created.get('type')!r}, used {created.get('used')!r}",
    )
    exchange = bench.call("retrieve_token", token=created.get("id"))
    retrieved = judge.ok("retrieve-returns-it", exchange, "retrieve v1 token")
    judge.expect("retrieve-returns-it", retrieved.get("id") == created.get("id"), f"got {retrieved.get('id')!r}")
