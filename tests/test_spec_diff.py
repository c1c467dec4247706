"""`conformance spec diff`: every kind of difference from a Stripe description is found and classed.

tests/data/stripe-layout.yaml describes four operations in Stripe's own layout the way the spec does; each case
changes one thing in it (or in the spec) and expects exactly that difference, with its class.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.cli import main
from conformance.spec.diff import Difference, Impact, diff, hard, read_description

BASE = Path(__file__).parent / "data" / "stripe-layout.yaml"
REFUSES, REJECTS, COSMETIC = Impact.REFUSES_REQUEST, Impact.REJECTS_RESPONSE, Impact.COSMETIC
Edit = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    return read_description(BASE)


def _person(stripe: dict[str, Any]) -> dict[str, Any]:
    return stripe["paths"]["/v1/tokens"]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"][
        "schema"
    ]["properties"]["person"]


def _schema(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda stripe: stripe["components"]["schemas"][name]


def _error(code: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda stripe: stripe["components"]["schemas"][f"v2.error.{code}"]["properties"]["error"]


token, person_token = _schema("token"), _schema("v2.core.account_person_token")
TOKEN_OPERATIONS = "create_token,retrieve_token"  # both answer Stripe's `token` schema
ERROR_OPERATIONS = "retrieve_person_token,delete_person"  # both document these codes

# name: (edit of Stripe's description, operations (comma-separated), where, kind, impact)
STRIPE_EDITS: dict[str, tuple[Edit, str, str, str, Impact]] = {
    "request member Stripe added": (
        lambda s: _person(s)["properties"].__setitem__("favourite_colour", {"type": "string"}),
        "create_token",
        "request body.person.favourite_colour",
        "member",
        REFUSES,
    ),
    "request enum value Stripe added": (
        lambda s: _person(s)["properties"]["political_exposure"]["enum"].append("former"),
        "create_token",
        "request body.person.political_exposure",
        "enum",
        REFUSES,
    ),
    "request type Stripe widened": (
        lambda s: _person(s)["properties"]["dob"]["anyOf"][0]["properties"]["day"].__setitem__("type", "number"),
        "create_token",
        "request body.person.dob.day",
        "type",
        REFUSES,
    ),
    "request member Stripe made optional": (
        lambda s: _person(s)["properties"]["dob"]["anyOf"][0].__setitem__("required", ["day", "month"]),
        "create_token",
        "request body.person.dob.year",
        "required",
        REFUSES,
    ),
    "request member Stripe made nullable": (
        lambda s: _person(s)["properties"]["first_name"].__setitem__("nullable", True),
        "create_token",
        "request body.person.first_name",
        "nullable",
        REFUSES,
    ),
    "request unset Stripe added to an enum": (
        lambda s: _person(s)["properties"]["political_exposure"]["enum"].append(""),
        "create_token",
        "request body.person.political_exposure",
        'empty string ("" unsets)',
        REFUSES,
    ),
    "query parameter Stripe added": (
        lambda s: s["paths"]["/v1/tokens/{token}"]["get"]["parameters"].append(
            {"name": "include", "in": "query", "schema": {"type": "string"}}
        ),
        "retrieve_token",
        "query parameter include",
        "parameter",
        REFUSES,
    ),
    "response member Stripe made optional": (
        lambda s: token(s)["required"].remove("type"),
        TOKEN_OPERATIONS,
        "response 200.type",
        "required",
        REJECTS,
    ),
    "response type Stripe changed": (
        lambda s: token(s)["properties"]["created"].__setitem__("type", "string"),
        TOKEN_OPERATIONS,
        "response 200.created",
        "type",
        REJECTS,
    ),
    "response format Stripe changed": (
        lambda s: token(s)["properties"]["created"].__setitem__("format", "date"),
        TOKEN_OPERATIONS,
        "response 200.created",
        "format",
        REJECTS,
    ),
    "response enum value Stripe added": (
        lambda s: person_token(s)["properties"]["object"]["enum"].append("v2.core.person_token"),
        "retrieve_person_token",
        "response 200.object",
        "enum",
        REJECTS,
    ),
    "response member Stripe made nullable": (
        lambda s: person_token(s)["properties"]["used"].__setitem__("nullable", True),
        "retrieve_person_token",
        "response 200.used",
        "nullable",
        REJECTS,
    ),
    "response member the spec forbids": (
        lambda s: person_token(s)["properties"].__setitem__("email", {"type": "string"}),
        "retrieve_person_token",
        "response 200.email",
        "member",
        REJECTS,
    ),
    "response bound Stripe states above the spec's, which its source no longer excuses": (
        lambda s: person_token(s)["properties"]["id"].__setitem__("maxLength", 5000),
        "retrieve_person_token",
        "response 200.id",
        "maxLength",
        REJECTS,
    ),
    "response bound Stripe states that the spec lacks": (
        lambda s: person_token(s)["properties"]["object"].__setitem__("maxLength", 5000),
        "retrieve_person_token",
        "response 200.object",
        "maxLength",
        COSMETIC,
    ),
    "error member Stripe made optional": (
        lambda s: _error("account_rate_limit_exceeded")(s)["required"].remove("type"),
        ERROR_OPERATIONS,
        "error account_rate_limit_exceeded.type",
        "required",
        REJECTS,
    ),
    "error constant Stripe changed": (
        lambda s: _error("account_rate_limit_exceeded")(s)["properties"]["type"].__setitem__(
            "enum", ["rate_limit_error"]
        ),
        ERROR_OPERATIONS,
        "error account_rate_limit_exceeded.type",
        "enum",
        REJECTS,
    ),
    "error code Stripe added": (
        lambda s: (
            s["components"]["schemas"].__setitem__(
                "v2.error.account_frozen",
                {
                    "properties": {
                        "error": {
                            "required": ["code", "message"],
                            "properties": {"code": {"type": "string", "enum": ["account_frozen"]}},
                        }
                    }
                },
            ),
            s["paths"]["/v2/core/accounts/{account_id}/persons/{id}"]["delete"]["responses"]["default"]["content"][
                "application/json"
            ]["schema"]["oneOf"].insert(0, {"$ref": "#/components/schemas/v2.error.account_frozen"}),
        ),
        "delete_person",
        "error account_frozen",
        "error code",
        COSMETIC,
    ),
    "error code Stripe dropped": (
        lambda s: s["paths"]["/v2/core/accounts/{account_id}/persons/{id}"]["delete"]["responses"]["default"][
            "content"
        ]["application/json"]["schema"]["oneOf"].pop(0),
        "delete_person",
        "error account_not_yet_compatible_with_v2",
        "error code",
        COSMETIC,
    ),
    "error member Stripe now requires": (
        lambda s: _error("not_found")(s)["required"].append("doc_url"),
        ERROR_OPERATIONS,
        "error not_found.doc_url",
        "required",
        COSMETIC,
    ),
    "response member Stripe added": (
        lambda s: person_token(s)["properties"].__setitem__("account", {"type": "string"}),
        "retrieve_person_token",
        "response 200.account",
        "member",
        COSMETIC,
    ),
}


def _changes(found: list[Difference], baseline: list[Difference]) -> list[Difference]:
    return [difference for difference in found if difference not in baseline]


def test_the_base_description_agrees_with_the_spec(spec: dict[str, Any], base: dict[str, Any]) -> None:
    found, absent = diff(spec, base)
    assert not hard(found), "\n".join(difference.line() for difference in hard(found))
    assert absent == ["create_person_token", "list_persons", "create_person", "retrieve_person", "update_person"]
    backed = [d for d in found if d.where == "response 200.created" and d.operation_id == "retrieve_person_token"]
    assert [(d.kind, d.impact) for d in backed] == [("pattern", COSMETIC)] and "seed 002" in backed[0].note


@pytest.mark.parametrize("name", STRIPE_EDITS)
def test_each_kind_of_difference_is_found_and_classed(spec: dict[str, Any], base: dict[str, Any], name: str) -> None:
    edit, operation_id, where, kind, impact = STRIPE_EDITS[name]
    changed = copy.deepcopy(base)
    edit(changed)
    found = _changes(diff(spec, changed)[0], diff(spec, base)[0])
    expected = [(operation, where, kind, impact) for operation in operation_id.split(",")]
    assert [(d.operation_id, d.where, d.kind, d.impact) for d in found] == expected, found


def test_a_constraint_without_a_source_is_a_hard_difference(spec: dict[str, Any], base: dict[str, Any]) -> None:
    stricter = copy.deepcopy(spec)
    stricter["components"]["schemas"]["DeletedObject"]["properties"]["object"]["maxLength"] = 40
    found = _changes(diff(stricter, base)[0], diff(spec, base)[0])
    assert [(d.where, d.kind, d.impact) for d in found] == [("response 200.object", "maxLength", REJECTS)]


def test_a_required_body_stripe_makes_optional_refuses(spec: dict[str, Any], base: dict[str, Any]) -> None:
    stricter = copy.deepcopy(spec)
    stricter["paths"]["/v1/tokens"]["post"]["requestBody"]["required"] = True
    found = _changes(diff(stricter, base)[0], diff(spec, base)[0])
    assert [(d.where, d.kind, d.impact) for d in found] == [
        ("request body (application/x-www-form-urlencoded)", "required", REFUSES)
    ]


def test_the_hard_gaps_of_the_earlier_spec_are_found(spec: dict[str, Any], base: dict[str, Any]) -> None:
    """The differences the spec had with Stripe's description, put back: each is found as hard."""
    old = copy.deepcopy(spec)
    old["components"]["schemas"]["DeletedObject"]["required"] = ["id", "object", "deleted"]
    old["components"]["schemas"]["Token"]["properties"]["type"]["enum"] = [
        "account",
        "bank_account",
        "card",
        "cvc_update",
        "person",
        "pii",
    ]
    old["components"]["schemas"]["TokenCreateParams"]["properties"].pop("expand")
    old["components"]["schemas"]["V1PersonParams"]["properties"]["dob"] = {
        "$ref": "#/components/schemas/V1DateOfBirthParams"
    }
    found = {(d.operation_id, d.where, d.kind) for d in hard(diff(old, base)[0])}
    assert found == {
        ("delete_person", "response 200.object", "required"),
        ("delete_person", "response 200.deleted", "required"),
        ("create_token", "response 200.type", "enum"),
        ("retrieve_token", "response 200.type", "enum"),
        ("create_token", "request body.expand", "member"),
        ("create_token", "request body.person.dob", 'empty string ("" unsets)'),
    }


