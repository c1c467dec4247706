"""HTTP client of the suite: every request and response is kept as an Exchange, with keys redacted."""

from __future__ import annotations

import functools
import itertools
import json
import re
import secrets
import shlex
import ssl
import time
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import quote, urlencode

import httpcore
import httpx

from conformance.engine.options import TIMEOUT_SECONDS
from conformance.engine.untrusted import Untrusted, request_target, retry_after, same_origin, shown

KEY_PATTERN = re.compile(r"\b((?:sk|pk|rk)_(?:test|live)_)[A-Za-z0-9_]+")
SECRET_HEADERS = {"cookie", "set-cookie"}
MAX_RATE_LIMIT_RETRIES = 3
MAX_RETRY_AFTER = 10.0
MAX_RESPONSE_BYTES = 32 * 2**20
MAX_SHOWN_BODY = 64 * 1024  # what a report keeps of a body


class ResponseTooLarge(Exception):
    """The response body is larger than the suite reads."""


def redact(text: str) -> str:
    """Replace every API key in a text by its prefix and a mask."""
    # Every key has one of these; a substring test costs far less than the pattern on a body of megabytes.
    if "_test_" not in text and "_live_" not in text:
        return text
    return KEY_PATTERN.sub(lambda match: match.group(1) + "***", text)


def form_encode(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Bracket notation, as Stripe's v1 API reads it: {"person": {"dob": {"day": 1}}} -> person[dob][day]=1."""
    if isinstance(value, dict):
        pairs = []
        for key, item in value.items():
            pairs.extend(form_encode(item, f"{prefix}[{key}]" if prefix else str(key)))
        return pairs
    if isinstance(value, list):
        return [pair for index, item in enumerate(value) for pair in form_encode(item, f"{prefix}[{index}]")]
    if isinstance(value, bool):
        return [(prefix, "true" if value else "false")]
    return [(prefix, "" if value is None else str(value))]


def kept(body: str | None) -> str | None:
    """A body as the outputs keep it: at most MAX_SHOWN_BODY characters, and a note of how much more there was."""
    if body is None or len(body) <= MAX_SHOWN_BODY:
        return body
    return body[:MAX_SHOWN_BODY] + f"\n[... {len(body) - MAX_SHOWN_BODY} more characters not kept]"


def _shown_header(name: str, value: str) -> str:
    """A request header as reports show it: keys keep only their kind (`Bearer sk_test_***`)."""
    shown = redact(value)
    if name.lower() in SECRET_HEADERS or (name.lower() == "authorization" and shown == value):
        return "[redacted]"
    return shown


_NUMBERS = itertools.count(1)


@dataclass
class Exchange:
    """One request and its response (or the transport error), as a report shows it."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str | None
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_text: str = ""
    error: str | None = None
    elapsed: float = 0.0
    operation_id: str | None = None
    problems: list[str] | None = field(default=None, repr=False)  # set once by the ResponseValidator
    started: float = field(default_factory=time.time)  # wall clock when (the last attempt of) the request was sent
    number: int = field(default_factory=lambda: next(_NUMBERS))  # names it in the run's HAR, whatever copies it

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.response_text)
        except (ValueError, RecursionError):  # RecursionError: a target's body nested thousands deep
            return None

    @property
    def error_code(self) -> str | None:
        body = self.json
        error = body.get("error") if isinstance(body, dict) else None
        return error.get("code") if isinstance(error, dict) else None

    def curl(self) -> str:
        parts = ["curl", "-X", self.method, shlex.quote(self.url)]
        for name, value in self.request_headers.items():
            parts += ["-H", shlex.quote(f"{name}: {value}")]
        if self.request_body is not None:
            parts += ["--data-raw", shlex.quote(self.request_body)]
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "url": self.url,
            "request_headers": self.request_headers,
            "request_body": kept(self.request_body),
            "status": self.status,
            "response_headers": self.response_headers,
            "response_body": kept(self.response_text),
            "error": self.error,
            "elapsed": round(self.elapsed, 4),
            "operation_id": self.operation_id,
            "curl": self.curl(),
        }


class _Deadline:
    """The overall deadline of the request in flight on one client: its sockets wait no longer.

    httpx's timeouts bound each read, not the response: a server that drips its headers a byte a
    second would otherwise hold a request for hours."""

    def __init__(self) -> None:
        self.at: float | None = None

    def cap(self, timeout: float | None, expired: type[Exception]) -> float | None:
        if self.at is None:
            return timeout
        remaining = self.at - time.monotonic()
        if remaining <= 0:
            raise expired("the response did not arrive within the timeout")
        return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._stream, self._deadline = stream, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.cap(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.cap(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        upgraded = self._stream.start_tls(
            ssl_context, server_hostname, self._deadline.cap(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(upgraded, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, deadline: _Deadline) -> None:
        self._backend, self._deadline = httpcore.SyncBackend(), deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host, port, self._deadline.cap(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process, shared by every client (safe across threads): building one
    loads the CA bundle, about 20 ms, which was a third of the default gate's time when each client did."""
    return httpx.create_ssl_context()


def _transport(deadline: _Deadline) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport(verify=_tls_context())
    # httpx builds its connection pool itself and offers no way to give it a network backend: the same
    # pool (httpx's default limits), on sockets that keep the deadline.
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=_tls_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_DeadlineBackend(deadline),
    )
    return transport


