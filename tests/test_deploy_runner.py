"""The runner and the progress display, on fake az processes and on buffers."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
from fixtures.deploy.harness import FakeCli, fixture_text, pid_alive

from generator.deploy import whatif
from generator.deploy.az_flow import DeployOptions, deploy
from generator.deploy.console import Console
from generator.deploy.progress import Operation, Progress, clock, parse_operations
from generator.deploy.runner import TimedOut, ToolMissing, run
from generator.pipeline import compile_path


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCli:
    return FakeCli(tmp_path / "fake", monkeypatch, ("az",))


def test_lines_stream_while_the_child_runs(fake: FakeCli) -> None:
    fake.answer("az", "slow", progress=["one", "two", "three"], sleep=0.6, stdout='{"ok": 1}')
    arrived: list[tuple[str, str, float]] = []
    started = time.monotonic()
    completed = run(
        ["az", "slow"],
        on_line=lambda stream, line: arrived.append((stream, line, time.monotonic() - started)),
    )
    assert completed.ok and json.loads(completed.stdout) == {"ok": 1}
    assert [(s, line) for s, line, _ in arrived] == [
        ("stderr", "one"),
        ("stderr", "two"),
        ("stderr", "three"),
        ("stdout", '{"ok": 1}'),
    ]
    # The first line arrived well before the child finished.
    assert arrived[0][2] < completed.seconds - 0.2


def test_ticks_report_elapsed_time(fake: FakeCli) -> None:
    fake.answer("az", "slow", sleep=0.5)
    ticks: list[float] = []
    run(["az", "slow"], on_tick=ticks.append, tick_seconds=0.1)
    assert len(ticks) >= 3 and ticks == sorted(ticks)


def test_exit_code_and_stderr_are_returned(fake: FakeCli) -> None:
    fake.answer("az", "fail", stderr="ERROR: nope\n", exit=5)
    completed = run(["az", "fail"])
    assert (completed.returncode, completed.stderr, completed.ok) == (5, "ERROR: nope\n", False)


def test_timeout_terminates_and_reaps(fake: FakeCli) -> None:
    fake.answer("az", "hang", hang=True)
    started = time.monotonic()
    with pytest.raises(TimedOut, match=r"did not finish within 0\.5s"):
        run(["az", "hang"], timeout=0.5)
    assert time.monotonic() - started < 5
    assert fake.signals() == ["SIGTERM"]
    assert not pid_alive(fake.records()[0]["pid"])


def test_missing_tool(fake: FakeCli) -> None:
    with pytest.raises(ToolMissing, match="azd not found on PATH") as raised:
        run(["azd", "version"])
    assert raised.value.exit_code == 3


def test_arguments_are_never_interpreted_by_a_shell(fake: FakeCli, tmp_path: Path) -> None:
    fake.answer("az", "echo")
    hostile = ["$(touch pwned)", "; rm -rf /", "`id`", "a b", "'\"", "--debug"]
    run(["az", "echo", *hostile])
    assert fake.calls() == [["az", "echo", *hostile]]
    assert not (Path.cwd() / "pwned").exists()


# --- progress display -------------------------------------------------------------------------


def test_operations_are_parsed_from_az_json() -> None:
    assert parse_operations(fixture_text("operations.json")) == [
        Operation("apim", "Microsoft.Resources/deployments", "Running"),
        Operation("monitoring", "Microsoft.Resources/deployments", "Succeeded"),
    ]
    assert parse_operations("not json") is None


def test_plain_progress_prints_changes_and_a_heartbeat() -> None:
    stream = io.StringIO()
    progress = Progress(stream, interactive=False, label="deploying x", heartbeat_seconds=60)
    running = [Operation("apim", "Microsoft.Resources/deployments", "Running")]
    progress.update(5, running)
    progress.update(15, running)  # nothing changed: nothing printed
    progress.update(70, [Operation("apim", "Microsoft.Resources/deployments", "Succeeded")])
    progress.update(140)
    progress.echo("WARNING: from az")
    progress.finish("done", 150)
    assert stream.getvalue().splitlines() == [
        "[00:05] apim (Microsoft.Resources/deployments): Running",
        "[01:10] apim (Microsoft.Resources/deployments): Succeeded",
        "[02:20] deploying x: still running (1 of 1 resources done)",
        "  | WARNING: from az",
        "deploying x: done after 02:30",
    ]


def test_terminal_progress_rewrites_one_line() -> None:
    stream = io.StringIO()
    progress = Progress(stream, interactive=True, label="deploying x")
    progress.update(
        3, [Operation("apim", "t", "Running"), Operation("monitoring", "t", "Succeeded")]
    )
    progress.echo("a line from az")
    progress.finish("done", 4)
    text = stream.getvalue()
    assert text.startswith("\r\x1b[Kdeploying x 00:03 (1 of 2 resources done)  deploying apim")
    assert "\r\x1b[K  | a line from az\n\r\x1b[Kdeploying x 00:03" in text
    assert text.endswith("\r\x1b[Kdeploying x: done after 00:04\n")


def test_clock() -> None:
    assert [clock(s) for s in (0, 61.9, 3600 + 62)] == ["00:00", "01:01", "1:01:02"]


def test_deploy_polls_operations_while_az_runs(fake: FakeCli, tmp_path: Path) -> None:
    fake.healthy_az()
    deployment = fixture_text("deployment.json")
    fake.answer("az", "deployment", "group", "create", sleep=1.5, stdout=deployment)
    out, err = io.StringIO(), io.StringIO()
    console = Console(
        out=lambda line: print(line, file=out),
        err=lambda line: print(line, file=err),
        progress_stream=err,
        interactive=False,
        confirm=None,
    )
    options = DeployOptions(
        out=tmp_path / "out", resource_group="rg-lab", assume_yes=True, poll_seconds=0.2
    )
    deploy(compile_path(None), options, console)
    assert "apim (Microsoft.Resources/deployments): Running" in err.getvalue()
    assert "monitoring (Microsoft.Resources/deployments): Succeeded" in err.getvalue()
    polls = [c for c in fake.calls() if c[:4] == ["az", "deployment", "operation", "group"]]
    assert polls and polls[0][polls[0].index("--name") + 1] == "tokengate-lab-gateway"


def test_what_if_summary_orders_by_impact() -> None:
    changes = whatif.parse(fixture_text("what-if.json"))
    assert [c.change_type for c in changes] == [
        "Create",
        "Create",
        "Modify",
        "Unsupported",
        "NoChange",
    ]
    assert whatif.split_resource_id(
        "/subscriptions/s/resourceGroups/g/providers/A.B/x/n/y/m/providers/C.D/roles/r"
    ) == ("C.D/roles", "r")
    assert whatif.split_resource_id("/subscriptions/s/resourceGroups/g") == (
        "Microsoft.Resources/resourceGroups",
        "g",
    )
