"""Fixture specs: good ones validate clean; bad ones get their exact report and exit code."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import BAD_SPECS, GOOD_SPECS, REPO, WARN_SPECS, FileSnapshot

from generator.cli import main

FINDING_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<rule>TG\d{3}) \S")


def run_validate(spec: Path) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["validate", str(spec.relative_to(REPO))], catch_exceptions=False
    )
    return result.exit_code, result.output


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    # Findings name the spec as given on the command line; run from the repo so names are stable.
    monkeypatch.chdir(REPO)


#: What a refused spec may cost, however hostile: the corpus has million-value and 75,001-item
#: documents, which must fail at the first item over a bound, not after building every node.
MAX_SECONDS_PER_BAD_SPEC = 5.0


def test_enough_fixtures() -> None:
    assert len(GOOD_SPECS) >= 5
    # The hostile corpus: control characters in every kind of string, expressions in literal
    # policy fields, NaN and floats, oversized documents, case-only duplicates, typos.
    assert len(BAD_SPECS) >= 100


@pytest.mark.parametrize("spec", GOOD_SPECS, ids=lambda p: p.stem)
def test_good_spec_is_valid(spec: Path) -> None:
    code, output = run_validate(spec)
    assert code == 0, output
    assert output.rstrip().endswith(": valid")


@pytest.mark.parametrize("spec", BAD_SPECS, ids=lambda p: p.stem)
def test_bad_spec_report(spec: Path, file_snapshot: FileSnapshot) -> None:
    started = time.perf_counter()
    code, output = run_validate(spec)
    elapsed = time.perf_counter() - started
    assert elapsed < MAX_SECONDS_PER_BAD_SPEC, f"{spec.name} took {elapsed:.1f} s to refuse"
    assert code == 2
    assert "Traceback" not in output
    lines = output.rstrip("\n").split("\n")
    assert re.fullmatch(r"\d+ error\(s\), \d+ warning\(s\)", lines[-1]), output
    for line in lines[:-1]:
        match = FINDING_LINE.match(line)
        assert match, f"not file:line:col: TGxxx message: {line!r}"
        assert match["file"] == str(spec.relative_to(REPO))
    assert f"exit code: {code}\n{output}" == file_snapshot("txt")


@pytest.mark.parametrize("spec", BAD_SPECS, ids=lambda p: p.stem)
def test_bad_spec_does_not_render(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["render", str(spec), "--out", str(out)])
    assert result.exit_code == 2
    assert not out.exists(), "a failed render must not create the output folder"


@pytest.mark.parametrize("spec", WARN_SPECS, ids=lambda p: p.stem)
def test_warnings_do_not_fail(spec: Path, file_snapshot: FileSnapshot) -> None:
    result = CliRunner().invoke(main, ["validate", str(spec.relative_to(REPO))])
    assert result.exit_code == 0
    assert " warning: " in result.stderr and "0 error(s)" in result.stderr
    assert f"exit code: {result.exit_code}\n{result.stderr}" == file_snapshot("txt")


def test_every_schema_pattern_is_said_in_words() -> None:
    """A pattern error tells the user what the field takes, never the regex."""
    from generator.resources import spec_schema
    from generator.validate.schema import PATTERN_WORDS

    patterns: set[str] = set()

    def collect(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                patterns.add(node["pattern"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(spec_schema())
    assert patterns, "the schema has patterns"
    assert sorted(patterns - set(PATTERN_WORDS)) == []
