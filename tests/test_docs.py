"""Every command has help text and is documented (README.md or docs/*.md), and every documented example runs a
command and options that exist, as sqlite-utils' test_docs does."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer

from outreach.cli import app

REPO = Path(__file__).resolve().parent.parent


def _subcommands(command) -> dict[str, object]:
    """A group's commands by name, through click's API (the root builds its commands when asked: cli.LazyGroup)."""
    if not hasattr(command, "list_commands"):
        return {}
    ctx = typer.Context(command)
    return {name: command.get_command(ctx, name) for name in command.list_commands(ctx)}


def _commands(command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], object]]:
    subcommands = _subcommands(command)
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


def _examples() -> list[tuple[str, str]]:
    """Every `outreach …` line inside a code block of README.md and docs/*.md, with where it is."""
    found = []
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        in_code = False
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.startswith("```"):
                in_code = not in_code
            elif in_code and (match := re.match(r"\s*(?:\$\s+)?outreach\s+(.*)$", line)):
                found.append((f"{path.name}:{number}", match.group(1).rstrip("\\ ")))  # a continued line
    return found


EXAMPLES = _examples()


def test_there_are_examples() -> None:
    assert len(EXAMPLES) > 20


@pytest.mark.parametrize(("where", "example"), EXAMPLES, ids=[where for where, _ in EXAMPLES])
def test_documented_example_uses_existing_command_and_options(where: str, example: str) -> None:
    # Only the command itself: a comment, a `&& next command` or a pipe ends it.
    words = shlex.split(re.split(r"\s(?:#|&&|\|)\s?", example)[0])
    command, index = typer.main.get_command(app), 0
    while index < len(words) and _subcommands(command):
        word = words[index]
        if word.startswith("-"):  # a global option, and its value unless it is a flag
            option = next(p for p in command.params if word.split("=")[0] in p.opts)
            index += 1 if getattr(option, "is_flag", False) or "=" in word else 2
            continue
        assert word in _subcommands(command), f"{where}: `outreach {example}` names no command {word!r}"
        command, index = _subcommands(command)[word], index + 1
    options = {name for param in command.params for name in (*param.opts, *param.secondary_opts)} | {"--help"}
    for word in words[index:]:
        word = word.strip("[]")
        if re.fullmatch(r"--[\w-]+(=.*)?|-[a-zA-Z]", word):
            assert word.split("=")[0] in options, f"{where}: `outreach {example}` uses an unknown option {word!r}"
