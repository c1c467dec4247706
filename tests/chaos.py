"""A chaos target: a loopback HTTP server whose every answer is drawn by Hypothesis from hostile shapes.

A draw is a `Behaviour`: a short script of `Answer`s, the n-th request getting the n-th answer (round
robin). An answer is any status; a body that is JSON of the wrong shape, JSON nested thousands deep or
bytes that are no JSON; ids and page URLs from 0 bytes to several MB, with control characters, `../`,
`%2F`, `?#`, spaces and rich markup; absolute URLs on other hosts and schemes; odd `Retry-After`,
`Location`, `Request-Id`, `Content-Type`, `Content-Length` and `Content-Encoding`; truncated bodies,
slow or dripped headers, dropped connections; the request's own API key echoed back.

Strings that refer to the run are placeholders filled when an answer is sent: `{other}` is a second
listener on another loopback address, `{near}` one on the target's address but another port (both
`Sentinel`s, which must never see a connection), `{key}` the Authorization the request carried.
Long strings are `Big`, so that a falsifying example prints in a few lines, not megabytes.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import socketserver
import threading
import time
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

SLOW = 0.8  # seconds before an answer starts: longer than the runs' --timeout
DRIP_SECONDS, DRIP_PIECES = 4.0, 40  # a head sent in pieces over this long, each well within --timeout
MAX_BIG = 6 * 2**20

# Pieces of hostile strings; `{other}`, `{near}` and `{key}` are placeholders (module docstring).
FRAGMENTS = (
    "",
    "a",
    "acct_1",
    "../",
    "..",
    ".",
    "/",
    "%2F",
    "%2e%2e",
    "%",
    "%00",
    "?",
    "#",
    "?#",
    " ",
    "\t",
    "\x00",
    "\r\n",
    "\n",
    "\x1b[2J",
    "\x1b]0;title\x07",
    "\\",
    "@",
    ":",
    "[/]",
    "[bold]",
    "[/bold]",
    "[link=http://{other}/]x[/link]",
    "<script>",
    "]]>",
    "\u202e",
    "\ud800",
    "\U0001f600",
    "é",
    "\x7f",
    "\x85",
    "\u2028",
    "{other}",
    "//{other}/",
    "http://{other}/",
    "{key}",
    "sk_test_",
    "%s%n",
)
URLS = (
    "/v2/core/accounts/acct_1/persons?page=p2",
    "/v2/core/accounts/acct_1/persons?limit=2&page=",
    "http://{other}/v2/core/accounts/acct_1/persons",
    "https://{other}/v2/core/accounts/acct_1/persons",
    "//{other}/v2/core/accounts/acct_1/persons",
    "http://{near}/v2/core/accounts/acct_1/persons",
    "http://127.0.0.1@{other}/v2/",
    "http:/{other}/v2/",
    "/\\{other}/v2/",
    "ftp://{other}/",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "/v2/../../v1/tokens",
    "/v2/core/accounts/acct_1/persons#frag",
    "/v2/%2e%2e/%2e%2e/",
    "http://{other}:0/",
    "http://[::1]:1/",
    "/v2/core/accounts/acct_1/persons?page={key}",
)
STATUSES = (200, 200, 200, 201, 204, 301, 302, 303, 307, 308, 400, 401, 402, 404, 409, 413, 415, 429, 500, 502, 503)
RETRY_AFTER = (
    "99999999999",
    "-5",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "1e309",
    "Wed, 21 Oct 2015 07:28:00 GMT",
    "",
    "abc",
    "0.01",
    "1",
    "0x10",
    "1_0",
)
CONTENT_TYPES = (
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=utf-16",
    "text/html",
    "text/plain",
    "application/problem+json",
    "multipart/form-data; boundary=x",
    "",
    "\x00",
    "application/json\r\nX-Injected: 1",
)
LENGTHS = ("absent", "short", "long", "negative", "garbage", "twice", "chunked", "bad-chunks")
DELIVERIES = ("slow", "drip", "truncated", "drop", "bytes-then-drop")


@dataclass(frozen=True)
class Big:
    """`text` repeated to `size` characters."""

    text: str
    size: int

    def render(self) -> str:
        unit = self.text or "a"
        return (unit * (self.size // len(unit) + 1))[: self.size]


@dataclass(frozen=True)
class Deep:
    """JSON nested `depth` levels: arrays, or objects."""

    depth: int
    objects: bool

    def render(self) -> bytes:
        if self.objects:
            return b'{"id":' * self.depth + b'"x"' + b"}" * self.depth
        return b"[" * self.depth + b"]" * self.depth


@dataclass(frozen=True)
class Raw:
    """Bytes that are (usually) no JSON."""

    data: bytes


@dataclass(frozen=True)
class Json:
    """A JSON value whose strings may be `Big` or hold placeholders; `ascii` escapes non-ASCII (lone surrogates too)."""

    value: Any
    ascii: bool


@dataclass(frozen=True)
class Answer:
    """One answer; the defaults are a well-formed 200 with an empty JSON object (regression tests name what differs)."""

    status: int = 200
    reason: str = "OK"
    body: Json | Deep | Raw = Json({}, ascii=False)
    content_type: str | None = "application/json"
    length: str = "exact"  # or one of LENGTHS
    headers: tuple[tuple[str, str | Big], ...] = ()
    delivery: str = "now"  # or one of DELIVERIES
    keep_alive: bool = True


@dataclass(frozen=True)
class Behaviour:
    answers: tuple[Answer, ...]


# ------------------------------------------------------------------------------------ strategies


def _text() -> st.SearchStrategy[str | Big]:
    joined = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=4), max_size=8).map("".join)
    big = st.builds(Big, st.sampled_from(FRAGMENTS), st.integers(256, MAX_BIG))
    return joined | big


def _ids() -> st.SearchStrategy[Any]:
    odd = (
        _text()
        | st.integers()
        | st.none()
        | st.lists(st.integers(), max_size=2)
        | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
    )
    return st.sampled_from(("acct_chaos_1", "person_chaos_1", "perstok_chaos_1", "tok_chaos_1")).flatmap(
        lambda plausible: _sometimes(plausible, odd)
    )


def _urls() -> st.SearchStrategy[Any]:
    return (
        st.none()
        | st.sampled_from(URLS)
        | _text()
        | st.tuples(st.sampled_from(URLS), _text()).map(
            lambda pair: Big(pair[0] + "x", 3 * 2**20) if isinstance(pair[1], Big) else pair[0] + pair[1]
        )
    )


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)


def _json() -> st.SearchStrategy[Any]:
    leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text()
    return st.recursive(leaves, _containers, max_leaves=8)


def _object() -> st.SearchStrategy[dict[str, Any]]:
    """An object shaped enough like the API's that the run goes on to use what it holds."""
    person = st.fixed_dictionaries(
        {"id": _ids()}, optional={"object": st.just("v2.core.account_person"), "given_name": _text()}
    )
    return st.fixed_dictionaries(
        {"id": _ids()},
        optional={
            "object": st.sampled_from(
                ("v2.core.account", "v2.core.account_person", "v2.core.account_person_token", "token", "list")
            )
            | _text(),
            "data": st.lists(person, max_size=3) | _json(),
            "next_page_url": _urls(),
            "previous_page_url": _urls(),
            "used": st.booleans() | _json(),
            "livemode": st.booleans() | _json(),
            "deleted": st.booleans() | _json(),
            "created": st.just("2026-01-01T00:00:00.000Z") | _json(),
            "expires_at": st.just("2026-01-01T00:10:00.000Z") | _json(),
            "type": st.just("person") | _json(),
            "given_name": _text(),
            "metadata": _json(),
            "echo": st.just("{key}"),
            "error": st.fixed_dictionaries(
                {"code": _text(), "message": _text()}, optional={"type": _text(), "age_limit": _json()}
            )
            | _json(),
        },
    )


