"""The layering the README and docs/architecture.md describe, held by tests: the engine knows a target only by its
URL and profile (it imports neither the reference server nor the reporters), and the reference server's published
profile is the one profiles/reference.yaml states."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from conformance.reference import profile

PACKAGE = Path(__file__).resolve().parents[1] / "conformance"


def _imports(module: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_the_engine_imports_neither_the_reference_server_nor_the_reporters_nor_the_commands() -> None:
    outside = ("conformance.reference", "conformance.report", "conformance.targets", "conformance.cli")
    crossing = {
        f"{module.relative_to(PACKAGE)}: {name}"
        for module in (PACKAGE / "engine").rglob("*.py")
        for name in _imports(module)
        if name.startswith(outside)
    }
    assert crossing == set()


def test_the_reference_server_imports_nothing_of_the_engine() -> None:
    crossing = {
        f"{module.relative_to(PACKAGE)}: {name}"
        for module in (PACKAGE / "reference").rglob("*.py")
        for name in _imports(module)
        if name.startswith(("conformance.engine", "conformance.report"))
    }
    assert crossing == set()


def test_profiles_reference_yaml_states_the_reference_servers_published_profile() -> None:
    stated = yaml.safe_load((PACKAGE.parent / "profiles" / "reference.yaml").read_text(encoding="utf-8"))
    assert stated["api_key"] == profile.API_KEY
    assert {"publishable_key": stated["publishable_key"], **stated["fixtures"]} == profile.FIXTURES
