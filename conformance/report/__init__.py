"""The HTML conformance report (one self-contained page rendered from a run's results.json), and a run's files."""

from conformance.report.files import write_reports
from conformance.report.render import render_report, rerun_command, write_report

__all__ = ["render_report", "rerun_command", "write_report", "write_reports"]
