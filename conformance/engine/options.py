"""The run options, in one table: each option's flag, environment variable, profile key, type and help.

`conformance run`, the pytest plugin, the CONFORMANCE_* environment and target profiles all read this table,
so that an option cannot exist, or be spelled, typed or explained, differently on one of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from conformance.engine.categories import Category, category


class ConfigError(Exception):
    """A usage or configuration problem; the message is one line a user can act on."""


# The defaults that the options' help states.
REPORT_DIR = "reports"
SEED = 20261123
MAX_EXAMPLES = 25
TIMEOUT_SECONDS = 30.0
# Checks in parallel on the embedded server: loopback, no rate limit to respect, I/O waits to overlap
# (a remote target keeps 1 unless told, as Stripe's sandbox limits requests per second).
EMBEDDED_WORKERS = 4


class Surface(StrEnum):
    """Where an option can be set."""

    CLI = "conformance run --flag"
    ENVIRONMENT = "CONFORMANCE_NAME"
    PROFILE = "a profile's top-level key"
    PYTEST = "pytest --conformance-flag"


EVERYWHERE = frozenset(Surface)


@dataclass(frozen=True)
class RunOption:
    name: str  # the RunConfig field it sets
    help: str
    parse: Callable[[str, Any], Any]  # (name, value as given) -> the typed value, or ConfigError
    metavar: str | None = None
    surfaces: frozenset[Surface] = EVERYWHERE
    switch: bool = False  # a flag without a value (true when given)
    repeated: bool = False  # a flag given once per value; elsewhere the values are comma-separated

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def pytest_flag(self) -> str:
        return "--conformance-" + self.name.replace("_", "-")

    @property
    def variable(self) -> str:
        return "CONFORMANCE_" + self.name.upper()

    def argument(self) -> dict[str, Any]:
        """Keyword arguments of argparse's add_argument (and pytest's addoption). Values stay as given, and None
        when not given: resolve_config types and checks them, with the same messages on every surface."""
        if self.switch:
            return {"action": "store_true", "default": None, "help": self.help}
        return {"action": "append" if self.repeated else "store", "metavar": self.metavar, "help": self.help}


def text(name: str, value: Any) -> str:
    return str(value)


def path(name: str, value: Any) -> Path:
    return Path(value)


def boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, not {value!r}")


def _whole(minimum: int) -> Callable[[str, Any], int]:
    def parse(name: str, value: Any) -> int:
        try:
            whole = int(value)
        except (TypeError, ValueError):
            whole = minimum - 1
        if whole < minimum:
            raise ConfigError(f"{name} must be a {'positive ' if minimum else ''}number, not {value!r}")
        return whole

    return parse


def _number(check: Callable[[float], bool], wanted: str | None = None) -> Callable[[str, Any], float]:
    """A float that `check` accepts; `wanted` says what is expected (default: a positive number)."""

    def parse(name: str, value: Any) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if not check(number):
            raise ConfigError(
                f"{name} {wanted}, not {value!r}" if wanted else f"{name} must be a positive number, not {value!r}"
            )
        return number

    return parse


def shard(name: str, value: Any) -> tuple[int, int]:
    index, _, count = str(value).partition("/")
    try:
        chosen = (int(index), int(count))
    except ValueError:
        chosen = (0, 0)
    if not 1 <= chosen[0] <= chosen[1]:
        raise ConfigError(f"--shard takes i/n with 1 <= i <= n (e.g. 2/4), not {value!r}")
    return chosen


def categories(name: str, value: Any) -> tuple[Category, ...]:
    """Comma-separated category names (earlier spellings accepted), in the order given."""
    chosen, unknown = [], []
    for part in (part.strip() for part in str(value).split(",")):
        if not part:
            continue
        try:
            chosen.append(category(part))
        except ValueError:
            unknown.append(part)
    if unknown or not chosen:
        raise ConfigError(
            f"--only takes a comma-separated list of {', '.join(Category)}; "
            f"not {', '.join(sorted(unknown)) or 'nothing'}"
        )
    return tuple(dict.fromkeys(chosen))


def statements(name: str, value: Any) -> tuple[str, ...]:
    """NAME=VALUE statements, one per item of a list or comma-separated in a string; read by config.statement."""
    items = value if isinstance(value, (list, tuple)) else [value]
    return tuple(part for item in items for part in str(item).split(",") if part)


RUN_OPTIONS = (
    RunOption("base_url", "the target's base URL (default: start the embedded reference server)", text, "URL"),
    RunOption("api_key", "secret API key of the target (better in CONFORMANCE_API_KEY)", text, "KEY"),
    RunOption("publishable_key", "publishable key of the target (or CONFORMANCE_PUBLISHABLE_KEY)", text, "KEY"),
    RunOption(
        "stripe_version", "Stripe-Version header of v2 requests (default: the spec's info.version)", text, "VERSION"
    ),
    # The profile names the file the profile layer comes from: a profile cannot name another.
    RunOption(
        "profile",
        "target profile (YAML): keys, fixtures, decisions, expected failures",
        path,
        "FILE",
        EVERYWHERE - {Surface.PROFILE},
    ),
    # Under pytest, reports are pytest's own (--junitxml).
    RunOption(
        "report_dir",
        f"where reports/<run>/ is written (default {REPORT_DIR})",
        path,
        "DIR",
        frozenset({Surface.CLI, Surface.ENVIRONMENT}),
    ),
    RunOption("seed", "seed of the fuzzing (fixed by default)", _whole(0), "N", EVERYWHERE - {Surface.PROFILE}),
    RunOption("max_examples", f"fuzzing examples per operation (default {MAX_EXAMPLES})", _whole(1), "N"),
    RunOption(
        "only",
        f"comma-separated categories: {','.join(Category)}",
        categories,
        "CATEGORIES",
        EVERYWHERE - {Surface.PROFILE},
    ),
    RunOption(
        "pace", "seconds between requests, to stay within a sandbox's rate limits", _number(lambda n: n >= 0), "SECONDS"
    ),
    RunOption(
        "timeout",
        f"seconds to wait for each response (default {TIMEOUT_SECONDS:g})",
        _number(lambda n: n > 0),
        "SECONDS",
    ),
    # pytest shares checks out with xdist (-n) and selects them with -k.
    RunOption(
        "workers",
        f"checks run in parallel (default 1 on a remote target, {EMBEDDED_WORKERS} on the embedded server; fuzzing runs"
        " beside them)",
        _whole(1),
        "N",
        frozenset({Surface.CLI, Surface.ENVIRONMENT}),
    ),
    RunOption(
        "shard",
        "run only shard i of n (e.g. 2/4) to split a run across CI machines",
        shard,
        "i/n",
        frozenset({Surface.CLI, Surface.ENVIRONMENT}),
    ),
    # Insisting on live mode is an act of one command, never a setting left in an environment or a file.
    RunOption(
        "allow_live",
        "allow a live-mode key against a non-loopback target",
        boolean,
        surfaces=frozenset({Surface.CLI, Surface.PYTEST}),
        switch=True,
    ),
    RunOption("redact_pii", "mask personal data (names, emails, addresses...) in every output", boolean, switch=True),
    # A profile states decisions under decisions:.
    RunOption(
        "decide",
        "state the target's choice of a decision, or any (see conformance spec decisions); the embedded server"
        " is started so",
        statements,
        "NAME=VALUE",
        EVERYWHERE - {Surface.PROFILE},
        repeated=True,
    ),
    # A profile sets it as coverage.min_exercised; pytest reports per item and has no gate of its own.
    RunOption(
        "min_exercised",
        "fail the gate when fewer results are exercised (default 100 embedded, else 0)",
        _number(lambda n: 0 <= n <= 100, "is a percent from 0 to 100"),
        "PERCENT",
        frozenset({Surface.CLI, Surface.ENVIRONMENT}),
    ),
    RunOption(
        "baseline",
        "known findings (a baseline file, or a results.json): the gate fails only on findings it does not list",
        path,
        "FILE",
        frozenset({Surface.CLI, Surface.ENVIRONMENT, Surface.PYTEST}),
    ),
    # Writing the baseline is an act of one command.
    RunOption(
        "baseline_update",
        "write the run's findings to the --baseline file (keeping the reasons and expiry dates it has)",
        boolean,
        surfaces=frozenset({Surface.CLI}),
        switch=True,
    ),
    RunOption(
        "baseline_prune",
        "drop from the --baseline file the findings this run found fixed (adding none)",
        boolean,
        surfaces=frozenset({Surface.CLI}),
        switch=True,
    ),
    # What the target enforces, as its profile states it: a bounded burst provokes it.
    RunOption(
        "rate_limit_per_second",
        "the target's per-account request limit",
        _number(lambda n: 0 < n <= 10_000, "is a number of requests above 0 (at most 10,000)"),
        "N",
        frozenset({Surface.PROFILE}),
    ),
)


def on(surface: Surface) -> tuple[RunOption, ...]:
    """The options that can be set on one surface."""
    return tuple(option for option in RUN_OPTIONS if surface in option.surfaces)


BY_NAME = {option.name: option for option in RUN_OPTIONS}
