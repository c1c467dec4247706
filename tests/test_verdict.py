"""The verdict separates "conforms" from "conforms, N not exercised", and a coverage threshold fails the gate."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.engine.config import ConfigError, resolve_config
from conformance.engine.categories import Category
from conformance.engine.results import CheckResult, RunResult, Status

KEY = "sk_test_reference_secret"


def _run(statuses: list[Status], min_exercised: float) -> RunResult:
    results = [CheckResult(f"semantics/c{index}/a", Category.SEMANTICS, "t", status) for index, status in enumerate(statuses)]
    return RunResult({}, "v", 1, "now", 0.0, "cmd", results, min_exercised=min_exercised)


def test_a_run_that_skipped_says_so_and_fails_below_the_threshold() -> None:
    statuses = [Status.PASSED] * 3 + [Status.NOT_EXERCISED]
    assert _run(statuses, 0).verdict == "conforms, 1 not exercised" and _run(statuses, 0).conforms
    assert _run(statuses, 75).conforms
    below = _run(statuses, 80)
    assert not below.conforms and below.verdict == "does not conform (only 75.0 % exercised, 80 % required)"
    assert below.to_dict()["exercised_percent"] == 75.0
    assert _run([Status.PASSED, Status.FAILED], 0).verdict == "does not conform"


def test_the_threshold_comes_from_the_profile_or_the_flag_and_defaults_to_all_for_the_embedded_server(tmp_path: Any) -> None:
    assert resolve_config({}, environ={}).min_exercised == 100.0
    assert resolve_config({"base_url": "http://127.0.0.1:9", "api_key": KEY}, environ={}).min_exercised == 0.0
    profile = tmp_path / "profile.yaml"
    profile.write_text("coverage: {min_exercised: 90}\n", encoding="utf-8")
    config = resolve_config({"base_url": "http://127.0.0.1:9", "api_key": KEY, "profile": str(profile)}, environ={})
    assert config.min_exercised == 90.0
    flag = resolve_config({"base_url": "http://127.0.0.1:9", "api_key": KEY, "profile": str(profile), "min_exercised": 50}, environ={})
    assert flag.min_exercised == 50.0
    with pytest.raises(ConfigError, match="percent from 0 to 100"):
        resolve_config({"min_exercised": 150}, environ={})
    profile.write_text("coverage: {exercised: 90}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="coverage takes min_exercised"):
        resolve_config({"base_url": "http://127.0.0.1:9", "api_key": KEY, "profile": str(profile)}, environ={})
