"""uvicorn's HTTP protocol (httptools) for the reference server, with bounds on slow and numerous clients
and the API's JSON error envelope where uvicorn itself answers.

- A request uvicorn cannot parse (a bad request line, header or chunk) gets a 400 in the envelope,
  not uvicorn's text/plain, and the connection is closed.
- A request head must arrive within `head_timeout` of the connection (or of the end of the previous
  response's keep-alive wait): a client dripping its headers a byte at a time gets a 408 and is closed.
  uvicorn's own keep-alive timer is reset by every byte, so alone it bounds nothing.
- At most `max_connections` connections are held: one more gets a 503 and is closed at once.
- The body's own deadline (`body_timeout`) is the application's: ReferenceApp reads it under a timeout.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from conformance.reference.errors import ApiError

REASONS = {400: b"Bad Request", 408: b"Request Timeout", 503: b"Service Unavailable"}


@dataclass(frozen=True)
class HttpLimits:
    head_timeout: float = 10.0  # seconds for a request head to arrive
    body_timeout: float = 10.0  # seconds for a declared body to arrive, once the head has
    max_connections: int = 256  # connections held at once


def envelope(status: int, code: str, message: str) -> bytes:
    """A whole HTTP/1.1 response in the API's error envelope, closing the connection."""
    body = json.dumps(ApiError(code, message, status=status, type="invalid_request_error").body()).encode()
    head = (
        f"HTTP/1.1 {status} ".encode()
        + REASONS[status]
        + b"\r\ncontent-type: application/json\r\n"
        + f"content-length: {len(body)}\r\nrequest-id: req_{secrets.token_hex(12)}\r\n".encode()
        + b"connection: close\r\n\r\n"
    )
    return head + body


class GuardedProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, limits: HttpLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self._head_timer: asyncio.TimerHandle | None = None

    def _refuse(self, status: int, code: str, message: str) -> None:
        self._cancel_head_timer()
        if not self.transport.is_closing():
            self.transport.write(envelope(status, code, message))
            self.transport.close()

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(
                self.limits.head_timeout,
                self._refuse,
                408,
                "request_timeout",
                f"The request head did not arrive within {self.limits.head_timeout:g} s.",
            )

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._refuse(
                503,
                "too_many_connections",
                f"The server holds at most {self.limits.max_connections} connections; try again later.",
            )
            return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self._cancel_head_timer()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, "invalid_request", f"{msg} The request is not valid HTTP/1.1.")
