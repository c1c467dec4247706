"""Domain rules of the reference server: plain Python, no HTTP, no storage, no I/O.

The service calls these after schema validation. Each rule answers one documented code (see the
Rules table of docs/reference-server.md) and the rules run in the table's order, so the first
broken rule answers.

A rule reads some members of the person. It runs when the body sends at least one of them, and it
sees the person as it will be stored (`merge_person(existing, body)` on update): an update can send
just a postal code and have it checked against the stored country, and an update that does not
touch a rule's members is not refused because of it.
"""

from __future__ import annotations

import copy
import datetime
import ipaddress
import json
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

from conformance.reference.errors import ApiError
from conformance.spec.decisions import declared_default

__all__ = [
    "AccountFacts",
    "PersonList",
    "Roster",
    "RuleSettings",
    "check_person_token_alone",
    "check_person_write",
    "merge_person",
    "person_marks",
]


class Roster(Protocol):
    """The account's other persons, as the account-wide rules ask for them: whether there is one, and
    those carrying a mark of `person_marks` (newest first). Storage answers from an index, so a rule
    costs the same on an account of three persons and on one of thirty thousand."""

    def any(self) -> bool: ...

    def marked(self, mark: str) -> list[dict[str, Any]]: ...


def person_marks(person: dict[str, Any]) -> frozenset[str]:
    """What the account-wide rules look a person up by: each role it holds, a share of ownership, and
    its identity (given_name, surname, date_of_birth)."""
    relationship = person.get("relationship") or {}
    marks = {f"role:{role}" for role, value in relationship.items() if value is True}
    if relationship.get("percent_ownership") is not None:
        marks.add("owns")
    key = _identity_key(person)
    if key is not None:
        marks.add("identity:" + json.dumps(key, ensure_ascii=False))
    return frozenset(marks)


@dataclass(frozen=True)
class PersonList:
    """A Roster over persons held in memory (newest first)."""

    persons: tuple[dict[str, Any], ...] = ()

    def any(self) -> bool:
        return bool(self.persons)

    def marked(self, mark: str) -> list[dict[str, Any]]:
        return [person for person in self.persons if mark in person_marks(person)]


@dataclass(frozen=True)
class AccountFacts:
    """What the rules need to know about the account in the path."""

    id: str
    country: str | None  # identity country, lowercase ISO alpha-2, or None when the account has none
    entity_type: str  # "company" | "individual" | "non_profit" | "government_entity"
    persons: Roster  # the account's OTHER persons (on update: without the one being updated)


# Like Stripe's test file tokens: file id -> the purpose it was uploaded with.
TEST_FILES = MappingProxyType(
    {
        "file_identity_document_success": "identity_document",
        "file_account_requirement_success": "account_requirement",
    }
)


def _declared_default(decision: str) -> Any:
    """A field whose default is the decision's, as the spec declares it."""
    return field(default_factory=lambda: declared_default(decision))


@dataclass(frozen=True)
class RuleSettings:
    """The environment of the rules, fixed by the caller so that tests are deterministic; the rest are the
    server's choices where Stripe publishes nothing (the spec's decisions of the same names)."""

    today: datetime.date
    age_limit: int = _declared_default("representative_age_limit")
    files: Mapping[str, str] = field(default_factory=lambda: TEST_FILES)  # known file id -> purpose (read-only)
    update_nested_objects: str = _declared_default("update_nested_objects")
    update_arrays: str = _declared_default("update_arrays")
    percent_ownership_scale: str = _declared_default("percent_ownership_scale")
    identity_country_rule: str = _declared_default("identity_country_rule")
    metadata_alongside_person_token: str = _declared_default("metadata_alongside_person_token")

    @property
    def full_ownership(self) -> Decimal:
        return Decimal(100) if self.percent_ownership_scale == "percent" else Decimal(1)


# ----------------------------------------------------------------------------- public operations


