"""exchanges.har: every request of a run as HAR 1.2, loadable in a browser's network panel.

Keys are masked where exchanges are recorded (the client), personal data too under --redact-pii, and the written
text passes the key redaction once more. Bodies are kept as results.json keeps them (64 KiB, then a note): a
target's 20 MB answers made a HAR of 440 MB. A request the suite refused to send, or one that got no response, has
status 0 and its reason in `_error`, as browsers record a failed request. Each result's exchanges in results.json
name their entry (`har_entry`, its position here).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from conformance import __version__
from conformance.engine.client import Exchange, kept, redact
from conformance.engine.results import RunResult


def har(run: RunResult) -> dict[str, Any]:
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "conformance", "version": __version__},
            "comment": f"{run.command} (seed {run.seed}), started {run.started}",
            "entries": [_entry(exchange) for exchange in run.exchanges],
        }
    }


def write_har(run: RunResult, path: Path) -> None:
    # Lone surrogates (a target's \ud800, parsed) are written as their escapes, as in results.json.
    text = redact(json.dumps(har(run), ensure_ascii=False, separators=(",", ":")))  # C encoder: a third of the time
    path.write_text(text, encoding="utf-8", errors="backslashreplace")


def _entry(exchange: Exchange) -> dict[str, Any]:
    milliseconds = round(exchange.elapsed * 1000, 3)
    entry: dict[str, Any] = {
        "startedDateTime": datetime.fromtimestamp(exchange.started, UTC).isoformat(timespec="milliseconds"),
        "time": milliseconds,
        "request": _request(exchange),
        "response": _response(exchange),
        "cache": {},
        "timings": {"send": 0, "wait": milliseconds, "receive": 0},
    }
    if exchange.operation_id:
        entry["comment"] = exchange.operation_id
    if exchange.status is None:
        entry["_error"] = exchange.error or "no response"
    return entry


def _request(exchange: Exchange) -> dict[str, Any]:
    request: dict[str, Any] = {
        "method": exchange.method,
        "url": exchange.url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _headers(exchange.request_headers),
        "queryString": [{"name": name, "value": value} for name, value in parse_qsl(urlsplit(exchange.url).query)],
        "headersSize": -1,
        "bodySize": len((exchange.request_body or "").encode("utf-8", "replace")),
    }
    if exchange.request_body is not None:
        mime = exchange.request_headers.get("Content-Type", "application/octet-stream")
        request["postData"] = {"mimeType": mime, "text": kept(exchange.request_body)}
    return request


def _response(exchange: Exchange) -> dict[str, Any]:
    status = exchange.status or 0
    text = exchange.response_text
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    return {
        "status": status,
        "statusText": reason,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _headers(exchange.response_headers),
        "content": {
            "size": len(text.encode("utf-8", "replace")),  # as received; the text is kept as results.json keeps it
            "mimeType": exchange.response_headers.get("content-type", ""),
            "text": kept(text),
        },
        "redirectURL": exchange.response_headers.get("location", ""),
        "headersSize": -1,
        "bodySize": -1,
    }


def _headers(headers: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in headers.items()]
