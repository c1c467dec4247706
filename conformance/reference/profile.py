"""The reference server's target profile, as any implementation publishes one for the suite: the key to call it
with, and the values that provoke its configuration-dependent codes (docs/reference-server.md).

Built from the server's own tables, so that profile and server cannot drift; profiles/reference.yaml states the same
for a server started with `conformance serve`. The suite's engine never imports it: the command that starts the
embedded server hands it over (conformance/targets.py).
"""

from __future__ import annotations

from typing import Any

from conformance.reference.auth import LIVE_SECRET_KEY, PLATFORM_FIXTURE_KEYS, PUBLISHABLE_KEY, SECRET_KEY
from conformance.reference.rules import TEST_FILES
from conformance.reference.service import LOCKED_PERSON_ID, OTHER_V2_TOKEN_PREFIXES, SEEDED_ACCOUNTS

API_KEY = SECRET_KEY

FIXTURES: dict[str, Any] = {
    "publishable_key": PUBLISHABLE_KEY,
    "live_secret_key": LIVE_SECRET_KEY,
    **{f"platform_{configuration}_key": key for key, configuration in PLATFORM_FIXTURE_KEYS.items()},
    **{f"{flag}_account": account for account, flags in SEEDED_ACCOUNTS.items() for flag in flags},
    "identity_locked_person": LOCKED_PERSON_ID,
    "identity_document_file": next(file for file, purpose in TEST_FILES.items() if purpose == "identity_document"),
    "wrong_type_token": f"{OTHER_V2_TOKEN_PREFIXES[0]}conformance_wrong_type",
    "can_create_v1_objects": True,
    "max_wait_seconds": 5,  # how long the token_expired scenario may wait for a token to expire
    "list_consistency_seconds": 0,  # lists are exact at once
}
