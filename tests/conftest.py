from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.spec import load_spec
from conformance.spec.catalog import api_version

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    return load_spec()


@pytest.fixture(scope="session")
def shared() -> Path:
    if not (SHARED / "reference" / "error-codes.json").exists():
        pytest.fail(f"the shared reference material is expected beside the checkout, at {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def reference_errors(shared: Path) -> dict[str, Any]:
    return json.loads((shared / "reference" / "error-codes.json").read_text())


STRIPE_VERSION = api_version(load_spec())
SECRET_KEY = "sk_test_reference_secret"
TOKEN_LIFETIME = 2.0


@pytest.fixture(scope="session")
def reference_server():
    """The reference server over real HTTP on loopback, with short-lived person tokens."""
    from conformance.reference.server import RunningServer, ServerOptions
    from conformance.reference.service import Settings

    with RunningServer(ServerOptions(settings=Settings.deciding(person_token_lifetime_seconds=TOKEN_LIFETIME))) as server:
        yield server


@pytest.fixture
def client(reference_server):
    from conformance.engine.client import ApiClient

    api = ApiClient(reference_server.url, SECRET_KEY, stripe_version=STRIPE_VERSION)
    yield api
    api.close()


@pytest.fixture
def account(client) -> str:
    exchange = client.request("POST", "/v2/core/accounts", json_body={"identity": {"country": "us", "entity_type": "company"}})
    assert exchange.status == 200, exchange.response_text
    return exchange.json["id"]


def run_units(units: list[Any], environment: Any, workers: int = 4) -> list[Any]:
    """The results of the units, run as `conformance run` runs them (so that their waits, a token expiring or a
    Retry-After, overlap)."""
    from conformance.engine import runner

    outcomes: list[Any] = []
    assert runner.run_units(units, environment, workers, outcomes.append), "interrupted"
    return [result for results, _ in outcomes for result in results]
