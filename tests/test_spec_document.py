"""The OpenAPI document is valid, loads in the tools that use it, and is complete."""

from __future__ import annotations

import re
from typing import Any
from pathlib import Path

import pytest
import schemathesis
import yaml
from openapi_core import OpenAPI

from conformance.spec import SpecError, load_spec, operations
from conformance.spec.decisions import decisions, defaults
from conformance.spec.summary import summarize

EXPECTED_OPERATIONS = {
    "create_person_token": ("post", "/v2/core/accounts/{account_id}/person_tokens"),
    "retrieve_person_token": ("get", "/v2/core/accounts/{account_id}/person_tokens/{id}"),
    "list_persons": ("get", "/v2/core/accounts/{account_id}/persons"),
    "create_person": ("post", "/v2/core/accounts/{account_id}/persons"),
    "retrieve_person": ("get", "/v2/core/accounts/{account_id}/persons/{id}"),
    "update_person": ("post", "/v2/core/accounts/{account_id}/persons/{id}"),
    "delete_person": ("delete", "/v2/core/accounts/{account_id}/persons/{id}"),
    "create_token": ("post", "/v1/tokens"),
    "retrieve_token": ("get", "/v1/tokens/{token}"),
}


def test_nine_operations_with_stable_ids(spec):
    found = {op.operation_id: (op.method, op.path) for op in operations(spec).values()}
    assert found == EXPECTED_OPERATIONS


def test_loads_in_schemathesis(spec):
    schema = schemathesis.openapi.from_dict(spec)
    labels = {result.ok().label for result in schema.get_all_operations()}
    assert labels == {f"{method.upper()} {path}" for method, path in EXPECTED_OPERATIONS.values()}


def test_loads_in_openapi_core(spec):
    api = OpenAPI.from_dict(spec)
    assert api.spec is not None


def test_every_id_number_type_from_the_seed(spec, shared: Path):
    seed = next((shared / "seeds").glob("003_*.txt")).read_text()
    published = re.findall(r"^    - `([a-z]{2}_[a-z0-9_]+)`", seed, flags=re.MULTILINE)
    assert len(published) == 77
    assert spec["components"]["schemas"]["IdNumberType"]["enum"] == published


def test_success_is_200_everywhere(spec):
    for operation in operations(spec).values():
        assert 200 in operation.statuses, operation.operation_id
        assert not {201, 204} & set(operation.statuses), operation.operation_id


def test_v2_requires_stripe_version_and_posts_take_idempotency_keys(spec):
    for path, item in spec["paths"].items():
        shared_params = [p.get("$ref", "") for p in item.get("parameters", [])]
        for method in ("get", "post", "delete"):
            if method not in item:
                continue
            params = shared_params + [p.get("$ref", "") for p in item[method].get("parameters", [])]
            if path.startswith("/v2/"):
                assert "#/components/parameters/StripeVersion" in params, (method, path)
                assert "#/components/parameters/StripeContext" in params, (method, path)
            has_key = "#/components/parameters/IdempotencyKey" in params
            assert has_key == (method in ("post", "delete")), (method, path)
    assert spec["components"]["parameters"]["StripeVersion"]["required"] is True


def test_every_response_carries_request_id(spec):
    from conformance.spec.catalog import resolve

    for operation in operations(spec).values():
        responses = spec["paths"][operation.path][operation.method]["responses"]
        for status, response in responses.items():
            headers = resolve(spec, response).get("headers", {})
            assert "Request-Id" in headers, (operation.operation_id, status)


def test_links_chain_create_to_the_other_calls(spec):
    def links(path, method):
        return {link["operationId"] for link in spec["paths"][path][method]["responses"]["200"].get("links", {}).values()}

    assert {"retrieve_person", "update_person", "delete_person"} <= links("/v2/core/accounts/{account_id}/persons", "post")
    assert "retrieve_person_token" in links("/v2/core/accounts/{account_id}/person_tokens", "post")
    assert "retrieve_token" in links("/v1/tokens", "post")


def test_security_bearer_and_basic(spec):
    schemes = spec["components"]["securitySchemes"]
    assert {(s["type"], s["scheme"]) for s in schemes.values()} == {("http", "bearer"), ("http", "basic")}
    publishable = {op.operation_id for op in operations(spec).values() if op.publishable_key_allowed}
    assert publishable == {"create_person_token", "create_token"}


