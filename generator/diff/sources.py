"""Where `diff` reads a spec from: a file, or `git:REF:path` (the spec at a git revision).

`git show REF:path` runs as an argument list, never through a shell, so neither REF nor the path
can inject a command. Its path is what git understands: relative to the repository root, or
`./path` relative to the current folder.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from generator.errors import TokengateError
from generator.load import read_spec_text

GIT_PREFIX = "git:"
#: `git show` of one file is instant; a hung git (credential prompt, lock) must not hang CI.
GIT_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class SpecSource:
    """One side of a diff: what the user wrote, the spec's path (findings name it, headers
    use its file name, so `git:main:x.yaml` and `x.yaml` render alike) and its text."""

    argument: str
    file: str
    text: str


def read_source(argument: str) -> SpecSource:
    if argument.startswith(GIT_PREFIX):
        ref, separator, path = argument[len(GIT_PREFIX) :].partition(":")
        if not ref or not separator or not path:
            raise TokengateError(f"{argument}: expected git:REF:path, e.g. git:main:tokengate.yaml")
        return SpecSource(argument, path, git_show(ref, path))
    return SpecSource(argument, argument, read_spec_text(Path(argument), argument))


def git_show(ref: str, path: str) -> str:
    """The file's content at `ref`; a clear error when git, the ref or the file is missing."""
    git = shutil.which("git")
    if git is None:
        raise TokengateError("git is not on PATH; git:REF:path needs it")
    if ref.startswith("-"):
        raise TokengateError(f"git:{ref}:{path}: a revision cannot start with '-'")
    try:
        done = subprocess.run(
            [git, "show", f"{ref}:{path}"],
            capture_output=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise TokengateError(f"git show {ref}:{path} did not finish") from None
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise TokengateError(
            f"git:{ref}:{path}: git show failed: {reason[0] if reason else done.returncode}"
        )
    try:
        return done.stdout.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise TokengateError(f"git:{ref}:{path}: not UTF-8 text (byte {error.start})") from None