def test_the_command_reads_json_and_yaml_and_exits_by_what_it_found(
    tmp_path: Path, base: dict[str, Any], capsys: Any
) -> None:
    as_json = tmp_path / "openapi.spec3.json"
    as_json.write_text(json.dumps(base))
    assert main(["spec", "diff", str(as_json)]) == 0
    assert "0 would refuse a correct request, 0 would reject a correct response" in capsys.readouterr().out
    changed = copy.deepcopy(base)
    token(changed)["required"].remove("type")
    as_yaml = tmp_path / "changed.yaml"
    as_yaml.write_text(yaml.safe_dump(changed))
    assert main(["spec", "diff", str(as_yaml)]) == 1
    out = capsys.readouterr().out
    assert "[would reject a correct response] response 200.type: required: ours required, Stripe's optional" in out
    assert main(["spec", "diff", str(as_yaml), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["hard"] == 2 and {row["impact"] for row in report["differences"]} == {REJECTS.value, COSMETIC.value}


@pytest.mark.parametrize("content", ["{not json", "openapi: [", "just text", '{"openapi": "3.0.0", "paths": {}}'])
def test_a_file_that_is_no_description_is_a_usage_error(tmp_path: Path, content: str, capsys: Any) -> None:
    path = tmp_path / "broken.json"
    path.write_text(content)
    assert main(["spec", "diff", str(path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("conformance: ") and len(error.strip().splitlines()) == 1


@pytest.mark.parametrize("ref", ["#/components/schemas/loop", "#/components/schemas/absent", "other.yaml#/x"])
def test_a_reference_that_cannot_be_followed_is_a_usage_error(
    tmp_path: Path, base: dict[str, Any], ref: str, capsys: Any
) -> None:
    broken = copy.deepcopy(base)
    broken["components"]["schemas"]["loop"] = {"$ref": "#/components/schemas/loop"}
    broken["components"]["schemas"]["token"] = {"$ref": ref}
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    assert main(["spec", "diff", str(path)]) == 2
    assert capsys.readouterr().err.startswith("conformance: ")


def test_a_missing_file_is_a_usage_error(tmp_path: Path, capsys: Any) -> None:
    assert main(["spec", "diff", str(tmp_path / "absent.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
