"""Every command has help text and is documented (README.md or docs/*.md), as sqlite-utils' test_docs does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer

from outreach.cli import app

REPO = Path(__file__).resolve().parent.parent


def _commands(command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], object]]:
    subcommands = getattr(command, "commands", None)
    if subcommands:
        for name, sub in subcommands.items():
            yield from _commands(sub, (*path, name))
    elif path:
        yield path, command


COMMANDS = sorted(_commands(typer.main.get_command(app)), key=lambda item: item[0])


def _documentation() -> str:
    texts = [(REPO / "README.md").read_text(encoding="utf-8")]
    texts += [p.read_text(encoding="utf-8") for p in sorted((REPO / "docs").glob("*.md"))]
    return "\n".join(texts)


def test_there_are_commands() -> None:
    assert len(COMMANDS) > 5


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_command_has_help(path: tuple[str, ...], command) -> None:
    assert (command.help or "").strip(), f"outreach {' '.join(path)} has no help text"
    for param in command.params:
        if getattr(param, "param_type_name", "") == "option" and param.name not in ("help",):
            assert (param.help or "").strip(), f"outreach {' '.join(path)} option {param.opts} has no help"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_command_is_documented(path: tuple[str, ...], command) -> None:
    assert f"outreach {' '.join(path)}" in _documentation(), (
        f"`outreach {' '.join(path)}` is not mentioned in README.md or docs/*.md")
