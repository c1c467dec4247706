"""The results model: one CheckResult per check, a RunResult per run; written as JSON and JUnit XML."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from conformance.engine.categories import Category
from conformance.engine.client import Exchange, redact


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_EXERCISED = "not exercised"
    ERROR = "error"


class Standing(StrEnum):
    """A finding's standing against the run's baseline (conformance/engine/baseline.py)."""

    NEW = "new"  # not in the baseline: fails the gate
    KNOWN = "known"  # in the baseline, not expired: reported, does not fail the gate
    EXPIRED = "expired"  # in the baseline past its expires date: fails the gate again


@dataclass
class CheckResult:
    check_id: str
    category: Category
    title: str
    status: Status
    operation_id: str | None = None
    code: str | None = None
    expectation: str = ""
    detail: str = ""
    spec_location: str = ""
    exchanges: list[Exchange] = field(default_factory=list)  # as recorded (keys already masked); dicts when written
    duration: float = 0.0
    expected_failure: bool = False
    observed: dict[str, Any] = field(default_factory=dict)  # decision -> the alternative this result saw
    requests: int | None = None  # the requests a fuzzing check generated and judged (its set-up aside)
    baseline: Standing | None = None  # a finding's standing when the run has a baseline

    @property
    def finding(self) -> bool:
        """A failure not listed as expected: what a baseline lists."""
        return self.status in (Status.FAILED, Status.ERROR) and not self.expected_failure

    @property
    def gating(self) -> bool:
        """Whether this result fails the gate (a finding the baseline does not know)."""
        return self.finding and self.baseline != Standing.KNOWN

    def to_dict(self, har_entries: Mapping[int, int] | None = None) -> dict[str, Any]:
        """The result as results.json holds it; each exchange names its entry in the run's exchanges.har."""
        members = {member.name: getattr(self, member.name) for member in fields(self)}
        exchanges = []
        for exchange in self.exchanges:
            shown = exchange.to_dict()
            if har_entries is not None and exchange.number in har_entries:
                shown["har_entry"] = har_entries[exchange.number]
            exchanges.append(shown)
        return {**members, "category": self.category.value, "status": self.status.value, "exchanges": exchanges}


@dataclass
class Finding:
    """What a check concluded about one of its results. Only `result()` (called by the check's unit, which knows
    the ids, the category and the operation) makes the CheckResult."""

    status: Status
    detail: str = ""
    exchanges: list[Exchange] = field(default_factory=list)  # what the verdict was judged on
    expectation: str = ""
    title: str = ""  # default: the result's id
    assertion: str | None = None  # names the result `<check id>/<assertion>` of a check that judges several
    code: str | None = None
    spec_location: str = ""
    observed: dict[str, Any] = field(default_factory=dict)  # decision -> the alternative this result saw
    requests: int | None = None  # the requests a fuzzing check generated and judged (its set-up aside)

    def result(self, check_id: str, category: Category, operation_id: str | None, duration: float = 0.0) -> CheckResult:
        result_id = f"{check_id}/{self.assertion}" if self.assertion else check_id
        return CheckResult(
            check_id=result_id,
            category=category,
            title=self.title or result_id,
            status=self.status,
            operation_id=operation_id,
            code=self.code,
            expectation=self.expectation,
            detail=self.detail,
            spec_location=self.spec_location,
            exchanges=list(self.exchanges),
            duration=duration,
            observed=self.observed,
            requests=self.requests,
        )


