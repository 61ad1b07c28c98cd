"""`tokengate simulate` end to end: the report, JSON, the chart, suggestions that hold when pasted
into the spec, and errors as messages with exit code 2."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from support import FIXTURES, REPO, FileSnapshot

from generator.cli import main
from generator.install import extra_hint
from generator.resources import lab_spec_path
from generator.simulate import synthetic

TRACES = FIXTURES / "simulate" / "traces"
IP_SPEC = FIXTURES / "specs" / "good" / "counter-key-ip.yaml"


def invoke(*args: str) -> tuple[int, str, str]:
    """Run `simulate`; the announcement that no SPEC means the built-in lab is checked once."""
    result = CliRunner().invoke(main, ["simulate", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, without_lab_announcement(result.stderr)


def without_lab_announcement(stderr: str) -> str:
    return "".join(
        line
        for line in stderr.splitlines(keepends=True)
        if not line.startswith("using the built-in lab spec")
    )


def test_table_report(file_snapshot: FileSnapshot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(TRACES)
    code, out, err = invoke("--trace", "lab.csv")
    assert (code, err) == (0, "")
    assert out == file_snapshot("txt")
    assert (
        "team-b    consumer team-b  1,000/min, 200,000/Monthly         3        2    1    0" in out
    )


def test_json_report_is_one_document_with_every_counter() -> None:
    code, out, err = invoke("--synthetic", "--duration", "20m", "--format", "json")
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert {c["consumers"][0] for c in document["counters"]} == {"team-a", "team-b"}
    assert sum(c["requests"] for c in document["counters"]) == document["workload"]["requests"]
    for counter in document["counters"]:
        refused = counter["rateLimited429"] + counter["quotaExceeded403"]
        assert counter["allowed"] + refused == counter["requests"]
    allowed_tokens = sum(c["totalTokens"] for c in document["counters"])
    by_subscription = [
        m for m in document["metrics"]["byDimension"] if m["dimension"] == "Subscription ID"
    ]
    assert sum(m["totalTokens"] for m in by_subscription) == allowed_tokens
    assert {a["name"] for a in document["assumptions"]} >= {"minute window", "admission"}
    assert all(
        r["source"].startswith("https://learn.microsoft.com/") for r in document["semantics"]
    )


def test_synthetic_runs_are_reproducible() -> None:
    first = invoke("--synthetic", "--seed", "7", "--format", "json")
    assert first == invoke("--synthetic", "--seed", "7", "--format", "json")
    assert first != invoke("--synthetic", "--seed", "8", "--format", "json")


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, after checking the signature and CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (kind, length) == (b"IHDR", 13)
    body = data[16 : 16 + length]
    (crc,) = struct.unpack(">I", data[16 + length : 20 + length])
    assert crc == zlib.crc32(kind + body)
    width, height = struct.unpack(">II", body[:8])
    return width, height


def test_chart_is_a_png_of_real_size(tmp_path: Path) -> None:
    chart = tmp_path / "lab.png"
    code, _, err = invoke("--synthetic", "--chart", str(chart))
    assert code == 0 and err == f"wrote {chart}\n"
    data = chart.read_bytes()
    width, height = png_size(data)
    assert width >= 800 and height >= 400
    assert len(data) > 30_000
    assert data.rstrip(b"\x00").endswith(b"IEND\xaeB`\x82")


def test_chart_without_matplotlib_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [m for m in sys.modules if m.startswith("matplotlib")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib → ImportError
    code, out, err = invoke("--synthetic", "--chart", str(tmp_path / "x.png"))
    assert (code, out) == (2, "")  # checked before any work is done
    assert err == f"the chart needs matplotlib: {extra_hint('chart')}\n"
    assert '".[chart]"' in err, "the hint installs tokengate's own extra, not PyPI's tokengate"
    assert not (tmp_path / "x.png").exists()


def merged(spec: dict[str, Any], excerpt: dict[str, Any]) -> dict[str, Any]:
    """The spec with the excerpt's fields replacing those of the same name."""
    result = {**spec}
    if "tokenLimit" in excerpt:
        result["tokenLimit"] = {**spec["tokenLimit"], **excerpt["tokenLimit"]}
    by_name = {c["name"]: c for c in excerpt.get("consumers", [])}
    result["consumers"] = [{**c, **by_name.get(c["name"], {})} for c in spec.get("consumers", [])]
    return result


EXPRESSION_SPEC = FIXTURES / "specs" / "good" / "counter-key-expression.yaml"


