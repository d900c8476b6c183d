"""Every `sigsync ...` command line in the README's shell blocks names a real command with
real options (so the docs cannot drift from the CLI), and inline `sigsync x` mentions too."""

import re
import shlex
from pathlib import Path

import click
import pytest

from sigsync.cli import cli

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT = README.read_text()
SHELL = "\n".join(re.findall(r"```(?:sh|bash)\n(.*?)```", TEXT, flags=re.S))
LINES = [line.split("#", 1)[0].strip() for line in SHELL.splitlines()
         if re.match(r"\s*(\.venv/bin/)?sigsync\b", line)]
INLINE = sorted(set(re.findall(r"`sigsync ([a-z]+)", TEXT)))


def _check(argv: list[str]) -> None:
    command: click.Command = cli
    ctx_args = argv
    while isinstance(command, click.Group) and ctx_args and not ctx_args[0].startswith("-"):
        name, ctx_args = ctx_args[0], ctx_args[1:]
        assert name in command.commands, f"no command {name!r} (README: sigsync {' '.join(argv)})"
        command = command.commands[name]
    known = {opt for p in command.params if isinstance(p, click.Option) for opt in p.opts + p.secondary_opts}
    for arg in ctx_args:
        if arg.startswith("--"):
            assert arg.split("=", 1)[0] in known, f"{command.name} has no option {arg} (README: {' '.join(argv)})"


def test_readme_has_shell_commands():
    assert len(LINES) >= 10


@pytest.mark.parametrize("line", LINES)
def test_readme_command_exists(line):
    argv = shlex.split(line)[1:]
    assert argv, line
    _check(argv)


@pytest.mark.parametrize("name", INLINE)
def test_inline_command_exists(name):
    assert name in cli.commands, f"README mentions `sigsync {name}`, which does not exist"


def test_the_check_catches_a_wrong_option():
    with pytest.raises(AssertionError):
        _check(["run", "--intervall", "5"])
    with pytest.raises(AssertionError):
        _check(["reconcil"])
