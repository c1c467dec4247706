from conformance.cli import command

raise SystemExit(command())
