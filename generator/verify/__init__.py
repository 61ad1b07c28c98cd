"""Offline checks on a set of rendered files: `tokengate verify`, and `render` before it writes.

The core works on a mapping {relative path: text}, so `render` verifies its output in memory
and `verify OUT` checks a folder on disk (rendered, or edited by hand) with the same code.
Each Bicep file is parsed once and the parse is shared by every check that needs it.

    folder.py       reading a folder: unreadable and non-regular entries, journal,
                    manifest                                                      TG200 TG209 TG25x
    bicep.py        grammar, module/load paths, resource types and API versions  TG201-TG205
    completeness.py entry point, stray .bicep files, module calls vs parameters  TG206-TG208
    policy.py       policy XML: structure, <base />, known elements, token policies  TG210-TG218
    documents.py    parameters files, azure.yaml (official schemas), loaded JSON  TG220-TG222
    arm_limits.py   ARM limits per template, Bicep load limits (render's too)     TG230-TG234
    schema_dir.py   --schemas DIR: APIM policy XSDs, ARM provider schemas         TG240-TG241
    checkov.py      checkov's Bicep checks, when installed                         TG290
    sarif.py        SARIF 2.1.0 for GitHub code scanning
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path, PurePosixPath

from generator.findings import Finding
from generator.verify import arm_limits, documents
from generator.verify.bicep import BicepFile, bicep_findings, parse
from generator.verify.checkov import checkov_findings
from generator.verify.completeness import completeness_findings
from generator.verify.folder import read_folder
from generator.verify.paths import kind
from generator.verify.policy import policy_findings
from generator.verify.rules import RULES, RULES_BY_ID
from generator.verify.schema_dir import SchemaChecks

__all__ = ["RULES", "RULES_BY_ID", "SchemaChecks", "verify_files", "verify_folder"]


def verify_files(files: Mapping[str, str], schemas: SchemaChecks | None = None) -> list[Finding]:
    """Every finding for the files, sorted by place. Paths are relative to the output root."""
    parsed: dict[str, BicepFile] = {
        path: parse(path, text) for path, text in files.items() if kind(path) == "bicep"
    }
    findings: list[Finding] = []
    for bicep in parsed.values():
        findings.extend(bicep_findings(bicep, files))
    json_loaded = {
        reference.target
        for bicep in parsed.values()
        for reference in bicep.references
        if reference.function == "loadJsonContent"
    }
    for path, text in files.items():
        file_kind = kind(path)
        if file_kind == "policy":
            findings.extend(policy_findings(path, text))
        elif file_kind == "parameters":
            findings.extend(documents.parameters_findings(path, text))
        elif file_kind == "azure-yaml":
            findings.extend(documents.azure_yaml_findings(path, text))
        elif path in json_loaded:
            findings.extend(documents.loaded_json_findings(path, text))
    findings.extend(arm_limits.limit_findings(files, parsed))
    findings.extend(completeness_findings(files, parsed))
    if schemas is not None:
        findings.extend(schemas.findings(files, parsed))
    return sorted(findings)


def verify_folder(
    folder: Path, schemas: SchemaChecks | None = None, *, with_checkov: bool = False
) -> list[Finding]:
    """Verify the files under `folder`; findings name files as `folder/relative/path`."""
    files, unreadable = read_folder(folder)
    findings = unreadable + verify_files(files, schemas)
    if with_checkov:
        findings += checkov_findings(folder)
    prefix = PurePosixPath(folder.as_posix())
    return sorted(replace(f, file=str(prefix / f.file)) for f in findings)
