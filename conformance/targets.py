"""The target of a run, for the commands (`conformance run`, the pytest plugin): the given base URL, or the embedded
reference server started for the run and stopped after it. The engine itself knows a target only by its URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from conformance.engine.config import RunConfig


@contextmanager
def target(config: RunConfig) -> Iterator[str]:
    """The base URL to test: the given one, or an embedded reference server started for the run."""
    if not config.embedded:
        yield config.base_url  # type: ignore[misc]
        return
    from conformance.reference.server import ServerOptions, ServerProcess
    from conformance.reference.service import Settings

    with ServerProcess(ServerOptions(settings=Settings.deciding(**config.reference_decisions))) as server:
        yield server.url