@dataclass
class RunResult:
    target: dict[str, Any]
    spec_version: str
    seed: int
    started: str
    duration: float
    command: str
    results: list[CheckResult]
    requests: int = 0
    pii_redacted: bool = False  # personal data masked in every output (--redact-pii)
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {stated, observed: {result id: value}}
    min_exercised: float = 0.0  # percent of the results that must be exercised for the run to conform
    # The operations under test, each with its documented codes and their statuses: what the report's matrix shows.
    operations: list[dict[str, Any]] = field(default_factory=list)
    baseline: dict[str, Any] | None = None  # the baseline's counts, fixed and unchecked entries (Baseline.summary)
    exchanges: list[Exchange] = field(default_factory=list)  # every request of the run, in order: exchanges.har

    @property
    def exercised_percent(self) -> float:
        exercised = sum(result.status != Status.NOT_EXERCISED for result in self.results)
        return 100.0 * exercised / len(self.results) if self.results else 0.0

    def counts(self) -> dict[str, int]:
        counts = {status.value: 0 for status in Status}
        for result in self.results:
            counts[result.status.value] += 1
        return counts

    @property
    def conforms(self) -> bool:
        """No gating failure, and enough of the suite exercised: a gate does not go green by skipping."""
        return not any(result.gating for result in self.results) and self.exercised_percent >= self.min_exercised

    @property
    def verdict(self) -> str:
        skipped = self.counts()[Status.NOT_EXERCISED.value]
        if not self.conforms:
            failing = any(result.gating for result in self.results)
            return "does not conform" + (
                ""
                if failing
                else f" (only {self.exercised_percent:.1f} % exercised, {self.min_exercised:g} % required)"
            )
        return "conforms" + (f", {skipped} not exercised" if skipped else "")

    def to_dict(self) -> dict[str, Any]:
        har_entries = {exchange.number: position for position, exchange in enumerate(self.exchanges)}
        return {
            "verdict": self.verdict,
            "conforms": self.conforms,
            "exercised_percent": round(self.exercised_percent, 2),
            "min_exercised": self.min_exercised,
            "counts": self.counts(),
            "target": self.target,
            "spec_version": self.spec_version,
            "seed": self.seed,
            "started": self.started,
            "duration": round(self.duration, 3),
            "command": self.command,
            "requests": self.requests,
            "pii_redacted": self.pii_redacted,
            "decisions": self.decisions,
            "operations": self.operations,
            "baseline": self.baseline,
            "results": [result.to_dict(har_entries) for result in self.results],
        }


def write_json(run: RunResult, path: Path) -> None:
    # A lone surrogate (a target's \ud800 escape, parsed) cannot be UTF-8: written as its escape, it is still
    # valid JSON.
    path.write_text(
        redact(json.dumps(run.to_dict(), indent=2, ensure_ascii=False)), encoding="utf-8", errors="backslashreplace"
    )


# What XML 1.0 cannot hold at all, even escaped: C0 controls but tab and newlines, lone surrogates, U+FFFE/U+FFFF.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(text: str) -> str:
    """Text a JUnit file can carry: characters from the target that XML forbids are written as escapes."""
    return NOT_XML.sub(lambda match: match.group().encode("unicode_escape", "backslashreplace").decode("ascii"), text)


def write_junit(run: RunResult, path: Path) -> None:
    suites = ElementTree.Element(
        "testsuites", name="conformance", tests=str(len(run.results)), time=f"{run.duration:.3f}"
    )
    by_category: dict[str, list[CheckResult]] = {}
    for result in run.results:
        by_category.setdefault(result.category.value, []).append(result)
    for category, results in by_category.items():
        suite = ElementTree.SubElement(
            suites,
            "testsuite",
            name=category,
            tests=str(len(results)),
            failures=str(sum(r.status == Status.FAILED for r in results)),
            errors=str(sum(r.status == Status.ERROR for r in results)),
            skipped=str(sum(r.status == Status.NOT_EXERCISED for r in results)),
        )
        for result in results:
            case = ElementTree.SubElement(
                suite, "testcase", classname=category, name=_xml(result.check_id), time=f"{result.duration:.3f}"
            )
            text = "\n".join(
                filter(
                    None,
                    [
                        result.expectation and f"expected: {result.expectation}",
                        result.detail,
                        *(exchange.curl() for exchange in result.exchanges[-3:]),
                    ],
                )
            )
            message = _xml(result.detail[:500] or result.title)
            if result.baseline == Standing.KNOWN:  # a CI reading JUnit gates as the suite does
                ElementTree.SubElement(case, "skipped", message=_xml(f"known finding (baseline): {message}"))
            elif result.status == Status.FAILED:
                ElementTree.SubElement(case, "failure", message=message).text = _xml(text)
            elif result.status == Status.ERROR:
                ElementTree.SubElement(case, "error", message=message).text = _xml(text)
            elif result.status == Status.NOT_EXERCISED:
                ElementTree.SubElement(case, "skipped", message=_xml(result.detail or "not exercised"))
    path.write_text(redact(ElementTree.tostring(suites, encoding="unicode")), encoding="utf-8")
