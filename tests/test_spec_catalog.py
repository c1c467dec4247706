"""The error catalog read from the spec is exactly the documented one (shared/reference/error-codes.json)."""

from __future__ import annotations

import pytest

from conformance.spec import operations
from conformance.spec.catalog import documented_codes

CROSS_CUTTING = "idempotency_error"


def test_every_operation_lists_exactly_its_documented_codes(spec, reference_errors):
    ops = operations(spec)
    for name, documented in reference_errors["operations"].items():
        found = set(ops[name].errors) - {CROSS_CUTTING}
        assert found == set(documented["error_codes"]), name
        assert (ops[name].method.upper(), ops[name].path) == (documented["method"], documented["path"])


def test_v1_operations_document_no_v2_codes(spec):
    ops = operations(spec)
    assert ops["create_token"].errors == {}
    assert ops["retrieve_token"].errors == {}


def test_fifty_three_codes_and_create_person_has_fifty(spec, reference_errors):
    assert documented_codes(spec) - {CROSS_CUTTING} == set(reference_errors["errors"])
    assert len(reference_errors["errors"]) == 53
    assert len(set(operations(spec)["create_person"].errors) - {CROSS_CUTTING}) == 50


def test_statuses_members_and_types(spec, reference_errors):
    for operation in operations(spec).values():
        for code, documented in operation.errors.items():
            if code == CROSS_CUTTING:
                continue
            expected = reference_errors["errors"][code]
            assert documented.status == expected["status"], (operation.operation_id, code)
            assert set(documented.members) == set(expected["error_members"]), code
            assert documented.constants.get("type") == expected["type"], code


def test_idempotency_error_on_every_v2_post_and_delete(spec, reference_errors):
    conflict = reference_errors["cross_cutting"][CROSS_CUTTING]
    for operation in operations(spec).values():
        if operation.path.startswith("/v2/") and operation.method in ("post", "delete"):
            documented = operation.errors[CROSS_CUTTING]
            assert documented.status == conflict["status"] == 409
            assert set(documented.members) == set(conflict["error_members"])
        else:
            assert CROSS_CUTTING not in operation.errors, operation.operation_id


@pytest.mark.parametrize("operation_id", ["create_person_token", "retrieve_person_token", "list_persons", "create_person", "retrieve_person", "update_person", "delete_person", "create_token", "retrieve_token"])
def test_401_documented_everywhere(spec, operation_id):
    assert 401 in operations(spec)[operation_id].statuses
