"""Benchmark the HTML report: render a synthetic run of 5,000 checks, open it in chromium, time it.

    python scripts/bench_report.py                  # 5000 results, 3 page loads
    python scripts/bench_report.py --results 20000 --loads 5 --keep /tmp/bench-report.html

Prints the render time, the file size, and per page load: first contentful paint, DOMContentLoaded
and load (from navigation start), then the time for a status filter and a text search to apply
(until the next frame). "Interactive" is the load event's end plus the status filter: the page is
parsed, laid out, and has answered a click. The budget is 2 s.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conformance.engine.categories import Category  # noqa: E402
from conformance.report import render_report  # noqa: E402
from conformance.spec import load_spec, operations  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-quic"]
BUDGET = 2.0


def synthetic_exchange(rng: random.Random, index: int, status: int) -> dict[str, Any]:
    url = f"http://127.0.0.1:12111/v2/core/accounts/acct_{index:08d}/persons"
    body = {"error": {"code": "email_invalid", "message": "The email is invalid."}} if status >= 400 else {
        "id": f"person_test_{index:08d}", "object": "v2.core.account_person", "given_name": "Jenny", "surname": "Rosen",
        "metadata": {f"k{n}": "v" * rng.randint(5, 40) for n in range(rng.randint(0, 8))},
    }
    request = json.dumps({"given_name": "Jenny", "email": "jenny.rosen@example.com"})
    return {
        "method": "POST", "url": url, "request_body": request, "status": status, "error": None, "elapsed": 0.01,
        "request_headers": {"Stripe-Version": "2026-09-30.endive", "Authorization": "Bearer sk_test_***", "Content-Type": "application/json"},
        "response_headers": {"content-type": "application/json", "request-id": f"req_{index:024d}"}, "response_body": json.dumps(body),
        "operation_id": rng.choice([None, "create_person"]),
        "curl": f"curl -X POST {url} -H 'Authorization: Bearer sk_test_***' -H 'Content-Type: application/json' --data-raw '{request}'",
    }


def synthetic_results(count: int, seed: int = 1) -> dict[str, Any]:
    """Mixed statuses; every result of a real (operation, code) pair first, then synthetic checks."""
    rng = random.Random(seed)
    pairs = [(op.operation_id, code) for op in operations(load_spec()).values() for code in op.errors]
    categories = [category.value for category in Category]
    results = []
    for index in range(count):
        status = rng.choices(["passed", "failed", "not exercised", "error"], weights=[70, 15, 10, 5])[0]
        if index < len(pairs):
            operation_id, code = pairs[index]
            check_id, category = f"error-code/{operation_id}/{code}", Category.ERROR_CODES.value
        else:
            operation_id, code, category = rng.choice([None, "create_person", "list_persons"]), None, rng.choice(categories)
            check_id = f"{category}/synthetic-check-{index:05d}"
        with_exchanges = status in ("failed", "error") or rng.random() < 0.4
        results.append({
            "check_id": check_id, "category": category, "title": f"synthetic check number {index}", "status": status,
            "operation_id": operation_id, "code": code, "expectation": "HTTP 400 with error.code 'email_invalid'",
            "detail": {"failed": "status 200, expected 400", "not exercised": "needs fixture identity_document_file",
                       "error": "setup failed: create account answered 500"}.get(status, "25 requests, all conforming"),
            "spec_location": "paths./v2/core/accounts/{account_id}/persons.post.responses.400",
            "exchanges": [synthetic_exchange(rng, index, rng.choice([200, 400])) for _ in range(rng.randint(1, 4))] if with_exchanges else [],
            "duration": rng.random(), "expected_failure": rng.random() < 0.01,
        })
    counts = {status: sum(r["status"] == status for r in results) for status in ("passed", "failed", "not exercised", "error")}
    return {
        "verdict": "does not conform", "counts": counts, "spec_version": "2026-09-30.endive", "seed": seed, "started": "2026-11-23T10:00:00Z",
        "target": {"base_url": "http://127.0.0.1:12111", "stripe_version": "2026-09-30.endive", "profile": None, "api_key": "sk_test_***"},
        "duration": 600.0, "command": "conformance run", "requests": count * 3, "results": results,
    }


APPLY = """async ([selector, value]) => {
    const field = document.querySelector(selector);
    const started = performance.now();
    field.value = value;
    field.dispatchEvent(new Event('input', { bubbles: true }));
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve)));
    return { ms: performance.now() - started, shown: document.querySelector('#shown').textContent };
}"""


def measure(path: Path, loads: int) -> list[dict[str, float]]:
    from playwright.sync_api import sync_playwright

    timings = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(loads):
            page = browser.new_page(viewport={"width": 1366, "height": 800})
            page.goto(path.as_uri(), wait_until="load")
            navigation = page.evaluate("() => performance.getEntriesByType('navigation')[0].toJSON()")
            paint = page.evaluate("() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || 0")
            status = page.evaluate(APPLY, ["#filters select[name=status]", "failed"])
            search = page.evaluate(APPLY, ["#filters input[name=q]", "synthetic-check-04"])
            timings.append({
                "fcp": paint / 1000, "dcl": navigation["domContentLoadedEventEnd"] / 1000, "load": navigation["loadEventEnd"] / 1000,
                "filter": status["ms"] / 1000, "search": search["ms"] / 1000,
                "interactive": (navigation["loadEventEnd"] + status["ms"]) / 1000,
            })
            page.close()
        browser.close()
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=5000)
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="write the report here instead of a temporary file")
    args = parser.parse_args()

    results = synthetic_results(args.results)
    render_report(results)  # first call loads the spec and compiles the template
    started = time.perf_counter()
    html = render_report(results)
    rendered = time.perf_counter() - started
    path = args.keep or Path(tempfile.mkdtemp(prefix="bench-report-")) / "report.html"
    path.write_text(html, encoding="utf-8")
    counts = results["counts"]
    print(f"{args.results} results ({', '.join(f'{n} {s}' for s, n in counts.items())}), "
          f"{sum(bool(r['exchanges']) for r in results['results'])} with exchanges")
    print(f"render: {rendered:.2f} s   file: {path.stat().st_size / 1e6:.2f} MB ({path})")
    timings = measure(path, args.loads)
    for number, t in enumerate(timings, 1):
        print(f"load {number}: first paint {t['fcp']:.3f} s, DOMContentLoaded {t['dcl']:.3f} s, load {t['load']:.3f} s, "
              f"status filter {t['filter'] * 1000:.0f} ms, "
              f"search {t['search'] * 1000:.0f} ms -> interactive {t['interactive']:.3f} s")
    median = statistics.median(t["interactive"] for t in timings)
    print(f"median interactive: {median:.3f} s (budget {BUDGET:.1f} s): {'OK' if median < BUDGET else 'OVER BUDGET'}")
    return 0 if median < BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
