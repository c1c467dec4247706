"""Fault-injected variants ("mutants") of the reference server, to prove that the engine finds faults.

Each `Mutant` is the reference server with one small, named fault, built only through the two
hooks of `conformance.reference.server.ServerOptions`:

- `service_class`: a subclass of `conformance.reference.service.Service` overriding one method, or
  running Service's own code with one module-level name rebound (`_rebound`: used where the fault
  sits in a plain function the service calls, e.g. one domain rule or `person_view`);
- `middleware`: ASGI wrappers around the app; wire-level faults (shape, status, headers) go through
  the one JSON-rewriting helper `rewrite_json`, request-side ones (auth) through `rewrite_request`.

`expected_checks` are the check ids (`conformance.engine.plan.plan`) meant to catch the fault; the
tests run exactly those units against the mutant and expect at least one to fail. Nothing here
changes the reference server's own code or any module state: every mutant is its own server.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import hashlib
import inspect
import json
import re
import types
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import conformance.reference.service as service_module
from conformance.reference import rules
from conformance.reference.auth import DEFAULT_KEYS
from conformance.spec import load_spec
from conformance.spec.catalog import api_version
from conformance.reference.service import Service, Settings, _decode_page, _encode_page, person_view

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

PERSON = "v2.core.account_person"
PERSON_TOKEN = "v2.core.account_person_token"
SECRET_KEY = "sk_test_reference_secret"


@dataclass(frozen=True)
class Mutant:
    name: str
    description: str
    expected_checks: tuple[str, ...]
    options: dict[str, Any]  # keyword arguments of ServerOptions
    # Overrides of the engine's target fixtures and stated decisions for this mutant (e.g. a short token lifetime).
    fixtures: dict[str, Any] = field(default_factory=dict)


RUN_OPTIONS = {"rate_limit_per_second"}


def reference_target(config: Any, overrides: dict[str, Any] | None = None) -> Any:
    """`config` (for a server started by a test) with the reference server's fixtures, and its default decisions
    stated, so that a fault against them is caught; token_expired is not waited for unless `overrides` say so."""
    from conformance.reference.profile import FIXTURES as REFERENCE_FIXTURES
    from conformance.spec.decisions import decisions, defaults

    declared = decisions(load_spec())
    overrides = dict(overrides or {})
    for option in RUN_OPTIONS & set(overrides):  # what the target's profile declares beside fixtures and decisions
        setattr(config, option, overrides.pop(option))
    config.fixtures = {**REFERENCE_FIXTURES, "max_wait_seconds": 0}
    config.fixtures.update({name: value for name, value in overrides.items() if name not in declared})
    config.decisions = {**defaults(load_spec()), **{name: value for name, value in overrides.items() if name in declared}}
    return config


# ------------------------------------------------------------------------- the JSON-rewriting middleware


@dataclass(frozen=True)
class _JsonRewrite:
    """Buffers a response and rewrites it: the JSON body, the status, the headers (any of them)."""

    app: AsgiApp
    body: Callable[[Any], Any] | None
    status: int | None
    headers: Callable[[Headers], Headers] | None
    path: re.Pattern[str] | None
    method: str | None
    when_status: frozenset[int] | None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.path and not self.path.search(scope["path"])) or (self.method and scope["method"] != self.method):
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                await self._send(start, b"".join(chunks), send)

        await self.app(scope, receive, capture)

    async def _send(self, start: Message, raw: bytes, send: Send) -> None:
        status, headers = start["status"], list(start.get("headers", []))
        if self.when_status is None or status in self.when_status:
            if self.body is not None:
                try:
                    document = json.loads(raw)
                except ValueError:
                    document = None
                if document is not None:
                    raw = json.dumps(self.body(copy.deepcopy(document)), separators=(",", ":")).encode()
            if self.status is not None:
                status = self.status
            if self.headers is not None:
                headers = self.headers(headers)
        headers = [(name, value) for name, value in headers if name.lower() != b"content-length"] + [(b"content-length", str(len(raw)).encode())]
        await send({**start, "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": raw, "more_body": False})


def rewrite_json(body: Callable[[Any], Any] | None = None, *, status: int | None = None, headers: Callable[[Headers], Headers] | None = None,
                 path: str | None = None, method: str | None = None, when_status: int | tuple[int, ...] | None = None) -> Callable[[AsgiApp], AsgiApp]:
    """Middleware rewriting responses: `body` maps the parsed JSON body to the new one, `status`
    replaces the status, `headers` maps the header list. Only responses to requests whose path
    matches the regex `path` and whose method is `method`, and whose status is in `when_status`."""
    statuses = frozenset((when_status,) if isinstance(when_status, int) else when_status) if when_status is not None else None
    pattern = re.compile(path) if path else None
    return lambda app: _JsonRewrite(app, body, status, headers, pattern, method, statuses)


def rewrite_request(change: Callable[[Headers], Headers]) -> Callable[[AsgiApp], AsgiApp]:
    """Middleware rewriting the request headers before the app sees them."""
    def wrap(app: AsgiApp) -> AsgiApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                scope = {**scope, "headers": change(list(scope["headers"]))}
            await app(scope, receive, send)
        return wrapped
    return wrap


def answer_request(decide: Callable[[str, str, bytes], tuple[int, bytes] | bytes | None]) -> Callable[[AsgiApp], AsgiApp]:
    """Middleware reading the whole request body first: `decide(method, path, body)` answers instead of the app
    (a status and a JSON body), gives the body the app sees instead, or None to pass the request on."""
    def wrap(app: AsgiApp) -> AsgiApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            chunks, more = [], True
            while more:
                message = await receive()
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
            raw = b"".join(chunks)
            decided = decide(scope["method"], scope["path"], raw)
            if isinstance(decided, tuple):
                status, body = decided
                headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            sent = raw if decided is None else decided
            headers = [(name, value) for name, value in scope["headers"] if name.lower() != b"content-length"]
            scope = {**scope, "headers": [*headers, (b"content-length", str(len(sent)).encode())]}
            delivered = False

            async def replay() -> Message:
                nonlocal delivered
                if delivered:
                    return await receive()
                delivered = True
                return {"type": "http.request", "body": sent, "more_body": False}

            await app(scope, replay, send)
        return wrapped
    return wrap


API_VERSION = api_version(load_spec())


def _error_body(code: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": "mutant", "type": "invalid_request_error"}}).encode()


def _minimal_create_refused(method: str, path: str, body: bytes) -> tuple[int, bytes] | None:
    if method == "POST" and path.endswith("/persons") and body.strip() in (b"", b"{}"):
        return 400, _error_body("parameter_missing")
    return None


def _malformed_json_as_500(method: str, path: str, body: bytes) -> tuple[int, bytes] | None:
    try:
        json.loads(body or b"{}")
    except ValueError:
        return 500, _error_body("api_error")
    return None


def _unknown_enum_stored(method: str, path: str, body: bytes) -> bytes | None:
    """An enum value the spec does not allow is taken (stored as the first allowed one)."""
    if b'"political_exposure": "sometimes"' in body:
        return body.replace(b'"political_exposure": "sometimes"', b'"political_exposure": "existing"')
    return None


def _publishable_as_secret(headers: Headers) -> Headers:
    return [(name, b"Bearer sk_test_reference_secret" if value.startswith(b"Bearer pk_") else value) for name, value in headers]


def _default_stripe_version(headers: Headers) -> Headers:
    if any(name.lower() == b"stripe-version" for name, _ in headers):
        return headers
    return [*headers, (b"stripe-version", API_VERSION.encode())]


# Body rewrites: each takes the parsed body and returns it (rewritten in place; it is a copy).
def _objects(document: Any, predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """Every JSON object in the document (at any depth) the predicate accepts."""
    found, stack = [], [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if predicate(node):
                found.append(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _persons(document: Any) -> list[dict[str, Any]]:
    return _objects(document, lambda node: node.get("object") == PERSON and "created" in node)  # not the deleted object


def _on_persons(change: Callable[[dict[str, Any]], None]) -> Callable[[Any], Any]:
    def rewrite(document: Any) -> Any:
        for person in _persons(document):
            change(person)
        return document
    return rewrite


def _top(change: Callable[[dict[str, Any]], None]) -> Callable[[Any], Any]:
    """Apply `change` to the body when it is a JSON object."""
    def rewrite(document: Any) -> Any:
        if isinstance(document, dict):
            change(document)
        return document
    return rewrite


def _on_objects(object_name: str, change: Callable[[dict[str, Any]], None]) -> Callable[[Any], Any]:
    def rewrite(document: Any) -> Any:
        for node in _objects(document, lambda node: node.get("object") == object_name):
            change(node)
        return document
    return rewrite


def _on_error(change: Callable[[dict[str, Any]], None]) -> Callable[[Any], Any]:
    def rewrite(document: Any) -> Any:
        if isinstance(document, dict) and isinstance(document.get("error"), dict):
            change(document["error"])
        return document
    return rewrite


def _on_lists(change: Callable[[dict[str, Any]], None]) -> Callable[[Any], Any]:
    def rewrite(document: Any) -> Any:
        if isinstance(document, dict) and "data" in document and "next_page_url" in document:
            change(document)
        return document
    return rewrite


def _timestamps(convert: Callable[[str], Any]) -> Callable[[Any], Any]:
    def rewrite(document: Any) -> Any:
        for node in _objects(document, lambda node: node.get("object") in (PERSON, PERSON_TOKEN)):
            for name in ("created", "updated", "expires_at"):
                if isinstance(node.get(name), str):
                    node[name] = convert(node[name])
        return document
    return rewrite


def _unix_seconds(value: str) -> int:
    return int(datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


def _set(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda node: node.__setitem__(name, value)


def _drop(name: str) -> Callable[[dict[str, Any]], None]:
    return lambda node: node.pop(name, None)


def _rename_code(old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def change(error: dict[str, Any]) -> None:
        if error.get("code") == old:
            error["code"] = new
    return change


def _percent_as_number(person: dict[str, Any]) -> None:
    relationship = person.get("relationship") or {}
    if isinstance(relationship.get("percent_ownership"), str):
        relationship["percent_ownership"] = float(relationship["percent_ownership"])


def _age_limit_as_number(error: dict[str, Any]) -> None:
    if "age_limit" in error:
        error["age_limit"] = int(error["age_limit"])


def _absolute_next(listing: dict[str, Any]) -> None:
    if listing.get("next_page_url"):
        listing["next_page_url"] = "https://api.stripe.com" + listing["next_page_url"]


def _without_header(name: bytes) -> Callable[[Headers], Headers]:
    return lambda headers: [(key, value) for key, value in headers if key.lower() != name]


def _content_type(value: bytes) -> Callable[[Headers], Headers]:
    return lambda headers: [*_without_header(b"content-type")(headers), (b"content-type", value)]


def _authorization(change: Callable[[bytes | None], bytes | None]) -> Callable[[Headers], Headers]:
    def rewrite(headers: Headers) -> Headers:
        current = next((value for key, value in headers if key.lower() == b"authorization"), None)
        replaced = change(current)
        kept = [(key, value) for key, value in headers if key.lower() != b"authorization"]
        return kept + ([(b"authorization", replaced)] if replaced is not None else [])
    return rewrite


def _key_if_missing(current: bytes | None) -> bytes | None:
    return current or f"Bearer {SECRET_KEY}".encode()


def _key_if_unknown(current: bytes | None) -> bytes | None:
    if current and current.lower().startswith(b"bearer ") and current[7:].strip().decode() not in DEFAULT_KEYS:
        return f"Bearer {SECRET_KEY}".encode()
    return current


# ------------------------------------------------------------------------- service variants


class _Rules:
    """The `rules` module with some of its functions replaced (for `_rebound`)."""

    def __init__(self, **replaced: Any) -> None:
        for name, replacement in replaced.items():
            # A replacement that cannot take the original's arguments makes the server 500: a mutant caught for that
            # proves nothing about the fault it names.
            original, taken = inspect.signature(getattr(rules, name)), inspect.signature(replacement)
            if set(original.parameters) - set(taken.parameters):
                raise TypeError(f"{name}: the replacement takes {taken}, the rule {original}")
        self.__dict__.update(replaced)

    def __getattr__(self, name: str) -> Any:
        return getattr(rules, name)


def _clone(function: types.FunctionType, namespace: dict[str, Any]) -> types.FunctionType:
    clone = types.FunctionType(function.__code__, namespace, function.__name__, function.__defaults__, function.__closure__)
    clone.__kwdefaults__ = function.__kwdefaults__
    clone.__qualname__ = function.__qualname__
    return clone


def _rebound(name: str, **names: Any) -> type[Service]:
    """A Service subclass whose methods are Service's own code, run with some module-level names
    of conformance.reference.service rebound (e.g. `rules`, `person_view`): the variant differs
    from the reference in exactly those names, and no module is patched."""
    namespace = {**vars(service_module), **names}
    methods: dict[str, Any] = {}
    for attribute, value in vars(Service).items():
        function = value.__func__ if isinstance(value, staticmethod) else value
        if isinstance(function, types.FunctionType):
            clone = _clone(function, namespace)
            methods[attribute] = staticmethod(clone) if isinstance(value, staticmethod) else clone
    return type(name, (Service,), methods)


def _rules_changed(**changes: Callable[[Any], str | None] | None) -> Callable[..., None]:
    """rules.check_person_write with the rule of each named code replaced by a check (None: removed)."""
    unknown = set(changes) - {rule.code for rule in rules._RULES}
    if unknown:
        raise ValueError(f"no such rules: {sorted(unknown)}")
    table = tuple(
        dataclasses.replace(rule, check=changes[rule.code]) if rule.code in changes else rule
        for rule in rules._RULES if not (rule.code in changes and changes[rule.code] is None)
    )
    return _clone(rules.check_person_write, {**vars(rules), "_RULES": table})


def _without_rules(name: str, *codes: str) -> type[Service]:
    return _rebound(name, rules=_Rules(check_person_write=_rules_changed(**dict.fromkeys(codes))))


def _dob_without_upper_bound(write: Any) -> str | None:
    """The date_of_birth rule, but with no 'in the future' bound (calendar dates and 1900 still checked)."""
    return rules._date_of_birth(dataclasses.replace(write, settings=dataclasses.replace(write.settings, today=datetime.date.max)))


def _merge_replacing_whole(
    existing: dict[str, Any], body: dict[str, Any], settings: Any = None
) -> dict[str, Any]:
    """An update that replaces the person by the body (keeping only what the server owns)."""
    kept = {name: existing[name] for name in ("id", "account", "livemode", "created", "updated") if name in existing}
    return {**kept, **copy.deepcopy(body)}


def _merge_ignoring_null_metadata(
    existing: dict[str, Any], body: dict[str, Any], settings: Any = None
) -> dict[str, Any]:
    if isinstance(body.get("metadata"), dict):
        body = {**body, "metadata": {key: value for key, value in body["metadata"].items() if value is not None}}
    return rules.merge_person(existing, body, settings)


def _merge_appending_arrays(
    existing: dict[str, Any], body: dict[str, Any], settings: Any = None
) -> dict[str, Any]:
    merged = rules.merge_person(existing, body, settings)
    for name, value in body.items():
        if isinstance(value, list) and isinstance(existing.get(name), list):
            merged[name] = copy.deepcopy(existing[name]) + copy.deepcopy(value)
    return merged


def _view_with_id_number_values(person: dict[str, Any]) -> dict[str, Any]:
    return {**person_view(person), "id_numbers": copy.deepcopy(person.get("id_numbers", []))}


class TokenReuseAllowed(Service):
    def _consume_person_token(self, account_id: str, token_id: str) -> dict[str, Any]:
        token = self.storage.get_person_token(token_id)
        if token is not None and token["used"]:
            self.storage.put_person_token({**token, "used": False})  # the `used` flag is never checked
        return super()._consume_person_token(account_id, token_id)


class TokenCrossAccountAllowed(Service):
    def _consume_person_token(self, account_id: str, token_id: str) -> dict[str, Any]:
        token = self.storage.get_person_token(token_id)
        return super()._consume_person_token(token["account"] if token else account_id, token_id)


class TokenExpiryIgnored(Service):
    def _consume_person_token(self, account_id: str, token_id: str) -> dict[str, Any]:
        token = self.storage.get_person_token(token_id)
        if token is not None:
            self.storage.put_person_token({**token, "expires_epoch": 2.0**40})
        return super()._consume_person_token(account_id, token_id)


class TokenUsedNeverTrue(Service):
    @staticmethod
    def _token_view(token: dict[str, Any]) -> dict[str, Any]:
        return {**Service._token_view(token), "used": False}


class TokenEchoesData(Service):
    @staticmethod
    def _token_view(token: dict[str, Any]) -> dict[str, Any]:
        return {**token.get("data", {}), **Service._token_view(token)}


class V1TokenAcceptedInV2(Service):
    def _consume_person_token(self, account_id: str, token_id: str) -> dict[str, Any]:
        if token_id.startswith(("cpt_", "tok_")):
            v1 = self.storage.get_v1_token(token_id) or {}
            return {"given_name": (v1.get("data") or {}).get("first_name")} if v1 else {}
        return super()._consume_person_token(account_id, token_id)


class LiveSecretKeyCreatesTokens(Service):
    def create_person_token(self, caller: Any, account_id: str, body: dict[str, Any], client: dict[str, str | None], idempotency_key: str | None) -> Any:
        return super().create_person_token(dataclasses.replace(caller, publishable=True), account_id, body, client, idempotency_key)


class IdentityLockIgnored(Service):
    def _v2_account(self, caller: Any, operation_id: str, account_id: str) -> dict[str, Any]:
        account = super()._v2_account(caller, operation_id, account_id)
        return {key: value for key, value in account.items() if key != "identity_locked"}


class UpdatedNotMoving(Service):
    def _later_timestamp(self, previous: str) -> str:
        return previous


class CreatedChangesOnUpdate(Service):
    def update_person(self, caller: Any, account_id: str, person_id: str, body: dict[str, Any], idempotency_key: str | None) -> Any:
        status, answer = super().update_person(caller, account_id, person_id, body, idempotency_key)
        return (status, {**answer, "created": answer["updated"]}) if status == 200 else (status, answer)


class UpdateAnswersOldPerson(Service):
    def update_person(self, caller: Any, account_id: str, person_id: str, body: dict[str, Any], idempotency_key: str | None) -> Any:
        before = self.storage.get_person(account_id, person_id)
        status, answer = super().update_person(caller, account_id, person_id, body, idempotency_key)
        return (status, person_view(before)) if status == 200 and before else (status, answer)


class MetadataDroppedOnCreate(Service):
    def create_person(self, caller: Any, account_id: str, body: dict[str, Any], idempotency_key: str | None) -> Any:
        return super().create_person(caller, account_id, {key: value for key, value in body.items() if key != "metadata"}, idempotency_key)


class DeleteKeepsThePerson(Service):
    def delete_person(self, caller: Any, account_id: str, person_id: str, idempotency_key: str | None) -> Any:
        self._v2_account(caller, "delete_person", account_id)

        def run() -> Any:
            self._person(account_id, person_id)  # 404 when missing, but nothing is deleted
            return 200, {"id": person_id, "object": PERSON}

        return self.idempotent(caller, idempotency_key, ("delete_person", account_id, person_id), None, run)


class DeletedStillListed(Service):
    """Delete answers as documented and retrieve says 404, but lists keep showing the deleted person."""

    def delete_person(self, caller: Any, account_id: str, person_id: str, idempotency_key: str | None) -> Any:
        person = self.storage.get_person(account_id, person_id)
        status, answer = super().delete_person(caller, account_id, person_id, idempotency_key)
        if status == 200 and person is not None:
            self.__dict__.setdefault("ghosts", {}).setdefault(account_id, []).append(person_view(person))
        return status, answer

    def list_persons(self, caller: Any, account_id: str, limit: int | None, page: str | None, origin: str = "") -> Any:
        status, answer = super().list_persons(caller, account_id, limit, page, origin)
        if status == 200 and not page:
            answer["data"] = [*answer["data"], *self.__dict__.get("ghosts", {}).get(account_id, [])]
        return status, answer


class DeleteMissingAnswers200(Service):
    def delete_person(self, caller: Any, account_id: str, person_id: str, idempotency_key: str | None) -> Any:
        status, answer = super().delete_person(caller, account_id, person_id, idempotency_key)
        return (200, {"id": person_id, "object": PERSON}) if status == 404 else (status, answer)


class _Pages(Service):
    """Pagination variants: the rows of a page as the reference's list_persons reads them."""

    def _page(self, account_id: str, limit: int | None, page: str | None) -> tuple[int, list[tuple[int, dict[str, Any]]]]:
        cursor = _decode_page(page, account_id) if page else {}
        limit = cursor.get("limit", limit or int(self.settings.decisions["list_limit_default"]))
        with self.storage.transaction() as db:
            return limit, db.page_of_persons(account_id, limit=limit, after_seq=cursor.get("after"), before_seq=cursor.get("before"))

    @staticmethod
    def _url(account_id: str, limit: int, **position: int) -> str:
        return f"/v2/core/accounts/{account_id}/persons?page={_encode_page(account_id, limit, **position)}"


