"""Build the report's view of a run (matrix, groups, changes) and render it with the jinja2 template.

Bodies in the results come from the server under test, so the template autoescapes everything,
and every string is redacted before rendering as well as the final HTML after it.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections import Counter
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
import markupsafe

from conformance.engine.categories import DESCRIPTIONS, Category, category
from conformance.engine.client import redact
from conformance.spec.catalog import default_operations, operations_table

STATUSES = ("passed", "failed", "not exercised", "error")
FAILING = ("failed", "error")
SYMBOLS = {"passed": "✓", "failed": "✗", "error": "!", "not exercised": "–"}  # noqa: RUF001 - an en dash, as drawn
# Failures first: that is what a reader opens the report for.
SEVERITY = {"failed": 0, "error": 1, "not exercised": 2, "passed": 3}
MAX_EXCHANGES = 6  # per check in the HTML; results.json keeps them all
MAX_BODY = 20 * 1024


def rerun_command(check_id: str) -> str:
    """The command that re-runs one check (the pytest plugin's item ids are the check ids)."""
    return "pytest --conformance -k '" + check_id.replace("'", "'\\''") + "'"


def _redacted(value: Any) -> Any:
    # Redact before rendering too: the JSON island writes `<sk_test_x` as `\u003csk_test_x`, where the
    # key pattern's word boundary no longer matches, so the final pass alone would miss it.
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {_redacted(key): _redacted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    return value


def _script_json(value: Any) -> markupsafe.Markup:
    """JSON to embed in a <script type="application/json">: only `<` can end or confuse that element
    (`</script`, `<!--`), so only `<` is escaped; jinja's tojson also escapes `'`, `>`, `&`, which bloats big runs."""
    return markupsafe.Markup(json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c"))


def _body(text: str) -> tuple[str, bool]:
    """Pretty-printed JSON when it parses, else the text; cut to MAX_BODY characters."""
    with contextlib.suppress(ValueError, RecursionError):  # RecursionError: a body nested thousands deep
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    return (text[:MAX_BODY], True) if len(text) > MAX_BODY else (text, False)


def _exchange_view(exchange: dict[str, Any]) -> dict[str, Any]:
    parts = urlsplit(exchange.get("url") or "")
    body, truncated = _body(exchange.get("response_body") or "")
    status = exchange.get("status")
    return {
        "label": f"{exchange.get('method', '?')} {parts.path}{'?' + parts.query if parts.query else ''}",
        "har_entry": exchange.get("har_entry"),
        "role": exchange.get("operation_id") or "setup call",
        "setup": not exchange.get("operation_id"),
        "curl": exchange.get("curl") or "",
        "response": f"HTTP {status}"
        if status is not None
        else f"no response: {exchange.get('error') or 'unknown error'}",
        "headers": "\n".join(f"{name}: {value}" for name, value in (exchange.get("response_headers") or {}).items()),
        "body": body,
        "truncated": truncated,
    }


def _check_view(index: int, result: dict[str, Any]) -> dict[str, Any]:
    """What the page holds for a check: its summary line. The body comes from _check_body, in a JSON island."""
    return {
        "index": index,
        "id": result.get("check_id", ""),
        "title": result.get("title", ""),
        "status": result.get("status", "error"),
        "category": _category_name(result.get("category", "")),
        "operation": result.get("operation_id") or "",
        "detail": result.get("detail", ""),
        "expected_failure": bool(result.get("expected_failure")),
        "requests": result.get("requests"),
        "baseline": result.get("baseline"),
    }


def _category_name(label: str) -> str:
    """The category's one name; results.json files written before it was one carry labels such as 'v1 tokens'."""
    try:
        return category(label).value
    except ValueError:
        return label


def _check_body(result: dict[str, Any]) -> dict[str, Any]:
    exchanges = result.get("exchanges") or []
    return {
        "expectation": result.get("expectation", ""),
        "detail": result.get("detail", ""),
        "spec_location": result.get("spec_location", ""),
        "rerun": rerun_command(result.get("check_id", "")),
        "exchanges": [_exchange_view(exchange) for exchange in exchanges[-MAX_EXCHANGES:]],
        "omitted": max(0, len(exchanges) - MAX_EXCHANGES),
    }


def _cell(operation: dict[str, Any], label: str, checks: list[dict[str, Any] | None]) -> dict[str, Any]:
    """One matrix cell from the checks behind it (several for the success column)."""
    present = [check for check in checks if check]
    statuses = {check["status"] for check in present}
    status = next((s for s in ("failed", "error", "passed") if s in statuses), "not exercised")
    if present:
        reason = "; ".join(
            f"{c['id']}: {c['status']}" + (f" ({c['detail'][:300]})" if c["detail"] else "") for c in present
        )
    else:
        reason = "no check for it in this run (category not selected, or another shard)"
    target = next((c for c in present if c["status"] == status), present[0] if present else None)
    return {
        "status": status,
        "symbol": SYMBOLS[status],
        "target": target["index"] if target else None,
        "title": f"{operation['operation_id']} / {label}: {status} - {reason}",
    }


def _matrix(ops: list[dict[str, Any]], checks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Operations x documented codes; `ops` as results.json carries them (spec.catalog.operations_table)."""
    documented = Counter(code for operation in ops for code in operation["errors"])
    status_of = {code: status for operation in ops for code, status in operation["errors"].items()}
    # Columns grouped by HTTP status; within a status, codes most operations share come first.
    codes = sorted(documented, key=lambda code: (status_of[code], -documented[code], code))
    groups = [
        (status, [code for code in codes if status_of[code] == status]) for status in sorted(set(status_of.values()))
    ]
    rows, exercised, operations_exercised = [], 0, 0
    for operation in ops:
        operation_id = operation["operation_id"]
        cells: list[dict[str, Any] | None] = []
        for code in codes:
            if code not in operation["errors"]:
                cells.append(None)
                continue
            cell = _cell(operation, code, [checks.get(f"{Category.ERROR_CODES}/{operation_id}/{code}")])
            exercised += cell["status"] != "not exercised"
            cells.append(cell)
        fuzz = checks.get(f"{Category.FUZZING}/{operation_id}")
        success = _cell(operation, "success", [fuzz, checks.get(f"{Category.VALIDATION}/{operation_id}")])
        operations_exercised += any(cell and cell["status"] != "not exercised" for cell in [success, *cells])
        rows.append(
            {
                "operation": operation,
                "success": success,
                "cells": list(zip(codes, cells, strict=True)),
                "fuzz_requests": "" if fuzz is None or fuzz["requests"] is None else fuzz["requests"],
            }
        )
    return {
        "groups": groups,
        "starts": {codes[0] for _, codes in groups},
        "rows": rows,
        "codes_total": sum(documented.values()),
        "codes_exercised": exercised,
        "operations_total": len(ops),
        "operations_exercised": operations_exercised,
    }


def _changes(current: Iterable[dict[str, Any]], previous: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    now = {check["id"]: check for check in current}
    before = {result.get("check_id"): result.get("status") for result in previous.get("results", [])}
    failing_before = {check_id for check_id, status in before.items() if status in FAILING}
    failing_now = {check_id for check_id, check in now.items() if check["status"] in FAILING}

    def listed(ids: Iterable[str]) -> list[dict[str, Any]]:
        return [
            {"id": check_id, "check": now.get(check_id), "before": before.get(check_id)} for check_id in sorted(ids)
        ]

    return {
        "new failures": listed(failing_now - failing_before),
        "fixed": listed(check_id for check_id in failing_before if now.get(check_id, {}).get("status") == "passed"),
        "still failing": listed(failing_now & failing_before),
        "failing before, not checked now": listed(
            check_id
            for check_id in failing_before
            if now.get(check_id, {}).get("status", "not exercised") == "not exercised"
        ),
    }


def _baseline(checks: list[dict[str, Any]], summary: dict[str, Any] | None) -> dict[str, Any] | None:
    """The findings against the run's baseline, apart: new, expired, known, fixed, and entries not checked now."""
    if not summary:
        return None
    by_id = {check["id"]: check for check in checks}
    entries = summary.get("entries") or {}

    def listed(ids: Iterable[str]) -> list[dict[str, Any]]:
        return [
            {"id": check_id, "check": by_id.get(check_id), "reason": (entries.get(check_id) or {}).get("reason", "")}
            for check_id in sorted(ids)
        ]

    def standing(name: str) -> list[dict[str, Any]]:
        return listed(check["id"] for check in checks if check["baseline"] == name)

    return {
        "path": summary.get("path", ""),
        "groups": {
            "new findings": standing("new"),
            "expired in the baseline": standing("expired"),
            "known findings": standing("known"),
            "fixed since the baseline": listed(summary.get("fixed") or []),
            "in the baseline, not checked now": listed(summary.get("not_checked") or []),
        },
    }


@functools.cache
def template(name: str = "template.html.j2") -> jinja2.Template:
    """A page template of the package, autoescaped: every string in it may come from a target."""
    source = resources.files("conformance.report").joinpath(name).read_text(encoding="utf-8")
    environment = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    return environment.from_string(source)


def render_report(results: dict[str, Any], previous: dict[str, Any] | None = None) -> str:
    """The report of one run as a self-contained HTML page; `previous` adds the changes since that run."""
    results = _redacted(results)
    previous = _redacted(previous) if previous is not None else None
    checks = [_check_view(index, result) for index, result in enumerate(results.get("results", []))]
    by_id = {check["id"]: check for check in checks}
    counts = results.get("counts") or {status: sum(c["status"] == status for c in checks) for status in STATUSES}
    counts = {status: counts.get(status, 0) for status in STATUSES}
    listed = [check for check in checks if not check["expected_failure"]]
    categories = [*Category, *sorted({c["category"] for c in checks} - set(Category))]
    groups = [
        (
            category,
            sorted(
                (c for c in listed if c["category"] == category), key=lambda c: (SEVERITY.get(c["status"], 0), c["id"])
            ),
        )
        for category in categories
    ]
    expected = sorted((c for c in checks if c["expected_failure"]), key=lambda c: (c["status"] != "passed", c["id"]))
    # Files written before results.json carried the operations: those of the spec the suite has now.
    ops = results.get("operations") or operations_table(default_operations())
    html = template().render(
        run=results,
        conforms=results.get("conforms", results.get("verdict") == "conforms"),
        counts=counts,
        statuses=STATUSES,
        matrix=_matrix(ops, by_id),
        groups=[(category, members) for category, members in groups if members],
        descriptions=DESCRIPTIONS,
        categories=[category for category in categories if any(c["category"] == category for c in checks)],
        expected=expected,
        total=len(checks),
        operation_ids=sorted({c["operation"] for c in checks if c["operation"]} | {o["operation_id"] for o in ops}),
        changes=_changes(checks, previous) if previous is not None else None,
        baseline=_baseline(checks, results.get("baseline")),
        har=any(
            "har_entry" in exchange
            for result in results.get("results", [])
            for exchange in result.get("exchanges") or []
        ),
        previous=previous,
        # Check bodies are built by the page when first opened: thousands of them in the DOM make a big run slow
        # to open.
        bodies=_script_json([_check_body(result) for result in results.get("results", [])]),
    )
    return redact(html)


def write_report(results_path: Path, out_path: Path | None = None, previous_path: Path | None = None) -> Path:
    """Render results.json into report.html beside it (or `out_path`); returns the written path."""
    results = json.loads(Path(results_path).read_text(encoding="utf-8"))
    previous = json.loads(Path(previous_path).read_text(encoding="utf-8")) if previous_path else None
    out = Path(out_path) if out_path else Path(results_path).with_name("report.html")
    out.write_text(
        render_report(results, previous), encoding="utf-8", errors="backslashreplace"
    )  # lone surrogates, as in results.json
    return out
