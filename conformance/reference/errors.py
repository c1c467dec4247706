"""ApiError: an error answer, raised by any layer of the reference server.

Status, `type` and which members the error carries come from the spec's catalog, so a rule only
names the code and says what went wrong.
"""

from __future__ import annotations

import functools
from typing import Any

from conformance.spec import load_spec, operations

GENERIC_STATUS = {
    "invalid_fields": 400,
    "invalid_json": 400,
    "authentication_required": 401,
    "unsupported_media_type": 415,
    "request_too_large": 413,
    "not_found": 404,
}


@functools.lru_cache(maxsize=1)
def _catalog() -> dict[str, tuple[int, tuple[str, ...], dict[str, Any]]]:
    found = {}
    for operation in operations(load_spec()).values():
        for code, documented in operation.errors.items():
            found[code] = (documented.status, documented.members, documented.constants)
    return found


class ApiError(Exception):
    """An error response: `{"error": {"code", "message", ...}}` with the documented status and members."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        **members: Any,
    ) -> None:
        super().__init__(f"{code}: {message}")
        documented_status, documented_members, constants = _catalog().get(
            code, (GENERIC_STATUS.get(code, 400), ("code", "message"), {})
        )
        self.code = code
        self.message = message
        self.status = status if status is not None else documented_status
        self.headers = headers or {}
        self.members: dict[str, Any] = dict(constants)
        if "user_message" in documented_members:
            self.members["user_message"] = members.pop("user_message", message)
        if "doc_url" in documented_members:
            self.members["doc_url"] = members.pop("doc_url", f"https://docs.stripe.com/error-codes/{code}")
        self.members.update(members)
        missing = set(documented_members) - {"code", "message"} - set(self.members)
        if missing:
            raise TypeError(f"{code} documents members {sorted(missing)} that were not given")

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.members}}
