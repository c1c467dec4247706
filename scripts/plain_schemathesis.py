"""Plain `schemathesis run --checks all` on the spec, as a user without this suite would run it: only the headers
the API requires and one account for the account_id path parameter. The benchmarks that compare with it share this."""

from __future__ import annotations

import sys
from pathlib import Path

SPEC = Path(__file__).resolve().parents[1] / "spec" / "openapi.yaml"


def command(url: str, key: str, version: str, account: str, directory: Path, *options: str) -> list[str]:
    """The command line, its configuration written to `directory`; `options` are schemathesis's own."""
    config = directory / "schemathesis.toml"
    config.write_text(
        f'headers = {{ Authorization = "Bearer {key}", "Stripe-Version" = "{version}" }}\n'
        f'[parameters]\n"path.account_id" = "{account}"\n'
    )
    cli = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run", str(SPEC), "--url", url]
    return [*cli, "--checks", "all", "--seed", "1", *options]