@pytest.mark.parametrize(
    ("spec", "duration"),
    [(lab_spec_path(), "30m"), (IP_SPEC, "30m"), (EXPRESSION_SPEC, "3h")],
    ids=["lab", "counter-key-ip", "hourly-quota"],
)
def test_suggested_limits_hold_when_pasted_into_the_spec(
    spec: Path, duration: str, tmp_path: Path
) -> None:
    workload = ["--synthetic", "--duration", duration, "--rate", "3"]
    code, out, _ = invoke(str(spec), *workload, "--format", "json", "--suggest")
    assert code == 0
    suggestions = json.loads(out)["suggestions"]
    excerpt = yaml.safe_load(suggestions["specExcerpt"])
    hourly = spec == EXPRESSION_SPEC
    assert ("quota" in excerpt["tokenLimit"]) is hourly if "tokenLimit" in excerpt else True
    before = json.loads(out)["counters"]
    assert any(c["rateLimited429"] > 0.01 * c["requests"] for c in before), "needs throttling"

    pasted = tmp_path / "suggested.yaml"
    original = yaml.safe_load(spec.read_text(encoding="utf-8"))
    pasted.write_text(yaml.safe_dump(merged(original, excerpt)), encoding="utf-8")
    code, out, err = invoke(str(pasted), *workload, "--format", "json")
    assert code == 0, err
    assert all(b["meetsTarget"] for b in suggestions["budgets"])
    for counter in json.loads(out)["counters"]:  # 429s and 403s together: what a caller sees
        refused = counter["rateLimited429"] + counter["quotaExceeded403"]
        assert refused <= 0.01 * counter["requests"], counter


def test_suggestions_are_the_smallest(tmp_path: Path) -> None:
    """One token per minute less than a suggestion refuses too many of the neediest counter."""
    workload = ["--synthetic", "--duration", "30m", "--rate", "3"]
    code, out, _ = invoke(*workload, "--format", "json", "--suggest")
    assert code == 0
    original = yaml.safe_load(lab_spec_path().read_text(encoding="utf-8"))
    for budget in json.loads(out)["suggestions"]["budgets"]:
        name = budget["budget"].removeprefix("consumer ")
        lower = {"consumers": [{"name": name, "tokensPerMinute": budget["tokensPerMinute"] - 1}]}
        spec = tmp_path / f"{name}.yaml"
        spec.write_text(yaml.safe_dump(merged(original, lower)), encoding="utf-8")
        code, out_lower, _ = invoke(str(spec), *workload, "--format", "json")
        counter = next(c for c in json.loads(out_lower)["counters"] if c["consumers"] == [name])
        assert counter["rateLimited429"] > 0.01 * counter["requests"]


def test_quotas_are_suggested_only_from_a_whole_period() -> None:
    code, out, _ = invoke("--synthetic", "--duration", "30m", "--suggest", "--format", "json")
    assert code == 0
    budgets = json.loads(out)["suggestions"]["budgets"]
    assert [b["quota"] for b in budgets] == [None, None]
    assert [b["notes"] for b in budgets] == [
        ["quota kept: the workload is shorter than one Daily period"],
        ["quota kept: the workload is shorter than one Monthly period"],
    ]


def test_suggest_prints_a_commented_spec_excerpt() -> None:
    code, out, _ = invoke(str(IP_SPEC), "--synthetic", "--duration", "30m", "--suggest")
    assert code == 0
    excerpt = out[out.index("# Smallest limits") :]
    lines = excerpt.splitlines()
    assert all(line.startswith("# ") for line in lines[:4])
    assert lines[4] == "tokenLimit:"
    assert lines[5].startswith("  tokensPerMinute: ")
    assert "# needed by kiosk at 10.0.0." in lines[5]
    data = yaml.safe_load(excerpt)
    assert set(data) == {"tokenLimit", "consumers"}
    assert [c["name"] for c in data["consumers"]] == ["partner"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give either --trace FILE or --synthetic"),
        (("--synthetic", "--trace", str(TRACES / "lab.csv")), "give either --trace FILE"),
        (("--synthetic", "--duration", "soon"), "'soon' is not a duration"),
        (("--synthetic", "--start", "2025-01-06T00:00:00"), "has no UTC offset"),
        (("--trace", "no-such-file.csv"), "does not exist"),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...], message: str) -> None:
    code, out, err = invoke(*args)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err


def test_an_invalid_spec_exits_2_with_its_findings(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: x\n", encoding="utf-8")
    code, out, err = invoke(str(spec), "--synthetic")
    assert code == 2 and out == ""
    assert "bad.yaml:1:1: TG012" in err


def test_synthetic_option_defaults_are_the_profile_defaults() -> None:
    from generator.commands.simulate import simulate

    defaults = {p.name: p.default for p in simulate.params}
    profile = synthetic.Profile()
    assert defaults["seed"] == profile.seed
    assert defaults["rate"] == profile.requests_per_minute
    assert defaults["prompt_tokens"] == profile.prompt_tokens
    assert defaults["completion_tokens"] == profile.completion_tokens
    assert defaults["stream_share"] == profile.stream_share
    assert defaults["bursts"] == profile.bursts
    assert defaults["duration"] == "1h" and profile.duration_ms == 3_600_000


def test_the_command_line_loads_no_simulation_code_until_simulate_runs() -> None:
    probe = (
        "import sys, generator.cli; heavy = ('generator.simulate', 'matplotlib'); "
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))"
    )
    output = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout
    assert output.strip() == "[]"


