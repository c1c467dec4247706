"""SQLite storage for the reference server: accounts, persons, tokens and idempotency records.

One connection guarded by one lock: every operation of the service runs inside `transaction()`,
so rules that look at an account's other persons and the write that follows are atomic (two
concurrent representatives can never both succeed) and no write is lost.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Set
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS persons (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, account_id TEXT NOT NULL, data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS persons_by_account ON persons (account_id, seq);
CREATE TABLE IF NOT EXISTS person_marks (
    account_id TEXT NOT NULL, mark TEXT NOT NULL, person_seq INTEGER NOT NULL,
    PRIMARY KEY (account_id, mark, person_seq)
);
CREATE INDEX IF NOT EXISTS person_marks_by_person ON person_marks (person_seq);
CREATE TABLE IF NOT EXISTS person_tokens (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL, data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS v1_tokens (
    id TEXT PRIMARY KEY, data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);
"""


Marks = Callable[[dict[str, Any]], Set[str]]


class Storage:
    """Rows as JSON documents in SQLite (`:memory:` or a file that survives restarts).

    Persons carry marks (the domain's `person_marks`: roles, identity...) in an index of their own, so
    that the account-wide rules find the persons they need without reading the whole account.
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._marks: Marks = lambda person: frozenset()
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            if self.path != ":memory:":
                # WAL with full sync: an acknowledged write survives a kill -9 of the server.
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise ValueError(f"cannot open the database {self.path}: {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[Storage]:
        """Hold the lock and one SQLite transaction; commit on success, roll back on any exception."""
        with self._lock:
            if self._db.in_transaction:  # nested use joins the outer transaction
                yield self
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- generic documents
    def _get(self, table: str, id_: str) -> dict[str, Any] | None:
        row = self._db.execute(f"SELECT data FROM {table} WHERE id = ?", (id_,)).fetchone()
        return json.loads(row[0]) if row else None

    # -- accounts
    def get_account(self, account_id: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT kind, data FROM accounts WHERE id = ?", (account_id,)).fetchone()
        return {**json.loads(row[1]), "_kind": row[0]} if row else None

    def put_account(self, account: dict[str, Any], kind: str) -> None:
        data = {key: value for key, value in account.items() if key != "_kind"}
        self._db.execute(
            "INSERT OR REPLACE INTO accounts (id, kind, data) VALUES (?, ?, ?)", (account["id"], kind, json.dumps(data))
        )

    # -- persons
    def index_persons(self, marks: Marks) -> None:
        """Mark every person with `marks` from now on, and re-mark those stored (a file written by an
        earlier version, or one whose marks have since changed)."""
        with self.transaction():
            self._marks = marks
            self._db.execute("DELETE FROM person_marks")
            for seq, data in self._db.execute("SELECT seq, data FROM persons").fetchall():
                self._mark(seq, json.loads(data))

    def _mark(self, seq: int, person: dict[str, Any]) -> None:
        self._db.executemany(
            "INSERT INTO person_marks (account_id, mark, person_seq) VALUES (?, ?, ?)",
            [(person["account"], mark, seq) for mark in self._marks(person)],
        )

    def get_person(self, account_id: str, person_id: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT data FROM persons WHERE id = ? AND account_id = ?", (person_id, account_id)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def roster(self, account_id: str, exclude: str | None = None) -> AccountRoster:
        """The account's persons but `exclude`, as the rules ask for them."""
        return AccountRoster(self._db, account_id, exclude or "")

    def insert_person(self, person: dict[str, Any]) -> None:
        cursor = self._db.execute(
            "INSERT INTO persons (id, account_id, data) VALUES (?, ?, ?)",
            (person["id"], person["account"], json.dumps(person)),
        )
        self._mark(int(cursor.lastrowid or 0), person)

    def update_person(self, person: dict[str, Any]) -> None:
        (seq,) = self._db.execute("SELECT seq FROM persons WHERE id = ?", (person["id"],)).fetchone()
        self._db.execute("UPDATE persons SET data = ? WHERE seq = ?", (json.dumps(person), seq))
        self._db.execute("DELETE FROM person_marks WHERE person_seq = ?", (seq,))
        self._mark(seq, person)

    def delete_person(self, person_id: str) -> None:
        marks = "DELETE FROM person_marks WHERE person_seq IN (SELECT seq FROM persons WHERE id = ?)"
        self._db.execute(marks, (person_id,))
        self._db.execute("DELETE FROM persons WHERE id = ?", (person_id,))

    def page_of_persons(
        self, account_id: str, *, limit: int, after_seq: int | None, before_seq: int | None, newest_first: bool = True
    ) -> list[tuple[int, dict[str, Any]]]:
        """Persons in list order (newest or oldest first, by insertion sequence), strictly after or before a
        sequence number in that order."""
        forward, backward = ("<", "DESC"), (">", "ASC")
        if not newest_first:
            forward, backward = backward, forward
        (compare, order), bound, flip = (
            (backward, before_seq, True) if before_seq is not None else (forward, after_seq, False)
        )
        if bound is None:
            bound = 2**62 if compare == "<" else -1
        rows = self._db.execute(
            f"SELECT seq, data FROM persons WHERE account_id = ? AND seq {compare} ? ORDER BY seq {order} LIMIT ?",
            (account_id, bound, limit),
        ).fetchall()
        return [(seq, json.loads(data)) for seq, data in (rows[::-1] if flip else rows)]

    def has_persons_beyond(self, account_id: str, seq: int, *, newer: bool) -> bool:
        op = ">" if newer else "<"
        row = self._db.execute(
            f"SELECT 1 FROM persons WHERE account_id = ? AND seq {op} ? LIMIT 1", (account_id, seq)
        ).fetchone()
        return row is not None

    # -- person tokens
    def get_person_token(self, token_id: str) -> dict[str, Any] | None:
        return self._get("person_tokens", token_id)

    def put_person_token(self, token: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO person_tokens (id, account_id, data) VALUES (?, ?, ?)",
            (token["id"], token["account"], json.dumps(token)),
        )

    # -- v1 tokens
    def get_v1_token(self, token_id: str) -> dict[str, Any] | None:
        return self._get("v1_tokens", token_id)

    def put_v1_token(self, token: dict[str, Any]) -> None:
        self._db.execute("INSERT OR REPLACE INTO v1_tokens (id, data) VALUES (?, ?)", (token["id"], json.dumps(token)))

    # -- idempotency
    def get_idempotent(self, scope: str, key: str) -> tuple[str, int, dict[str, Any]] | None:
        row = self._db.execute(
            "SELECT fingerprint, status, body FROM idempotency WHERE scope = ? AND key = ?", (scope, key)
        ).fetchone()
        return (row[0], row[1], json.loads(row[2])) if row else None

    def put_idempotent(self, scope: str, key: str, fingerprint: str, status: int, body: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO idempotency (scope, key, fingerprint, status, body) VALUES (?, ?, ?, ?, ?)",
            (scope, key, fingerprint, status, json.dumps(body)),
        )


class AccountRoster:
    """The rules' Roster, read from the person index inside the caller's transaction."""

    def __init__(self, db: sqlite3.Connection, account_id: str, exclude: str) -> None:
        self._db, self._account, self._exclude = db, account_id, exclude

    def any(self) -> bool:
        query = "SELECT 1 FROM persons WHERE account_id = ? AND id != ? LIMIT 1"
        row = self._db.execute(query, (self._account, self._exclude))
        return row.fetchone() is not None

    def marked(self, mark: str) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT p.data FROM person_marks m JOIN persons p ON p.seq = m.person_seq"
            " WHERE m.account_id = ? AND m.mark = ? AND p.id != ? ORDER BY m.person_seq DESC",
            (self._account, mark, self._exclude),
        )
        return [json.loads(data) for (data,) in rows]
