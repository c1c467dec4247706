"""HTTP client of the suite: every request and response is kept as an Exchange, with keys redacted."""

from __future__ import annotations

import json
import re
import secrets
import shlex
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

KEY_PATTERN = re.compile(r"\b((?:sk|pk|rk)_(?:test|live)_)[A-Za-z0-9_]+")
SECRET_HEADERS = {"cookie", "set-cookie"}
MAX_RATE_LIMIT_RETRIES = 3
MAX_RESPONSE_BYTES = 32 * 2**20
MAX_SHOWN_BODY = 64 * 1024  # what a report keeps of a body


class ResponseTooSlow(Exception):
    """The whole response did not arrive within the timeout."""


class ResponseTooLarge(Exception):
    """The response body is larger than the suite reads."""
MAX_RETRY_AFTER = 10.0


def _retry_after(exchange: Exchange) -> float | None:
    """Seconds to wait before sending a rate-limited request again, or None when it was not rate limited."""
    if exchange.status != 429:
        return None
    value = exchange.response_headers.get("retry-after", "1")
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return 1.0


def redact(text: str) -> str:
    """Replace every API key in a text by its prefix and a mask."""
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


def _shown(body: str | None) -> str | None:
    if body is None or len(body) <= MAX_SHOWN_BODY:
        return body
    return body[:MAX_SHOWN_BODY] + f"\n[... {len(body) - MAX_SHOWN_BODY} more characters not kept]"


def _shown_header(name: str, value: str) -> str:
    """A request header as reports show it: keys keep only their kind (`Bearer sk_test_***`)."""
    shown = redact(value)
    if name.lower() in SECRET_HEADERS or (name.lower() == "authorization" and shown == value):
        return "[redacted]"
    return shown


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

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.response_text)
        except ValueError:
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
            "method": self.method, "url": self.url, "request_headers": self.request_headers, "request_body": _shown(self.request_body),
            "status": self.status, "response_headers": self.response_headers, "response_body": _shown(self.response_text),
            "error": self.error, "elapsed": round(self.elapsed, 4), "operation_id": self.operation_id, "curl": self.curl(),
        }


class ApiClient:
    """Sends v1 (form) and v2 (JSON) requests to one target and records every Exchange."""

    def __init__(self, base_url: str, api_key: str, *, stripe_version: str, timeout: float = 30.0, pace: float = 0.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.stripe_version = stripe_version
        self.pace = pace
        self.timeout = timeout
        self.exchanges: list[Exchange] = []
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, follow_redirects=False)
        self._last = 0.0

    def close(self) -> None:
        self._http.close()

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
        retry_rate_limited: bool = True,
    ) -> Exchange:
        sent = {"Stripe-Version": self.stripe_version} if path.startswith("/v2/") else {}
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
            sent["Content-Type"] = "application/json" if path.startswith("/v2/") else "application/x-www-form-urlencoded"
        sent.update(headers or {})
        exchange = Exchange(
            method=method, url=self.base_url + path, operation_id=operation_id,
            request_headers={name: _shown_header(name, value) for name, value in sent.items()},
            request_body=redact(content.decode("utf-8", "replace")) if content is not None else None,
        )
        for attempt in range(MAX_RATE_LIMIT_RETRIES + 1):
            self._wait_for_pace()
            started = time.monotonic()
            try:
                self._receive(exchange, method, path, content, sent)
            except (httpx.HTTPError, ResponseTooSlow, ResponseTooLarge) as exc:
                exchange.error = redact(f"{type(exc).__name__}: {exc}")
            exchange.elapsed = time.monotonic() - started
            delay = _retry_after(exchange)
            if not (retry_rate_limited and delay is not None and attempt < MAX_RATE_LIMIT_RETRIES):
                break
            time.sleep(delay)  # a sandbox's rate limit is not a finding: honour Retry-After and send again
        self.exchanges.append(exchange)
        return exchange

    def _receive(self, exchange: Exchange, method: str, path: str, content: bytes | None, headers: dict[str, str]) -> None:
        """Read the response within one overall deadline and a size cap: a server that drips bytes or
        sends without end gets a classified error, not a hung run."""
        deadline = time.monotonic() + self.timeout
        exchange.status = None  # set only once the whole response has arrived
        with self._http.stream(method, path, content=content, headers=headers) as response:
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_RESPONSE_BYTES:
                    raise ResponseTooLarge(f"the response body exceeds {MAX_RESPONSE_BYTES // 2**20} MiB")
                if time.monotonic() > deadline:
                    raise ResponseTooSlow(f"the response took longer than {self.timeout:g} s")
            exchange.response_headers = {name: redact(value) for name, value in response.headers.items()}
            exchange.response_text = redact(bytes(body).decode("utf-8", "replace"))
            exchange.status = response.status_code

    def _wait_for_pace(self) -> None:
        if self.pace > 0:
            delay = self._last + self.pace - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._last = time.monotonic()