class ListDuplicatesAnItem(_Pages):
    def list_persons(self, caller: Any, account_id: str, limit: int | None, page: str | None, origin: str = "") -> Any:
        status, answer = super().list_persons(caller, account_id, limit, page, origin)
        limit, rows = self._page(account_id, limit, page)
        if answer.get("next_page_url") and len(rows) > 1:
            answer["next_page_url"] = self._url(account_id, limit, after=rows[-2][0])  # the next page starts with this page's last item
        return status, answer


class ListSkipsAnItem(_Pages):
    def list_persons(self, caller: Any, account_id: str, limit: int | None, page: str | None, origin: str = "") -> Any:
        status, answer = super().list_persons(caller, account_id, limit, page, origin)
        limit, rows = self._page(account_id, limit, page)
        if answer.get("next_page_url") and rows:
            following = self.storage.page_of_persons(account_id, limit=1, after_seq=rows[-1][0], before_seq=None)
            if following:
                answer["next_page_url"] = self._url(account_id, limit, after=following[0][0])  # the next page's first item is skipped
        return status, answer


class NextPageUrlNeverNull(_Pages):
    def list_persons(self, caller: Any, account_id: str, limit: int | None, page: str | None, origin: str = "") -> Any:
        status, answer = super().list_persons(caller, account_id, limit, page, origin)
        if status == 200 and answer.get("next_page_url") is None:
            limit, rows = self._page(account_id, limit, page)
            cursor = _decode_page(page, account_id) if page else {}
            # the last page links to the (empty) page after it, and that one to itself
            answer["next_page_url"] = self._url(account_id, limit, after=rows[-1][0] if rows else cursor.get("after", 2**62))
        return status, answer


