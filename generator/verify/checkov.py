"""Optional: checkov's Bicep checks, folded into the report when `checkov` is on PATH.

checkov checks security posture (private endpoints, TLS versions, ...); its failures are
opinions about the design, not errors in the files, so they are reported as warnings (TG290)
and do not change the exit code. tokengate never installs or requires it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from generator.errors import TokengateError
from generator.findings import Finding, Severity
from generator.verify import rules

#: checkov scans a folder of Bicep in a few seconds; a hung run must not hang CI.
TIMEOUT_SECONDS = 600


def available() -> bool:
    return shutil.which("checkov") is not None


def checkov_findings(folder: Path) -> list[Finding]:
    """Run checkov on `folder`; one warning per failed check, placed on the resource's line."""
    executable = shutil.which("checkov")
    if executable is None:
        return []
    import subprocess  # here, not at the top: `render` imports this module and never runs it

    # --skip-download: offline, no guideline download from Prisma Cloud.
    argv = [executable, "--directory", str(folder), "--framework", "bicep", "--output", "json"]
    argv += ["--skip-download"]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        raise TokengateError(
            f"checkov did not finish within {TIMEOUT_SECONDS} s; rerun with --no-checkov"
        ) from None
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise TokengateError(
            f"checkov exited with {done.returncode} without a JSON report ({tail[0]}); "
            "rerun with --no-checkov to skip it"
        ) from None
    return sorted(_failures(report))


def _failures(report: Any) -> Iterator[Finding]:
    """checkov prints one report object, or a list of them (one per framework)."""
    for part in report if isinstance(report, list) else [report]:
        if not isinstance(part, dict):
            continue
        for failed in part.get("results", {}).get("failed_checks", []):
            path = str(failed.get("file_path", "")).lstrip("/")
            lines = failed.get("file_line_range") or [1, 1]
            guideline = failed.get("guideline")
            message = f"checkov {failed.get('check_id')}: {failed.get('check_name')}"
            if failed.get("resource"):
                message += f" ({failed['resource']})"
            if guideline:
                message += f" - {guideline}"
            yield rules.CHECKOV.at(path, int(lines[0]) or 1, 1, message, severity=Severity.WARNING)
