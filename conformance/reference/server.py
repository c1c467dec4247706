"""Run the reference server over real HTTP: in a background thread (tests), in a child process (the embedded
target of a run), or in the foreground."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import functools
import os
import pickle
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import uvicorn

from conformance.reference.app import create_app
from conformance.reference.auth import DEFAULT_KEYS, KeyRegistry
from conformance.reference.protocol import GuardedProtocol, HttpLimits
from conformance.reference.service import Service, Settings
from conformance.reference.storage import Storage

SHUTDOWN_POLL_SECONDS = 0.005  # how often a stopping server looks whether its connections have closed


@dataclass(frozen=True)
class ServerOptions:
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port
    database: str | Path = ":memory:"
    settings: Settings = field(default_factory=Settings)
    keys: tuple[str, ...] = DEFAULT_KEYS
    # Hooks for variants of the server (e.g. fault-injected ones in the tests): the service class
    # to run, and ASGI middleware wrapped around the application, innermost first.
    service_class: type[Service] = Service
    middleware: tuple[Callable[[Any], Any], ...] = ()
    limits: HttpLimits = field(default_factory=HttpLimits)  # slow and numerous clients


def build(options: ServerOptions) -> tuple[uvicorn.Config, Storage]:
    storage = Storage(options.database)
    service = options.service_class(storage, options.settings)
    keys = KeyRegistry(options.keys, unknown_test_keys=options.settings.decisions["unknown_test_keys"])
    app: Any = create_app(service, keys, options.limits.body_timeout)
    for wrap in options.middleware:
        app = wrap(app)
    # httptools: the faster parser, and the stricter one (a request with both Content-Length and
    # Transfer-Encoding is refused, as request smuggling defences want); guarded against slow clients.
    protocol = functools.partial(GuardedProtocol, limits=options.limits)
    config = uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        http=protocol,  # type: ignore[arg-type]  # uvicorn takes a protocol factory; its stubs say a class
        lifespan="off",
        log_level="warning",
        access_log=False,
    )
    return config, storage


def listening_socket(host: str, port: int) -> socket.socket:
    """A listening socket whose connections send at once: without TCP_NODELAY, a response's body
    waits for the client's delayed ACK of its headers (40 ms per request on Linux)."""
    listener = socket.create_server((host, port))
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return listener


def free_port(host: str = "127.0.0.1") -> int:
    """A port free now, for a server another process starts on it (`conformance serve --port`, Prism)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class _Listening(abc.ABC):
    """A reference server bound to its listening socket; `with` starts and stops it."""

    def __init__(self, options: ServerOptions | None, listener: socket.socket | None = None) -> None:
        self.options = options or ServerOptions()
        self._socket = listener or listening_socket(self.options.host, self.options.port)
        self.port = self._socket.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://{self.options.host}:{self.port}"

    @abc.abstractmethod
    def start(self) -> Self: ...

    @abc.abstractmethod
    def stop(self) -> None: ...

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class _PromptServer(uvicorn.Server):
    """uvicorn's server, woken when asked to stop. Its main loop (the same, below) looks at should_exit every 0.1 s,
    and every stop waited for that: half of a stop's time, in tests that start hundreds of servers."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)
            should_exit = await self.on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's shutdown (0.54) without its fixed 0.1 s pause and 0.1 s polls: every stop paid at least 0.1 s,
        a tenth of a second per server in tests that start hundreds. The same steps: stop accepting, ask every
        connection to close after its response, wait until none is left and no task runs. Lifespan is off."""
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        while (self.server_state.connections or self.server_state.tasks) and not self.force_exit:
            await asyncio.sleep(SHUTDOWN_POLL_SECONDS)
        for server in self.servers:
            await server.wait_closed()

    def request_stop(self) -> None:
        """From another thread: stop now, not at the next tick."""
        self.should_exit = True
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended
                self._loop.call_soon_threadsafe(self._wake.set)


class RunningServer(_Listening):
    """The reference server in a background thread; `with RunningServer() as server: server.url`."""

    def __init__(self, options: ServerOptions | None = None, listener: socket.socket | None = None) -> None:
        options = options or ServerOptions()
        config, self.storage = build(options)  # first: a storage that fails to open leaves no socket bound
        super().__init__(options, listener)
        self._server = _PromptServer(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True, name="reference-server"
        )

    def start(self, timeout: float = 10.0) -> Self:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the reference server did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.request_stop()
        self._thread.join(timeout=10)
        self._socket.close()
        self.storage.close()


class ServerProcess(_Listening):
    """The reference server in a child process, for a run's embedded target: its own interpreter and lock, so
    serving does not take turns with the suite on one core (the default gate: 6.9 -> 5 s on two cores).
    A plain subprocess, not multiprocessing: that would import the caller's main module again in the child.
    The options travel pickled on its stdin and the listening socket as an inherited descriptor; the child
    ignores Ctrl-C, which the run handles, and stops when its stdin closes (also when the parent has gone)."""

    def __init__(self, options: ServerOptions | None = None) -> None:
        super().__init__(options)
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> Self:
        return self.launch().ready(timeout)

    def launch(self) -> Self:
        """Start the child and return at once: what the caller does until `ready` overlaps the child's start."""
        package_root = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
        descriptor = self._socket.fileno()
        child = "from conformance.reference.server import serve_child; serve_child()"
        self._process = process = subprocess.Popen(
            [sys.executable, "-c", child, str(descriptor)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            pass_fds=(descriptor,),
            env={**os.environ, "PYTHONPATH": path},
        )
        assert process.stdin is not None
        try:
            process.stdin.write(pickle.dumps(self.options))
            process.stdin.flush()
        except OSError:
            pass  # it died at once: `ready` says so
        return self

    def ready(self, timeout: float = 60.0) -> Self:
        """Wait until the launched child serves; a child that cannot start is stopped, and its reason raised."""
        process = self._process
        assert process is not None and process.stdout is not None, "launch() first"
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        answer = process.stdout.readline().decode(errors="replace").strip() if ready else f"silent for {timeout:g} s"
        if answer != "ready":
            self.stop()
            reason = answer or f"it exited with status {process.returncode}"
            raise RuntimeError(f"the reference server did not start on {self.url}: {reason}")
        return self

    def stop(self) -> None:
        process = self._process
        if process is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()  # type: ignore[union-attr]
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()  # type: ignore[union-attr]
        self._socket.close()


def serve_child() -> None:
    """The child of a ServerProcess: serve on the inherited socket until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    listener = socket.socket(fileno=int(sys.argv[1]))
    try:
        server = RunningServer(pickle.load(sys.stdin.buffer), listener).start()
    except Exception as exc:  # noqa: BLE001 - the parent reports it
        print(f"{type(exc).__name__}: {exc}".replace("\n", " "), flush=True)
        return
    print("ready", flush=True)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # nobody reads the pipe from now on: it must not fill up
    sys.stdin.buffer.read()
    server.stop()  # the database closed: what is left of the exit is the interpreter's teardown (0.15 s), skipped
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def serve_forever(options: ServerOptions) -> None:
    """Serve until Ctrl-C or SIGTERM; both stop quietly, with the database closed."""
    config, storage = build(options)
    listener = listening_socket(options.host, options.port)
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        uvicorn.Server(config).run(sockets=[listener])
    except (KeyboardInterrupt, SystemExit):
        pass  # uvicorn has already shut down gracefully and re-raised the signal
    finally:
        signal.signal(signal.SIGTERM, previous)
        listener.close()
        storage.close()


def keys_or_default(keys: Iterable[str] | None) -> tuple[str, ...]:
    return tuple(keys) if keys else DEFAULT_KEYS
