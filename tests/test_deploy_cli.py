"""The deploy commands on the command line: registered, documented, and cheap to load."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from generator.cli import main


def test_help_lists_deploy_up_and_down() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("deploy", "up", "down"):
        assert f"  {command} " in result.stdout


def test_deploy_help_names_every_option() -> None:
    result = CliRunner().invoke(main, ["deploy", "--help"])
    for option in ("--resource-group", "--subscription", "--location", "--what-if", "--dry-run",
                   "--yes", "--timeout", "--out"):  # fmt: skip
        assert option in result.stdout


def test_help_does_not_import_the_deploy_package_or_azure_cli() -> None:
    """`tokengate --help` pays for click only: the deploy machinery loads inside commands."""
    code = (
        "import sys; from generator.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('generator.deploy', 'azure', 'jinja2')\n"
        "print([m for m in sys.modules if m.startswith(heavy)])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"