def check_person_token_alone(body: dict[str, Any], settings: RuleSettings | None = None) -> None:
    """Raise param_alongside_person_token when `person_token` comes with another member (metadata aside, where
    the server allows it)."""
    if "person_token" not in body:
        return
    allowed_metadata = settings is None or settings.metadata_alongside_person_token == "allowed"
    alongside = {"person_token"} | ({"metadata"} if allowed_metadata else set())
    extra = sorted(set(body) - alongside)
    if extra:
        allowed = " (metadata may accompany it)" if "metadata" in alongside else ""
        raise ApiError(
            "param_alongside_person_token",
            f"person_token must be sent alone{allowed}, but the request also sends {', '.join(extra)}",
        )


def merge_person(
    existing: dict[str, Any], body: dict[str, Any], settings: RuleSettings | None = None
) -> dict[str, Any]:
    """The person after an update: a new dict, neither input is changed.

    Nested objects merge member by member or are replaced whole, arrays are replaced or gain the sent
    items not yet stored, as the settings say; metadata always merges key by key, and a null removes its
    key (the schema allows null only for metadata values).
    """
    merged = copy.deepcopy(existing)
    _apply(merged, body, settings or RuleSettings(today=datetime.date.today()), top=True)
    return merged


def _apply(target: dict[str, Any], changes: dict[str, Any], settings: RuleSettings, *, top: bool = False) -> None:
    for key, value in changes.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and (key == "metadata" or settings.update_nested_objects == "merge" or not top):
            if not isinstance(target.get(key), dict):
                target[key] = {}
            _apply(target[key], value, settings)
        elif isinstance(value, list) and settings.update_arrays == "merge" and isinstance(target.get(key), list):
            target[key] = [*target[key], *(copy.deepcopy(item) for item in value if item not in target[key])]
        else:
            target[key] = copy.deepcopy(value)


def check_person_write(
    body: dict[str, Any], *, account: AccountFacts, existing: dict[str, Any] | None, settings: RuleSettings
) -> None:
    """Raise the ApiError of the first broken rule for a create (existing None) or update person body.

    The body is valid against the spec and has no person_token (check_person_token_alone and the
    token codes are the service's business).
    """
    write = _Write(body if existing is None else merge_person(existing, body, settings), account, settings)
    for rule in _RULES:
        if rule.create_only and existing is not None:
            continue
        if rule.reads and not rule.reads & body.keys():
            continue
        message = rule.check(write)
        if message is not None:
            raise ApiError(rule.code, message, **rule.members(write))


# ----------------------------------------------------------------------------- the rule machinery


@dataclass(frozen=True)
class _Write:
    person: dict[str, Any]  # the person as it will be stored
    account: AccountFacts
    settings: RuleSettings


Check = Callable[[_Write], str | None]  # the message when the rule is broken, else None


@dataclass(frozen=True)
class _Rule:
    code: str
    # Top-level members the rule looks at; it runs only when the body sends one of them (so a check
    # reading a single member may take it as present). Empty: the rule runs on every write.
    reads: frozenset[str]
    check: Check
    create_only: bool = False
    members: Callable[[_Write], dict[str, Any]] = lambda write: {}  # the code's documented extra members


def _upper(value: str | None) -> str | None:
    # Countries and states compare case-insensitively ("US" == "us").
    return value.upper() if value else None


# ----------------------------------------------------------------------------- addresses


class _Address(NamedTuple):
    label: str  # where it is in the request, for messages: "address", "additional_addresses[0]", ...
    kind: str  # "residential" | "additional" | "script"
    members: dict[str, Any]

    @property
    def country(self) -> str | None:
        return _upper(self.members.get("country"))


def _addresses(person: dict[str, Any]) -> Iterator[_Address]:
    if person.get("address") is not None:
        yield _Address("address", "residential", person["address"])
    for index, address in enumerate(person.get("additional_addresses") or ()):
        yield _Address(f"additional_addresses[{index}]", "additional", address)
    for script, address in (person.get("script_addresses") or {}).items():
        yield _Address(f"script_addresses.{script}", "script", address)


