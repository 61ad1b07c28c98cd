"""Read a rendered (or hand-edited) output folder into the mapping the checks work on.

Hidden files and folders (the manifest, `.git`) are not output. A file that is not UTF-8 text
becomes a finding, not a crash.
"""

from __future__ import annotations

from pathlib import Path

from generator.errors import TokengateError
from generator.findings import Finding


def read_folder(folder: Path) -> tuple[dict[str, str], list[Finding]]:
    """{relative posix path: text} of every visible file, and findings for unreadable ones."""
    if not folder.is_dir():
        hint = " (run `tokengate render` first)" if not folder.exists() else ""
        raise TokengateError(f"{folder}: no such folder{hint}")
    files: dict[str, str] = {}
    findings: list[Finding] = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        name = relative.as_posix()
        try:
            files[name] = path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
        except UnicodeDecodeError as error:
            findings.append(Finding(name, 1, 1, "TG200", f"not UTF-8 text (byte {error.start})"))
        except OSError as error:
            findings.append(Finding(name, 1, 1, "TG200", f"cannot read: {error.strerror}"))
    return files, findings
