"""The fixtures a target profile can give: values the suite cannot make on the target itself. One table: the
Workbench reads no other name, a profile naming another is refused (a typo would silently leave a code unexercised),
and `conformance init` writes them with their meaning."""

from __future__ import annotations

# name -> what it is and what it is for
FIXTURES = {
    "publishable_key": "a publishable key (also --publishable-key): refused where a secret key is needed",
    "live_secret_key": "a live-mode secret key (sent only to the target): token_must_be_created_with_publishable_key",
    "platform_unregistered_key": "a key of a platform not registered for Connect: platform_registration_required",
    "platform_non_connect_key": "a key of a non-Connect platform: non_connect_platform_accounts_v2_access_blocked",
    "platform_v2_blocked_key": "a key of a platform blocked from Accounts v2: accounts_v2_access_blocked",
    "platform_token_mandated_key": "a key of a platform that must send person tokens: person_token_required",
    "not_v2_compatible_account": "an account not yet usable with v2: account_not_yet_compatible_with_v2",
    "rate_limited_account": "an account already past its request limit: account_rate_limit_exceeded",
    "identity_locked_account": "an account whose persons' identity can no longer change: immutable_identity_param",
    "identity_locked_person": "a person of identity_locked_account",
    "identity_document_file": "a file id uploaded with purpose identity_document",
    "wrong_type_token": "a v2 token of another kind (an account token): incorrect_token_wrong_type",
    "can_create_accounts": "false when the key cannot create accounts (give an accounts pool instead); default true",
    "can_create_v1_objects": "true when v1 accounts and customers can be made: v1_*_instead_of_v2_account codes",
    "max_wait_seconds": "how long the token_expired scenario may wait for a token to expire; default 5",
    "list_consistency_seconds": "how long a new person may take to appear in lists; default 0",
    "pool_wait_seconds": "how long a check waits for an account of the pool; default 120",
}
