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


# -- `python -m bench` lines, in the README and in docs/benchmarks.md -------------------------

BENCH_DOCS = [README, README.parent / "docs" / "benchmarks.md"]
BENCH_LINES = [line.split("#", 1)[0].strip()
               for doc in BENCH_DOCS
               for block in re.findall(r"```(?:sh|bash)\n(.*?)```", doc.read_text(), flags=re.S)
               for line in block.splitlines() if "-m bench" in line]


def _bench_options(module: str = "bench") -> set[str]:
    """The options of `python -m <module>` (bench, or one of its sections run on its own)."""
    import importlib
    import sys

    sys.path.insert(0, str(README.parent))
    main = importlib.import_module("bench.__main__" if module == "bench" else module).main
    return {opt for p in main.params if isinstance(p, click.Option) for opt in p.opts + p.secondary_opts}


def test_docs_show_the_bench_command():
    assert len(BENCH_LINES) >= 3


@pytest.mark.parametrize("line", BENCH_LINES)
def test_bench_command_options_exist(line):
    argv = shlex.split(line)
    at = next(i for i, a in enumerate(argv) if a == "bench" or a.startswith("bench."))
    args = argv[at + 1:]
    known = _bench_options(argv[at])
    for arg in args:
        if arg.startswith("--"):
            assert arg.split("=", 1)[0] in known, f"python -m bench has no option {arg} ({line})"


def test_the_bench_check_knows_the_options():
    known = _bench_options()
    assert "--sizes" in known and "--work-dir" in known and "--sizess" not in known