def _residential_country(person: dict[str, Any]) -> str | None:
    return _upper((person.get("address") or {}).get("country"))


AddressCheck = Callable[[_Address, _Write], str | None]


def _each_address(check: AddressCheck) -> Check:
    """A rule over every address of the person: the first broken address answers."""

    def check_all(write: _Write) -> str | None:
        for address in _addresses(write.person):
            message = check(address, write)
            if message is not None:
                return message
        return None

    return check_all


def _country_missing(address: _Address, write: _Write) -> str | None:
    if address.country is None:
        return f"{address.label}.country is required: no country is sent or stored for this address"
    return None


def _identity_country_missing(write: _Write) -> str | None:
    if write.account.country is not None:
        return None
    if write.settings.identity_country_rule == "persons":
        return (
            f"account {write.account.id} has no identity country; set identity.country on the "
            "account before adding persons"
        )
    if next(_addresses(write.person), None) is not None:
        return (
            f"account {write.account.id} has no identity country; set identity.country on the "
            "account before giving a person an address"
        )
    return None


_FORBIDDEN_ADDRESS_CHARACTERS = set("<>{}[]|\\^~")


def _address_characters(address: _Address, write: _Write) -> str | None:
    for name, value in address.members.items():
        bad = next((c for c in value if c in _FORBIDDEN_ADDRESS_CHARACTERS or unicodedata.category(c) == "Cc"), None)
        if bad is not None:
            return (
                f"{address.label}.{name} contains {bad!r}, which is not allowed in an address "
                "(control characters and <>{}[]|\\^~ are refused)"
            )
    return None


def _town_outside_jp(address: _Address, write: _Write) -> str | None:
    if "town" in address.members and address.country != "JP":
        return f"{address.label}.town is only for JP addresses, and this address is in {address.country}"
    return None


def _jp_postal_code_missing(address: _Address, write: _Write) -> str | None:
    if address.country == "JP" and not address.members.get("postal_code"):
        return f"{address.label}.postal_code is required for a JP address"
    return None


_POSTAL_CODES = {
    "US": (re.compile(r"[0-9]{5}(-[0-9]{4})?"), "a valid US ZIP code (12345 or 12345-6789)"),
    "JP": (re.compile(r"[0-9]{3}-?[0-9]{4}"), "a valid JP postal code (123-4567 or 1234567)"),
}
_OTHER_POSTAL_CODES = (
    re.compile(r"[A-Za-z0-9 -]{1,10}"),
    "a valid postal code (1 to 10 letters, digits, spaces or hyphens)",
)


def _postal_code_format(address: _Address, write: _Write) -> str | None:
    code = address.members.get("postal_code")
    pattern, description = _POSTAL_CODES.get(address.country or "", _OTHER_POSTAL_CODES)
    if code is not None and not pattern.fullmatch(code):
        return f"{address.label}.postal_code {code!r} is not {description}"
    return None


# APO/FPO ZIP codes: the armed forces in Europe (09xxx), the Americas (340xx) and the Pacific (962xx-966xx).
_MILITARY_ZIP = re.compile(r"09[0-9]{3}|340[0-9]{2}|96[2-6][0-9]{2}")


def _military_postal_code(address: _Address, write: _Write) -> str | None:
    code = address.members.get("postal_code")
    if address.country == "US" and code and _MILITARY_ZIP.fullmatch(code[:5]):
        return f"{address.label}.postal_code {code!r} is a US military (APO/FPO) ZIP code, which is not supported"
    return None


_US_STATES = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "DC",
        "AS",
        "GU",
        "MP",
        "PR",
        "VI",
        "UM",
    ]
)
_US_MILITARY_STATES = frozenset({"AA", "AE", "AP"})  # real USPS codes, hence not "invalid", but unsupported


