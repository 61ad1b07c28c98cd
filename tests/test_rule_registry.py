"""One rule registry: every id the tool can print is a registered, documented Rule (issue 12).

The proof that nothing printable is missing has two halves: no id string exists in generator/
except as the first argument of `define(...)` or `@rule(...)` (so a finding cannot be built from
a bare id), and every id so defined is listed by `tokengate rules` and in the README's tables.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import REPO

from generator.cli import main
from generator.errors import SpecInvalid
from generator.findings import REGISTRY, Rule, Stage, define
from generator.pipeline import compile_path
from generator.rules import every_rule

_ID = re.compile(r"TG\d{3}")


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


SOURCES = sorted((REPO / "generator").rglob("*.py"))


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the string nodes that are docstrings (prose may name ids; it prints nothing)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _definitions(tree: ast.Module) -> dict[int, str]:
    """String nodes that are the id argument of `define(...)` or `rule(...)`, with the id."""
    found = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("define", "rule")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found[id(node.args[0])] = node.args[0].value
    return found


def _strays(tree: ast.Module) -> list[ast.Constant]:
    """String nodes naming an id (or ending in a piece of one an f-string completes) that are
    neither a rule definition's id nor a docstring."""
    skip = set(_definitions(tree)) | _docstrings(tree)
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in skip
        and (_ID.search(node.value) or re.search(r"TG\d{0,2}$", node.value))
    ]


def _scan() -> tuple[set[str], list[str]]:
    """(every id defined in generator/, every other string that names an id: file:line: text)."""
    defined: set[str] = set()
    bare: list[str] = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined.update(_definitions(tree).values())
        where = path.relative_to(REPO)
        bare += [f"{where}:{node.lineno}: {str(node.value)[:60]!r}" for node in _strays(tree)]
    return defined, bare


def test_no_id_is_written_outside_a_rule_definition() -> None:
    """A finding is built from its Rule; an id typed at the finding (or a piece of one an
    f-string completes) could print an id no registry knows."""
    _, bare = _scan()
    assert SOURCES and bare == []


def test_the_scan_sees_a_bare_id() -> None:
    """The scan above can fail: a bare id in a finding is reported, a define() and prose not."""
    tree = ast.parse(
        'X = define("TG900", "t", Stage.LOAD)\n'
        'def f(spec, n):\n    """Names TG900 in prose."""\n'
        '    yield Finding("f", 1, 1, "TG901", "m")\n'
        '    yield Finding("f", 1, 1, f"TG{n}", "m")\n'
    )
    assert [node.value for node in _strays(tree)] == ["TG901", "TG"]


def test_every_defined_id_is_registered_once_and_listed() -> None:
    defined, _ = _scan()
    registered = [rule.rule_id for rule in every_rule()]
    assert len(registered) == len(set(registered))
    assert defined == set(registered)
    code, out, _ = invoke("rules")
    assert code == 0
    assert re.findall(r"^  (TG\d{3})  ", out, re.M) == registered


def test_rules_are_grouped_by_stage_in_pipeline_order() -> None:
    _, out, _ = invoke("rules")
    headings = [line.split(":", 1)[0] for line in out.splitlines() if line and line[0] != " "]
    stages = [stage.label for stage in Stage]
    assert headings == [s for s in stages if any(r.stage.label == s for r in every_rule())]
    assert headings[0] == "load" and headings[-1] == "output"


def _reference() -> str:
    """The rule tables: docs/rules.md (TG0xx, TG1xx, limits) and docs/pull-requests.md (TG2xx)."""
    return "".join(
        (REPO / "docs" / name).read_text(encoding="utf-8")
        for name in ("rules.md", "pull-requests.md")
    )


def _readme_ids() -> set[str]:
    """Every id in the first cell of a docs table row: alone, listed or as a range."""
    readme = _reference()
    listed: set[str] = set()
    for cell in re.findall(r"^\| (TG[^|]*?) \|", readme, re.M):
        for first, last in re.findall(r"TG(\d{3})(?:–TG(\d{3}))?", cell):
            listed.update(f"TG{n:03d}" for n in range(int(first), int(last or first) + 1))
    return listed


def test_readme_tables_document_every_rule() -> None:
    assert _readme_ids() == {rule.rule_id for rule in every_rule()}


def test_readme_titles_of_the_first_stages_are_the_registry_titles() -> None:
    readme = _reference()
    rows = dict(re.findall(r"^\| (TG0\d\d) \| \w+ \| (.+?) \|$", readme, re.M))
    early = (Stage.LOAD, Stage.SCHEMA, Stage.HYGIENE)
    assert rows == {r.rule_id: r.title for r in every_rule() if r.stage in early}


def test_an_id_cannot_be_defined_twice() -> None:
    first = every_rule()[0]
    with pytest.raises(ValueError, match="defined twice"):
        define(first.rule_id, "another title", Stage.LOAD)
    assert REGISTRY[first.rule_id] is first


BAD = sorted((REPO / "tests" / "fixtures" / "specs" / "bad").glob("*.yaml"))


@pytest.mark.parametrize("spec", BAD, ids=lambda p: p.stem)
def test_every_printed_id_is_registered(spec: Path) -> None:
    """What the tool actually prints for each bad fixture uses registered ids only."""
    with pytest.raises(SpecInvalid) as raised:
        compile_path(spec)
    for finding in raised.value.findings:
        assert isinstance(REGISTRY.get(finding.rule_id), Rule), finding.format()
