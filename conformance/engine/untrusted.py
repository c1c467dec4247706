"""Values the suite takes from a target's answers and uses again, checked here before any use.

A target may answer anything: ids of megabytes, with control characters, `../`, `%2F` or `?#` in
them, page URLs on other hosts, `Retry-After: NaN`. So:

- an id goes into a path only through `path_id`: a non-empty string of at most 1,024 characters,
  percent-quoted whole (a `/`, `?` or `..` in it cannot change which resource is addressed);
- every request the client sends passes `request_target`: a relative path on the target, bounded,
  of characters a request line can carry; an absolute URL (another host, another scheme) never is;
- the URL finally built must have the target's origin (`same_origin`), so no key leaves for another host;
- `Retry-After` is read by `retry_after`, clamped to [0, cap], whatever it says;
- `Location` is never followed (the client does not follow redirects): a 3xx is judged as it is.

What fails is refused with `Untrusted`: the runner reports it as a failed check, never a crash.
"""

from __future__ import annotations

import math
import string
from urllib.parse import quote, urlsplit

import httpx

# Well past the spec's 255 (fuzzing sends overlong ids on purpose, for the target to refuse), far below megabytes.
MAX_ID_CHARS = 1024
MAX_TARGET_CHARS = 16 * 1024  # the longest request target the suite sends: a quoted id of 1,024 characters fits
# RFC 3986 path and query characters: no space, no `#`, no `\`, no controls, nothing outside ASCII.
TARGET_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@%/?")
SHOWN_CHARS = 80  # of a refused value, in a message


class Untrusted(Exception):
    """A value from the target that the suite will not use; the message says which and why."""


def shown(value: object) -> str:
    """A refused value as a message shows it: its start, escaped, and its size."""
    if not isinstance(value, str):
        return type(value).__name__
    text = repr(value[:SHOWN_CHARS]) + ("..." if len(value) > SHOWN_CHARS else "")
    return f"{text} ({len(value):,} characters)" if len(value) > SHOWN_CHARS else text


def path_id(value: object) -> str:
    """An id as one path segment: quoted whole, bounded; `Untrusted` when it cannot be one."""
    if not isinstance(value, str):
        raise Untrusted(f"an id is a {type(value).__name__}, not a string")
    if not value or len(value) > MAX_ID_CHARS:
        raise Untrusted(f"an id of {len(value):,} characters (1 to {MAX_ID_CHARS}): {shown(value)}")
    try:
        quoted = quote(value, safe="")
    except UnicodeEncodeError:  # a lone surrogate, from a JSON \ud800 escape
        raise Untrusted(f"an id that is not valid Unicode: {shown(value)}") from None
    # quote() leaves dots alone, and a path segment of `.` or `..` would be resolved away.
    return {".": "%2E", "..": "%2E%2E"}.get(quoted, quoted)


def request_target(target: object) -> str:
    """A request target (path and query) the client may send to the target; `Untrusted` otherwise."""
    if not isinstance(target, str):
        raise Untrusted(f"a URL that is a {type(target).__name__}, not a string")
    if len(target) > MAX_TARGET_CHARS:
        raise Untrusted(f"a URL of {len(target):,} characters (at most {MAX_TARGET_CHARS:,}): {shown(target)}")
    if not target.startswith("/") or target.startswith("//"):
        raise Untrusted(f"a URL that is not a path on the target (the suite follows no absolute URL): {shown(target)}")
    odd = sorted(set(target) - TARGET_CHARACTERS)
    if odd:
        raise Untrusted(
            f"a URL with characters no request line carries ({', '.join(map(repr, odd[:5]))}): {shown(target)}"
        )
    if any(segment in (".", "..") for segment in urlsplit(target).path.split("/")):
        raise Untrusted(f"a URL with a dot segment, which would address another path: {shown(target)}")
    return target


def same_origin(url: httpx.URL, base: httpx.URL) -> bool:
    """Whether a URL is on the target: same scheme, host and port."""
    return (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)


def retry_after(value: str | None, cap: float, default: float = 1.0) -> float:
    """Seconds to wait before sending a rate-limited request again: what Retry-After says, within [0, cap];
    a value that is no number of seconds (an HTTP date, `NaN`, text) waits `default`."""
    try:
        seconds = float(value or "")
    except ValueError:
        seconds = default
    if math.isnan(seconds):
        seconds = default
    return min(max(seconds, 0.0), cap)
