"""The project's own promises: the README's commands, CI running them, the config table."""

import dataclasses
import re
from pathlib import Path

from qotd.settings import VARIABLES, Settings

ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    setup = README.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", setup)


def test_the_readme_gives_exactly_two_set_up_commands():
    assert len(_commands()) == 2


def test_ci_runs_the_readmes_test_command():
    test_command = _commands()[1]
    assert "pytest" in test_command
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def _readme_settings() -> list[tuple[str, str, str]]:
    table = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([A-Z_]+)` \| (.+?) \| (.+) \|$", table, re.MULTILINE)
    return [(name, default.strip("`"), meaning) for name, default, meaning in rows]


def test_the_readme_documents_every_setting():
    for name, default, _ in VARIABLES:
        assert re.search(rf"^\| `{name}` \| `?{re.escape(default)}`? \|", README, re.MULTILINE), name


def test_the_readmes_configuration_table_is_the_variables_list():
    assert _readme_settings() == list(VARIABLES)


def test_every_setting_is_read_from_its_variable():
    assert [f.name.upper() for f in dataclasses.fields(Settings)] == [name for name, _, _ in VARIABLES]


def test_an_unset_variable_takes_the_default_the_table_gives():
    given = {name: default for name, default, _ in VARIABLES if not default.startswith("(")}
    given["DATABASE_URL"] = given["DATABASE_URL"].replace("$DATA_DIR", str(Path(given["DATA_DIR"])))
    unset = Settings.from_env({})
    assert unset == Settings.from_env(given)
    assert (unset.bot_token, unset.public_url, unset.webhook_secret) == (None, None, None)
    assert (unset.admin_ids, unset.channel_ids) == (frozenset(), ())
