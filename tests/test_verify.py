"""`verify` on the corpus of broken outputs (each finding at its place, snapshotted), on every
good fixture's rendered output (clean), and `render` refusing output that does not verify."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import FIXTURES, GOOD_SPECS, FileSnapshot, compiled

from generator import limits, pipeline, render
from generator.errors import SpecInvalid
from generator.findings import format_report
from generator.model import Gateway
from generator.render import RenderedFile
from generator.verify import verify_files, verify_folder
from generator.verify.arm_limits import footprints, loop_lengths
from generator.verify.bicep import parse

BAD_OUTPUTS = FIXTURES / "outputs" / "bad"
CASES = sorted(p.name for p in BAD_OUTPUTS.iterdir() if p.is_dir())

#: case → the findings it must produce: (file, line, rule id), and nothing else.
EXPECTED = {
    "bad-azure-yaml": {("azure.yaml", 2, "TG221"), ("azure.yaml", 5, "TG221")},
    "empty-folder": {("main.bicep", 1, "TG206")},
    "missing-entry-point": {("main.bicep", 1, "TG206")},
    "stray-bicep": {("old/leftover.bicep", 1, "TG207")},
    "truncated-module": {("main.bicep", 5, "TG208")},
    "unparseable-module": {("modules/settings.bicep", 4, "TG201")},
    "bad-loaded-json": {("subscriptions/batch-000.json", 4, "TG222")},
    "bad-parameters": {("main.parameters.json", 8, "TG220")},
    "bad-quota-period": {("policies/api-azure-openai.xml", 5, "TG216")},
    "malformed-xml": {("policies/api-azure-openai.xml", 13, "TG210")},
    "missing-base": {("policies/api-azure-openai.xml", 14, "TG212")},
    "missing-module": {("main.bicep", 2, "TG202")},
    # Partial folders without their entry point: TG206 says so.
    "missing-policy-file": {("modules/api.bicep", 18, "TG203"), ("main.bicep", 1, "TG206")},
    "missing-required-attribute": {("policies/api-azure-openai.xml", 5, "TG214")},
    "missing-section": {("policies/api-azure-openai.xml", 1, "TG211")},
    "misspelt-attribute": {("policies/api-azure-openai.xml", 5, "TG215")},
    "not-utf8": {("policies/api-azure-openai.xml", 1, "TG200")},
    "oversized-policy": {("policies/api-azure-openai.xml", 1, "TG218")},
    "six-dimensions": {("policies/api-azure-openai.xml", 12, "TG217")},
    "syntax-error": {("main.bicep", 4, "TG201")},
    "too-many-resources": {("main.bicep", 1, "TG230")},
    "unknown-policy-element": {("policies/api-azure-openai.xml", 5, "TG213")},
    "wrong-api-version": {
        ("main.bicep", 1, "TG206"),
        ("modules/monitoring.bicep", 4, "TG205"),
        ("modules/monitoring.bicep", 9, "TG204"),
    },
}


def test_every_case_has_an_expectation() -> None:
    assert sorted(EXPECTED) == CASES


@pytest.mark.parametrize("case", CASES)
def test_bad_output(case: str, file_snapshot: FileSnapshot) -> None:
    folder = BAD_OUTPUTS / case
    findings = verify_folder(folder)
    prefix = f"{folder.as_posix()}/"
    placed = {(f.file.removeprefix(prefix), f.line, f.rule_id) for f in findings}
    assert placed == EXPECTED[case]
    report = format_report(findings).replace(str(FIXTURES.as_posix()), "fixtures") + "\n"
    assert report == file_snapshot("txt")


def test_misspelt_attribute_suggests_the_right_name() -> None:
    (finding,) = verify_folder(BAD_OUTPUTS / "misspelt-attribute")
    assert "'consumed-tokens-header-name'" in finding.message
    assert "did you mean 'tokens-consumed-header-name'" in finding.message


@pytest.mark.parametrize("spec", GOOD_SPECS, ids=lambda p: p.stem)
def test_good_output_verifies_clean_in_memory(spec: Path) -> None:
    files = {path: f.content for path, f in compiled(spec).files.items()}
    assert verify_files(files) == []


@pytest.mark.parametrize("spec", GOOD_SPECS, ids=lambda p: p.stem)
def test_good_output_verifies_clean_on_disk(spec: Path, tmp_path: Path) -> None:
    for path, rendered in compiled(spec).files.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(rendered.content, encoding="utf-8")
    assert verify_folder(tmp_path) == []


@pytest.mark.parametrize("spec", GOOD_SPECS, ids=lambda p: p.stem)
def test_folder_limits_match_the_spec_limits(spec: Path) -> None:
    """Loop sizes read back from the files equal the model's, so `verify OUT` counts ARM
    resources exactly as `render` did from the spec."""
    result = compiled(spec)
    files = {path: f.content for path, f in result.files.items()}
    parsed = {path: parse(path, text) for path, text in files.items() if path.endswith(".bicep")}
    inferred = loop_lengths(files, parsed)
    for name, count in limits.loop_lengths(result.gateway).items():
        assert inferred.get(name, 0) == count, name
    assert footprints(files, parsed, inferred) == limits.footprints(result.gateway, result.files)


def test_render_refuses_output_that_does_not_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    """A template bug that breaks a rendered file stops `render` before anything is written."""
    real_render = render.render

    def broken_render(gateway: Gateway) -> dict[str, RenderedFile]:
        files = dict(real_render(gateway))
        text = files["main.bicep"].content.replace("targetScope = ", "targetScope = {", 1)
        files["main.bicep"] = RenderedFile("main.bicep", text)
        return files

    monkeypatch.setattr(pipeline, "render", broken_render)
    with pytest.raises(SpecInvalid) as raised:
        pipeline.compile_path(None)
    assert any(f.rule_id == "TG201" and f.file == "main.bicep" for f in raised.value.findings)


def test_load_limit_is_reported_on_the_calling_line() -> None:
    files = {
        "main.bicep": "var policy = loadTextContent('policy.xml')\n",
        "policy.xml": "<!--" + "x" * limits.MAX_LOAD_TEXT_CHARS + "-->",
    }
    findings = [f for f in verify_files(files) if f.rule_id == "TG234"]
    assert [(f.file, f.line, f.column) for f in findings] == [("main.bicep", 1, 30)]


def test_module_sizes_add_up_to_the_caller() -> None:
    """Bicep inlines modules, so a small main.bicep calling a big module is big too."""
    big = "param p string = ''\n" + "".join(f"var v{i} = '{'x' * 1000}'\n" for i in range(2200))
    files = {"main.bicep": "module m 'big.bicep' = {\n  name: 'm'\n}\n", "big.bicep": big}
    places = {(f.file, f.rule_id) for f in verify_files(files)}
    assert places == {("main.bicep", "TG233"), ("big.bicep", "TG233")}
