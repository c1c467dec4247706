"""The target of a run, for the commands (`conformance run`, the pytest plugin): the given base URL, or the embedded
reference server started for the run and stopped after it. The engine itself knows a target only by its URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from conformance.engine.config import RunConfig


@contextmanager
def target(config: RunConfig) -> Iterator[str]:
    """The base URL to test: the given one, or an embedded reference server started for the run. The embedded server
    comes with its published profile (its key and fixtures), under what the run's own profile states."""
    if not config.embedded:
        yield config.base_url  # type: ignore[misc]
        return
    from conformance.reference import profile
    from conformance.reference.server import ServerOptions, ServerProcess
    from conformance.reference.service import Settings

    config.api_key = config.api_key or profile.API_KEY
    config.fixtures = {**profile.FIXTURES, **config.fixtures}

    server = ServerProcess(ServerOptions(settings=Settings.deciding(**config.reference_decisions))).launch()
    try:
        # The engine's imports (about 0.4 s) while the child makes its server (about 0.5 s): both cores at work.
        import conformance.engine.runner
        import conformance.report  # noqa: F401

        yield server.ready().url
    finally:
        server.stop()