def _body() -> st.SearchStrategy[Json | Deep | Raw]:
    raw = st.binary(max_size=64) | st.sampled_from(
        (b"<html>[/]</html>", b"\x1b[31mred", b'\xff\xfe{"id": 1}', b'{"id": "a"', b"null", b"{key}")
    )
    return (
        st.builds(Json, _object(), st.booleans())
        | st.builds(Json, _json(), st.booleans())
        | st.builds(Deep, st.integers(1, 100_000), st.booleans())
        | st.builds(Raw, raw)
    )


def _headers() -> st.SearchStrategy[tuple[tuple[str, str | Big], ...]]:
    header = st.one_of(
        st.tuples(st.just("Retry-After"), st.sampled_from(RETRY_AFTER)),
        st.tuples(
            st.sampled_from(("Location", "Content-Location", "Link")), _urls().filter(lambda url: url is not None)
        ),
        st.tuples(st.sampled_from(("Request-Id", "Set-Cookie", "X-Echo")), _text()),
        st.tuples(st.just("Content-Encoding"), st.sampled_from(("gzip", "br", "deflate", "identity", "x-unknown"))),
        st.tuples(st.just("Connection"), st.sampled_from(("close", "keep-alive", "upgrade"))),
        st.tuples(st.just("Transfer-Encoding"), st.sampled_from(("identity", "gzip"))),
    )
    return st.lists(header, max_size=4).map(tuple)


