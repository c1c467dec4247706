"""Deliberately hostile HTTP servers on loopback, for the suite's robustness tests."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable

Behaviour = Callable[[socket.socket], None]


def _read_request(connection: socket.socket) -> None:
    connection.settimeout(5)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                return
            data += chunk
    except OSError:
        return


def _answer(status: str, body: bytes, content_type: str = "application/json", extra: str = "") -> Behaviour:
    def behaviour(connection: socket.socket) -> None:
        head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
        connection.sendall(head.encode() + body)

    return behaviour


def _silent(connection: socket.socket) -> None:
    time.sleep(30)


def _close_mid_response(connection: socket.socket) -> None:
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Len")


def _wrong_length(connection: socket.socket) -> None:
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"id\": ")


def _drip(connection: socket.socket) -> None:
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
    for _ in range(100):
        connection.sendall(b" ")
        time.sleep(0.3)


def _huge(connection: socket.socket) -> None:
    size = 20 * 2**20
    connection.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n".encode())
    chunk = b" " * 65536
    for _ in range(size // len(chunk)):
        connection.sendall(chunk)


BEHAVIOURS: dict[str, Behaviour] = {
    "never answers": _silent,
    "closes mid-response": _close_mid_response,
    "wrong content-length": _wrong_length,
    "drips bytes": _drip,
    "20 MB body": _huge,
    "non-JSON": _answer("200 OK", b"<html>hello</html>", "text/html"),
    "invalid UTF-8": _answer("200 OK", b"\xff\xfe{\"id\": \"\xc3\x28\"}"),
    "redirect loop": _answer("302 Found", b"", extra="Location: /v2/core/accounts\r\n"),
    "200 for everything": _answer("200 OK", b"{}"),
    "500 for everything": _answer("500 Internal Server Error", b"{\"error\": {\"message\": \"boom\"}}"),
}


class HostileServer:
    """`with HostileServer("non-JSON") as url: ...`: answers every request the same hostile way."""

    def __init__(self, behaviour: str) -> None:
        act = BEHAVIOURS[behaviour]

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                try:
                    while True:
                        _read_request(self.request)
                        act(self.request)
                        if behaviour in ("closes mid-response", "wrong content-length", "never answers", "drips bytes"):
                            return
                except OSError:
                    return

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> str:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.url

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def closed_port() -> int:
    """A loopback port with nothing listening."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
