"""The README is the operator's manual: every setting and every command it has must be in it."""

from pathlib import Path

import typer.main

from hub.cli import app
from hub.settings import Settings

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_every_setting_is_documented_in_the_readme() -> None:
    missing = [f"ATRIUM_{name.upper()}" for name in Settings.model_fields if f"`ATRIUM_{name.upper()}`" not in README]
    assert missing == [], f"add these settings to the README's configuration table: {missing}"


def test_every_command_is_documented_in_the_readme() -> None:
    command = typer.main.get_command(app)
    assert hasattr(command, "commands")
    missing = [name for name in command.commands if f"atrium {name}" not in README]
    assert missing == [], f"add these commands to the README's command table: {missing}"
