"""The README tells the truth: its rule table is the rule registry, its commands are CI's."""

from __future__ import annotations

import re

from support import REPO

from generator.validate import RULES

README = (REPO / "README.md").read_text(encoding="utf-8")
DOCS = REPO / "docs"


def test_rule_table_matches_the_registry() -> None:
    rules = (DOCS / "rules.md").read_text(encoding="utf-8")
    table = rules.split("## Validation rules", 1)[1].split("\n## ", 1)[0]
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


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_readme_reads_in_two_minutes() -> None:
    """What it is, the set-up commands, the lab, the commands; the reference lives in docs/."""
    words = len(README.split())
    assert words < 1_200, f"the README has {words} words"
    for needed in ("docs/lab.md", "## Commands", "## Documentation"):
        assert needed in README


def test_every_relative_link_and_anchor_resolves() -> None:
    pages = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]
    anchors = {
        page: {_slug(h) for h in re.findall(r"^#{1,6} (.+)$", page.read_text("utf-8"), re.M)}
        for page in pages
    }
    broken = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            file_part, _, anchor = target.partition("#")
            linked = (page.parent / file_part).resolve() if file_part else page
            if not linked.exists():
                broken.append(f"{page.name}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in anchors.get(linked, set()):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert broken == []
