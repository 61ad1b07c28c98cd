"""The README tells the truth: its rule table is the rule registry, its commands are CI's."""

from __future__ import annotations

import re

from support import REPO

from generator.validate import RULES

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_rule_table_matches_the_registry() -> None:
    table = README.split("## Validation rules", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| (TG1\d\d) \| (.+?) \|$", table, re.M))
    assert rows == {rule.rule_id: rule.title for rule in RULES}


def test_ci_runs_the_readme_test_command() -> None:
    fence = README.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    assert len(fence) == 2, "the README starts with exactly two fresh-machine commands"
    install_and_render, install_and_test = fence
    assert install_and_render.endswith("pip install -c requirements/dev.txt . && tokengate render")
    *install_steps, test_command = install_and_test.split(" && ")[2:]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci, f"CI does not run `{test_command}` as its own line"
    ci_installs = [line.replace("python -m pip install --quiet ", "pip install ") for line in ci]
    for step in install_steps:
        assert step in ci_installs, f"CI does not install as the README does: `{step}`"


def test_every_install_uses_the_lock() -> None:
    """A new upstream release must not change what CI or the README installs (issue 10)."""
    for script in (".ci/run", ".ci/security-scan"):
        text = (REPO / script).read_text(encoding="utf-8")
        installs = re.findall(r"pip install[^\n]*", text)
        assert installs, script
        for install in installs:
            assert " -r requirements/" in install or " -c requirements/" in install, install
