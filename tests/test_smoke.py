"""`tokengate smoke` end to end against `tokengate emulate` (a real subprocess on loopback).

What agreement means follows the azure-openai-token-limit policy reference
(https://learn.microsoft.com/azure/api-management/azure-openai-token-limit-policy): 429 with
Retry-After once tokens-per-minute are used, 403 once the quota is.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

from click.testing import CliRunner
from emulator_support import lab_data, running, write_spec
from support import FIXTURES

from generator.cli import main
from generator.resources import lab_spec_path

LAB = lab_spec_path()


def smoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["smoke", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def spec_with_team_b(folder: Path, name: str, **team_b: object) -> Path:
    data = lab_data()
    data["consumers"][1] = {"name": "team-b", **team_b}
    return write_spec(folder, data, name)


#: team-b in the lab: 1,000 tokens/min; the prompt is 3 + ceil(43 / 4) + 3 = 17 tokens and each
#: answer 200 (a fifth of the limit), so 217 per request.
EXPECTED_POLICY = """\
spec: 1,000 tokens/min, 200,000 tokens Monthly (consumer team-b)
Test out the policy: chat completions of up to 200 tokens until 429
     #  status   tokens  remaining  quota left  retry-after
     1  200         217        783     199,783
     2  200         217        566     199,566
     3  200         217        349     199,349
     4  200         217        132     199,132
     5  200         217          0     198,915
     6  429           -          0     198,915  N s
