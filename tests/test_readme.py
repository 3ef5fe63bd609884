"""The README's two commands are the ones CI and users run."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section, flags=re.S)


def test_readme_gives_two_commands_that_create_the_venv():
    commands = _commands()
    assert len(commands) == 2
    assert all(c.startswith("python3 -m venv .venv") for c in commands)
    assert "app.py" in commands[0] and "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_and_stops_on_failure():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _commands()[1] in ci
    assert "set -euo pipefail" in ci