def _us_state_unknown(address: _Address, write: _Write) -> str | None:
    state = address.members.get("state")
    if address.country == "US" and state is not None and _upper(state) not in _US_STATES | _US_MILITARY_STATES:
        return f"{address.label}.state {state!r} is not a USPS state, district or territory code (e.g. CA, DC, PR)"
    return None


def _us_military_state(address: _Address, write: _Write) -> str | None:
    state = address.members.get("state")
    if address.country == "US" and _upper(state) in _US_MILITARY_STATES:
        return f"{address.label}.state {state!r} is an armed forces code (AA, AE, AP), which is not supported"
    return None


def _script_address_outside_jp(address: _Address, write: _Write) -> str | None:
    if address.kind == "script" and address.country != "JP":
        return f"{address.label} is in {address.country}, but kana and kanji addresses must be in JP"
    return None


def _country_differs_from_residential(address: _Address, write: _Write) -> str | None:
    residential = _residential_country(write.person)
    if address.kind != "residential" and residential is not None and address.country != residential:
        return f"{address.label}.country {address.country} differs from the residential address country {residential}"
    return None


def _residential_country_not_identity(write: _Write) -> str | None:
    country, identity = _residential_country(write.person), _upper(write.account.country)
    if write.account.entity_type == "individual" and country is not None and country != identity:
        return (
            f"address.country {country} differs from the identity country {identity} of individual "
            f"account {write.account.id}"
        )
    return None


# ----------------------------------------------------------------------------- other members

# Kana: hiragana, katakana (with its phonetic extensions and half-width forms) and spaces.
_KANA = re.compile(r"[\u3041-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff65-\uff9f \u3000]*")


def _is_latin_or_digit(character: str) -> bool:
    return character.isdigit() or "LATIN" in unicodedata.name(character, "")


def _script_characters(write: _Write) -> str | None:
    for script, names in (write.person.get("script_names") or {}).items():
        for name, value in names.items():
            if script == "kana" and not _KANA.fullmatch(value):
                return f"script_names.kana.{name} {value!r} must be written in kana (hiragana or katakana)"
            if script == "kanji" and any(_is_latin_or_digit(character) for character in value):
                return f"script_names.kanji.{name} {value!r} must not contain Latin letters or digits"
    return None


_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}")
_RESERVED_TLDS = frozenset({"test", "invalid", "localhost", "example"})  # RFC 2606: never deliverable


def _email_format(write: _Write) -> str | None:
    email = write.person["email"]
    if not _EMAIL.fullmatch(email):
        return f"email {email!r} is not a valid email address (local@domain.tld)"
    return None


def _email_reserved_domain(write: _Write) -> str | None:
    email = write.person["email"]
    if email.rsplit(".", 1)[-1].lower() in _RESERVED_TLDS:
        return (
            f"email {email!r} is under the reserved top-level domain .{email.rsplit('.', 1)[-1]}, "
            "which cannot receive email"
        )
    return None


_PHONE = re.compile(r"\+?[0-9 .()-]*")


def _phone_format(write: _Write) -> str | None:
    phone = write.person["phone"]
    if not (_PHONE.fullmatch(phone) and 7 <= sum(character.isdigit() for character in phone) <= 15):
        return (
            f"phone {phone!r} is not a valid phone number "
            "(7 to 15 digits, optionally led by '+', with spaces, dots, hyphens or brackets)"
        )
    return None


def _date_of_birth(write: _Write) -> str | None:
    dob = write.person["date_of_birth"]
    shown = f"{dob['year']:04d}-{dob['month']:02d}-{dob['day']:02d}"
    try:
        born = datetime.date(dob["year"], dob["month"], dob["day"])
    except (ValueError, OverflowError):  # a year beyond C int range overflows
        return f"date_of_birth {shown} is not a calendar date"
    if born.year < 1900:
        return f"date_of_birth {shown} is before 1900"
    if born > write.settings.today:
        return f"date_of_birth {shown} is in the future (today is {write.settings.today.isoformat()})"
    return None


