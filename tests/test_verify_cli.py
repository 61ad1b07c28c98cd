"""`tokengate verify` on the command line: exit codes, the three formats (SARIF checked against
the official SARIF 2.1.0 schema), --output, --schemas and the optional checkov run."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from functools import cache
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft4Validator
from support import FIXTURES, validation_dir

from generator.cli import main
from generator.verify.rules import RULES

BAD = FIXTURES / "outputs" / "bad"
CHECKOV_REPORT = FIXTURES / "verify" / "checkov-report.json"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["verify", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["render", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


@cache
def sarif_validator() -> Draft4Validator:
    schema = json.loads((validation_dir() / "sarif-2.1.0.schema.json").read_text())
    return Draft4Validator(schema)


def test_clean_output_exits_0(rendered: Path) -> None:
    code, out, _ = invoke(str(rendered), "--no-checkov")
    assert code == 0
    assert out == "0 error(s), 0 warning(s)\n"


def test_findings_exit_2_with_file_line_column(rendered: Path) -> None:
    code, out, _ = invoke(str(BAD / "six-dimensions"), "--no-checkov")
    assert code == 2
    assert "six-dimensions/policies/api-azure-openai.xml:12:13: TG217 " in out


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    code, out, err = invoke(str(tmp_path / "nowhere"))
    assert code == 2 and out == ""
    assert "no such folder (run `tokengate render` first)" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("case", sorted(p.name for p in BAD.iterdir()))
def test_sarif_is_valid_sarif_2_1_0(case: str) -> None:
    code, out, _ = invoke(str(BAD / case), "--format", "sarif", "--no-checkov")
    assert code == 2
    log = json.loads(out)
    errors = sorted(sarif_validator().iter_errors(log), key=str)
    assert errors == [], [e.message for e in errors]
    (run,) = log["runs"]
    assert run["results"], "a bad output has results"
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    for result in run["results"]:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"].startswith(f"{(BAD / case).as_posix()}/")
        assert location["region"]["startLine"] >= 1


def test_sarif_lists_every_rule_and_is_deterministic(rendered: Path) -> None:
    first = invoke(str(rendered), "--format", "sarif", "--no-checkov")[1]
    second = invoke(str(rendered), "--format", "sarif", "--no-checkov")[1]
    assert first == second
    log = json.loads(first)
    assert sarif_validator().is_valid(log)
    assert [r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]] == [
        r.rule_id for r in RULES
    ]


def test_json_format(tmp_path: Path) -> None:
    code, out, _ = invoke(str(BAD / "missing-base"), "--format", "json", "--no-checkov")
    assert code == 2
    document = json.loads(out)
    assert document["errors"] == 1 and document["warnings"] == 0
    assert document["findings"][0]["ruleId"] == "TG212"
    assert document["findings"][0]["line"] == 14


def test_output_file_gets_the_report_and_stderr_the_count(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "tokengate.sarif"
    code, out, err = invoke(
        str(BAD / "missing-base"), "--format", "sarif", "--output", str(target), "--no-checkov"
    )
    assert code == 2 and out == ""
    assert json.loads(target.read_text())["version"] == "2.1.0"
    assert err.strip().endswith("1 error(s), 0 warning(s)")


def test_schemas_option(rendered: Path, tmp_path: Path) -> None:
    code, out, _ = invoke(str(rendered), "--schemas", str(validation_dir()), "--no-checkov")
    assert (code, out) == (0, "0 error(s), 0 warning(s)\n")
    code, out, _ = invoke(str(BAD / "bad-quota-period"), "--schemas", str(validation_dir()))
    assert code == 2 and " TG240 " in out
    code, _, err = invoke(str(rendered), "--schemas", str(tmp_path))
    assert code == 2 and "found neither" in err


def fake_checkov(folder: Path, report: str, exit_code: int = 1) -> Path:
    """A `checkov` executable that records its arguments and prints a recorded report."""
    script = folder / "checkov"
    record = str(folder / "argv.json")
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, pathlib, sys\n"
        f"pathlib.Path({record!r}).write_text(json.dumps(sys.argv[1:]))\n"
        f"sys.stdout.write(pathlib.Path({report!r}).read_text())\n"
        f"sys.exit({exit_code})\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_checkov_failures_become_warnings(
    rendered: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report is checkov 3.3.30's real output on the lab (trimmed); folded in as TG290."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_checkov(bin_dir, str(CHECKOV_REPORT))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert shutil.which("checkov") == str(bin_dir / "checkov")
    code, out, _ = invoke(str(rendered))
    assert code == 0, "checkov's opinions are warnings, not errors"
    argv = json.loads((bin_dir / "argv.json").read_text())
    assert argv == [
        "--directory",
        str(rendered),
        "--framework",
        "bicep",
        "--output",
        "json",
        "--skip-download",
    ]
    lines = [line for line in out.splitlines() if " TG290 " in line]
    assert len(lines) == 4
    assert lines[0].startswith(f"{rendered.as_posix()}/modules/apim.bicep:15:1: TG290 warning: ")
    assert "CKV_AZURE_107" in lines[0]
    assert out.endswith("0 error(s), 4 warning(s)\n")
    code, out, _ = invoke(str(rendered), "--no-checkov")
    assert " TG290 " not in out


def test_checkov_without_a_report_is_an_error(
    rendered: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("Traceback: something broke\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_checkov(bin_dir, str(garbage), exit_code=2)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    code, _, err = invoke(str(rendered))
    assert code == 2
    assert "checkov exited with 2 without a JSON report" in err
    assert "--no-checkov" in err


def test_forcing_checkov_when_absent(rendered: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    code, _, err = invoke(str(rendered), "--checkov")
    assert code == 2 and "checkov is not installed" in err
