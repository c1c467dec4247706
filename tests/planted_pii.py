"""Distinctive personal data for the redaction tests, and a target that echoes it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, quote_plus

from .mutants import PERSON, _objects

PLANTED = {
    "given_name": "Zebulonia",
    "surname": "Quixote-Vanterpool",
    "email": "zebulonia.q@planted-pii.test",
    "phone": "+15550009876",
    "address": {"line1": "742 Evergreen Terrace", "city": "Springfieldia", "postal_code": "97999", "country": "US"},
    "date_of_birth": {"day": 17, "month": 11, "year": 1931},
    "id_numbers": [{"type": "us_ssn", "value": "987654329"}],
    "additional_names": [{"purpose": "alias", "full_name": "Zeb Q. Vanterpool"}],
}
VALUES = (
    "Zebulonia",
    "Quixote-Vanterpool",
    "zebulonia.q@planted-pii.test",
    "+15550009876",
    "742 Evergreen Terrace",
    "Springfieldia",
    "97999",
    "1931",
    "987654329",
    "Zeb Q. Vanterpool",
)


def echo_planted(document: Any) -> Any:
    """A target that echoes personal data: every person it returns carries PLANTED, id number value included;
    every v1 token, the v1 form of it; every error, the email in its message."""
    for person in _objects(document, lambda node: node.get("object") == PERSON and "created" in node):
        person.update(PLANTED)
    for token in _objects(document, lambda node: node.get("object") == "token"):
        token["person"] = {
            "first_name": "Zebulonia",
            "last_name": "Quixote-Vanterpool",
            "id_number": "987654329",
            "dob": {"day": 17, "month": 11, "year": 1931},
        }
    if isinstance(document, dict) and isinstance(document.get("error"), dict):
        document["error"]["message"] = f"{document['error'].get('message')} (contact zebulonia.q@planted-pii.test)"
    return document


ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def planted_in(text: str) -> list[str]:
    """The planted values in a text, as they are or URL-encoded, standing alone (not 1931 in a duration 0.01931)."""
    forms = {form for value in VALUES for form in (value, quote(value), quote_plus(value), quote(value, safe=""))}
    return sorted(form for form in forms if _standing_alone(text, form))


def _standing_alone(text: str, form: str) -> bool:
    """An occurrence of `form` with no letter, digit or dot before it and no letter or digit after it. Found by
    str.find: a pattern that starts with a lookbehind is tried at every position (seconds on a run's outputs)."""
    start = text.find(form)
    while start != -1:
        before, after = text[start - 1 : start], text[start + len(form) : start + len(form) + 1]
        if before not in ALPHANUMERIC | {"."} and after not in ALPHANUMERIC:
            return True
        start = text.find(form, start + 1)
    return False
