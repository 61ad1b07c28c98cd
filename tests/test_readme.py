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
    assert install_and_render.endswith("pip install . && tokengate render")
    test_command = install_and_test.rsplit("&& ", 1)[1]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci, f"CI does not run `{test_command}` as its own line"