class ListOldestFirst(_Pages):
    def list_persons(self, caller: Any, account_id: str, limit: int | None, page: str | None, origin: str = "") -> Any:
        self._v2_account(caller, "list_persons", account_id)
        cursor = _decode_page(page, account_id) if page else {}
        limit = cursor.get("limit", limit or 10)
        with self.storage.transaction() as db:
            rows = db.page_of_persons(account_id, limit=limit, after_seq=None, before_seq=cursor.get("before", 0))[::-1]
            more = bool(rows) and db.has_persons_beyond(account_id, rows[-1][0], newer=True)
        return 200, {"data": [person_view(person) for _, person in rows], "next_page_url": self._url(account_id, limit, before=rows[-1][0]) if more else None,
                     "previous_page_url": None}


class ReplayCreatesAgain(Service):
    def idempotent(self, caller: Any, key: str | None, where: tuple[str, ...], body: Any, run: Callable[[], Any]) -> Any:
        return super().idempotent(caller, None, where, body, run)


class ConflictingReplayAccepted(Service):
    def idempotent(self, caller: Any, key: str | None, where: tuple[str, ...], body: Any, run: Callable[[], Any]) -> Any:
        if key is not None:
            scope = hashlib.sha256(json.dumps([caller.key]).encode()).hexdigest()  # the service's scope: the API key
            stored = self.storage.get_idempotent(scope, key)
            if stored is not None:
                return stored[1], stored[2]  # any body replays the first answer
        return super().idempotent(caller, key, where, body, run)


