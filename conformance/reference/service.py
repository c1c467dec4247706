"""The operations of the reference server: domain rules + storage, idempotency, tokens, fixtures.

Every public method takes already-parsed, schema-valid input and returns `(status, body)` or
raises ApiError; nothing here knows about HTTP.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import string
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from conformance.reference import rules
from conformance.reference.auth import Caller
from conformance.reference.errors import ApiError
from conformance.reference.storage import Storage
from conformance.spec import load_spec, operations
from conformance.spec.decisions import ANY, defaults, stated
from conformance.spec.setup import entity_types
from conformance.spec.sources import apply_decisions

Result = tuple[int, dict[str, Any]]

V1_TOKEN_PREFIXES = ("cpt_", "pii_", "tok_", "ct_", "btok_")
OTHER_V2_TOKEN_PREFIXES = ("acctok_",)
IDENTITY_MEMBERS = ("given_name", "surname", "date_of_birth", "id_numbers")
ENTITY_TYPES = entity_types()  # as the set-up document (spec/setup.yaml) describes create_account
# Which code each platform fixture answers; the operations that document the code answer it.
PLATFORM_CODES = {
    "unregistered": "platform_registration_required",
    "non_connect": "non_connect_platform_accounts_v2_access_blocked",
    "v2_blocked": "accounts_v2_access_blocked",
}
SEEDED_ACCOUNTS = {
    "acct_reference_not_v2_compatible": {"not_v2_compatible": True},
    "acct_reference_rate_limited": {"rate_limited": True},
    "acct_reference_identity_locked": {"identity_locked": True},
}
LOCKED_PERSON_ID = "person_test_reference_locked"
# The decisions the domain rules take (RuleSettings' fields of the same names).
RULE_DECISIONS = (
    "update_nested_objects",
    "update_arrays",
    "percent_ownership_scale",
    "identity_country_rule",
    "metadata_alongside_person_token",
)


def _spec_defaults() -> Mapping[str, Any]:
    return MappingProxyType(defaults(load_spec()))


@dataclass(frozen=True)
class Settings:
    """What the server decides where Stripe publishes nothing (the spec's decisions), and its rate limit."""

    decisions: Mapping[str, Any] = field(default_factory=_spec_defaults)
    rate_limit: float | None = None  # requests per second per account; None: unlimited

    @classmethod
    def deciding(cls, rate_limit: float | None = None, **choices: Any) -> Settings:
        """The spec's defaults but for `choices`; ValueError for an unknown decision or a value it does not allow."""
        spec = load_spec()
        if any(value == ANY for value in choices.values()):
            raise ValueError("the reference server decides every decision: 'any' is for profiles")
        stated(spec, choices)
        return cls(MappingProxyType({**defaults(spec), **choices}), rate_limit)

    def __reduce__(self) -> tuple[Any, ...]:
        # To a child process (the embedded server): the decisions' read-only view does not pickle itself.
        return _settings, (dict(self.decisions), self.rate_limit)

    @property
    def token_lifetime(self) -> float:
        return float(self.decisions["person_token_lifetime_seconds"])

    @property
    def age_limit(self) -> int:
        return int(self.decisions["representative_age_limit"])


def _settings(decisions: dict[str, Any], rate_limit: float | None) -> Settings:
    return Settings(MappingProxyType(decisions), rate_limit)


ID_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    """The prefix and `length` characters of ID_ALPHABET, each string equally likely: one draw of a number below
    62**length written in base 62 (a draw per character cost a seventh of a create_person)."""
    number, characters = secrets.randbelow(len(ID_ALPHABET) ** length), []
    for _ in range(length):
        number, digit = divmod(number, len(ID_ALPHABET))
        characters.append(ID_ALPHABET[digit])
    return prefix + "".join(characters)


def timestamp(epoch: float) -> str:
    """RFC 3339, UTC, millisecond precision."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass
class _RateLimiter:
    per_second: float | None
    _hits: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allow(self, account_id: str, now: float) -> bool:
        if self.per_second is None:
            return True
        with self._lock:
            hits = self._hits[account_id]
            while hits and hits[0] <= now - 1.0:
                hits.popleft()
            if len(hits) >= self.per_second:
                return False
            hits.append(now)
            return True


class Service:
    def __init__(
        self, storage: Storage, settings: Settings | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.storage = storage
        storage.index_persons(rules.person_marks)
        self.settings = settings or Settings()
        self.clock = clock
        spec = self.spec = apply_decisions(load_spec(), self.settings.decisions)  # its own limits, page URLs...
        self._operations = operations(spec)
        self._expandable = tuple(spec["components"]["schemas"]["Token"].get("x-expandableFields", ()))
        # Token kinds Stripe accepts on POST /v1/tokens that this server does not create (card, bank_account...).
        self._other_token_kinds = set(spec["components"]["schemas"]["TokenCreateParams"]["properties"]) - {
            "expand",
            "person",
            "pii",
        }
        self._limiter = _RateLimiter(self.settings.rate_limit)
        self._seed()

    # ------------------------------------------------------------------ fixtures
    def _seed(self) -> None:
        with self.storage.transaction() as db:
            for account_id, flags in SEEDED_ACCOUNTS.items():
                if db.get_account(account_id) is None:
                    db.put_account(self._account_object(account_id, "us", "company", livemode=False, **flags), "v2")
            if db.get_person("acct_reference_identity_locked", LOCKED_PERSON_ID) is None:
                now = timestamp(self.clock())
                db.insert_person(
                    {
                        "id": LOCKED_PERSON_ID,
                        "account": "acct_reference_identity_locked",
                        "livemode": False,
                        "created": now,
                        "updated": now,
                        "given_name": "Locked",
                        "surname": "Identity",
                        "date_of_birth": {"day": 1, "month": 1, "year": 1980},
                        "address": {"country": "us"},
                    }
                )

    def _account_object(
        self, account_id: str, country: str | None, entity_type: str, *, livemode: bool, **flags: Any
    ) -> dict[str, Any]:
        return {
            "id": account_id,
            "object": "v2.core.account",
            "created": timestamp(self.clock()),
            "livemode": livemode,
            "closed": False,
            "identity": {"country": country, "entity_type": entity_type},
            **flags,
        }

    # -------------------------------------------------------------- setup calls
    def create_account(self, caller: Caller, body: dict[str, Any]) -> Result:
        identity = body.get("identity")
        identity = {} if identity is None else identity  # only null means none: [], "" or false are not an object
        if not isinstance(identity, dict):
            raise ApiError("invalid_fields", "identity must be an object with country and entity_type.")
        country = identity.get("country")
        entity_type = identity.get("entity_type", "company")
        if country is not None and (
            not isinstance(country, str) or len(country) != 2 or not (country.isascii() and country.isalpha())
        ):
            raise ApiError("invalid_fields", "identity.country must be a two-letter country code.")
        if entity_type not in ENTITY_TYPES:
            raise ApiError("invalid_fields", f"identity.entity_type must be one of {', '.join(ENTITY_TYPES)}.")
        account = self._account_object(
            new_id("acct_", 16), country.lower() if country else None, entity_type, livemode=caller.livemode
        )
        with self.storage.transaction() as db:
            db.put_account(account, "v2")
        return 200, account

    def close_account(self, caller: Caller, account_id: str) -> Result:
        with self.storage.transaction() as db:
            account = db.get_account(account_id)
            if account is None or account["_kind"] != "v2":
                raise ApiError("not_found", f"No such account: '{account_id}'.")
            account["closed"] = True
            db.put_account(account, "v2")
        return 200, {key: value for key, value in account.items() if key != "_kind"}

    def create_v1_object(self, caller: Caller, kind: str) -> Result:
        prefix, object_name = {"account": ("acct_", "account"), "customer": ("cus_", "customer")}[kind]
        created = {
            "id": new_id(prefix, 16),
            "object": object_name,
            "created": int(self.clock()),
            "livemode": caller.livemode,
        }
        with self.storage.transaction() as db:
            db.put_account(created, f"v1_{kind}")
        return 200, created

    # ----------------------------------------------------------- account checks
    def _documents(self, operation_id: str, code: str) -> bool:
        return code in self._operations[operation_id].errors

    def _missing_account(self, operation_id: str, account_id: str) -> ApiError:
        if 404 in self._operations[operation_id].statuses:
            return ApiError("not_found", f"No such account: '{account_id}'.")
        return ApiError("resource_missing", f"No such account: '{account_id}'.")

    def _v2_account(self, caller: Caller, operation_id: str, account_id: str) -> dict[str, Any]:
        """The v2 account of the path, after the platform, rate-limit and account-kind checks."""
        code = PLATFORM_CODES.get(caller.platform or "")
        if code and self._documents(operation_id, code):
            message = {
                "platform_registration_required": (
                    "Your platform has not signed up for Connect and cannot manage connected accounts."
                ),
                "non_connect_platform_accounts_v2_access_blocked": (
                    "Use a newer API version or onboard to Connect to use Accounts v2."
                ),
                "accounts_v2_access_blocked": "Accounts v2 is not enabled for your platform.",
            }[code]
            raise ApiError(code, message)
        account = self.storage.get_account(account_id)
        if (account and account.get("rate_limited")) or not self._limiter.allow(account_id, self.clock()):
            raise ApiError(
                "account_rate_limit_exceeded",
                f"Too many concurrent requests on account {account_id}; retry later.",
                headers={"Retry-After": "1"},
            )
        if account_id.startswith("cus_") and self._documents(operation_id, "v1_customer_instead_of_v2_account"):
            raise ApiError(
                "v1_customer_instead_of_v2_account",
                f"'{account_id}' is a v1 Customer ID; v2 Account APIs need a v2 Account ID.",
            )
        if account is None:
            raise self._missing_account(operation_id, account_id)
        if account["_kind"] != "v2":
            if account["_kind"] == "v1_account" and self._documents(operation_id, "v1_account_instead_of_v2_account"):
                raise ApiError(
                    "v1_account_instead_of_v2_account",
                    f"'{account_id}' is a v1 Account ID; v2 Account APIs need a v2 Account.",
                )
            raise self._missing_account(operation_id, account_id)
        if account.get("not_v2_compatible") and self._documents(operation_id, "account_not_yet_compatible_with_v2"):
            raise ApiError(
                "account_not_yet_compatible_with_v2", f"Account {account_id} is not yet compatible with v2 APIs."
            )
        return account

    # -------------------------------------------------------------- idempotency
    def idempotent(
        self, caller: Caller, key: str | None, where: tuple[str, ...], body: Any, run: Callable[[], Result]
    ) -> Result:
        """Run once per (API key, idempotency key), or per (API key, path, idempotency key) as the server decides;
        replay the stored answer, 409 when the request differs. `where` is the operation and its path's ids."""
        if key is None:
            with self.storage.transaction():
                return self._answer(run)
        request_fingerprint = fingerprint(*where, body)
        scoped = (
            (caller.key, *where)
            if self.settings.decisions["idempotency_key_scope"] == "key_and_path"
            else (caller.key,)
        )
        scope = hashlib.sha256(json.dumps(scoped).encode()).hexdigest()
        with self.storage.transaction() as db:
            stored = db.get_idempotent(scope, key)
            if stored is not None:
                stored_fingerprint, status, body = stored
                if stored_fingerprint != request_fingerprint:
                    # type: the official clients raise their IdempotencyError for this type only (else a generic
                    # APIError).
                    raise ApiError(
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same parameters they were first used "
                        f"with. Try using a key other than '{key}' if you meant to execute a different request.",
                        type="idempotency_error",
                    )
                return status, body
            status, body = self._answer(run)
            db.put_idempotent(scope, key, request_fingerprint, status, body)
            return status, body

    @staticmethod
    def _answer(run: Callable[[], Result]) -> Result:
        """An operation's result, with its documented errors as results too (they are replayed alike)."""
        try:
            return run()
        except ApiError as error:
            if error.status == 429:
                raise
            return error.status, error.body()

    # ------------------------------------------------------------ person tokens
    def create_person_token(
        self,
        caller: Caller,
        account_id: str,
        body: dict[str, Any],
        client: dict[str, str | None],
        idempotency_key: str | None,
    ) -> Result:
        self._v2_account(caller, "create_person_token", account_id)
        if caller.livemode and not caller.publishable:
            raise ApiError(
                "token_must_be_created_with_publishable_key",
                "In live mode, person tokens must be created with your publishable key.",
            )

        def run() -> Result:
            now = self.clock()
            data = dict(body)
            terms = (data.get("additional_terms_of_service") or {}).get("account")
            if terms is not None:
                # Stripe expands the attestation with the date, IP and user agent of the tokenising request.
                accepted = {
                    "account": {
                        "date": timestamp(now),
                        "ip": client.get("ip") or "127.0.0.1",
                        "user_agent": client.get("user_agent"),
                    }
                }
                data["additional_terms_of_service"] = accepted if terms.get("shown_and_accepted") else {}
            token = {
                "id": new_id("perstok_", 40),
                "object": "v2.core.account_person_token",
                "account": account_id,
                "created": timestamp(now),
                "expires_at": timestamp(now + self.settings.token_lifetime),
                "expires_epoch": now + self.settings.token_lifetime,
                "livemode": caller.livemode,
                "used": False,
                "data": data,
            }
            self.storage.put_person_token(token)
            return 200, self._token_view(token)

        return self.idempotent(caller, idempotency_key, ("create_person_token", account_id), body, run)

    def retrieve_person_token(self, caller: Caller, account_id: str, token_id: str) -> Result:
        self._v2_account(caller, "retrieve_person_token", account_id)
        token = self.storage.get_person_token(token_id)
        if token is None or token["account"] != account_id:
            raise ApiError("not_found", f"No such person token: '{token_id}'.")
        return 200, self._token_view(token)

    @staticmethod
    def _token_view(token: dict[str, Any]) -> dict[str, Any]:
        return {key: token[key] for key in ("id", "object", "created", "expires_at", "livemode", "used")}

    def _consume_person_token(self, account_id: str, token_id: str) -> dict[str, Any]:
        """The tokenised person members; marks the token used (inside the caller's transaction)."""
        if token_id.startswith(V1_TOKEN_PREFIXES):
            raise ApiError(
                "v1_token_invalid_in_v2", f"'{token_id}' is a v1 token; v2 APIs take a v2 person token (perstok_...)."
            )
        if token_id.startswith(OTHER_V2_TOKEN_PREFIXES):
            raise ApiError("incorrect_token_wrong_type", f"'{token_id}' is not a person token.")
        token = self.storage.get_person_token(token_id)
        if token is None:
            raise ApiError("invalid_person_token", f"Invalid person token: '{token_id}'.")
        if token["account"] != account_id:
            raise ApiError(
                "incorrect_account_for_person_token",
                f"Person token {token_id} was created for another account than {account_id}.",
            )
        if token["used"]:
            raise ApiError("token_already_used", f"Person token {token_id} has already been used.")
        if self.clock() >= token["expires_epoch"]:
            raise ApiError("token_expired", f"Person token {token_id} expired at {token['expires_at']}.")
        token["used"] = True
        self.storage.put_person_token(token)
        data: dict[str, Any] = token["data"]
        return data

    # ------------------------------------------------------------------ persons
    def _facts(self, account: dict[str, Any], exclude: str | None = None) -> rules.AccountFacts:
        identity = account.get("identity") or {}
        return rules.AccountFacts(
            id=account["id"],
            country=identity.get("country"),
            entity_type=identity.get("entity_type", "company"),
            persons=self.storage.roster(account["id"], exclude),
        )

    def _rule_settings(self) -> rules.RuleSettings:
        decided = {name: self.settings.decisions[name] for name in RULE_DECISIONS}
        return rules.RuleSettings(
            today=datetime.fromtimestamp(self.clock(), UTC).date(), age_limit=self.settings.age_limit, **decided
        )

    def _members(self, caller: Caller, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """The person members a create/update writes: the body's, or the token's when it has one."""
        if "person_token" not in body:
            if caller.platform == "token_mandated":
                raise ApiError(
                    "person_token_required",
                    "Your platform is in a country where persons must be provided with a person token.",
                )
            return body
        rules.check_person_token_alone(body, self._rule_settings())
        members = dict(self._consume_person_token(account_id, body["person_token"]))
        if "metadata" in body:
            members["metadata"] = {**(members.get("metadata") or {}), **body["metadata"]}
        return members

    def create_person(
        self, caller: Caller, account_id: str, body: dict[str, Any], idempotency_key: str | None
    ) -> Result:
        account = self._v2_account(caller, "create_person", account_id)

        def run() -> Result:
            members = self._members(caller, account_id, body)
            if "metadata" in members:
                members["metadata"] = {key: value for key, value in members["metadata"].items() if value is not None}
            rules.check_person_write(
                members, account=self._facts(account), existing=None, settings=self._rule_settings()
            )
            now = timestamp(self.clock())
            person = {
                **lowercase_countries(members),
                "id": new_id("person_" if caller.livemode else "person_test_", 40),
                "account": account_id,
                "livemode": caller.livemode,
                "created": now,
                "updated": now,
            }
            self.storage.insert_person(person)
            return 200, person_view(person)

        return self.idempotent(caller, idempotency_key, ("create_person", account_id), body, run)

    def retrieve_person(self, caller: Caller, account_id: str, person_id: str) -> Result:
        self._v2_account(caller, "retrieve_person", account_id)
        return 200, person_view(self._person(account_id, person_id))

    def _person(self, account_id: str, person_id: str) -> dict[str, Any]:
        person = self.storage.get_person(account_id, person_id)
        if person is None:
            raise ApiError("not_found", f"No such person: '{person_id}'.")
        return person

    def update_person(
        self, caller: Caller, account_id: str, person_id: str, body: dict[str, Any], idempotency_key: str | None
    ) -> Result:
        account = self._v2_account(caller, "update_person", account_id)

        def run() -> Result:
            existing = self._person(account_id, person_id)
            members = self._members(caller, account_id, body)
            if account.get("identity_locked"):
                locked = [name for name in IDENTITY_MEMBERS if name in members and members[name] != existing.get(name)]
                if locked:
                    raise ApiError(
                        "immutable_identity_param",
                        f"{', '.join(locked)} can no longer be changed: the account's identity is verified.",
                    )
            rules.check_person_write(
                members,
                account=self._facts(account, exclude=person_id),
                existing=existing,
                settings=self._rule_settings(),
            )
            person = {
                **rules.merge_person(existing, lowercase_countries(members), self._rule_settings()),
                "updated": self._later_timestamp(existing["updated"]),
            }
            self.storage.update_person(person)
            return 200, person_view(person)

        return self.idempotent(caller, idempotency_key, ("update_person", account_id, person_id), body, run)

    def _later_timestamp(self, previous: str) -> str:
        """Now, but strictly after `previous`: `updated` moves on every update, even within a millisecond."""
        now = timestamp(self.clock())
        if now > previous:
            return now
        moment = datetime.strptime(previous, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        return timestamp(moment.timestamp() + 0.001)

    def delete_person(self, caller: Caller, account_id: str, person_id: str, idempotency_key: str | None) -> Result:
        self._v2_account(caller, "delete_person", account_id)

        def run() -> Result:
            self._person(account_id, person_id)
            self.storage.delete_person(person_id)
            return 200, {"id": person_id, "object": "v2.core.account_person"}  # Stripe's v2.deleted_object

        return self.idempotent(caller, idempotency_key, ("delete_person", account_id, person_id), None, run)

    def list_persons(
        self, caller: Caller, account_id: str, limit: int | None, page: str | None, origin: str = ""
    ) -> Result:
        """A page of persons in the server's list order; page URLs relative, or absolute on `origin`, as it decides."""
        self._v2_account(caller, "list_persons", account_id)
        cursor = _decode_page(page, account_id) if page else {}
        # A page keeps the limit of the list it belongs to.
        limit = cursor.get("limit", limit if limit is not None else int(self.settings.decisions["list_limit_default"]))
        newest_first = self.settings.decisions["list_order"] == "newest_first"
        with self.storage.transaction() as db:
            rows = db.page_of_persons(
                account_id,
                limit=limit,
                after_seq=cursor.get("after"),
                before_seq=cursor.get("before"),
                newest_first=newest_first,
            )
            listed = self._operations["list_persons"].url(account_id=account_id)
            base = ("" if self.settings.decisions["page_urls"] == "relative" else origin) + listed
            next_url = previous_url = None
            if rows and db.has_persons_beyond(account_id, rows[-1][0], newer=not newest_first):
                next_url = f"{base}?page={_encode_page(account_id, limit, after=rows[-1][0])}"
            if rows and db.has_persons_beyond(account_id, rows[0][0], newer=newest_first):
                previous_url = f"{base}?page={_encode_page(account_id, limit, before=rows[0][0])}"
        return 200, {
            "data": [person_view(person) for _, person in rows],
            "next_page_url": next_url,
            "previous_page_url": previous_url,
        }

    # ---------------------------------------------------------------- v1 tokens
    def create_token(
        self, caller: Caller, body: dict[str, Any], client_ip: str | None, idempotency_key: str | None
    ) -> Result:
        others = sorted(set(body) & self._other_token_kinds)
        if others:
            raise ApiError(
                "invalid_request",
                f"This server creates person and pii tokens only, not {others[0]} tokens.",
                param=others[0],
            )
        kinds = [kind for kind in ("person", "pii") if kind in body]
        if len(kinds) != 1:
            raise ApiError(
                "invalid_request",
                "Provide exactly one of person or pii to create a token.",
                **({"param": "pii"} if kinds else {}),  # type: ignore[arg-type]  # members, not status or headers
            )
        kind = kinds[0]
        self._check_expansions(body.get("expand", []))
        if kind == "person" and caller.livemode and not caller.publishable:
            raise ApiError(
                "invalid_request", "In live mode, person tokens can only be created with your publishable key."
            )

        def run() -> Result:
            token = {
                "id": new_id("cpt_" if kind == "person" else "pii_", 24),
                "object": "token",
                "client_ip": client_ip,
                "created": int(self.clock()),
                "livemode": caller.livemode,
                "redaction": None,
                "type": kind,
                "used": False,
            }
            self.storage.put_v1_token({**token, "data": body[kind]})
            return 200, token

        return self.idempotent(caller, idempotency_key, ("create_token",), body, run)

    def retrieve_token(self, caller: Caller, token_id: str, expand: list[str]) -> Result:
        self._check_expansions(expand)
        token = self.storage.get_v1_token(token_id)
        if token is None:
            raise ApiError("resource_missing", f"No such token: '{token_id}'", status=404, param="token")
        return 200, {key: value for key, value in token.items() if key != "data"}

    def _check_expansions(self, expand: list[str]) -> None:
        """`expand[]` may name the token's expandable members (the spec's x-expandableFields), as at Stripe."""
        for path in expand:
            if path.split(".")[0] not in self._expandable:
                raise ApiError("invalid_request", f"This property cannot be expanded ({path[:100]}).", param="expand")


def lowercase_countries(members: dict[str, Any]) -> dict[str, Any]:
    """Countries as Stripe echoes them: lowercase ("US" is stored and returned as "us")."""

    def address(value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("country"), str):
            return {**value, "country": value["country"].lower()}
        return value

    members = dict(members)
    if "address" in members:
        members["address"] = address(members["address"])
    if isinstance(members.get("additional_addresses"), list):
        members["additional_addresses"] = [address(item) for item in members["additional_addresses"]]
    if isinstance(members.get("script_addresses"), dict):
        members["script_addresses"] = {key: address(value) for key, value in members["script_addresses"].items()}
    if isinstance(members.get("nationalities"), list):
        members["nationalities"] = [item.lower() for item in members["nationalities"]]
    return members


def person_view(person: dict[str, Any]) -> dict[str, Any]:
    """The v2.core.account_person a client sees: id numbers without values, empty defaults."""
    view = {key: value for key, value in person.items() if key != "id_numbers"}
    view["object"] = "v2.core.account_person"
    view["id_numbers"] = [{"type": number["type"]} for number in person.get("id_numbers", [])]
    for name, empty in (
        ("additional_addresses", []),
        ("additional_names", []),
        ("nationalities", []),
        ("metadata", {}),
    ):
        view.setdefault(name, empty)
    return view


def _encode_page(account_id: str, limit: int, **position: int) -> str:
    raw = json.dumps({"account": account_id, "limit": limit, **position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_page(page: str, account_id: str) -> dict[str, int]:
    try:
        cursor = json.loads(base64.urlsafe_b64decode(page + "=" * (-len(page) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        cursor = None
    if (
        not isinstance(cursor, dict)
        or cursor.get("account") != account_id
        or not all(isinstance(cursor.get(k, 0), int) for k in ("after", "before", "limit"))
    ):
        raise ApiError("invalid_fields", f"page '{page[:40]}' is not a page token of this list.")
    return cursor
