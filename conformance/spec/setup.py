"""The set-up calls the suite makes to prepare its checks, read from their companion document (spec/setup.yaml)."""

from __future__ import annotations

import functools
from pathlib import Path

from conformance.spec.catalog import Operation, operations, resolve
from conformance.spec.loader import default_setup_path, load_setup_spec


@functools.lru_cache(maxsize=4)
def _setup_operations(path: Path) -> dict[str, Operation]:
    return operations(load_setup_spec(path))


def setup_operations(path: Path | str | None = None) -> dict[str, Operation]:
    """The set-up operations by operationId: create_account, close_account, create_v1_account, create_v1_customer."""
    return dict(_setup_operations(Path(path) if path is not None else default_setup_path()))


def entity_types(path: Path | str | None = None) -> tuple[str, ...]:
    """The entity types an account can be created with (the pool of a profile is described in the same terms)."""
    document = load_setup_spec(path)
    params = resolve(document, document["components"]["schemas"]["AccountCreateParams"])
    return tuple(params["properties"]["identity"]["properties"]["entity_type"]["enum"])
