"""The code's shape, checked: modules import on their own, the CLI reads in workflow order."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import click
import pytest
from support import REPO

from generator.cli import WORKFLOW_ORDER, main

MODULES = sorted(
    ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
    for path in (REPO / "generator").rglob("*.py")
    if path.name != "__main__.py"
)


def _import_alone(module: str) -> tuple[str, int, str]:
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    return module, done.returncode, done.stderr[-400:]


def test_every_module_imports_on_its_own() -> None:
    """An import cycle shows only when the cycle's second module is imported first."""
    assert len(MODULES) > 50
    with ThreadPoolExecutor(max_workers=4) as pool:
        failures = [r for r in pool.map(_import_alone, MODULES) if r[1] != 0]
    assert failures == []


def _help(*args: str) -> str:
    from click.testing import CliRunner

    result = CliRunner().invoke(main, [*args, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


def test_help_lists_commands_in_workflow_order() -> None:
    listed = [
        line.split()[0]
        for line in _help().split("Commands:\n", 1)[1].splitlines()
        if line.startswith("  ") and not line.startswith("    ")
    ]
    assert listed == [name for name in WORKFLOW_ORDER if name in main.commands]
    assert set(listed) == set(main.commands)


def test_no_command_summary_is_cut_off() -> None:
    commands = _help().split("Commands:\n", 1)[1]
    assert "..." not in commands and "…" not in commands


def _all_commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found.extend(_all_commands(command, f"{prefix}{name} "))
    return found


@pytest.mark.parametrize(("name", "command"), _all_commands(main), ids=lambda v: str(v))
def test_every_option_has_help_text(name: str, command: click.Command) -> None:
    assert command.help, f"`tokengate {name}` has no help text"
    for parameter in command.params:
        if isinstance(parameter, click.Option):
            assert parameter.help, f"`tokengate {name}` option {parameter.opts} has no help"


def test_no_install_hint_names_the_pypi_project() -> None:
    """The PyPI project `tokengate` is someone else's: every hint installs from the clone."""
    offenders = [
        f"{path.relative_to(REPO)}:{number}"
        for path in (REPO / "generator").rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "pip install tokengate" in line or "'tokengate[" in line or '"tokengate[' in line
    ]
    assert offenders == []
