"""Fuzzing follows its seed alone: importing another local module (new literals Hypothesis could mine) changes
nothing of what the stateful fuzzing sends. Before the guard, it did: 71 or 73 requests by entry point."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.engine.config import resolve_config
from conformance.engine.plan import Environment, plan
from conformance.reference.server import RunningServer, ServerOptions

KEY = "sk_test_reference_secret"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with RunningServer(ServerOptions()) as running:
        yield running.url


def _stateful(url: str) -> list[tuple[str, str | None, int | None]]:
    config = resolve_config({"base_url": url, "api_key": KEY, "only": "fuzzing", "max_examples": "10"}, environ={})
    environment = Environment(config, url)
    unit = next(unit for unit in plan(config, environment.spec) if unit.check_id == "fuzzing/stateful")
    _, client = unit.run(environment)
    return [(exchange.method, exchange.operation_id, exchange.status) for exchange in client.exchanges]


def test_another_local_module_changes_nothing_the_fuzzing_sends(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _stateful(server)
    literals = ", ".join(repr(f"conformance-literal-{index}") for index in range(300))
    numbers = ", ".join(str(7_919 * index) for index in range(300))
    (tmp_path / "local_constants_module.py").write_text(f"STRINGS = [{literals}]\nNUMBERS = [{numbers}]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("local_constants_module")
    try:
        assert _stateful(server) == before
    finally:
        sys.modules.pop("local_constants_module", None)
