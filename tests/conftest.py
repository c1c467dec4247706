from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.spec import load_spec

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
