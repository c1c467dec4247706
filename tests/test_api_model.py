"""The API model read from the spec (operations by id, their paths and the objects their parameters name), and the
workbench that calls operations by id with it, over real HTTP against the reference server."""

from __future__ import annotations

import copy

import pytest

from conformance.engine.workbench import Workbench
from conformance.engine.untrusted import Untrusted
from conformance.spec import operations

from .conftest import STRIPE_VERSION


def test_each_path_parameter_naming_an_object_is_created_by_the_operation_its_links_read_the_id_of(spec):
    created_by = {operation_id: operation.created_by for operation_id, operation in operations(spec).items()}
    assert created_by == {
        "create_person_token": {},
        "retrieve_person_token": {"id": "create_person_token"},
        "list_persons": {},
        "create_person": {},
        "retrieve_person": {"id": "create_person"},
        "update_person": {"id": "create_person"},
        "delete_person": {"id": "create_person"},
        "create_token": {},
        "retrieve_token": {"token": "create_token"},
    }


def test_a_link_that_passes_a_request_value_on_creates_nothing(spec):
    """Only a POST's link from `$response.body#/id` says who creates an object: a link that carries a value of the
    request on, or one from a GET, does not."""
    edited = copy.deepcopy(spec)
    links = edited["paths"]["/v2/core/accounts/{account_id}/persons"]["post"]["responses"]["200"]["links"]
    for link in links.values():
        link["parameters"] = {name: "$request.path.account_id" for name in link.get("parameters", {})}
    assert operations(edited)["retrieve_person"].created_by == {}


def test_url_places_each_segment_and_match_reads_them_back(spec):
    retrieve = operations(spec)["retrieve_person"]
    assert retrieve.path_parameters == ("account_id", "id")
    assert retrieve.url(account_id="acct_1", id="person%2F2") == "/v2/core/accounts/acct_1/persons/person%2F2"
    assert retrieve.match("/v2/core/accounts/acct_1/persons/person%2F2") == {"account_id": "acct_1", "id": "person%2F2"}
    assert retrieve.match("/v2/core/accounts/acct_1/persons") is None
    assert retrieve.match("/v2/core/accounts/acct_1/persons/p/extra") is None
    with pytest.raises(KeyError, match="id"):
        retrieve.url(account_id="acct_1")
    with pytest.raises(TypeError, match="no path parameter token"):
        retrieve.url(account_id="acct_1", id="p", token="t")


def test_workbench_calls_by_operation_id_and_records_it(client, account):
    bench = Workbench(client, {})
    person_id = bench.person(account, {"given_name": "Modelled"})
    updated = bench.call("update_person", account_id=account, id=person_id, json={"surname": "Rosen"})
    listed = bench.call("list_persons", account_id=account, query={"limit": 1})
    assert (updated.status, updated.operation_id, updated.json["surname"]) == (200, "update_person", "Rosen")
    assert listed.url.endswith(f"/v2/core/accounts/{account}/persons?limit=1")
    assert (listed.status, len(listed.json["data"])) == (200, 1)
    assert updated.request_headers["Stripe-Version"] == STRIPE_VERSION
    assert bench.created_persons() == [(account, person_id)]


def test_workbench_refuses_an_id_that_is_no_path_segment(client):
    bench = Workbench(client, {})
    with pytest.raises(Untrusted):
        bench.call("retrieve_person", account_id="acct_1", id="")
    assert client.exchanges == []


def test_cleanup_deletes_every_created_person_without_judging_it(client, account):
    bench = Workbench(client, {})
    person_id = bench.created("create_person", account, "Cleaned")
    bench.cleanup()
    deleted = client.exchanges[-1]
    assert (deleted.method, deleted.status, deleted.operation_id) == ("DELETE", 200, None)
    assert bench.call("retrieve_person", account_id=account, id=person_id).status == 404
