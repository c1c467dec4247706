"""Run settings: command line over environment (CONFORMANCE_*) over the target profile over defaults."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from conformance.engine.accounts import PoolAccount, PoolError, lease_directory, parse_pool
from conformance.engine.baseline import Baseline
from conformance.engine.categories import Category
from conformance.engine.checks.triggers import candidates, pinned
from conformance.engine.fixtures import FIXTURES
from conformance.engine.options import (
    BY_NAME,
    EMBEDDED_WORKERS,
    MAX_EXAMPLES,
    REPORT_DIR,
    SEED,
    TIMEOUT_SECONDS,
    ConfigError,
    Surface,
    boolean,
    on,
)
from conformance.spec import catalog, load_spec
from conformance.spec.decisions import ANY, decisions, defaults, stated
from conformance.spec.setup import entity_types


@dataclass
class RunConfig:
    base_url: str | None = None  # None: start the embedded reference server
    api_key: str | None = None
    publishable_key: str | None = None
    stripe_version: str = ""  # empty: the spec's info.version
    report_dir: Path = Path(REPORT_DIR)
    seed: int = SEED
    max_examples: int = MAX_EXAMPLES
    only: tuple[Category, ...] = tuple(Category)
    workers: int = 1
    shard: tuple[int, int] = (1, 1)  # (i, n): the i-th of n shards
    timeout: float = TIMEOUT_SECONDS
    pace: float = 0.0
    allow_live: bool = False
    redact_pii: bool = False  # mask personal data in every output
    profile: Path | None = None
    fixtures: dict[str, Any] = field(default_factory=dict)
    expected_failures: dict[str, str] = field(default_factory=dict)
    triggers: dict[str, dict[str, Any]] = field(
        default_factory=dict
    )  # code -> the request that provokes it on this target
    operations: tuple[str, ...] | None = None  # the operations the target implements; None: all
    decisions: dict[str, Any] = field(default_factory=dict)  # every decision: the target's stated choice, or `any`
    decide: tuple[str, ...] = ()  # NAME=VALUE statements from the command line, over the profile's
    reference_decisions: dict[str, Any] = field(default_factory=dict)  # the embedded server's choices
    min_exercised: float | None = None  # percent of results that must be exercised; None: 100 embedded, else 0
    accounts: tuple[PoolAccount, ...] = ()  # existing accounts to lease instead of creating any
    rate_limit_per_second: float | None = None  # the target's per-account limit: a bounded burst provokes it
    baseline: Path | None = None  # known findings (--baseline)
    baseline_update: bool = False
    baseline_prune: bool = False
    known: Baseline | None = None  # the baseline, read once the configuration is resolved

    @property
    def embedded(self) -> bool:
        return self.base_url is None


# The profile's sections beside its top-level run options: read by resolve_config itself.
PROFILE_SECTIONS = (
    "fixtures",
    "expected_failures",
    "triggers",
    "capabilities",
    "description",
    "decisions",
    "coverage",
    "accounts",
)


def _profile(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the profile {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"the profile {path} is not valid YAML: {str(exc).splitlines()[0]}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"the profile {path} must be a mapping (base_url, api_key, fixtures, expected_failures, ...)")
    unknown = set(data) - set(PROFILE_SECTIONS) - {option.name for option in on(Surface.PROFILE)}
    if unknown:
        raise ConfigError(f"the profile {path} has unknown settings: {', '.join(sorted(unknown))}")
    return data


def _triggers(path: Path, triggers: Any) -> dict[str, dict[str, Any]]:
    """`[operation_id/]code: {method, path, ...}` (a request of the profile's own) or `{candidate: NAME}` (one of the
    suite's, as `conformance discover` pins them)."""
    if not isinstance(triggers, dict) or not all(
        isinstance(t, dict) and ({"method", "path"} <= set(t) or set(t) == {"candidate"}) for t in triggers.values()
    ):
        raise ConfigError(
            f"the profile {path}: each entry of triggers needs method and path (and optionally "
            "json_body, form, key_fixture), or candidate (the name of one of the suite's)"
        )
    for key, trigger in triggers.items():
        code = str(key).rsplit("/", 1)[-1]
        try:
            pinned(code, trigger)
        except KeyError:
            names = ", ".join(repr(candidate.name) for candidate in candidates(code)) or "none"
            raise ConfigError(
                f"the profile {path}: triggers.{key} names no candidate of the suite for {code} (it has {names})"
            ) from None
    return {str(code): trigger for code, trigger in triggers.items()}


def _profile_decisions(path: Path, statements: Any) -> dict[str, Any]:
    if not isinstance(statements, dict):
        raise ConfigError(f"the profile {path}: decisions must map a decision's name to its value or any")
    return {str(name): value for name, value in statements.items()}


def statement(text: str) -> tuple[str, Any]:
    """`--decide NAME=VALUE`; the value is read as YAML, so that 18 is a number and merge a word."""
    name, equals, value = str(text).partition("=")
    if not equals or not name.strip() or not value.strip():
        raise ConfigError(f"--decide takes NAME=VALUE (e.g. update_nested_objects=replace), not {text!r}")
    try:
        return name.strip(), yaml.safe_load(value.strip())
    except yaml.YAMLError:
        return name.strip(), value.strip()


def resolve_config(cli: dict[str, Any], environ: Mapping[str, str] | None = None) -> RunConfig:
    """Merge the layers, then check the result (keys, URLs, live-mode safety)."""
    if environ is None:
        environ = os.environ
    config = RunConfig()
    profile_path = cli.get("profile") or environ.get(BY_NAME["profile"].variable)
    layers: list[dict[str, Any]] = []
    if profile_path:
        config.profile = Path(profile_path)
        profile = _profile(config.profile)
        config.fixtures = dict(profile.get("fixtures") or {})
        config.expected_failures = {str(k): str(v) for k, v in (profile.get("expected_failures") or {}).items()}
        config.triggers = _triggers(config.profile, profile.get("triggers") or {})
        capabilities = profile.get("capabilities") or {}
        if capabilities.get("operations") is not None:
            config.operations = tuple(str(name) for name in capabilities["operations"])
        config.decisions = _profile_decisions(config.profile, profile.get("decisions") or {})
        try:
            config.accounts = parse_pool(profile.get("accounts"), entity_types())
            if config.accounts:
                lease_directory()
        except PoolError as exc:
            raise ConfigError(f"the profile {config.profile}: {exc}") from exc
        coverage = profile.get("coverage") or {}
        if not isinstance(coverage, dict) or set(coverage) - {"min_exercised"}:
            raise ConfigError(f"the profile {config.profile}: coverage takes min_exercised (a percent) only")
        if coverage.get("min_exercised") is not None:
            layers.append({"min_exercised": coverage["min_exercised"]})
        layers.append({name: value for name, value in profile.items() if name not in PROFILE_SECTIONS})
    layers.append(
        {option.name: environ[option.variable] for option in on(Surface.ENVIRONMENT) if environ.get(option.variable)}
    )
    layers.append({name: value for name, value in cli.items() if value is not None})
    for layer in layers:
        for name, value in layer.items():
            if name != "profile":  # read first: it is a layer of its own
                setattr(config, name, BY_NAME[name].parse(name, value))
    if config.embedded and not any("workers" in layer for layer in layers):
        config.workers = EMBEDDED_WORKERS
    return _checked(config)


# Fixtures that became decisions: a profile that still names them would otherwise be silently ignored.
FORMER_FIXTURES = {"token_lifetime_seconds": "person_token_lifetime_seconds"}


def _decided(config: RunConfig, spec: dict[str, Any]) -> None:
    """Every decision stated (profile, then --decide) or `any`; the embedded server decides the stated ones
    and the spec's defaults for the rest, and the run states what it decided."""
    declared = decisions(spec)
    misplaced = sorted(name for name in config.fixtures if name in declared or name in FORMER_FIXTURES)
    if misplaced:
        names = ", ".join(f"{name} (decision {FORMER_FIXTURES.get(name, name)})" for name in misplaced)
        raise ConfigError(f"fixtures names decisions; state them under decisions: instead: {names}")
    statements = {**config.decisions, **dict(statement(text) for text in config.decide)}
    if config.embedded:
        # One-second person tokens, so that token_expired is exercised within a run.
        config.reference_decisions = {**defaults(spec), "person_token_lifetime_seconds": 1}
        config.reference_decisions.update({name: value for name, value in statements.items() if value != ANY})
        statements = {**config.reference_decisions, **statements}
    try:
        config.decisions = stated(spec, statements)
    except ValueError as exc:
        raise ConfigError(f"{exc} (see conformance spec decisions)") from exc
    if config.embedded:
        config.reference_decisions = {name: config.reference_decisions[name] for name in declared}


def _checked(config: RunConfig) -> RunConfig:
    spec = load_spec()
    config.stripe_version = config.stripe_version or catalog.api_version(spec)
    _decided(config, spec)
    if config.min_exercised is None:  # the embedded server can be exercised whole
        config.min_exercised = 100.0 if config.embedded else 0.0
    if config.base_url is not None:
        parts = urlsplit(config.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"--base-url must be an http(s) URL, not {config.base_url!r}")
        if not config.api_key:
            raise ConfigError("an API key is needed for --base-url: pass --api-key or set CONFORMANCE_API_KEY")
        if (
            config.api_key.startswith(("sk_live_", "rk_live_"))
            and not _loopback(parts.hostname)
            and not config.allow_live
        ):
            raise ConfigError(
                "refusing a live-mode key against a non-loopback target: the suite creates and deletes "
                "data; pass --allow-live to insist"
            )
    if config.accounts and config.embedded:
        raise ConfigError(
            "an accounts pool names accounts of a target: give --base-url too (the embedded server starts empty)"
        )
    _fixture_types(config.fixtures)
    if (config.baseline_update or config.baseline_prune) and config.baseline is None:
        raise ConfigError("--baseline-update and --baseline-prune need --baseline FILE: the baseline to write")
    if config.baseline_update and config.baseline_prune:
        raise ConfigError(
            "--baseline-update rewrites the baseline, --baseline-prune only drops fixed findings: pick one"
        )
    if config.baseline is not None:
        config.known = Baseline.read(config.baseline, missing_ok=config.baseline_update)
    if config.publishable_key:
        config.fixtures.setdefault("publishable_key", config.publishable_key)
    return config


def _fixture_types(fixtures: dict[str, Any]) -> None:
    """Only the fixtures the suite reads, and those that switch its own behaviour typed: a typo there would silently
    change the run."""
    unknown = sorted(set(fixtures) - set(FIXTURES))
    if unknown:
        raise ConfigError(
            f"fixtures {', '.join(unknown)}: not fixtures the suite reads (conformance init lists them: "
            f"{', '.join(FIXTURES)})"
        )
    for name in ("can_create_accounts", "can_create_v1_objects"):
        if fixtures.get(name) is not None:
            fixtures[name] = boolean(f"fixtures.{name}", fixtures[name])
    for name in ("pool_wait_seconds", "max_wait_seconds", "list_consistency_seconds"):
        value = fixtures.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            raise ConfigError(f"fixtures.{name} must be a number of seconds (0 or more), not {value!r}")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