class PersonReadableThroughOtherAccount(Service):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._owners: dict[str, str] = {}

    def create_person(self, caller: Any, account_id: str, body: dict[str, Any], idempotency_key: str | None) -> Any:
        status, answer = super().create_person(caller, account_id, body, idempotency_key)
        if status == 200:
            self._owners[answer["id"]] = account_id
        return status, answer

    def _person(self, account_id: str, person_id: str) -> dict[str, Any]:
        return super()._person(self._owners.get(person_id, account_id), person_id)


class PersonTokenReadableThroughOtherAccount(Service):
    def retrieve_person_token(self, caller: Any, account_id: str, token_id: str) -> Any:
        token = self.storage.get_person_token(token_id)
        return super().retrieve_person_token(caller, token["account"] if token else account_id, token_id)


def _failing_on(name: str, condition: Callable[[str], bool]) -> type[Service]:
    """A Service that crashes (500) on create/update person when given_name meets the condition."""
    def _members(self: Service, caller: Any, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
        given_name = body.get("given_name")
        if isinstance(given_name, str) and condition(given_name):
            raise RuntimeError("simulated storage failure on given_name")  # not an ApiError: the app answers 500
        return Service._members(self, caller, account_id, body)

    return type(name, (Service,), {"_members": _members})


class V1PiiTokenEchoesValue(Service):
    def create_token(self, caller: Any, body: dict[str, Any], client_ip: str | None, idempotency_key: str | None) -> Any:
        status, answer = super().create_token(caller, body, client_ip, idempotency_key)
        return (status, {**answer, "pii": body["pii"]}) if status == 200 and "pii" in body else (status, answer)


# ------------------------------------------------------------------------- the catalog


def _m(name: str, description: str, checks: tuple[str, ...], fixtures: dict[str, Any] | None = None, **options: Any) -> Mutant:
    return Mutant(name, description, checks, options, fixtures or {})


def _mw(*middleware: Callable[[AsgiApp], AsgiApp]) -> tuple[Callable[[AsgiApp], AsgiApp], ...]:
    return middleware


RETRIEVE_MATCHES = "semantics/retrieve-returns-what-was-created"
UPDATE_ONLY_SENT = "semantics/update-changes-only-what-was-sent"
LIST_ONCE = "semantics/list-returns-every-person-once"
DELETE_404 = "semantics/delete-then-not-found"
ISOLATED = "semantics/accounts-are-isolated"
SINGLE_USE = "semantics/token-is-single-use"
PII = "semantics/pii-is-never-echoed"
IDEMPOTENT = "semantics/idempotent-replays"
V1_ROUND_TRIP = "v1-tokens/person-token-round-trip"
INVALID = "semantics/invalid-requests-are-refused"


def code(operation_id: str, error_code: str) -> str:
    return f"error-code/{operation_id}/{error_code}"


def on_writes(error_code: str) -> tuple[str, ...]:
    return (code("create_person", error_code), code("update_person", error_code))


MUTANTS: tuple[Mutant, ...] = (
    # ---- response shape
    _m("person_object_renamed", "persons answer object 'v2.core.person' instead of 'v2.core.account_person'",
       (RETRIEVE_MATCHES, DELETE_404), middleware=_mw(rewrite_json(_on_persons(_set("object", "v2.core.person"))))),
    _m("person_account_dropped", "persons lack the required member 'account'",
       (RETRIEVE_MATCHES,), middleware=_mw(rewrite_json(_on_persons(_drop("account"))))),
    _m("timestamps_unix_seconds", "created/updated/expires_at as unix seconds (integers), not RFC 3339 strings",
       (RETRIEVE_MATCHES, UPDATE_ONLY_SENT), middleware=_mw(rewrite_json(_timestamps(_unix_seconds)))),
    _m("timestamps_without_milliseconds", "timestamps like 2026-01-01T00:00:00Z, without the documented milliseconds",
       (RETRIEVE_MATCHES, "semantics/token-lifetime"), middleware=_mw(rewrite_json(_timestamps(lambda value: re.sub(r"\.[0-9]+Z$", "Z", value))))),
    _m("percent_ownership_as_number", "relationship.percent_ownership as a JSON number, not a decimal string",
       (RETRIEVE_MATCHES,), middleware=_mw(rewrite_json(_on_persons(_percent_as_number)))),
    _m("id_number_value_echoed", "persons echo id_numbers[].value",
       (PII, RETRIEVE_MATCHES), service_class=_rebound("IdNumberValueEchoed", person_view=_view_with_id_number_values)),
    _m("person_token_echoes_data", "person tokens echo the tokenised person members",
       (PII, SINGLE_USE), service_class=TokenEchoesData),
    _m("person_token_object_renamed", "person tokens answer object 'v2.core.person_token'",
       (SINGLE_USE, "semantics/token-lifetime"),
       middleware=_mw(rewrite_json(_on_objects(PERSON_TOKEN, _set("object", "v2.core.person_token"))))),
    _m("list_without_previous_page_url", "lists lack the required member previous_page_url",
       (LIST_ONCE,), middleware=_mw(rewrite_json(_on_lists(_drop("previous_page_url"))))),
    _m("v1_pii_token_echoes_value", "v1 PII tokens echo the tokenised id_number under 'pii'",
       (PII,), service_class=V1PiiTokenEchoesValue),
    # ---- status codes
    _m("not_found_as_400", "every 404 is answered 400",
       (code("retrieve_person", "not_found"), DELETE_404), middleware=_mw(rewrite_json(status=400, when_status=404))),
    _m("invalid_person_token_as_400", "invalid_person_token (403) is answered 400",
       on_writes("invalid_person_token"), middleware=_mw(rewrite_json(status=400, when_status=403))),
    _m("rate_limit_as_400", "account_rate_limit_exceeded (429) is answered 400",
       (code("list_persons", "account_rate_limit_exceeded"), code("retrieve_person", "account_rate_limit_exceeded")),
       middleware=_mw(rewrite_json(status=400, when_status=429))),
    _m("rate_limit_without_type", "429 errors lack type: rate_limit",
       (code("list_persons", "account_rate_limit_exceeded"), code("create_person", "account_rate_limit_exceeded")),
       middleware=_mw(rewrite_json(_on_error(_drop("type")), when_status=429))),
    _m("unauthenticated_without_error_object", "401 bodies are {'message': ...}, without the error object",
       ("semantics/auth-is-enforced",), middleware=_mw(rewrite_json(lambda body: {"message": "unauthorized"}, when_status=401))),
    # ---- error codes and members
    _m("email_invalid_renamed", "email_invalid is answered as code 'invalid_email'",
       on_writes("email_invalid"), middleware=_mw(rewrite_json(_on_error(_rename_code("email_invalid", "invalid_email"))))),
    _m("user_message_dropped", "errors never carry user_message",
       (code("create_person", "email_invalid"), code("create_person", "address_postal_code_invalid")),
       middleware=_mw(rewrite_json(_on_error(_drop("user_message"))))),
    _m("age_limit_dropped", "date_of_birth_age_restriction lacks age_limit",
       on_writes("date_of_birth_age_restriction"), middleware=_mw(rewrite_json(_on_error(_drop("age_limit"))))),
    _m("age_limit_as_number", "age_limit is the number 13, not the string '13'",
       on_writes("date_of_birth_age_restriction"), middleware=_mw(rewrite_json(_on_error(_age_limit_as_number)))),
    _m("duplicate_person_id_dropped", "duplicate_person_not_allowed lacks duplicate_person_id",
       on_writes("duplicate_person_not_allowed"), middleware=_mw(rewrite_json(_on_error(_drop("duplicate_person_id"))))),
    # ---- token semantics
    _m("token_reuse_allowed", "a used person token can be used again",
       (code("create_person", "token_already_used"), SINGLE_USE), service_class=TokenReuseAllowed),
    _m("token_cross_account_allowed", "a person token of another account is accepted",
       on_writes("incorrect_account_for_person_token"), service_class=TokenCrossAccountAllowed),
    _m("token_expiry_ignored", "expired person tokens are accepted",
       on_writes("token_expired"), {"person_token_lifetime_seconds": 1.0, "max_wait_seconds": 5},
       service_class=TokenExpiryIgnored, settings=Settings.deciding(person_token_lifetime_seconds=1.0)),
    _m("token_used_never_true", "person tokens always show used: false (they are still single use)",
       (SINGLE_USE,), service_class=TokenUsedNeverTrue),
    _m("token_lifetime_an_hour", "person tokens live an hour, not the documented 10 minutes",
       ("semantics/token-lifetime",), settings=Settings.deciding(person_token_lifetime_seconds=3600.0)),
    _m("live_secret_key_creates_tokens", "a live-mode secret key may create person tokens",
       (code("create_person_token", "token_must_be_created_with_publishable_key"),), service_class=LiveSecretKeyCreatesTokens),
    _m("v1_token_accepted_as_person_token", "a v1 person token (cpt_) is accepted as person_token in v2",
       on_writes("v1_token_invalid_in_v2"), service_class=V1TokenAcceptedInV2),
    # ---- relationships and ownership
    _m("second_representative_allowed", "an account may have two representatives",
       on_writes("additional_representative_not_allowed"), service_class=_without_rules("SecondRepresentativeAllowed", "additional_representative_not_allowed")),
    _m("ownership_over_100_allowed", "the account's persons may own more than 100% together",
       on_writes("total_person_ownership_exceeded"), service_class=_without_rules("OwnershipOver100Allowed", "total_person_ownership_exceeded")),
    _m("identity_lock_ignored", "identity members of a verified (locked) person can be changed",
       (code("update_person", "immutable_identity_param"),), service_class=IdentityLockIgnored),
    _m("representative_age_limit_18", "representatives must be 18, not the documented 13 (age_limit '18')",
       (*on_writes("date_of_birth_age_restriction"), "semantics/representative-age-limit"), settings=Settings.deciding(representative_age_limit=18)),
    # ---- validation
    _m("invalid_email_accepted", "emails are not checked for the local@domain.tld form",
       on_writes("email_invalid"), service_class=_without_rules("InvalidEmailAccepted", "email_invalid")),
    _m("future_date_of_birth_accepted", "a date of birth in the future is accepted (calendar dates still checked)",
       (*on_writes("date_of_birth_invalid"), "semantics/dates-of-birth-are-validated"),
       service_class=_rebound("FutureDateOfBirthAccepted", rules=_Rules(check_person_write=_rules_changed(date_of_birth_invalid=_dob_without_upper_bound)))),
    _m("bad_postal_code_accepted", "postal codes are not checked for the country's format",
       on_writes("address_postal_code_invalid"), service_class=_without_rules("BadPostalCodeAccepted", "address_postal_code_invalid")),
    # ---- update and metadata
    _m("update_replaces_whole_person", "an update replaces the person by the body (unsent members are lost)",
       (UPDATE_ONLY_SENT,), service_class=_rebound("UpdateReplacesWholePerson", rules=_Rules(merge_person=_merge_replacing_whole))),
    _m("metadata_null_ignored", "metadata keys set to null are kept instead of removed",
       ("semantics/metadata-null-removes-a-key",), service_class=_rebound("MetadataNullIgnored", rules=_Rules(merge_person=_merge_ignoring_null_metadata))),
    _m("update_appends_arrays", "an update appends to arrays (id_numbers, nationalities, ...) instead of replacing them",
       (UPDATE_ONLY_SENT, "semantics/update-of-arrays"), service_class=_rebound("UpdateAppendsArrays", rules=_Rules(merge_person=_merge_appending_arrays))),
    _m("updated_not_moving", "'updated' stays at its first value on updates",
       (UPDATE_ONLY_SENT,), service_class=UpdatedNotMoving),
    _m("created_changes_on_update", "an update answers 'created' equal to the new 'updated'",
       (UPDATE_ONLY_SENT,), service_class=CreatedChangesOnUpdate),
    _m("update_answers_old_person", "an update is stored but answers the person as it was before",
       (UPDATE_ONLY_SENT,), service_class=UpdateAnswersOldPerson),
    _m("metadata_dropped_on_create", "metadata sent on create is not stored",
       (RETRIEVE_MATCHES,), service_class=MetadataDroppedOnCreate),
    # ---- delete
    _m("delete_keeps_the_person", "delete answers the deleted object but the person stays",
       (DELETE_404,), service_class=DeleteKeepsThePerson),
    _m("deleted_object_names_another_id", "the deleted object carries another id than the deleted person's",
       (DELETE_404,), middleware=_mw(rewrite_json(_top(_set("id", "person_test_someone_else")), method="DELETE", when_status=200))),
    _m("delete_missing_answers_200", "deleting a person that does not exist answers 200 deleted",
       (code("delete_person", "not_found"),), service_class=DeleteMissingAnswers200),
    # ---- pagination
    _m("list_duplicates_an_item", "each next page starts with the previous page's last person",
       (LIST_ONCE,), service_class=ListDuplicatesAnItem),
    _m("list_skips_an_item", "each next page skips one person",
       (LIST_ONCE,), service_class=ListSkipsAnItem),
    _m("absolute_next_page_url", "next_page_url is absolute (https://api.stripe.com/v2/...)",
       (LIST_ONCE,), middleware=_mw(rewrite_json(_on_lists(_absolute_next)))),
    _m("next_page_url_never_null", "the last page links to an empty page, which links to itself; next_page_url is never null",
       (LIST_ONCE,), service_class=NextPageUrlNeverNull),
    _m("list_oldest_first", "lists are oldest first, not the documented newest first",
       (LIST_ONCE,), service_class=ListOldestFirst),
    # ---- idempotency
    _m("replay_creates_again", "Idempotency-Key is ignored: a replay creates a second person",
       (IDEMPOTENT,), service_class=ReplayCreatesAgain),
    _m("conflicting_replay_accepted", "the same Idempotency-Key with another body replays the first answer (no 409)",
       (IDEMPOTENT, code("create_person", "idempotency_error")), service_class=ConflictingReplayAccepted),
    # ---- cross-account access
    _m("person_readable_through_other_account", "a person can be read (and written) through another account's path",
       (ISOLATED,), service_class=PersonReadableThroughOtherAccount),
    _m("person_token_readable_through_other_account", "a person token can be read through another account's path",
       (ISOLATED,), service_class=PersonTokenReadableThroughOtherAccount),
    # ---- auth and mode
    _m("missing_key_accepted", "requests without Authorization run as the default platform",
       ("semantics/auth-is-enforced",), middleware=_mw(rewrite_request(_authorization(_key_if_missing)))),
    _m("unknown_key_accepted", "unknown API keys run as the default platform",
       ("semantics/auth-is-enforced",), middleware=_mw(rewrite_request(_authorization(_key_if_unknown)))),
    _m("livemode_always_true", "persons say livemode: true with a test-mode key",
       ("semantics/livemode-matches-the-key",), middleware=_mw(rewrite_json(_on_persons(_set("livemode", True))))),
    # ---- 5xx on odd input
    _m("server_error_on_astral_given_name", "500 when given_name holds a character outside the BMP (e.g. an emoji)",
       ("fuzzing/create_person", "fuzzing/update_person", "semantics/odd-input-never-breaks-the-server"), service_class=_failing_on("ServerErrorOnAstralGivenName", lambda name: any(ord(c) > 0xFFFF for c in name))),
    _m("server_error_on_long_given_name", "500 when given_name is longer than 255 characters",
       ("fuzzing/create_person", "fuzzing/update_person", "semantics/odd-input-never-breaks-the-server"), service_class=_failing_on("ServerErrorOnLongGivenName", lambda name: len(name) > 255)),
    # ---- content type and headers
    _m("responses_text_plain", "responses say Content-Type: text/plain",
       (RETRIEVE_MATCHES, V1_ROUND_TRIP), middleware=_mw(rewrite_json(headers=_content_type(b"text/plain; charset=utf-8")))),
    _m("request_id_missing", "responses lack the Request-Id header",
       (RETRIEVE_MATCHES, V1_ROUND_TRIP), middleware=_mw(rewrite_json(headers=_without_header(b"request-id")))),
    # ---- v1 tokens
    _m("v1_token_without_type", "v1 tokens lack the required member 'type'",
       (V1_ROUND_TRIP,), middleware=_mw(rewrite_json(_top(_drop("type")), path=r"^/v1/tokens", when_status=200))),
)

# The control: every hook in use, changing nothing (Service's code cloned by `_rebound` with the
# full rule table, a JSON rewrite that returns the body, a request rewrite that keeps the headers).
# Its checks must pass: a failure on a mutant then comes from the fault, not from the machinery.
BLIND_SPOTS = (  # faults no check noticed before the negative, positive, key and list assertions
    _m("unknown_enum_value_stored", "an enum value the spec does not allow is accepted and stored",
       (INVALID,), middleware=_mw(answer_request(_unknown_enum_stored))),
    _m("minimal_create_refused", "a valid minimal create ({}) is refused with a 400",
       ("semantics/minimal-requests-succeed",), middleware=_mw(answer_request(_minimal_create_refused))),
    _m("v2_without_stripe_version_served", "v2 requests without Stripe-Version are served (the version defaults)",
       (INVALID,), middleware=_mw(rewrite_request(_default_stripe_version))),
    _m("publishable_keys_everywhere", "publishable keys are accepted on every operation",
       ("semantics/publishable-keys-are-refused",), middleware=_mw(rewrite_request(_publishable_as_secret))),
    _m("malformed_json_as_500", "a body that is not JSON is answered 500",
       (INVALID,), middleware=_mw(answer_request(_malformed_json_as_500))),
    _m("deleted_persons_listed", "deleted persons are still listed (retrieve answers 404)",
       (DELETE_404,), service_class=DeletedStillListed),
    _m("declared_rate_limit_not_enforced", "a per-account limit declared as 20/s is enforced at 2,000/s only",
       (code("list_persons", "account_rate_limit_exceeded"), code("create_person", "account_rate_limit_exceeded")),
       {"rate_limited_account": None, "rate_limit_per_second": 20}, settings=Settings.deciding(rate_limit=2000)),
)
MUTANTS = MUTANTS + BLIND_SPOTS

CONTROL = _m(
    "control_no_fault", "the reference server through the mutants' hooks, without a fault",
    (RETRIEVE_MATCHES, UPDATE_ONLY_SENT, "semantics/metadata-null-removes-a-key", DELETE_404, LIST_ONCE, ISOLATED, SINGLE_USE, PII, IDEMPOTENT,
     "semantics/auth-is-enforced", V1_ROUND_TRIP, *on_writes("email_invalid"), code("create_person", "date_of_birth_invalid"),
     code("create_person", "additional_representative_not_allowed"), code("retrieve_person", "not_found"),
     code("list_persons", "account_rate_limit_exceeded")),
    service_class=_rebound("Unchanged", rules=_Rules(check_person_write=_rules_changed())),
    middleware=_mw(rewrite_json(lambda body: body), rewrite_request(lambda headers: headers)),
)

BY_NAME = {mutant.name: mutant for mutant in MUTANTS}
assert len(BY_NAME) == len(MUTANTS), "mutant names must be unique"

__all__ = ["BY_NAME", "CONTROL", "MUTANTS", "Mutant", "rewrite_json", "rewrite_request"]
