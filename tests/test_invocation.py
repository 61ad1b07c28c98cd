"""The spec a command acts on is never a surprise, and every hint names what was used (issue 10)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding a spec from `tokengate init` whose gateway is not the lab's."""
    monkeypatch.chdir(tmp_path)
    assert _cli("init")[0] == 0
    spec = tmp_path / "tokengate.yaml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace("name: lab-gateway", "name: mine", 1), encoding="utf-8")
    assert "name: mine" in spec.read_text(encoding="utf-8")
    return tmp_path


def test_without_spec_the_local_tokengate_yaml_is_used_and_announced(project: Path) -> None:
    code, _, err = _cli("render")
    assert code == 0
    assert "using tokengate.yaml" in err
    parameters = (project / "out" / "main.parameters.json").read_text(encoding="utf-8")
    assert '"value": "mine"' in parameters


def test_without_spec_or_local_file_the_lab_is_announced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = _cli("validate")
    assert code == 0
    assert err.startswith("using the built-in lab spec")


def test_a_named_spec_is_not_announced(project: Path) -> None:
    code, _, err = _cli("validate", "tokengate.yaml")
    assert code == 0
    assert "using" not in err


def test_file_notes_name_the_spec_and_out_used(project: Path) -> None:
    assert _cli("render", "tokengate.yaml", "--out", "gateway")[0] == 0
    header = (project / "gateway" / "main.bicep").read_text(encoding="utf-8").splitlines()[1]
    assert "change tokengate.yaml" in header
    assert "`tokengate render tokengate.yaml --out gateway`" in header


def test_notes_do_not_depend_on_how_paths_were_spelled(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rendered with absolute paths from elsewhere, checked with relative ones: no drift."""
    monkeypatch.chdir(project.parent)
    assert _cli("render", str(project / "tokengate.yaml"), "--out", str(project / "out"))[0] == 0
    monkeypatch.chdir(project)
    code, out, _ = _cli("render", "tokengate.yaml", "--check")
    assert code == 0, out


def test_check_hint_names_spec_and_out(project: Path) -> None:
    assert _cli("render", "tokengate.yaml", "--out", "gw")[0] == 0
    spec = project / "tokengate.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("name: mine", "name: other"))
    code, out, _ = _cli("render", "tokengate.yaml", "--out", "gw", "--check")
    assert code == 1
    assert "run `tokengate render tokengate.yaml --out gw` to update it" in out