def _id_number_format_of(id_type: str) -> tuple[re.Pattern[str], str]:
    if id_type in ("us_ssn", "us_itin"):
        return re.compile(r"[0-9]{9}"), "9 digits"
    if id_type.endswith("_last_4"):
        return re.compile(r"[0-9]{4}"), "4 digits"
    return re.compile(r"[A-Za-z0-9./-]{1,64}"), "1 to 64 letters, digits, '-', '.' or '/'"


def _id_number_format(write: _Write) -> str | None:
    for index, id_number in enumerate(write.person["id_numbers"]):
        pattern, description = _id_number_format_of(id_number["type"])
        if not pattern.fullmatch(id_number["value"]):
            return f"id_numbers[{index}].value is not a valid {id_number['type']} (expected {description})"
    return None


def _id_number_country(write: _Write) -> str | None:
    country = _residential_country(write.person)
    for index, id_number in enumerate(write.person.get("id_numbers") or ()):
        id_country = id_number["type"].split("_")[0].upper()  # every IdNumberType starts with its ISO country
        if country is not None and id_country != country:
            return (
                f"id_numbers[{index}].type {id_number['type']} is a {id_country} ID number, but the "
                f"person's address is in {country}"
            )
    return None


def _terms_ip(write: _Write) -> str | None:
    ip = (write.person["additional_terms_of_service"].get("account") or {}).get("ip")
    if ip is None:
        return None
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return f"additional_terms_of_service.account.ip {ip!r} is not an IPv4 or IPv6 address"
    return None


# The purpose each document's files must have been uploaded with.
_DOCUMENT_PURPOSES = {
    "company_authorization": "account_requirement",
    "passport": "account_requirement",
    "visa": "account_requirement",
    "primary_verification": "identity_document",
    "secondary_verification": "identity_document",
}


