"""Every documented code of every operation can be produced by the reference server, as documented.

Driven by the spec's catalog: a code without a trigger, or a trigger that does not produce its
code with the documented status and members, fails a test.
"""

from __future__ import annotations

import pytest

from conformance.engine.checks.triggers import candidates
from conformance.engine.workbench import Workbench
from conformance.engine.checks.triggers import TRIGGERS, send
from conformance.reference.profile import FIXTURES as REFERENCE_FIXTURES
from conformance.engine.validation import ResponseValidator
from conformance.spec import load_spec, operations

from .conftest import TOKEN_LIFETIME

CASES = [(operation.operation_id, code) for operation in operations(load_spec()).values() for code in operation.errors]


def test_every_documented_code_has_a_trigger():
    assert {code for _, code in CASES} <= set(TRIGGERS)
    assert len(CASES) == 129


@pytest.fixture(scope="module")
def validator(spec):
    return ResponseValidator(spec)


@pytest.mark.parametrize(("operation_id", "code"), CASES, ids=[f"{op}-{code}" for op, code in CASES])
def test_code_is_produced_as_documented(client, spec, validator, operation_id, code):
    operation = operations(spec)[operation_id]
    documented = operation.errors[code]
    bench = Workbench(client, {**REFERENCE_FIXTURES, "max_wait_seconds": 5}, {"person_token_lifetime_seconds": TOKEN_LIFETIME})
    trigger = candidates(code)[0].trigger  # the first candidate is the one the reference server follows
    exchange = send(bench, trigger(bench, operation), operation_id)
    assert (exchange.status, exchange.error_code) == (documented.status, code), exchange.response_text
    error = exchange.json["error"]
    assert set(documented.members) <= set(error), error
    assert all(error[name] == value for name, value in documented.constants.items()), error
    assert validator.problems(exchange) == []
    assert exchange.response_headers.get("request-id", "").startswith("req_")
    if code == "account_rate_limit_exceeded":
        assert exchange.response_headers.get("retry-after") == "1"
