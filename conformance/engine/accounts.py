"""A profile's pool of existing accounts, leased to one check at a time.

A target where the suite may not create accounts (a mock of the spec, an implementation of the
persons endpoints alone, a sandbox where hundreds of new accounts per run are unwelcome) lists
accounts it already has, by entity type and country. A check leases the accounts it needs and
gives them back at its clean-up, after deleting the persons it created, so that checks that share
an account never see each other's persons. Leases are file locks: they hold across the threads of
a run and across pytest-xdist workers or shards on one machine.
"""

from __future__ import annotations

import functools
import hashlib
import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

LEASE_POLL_SECONDS = 0.05
ACCOUNT_ID = re.compile(r"[!-~]{1,255}", re.ASCII)


class PoolError(ValueError):
    """The profile's `accounts` pool is malformed; the message names the entry."""


@dataclass(frozen=True)
class PoolAccount:
    id: str
    entity_type: str
    country: str | None  # lower case; None for an account without an identity country


def describe_kind(entity_type: str, country: str | None) -> str:
    return f"{entity_type}, {country.upper()}" if country else f"{entity_type}, no country"


def parse_pool(raw: Any, entity_types: tuple[str, ...]) -> tuple[PoolAccount, ...]:
    """The pool from a profile: a list of `{id, entity_type, country}` (country null or left out: none)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise PoolError("accounts must be a list of {id, entity_type, country} entries")
    pool: list[PoolAccount] = []
    for index, entry in enumerate(raw):
        where = f"accounts[{index}]"
        if not isinstance(entry, dict) or set(entry) - {"id", "entity_type", "country"}:
            raise PoolError(f"{where} must be a mapping with id, entity_type and country, got {entry!r}")
        account_id = entry.get("id")
        if not (isinstance(account_id, str) and ACCOUNT_ID.fullmatch(account_id)) or set(account_id) & set("/?#"):
            shape = "1 to 255 visible ASCII characters, no /?#"
            raise PoolError(f"{where}.id must be an account id ({shape}), got {account_id!r}")
        entity_type = entry.get("entity_type", "company")
        if entity_type not in entity_types:
            raise PoolError(f"{where}.entity_type must be one of {', '.join(entity_types)}, got {entity_type!r}")
        country = entry.get("country")
        if country is not None and not (isinstance(country, str) and len(country) == 2 and country.isalpha()):
            raise PoolError(f"{where}.country must be a two-letter country code or null, got {country!r}")
        if any(known.id == account_id for known in pool):
            raise PoolError(f"{where}: account {account_id} is listed twice")
        pool.append(PoolAccount(account_id, entity_type, country.lower() if country else None))
    return tuple(pool)


def lease_directory() -> Path:
    """Where leases are kept: one directory for every run on this machine, so that they exclude each other."""
    directory = Path(tempfile.gettempdir()) / "conformance-account-leases"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PoolError(f"cannot keep account leases in {directory}: {exc.strerror or exc}") from exc
    return directory


class NoPoolAccount(Exception):
    """No account of the kind can be leased; the message says why."""


class AccountPool:
    """Exclusive leases on a pool's accounts.

    A check may lease a second account while it holds a first (a ladder's rung that keeps two accounts apart).
    Checks that each hold one and wait for another would wait for each other: with three accounts of a kind and
    four workers, three checks held one each and waited 120 s for a second. So a check's first account of a kind
    is granted only while another of the kind stays free, for a second lease, which takes any free one; this holds
    across processes (xdist workers, shards on one machine), since it asks only whether a lock is free. A kind the
    pool has one account of gives it to any check: none can hold two. What that cannot prevent (a check holds one
    kind and waits for another kind held by a check that waits for the first) the pool detects among the checks
    of its process: a check whose wait can never end gives up at once. Between processes only `wait_seconds`
    ends such a wait.
    """

    def __init__(self, accounts: tuple[PoolAccount, ...], wait_seconds: float, lock_dir: Path | None = None) -> None:
        self.accounts = accounts
        self.wait_seconds = wait_seconds
        self.lock_dir = lock_dir or lease_directory()
        self._state = threading.Lock()
        self._holders: dict[str, int] = {}  # account id -> the check (id of its `held` list) holding it here
        self._waiting: dict[int, list[PoolAccount]] = {}  # check -> the accounts it waits for

    def _lock(self, account: PoolAccount) -> FileLock:
        name = hashlib.sha256(account.id.encode()).hexdigest()[:24]
        return FileLock(self.lock_dir / f"{name}.lock", thread_local=False, is_singleton=False)

    def lease(self, entity_type: str, country: str | None, held: list[Lease]) -> Lease:
        """A free account of the kind, waiting up to `wait_seconds` for one; `held` are the caller's leases, the same
        list on every call of one check (it names the check to the others)."""
        country = country.lower() if country else None
        kind = describe_kind(entity_type, country)
        matching = [a for a in self.accounts if (a.entity_type, a.country) == (entity_type, country)]
        candidates = [a for a in matching if all(lease.account != a for lease in held)]
        if not candidates:
            have = f"has {len(matching)}, and this check needs {len(matching) + 1} at once" if matching else "has none"
            raise NoPoolAccount(f"needs an account ({kind}): the profile's accounts pool {have}")
        check, deadline = id(held), time.monotonic() + self.wait_seconds
        keep_one_free = len(matching) > 1 and len(candidates) == len(matching)  # a first lease of the kind
        try:
            while True:
                if (lease := self._grant(check, candidates, keep_one_free)) is not None:
                    return lease
                if held and self._waits_forever(check, candidates):
                    raise NoPoolAccount(
                        f"needs an account ({kind}) while it holds another: the pool's {len(candidates)} are held by "
                        "checks that wait for one too (give the pool more accounts of the kind, or run fewer workers)"
                    )
                if time.monotonic() >= deadline:
                    raise NoPoolAccount(
                        f"needs an account ({kind}): the pool's {len(candidates)} stayed leased to other checks for "
                        f"{self.wait_seconds:g} s (give the pool more accounts of the kind, or run fewer workers)"
                    )
                time.sleep(LEASE_POLL_SECONDS)
        finally:
            with self._state:
                self._waiting.pop(check, None)

    def _grant(self, check: int, candidates: list[PoolAccount], keep_one_free: bool) -> Lease | None:
        """A lease on a free candidate, or None: none is free, or only one is and it must stay so."""
        with self._state:
            free: list[tuple[PoolAccount, FileLock]] = []
            for account in candidates:
                lock = self._lock(account)
                try:
                    lock.acquire(timeout=0)
                except Timeout:
                    continue
                free.append((account, lock))
                if len(free) == 2:
                    break
            if not free or (keep_one_free and len(free) == 1):
                granted = None
            else:
                account, lock = granted = free.pop(0)
                self._holders[account.id] = check
            for _, spare in free:
                spare.release()
        return None if granted is None else Lease(account, lock, functools.partial(self._given_back, account))

    def _waits_forever(self, check: int, candidates: list[PoolAccount]) -> bool:
        """Record that `check` waits for one of `candidates`; true when every holder it waits on, and every holder
        those wait on, is a check of this process that waits: nobody of them can give an account back."""
        with self._state:
            self._waiting[check] = candidates
            seen, todo = {check}, [check]
            while todo:
                for account in self._waiting[todo.pop()]:
                    holder = self._holders.get(account.id)
                    if holder is None or holder not in self._waiting:  # free, another process's, or running
                        return False
                    if holder not in seen:
                        seen.add(holder)
                        todo.append(holder)
            del self._waiting[check]  # it gives up: the next to look sees it running, and waits for its clean-up
            return True

    def _given_back(self, account: PoolAccount) -> None:
        with self._state:
            self._holders.pop(account.id, None)


@dataclass
class Lease:
    account: PoolAccount
    lock: FileLock
    forget: Callable[[], None]  # tells the pool that gave it

    def release(self) -> None:
        self.forget()
        self.lock.release()
