"""account_rate_limit_exceeded on a target with a real per-account limit: an opt-in, bounded burst."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.engine.config import ConfigError, resolve_config
from conformance.engine.plan import Environment, plan
from conformance.engine.results import CheckResult, Status
from conformance.engine.checks.triggers import MAX_BURST_REQUESTS
from conformance.reference.profile import FIXTURES as REFERENCE_FIXTURES
from conformance.reference.server import RunningServer, ServerOptions
from conformance.reference.service import Settings
from tests.test_account_pool import RequestLog
from tests.conftest import run_units

KEY = "sk_test_reference_secret"
CODE = "account_rate_limit_exceeded"
LIMIT = 20


def _scenarios(server_limit: float | None, declared: float | None) -> tuple[list[CheckResult], RequestLog]:
    """Every operation's account_rate_limit_exceeded scenario, without the rate-limited fixture account."""
    log = RequestLog()
    options = ServerOptions(settings=Settings.deciding(rate_limit=server_limit), middleware=(log,))
    with RunningServer(options) as server:
        config = resolve_config({"base_url": server.url, "api_key": KEY, "only": "error-codes"}, environ={})
        config.fixtures = {**REFERENCE_FIXTURES, "rate_limited_account": None}
        config.rate_limit_per_second = declared
        environment = Environment(config, server.url)
        units = [unit for unit in plan(config, environment.spec) if unit.check_id.endswith("/" + CODE)]
        assert len(units) == 7
        return run_units(units, environment), log


def _per_account(log: RequestLog) -> Counter[str]:
    return Counter(path.split("/")[4] for _, path in log.requests if path.startswith("/v2/core/accounts/"))


def test_a_declared_limit_is_provoked_by_a_bounded_burst_that_honours_retry_after() -> None:
    results, log = _scenarios(server_limit=LIMIT, declared=LIMIT)
    assert [r.status for r in results] == [Status.PASSED] * 7, [r.detail for r in results]
    assert all(r.detail == "drawn by a burst beyond the declared per-account limit" for r in results)
    assert max(_per_account(log).values()) <= 2 * LIMIT + 2 + 3  # the burst, its setup and clean-up
    for result in results:
        refused = [e for e in result.exchanges if e.status == 429]
        assert len(refused) == 1 and refused[0] is result.exchanges[-1]  # the burst stops at the first refusal
        assert refused[0].response_headers["retry-after"] == "1"
        assert result.duration >= 1.0  # and waits the Retry-After before the clean-up

def test_without_a_declaration_no_burst_is_sent() -> None:
    results, log = _scenarios(server_limit=LIMIT, declared=None)
    assert {r.status for r in results} == {Status.NOT_EXERCISED}
    assert all("no burst is sent unasked" in r.detail and "rate_limited_account" in r.detail for r in results)
    assert max(_per_account(log).values(), default=0) <= 3  # the candidates' set-up only


def test_a_limit_declared_but_not_enforced_fails() -> None:
    results, _ = _scenarios(server_limit=None, declared=LIMIT)
    assert {r.status for r in results} == {Status.FAILED}
    assert all("status 200, expected 429" in r.detail or "status 404, expected 429" in r.detail for r in results)
    assert all(len(r.exchanges) <= min(MAX_BURST_REQUESTS, 2 * LIMIT + 2) + 6 for r in results)


@pytest.mark.parametrize("value", [0, -1, "fast", 20000])
def test_the_declared_limit_is_a_positive_number(tmp_path: Path, value: Any) -> None:
    profile = tmp_path / "profile.yaml"
    profile.write_text(yaml.safe_dump({"base_url": "http://127.0.0.1:9", "rate_limit_per_second": value}))
    with pytest.raises(ConfigError, match="rate_limit_per_second is a number of requests above 0"):
        resolve_config({"profile": str(profile), "api_key": KEY}, environ={})
