"""Known findings: a baseline lets the gate fail only on findings it does not list.

A finding is a result that fails the gate (failed or error, not an expected failure), named by its result id
(`<check id>/<assertion>`, stable across runs). A baseline lists the findings a target does not fix yet, each with an
optional reason and `expires` date; past that date the finding fails the gate again. The profile's
`expected_failures` is for what a target will never do; the baseline is for what it does not do yet.

The file is JSON (YAML is read too, for hand-written reasons and dates); a results.json can serve as one, its
findings then being the baseline.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from conformance.engine.options import ConfigError
from conformance.engine.results import CheckResult, RunResult, Standing, Status

FORMAT = "conformance-baseline/1"


@dataclass(frozen=True)
class Entry:
    id: str
    reason: str = ""
    expires: date | None = None
    status: str = "failed"  # as the finding stood when it entered the baseline
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "reason": self.reason,
            "expires": self.expires.isoformat() if self.expires else None,
            "status": self.status,
            "detail": self.detail,
        }


@dataclass
class Baseline:
    path: Path
    entries: dict[str, Entry] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path, *, missing_ok: bool = False) -> Baseline:
        """The baseline at `path` (a baseline file or a results.json); ConfigError with the reason when unusable."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if missing_ok:  # --baseline-update creates it
                return cls(path)
            raise ConfigError(f"cannot read the baseline {path}: no such file") from None
        except OSError as exc:
            raise ConfigError(f"cannot read the baseline {path}: {exc.strerror or exc}") from exc
        try:
            data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as exc:
            raise ConfigError(f"the baseline {path} is neither JSON nor YAML: {str(exc).splitlines()[0]}") from exc
        return cls(path, _entries(path, data))

    def judge(self, result: CheckResult, today: date) -> None:
        """Set a result's standing: a finding is new, known or expired; anything else has none."""
        if not result.finding:
            result.baseline = None
            return
        entry = self.entries.get(result.check_id)
        if entry is None:
            result.baseline = Standing.NEW
        elif entry.expires is not None and entry.expires < today:
            result.baseline = Standing.EXPIRED
            result.detail = f"[baseline entry expired on {entry.expires.isoformat()}] {result.detail}"
        else:
            result.baseline = Standing.KNOWN

    def summary(self, results: Iterable[CheckResult]) -> dict[str, Any]:
        """What results.json and the report say of the baseline: the counts, and its entries fixed or not checked."""
        by_id = {result.check_id: result for result in results}
        standings = [result.baseline for result in by_id.values() if result.baseline]
        fixed = sorted(entry for entry in self.entries if by_id.get(entry) and by_id[entry].status == Status.PASSED)
        unchecked = sorted(
            entry
            for entry in self.entries
            if entry not in by_id or by_id[entry].status == Status.NOT_EXERCISED or by_id[entry].expected_failure
        )
        return {
            "path": str(self.path),
            **{standing.value: standings.count(standing) for standing in Standing},
            "fixed": fixed,
            "not_checked": unchecked,
            "entries": {entry.id: entry.to_dict() for entry in self.entries.values()},
        }

    def updated(self, run: RunResult) -> Baseline:
        """The run's findings, keeping the reason and expiry of those the baseline already lists."""
        entries = {}
        for result in run.results:
            if result.finding:
                known = self.entries.get(result.check_id)
                entries[result.check_id] = Entry(
                    result.check_id,
                    known.reason if known else "",
                    known.expires if known else None,
                    result.status.value,
                    result.detail[:300],
                )
        return Baseline(self.path, entries)

    def pruned(self, run: RunResult) -> Baseline:
        """The baseline without the entries the run found fixed (nothing new is added)."""
        fixed = set(self.summary(run.results)["fixed"])
        return Baseline(self.path, {key: entry for key, entry in self.entries.items() if key not in fixed})

    def write(self) -> None:
        document = {"format": FORMAT, "findings": [entry.to_dict() for entry in self.entries.values()]}
        self.path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _entries(path: Path, data: Any) -> dict[str, Entry]:
    if isinstance(data, dict) and isinstance(data.get("results"), list):  # a results.json: its findings
        return {
            str(result["check_id"]): Entry(str(result["check_id"]), "", None, str(result["status"]))
            for result in data["results"]
            if isinstance(result, dict)
            and result.get("status") in ("failed", "error")
            and not result.get("expected_failure")
            and result.get("check_id")
        }
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise ConfigError(
            f"the baseline {path} must hold findings: a list of {{id, reason, expires}} (or a results.json)"
        )
    entries = {}
    for item in data["findings"]:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            raise ConfigError(f"the baseline {path}: each finding needs an id (the result id), not {item!r:.80}")
        entries[item["id"]] = Entry(
            item["id"],
            str(item.get("reason") or ""),
            _expiry(path, item),
            str(item.get("status") or "failed"),
            str(item.get("detail") or ""),
        )
    return entries


def _expiry(path: Path, item: dict[str, Any]) -> date | None:
    value = item.get("expires")
    if isinstance(value, datetime):  # YAML reads a timestamp as a datetime, a day as a date
        return value.date()
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(
            f"the baseline {path}: expires of {item['id']} must be a date (YYYY-MM-DD), not {value!r}"
        ) from None