def _document_files(person: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(where, file id, the purpose it needs) for every file the person's documents name."""
    for name, document in (person.get("documents") or {}).items():
        purpose = _DOCUMENT_PURPOSES[name]
        for index, file_id in enumerate(document.get("files") or ()):
            yield f"documents.{name}.files[{index}]", file_id, purpose
        for side, file_id in (document.get("front_back") or {}).items():
            yield f"documents.{name}.front_back.{side}", file_id, purpose


def _unknown_document(write: _Write) -> str | None:
    for where, file_id, _ in _document_files(write.person):
        if file_id not in write.settings.files:
            return f"{where} {file_id!r} is not a file uploaded to this account"
    return None


def _document_purpose(write: _Write) -> str | None:
    for where, file_id, purpose in _document_files(write.person):
        if write.settings.files[file_id] != purpose:
            return (
                f"{where} {file_id!r} was uploaded with purpose {write.settings.files[file_id]}, but "
                f"this document needs {purpose}"
            )
    return None


# ----------------------------------------------------------------------------- relationships and the account


def _is(person: dict[str, Any], role: str) -> bool:
    return (person.get("relationship") or {}).get(role) is True


def _another(write: _Write, role: str) -> dict[str, Any] | None:
    return next(iter(write.account.persons.marked(f"role:{role}")), None)


def _percent(person: dict[str, Any]) -> Decimal:
    # A decimal string on the server's scale (0 to 100, or 0 to 1); an unset percentage counts as 0.
    value = (person.get("relationship") or {}).get("percent_ownership")
    return Decimal(value) if value is not None else Decimal(0)


def _guardian_and_representative(write: _Write) -> str | None:
    if _is(write.person, "legal_guardian") and _is(write.person, "representative"):
        return "relationship.legal_guardian and relationship.representative cannot both be true for one person"
    return None


def _authorizer_and_representative(write: _Write) -> str | None:
    if _is(write.person, "authorizer") and _is(write.person, "representative"):
        return "relationship.authorizer and relationship.representative cannot both be true for one person"
    return None


def _terms_without_guardian(write: _Write) -> str | None:
    if "additional_terms_of_service" in write.person and not _is(write.person, "legal_guardian"):
        return "additional_terms_of_service can only be accepted by a legal guardian (relationship.legal_guardian true)"
    return None


def _owner_with_zero_percent(write: _Write) -> str | None:
    relationship = write.person.get("relationship") or {}
    if relationship.get("percent_ownership") is None:
        return None
    if _is(write.person, "owner") and _percent(write.person) == 0:
        return "relationship.owner is true but relationship.percent_ownership is 0%; an owner must own more than 0%"
    return None


_ROLES_NOT_FOR_ENTITY = {"non_profit": ("owner",), "government_entity": ("owner",), "individual": ("director",)}


def _role_for_entity_type(write: _Write) -> str | None:
    entity_type = write.account.entity_type
    for role in _ROLES_NOT_FOR_ENTITY.get(entity_type, ()):
        if _is(write.person, role):
            return f"relationship.{role} is not available on a {entity_type} account ({write.account.id})"
    return None


def _age(dob: dict[str, Any], today: datetime.date) -> int:
    return int(today.year - dob["year"] - ((today.month, today.day) < (dob["month"], dob["day"])))


def _representative_too_young(write: _Write) -> str | None:
    dob, limit = write.person.get("date_of_birth"), write.settings.age_limit
    if _is(write.person, "representative") and dob is not None and (age := _age(dob, write.settings.today)) < limit:
        return (
            f"a representative must be at least {limit} years old, and this person is {age}; a "
            "younger person needs a legal guardian"
        )
    return None


def _second_person_on_individual(write: _Write) -> str | None:
    if write.account.entity_type == "individual" and write.account.persons.any():
        return f"individual account {write.account.id} already has a person; it cannot have another"
    return None


def _second(role: str) -> Check:
    """The rule that the account has at most one person with `role`."""

    def check(write: _Write) -> str | None:
        other = _another(write, role) if _is(write.person, role) else None
        if other is not None:
            return (
                f"account {write.account.id} already has a {role.replace('_', ' ')} "
                f"({other.get('id')}); relationship.{role} cannot be true for a second person"
            )
        return None

    return check


def _guardian_without_representative(write: _Write) -> str | None:
    if _is(write.person, "legal_guardian") and _another(write, "representative") is None:
        return f"account {write.account.id} has no representative; add the representative before a legal guardian"
    return None


def _ownership_total(write: _Write) -> str | None:
    owners = write.account.persons.marked("owns")
    own, others = _percent(write.person), sum((_percent(other) for other in owners), Decimal(0))
    if own + others > write.settings.full_ownership:
        return (
            f"relationship.percent_ownership {own} plus the {others} owned by the account's other "
            f"persons is {own + others}, "
            f"more than {write.settings.full_ownership} (100%)"
        )
    return None


def _identity_key(person: dict[str, Any]) -> tuple[Any, ...] | None:
    given_name, surname, dob = person.get("given_name"), person.get("surname"), person.get("date_of_birth")
    if not (given_name and surname and dob):
        return None
    return given_name.casefold(), surname.casefold(), (dob.get("year"), dob.get("month"), dob.get("day"))


def _duplicate_of(write: _Write) -> dict[str, Any] | None:
    key = _identity_key(write.person)
    if key is None:
        return None
    return next(iter(write.account.persons.marked("identity:" + json.dumps(key, ensure_ascii=False))), None)


def _duplicate(write: _Write) -> str | None:
    other = _duplicate_of(write)
    if other is not None:
        return f"person {other['id']} of the account already has this given_name, surname and date_of_birth"
    return None


# ----------------------------------------------------------------------------- the table, in the doc's order

_ADDRESS_MEMBERS = frozenset({"address", "additional_addresses", "script_addresses"})
_RELATIONSHIP = frozenset({"relationship"})

_RULES: tuple[_Rule, ...] = (
    _Rule("address_country_required", _ADDRESS_MEMBERS, _each_address(_country_missing)),
    _Rule("identity_country_required", frozenset(), _identity_country_missing),
    _Rule("address_characters_invalid", _ADDRESS_MEMBERS, _each_address(_address_characters)),
    _Rule("address_town_invalid", _ADDRESS_MEMBERS, _each_address(_town_outside_jp)),
    _Rule("postal_code_required_for_jp_address", _ADDRESS_MEMBERS, _each_address(_jp_postal_code_missing)),
    _Rule("address_postal_code_invalid", _ADDRESS_MEMBERS, _each_address(_postal_code_format)),
    _Rule("unsupported_postal_code", _ADDRESS_MEMBERS, _each_address(_military_postal_code)),
    _Rule("address_state_invalid", _ADDRESS_MEMBERS, _each_address(_us_state_unknown)),
    _Rule("unsupported_state", _ADDRESS_MEMBERS, _each_address(_us_military_state)),
    _Rule("non_jp_kana_kanji_address", _ADDRESS_MEMBERS, _each_address(_script_address_outside_jp)),
    _Rule("address_country_mismatch", _ADDRESS_MEMBERS, _each_address(_country_differs_from_residential)),
    _Rule("address_country_identity_country_mismatch", frozenset({"address"}), _residential_country_not_identity),
    _Rule("script_characters_invalid", frozenset({"script_names"}), _script_characters),
    _Rule("email_invalid", frozenset({"email"}), _email_format),
    _Rule("email_domain_invalid_for_recipient", frozenset({"email"}), _email_reserved_domain),
    _Rule("phone_invalid", frozenset({"phone"}), _phone_format),
    _Rule("date_of_birth_invalid", frozenset({"date_of_birth"}), _date_of_birth),
    _Rule("id_number_invalid", frozenset({"id_numbers"}), _id_number_format),
    _Rule("incorrect_id_number_for_country", frozenset({"id_numbers", "address"}), _id_number_country),
    _Rule("ip_address_invalid", frozenset({"additional_terms_of_service"}), _terms_ip),
    _Rule("document_invalid", frozenset({"documents"}), _unknown_document),
    _Rule("document_purpose_invalid", frozenset({"documents"}), _document_purpose),
    _Rule("legal_guardian_representative_not_allowed", _RELATIONSHIP, _guardian_and_representative),
    _Rule(
        "authorizer_relationship_invalid_for_representative",
        _RELATIONSHIP,
        _authorizer_and_representative,
        create_only=True,
    ),
    _Rule(
        "additional_tos_only_allowed_for_legal_guardian",
        frozenset({"additional_terms_of_service", "relationship"}),
        _terms_without_guardian,
    ),
    _Rule("person_percent_ownership_invalid", _RELATIONSHIP, _owner_with_zero_percent),
    _Rule(
        "invalid_relationship_for_identity_type_structure_and_country",
        _RELATIONSHIP,
        _role_for_entity_type,
        create_only=True,
    ),
    _Rule(
        "date_of_birth_age_restriction",
        frozenset({"relationship", "date_of_birth"}),
        _representative_too_young,
        members=lambda write: {"age_limit": str(write.settings.age_limit)},
    ),
    _Rule("individual_additional_person_not_allowed", frozenset(), _second_person_on_individual, create_only=True),
    _Rule("additional_representative_not_allowed", _RELATIONSHIP, _second("representative")),
    _Rule("additional_legal_guardian_not_allowed", _RELATIONSHIP, _second("legal_guardian")),
    _Rule("legal_guardian_requires_existing_representative", _RELATIONSHIP, _guardian_without_representative),
    _Rule("authorizer_duplicate", _RELATIONSHIP, _second("authorizer"), create_only=True),
    _Rule("total_person_ownership_exceeded", _RELATIONSHIP, _ownership_total),
    _Rule(
        "duplicate_person_not_allowed",
        frozenset({"given_name", "surname", "date_of_birth"}),
        _duplicate,
        members=lambda write: {"duplicate_person_id": (_duplicate_of(write) or {}).get("id")},
    ),
)
