"""The account-wide rules read an index of person marks, not the whole account: the index answers as the
persons themselves would (PersonList), and a database file without it (an earlier version's) is re-marked
when the server opens it."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from conformance.reference.auth import Caller
from conformance.reference.rules import PersonList, person_marks
from conformance.reference.service import Service
from conformance.reference.storage import Storage

from .conftest import SECRET_KEY

CALLER = Caller(key=SECRET_KEY, publishable=False, livemode=False, platform=None)
ROLES = ("representative", "legal_guardian", "authorizer", "owner", "director", "executive")


def _person(rng: random.Random, index: int) -> dict[str, Any]:
    relationship: dict[str, Any] = {role: True for role in rng.sample(ROLES, rng.randint(0, 2))}
    if rng.random() < 0.4:
        relationship["percent_ownership"] = str(rng.randint(0, 5))
    person: dict[str, Any] = {"id": f"person_test_{index}", "account": "acct_x", "relationship": relationship}
    if rng.random() < 0.5:
        person |= {
            "given_name": rng.choice(["Ann", "ANN", "Bo"]),
            "surname": "Lee",
            "date_of_birth": {"day": 1, "month": 1, "year": rng.choice([1980, 1990])},
        }
    return person


def test_the_index_answers_as_the_persons_would() -> None:
    rng = random.Random(20261202)
    storage = Storage(":memory:")
    storage.index_persons(person_marks)
    persons = [_person(rng, index) for index in range(60)]
    with storage.transaction():
        for person in persons:
            storage.insert_person(person)
        for person in rng.sample(persons, 15):  # updates move marks, deletes drop them
            person["relationship"] = {"owner": True, "percent_ownership": "1"}
            storage.update_person(person)
        for person in rng.sample(persons, 10):
            persons.remove(person)
            storage.delete_person(person["id"])
    marks = set().union(*(person_marks(person) for person in persons)) | {"role:nobody"}
    for exclude in (None, persons[3]["id"]):
        expected = PersonList(tuple(person for person in reversed(persons) if person["id"] != exclude))
        roster = storage.roster("acct_x", exclude)
        assert roster.any() is expected.any()
        for mark in marks:
            assert [person["id"] for person in roster.marked(mark)] == [
                person["id"] for person in expected.marked(mark)
            ], mark


def _refusal(service: Service, account_id: str, body: dict[str, Any]) -> str | None:
    status, answer = service.create_person(CALLER, account_id, body, None)
    return answer["error"]["code"] if status != 200 else None


def test_a_file_without_the_index_is_re_marked_on_open(tmp_path: Path) -> None:
    database = tmp_path / "reference.db"
    service = Service(Storage(database))
    account_id = service.create_account(CALLER, {"identity": {"country": "us"}})[1]["id"]
    jenny = {
        "given_name": "Jenny",
        "surname": "Rosen",
        "date_of_birth": {"day": 1, "month": 1, "year": 1990},
        "relationship": {"representative": True, "owner": True, "percent_ownership": "60"},
    }
    assert _refusal(service, account_id, jenny) is None
    service.storage.close()
    with sqlite3.connect(database) as db:  # as an earlier version wrote it
        db.execute("DROP TABLE person_marks")

    reopened = Service(Storage(database))
    assert (
        _refusal(reopened, account_id, {"relationship": {"representative": True}})
        == "additional_representative_not_allowed"
    )
    assert (
        _refusal(reopened, account_id, {"relationship": {"percent_ownership": "41"}})
        == "total_person_ownership_exceeded"
    )
    assert _refusal(reopened, account_id, {**jenny, "relationship": {}}) == "duplicate_person_not_allowed"
    assert _refusal(reopened, account_id, {"relationship": {"percent_ownership": "40"}}) is None


@pytest.mark.parametrize("persons", [1, 2000])
def test_account_wide_rules_hold_on_a_large_account(persons: int) -> None:
    service = Service(Storage(":memory:"))
    account_id = service.create_account(CALLER, {"identity": {"country": "us"}})[1]["id"]
    service.create_person(CALLER, account_id, {"relationship": {"representative": True}}, None)
    for index in range(persons - 1):
        service.create_person(CALLER, account_id, {"given_name": f"Person {index}"}, None)
    assert (
        _refusal(service, account_id, {"relationship": {"representative": True}})
        == "additional_representative_not_allowed"
    )