def _printable_target(target: str) -> str:
    """A refused request target as an exchange records it: short, and a valid URL path whatever it held."""
    return quote(target[:200], safe="/?&=%:;,+@-._~!$'()*", errors="replace") + ("..." if len(target) > 200 else "")


class ApiClient:
    """Sends v1 (form) and v2 (JSON) requests to one target and records every Exchange.

    Requests go to the target's origin only: each path passes `untrusted.request_target` and the
    URL built from it must have the target's scheme, host and port; redirects are not followed."""

    def __init__(
        self, base_url: str, api_key: str, *, stripe_version: str, timeout: float = TIMEOUT_SECONDS, pace: float = 0.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.stripe_version = stripe_version
        self.pace = pace
        self.timeout = timeout
        self.exchanges: list[Exchange] = []
        self._deadline = _Deadline()
        self._origin = httpx.URL(self.base_url)
        # No cookie is kept: the API uses none, and a target's Set-Cookie sent back would be a value from the
        # target used again (one with a non-ASCII value broke the next request).
        self._http = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            transport=_transport(self._deadline),
            cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
        )
        self._last = 0.0

    def close(self) -> None:
        self._http.close()

    def refuse(self, method: str, target: str, reason: str, operation_id: str | None = None) -> Exchange:
        """Record a request the suite would not send (a value from the target made it unsafe)."""
        exchange = Exchange(
            method=method,
            url=self.base_url + _printable_target(target),
            request_headers={},
            request_body=None,
            operation_id=operation_id,
            error=redact(f"not sent: {reason}"),
        )
        self.exchanges.append(exchange)
        return exchange

    def _url(self, target: str) -> httpx.URL:
        url = httpx.URL(self.base_url + request_target(target))
        if not same_origin(url, self._origin):
            raise Untrusted(f"a URL that leaves the target: {shown(target)}")
        return url

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: dict[str, Any] | None = None,
        raw_body: bytes | None = None,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        idempotency_key: str | None = None,
        operation_id: str | None = None,
        authorize: bool = True,
        versioned: bool = True,  # False: a v2 request without Stripe-Version
        retry_rate_limited: bool = True,
        paced: bool = True,  # False: not held to the profile's pace (a rate-limit burst the profile asked for)
    ) -> Exchange:
        try:
            url = self._url(path)
        except (Untrusted, httpx.InvalidURL) as exc:
            return self.refuse(method, path, str(exc), operation_id)
        sent = {"Stripe-Version": self.stripe_version} if path.startswith("/v2/") and versioned else {}
        if authorize:
            sent["Authorization"] = f"Bearer {key or self.api_key}"
        if method in ("POST", "DELETE"):
            sent["Idempotency-Key"] = idempotency_key or secrets.token_hex(16)
        content: bytes | None = None
        if json_body is not None:
            content = json.dumps(json_body).encode()
            sent["Content-Type"] = "application/json"
        elif form is not None:
            content = urlencode(form_encode(form)).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        elif raw_body is not None:
            content = raw_body
            sent["Content-Type"] = (
                "application/json" if path.startswith("/v2/") else "application/x-www-form-urlencoded"
            )
        sent.update(headers or {})
        exchange = Exchange(
            method=method,
            url=self.base_url + path,
            operation_id=operation_id,
            request_headers={name: _shown_header(name, value) for name, value in sent.items()},
            request_body=redact(content.decode("utf-8", "replace")) if content is not None else None,
        )
        for attempt in range(MAX_RATE_LIMIT_RETRIES + 1):
            if paced:
                self._wait_for_pace()
            started, exchange.started = time.monotonic(), time.time()
            try:
                self._receive(exchange, method, url, content, sent)
            except (httpx.HTTPError, ResponseTooLarge) as exc:
                exchange.error = redact(f"{type(exc).__name__}: {exc}")
            exchange.elapsed = time.monotonic() - started
            if not (retry_rate_limited and exchange.status == 429 and attempt < MAX_RATE_LIMIT_RETRIES):
                break
            # A sandbox's rate limit is not a finding: honour Retry-After (within the response timeout) and send again.
            time.sleep(
                retry_after(exchange.response_headers.get("retry-after"), cap=min(MAX_RETRY_AFTER, self.timeout))
            )
        self.exchanges.append(exchange)
        return exchange

    def _receive(
        self, exchange: Exchange, method: str, url: httpx.URL, content: bytes | None, headers: dict[str, str]
    ) -> None:
        """Read the response within one overall deadline and a size cap: a server that drips bytes or
        sends without end gets a classified error, not a hung run."""
        exchange.status = None  # set only once the whole response has arrived
        self._deadline.at = time.monotonic() + self.timeout
        try:
            with self._http.stream(method, url, content=content, headers=headers) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise ResponseTooLarge(f"the response body exceeds {MAX_RESPONSE_BYTES // 2**20} MiB")
                exchange.response_headers = {name: redact(value) for name, value in response.headers.items()}
                exchange.response_text = redact(bytes(body).decode("utf-8", "replace"))
                exchange.status = response.status_code
        finally:
            self._deadline.at = None

    def _wait_for_pace(self) -> None:
        if self.pace > 0:
            delay = self._last + self.pace - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._last = time.monotonic()