def _sometimes(usual: Any, hostile: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`usual` three times in four: most answers are hostile in one or two ways, so that runs go on to use them."""
    return st.sampled_from((False, False, False, True)).flatmap(lambda odd: hostile if odd else st.just(usual))


def answers() -> st.SearchStrategy[Answer]:
    plausible = st.builds(Json, _object(), st.booleans())
    return st.builds(
        Answer,
        status=_sometimes(200, st.sampled_from(STATUSES) | st.integers(100, 599)),
        reason=_sometimes("OK", _text().filter(lambda text: isinstance(text, str))),
        body=st.sampled_from((True, True, False)).flatmap(lambda usual: plausible if usual else _body()),
        content_type=_sometimes("application/json", st.none() | st.sampled_from(CONTENT_TYPES)),
        length=_sometimes("exact", st.sampled_from(LENGTHS)),
        headers=_sometimes((), _headers()),
        delivery=_sometimes("now", st.sampled_from(DELIVERIES)),
        keep_alive=st.booleans(),
    )


def behaviours() -> st.SearchStrategy[Behaviour]:
    return st.lists(answers(), min_size=1, max_size=6).map(lambda listed: Behaviour(tuple(listed)))


# -------------------------------------------------------------------------------------- rendering


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]


def _fill(text: str | Big, places: dict[str, str]) -> str:
    value = text.render() if isinstance(text, Big) else text
    for name, replacement in places.items():
        value = value.replace("{" + name + "}", replacement)
    return value


def _fill_json(value: Any, places: dict[str, str]) -> Any:
    if isinstance(value, (str, Big)):
        return _fill(value, places)
    if isinstance(value, dict):
        return {_fill(key, places): _fill_json(item, places) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill_json(item, places) for item in value]
    return value


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def body_bytes(body: Json | Deep | Raw, places: dict[str, str]) -> bytes:
    if isinstance(body, Deep):
        return body.render()
    if isinstance(body, Raw):
        return body.data.replace(b"{key}", places["key"].encode("latin-1", "replace"))
    return _bytes(json.dumps(_fill_json(body.value, places), ensure_ascii=body.ascii))


def render(answer: Answer, places: dict[str, str]) -> tuple[bytes, bytes, bool]:
    """The head and the body to send, and whether the connection must close after them."""
    body = body_bytes(answer.body, places)
    lines = [f"HTTP/1.1 {answer.status} {_fill(answer.reason, places)}"]
    if answer.content_type is not None:
        lines.append(f"Content-Type: {answer.content_type}")
    lines += [f"{name}: {_fill(value, places)}" for name, value in answer.headers]
    close = not answer.keep_alive
    if answer.length == "exact":
        lines.append(f"Content-Length: {len(body)}")
    elif answer.length == "absent":
        close = True  # the body ends where the connection does
    elif answer.length == "short":
        lines.append(f"Content-Length: {len(body) // 2}")
    elif answer.length == "long":
        lines.append(f"Content-Length: {len(body) + 100}")
        close = True
    elif answer.length in ("negative", "garbage"):
        lines.append("Content-Length: " + ("-1" if answer.length == "negative" else "ten"))
    elif answer.length == "twice":
        lines += [f"Content-Length: {len(body)}", f"Content-Length: {len(body) + 1}"]
    elif answer.length == "chunked":
        lines.append("Transfer-Encoding: chunked")
        body = (f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n") if body else b"0\r\n\r\n"
    else:  # bad-chunks
        lines.append("Transfer-Encoding: chunked")
        body = b"zz\r\n" + body
        close = True
    if close:
        lines.append("Connection: close")
    return _bytes("\r\n".join(lines) + "\r\n\r\n"), body, close


def deliver(connection: socket.socket, answer: Answer, head: bytes, body: bytes) -> bool:
    """Send an answer the way it says; whether the connection is still usable afterwards."""
    if answer.delivery == "drop":
        return False
    if answer.delivery == "bytes-then-drop":
        connection.sendall(head[: len(head) // 2])
        return False
    if answer.delivery == "slow":
        time.sleep(SLOW)
    if answer.delivery == "drip":
        piece = max(1, len(head) // DRIP_PIECES)
        for start in range(0, len(head), piece):
            connection.sendall(head[start : start + piece])
            time.sleep(DRIP_SECONDS / DRIP_PIECES)
        connection.sendall(body)
        return True
    if answer.delivery == "truncated":
        connection.sendall(head + body[: len(body) // 2])
        return False
    connection.sendall(head + body)
    return True


# ---------------------------------------------------------------------------------------- servers


def _read_request(connection: socket.socket) -> Request | None:
    connection.settimeout(10)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {
            name.strip().lower(): value.strip() for name, _, value in (item.partition(":") for item in header_lines)
        }
        length = int(headers.get("content-length") or 0)
        while len(rest) < length:
            chunk = connection.recv(65536)
            if not chunk:
                return None
            rest += chunk
    except OSError:
        return None
    method, target, *_ = line.split(" ") + ["", ""]
    return Request(method, target, headers)


class _Listener:
    """A threaded TCP server on loopback that hands each connection to `handle`."""

    def __init__(self, host: str) -> None:
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outer.handle(self.request, self.client_address)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self.address = f"{host}:{self._server.server_address[1]}"

    def handle(self, connection: socket.socket, peer: tuple[str, int]) -> None:
        raise NotImplementedError

    def __enter__(self) -> _Listener:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class Sentinel(_Listener):
    """A listener that must never be reached: it records every connection and answers nothing."""

    def __init__(self, host: str) -> None:
        super().__init__(host)
        self.connections: list[tuple[str, int]] = []

    def handle(self, connection: socket.socket, peer: tuple[str, int]) -> None:
        self.connections.append(peer)


class ChaosServer(_Listener):
    """The chaos target. `play` sets the behaviour of the next run; `requests` records what arrived."""

    def __init__(self, other: str, near: str) -> None:
        super().__init__("127.0.0.1")
        self.other, self.near = other, near
        self.behaviour: Behaviour | None = None
        self.requests: list[Request] = []
        self.errors: list[str] = []  # the server's own failures, which would make a draw meaningless
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def play(self, behaviour: Behaviour) -> None:
        with self._lock:
            self.behaviour, self.requests = behaviour, []

    def handle(self, connection: socket.socket, peer: tuple[str, int]) -> None:
        while (request := _read_request(connection)) is not None:
            with self._lock:
                behaviour, number = self.behaviour, len(self.requests)
                self.requests.append(request)
            if behaviour is None:
                return
            answer = behaviour.answers[number % len(behaviour.answers)]
            if request.target.endswith("/conformance_reachability/persons") and answer.status == 401:
                # 401 to the first request is the documented usage error (exit 2), outside this property.
                answer = dataclasses.replace(answer, status=403)
            places = {"other": self.other, "near": self.near, "key": request.headers.get("authorization", "")}
            try:
                head, body, close = render(answer, places)
                usable = deliver(connection, answer, head, body)
            except OSError:
                return  # the client gave up first (its deadline): nothing to report
            except Exception as exc:  # noqa: BLE001 - a bug of this server, reported by the test
                self.errors.append(f"{type(exc).__name__}: {exc}")
                return
            if close or not usable:
                return
