"""`verify` on a folder has no false negatives for what the bad fixtures cannot hold in git:
a rendered folder with a file deleted or cut short, dangling symlinks, FIFOs, the journal of an
interrupted write, and the manifest's record of what tokengate wrote."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import REPO

from generator.cli import main
from generator.findings import Finding, Severity
from generator.manifest import JOURNAL, MANIFEST
from generator.pipeline import compile_path
from generator.verify import verify_folder
from generator.verify.rules import RULES
from generator.write import write


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    write(out, compile_path(None).files)
    assert verify_folder(out) == [], "the lab output verifies clean to begin with"
    return out


def placed(out: Path, findings: list[Finding]) -> set[tuple[str, str]]:
    return {(f.file.removeprefix(f"{out.as_posix()}/"), f.rule_id) for f in findings}


def verify(out: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["verify", str(out), "--no-checkov"])
    return result.exit_code, result.stdout


def test_empty_folder_fails(tmp_path: Path) -> None:
    code, stdout = verify(tmp_path)
    assert code == 2 and "TG206" in stdout and "empty" in stdout


def test_deleted_main_bicep_fails(rendered: Path) -> None:
    (rendered / "main.bicep").unlink()
    findings = verify_folder(rendered)
    assert placed(rendered, findings) == {("main.bicep", "TG206"), (MANIFEST, "TG251")}
    assert verify(rendered)[0] == 2


def test_module_cut_to_100_bytes_fails(rendered: Path) -> None:
    module = rendered / "modules" / "monitoring.bicep"
    module.write_bytes(module.read_bytes()[:100])
    findings = verify_folder(rendered)
    assert ("main.bicep", "TG208") in placed(rendered, findings)
    assert ("modules/monitoring.bicep", "TG251") in placed(rendered, findings)
    assert verify(rendered)[0] == 2


def test_module_with_a_syntax_error_fails(rendered: Path) -> None:
    module = rendered / "modules" / "apim.bicep"
    text = module.read_text(encoding="utf-8")
    module.write_text(text[: len(text) // 2], encoding="utf-8")
    assert ("modules/apim.bicep", "TG201") in placed(rendered, verify_folder(rendered))


def test_dangling_symlink_fails(rendered: Path) -> None:
    (rendered / "modules" / "extra.bicep").symlink_to(rendered / "nowhere.bicep")
    findings = verify_folder(rendered)
    assert placed(rendered, findings) == {("modules/extra.bicep", "TG209")}
    assert "dangling symlink" in findings[0].message


def test_main_bicep_replaced_by_a_dangling_symlink_fails(rendered: Path) -> None:
    (rendered / "main.bicep").unlink()
    (rendered / "main.bicep").symlink_to("gone.bicep")
    rules = {rule for _, rule in placed(rendered, verify_folder(rendered))}
    assert {"TG209", "TG206"} <= rules


def test_fifo_is_a_finding_and_never_opened(rendered: Path) -> None:
    """Run in a child process with a timeout: opening a FIFO for reading would block forever."""
    os.mkfifo(rendered / "policies" / "pipe.xml")
    os.mkfifo(rendered / "main.bicep.fifo")
    command = [sys.executable, "-m", "generator", "verify", str(rendered), "--no-checkov"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2, result
    assert "policies/pipe.xml:1:1: TG209 a FIFO, not a regular file" in result.stdout
    assert "main.bicep.fifo:1:1: TG209" in result.stdout


def test_symlink_to_a_regular_file_is_read(rendered: Path, tmp_path: Path) -> None:
    """A link to a good file is not a problem: Bicep follows it too."""
    moved = tmp_path / "elsewhere.bicep"
    (rendered / "modules" / "apim.bicep").rename(moved)
    (rendered / "modules" / "apim.bicep").symlink_to(moved)
    assert verify_folder(rendered) == []


def test_extra_unreferenced_bicep_fails(rendered: Path) -> None:
    (rendered / "modules" / "old.bicep").write_text("param name string\n", encoding="utf-8")
    assert placed(rendered, verify_folder(rendered)) == {("modules/old.bicep", "TG207")}


def test_unreferenced_file_of_comments_only_is_fine(rendered: Path) -> None:
    """Render writes such a placeholder when a module has nothing to deploy; it deploys nothing
    whether or not it is called."""
    (rendered / "modules" / "idle.bicep").write_text("// nothing to do\n", encoding="utf-8")
    assert verify_folder(rendered) == []


def test_journal_of_an_interrupted_write_fails(rendered: Path) -> None:
    (rendered / JOURNAL).write_text(json.dumps({"old": {}, "new": {}}), encoding="utf-8")
    code, stdout = verify(rendered)
    assert code == 2 and "TG250" in stdout and "interrupted" in stdout


def test_hand_edit_is_a_warning_not_an_error(rendered: Path) -> None:
    policy = rendered / "policies" / "api-azure-openai.xml"
    policy.write_text(policy.read_text(encoding="utf-8") + "<!-- reviewed -->\n", "utf-8")
    (finding,) = verify_folder(rendered)
    assert finding.rule_id == "TG251" and finding.severity is Severity.WARNING
    assert verify(rendered)[0] == 0


def test_invalid_manifest_is_a_finding(rendered: Path) -> None:
    (rendered / MANIFEST).write_text('{"files": null}', encoding="utf-8")
    findings = verify_folder(rendered)
    assert placed(rendered, findings) == {(MANIFEST, "TG251")}
    assert "not a tokengate manifest" in findings[0].message


def test_docs_list_every_verify_rule() -> None:
    """docs/pull-requests.md's `verify` table names every TG2xx id (alone, in a list or a range)."""
    readme = (REPO / "docs" / "pull-requests.md").read_text(encoding="utf-8")
    table = readme.split("### `tokengate verify [OUT]`", 1)[1].split("\nOptions:", 1)[0]
    listed: set[str] = set()
    for cell in re.findall(r"^\| (TG2[^|]*?) \|", table, re.M):
        for first, last in re.findall(r"TG(\d{3})(?:–TG(\d{3}))?", cell):
            listed.update(f"TG{n}" for n in range(int(first), int(last or first) + 1))
    assert {rule.rule_id for rule in RULES} == listed
