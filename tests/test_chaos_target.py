"""The suite against the chaos target: whatever it answers, a run reports, never crashes, never leaks,
never talks to another host.

The property (tests/chaos_check.py) over a fixed seed's draws, and each crash it found kept as a named
behaviour. More draws: scripts/chaos.py.
"""

from __future__ import annotations

import json

import pytest

from .chaos import Answer, Behaviour, Big, Json, Raw
from .chaos_check import Draw, for_each_draw, rig

CHAOS_SEED = 20261202
DRAWS = 15
SEMANTICS = "semantics,v1-tokens,validation"
ACCOUNT = {"id": "acct_chaos_1", "object": "v2.core.account"}


@pytest.fixture(scope="module")
def chaos():
    with rig() as chaos_rig:
        yield chaos_rig


def test_the_property_holds_for_every_draw(chaos):
    """Replays with `python scripts/chaos.py --seed 20261202 --draws 15`."""

    def holds(draw: Draw) -> None:
        found = chaos.violations(draw, chaos.run(draw))
        assert not found, "\n".join(found)

    for_each_draw(CHAOS_SEED, DRAWS, holds)


def shard_of(check_id: str, count: int = 6) -> str:
    """The shard i/count of SEMANTICS that runs this check."""
    from conformance.engine.config import resolve_config
    from conformance.engine.plan import plan

    config = resolve_config({"base_url": "http://127.0.0.1:1", "api_key": "sk_test_1", "only": SEMANTICS}, environ={})
    position = [unit.check_id for unit in plan(config)].index(check_id)
    return f"{position % count + 1}/{count}"


def _results(outcome) -> dict:
    return json.loads(
        next(
            content
            for name, content in outcome.files.items()
            if name.endswith("results.json") and not name.startswith("latest/")
        )
    )


# Crashes found on the way (and the issue's), each fixed at its root: the answers that made them.
FOUND = {
    # httpx.InvalidURL (URL too long) while cleanup built the close-account URL: no report at all.
    "a 20 MB id in the setup answer": (Answer(body=Json({**ACCOUNT, "id": Big("a", 20 * 2**20)}, ascii=False)),),
    # httpx.InvalidURL (non-printable character) the same way.
    "a control character in an id": (Answer(body=Json({**ACCOUNT, "id": "acct_\x7f1"}, ascii=False)),),
    # The detail quoting the body was printed as rich markup: MarkupError, closing tag '[/]' has nothing to close.
    "rich markup in a body": (
        Answer(),
        Answer(status=400, body=Raw(b"[/] [bold] oops")),
    ),
    # Control characters from the body reached junit.xml, which no XML parser then read.
    "control characters in a body": (
        Answer(),
        Answer(status=400, body=Raw(b"\x01\x02\x1b[2J\x0b")),
    ),
    # Invented beside them: a lone surrogate, and the same in a 429 loop with a NaN Retry-After.
    "a lone surrogate in an id": (Answer(body=Json({**ACCOUNT, "id": "acct_\ud800"}, ascii=True)),),
    "NaN Retry-After": (
        Answer(),
        Answer(status=429, headers=(("Retry-After", "NaN"),)),
    ),
}


@pytest.mark.parametrize("answers", FOUND.values(), ids=FOUND.keys())
def test_a_behaviour_that_once_crashed_the_run_is_reported(chaos, answers):
    draw = Draw(Behaviour(answers), SEMANTICS, "1/6", redact_pii=False, timeout=10)
    outcome = chaos.run(draw)
    assert chaos.violations(draw, outcome) == []
    assert outcome.code == 1


def test_the_issue_20_mb_id_fails_the_check_with_the_reason(chaos):
    # A longer timeout than the draws': 20 MB on a loaded machine must not end as a timeout instead.
    draw = Draw(Behaviour(FOUND["a 20 MB id in the setup answer"]), SEMANTICS, "1/6", redact_pii=False, timeout=10)
    outcome = chaos.run(draw)
    details = [result["detail"] for result in _results(outcome)["results"] if result["status"] == "failed"]
    assert any("will not use: an id of 20,971,520 characters" in detail for detail in details), details
    # Nothing was sent with that id in it: every request the server saw is short.
    assert max(len(request.target) for request in chaos.server.requests) < 300


OTHER_HOSTS = (
    "http://{other}/v2/core/accounts/acct_chaos_1/persons?page=p2",
    "//{other}/v2/core/accounts/acct_chaos_1/persons",
    "https://{other}/v2/core/accounts/acct_chaos_1/persons",
    "http://{near}/v2/core/accounts/acct_chaos_1/persons",
    "http://127.0.0.1@{other}/v2/",
)


@pytest.mark.parametrize("url", OTHER_HOSTS)
@pytest.mark.parametrize("how", ["page URLs", "redirects"])
def test_no_request_ever_reaches_another_origin(chaos, url, how):
    """Page URLs and redirects to another loopback address (127.0.0.2) or another port: the listeners
    there see no connection."""
    page = {
        "object": "list",
        "data": [{"id": "person_chaos_1", "object": "v2.core.account_person"}],
        "next_page_url": url,
        "previous_page_url": url,
    }
    # The page is also the account and each person created, so that the list check walks it.
    answer = (
        Answer(body=Json({**ACCOUNT, **page}, ascii=False))
        if how == "page URLs"
        else Answer(status=302, headers=(("Location", url),))
    )
    draw = Draw(Behaviour((answer,)), SEMANTICS, shard_of("semantics/list-returns-every-person-once"), redact_pii=False)
    outcome = chaos.run(draw)
    assert chaos.violations(draw, outcome) == []
    assert chaos.other.connections == [] and chaos.near.connections == []
    assert all(request.headers.get("host") == chaos.server.address for request in chaos.server.requests)
    if how == "page URLs":
        listed = next(
            result
            for result in _results(outcome)["results"]
            if result["check_id"] == "semantics/list-returns-every-person-once/page-urls"
        )
        assert listed["status"] == "failed" and "fits no alternative of page_urls" in listed["detail"], listed
