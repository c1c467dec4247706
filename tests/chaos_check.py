"""One run of the suite against the chaos target, in-process through `conformance run`, and the property it must keep.

For every draw: the run ends within its deadlines with exit 1 or 3; nothing raises and nothing prints a
traceback; results.json, junit.xml and report.html are written and valid; the API key is in no output;
no connection reaches the sentinels (other hosts, other ports); the chaos server itself did not fail.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import tempfile
import time
import traceback
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from conformance.cli import main
from conformance.engine.checks.fuzzing import seed_alone

from .chaos import Behaviour, ChaosServer, Sentinel, behaviours

PLANTED_KEY = "sk_test_CHAOSplanted0123456789abcdef"
TIMEOUT = 0.25  # --timeout of a draw: every slow answer of the chaos target is slower (it also caps Retry-After)
FIXED_COST = 20.0  # seconds a run may take beyond its requests: start, validation, reports
# (categories, shards): a draw runs one shard, three or four checks, so that thousands of draws stay affordable.
SELECTIONS = (("semantics,v1-tokens,validation", 6), ("error-codes,validation", 43), ("fuzzing,validation", 10))


@dataclass(frozen=True)
class Draw:
    behaviour: Behaviour
    only: str
    shard: str
    redact_pii: bool
    timeout: float = TIMEOUT

    def arguments(self, url: str, report_dir: Path) -> list[str]:
        return [
            "run",
            "--base-url",
            url,
            "--api-key",
            PLANTED_KEY,
            "--timeout",
            str(self.timeout),
            "--only",
            self.only,
            "--shard",
            self.shard,
            "--max-examples",
            "2",
            "--report-dir",
            str(report_dir),
            *(["--redact-pii"] if self.redact_pii else []),
        ]


def draws() -> st.SearchStrategy[Draw]:
    shards = st.sampled_from(SELECTIONS).flatmap(
        lambda selection: st.tuples(
            st.just(selection[0]), st.integers(1, selection[1]).map(lambda index: f"{index}/{selection[1]}")
        )
    )
    return st.builds(
        lambda behaviour, shard, redact: Draw(behaviour, shard[0], shard[1], redact),
        behaviours(),
        shards,
        st.booleans(),
    )


def for_each_draw(seed_value: int, count: int, body: Callable[[Draw], None]) -> None:
    """`body` for each of `count` draws of the seed; the draws follow the seed alone (as the suite's fuzzing does,
    Hypothesis's pool of literals mined from the imported modules is left out), so the test and scripts/chaos.py
    draw the same behaviours whatever else is imported."""

    @seed(seed_value)
    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(draws())
    def each(draw: Draw) -> None:
        body(draw)

    with seed_alone():
        each()


@dataclass
class Outcome:
    code: int | None
    crash: str | None  # the traceback of what escaped `conformance run`
    output: str
    elapsed: float
    requests: int
    files: dict[str, bytes]  # report directory contents, by path relative to it


class ChaosRig:
    """The chaos target and its two sentinels, started once and replayed per draw."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self.other = self._stack.enter_context(Sentinel("127.0.0.2"))
        self.near = self._stack.enter_context(Sentinel("127.0.0.1"))
        self.server = self._stack.enter_context(ChaosServer(other=self.other.address, near=self.near.address))

    def close(self) -> None:
        self._stack.close()

    def run(self, draw: Draw) -> Outcome:
        self.server.play(draw.behaviour)
        report_dir = Path(tempfile.mkdtemp(prefix="chaos-"))
        output = io.StringIO()
        code, crash = None, None
        started = time.monotonic()
        try:
            with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
                code = main(draw.arguments(self.server.url, report_dir))
        except KeyboardInterrupt:
            raise
        except BaseException:  # noqa: BLE001 - what escapes the command is the finding
            crash = traceback.format_exc()
        elapsed = time.monotonic() - started
        files = {
            str(path.relative_to(report_dir)): path.read_bytes() for path in report_dir.rglob("*") if path.is_file()
        }
        shutil.rmtree(report_dir, ignore_errors=True)
        return Outcome(code, crash, output.getvalue(), elapsed, len(self.server.requests), files)

    def violations(self, draw: Draw, outcome: Outcome) -> list[str]:
        found = []
        if outcome.crash:
            found.append(f"crashed:\n{outcome.crash}")
        if outcome.code not in (1, 3):
            found.append(f"exit {outcome.code}, expected 1 or 3")
        if "Traceback" in outcome.output:
            found.append("a traceback in the output")
        limit = outcome.requests * 2 * draw.timeout + FIXED_COST
        # Per request the client waits at most its deadline, and once more at most that before a 429 retry.
        if outcome.elapsed > limit:
            found.append(f"took {outcome.elapsed:.1f} s for {outcome.requests} requests (at most {limit:.1f} s)")
        found += report_problems(outcome.files, draw.redact_pii)
        if any(
            PLANTED_KEY.encode() in content
            for content in [outcome.output.encode("utf-8", "surrogatepass"), *outcome.files.values()]
        ):
            found.append("the API key is in the output or a report")
        if self.other.connections or self.near.connections:
            found.append(f"connections to other origins: {self.other.connections + self.near.connections}")
        found += [f"the chaos server failed: {error}" for error in self.server.errors]
        return found


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.island: list[str] = []
        self._in_island = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_island = tag == "script" and ("id", "bodies") in attrs

    def handle_data(self, data: str) -> None:
        if self._in_island:
            self.island.append(data)


def report_problems(files: dict[str, bytes], redacted: bool) -> list[str]:
    """What is missing or invalid among a run's reports (one run directory, and latest/)."""
    runs = {name.split("/")[0] for name in files if not name.startswith("latest/")}
    if len(runs) != 1:
        return [f"expected one run directory, found {sorted(runs)}"]
    run = runs.pop()
    problems = [
        f"{run}/{name} missing" for name in ("results.json", "junit.xml", "report.html") if f"{run}/{name}" not in files
    ]
    if problems:
        return problems
    try:
        results = json.loads(files[f"{run}/results.json"].decode("utf-8"))
        assert results["verdict"].startswith(("conforms", "does not conform")) and results["results"], "no verdict or no results"
        assert sum(results["counts"].values()) == len(results["results"]), "counts that do not add up"
        assert results.get("pii_redacted", False) is redacted, "pii_redacted does not say what was asked"
    except (ValueError, KeyError, AssertionError, UnicodeDecodeError) as exc:
        problems.append(f"results.json invalid: {exc}")
    try:
        ElementTree.fromstring(files[f"{run}/junit.xml"])
    except ElementTree.ParseError as exc:
        problems.append(f"junit.xml invalid: {exc}")
    try:
        page = files[f"{run}/report.html"].decode("utf-8")
        parser = _Html()
        parser.feed(page)
        json.loads("".join(parser.island))
        assert page.rstrip().endswith("</html>"), "the page is cut short"
        assert ("personal data redacted" in page.lower()) is redacted, (
            "the page does not say whether personal data is redacted"
        )
    except (ValueError, AssertionError, UnicodeDecodeError) as exc:
        problems.append(f"report.html invalid: {exc}")
    return problems


@contextlib.contextmanager
def rig() -> Iterator[ChaosRig]:
    chaos = ChaosRig()
    try:
        yield chaos
    finally:
        chaos.close()
