"""Load and validate the OpenAPI document."""

from __future__ import annotations

import copy
import functools
import hashlib
import os
from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml

_REPO_SPEC = Path(__file__).resolve().parents[2] / "spec" / "openapi.yaml"
_BUNDLED_SPEC = Path(__file__).resolve().parent / "openapi.yaml"
_REPO_SETUP = _REPO_SPEC.with_name("setup.yaml")
_BUNDLED_SETUP = _BUNDLED_SPEC.with_name("setup.yaml")


class SpecError(Exception):
    """The OpenAPI document cannot be read or is not valid OpenAPI 3.1."""


class _SpecLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]  # libyaml: 5x faster
    """YAML loader that keeps timestamps as strings: RFC 3339 values are data, not datetimes."""


_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def cache_dir() -> Path:
    """Where verdicts that depend only on content are kept: `CONFORMANCE_CACHE_DIR`, else the user's cache."""
    if configured := os.environ.get("CONFORMANCE_CACHE_DIR"):
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "stripe-persons-conformance"


def _validate(path: Path, document: dict[str, Any], text: str) -> None:
    """openapi-spec-validator's verdict, once per content and validator version: a valid document leaves a
    marker named by their hash (an invalid one is validated every time, for its message). The validator is
    imported only when it has to judge: its import costs a third of a second in every process."""
    key = hashlib.sha256(f"{version('openapi-spec-validator')}\0{text}".encode()).hexdigest()
    marker = cache_dir() / f"valid-openapi-{key}"
    if marker.exists():
        return
    from openapi_spec_validator import validate as validate_openapi
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    try:
        validate_openapi(document)
    except OpenAPIValidationError as exc:
        where = "/".join(str(part) for part in exc.path) or "(root)"
        raise SpecError(f"{path} is not valid OpenAPI 3.1 at {where}: {exc.message}") from exc
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:  # a read-only home: validate again next time
        pass


def default_spec_path() -> Path:
    """`CONFORMANCE_SPEC` if set, else the repository's spec/openapi.yaml (or the copy in a wheel)."""
    if env := os.environ.get("CONFORMANCE_SPEC"):
        return Path(env)
    return _REPO_SPEC if _REPO_SPEC.exists() else _BUNDLED_SPEC


def default_setup_path() -> Path:
    """The companion document of the set-up calls: `CONFORMANCE_SETUP_SPEC` if set, else spec/setup.yaml."""
    if env := os.environ.get("CONFORMANCE_SETUP_SPEC"):
        return Path(env)
    return _REPO_SETUP if _REPO_SETUP.exists() else _BUNDLED_SETUP


@functools.lru_cache(maxsize=8)
def _load(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read the OpenAPI document {path}: {exc.strerror or exc}") from exc
    try:
        document = yaml.load(text, Loader=_SpecLoader)
    except yaml.YAMLError as exc:
        raise SpecError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3.1"):
        raise SpecError(f"{path} is not an OpenAPI 3.1 document (no 'openapi: 3.1.x' at its top)")
    _validate(path, document, text)
    return document


def load_spec(path: Path | str | None = None) -> dict[str, Any]:
    """The validated OpenAPI document, read and validated once per path; each call gets its own copy,
    because some libraries edit the dict they are given (schemathesis rewrites links in place)."""
    return copy.deepcopy(_load(Path(path) if path is not None else default_spec_path()))


def load_setup_spec(path: Path | str | None = None) -> dict[str, Any]:
    """The validated companion document of the set-up calls (spec/setup.yaml)."""
    return copy.deepcopy(_load(Path(path) if path is not None else default_setup_path()))
