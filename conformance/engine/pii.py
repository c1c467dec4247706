"""Personal data out of a run's outputs (`--redact-pii`, or `redact_pii: true` in a profile).

Names, emails, phones, addresses, dates of birth, id numbers, nationalities, gender and terms-of-service
IP and user agent are masked in every output: request and response bodies, curl commands, headers,
details and expectations. Ids, codes, statuses, error members and the structure stay readable.

Three passes, because personal data reaches an output in three forms:
- structured bodies (JSON, v1 forms): every value under a personal member is masked, keys kept
  (an address's `country` and an id number's `type` are codes and stay);
- text that quotes a body (a detail, a curl command, a body cut short): `"given_name": "..."` and
  `person[first_name]=...` are masked by member name;
- anything else: every personal value seen in a structured body of the run is masked wherever it
  appears (a detail saying `got 'Jenny'`), as is any email address.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

from conformance.engine.client import Exchange
from conformance.engine.results import CheckResult, RunResult

MASK = "[redacted]"
PERSONAL = frozenset(
    {
        # v2 persons
        "given_name",
        "surname",
        "full_name",
        "additional_names",
        "email",
        "phone",
        "address",
        "additional_addresses",
        "script_addresses",
        "script_names",
        "date_of_birth",
        "id_numbers",
        "nationalities",
        "legal_gender",
        "ip",
        "user_agent",
        # v1 person and PII tokens
        "first_name",
        "last_name",
        "first_name_kana",
        "first_name_kanji",
        "last_name_kana",
        "last_name_kanji",
        "maiden_name",
        "full_name_aliases",
        "dob",
        "id_number",
        "id_number_secondary",
        "ssn_last_4",
        "nationality",
        "gender",
        "registered_address",
        "address_kana",
        "address_kanji",
        # members of the above, for text that quotes them alone
        "line1",
        "line2",
        "city",
        "postal_code",
        "state",
        "town",
    }
)
KEPT = frozenset({"type", "purpose", "country"})  # codes inside personal members
# Masked where they stand, but not wherever their value appears: a terms-of-service IP is often the
# target's own address, and a user agent the suite's name.
UNLEARNED = frozenset({"ip", "user_agent"})
MIN_LEARNED = 3  # shorter values (a day of birth, "US") are too common to mask everywhere
_NAMES = "|".join(sorted(PERSONAL, key=len, reverse=True))
QUOTED_MEMBER = re.compile(
    rf"""(?P<lead>(?P<q>["'])(?:{_NAMES})(?P=q)\s*:\s*)(?:(?P<v>["'])(?:\\.|(?!(?P=v)).)*(?P=v)|-?\d+(?:\.\d+)?)"""
)
FORM_MEMBER = re.compile(
    rf"(?P<lead>(?:\[|%5B)(?:{_NAMES})(?:\]|%5D)(?:(?:\[|%5B)\w*(?:\]|%5D))*=)[^&'\"\s]*", re.IGNORECASE
)
# Bounded parts, as RFC 5321 bounds them: `[\w.]+@` alone is quadratic on a long run of dots without an `@`.
EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")


class PiiRedactor:
    """Masks personal data in results, learning the personal values of the run as it goes."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    # ------------------------------------------------------------------------- structures
    def _structure(self, value: Any, personal: bool = False, learn: bool = True) -> Any:
        if isinstance(value, dict):
            return {
                key: self._structure(
                    item, (personal and key not in KEPT) or key in PERSONAL, learn and key not in UNLEARNED
                )
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self._structure(item, personal, learn) for item in value]
        if not personal or value is None or isinstance(value, bool):
            return value
        text = str(value)
        if learn and len(text) >= MIN_LEARNED and text != MASK:
            self._values.add(text)
            self._pattern = None
        return MASK

    def _form(self, body: str) -> str:
        pairs = parse_qsl(body, keep_blank_values=True)
        masked = []
        for key, value in pairs:
            parts = re.findall(r"[^\[\]]+", key)
            personal = any(part in PERSONAL for part in parts) and parts[-1] not in KEPT
            masked.append((key, self._structure(value, personal, not UNLEARNED & set(parts)) if value else value))
        return urlencode(masked, safe="[]")

    def _body(self, body: str | None, form: bool) -> str | None:
        if not body:
            return body
        try:
            return json.dumps(self._structure(json.loads(body)), ensure_ascii=False)
        except (ValueError, RecursionError):
            pass
        return self._form(body) if form else body

    # ------------------------------------------------------------------------------ texts
    def text(self, text: str) -> str:
        """A free text with the personal data it quotes masked."""
        if not text:
            return text
        text = QUOTED_MEMBER.sub(lambda match: match.group("lead") + f'"{MASK}"', text)
        text = FORM_MEMBER.sub(lambda match: match.group("lead") + MASK, text)
        text = EMAIL.sub(MASK, text)
        if self._values:
            if self._pattern is None:
                self._pattern = re.compile(
                    "|".join(re.escape(value) for value in sorted(self._values, key=len, reverse=True))
                )
            text = self._pattern.sub(MASK, text)
        return text

    def _deep_text(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self._deep_text(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._deep_text(item) for item in value]
        return value

    # ---------------------------------------------------------------------------- results
    def result(self, result: CheckResult) -> CheckResult:
        """Mask a result in place: its bodies first (which teaches the values), then every text. Its exchanges
        become masked copies: the recorded ones stay as they were, for the run's response validation."""
        result.exchanges = self.exchanges(result.exchanges)
        result.title, result.expectation, result.detail = (
            self.text(result.title),
            self.text(result.expectation),
            self.text(result.detail),
        )
        return result

    def exchanges(self, exchanges: list[Exchange]) -> list[Exchange]:
        """Masked copies: bodies first (which teaches the values), then every text."""
        bodies = [
            (self._body(exchange.request_body, _is_form(exchange)), self._body(exchange.response_text, False))
            for exchange in exchanges
        ]
        return [
            dataclasses.replace(
                exchange,
                url=self.text(exchange.url),
                request_headers=self._deep_text(exchange.request_headers),
                request_body=self._deep_text(request_body),
                response_headers=self._deep_text(exchange.response_headers),
                response_text=self.text(response_body or ""),
                error=self._deep_text(exchange.error),
            )
            for exchange, (request_body, response_body) in zip(exchanges, bodies, strict=True)
        ]

    def run(self, run: RunResult) -> RunResult:
        """The whole run again, now that every value of the run is known; marks it as redacted."""
        for result in run.results:
            self.result(result)
        run.exchanges = self.exchanges(run.exchanges)
        run.pii_redacted = True
        return run


def _is_form(exchange: Exchange) -> bool:
    return "x-www-form-urlencoded" in exchange.request_headers.get("Content-Type", "")