def test_every_decision_the_issue_names_is_declared_with_its_alternatives(spec):
    declared = decisions(spec)
    assert {
        "update_nested_objects", "update_arrays", "list_order", "unknown_test_keys", "idempotency_key_scope",
        "representative_age_limit", "person_token_lifetime_seconds", "metadata_alongside_person_token",
        "percent_ownership_scale", "identity_country_rule",
    } <= set(declared)
    for decision in declared.values():
        assert decision.description and decision.alternatives
        assert decision.problem(decision.default) is None and decision.problem("any") is None
    assert declared["update_nested_objects"].alternatives == ("merge", "replace")
    assert declared["representative_age_limit"].problem(0) is not None
    assert defaults(spec)["person_token_lifetime_seconds"] == 600


def test_summary_counts(spec):
    summary = summarize(spec)
    assert summary.operations == 9
    assert summary.documented_codes == 54  # 53 documented codes and idempotency_error
    assert summary.examples >= 9


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("openapi: 3.1.0\ninfo: [unclosed\n", "not valid YAML"),
        ("swagger: '2.0'\n", "not an OpenAPI 3.1 document"),
        ("openapi: 3.1.0\ninfo: {title: x}\npaths: {}\n", "not valid OpenAPI 3.1"),
    ],
)
def test_a_broken_document_gets_a_clear_error(tmp_path, text, message):
    broken = tmp_path / "broken.yaml"
    broken.write_text(text)
    with pytest.raises(SpecError, match=message):
        load_spec(broken)


def test_a_document_is_validated_once_per_content(tmp_path, monkeypatch):
    import openapi_spec_validator

    monkeypatch.setenv("CONFORMANCE_CACHE_DIR", str(tmp_path / "cache"))
    validated = []
    # The loader imports the validator when it has to judge a document, so the package's own function is replaced.
    monkeypatch.setattr(openapi_spec_validator, "validate", lambda document: validated.append(document["info"]["title"]))
    document = tmp_path / "spec.yaml"
    for title in ("first", "second", "first"):  # each content is a new file path: no in-process cache helps
        copy = tmp_path / f"{title}-{len(validated)}.yaml"
        copy.write_text(f"openapi: 3.1.0\ninfo: {{title: {title}, version: '1'}}\npaths: {{}}\n")
        load_spec(copy)
    assert validated == ["first", "second"]
    assert len(list((tmp_path / "cache").iterdir())) == 2
    monkeypatch.setenv("CONFORMANCE_CACHE_DIR", str(document / "not-a-directory"))  # unwritable: validated each time
    document.write_text("openapi: 3.1.0\ninfo: {title: third, version: '1'}\npaths: {}\n")
    load_spec(document)
    assert validated[-1] == "third"


def test_a_missing_document_gets_a_clear_error(tmp_path):
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(tmp_path / "absent.yaml")


class _StrictYaml(yaml.SafeLoader):
    """YAML 1.2 as other tools read it: no merge keys (a YAML 1.1 extension), no duplicate keys."""


def _mapping_without_merges(loader: _StrictYaml, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    keys = [loader.construct_object(key) for key, _ in node.value]
    if "<<" in keys:
        raise AssertionError(f"a merge key at line {node.start_mark.line + 1}: tools reading YAML 1.2 (Prism) drop it")
    repeated = sorted({str(key) for key in keys if keys.count(key) > 1})
    if repeated:
        raise AssertionError(f"keys given twice at line {node.start_mark.line + 1}: {repeated}")
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_StrictYaml.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_merges)


@pytest.mark.parametrize("name", ["openapi.yaml", "setup.yaml"])
def test_the_documents_read_the_same_in_any_yaml_parser(name: str) -> None:
    # A merge key made Prism read create_person without its common members and refuse given_name.
    text = (Path(__file__).resolve().parents[1] / "spec" / name).read_text(encoding="utf-8")
    assert yaml.load(text, Loader=_StrictYaml) == yaml.safe_load(text)  # noqa: S506 - a SafeLoader subclass


def test_the_set_up_document_names_the_calls_the_suite_makes() -> None:
    from conformance.spec.setup import entity_types, setup_operations

    found = {op.operation_id: (op.method, op.path) for op in setup_operations().values()}
    assert found == {
        "create_account": ("post", "/v2/core/accounts"),
        "close_account": ("post", "/v2/core/accounts/{account_id}/close"),
        "create_v1_account": ("post", "/v1/accounts"),
        "create_v1_customer": ("post", "/v1/customers"),
    }
    assert entity_types() == ("company", "individual", "non_profit", "government_entity")
