"""Every constraint the spec adds beyond Stripe's own description says where it comes from, and
decision-backed constraints follow a target's decision."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from conformance.spec import schema_validator
from conformance.spec.decisions import defaults
from conformance.spec.sources import apply_decisions, source_problem, stale_sources, unstated_constraints


def test_every_constraint_stripe_does_not_state_has_a_source(spec: dict[str, Any], shared: Path) -> None:
    constraints = unstated_constraints(spec)
    listing = "\n".join(f"{c.pointer} {c.keyword}={c.value!r}: {c.described_source}" for c in constraints)
    print(f"{len(constraints)} constraints beyond Stripe's description:\n{listing}")
    unbacked = [
        f"{c.pointer} {c.keyword}: {problem}" for c in constraints if (problem := source_problem(c, spec, shared))
    ]
    assert not unbacked, "\n".join(unbacked)
    assert not stale_sources(spec)


def test_the_listing_finds_each_kind_of_constraint(spec: dict[str, Any]) -> None:
    found = {(c.pointer, c.keyword) for c in unstated_constraints(spec)}
    assert ("/components/schemas/Timestamp", "pattern") in found
    assert ("/components/schemas/IdNumber", "forbidden") in found
    assert ("/components/headers/RequestId", "required") in found
    assert ("/components/parameters/StripeVersion", "required") in found
    assert ("/paths/~1v2~1core~1accounts~1{account_id}~1persons/get/parameters/0/schema", "maximum") in found
    # Nothing under examples, descriptions or extensions counts, and member names are not keywords.
    assert not [pointer for pointer, _ in found if "/examples/" in pointer or "/x-" in pointer]


def test_a_constraint_without_a_source_is_found(spec: dict[str, Any], shared: Path) -> None:
    broken = copy.deepcopy(spec)
    broken["components"]["schemas"]["AccountPerson"]["properties"]["email"] = {"type": "string", "maxLength": 80}
    broken["components"]["schemas"]["Timestamp"]["x-source"]["pattern"] = {
        "seed": "002_c05be75866689df8.txt",
        "says": "not in the page",
    }
    broken["components"]["schemas"]["CountryCode"]["x-source"]["minLength"] = {"decision": "page_urls"}
    problems = {(c.pointer, c.keyword): source_problem(c, broken, shared) for c in unstated_constraints(broken)}
    assert problems[("/components/schemas/AccountPerson/properties/email", "maxLength")] == "no x-source"
    assert "does not say" in str(problems[("/components/schemas/Timestamp", "pattern")])
    assert stale_sources(broken) == ["/components/schemas/CountryCode: minLength"]


def test_a_decision_backed_value_must_match_the_decision(spec: dict[str, Any], shared: Path) -> None:
    broken = copy.deepcopy(spec)
    limit = broken["paths"]["/v2/core/accounts/{account_id}/persons"]["get"]["parameters"][0]["schema"]
    limit["maximum"] = 50
    problems = [source_problem(c, broken, shared) for c in unstated_constraints(broken) if c.keyword == "maximum"]
    assert problems == ["maximum is 50 but decision list_limit_max says 100"]


def _page(url: str) -> dict[str, Any]:
    return {"data": [], "next_page_url": url, "previous_page_url": None}


def test_page_urls_follow_the_targets_decision(spec: dict[str, Any]) -> None:
    absolute = _page("https://target.example/v2/core/accounts/acct_1/persons?page=abc")
    relative = _page("/v2/core/accounts/acct_1/persons?page=abc")
    assert defaults(spec)["page_urls"] == "relative"
    as_published = schema_validator(apply_decisions(spec, {}), "AccountPersonList")
    assert not as_published.is_valid(absolute) and as_published.is_valid(relative)
    for decision in ("absolute", "any"):
        decided = schema_validator(apply_decisions(spec, {"page_urls": decision}), "AccountPersonList")
        assert decided.is_valid(absolute) and decided.is_valid(relative), decision
    assert "pattern" in spec["components"]["schemas"]["AccountPersonList"]["properties"]["next_page_url"], (
        "the spec itself is untouched"
    )


def test_list_limits_take_the_targets_values(spec: dict[str, Any]) -> None:
    decided = apply_decisions(spec, {"list_limit_max": 50, "list_limit_default": 20, "list_limit_min": "any"})
    limit = decided["paths"]["/v2/core/accounts/{account_id}/persons"]["get"]["parameters"][0]["schema"]
    assert (limit["maximum"], limit["default"], "minimum" in limit) == (50, 20, False)
