"""A run's files: reports/<run>/results.json, junit.xml, exchanges.har and report.html, and reports/latest as a copy."""

from __future__ import annotations

import shutil
from pathlib import Path

from conformance.engine.results import RunResult, write_json, write_junit
from conformance.report.har import write_har
from conformance.report.render import write_report


def _previous_results(report_dir: Path, current: Path) -> Path | None:
    """The newest earlier run's results.json in the same report directory, for the report's comparison."""
    earlier = sorted(
        path for path in report_dir.glob("*/results.json") if path.parent.name not in ("latest", current.name)
    )
    return earlier[-1] if earlier else None


def write_reports(run: RunResult, report_dir: Path) -> Path:
    """reports/<run>/results.json and junit.xml, the HTML report rendered from results.json alone, and
    reports/latest as a copy of the newest run."""
    name = run.started.replace(":", "").replace("-", "") + f"-seed{run.seed}"
    directory = report_dir / name
    directory.mkdir(parents=True, exist_ok=True)
    write_json(run, directory / "results.json")
    write_junit(run, directory / "junit.xml")
    write_har(run, directory / "exchanges.har")
    write_report(
        directory / "results.json", directory / "report.html", previous_path=_previous_results(report_dir, directory)
    )
    latest = report_dir / "latest"
    if latest.is_symlink() or latest.is_file():
        latest.unlink()
    elif latest.is_dir():
        shutil.rmtree(latest)
    shutil.copytree(directory, latest)
    return directory
