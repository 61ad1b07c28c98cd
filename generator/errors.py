"""The one error root and the exit codes; both are caught and mapped only at the CLI edge."""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generator.findings import Finding


class ExitCode(IntEnum):
    """Process exit codes; documented in the README and stable across releases."""

    OK = 0
    #: `render --check` found files that would change (drift), or `diff` found differences.
    CHANGED = 1
    #: The spec (or a rendered folder given to `verify`) is invalid.
    INVALID = 2
    #: `az`/`azd` failed, or a preflight check did not pass.
    DEPLOY_FAILED = 3
    #: Interrupted by Ctrl-C (the shell convention, 128 + SIGINT).
    INTERRUPTED = 130


class TokengateError(Exception):
    """Every failure a user can cause; carries the message they see and the exit code."""

    exit_code: ExitCode = ExitCode.INVALID

    def __init__(self, message: str, *, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code


class SpecInvalid(TokengateError):
    """The spec has error findings; the message is the formatted report."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        from generator.findings import format_report

        self.findings = tuple(findings)
        super().__init__(format_report(self.findings), exit_code=ExitCode.INVALID)


def json_reason(error: ValueError | RecursionError) -> str:
    """Why Python's JSON parser refused text that is JSON: numbers over 4,300 digits, deep
    nesting (a JSONDecodeError has its own message and position)."""
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return str(error).split(";")[0]