observed: 429 at request 6 after 1,085 tokens; one request took up to 217
agree: 1,000 tokens/min, refused with 429 and Retry-After once used up
"""


def normalized(text: str) -> str:
    return re.sub(r"  \d+ s$", "  N s", text, flags=re.M)


def test_smoke_agrees_with_the_emulator_and_sees_the_metrics(tmp_path: Path) -> None:
    with running(None, tmp_path) as emulator:
        keys = str(tmp_path / "keys.json")
        code, out, err = smoke(
            "--url", emulator.url, "--keys", keys, "--consumer", "team-b",
            "--monitoring", "--poll-seconds", "0.2", "--monitoring-timeout", "10",
        )  # fmt: skip
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[0] == (
        f"smoke: consumer team-b at {emulator.url}/openai, deployment gpt-4o "
        f"(key {emulator.keys['team-b'][:4]}… from {keys})"
    )
    policy, monitoring = "\n".join(lines[1:]).split("Test monitoring", 1)
    assert normalized(policy) == EXPECTED_POLICY
    retry_after = int(re.findall(r"429 .* (\d+) s$", policy, re.M)[0])
    assert 55 <= retry_after <= 60, "the first tokens leave the 60 s window a minute later"
    assert monitoring.splitlines()[1:] == [
        "  dimension        value            total  prompt  completion",
        "  Subscription ID  team-b           1,085      85       1,000",
        "  Client IP        127.0.0.1        1,085      85       1,000",
        "  API ID           azure-openai     1,085      85       1,000",
        "  User ID          tokengate-smoke  1,085      85       1,000",
        "agree: the metrics count 1,085 Total Tokens; the answers reported 1,085",
    ]
    assert "metrics: 1,085 of 1,085 tokens" in err


def test_a_second_run_in_the_same_minute_cannot_confirm_the_limit(tmp_path: Path) -> None:
    with running(None, tmp_path) as emulator:
        keys = str(tmp_path / "keys.json")
        assert smoke("--url", emulator.url, "--keys", keys, "--consumer", "team-a")[0] == 0
        code, out, _ = smoke(
            "--url", emulator.url, "--keys", keys, "--consumer", "team-a", "--max-requests", "3"
        )
    assert code == 1, out
    assert "429 at request 1 after 0 tokens (+5,000 counted before this run)" in out
    assert "inconclusive: the minute already held 5,000 tokens" in out


def test_quota_until_403(tmp_path: Path) -> None:
    spec = spec_with_team_b(
        tmp_path, "quota.yaml", tokensPerMinute=1000, quota=3000, quotaPeriod="Hourly"
    )
    with running(spec, tmp_path, "--speed", "60") as emulator:
        code, out, _ = smoke(
            str(spec), "--url", emulator.url, "--keys", str(tmp_path / "keys.json"),
            "--consumer", "team-b", "--quota", "--max-wait", "20",
        )  # fmt: skip
    assert code == 0, out
    assert "(sent after waiting 1 s)" in out
    assert "observed: 403 at request 17 after 3,038 tokens" in out
    assert out.rstrip().endswith("agree: 3,000 tokens Hourly, refused with 403 once used up")


def test_a_gateway_that_throttles_earlier_than_the_spec_disagrees(tmp_path: Path) -> None:
    expected = spec_with_team_b(tmp_path, "expected.yaml", tokensPerMinute=5000)
    with running(None, tmp_path) as emulator:  # enforces the lab's 1,000 tokens/min
        code, out, err = smoke(
            str(expected), "--url", emulator.url, "--keys", str(tmp_path / "keys.json"),
            "--consumer", "team-b", "--max-tokens", "200",
        )  # fmt: skip
    assert code == 1
    assert "inconclusive: the minute already held 4,000 tokens" in out
    assert "does not do what the spec says" in err


def test_a_gateway_that_never_throttles_disagrees(tmp_path: Path) -> None:
    roomy = spec_with_team_b(tmp_path, "roomy.yaml", tokensPerMinute=100_000)
    with running(roomy, tmp_path) as emulator:
        code, out, _ = smoke(
            "--url", emulator.url, "--keys", str(tmp_path / "keys.json"),
            "--consumer", "team-b", "--max-requests", "8",
        )  # fmt: skip
    assert code == 1
    assert "observed: no 429 in 8 requests, 1,736 tokens" in out
    assert "disagree: 1,736 tokens passed a limit of 1,000 tokens/min" in out


def test_nothing_listening_is_exit_3(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, _, err = smoke("--url", f"http://127.0.0.1:{port}", "--key", "k" * 32)
    assert code == 3
    assert f"cannot reach http://127.0.0.1:{port}/openai" in err


def test_a_refused_key_is_exit_3(tmp_path: Path) -> None:
    with running(None, tmp_path) as emulator:
        code, out, err = smoke("--url", emulator.url, "--key", "0" * 32)
    assert code == 3
    assert "refuses the key (401: Access denied due to invalid subscription key." in err
    assert "0" * 32 not in out + err


def test_keys_file_must_name_the_consumer(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text('{"team-a": "abc"}', encoding="utf-8")
    code, _, err = smoke("--url", "http://127.0.0.1:9", "--keys", str(keys), "--consumer", "team-b")
    assert code == 2
    assert "has no key for consumer team-b" in err


def test_smoke_on_the_llm_family_names_the_model_in_the_body(tmp_path: Path) -> None:
    spec = FIXTURES / "specs" / "good" / "llm-family.yaml"
    with running(spec, tmp_path) as emulator:
        code, out, _ = smoke(
            str(spec), "--url", emulator.url, "--keys", str(tmp_path / "keys.json")
        )
    assert code == 0, out
    assert out.splitlines()[0].startswith(
        f"smoke: consumer app at {emulator.url}/models, deployment gpt-4o-mini"
    )
    assert "agree: 4,000 tokens/min, refused with 429 and Retry-After once used up" in out


def test_a_quota_period_that_begins_mid_run_is_judged_from_its_start() -> None:
    """Rows as a run across the top of the hour printed them (the remaining quota went back up
    at request 7): the 403 must be judged on the new period's tokens only."""
    from generator.emulate.policy import LimitHeaders
    from generator.model import Limit
    from generator.smoke.policy_test import Observed, Row, judge_quota

    remaining = [2783, 2566, 2349, 2132, 1915, 1915, 2783, 2566, 2349, 2132, 1915, 1915, 1698]
    rows = [
        Row(i + 1, 429 if i in (5, 11) else 200, None if i in (5, 11) else 217, None, left, None)
        for i, left in enumerate(remaining)
    ]
    rows += [Row(n, 200, 217, None, left, None) for n, left in ((14, 1481), (15, 1264), (16, 1047))]
    rows += [Row(17, 200, 217, None, 830, None), Row(18, 429, None, None, 830, 1)]
    rows += [Row(n, 200, 217, None, left, None) for n, left in ((19, 613), (20, 396), (21, 179))]
    rows += [Row(22, 200, 217, None, 0, None), Row(23, 403, None, None, 0, None)]
    verdict = judge_quota(Observed(rows), Limit(1000, 3000, "Hourly"), LimitHeaders(), 200)
    assert verdict.lines == (
        "observed: 403 at request 23 after 3,038 tokens (since the quota period began at "
        "request 7)",
        "agree: 3,000 tokens Hourly, refused with 403 once used up",
    )
    assert verdict.agree
