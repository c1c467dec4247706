"""Schemathesis against the reference server itself, a few thousand requests: no 5xx, every response valid.

The suite's own fuzzing (conformance.engine.checks.fuzzing), as conformance/engine/plan.py runs it, but with
many more examples per operation than a default run (test_engine_reference.py runs 10) and other
seeds. Each operation is one test, so that pytest-xdist can share them out; the stateful run
follows the spec's links. A failure names the first requests that failed, as a report would.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conformance.engine.client import ApiClient
from conformance.engine.checks.fuzzing import fuzz_operation, fuzz_stateful, load_schema
from conformance.engine.results import Finding, Status
from conformance.engine.workbench import Workbench
from conformance.engine.validation import ResponseValidator
from conformance.reference.server import RunningServer
from conformance.spec import load_spec, operations

from .conftest import SECRET_KEY, STRIPE_VERSION

SPEC = load_spec()
OPERATIONS = operations(SPEC)
EXAMPLES_PER_OPERATION = 250
# With the path fixed to real objects, these operations have nothing left to generate (their headers
# are the suite's own): 250 examples would send the same request 250 times.
PATH_ONLY = {"retrieve_person", "retrieve_person_token", "retrieve_token", "delete_person"}
PATH_ONLY_EXAMPLES = 25
STATEFUL_EXAMPLES = 40  # sequences of up to 6 linked calls
SEED = 7_2026  # not the default run's seed (20261123): other requests than the gate sends


@pytest.fixture(scope="module")
def fuzz_target() -> Iterator[dict[str, Any]]:
    """A server of this module, the spec's validator and schemathesis schema (built once: they are slow)."""
    with RunningServer() as server:
        yield {"server": server, "validator": ResponseValidator(SPEC), "schema": load_schema(SPEC)}


@pytest.fixture
def bench(fuzz_target) -> Iterator[Workbench]:
    client = ApiClient(fuzz_target["server"].url, SECRET_KEY, stripe_version=STRIPE_VERSION)
    workbench = Workbench(client, {})
    yield workbench
    workbench.cleanup()
    client.close()


def explain(finding: Finding) -> str:
    shown = "\n".join(f"  {exchange.curl()}\n  -> {exchange.status} {exchange.response_text[:400]}" for exchange in finding.exchanges)
    return f"{finding.title}: {finding.status.value}: {finding.detail}\n{shown}"


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_fuzzing_one_operation_finds_nothing(fuzz_target, bench, operation_id):
    account_id = bench.account()
    index = sorted(OPERATIONS).index(operation_id)
    result = fuzz_operation(bench, fuzz_target["validator"], fuzz_target["schema"], OPERATIONS[operation_id], account_id,
                            max_examples=PATH_ONLY_EXAMPLES if operation_id in PATH_ONLY else EXAMPLES_PER_OPERATION, seed_value=SEED + index)
    assert result.status == Status.PASSED, explain(result)
    sent = [exchange for exchange in bench.client.exchanges if exchange.operation_id == operation_id]
    assert sent and all(exchange.status is not None for exchange in sent), "no request reached the server, or one got no answer"


def test_stateful_fuzzing_along_the_links_finds_nothing(fuzz_target, bench):
    account_id = bench.account()
    routes = {(operation.method, operation.path): operation for operation in OPERATIONS.values()}
    result = fuzz_stateful(bench, fuzz_target["validator"], fuzz_target["schema"], routes, account_id,
                           max_examples=STATEFUL_EXAMPLES, seed_value=SEED)
    assert result.status == Status.PASSED, explain(result)
    linked = [exchange for exchange in bench.client.exchanges if exchange.operation_id]
    assert len({exchange.operation_id for exchange in linked}) >= 3, "the sequences did not follow the links"
