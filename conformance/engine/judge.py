"""Semantic checks as plain functions, registered by a decorator, each judging named assertions.

A check declares its assertions (name -> what is expected) and the decisions it observes. Its body
calls `judge.expect(...)` for an assertion that stands on its own (a failure does not stop the
check), `judge.require(...)` for a step the rest depends on, and `judge.decide(...)` where the answer
depends on a decision: strict where the target states its choice, observed and reported where it
states `any`. Every assertion becomes a result of its own, `<check id>/<assertion>`; one that the
body never reached says why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.engine.categories import Category
from conformance.engine.client import Exchange
from conformance.engine.results import Finding, Status
from conformance.engine.workbench import Workbench
from conformance.spec import Operation
from conformance.spec.decisions import ANY

EXCHANGES_KEPT = 40  # exchanges a failed assertion carries (the last ones before its verdict)


class Stop(Exception):
    """A step the rest of the check depends on failed; its verdict is already recorded."""


@dataclass
class Verdict:
    status: Status
    expectation: str
    detail: str
    exchanges: tuple[int, int]  # [start, end) of the check's exchanges this verdict was judged on
    observed: dict[str, Any] = field(default_factory=dict)  # decision -> the alternative seen


@dataclass
class Judge:
    """The verdicts of one run of one check."""

    check: SemanticCheck
    bench: Workbench
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    _judged_until: int = 0

    def _record(self, assertion: str, status: Status, expectation: str | None, detail: str, **observed: Any) -> None:
        if assertion not in self.check.assertions:
            raise KeyError(f"{self.check.check_id} declares no assertion {assertion!r}")
        end = len(self.bench.client.exchanges)
        self.verdicts[assertion] = Verdict(
            status, expectation or self.check.assertions[assertion], detail, (self._judged_until, end), observed
        )
        self._judged_until = end

    def expect(self, assertion: str, condition: bool, seen: str, expectation: str | None = None) -> bool:
        """Judge an assertion that stands on its own; the check goes on either way."""
        self._record(assertion, Status.PASSED if condition else Status.FAILED, expectation, "" if condition else seen)
        return condition

    def require(self, assertion: str, condition: bool, seen: str, expectation: str | None = None) -> None:
        """Judge a step the rest depends on: when it fails, the check stops here."""
        if not self.expect(assertion, condition, seen, expectation):
            raise Stop(assertion)

    def ok(self, assertion: str, exchange: Exchange, what: str) -> dict[str, Any]:
        """The object of a 200 answer, or a failed, stopping `assertion`."""
        answered = exchange.status == 200 and isinstance(exchange.json, dict)
        seen = f"{what}: got {exchange.status or exchange.error}: {exchange.response_text[:300]}"
        self.require(assertion, answered, seen)
        return exchange.json  # type: ignore[no-any-return]

    def decide(
        self,
        assertion: str,
        decision: str,
        observed: Any,
        seen: str,
        agrees: Callable[[Any, Any], bool] = lambda stated, observed: bool(stated == observed),
    ) -> None:
        """Judge the alternative the target was seen to take (None: an answer no alternative allows)."""
        if decision not in self.check.decisions:
            raise KeyError(f"{self.check.check_id} declares no decision {decision!r}")
        stated = self.bench.decisions.get(decision, ANY)
        if observed is None:
            status, detail = Status.FAILED, f"an answer that fits no alternative of {decision}: {seen}"
        elif stated == ANY or agrees(stated, observed):
            status, detail = (
                Status.PASSED,
                f"observed {decision} = {observed!r}" + ("" if stated == ANY else ", as stated"),
            )
        else:
            status, detail = (
                Status.FAILED,
                f"observed {decision} = {observed!r}, but the profile states {stated!r}: {seen}",
            )
        expectation = self.check.assertions[assertion] + (
            f" (stated: {decision} = {stated!r})" if stated != ANY else f" ({decision} not stated: observed only)"
        )
        self._record(assertion, status, expectation, detail, **{decision: observed})


Body = Callable[[Workbench, Judge], None]


@dataclass(frozen=True)
class SemanticCheck:
    check_id: str
    category: Category
    assertions: Mapping[str, str]  # name -> what is expected
    decisions: tuple[str, ...]
    body: Body
    per_operation: Callable[[Operation], bool] | None = None  # assertions named by the operations it selects

    def for_operations(self, operations: Mapping[str, Operation]) -> SemanticCheck:
        """The check with one assertion per selected operation (its declared text applies to each)."""
        if self.per_operation is None:
            return self
        text = next(iter(self.assertions.values()))
        named = {operation_id: text for operation_id, operation in operations.items() if self.per_operation(operation)}
        return SemanticCheck(self.check_id, self.category, named, self.decisions, self.body)

    def result_ids(self) -> list[str]:
        return [f"{self.check_id}/{assertion}" for assertion in self.assertions]

    def findings(self, judge: Judge, reason: str, status: Status) -> list[Finding]:
        """A finding per assertion: its verdict, or `status` with `reason` where the body did not reach it."""
        exchanges = judge.bench.client.exchanges
        findings = []
        for assertion, expectation in self.assertions.items():
            verdict = judge.verdicts.get(assertion) or Verdict(status, expectation, reason, (0, len(exchanges)))
            start, end = verdict.exchanges
            shown = (
                exchanges[max(0, end - EXCHANGES_KEPT) : end]
                if verdict.status != Status.PASSED
                else exchanges[start:end]
            )
            findings.append(
                Finding(
                    verdict.status,
                    verdict.detail,
                    shown,
                    verdict.expectation,
                    title=f"{self.check_id.split('/', 1)[1].replace('-', ' ')}: {assertion.replace('-', ' ')}",
                    assertion=assertion,
                    observed=verdict.observed,
                )
            )
        return findings


CHECKS: dict[str, SemanticCheck] = {}


def check(
    check_id: str,
    assertions: Mapping[str, str],
    *,
    decisions: tuple[str, ...] = (),
    category: Category = Category.SEMANTICS,
    per_operation: Callable[[Operation], bool] | None = None,
) -> Callable[[Body], Body]:
    """Register a semantic check under its id with its assertions (and the decisions it observes)."""

    def register(body: Body) -> Body:
        if check_id in CHECKS:
            raise ValueError(f"two checks named {check_id}")
        CHECKS[check_id] = SemanticCheck(check_id, category, dict(assertions), decisions, body, per_operation)
        return body

    return register
