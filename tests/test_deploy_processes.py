"""az/azd run in a process group of their own, and timeout, Ctrl-C and SIGTERM end all of it.

The fakes start a grandchild (`spawn`: a Python that sleeps for a minute, as `az` starts Python
and `azd` starts `az`) and record its pid; after tokengate stops the fake, the grandchild must be
gone too, checked by pid (`pid_alive`; a zombie counts as gone). Durations are asserted with
generous bounds: the machine is shared, but a hard-coded 120 s probe limit or a leaked child
cannot hide behind them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixtures.deploy.harness import FakeCli, pid_alive

from generator.cli import main
from generator.deploy.runner import TimedOut, run

CREATE = ("az", "deployment", "group", "create")  # tool, then its arguments


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCli:
    return FakeCli(tmp_path / "fake", monkeypatch, ("az", "azd")).healthy_az().healthy_azd()


def invoke(*args: str) -> tuple[int, str, str, float]:
    started = time.monotonic()
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr, time.monotonic() - started


def wait_for_grandchild(fake: FakeCli, seconds: float = 20.0) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if fake.grandchildren():
            return fake.grandchildren()[0]
        time.sleep(0.05)
    raise AssertionError(f"no grandchild within {seconds}s; calls: {fake.calls()}")


def gone_within(pid: int, seconds: float) -> bool:
    """Whether `pid` is gone now or very soon (the kernel delivers SIGKILL asynchronously)."""
    deadline = time.monotonic() + seconds
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_timeout_ends_the_deployments_whole_process_group(fake: FakeCli, tmp_path: Path) -> None:
    fake.answer(*CREATE, hang=True, spawn=60)
    code, _, stderr, seconds = invoke(
        "deploy", "-g", "rg-lab", "--yes", "--out", str(tmp_path / "out"), "--timeout", "1"
    )
    assert code == 3, stderr
    assert "did not finish within 1s; tokengate stopped it" in stderr
    grandchild = wait_for_grandchild(fake)
    assert gone_within(grandchild, 1.0), "az's child outlived the timeout"
    assert fake.signals() == ["SIGTERM"]
    assert seconds < 15, seconds


def _tokengate(fake: FakeCli, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "generator", "deploy", "-g", "rg-lab", "--yes", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**fake.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


@pytest.mark.parametrize(
    ("sent", "fake_hears"), [(signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM")]
)
def test_a_signal_to_tokengate_ends_the_whole_group_and_exits_130(
    fake: FakeCli, tmp_path: Path, sent: signal.Signals, fake_hears: str
) -> None:
    """Ctrl-C (SIGINT) is forwarded as SIGINT, so az can stop its own work; SIGTERM (a CI job
    cancelled) as SIGTERM. Either way the grandchild goes too, and the exit is 130."""
    fake.answer(*CREATE, hang=True, spawn=60)
    process = _tokengate(fake, tmp_path / "out")
    try:
        grandchild = wait_for_grandchild(fake)
        started = time.monotonic()
        process.send_signal(sent)
        _, stderr = process.communicate(timeout=30)
        seconds = time.monotonic() - started
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "interrupted: tokengate stopped `az deployment group …`" in stderr
    assert "Traceback" not in stderr
    assert fake.signals() == [fake_hears]
    assert gone_within(grandchild, 1.0), f"the grandchild outlived {sent.name}"
    assert seconds < 15, seconds


def test_the_child_does_not_share_tokengates_process_group(fake: FakeCli) -> None:
    """A terminal's Ctrl-C goes to the foreground group; tokengate forwards it exactly once."""
    fake.answer("az", "version", stdout="{}")
    run(["az", "version"], timeout=10)
    (record,) = fake.records()
    assert record["pgid"] == record["pid"] != os.getpgrp()


def test_a_grandchild_that_ignores_sigterm_is_killed_after_the_grace(fake: FakeCli) -> None:
    fake.answer("az", "version", hang=True, spawn=60, spawn_stubborn=True)
    started = time.monotonic()
    with pytest.raises(TimedOut):
        run(["az", "version"], timeout=0.5, grace_seconds=0.5)
    seconds = time.monotonic() - started
    assert gone_within(wait_for_grandchild(fake), 1.0)
    assert seconds < 8, seconds


def test_ctrl_c_with_a_stubborn_grandchild_ends_in_sigkill(fake: FakeCli) -> None:
    fake.answer("az", "version", hang=True, spawn=60, spawn_stubborn=True)
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            run(["az", "version"], timeout=30, grace_seconds=0.5)
    finally:
        timer.cancel()
    seconds = time.monotonic() - started
    assert gone_within(wait_for_grandchild(fake), 1.0)
    assert fake.signals() == ["SIGINT"]
    assert seconds < 8, seconds


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("az", ("deploy", "-g", "rg-lab", "--yes")),
        ("az", ("down", "-g", "rg-lab", "--yes")),
        ("azd", ("up",)),
    ],
    ids=["deploy", "down", "up"],
)
def test_a_hung_version_probe_honours_timeout(
    fake: FakeCli, tmp_path: Path, tool: str, args: tuple[str, ...]
) -> None:
    """`az version` / `azd version` that never answer: stopped after --timeout, not 120 s."""
    fake.answer(tool, "version", hang=True, spawn=60)
    project = ("--project-dir", str(tmp_path / "azd")) if args[0] != "deploy" else ()
    out = ("--out", str(tmp_path / "out")) if args[0] == "deploy" else ()
    code, _, stderr, seconds = invoke(*args, *project, *out, "--timeout", "2")
    assert code == 3, stderr
    assert f"preflight: `{tool} version --output json` did not answer within 2s" in stderr
    assert gone_within(wait_for_grandchild(fake), 1.0)
    assert 2 <= seconds < 12, seconds


def test_a_slow_probe_within_the_timeout_is_not_stopped(fake: FakeCli, tmp_path: Path) -> None:
    fake.answer("az", "version", sleep=1.5, stdout='{"azure-cli": "2.67.0"}')
    code, _, stderr, _ = invoke(
        "deploy", "-g", "rg-lab", "--yes", "--what-if", "--out", str(tmp_path / "out"),
        "--timeout", "5",
    )  # fmt: skip
    assert code == 0, stderr
    assert "ok    az 2.67.0" in stderr