def test_the_worked_example_in_the_docs_is_real_output() -> None:
    docs = (REPO / "docs" / "simulate.md").read_text(encoding="utf-8")
    block = docs[docs.index("$ tokengate simulate --synthetic --chart lab.png --suggest\n") :]
    block = block[: block.index("```")]
    shown = [line for line in block.splitlines()[1:] if line.strip() not in ("...", "")]
    code, out, _ = invoke("--synthetic", "--suggest")
    assert code == 0
    produced = [*out.splitlines(), "wrote lab.png"]
    missing = [line for line in shown if line not in produced]
    assert not missing


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--start", "9999-12-31T00:00:00Z"), "is outside the years 1970 to 9998"),
        (("--start", "0001-01-01T00:00:00Z"), "is outside the years 1970 to 9998"),
        (("--start", "9998-12-31T23:00:00Z", "--duration", "2h"), "would end after the year"),
        (("--duration", "99999999999999999999d"), "is longer than workloads can last"),
        (("--prompt-tokens", "99999999999999999999"), "is not in the range 1<=x<=10000000"),
        (("--rate", "nan"), "nan is not a finite number"),
        (("--rate", "inf"), "inf is not a finite number"),
        (("--rate", "1e308", "--duration", "1s"), "unboundedly many requests"),
        # 100,000/min x (1,440 min x 2 consumers + 2 bursts x 1 min x 10)
        (("--rate", "100000", "--duration", "1d"), "about 290,000,000 requests"),
    ],
)
def test_odd_synthetic_options_are_usage_errors(args: tuple[str, ...], message: str) -> None:
    """Each was a traceback (the calendar's year 10000, an array overflow) or a run that never
    ends (an infinite or enormous rate); now exit 2 before any request is generated."""
    code, out, err = invoke("--synthetic", *args)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err


def test_a_suggestion_no_spec_limit_can_meet_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two requests of 2,000,000,000 prompt tokens within a second need 4,000,000,000 tokens per
    minute, over the schema's maximum of tokensPerMinute (2,147,483,647): no spec limit lets both
    through, so the suggestion must not be printed as one that meets the target."""
    row = "2025-01-06T09:00:{:02d}Z,team-b,10.1.0.4,2000000000,1,false,2000,alice\n"
    trace = tmp_path / "t.csv"
    trace.write_text(
        "timestamp,consumer,client_ip,prompt_tokens,completion_tokens,stream,duration_ms,"
        "header:X-User-Id\n" + row.format(0) + row.format(1),
        encoding="utf-8",
    )
    code, out, _ = invoke("--trace", str(trace), "--suggest")
    assert code == 0
    assert "# NOT MET for consumer team-b: no limit found meets the target" in out
    assert "DOES NOT MEET THE TARGET within the largest limit a spec allows" in out
    code, out, _ = invoke("--trace", str(trace), "--suggest", "--format", "json")
    (budget,) = json.loads(out)["suggestions"]["budgets"]
    assert budget["meetsTarget"] is False


def test_a_kept_quota_over_the_target_is_replaced_by_one_that_meets_it(tmp_path: Path) -> None:
    """The lab's team-a uses up its Daily quota in a burst hour: keeping the quota would refuse
    more than the target, so a quota is proposed and a replay of the pasted spec confirms it."""
    code, out, _ = invoke("--synthetic", "--suggest", "--format", "json")
    assert code == 0
    suggestions = json.loads(out)["suggestions"]
    team_a = next(b for b in suggestions["budgets"] if b["budget"] == "consumer team-a")
    assert team_a["quotaRaised"] is True and team_a["meetsTarget"] is True
    assert team_a["quota"] > 100_000 and team_a["quotaPeriod"] == "Daily"
    pasted = tmp_path / "pasted.yaml"
    original = yaml.safe_load(lab_spec_path().read_text(encoding="utf-8"))
    excerpt = yaml.safe_load(suggestions["specExcerpt"])
    pasted.write_text(yaml.safe_dump(merged(original, excerpt)), encoding="utf-8")
    code, out, _ = invoke(str(pasted), "--synthetic", "--format", "json")
    counter = next(c for c in json.loads(out)["counters"] if c["consumers"] == ["team-a"])
    assert counter["rateLimited429"] + counter["quotaExceeded403"] <= 0.01 * counter["requests"]
    kept = {"consumers": [{**excerpt["consumers"][0], "quota": 100_000}]}  # the lab's quota
    pasted.write_text(yaml.safe_dump(merged(original, kept)), encoding="utf-8")
    code, out, _ = invoke(str(pasted), "--synthetic", "--format", "json")
    counter = next(c for c in json.loads(out)["counters"] if c["consumers"] == ["team-a"])
    assert counter["quotaExceeded403"] > 0.01 * counter["requests"], "raising was needed"
