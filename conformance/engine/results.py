"""The results model: one CheckResult per check, a RunResult per run; written as JSON and JUnit XML."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from conformance.engine.client import redact


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_EXERCISED = "not exercised"
    ERROR = "error"


class Category(StrEnum):
    FUZZING = "fuzzing"
    VALIDATION = "response validation"
    ERROR_CODES = "error-code scenarios"
    SEMANTICS = "semantics"
    V1_TOKENS = "v1 tokens"


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
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    duration: float = 0.0
    expected_failure: bool = False

    @property
    def gating(self) -> bool:
        """Whether this result fails the gate (a failure not listed as expected)."""
        return self.status in (Status.FAILED, Status.ERROR) and not self.expected_failure


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

    def counts(self) -> dict[str, int]:
        counts = {status.value: 0 for status in Status}
        for result in self.results:
            counts[result.status.value] += 1
        return counts

    @property
    def conforms(self) -> bool:
        return not any(result.gating for result in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": "conforms" if self.conforms else "does not conform",
            "counts": self.counts(),
            "target": self.target,
            "spec_version": self.spec_version,
            "seed": self.seed,
            "started": self.started,
            "duration": round(self.duration, 3),
            "command": self.command,
            "requests": self.requests,
            "results": [{**asdict(result), "category": result.category.value, "status": result.status.value} for result in self.results],
        }


def write_json(run: RunResult, path: Path) -> None:
    path.write_text(redact(json.dumps(run.to_dict(), indent=2, ensure_ascii=False)), encoding="utf-8")


def write_junit(run: RunResult, path: Path) -> None:
    suites = ElementTree.Element("testsuites", name="conformance", tests=str(len(run.results)), time=f"{run.duration:.3f}")
    by_category: dict[str, list[CheckResult]] = {}
    for result in run.results:
        by_category.setdefault(result.category.value, []).append(result)
    for category, results in by_category.items():
        suite = ElementTree.SubElement(
            suites, "testsuite", name=category, tests=str(len(results)),
            failures=str(sum(r.status == Status.FAILED for r in results)), errors=str(sum(r.status == Status.ERROR for r in results)),
            skipped=str(sum(r.status == Status.NOT_EXERCISED for r in results)),
        )
        for result in results:
            case = ElementTree.SubElement(suite, "testcase", classname=category, name=result.check_id, time=f"{result.duration:.3f}")
            text = "\n".join(filter(None, [result.expectation and f"expected: {result.expectation}", result.detail, *(e.get("curl", "") for e in result.exchanges[-3:])]))
            if result.status == Status.FAILED:
                ElementTree.SubElement(case, "failure", message=result.detail[:500] or result.title).text = text
            elif result.status == Status.ERROR:
                ElementTree.SubElement(case, "error", message=result.detail[:500] or result.title).text = text
            elif result.status == Status.NOT_EXERCISED:
                ElementTree.SubElement(case, "skipped", message=result.detail or "not exercised")
    path.write_text(redact(ElementTree.tostring(suites, encoding="unicode")), encoding="utf-8")
