"""The set-up of checks on a target: accounts, persons and tokens made through one client, and removed afterwards.

A check that needs an object asks its `Workbench`, which remembers what it created (or leased from the target's
accounts pool) and cleans it up, even when the check fails. Configuration-dependent values come from the target's
fixtures; a missing one raises `NotExercised` with the reason.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

from conformance.engine.accounts import AccountPool, Lease, NoPoolAccount, describe_kind
from conformance.engine.client import ApiClient, Exchange
from conformance.engine.fixtures import FIXTURES
from conformance.engine.untrusted import path_id
from conformance.spec import Operation, setup_operations
from conformance.spec.catalog import default_operations


class NotExercised(Exception):
    """The code cannot be provoked on this target; the message says why (e.g. a missing fixture)."""


class SetupFailed(Exception):
    """A setup call did not succeed; carries the exchange that failed."""

    def __init__(self, what: str, exchange: Exchange) -> None:
        answer = exchange.error or f"{exchange.status} {exchange.response_text[:200]!r}"
        super().__init__(f"setup failed: {what} answered {answer}")
        self.exchange = exchange


@dataclass
class Workbench:
    """Setup helpers over one client; remembers what it created so that it can be cleaned up.

    Accounts come from the target's pool when its profile gives one (leased, never created or closed),
    else they are created through the set-up document's create_account, unless the profile forbids it."""

    client: ApiClient
    fixtures: dict[str, Any]
    decisions: Mapping[str, Any] = field(default_factory=dict)  # the target's stated choices (or `any`)
    pool: AccountPool | None = None
    rate_limit_per_second: float | None = None  # the target's declared per-account limit (profile)
    setup: Mapping[str, Operation] = field(default_factory=setup_operations)
    api: Mapping[str, Operation] = field(default_factory=default_operations)  # the operations under test
    created_accounts: list[str] = field(default_factory=list)
    leases: list[Lease] = field(default_factory=list)
    # (account, person) -> the create exchange whose person was deleted: the clean-up deletes it again only if
    # created again since (a target may reuse an id); an attempt's deletes are not repeated on given-back accounts.
    deleted_persons: dict[tuple[str, str], int] = field(default_factory=dict)

    def fixture(self, name: str) -> Any:
        if name not in FIXTURES:
            raise KeyError(f"{name} is not a fixture of the table (conformance/engine/fixtures.py)")
        value = self.fixtures.get(name)
        if value in (None, False, ""):
            raise NotExercised(f"needs fixture {name}")
        return str(value)

    def _ok(self, what: str, exchange: Exchange) -> dict[str, Any]:
        """The created object, which must at least carry a string id."""
        if (
            exchange.status != 200
            or not isinstance(exchange.json, dict)
            or not isinstance(exchange.json.get("id"), str)
        ):
            raise SetupFailed(what, exchange)
        return exchange.json

    def set_up(self, operation_id: str, account_id: str = "", **request: Any) -> Exchange:
        """One call of the set-up document (spec/setup.yaml)."""
        operation = self.setup[operation_id]
        return self.client.request(operation.method.upper(), path_of(operation, account_id), **request)

    def url(self, operation_id: str, query: Mapping[str, Any] | None = None, **params: object) -> str:
        """The request path of an operation under test, each parameter through `path_id` (`Untrusted` for a value
        that cannot be one), and the query."""
        target = self.api[operation_id].url(**{name: path_id(value) for name, value in params.items()})
        return f"{target}?{urlencode(query)}" if query else target

    def call(
        self, operation_id: str, /, *, query: Mapping[str, Any] | None = None, json: Any = None, **arguments: Any
    ) -> Exchange:
        """One call of an operation under test: its path parameters by name (`account_id=..., id=...`), the
        query, the JSON body, and what else `ApiClient.request` takes."""
        operation = self.api[operation_id]
        params = {name: arguments.pop(name) for name in operation.path_parameters if name in arguments}
        target = self.url(operation_id, query, **params)
        return self.client.request(
            operation.method.upper(), target, json_body=json, operation_id=operation_id, **arguments
        )

    def follow(self, operation_id: str, target: str) -> Exchange:
        """A GET of a URL the target gave (a page link) as a call of `operation_id`; the client checks it."""
        return self.client.request(self.api[operation_id].method.upper(), target, operation_id=operation_id)

    def account(self, country: str | None = "us", entity_type: str = "company") -> str:
        if self.pool is not None:
            try:
                lease = self.pool.lease(entity_type, country, self.leases)
            except NoPoolAccount as exc:
                raise NotExercised(str(exc)) from exc
            self.leases.append(lease)
            return lease.account.id
        if not self.fixtures.get("can_create_accounts", True):
            raise NotExercised(
                f"needs an account ({describe_kind(entity_type, country)}): the profile allows no account creation"
                " (can_create_accounts: false) and gives no accounts pool"
            )
        identity: dict[str, Any] = {"entity_type": entity_type}
        if country:
            identity["country"] = country
        exchange = self.set_up("create_account", json_body={"identity": identity})
        if exchange.status in (404, 405):
            hint = "spec/setup.yaml; a target without it needs an accounts pool in its profile"
            raise SetupFailed(f"create account ({hint})", exchange)
        created = self._ok("create account", exchange)
        self.created_accounts.append(created["id"])
        return str(created["id"])

    def person(self, account_id: str, body: dict[str, Any]) -> str:
        return str(self._ok("create person", self.call("create_person", account_id=account_id, json=body))["id"])

    def created_persons(self, since: int = 0) -> list[tuple[str, str]]:
        """(account, person) of every person a create through this workbench's client answered (from its exchange
        `since` on), whatever sent it (a setup step, a check, a scenario's probe, fuzzing): on a pool account,
        each one must be deleted."""
        return list(self._last_creates(since))

    def _last_creates(self, since: int) -> dict[tuple[str, str], int]:
        """(account, person) -> the index of the last exchange that created it, in the order first created."""
        create = self.api["create_person"]
        created: dict[tuple[str, str], int] = {}
        for index, exchange in enumerate(self.client.exchanges[since:], since):
            where = create.match(urlsplit(exchange.url).path) if exchange.method == create.method.upper() else None
            body = exchange.json if where and exchange.status == 200 else None
            if where and isinstance(body, dict) and isinstance(body.get("id"), str):
                created[(unquote(where["account_id"]), body["id"])] = index
        return created

    def person_token(self, account_id: str, body: dict[str, Any] | None = None) -> str:
        return str(self.person_token_object(account_id, body)["id"])

    def person_token_object(self, account_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        exchange = self.call("create_person_token", account_id=account_id, json=body or {"given_name": "Token"})
        return self._ok("create person token", exchange)

    def v1_object(self, kind: str) -> str:
        """A v1 account or customer id: from the fixtures, or created when the target allows it."""
        if value := self.fixtures.get(f"v1_{kind}"):
            return str(value)
        self.fixture("can_create_v1_objects")
        created = self.set_up(f"create_v1_{kind}", form={"description": "conformance"})
        return str(self._ok(f"create v1 {kind}", created)["id"])

    def v1_person_token(self) -> str:
        exchange = self.call("create_token", form={"person": {"first_name": "Jenny"}})
        return str(self._ok("create v1 person token", exchange)["id"])

    def created(self, operation_id: str, account_id: str, given_name: str) -> str:
        """A new object of the kind `operation_id` creates (see `Operation.created_by`), on the account."""
        make: dict[str, Callable[[], str]] = {
            "create_person": lambda: self.person(account_id, {"given_name": given_name}),
            "create_person_token": lambda: self.person_token(account_id),
            "create_token": self.v1_person_token,
        }
        return make[operation_id]()

    @contextlib.contextmanager
    def attempt(self) -> Iterator[None]:
        """One try among several (a candidate of a ladder): the pool accounts it leased are given back when it
        ends, its persons on them deleted first, so that a check holds the accounts of one try at a time and
        checks that run at once do not wait for each other's spent accounts."""
        exchanges, leases = len(self.client.exchanges), len(self.leases)
        try:
            yield
        finally:
            spent = self.leases[leases:]
            if spent:  # none without a pool, or when the try leased nothing
                del self.leases[leases:]
                self._delete_persons({lease.account.id for lease in spent}, since=exchanges)
                for lease in spent:
                    lease.release()

    def cleanup(self) -> None:
        """Delete the persons and close the accounts this workbench created, then give its leased accounts
        back; failures are ignored, and an id that cannot be placed in a path names nothing to remove."""
        self._delete_persons(None)
        for account_id in reversed(self.created_accounts):
            with contextlib.suppress(Exception):
                self.set_up("close_account", account_id)
        for lease in self.leases:
            lease.release()
        self.created_accounts.clear()
        self.leases.clear()
        self.deleted_persons.clear()

    def _delete_persons(self, accounts: set[str] | None, since: int = 0) -> None:
        """Delete the persons created since the client's exchange `since`, on `accounts` (None: on any)."""
        # Clean-up is best effort: it never ends a run, whatever the target did. Its requests carry no operation
        # id: no check judges them.
        delete = self.api["delete_person"]
        for (account_id, person_id), index in reversed(self._last_creates(since).items()):
            if accounts is not None and account_id not in accounts:
                continue
            if self.deleted_persons.get((account_id, person_id), -1) < index:
                self.deleted_persons[(account_id, person_id)] = index
                with contextlib.suppress(Exception):
                    self.client.request(
                        delete.method.upper(), self.url(delete.operation_id, account_id=account_id, id=person_id)
                    )


def path_of(operation: Operation, account_id: str = "", object_id: str = "") -> str:
    """The operation's path on an account and, for a parameter naming an object (`id`, `token`), that object."""
    return operation.url(
        **{name: path_id(account_id if name == "account_id" else object_id) for name in operation.path_parameters}
    )


def lifetime_of(token: dict[str, Any]) -> float | None:
    """Seconds from a person token's created to its expires_at; None when either cannot be read."""
    try:
        created, expires = (
            datetime.fromisoformat(str(token[name]).replace("Z", "+00:00")).timestamp()
            for name in ("created", "expires_at")
        )
    except (KeyError, ValueError, OverflowError):  # timestamps compared as instants: a zone on one only is no error
        return None
    return expires - created
