"""The project's own promises: the README's commands, CI running them, the config table."""

import re
from pathlib import Path

from qotd.settings import VARIABLES

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


def test_the_readme_documents_every_setting():
    for name, default, _ in VARIABLES:
        assert re.search(rf"^\| `{name}` \| `?{re.escape(default)}`? \|", README, re.MULTILINE), name
