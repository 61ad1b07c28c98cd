"""Run one long `az`/`azd` command under a progress display, with Ctrl-C and timeout handled.

Shared by `deploy`, `up` and `down`: each long step streams the child's output, shows how long it
has run (and, when the caller can poll them, which resources are deploying), and turns an
interrupt or a timeout into a message that says what may still be running in Azure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from generator.deploy.console import Console
from generator.deploy.progress import Operation, Progress
from generator.deploy.redact import redact
from generator.deploy.runner import Completed, TimedOut, run
from generator.errors import ExitCode, TokengateError

#: Returns the deployment's operations now, or None when they cannot be read (yet).
Poll = Callable[[], list[Operation] | None]


def watch(
    argv: Sequence[str],
    console: Console,
    *,
    label: str,
    timeout: float | None,
    still_running_hint: str,
    poll: Poll | None = None,
    poll_seconds: float = 10.0,
    echo_stdout: bool = False,
) -> Completed:
    """Run `argv` to completion; stdout is captured (az prints its JSON result there)."""
    progress = Progress(console.progress_stream, interactive=console.interactive, label=label)
    last_poll = float("-inf")

    def on_tick(elapsed: float) -> None:
        nonlocal last_poll
        operations = None
        if poll is not None and elapsed - last_poll >= poll_seconds:
            last_poll = elapsed
            operations = poll()
        progress.update(elapsed, operations)

    def on_line(stream: str, line: str) -> None:
        if stream == "stderr" or echo_stdout:
            progress.echo(redact(line))

    try:
        completed = run(argv, timeout=timeout, on_line=on_line, on_tick=on_tick)
    except KeyboardInterrupt:
        progress.finish("interrupted")
        raise TokengateError(
            f"interrupted: tokengate stopped `{' '.join(argv[:3])} …`\n"
            f"  hint: {still_running_hint}",
            exit_code=ExitCode.INTERRUPTED,
        ) from None
    except TimedOut as error:
        progress.finish("timed out")
        raise TokengateError(
            f"{error.message}\n  hint: {still_running_hint}", exit_code=ExitCode.DEPLOY_FAILED
        ) from None
    progress.finish("done" if completed.ok else "failed", completed.seconds)
    return completed
