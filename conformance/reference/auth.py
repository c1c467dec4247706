"""API keys of the reference server: who is calling, in which mode, on which platform."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass

from conformance.reference.errors import ApiError

KEY_FORMAT = re.compile(r"^(sk|pk|rk)_(test|live)_[A-Za-z0-9_]+$")

# Keys of platforms configured so that they provoke the platform-level codes (see docs/reference-server.md).
PLATFORM_FIXTURE_KEYS = {
    "sk_test_platform_unregistered": "unregistered",
    "sk_test_platform_non_connect": "non_connect",
    "sk_test_platform_v2_blocked": "v2_blocked",
    "sk_test_platform_token_mandated": "token_mandated",
}
SECRET_KEY = "sk_test_reference_secret"
PUBLISHABLE_KEY = "pk_test_reference_publishable"
LIVE_SECRET_KEY = "sk_live_ref_secret"
DEFAULT_KEYS = (SECRET_KEY, PUBLISHABLE_KEY, LIVE_SECRET_KEY, "pk_live_ref_publishable", *PLATFORM_FIXTURE_KEYS)


@dataclass(frozen=True)
class Caller:
    key: str
    publishable: bool
    livemode: bool
    platform: str | None  # a platform fixture's configuration, None for a plain platform


class KeyRegistry:
    """The keys the server accepts."""

    def __init__(self, keys: Iterable[str] = DEFAULT_KEYS, *, unknown_test_keys: str = "refused") -> None:
        self._keys = frozenset(keys)
        # The decision of the same name: a well-formed test secret key the server never issued is refused or accepted.
        self._accept_unknown = unknown_test_keys == "accepted"
        malformed = [key for key in self._keys if not KEY_FORMAT.match(key)]
        if malformed:
            raise ValueError(f"not an API key ({{sk,pk}}_{{test,live}}_...): {len(malformed)} given")

    def caller(self, authorization: str | None) -> Caller:
        """Resolve an Authorization header (Bearer, or Basic with the key as user name), else 401."""
        key = _key_from_header(authorization)
        if key not in self._keys and not (
            self._accept_unknown and key.startswith("sk_test_") and KEY_FORMAT.match(key)
        ):
            raise ApiError("authentication_required", "Invalid API Key provided.", type="invalid_request_error")
        kind, mode = key.split("_", 2)[:2]
        return Caller(
            key=key, publishable=kind == "pk", livemode=mode == "live", platform=PLATFORM_FIXTURE_KEYS.get(key)
        )


def _key_from_header(authorization: str | None) -> str:
    if not authorization:
        raise ApiError(
            "authentication_required",
            "You did not provide an API key. Provide it in the Authorization header, using Bearer auth "
            "(Authorization: Bearer YOUR_SECRET_KEY).",
            type="invalid_request_error",
        )
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer" and credentials:
        return credentials
    if scheme.lower() == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except ValueError:  # binascii.Error, UnicodeDecodeError, non-ASCII input
            decoded = ""
        user = decoded.partition(":")[0]
        if user:
            return user
    raise ApiError(
        "authentication_required",
        "Invalid Authorization header: use 'Bearer <key>' or Basic with the key as user name.",
        type="invalid_request_error",
    )
