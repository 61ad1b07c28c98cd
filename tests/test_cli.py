"""The command line, in-process with CliRunner and once as a real process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from support import REPO, run_tokengate

from generator.cli import main
from generator.resources import lab_spec_path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_core_commands() -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    for command in ("init", "schema", "validate", "render", "rules"):
        assert f"  {command} " in out


def test_schema_is_the_spec_schema() -> None:
    code, out, _ = invoke("schema")
    assert code == 0
    schema = json.loads(out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert json.loads((REPO / "schemas" / "spec.schema.json").read_text()) == schema


def test_rules_have_unique_ids() -> None:
    code, out, _ = invoke("rules")
    ids = [line.split()[0] for line in out.splitlines() if line.startswith("  TG")]
    assert code == 0 and len(ids) == len(set(ids)) >= 10


def test_init_writes_the_lab_spec_with_schema_line(tmp_path: Path) -> None:
    target = tmp_path / "gw" / "tokengate.yaml"
    code, out, _ = invoke("init", str(target))
    assert code == 0, out
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=")
    schema_ref = text.splitlines()[0].split("$schema=", 1)[1]
    assert (target.parent / schema_ref).is_file(), "the schema the editor line points to exists"
    assert yaml.safe_load(text) == yaml.safe_load(lab_spec_path().read_text(encoding="utf-8"))
    code, _, err = invoke("validate", str(target))
    assert code == 0, err


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "tokengate.yaml"
    target.write_text("mine", encoding="utf-8")
    code, _, err = invoke("init", str(target))
    assert code == 2 and "already exists" in err
    assert target.read_text(encoding="utf-8") == "mine"


def test_render_then_check(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, _ = invoke("render", "--out", str(out))
    assert code == 0 and "added" in stdout
    code, stdout, _ = invoke("render", "--out", str(out), "--check")
    assert code == 0 and "up to date" in stdout
    (out / "main.bicep").write_text("// edited\n", encoding="utf-8")
    code, stdout, _ = invoke("render", "--out", str(out), "--check")
    assert code == 1
    assert "changed  main.bicep" in stdout
    assert (out / "main.bicep").read_text(encoding="utf-8") == "// edited\n", "--check wrote"


def test_check_on_missing_folder_is_drift(tmp_path: Path) -> None:
    code, stdout, _ = invoke("render", "--out", str(tmp_path / "nothing"), "--check")
    assert code == 1 and "added    main.bicep" in stdout
    assert not (tmp_path / "nothing").exists()


def test_missing_spec_file(tmp_path: Path) -> None:
    code, _, err = invoke("validate", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert "nope.yaml: no such file" in err
    assert "Traceback" not in err


def test_validate_prints_warnings_but_passes(tmp_path: Path) -> None:
    spec = yaml.safe_load(lab_spec_path().read_text(encoding="utf-8"))
    spec["consumers"] = [{"name": f"c{i}", "tokensPerMinute": 20_000} for i in range(5)]
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    code, _, err = invoke("validate", str(path))
    assert code == 0
    assert "TG114 warning:" in err


def test_real_subprocess_render(tmp_path: Path) -> None:
    """The installed entry point, in its own process, from a folder that is not the repo."""
    result = run_tokengate("render", "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "main.bicep").is_file()
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [\n", encoding="utf-8")
    result = run_tokengate("validate", "bad.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("bad.yaml:2:1: TG001 ")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [["--version"], ["-h"]])
def test_version_and_help(args: list[str]) -> None:
    code, out, _ = invoke(*args)
    assert code == 0 and out
