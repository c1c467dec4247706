"""The run options' one table (conformance/engine/options.py) and the one vocabulary of categories.

Every surface that sets an option (the command line, CONFORMANCE_* variables, a profile, pytest's flags) is read
from the table, so the same value gives the same setting, and the same mistake the same message, wherever it is
given; an option is refused where the table does not offer it.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import build_parser
from conformance.engine.categories import Category
from conformance.engine.config import RunConfig, resolve_config
from conformance.engine.options import RUN_OPTIONS, ConfigError, Surface, on
from conformance.engine.plan import plan
from conformance.engine.runner import reproduce_command, validation_results
from conformance.engine.validation import ResponseValidator
from conformance.pytest_plugin import PLUGIN_NAME
from conformance.spec import load_spec

from .test_pytest_plugin import _plugin_args as plugin_args

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]
KEY = "sk_test_options_0000"
REMOTE = "http://127.0.0.1:9"  # never contacted: resolving a configuration sends nothing


def _profile(tmp_path: Path, **settings: Any) -> str:
    lines = [f"{name}: {value}" for name, value in {"base_url": REMOTE, "api_key": KEY, **settings}.items()]
    path = tmp_path / "profile.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _pytest_config(pytester: pytest.Pytester, *args: str) -> RunConfig:
    """The configuration the plugin resolves from its flags, collected in this process (no target is started)."""
    recorder = pytester.inline_run(*plugin_args(), "-p", "no:cacheprovider", "--collect-only", *args)
    config = recorder.getcall("pytest_collection_finish").session.config
    run_config: RunConfig = config.pluginmanager.get_plugin(PLUGIN_NAME).run_config
    return run_config


@pytest.fixture
def hermetic(monkeypatch: pytest.MonkeyPatch) -> None:
    for option in on(Surface.ENVIRONMENT):
        monkeypatch.delenv(option.variable, raising=False)


def test_every_surface_types_an_option_alike_and_refuses_a_bad_value_with_the_same_message(
    tmp_path: Path, pytester: pytest.Pytester, hermetic: None
) -> None:
    remote = {"base_url": REMOTE, "api_key": KEY}
    from_cli = resolve_config({**remote, "max_examples": "7", "timeout": "2.5"}, environ={})
    from_environment = resolve_config(
        remote, environ={"CONFORMANCE_MAX_EXAMPLES": "7", "CONFORMANCE_TIMEOUT": "2.5"}
    )
    from_profile = resolve_config({"profile": _profile(tmp_path, max_examples=7, timeout=2.5)}, environ={})
    from_pytest = _pytest_config(
        pytester,
        f"--conformance-base-url={REMOTE}",
        f"--conformance-api-key={KEY}",
        "--conformance-max-examples=7",
        "--conformance-timeout=2.5",
    )
    for config in (from_cli, from_environment, from_profile, from_pytest):
        assert (config.max_examples, config.timeout) == (7, 2.5)

    for cli, environ in (
        ({**remote, "max_examples": "0"}, {}),
        (remote, {"CONFORMANCE_MAX_EXAMPLES": "0"}),
        ({"profile": _profile(tmp_path, max_examples=0)}, {}),  # YAML gives the number 0, shown as 0
    ):
        with pytest.raises(ConfigError) as raised:
            resolve_config(cli, environ=environ)
        assert re.fullmatch(r"max_examples must be a positive number, not '?0'?", str(raised.value))


def test_the_layers_keep_their_order_command_line_over_environment_over_profile(tmp_path: Path) -> None:
    profile = _profile(tmp_path, max_examples=3, pace=0.5)
    config = resolve_config({"profile": profile, "max_examples": "5"}, environ={"CONFORMANCE_PACE": "0.25"})
    assert (config.max_examples, config.pace) == (5, 0.25)


def test_an_option_is_refused_where_the_table_does_not_offer_it(tmp_path: Path) -> None:
    refused_in_profiles = sorted(option.name for option in RUN_OPTIONS if Surface.PROFILE not in option.surfaces)
    assert {"seed", "only", "decide", "workers", "allow_live"} <= set(refused_in_profiles)
    for name in refused_in_profiles:
        with pytest.raises(ConfigError, match=f"unknown settings: {name}"):
            resolve_config({"profile": _profile(tmp_path, **{name: 1})}, environ={})
    # Insisting on live mode is for one command: a variable left in a CI environment does not do it.
    live = {"base_url": "https://api.example.test", "api_key": "sk_live_options_0000"}
    with pytest.raises(ConfigError, match="refusing a live-mode key"):
        resolve_config(live, environ={"CONFORMANCE_ALLOW_LIVE": "true"})
    assert resolve_config({**live, "allow_live": True}, environ={}).allow_live


def test_the_command_line_and_the_pytest_plugin_offer_exactly_the_options_of_the_table(
    pytester: pytest.Pytester,
) -> None:
    run = next(
        action.choices["run"]
        for action in build_parser()._actions  # noqa: SLF001 - argparse keeps its subcommands there
        if action.choices and "run" in action.choices
    )
    flags = {flag for action in run._actions for flag in action.option_strings} - {"-h", "--help"}  # noqa: SLF001
    assert flags == {option.flag for option in on(Surface.CLI)}

    config = pytester.parseconfig(*plugin_args())
    for option in RUN_OPTIONS:
        if Surface.PYTEST in option.surfaces:
            assert config.getoption(f"conformance_{option.name}") is None  # offered, and not given
        else:
            with pytest.raises(ValueError, match="no option named"):
                config.getoption(f"conformance_{option.name}")


def test_the_readme_names_every_option_of_the_command_line() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert [option.flag for option in on(Surface.CLI) if not re.search(rf"`{option.flag}\b", readme)] == []


def test_only_takes_one_name_per_category_and_its_earlier_spellings() -> None:
    remote = {"base_url": REMOTE, "api_key": KEY}
    assert resolve_config({**remote, "only": "error-codes,validation"}, environ={}).only == (
        Category.ERROR_CODES,
        Category.VALIDATION,
    )
    assert resolve_config({**remote, "only": "error-code,response-validation,error-code"}, environ={}).only == (
        Category.ERROR_CODES,
        Category.VALIDATION,
    )
    with pytest.raises(ConfigError, match="fuzzing, response-validation, error-code, semantics, v1-tokens; not tokens"):
        resolve_config({**remote, "only": "semantics,tokens"}, environ={})


def test_a_result_id_begins_with_the_name_of_its_category() -> None:
    spec = load_spec()
    units = plan(RunConfig(), spec)
    assert {unit.category for unit in units} == set(Category) - {Category.VALIDATION}  # validation: after the run
    for unit in units:
        assert all(result_id.split("/")[0] == unit.category.value for result_id in unit.result_ids), unit.check_id
    for result in validation_results(ResponseValidator(spec), [], ["create_person"]):
        assert result.check_id.split("/")[0] == result.category.value == "response-validation"


def test_the_reproduce_command_parses_back_to_the_same_run(tmp_path: Path) -> None:
    profile = _profile(tmp_path)
    cli = {"profile": profile, "seed": "11", "max_examples": "3", "only": "fuzzing,semantics", "shard": "2/3"}
    config = resolve_config({**cli, "decide": ["list_order=oldest_first", "page_urls=absolute"]}, environ={})
    words = shlex.split(reproduce_command(config))
    assert words[:3] == ["CONFORMANCE_API_KEY=...", "conformance", "run"]
    arguments = vars(build_parser().parse_args(words[2:]))
    again = resolve_config({option.name: arguments.get(option.name) for option in on(Surface.CLI)}, environ={})
    kept = ("base_url", "profile", "seed", "max_examples", "only", "decide", "shard", "decisions")
    assert {name: getattr(again, name) for name in kept} == {name: getattr(config, name) for name in kept}
