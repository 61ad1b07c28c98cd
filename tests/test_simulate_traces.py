"""Trace readers: the three formats agree, the Log Analytics export is read column by column (and
matches the KQL tokengate renders), and bad traces get one message per problem, by row."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import FIXTURES, GOOD_SPECS, REPO, FileSnapshot, compiled

from generator.cli import main
from generator.pipeline import compile_path
from generator.resources import lab_spec_path
from generator.simulate import plan as plans
from generator.simulate import report, simulation
from generator.simulate.semantics import Assumptions
from generator.simulate.traces import MAX_PROBLEMS, TraceInvalid, read_trace
from generator.simulate.workload import Workload, iso

TRACES = FIXTURES / "simulate" / "traces"
BAD = sorted((TRACES / "bad").iterdir())


def lab_needs() -> plans.Needs:
    return plans.build(compile_path(None).gateway).needs()


def columns(workload: Workload) -> dict[str, list[object]]:
    return {
        "times": [iso(t) for t in workload.times],
        "prompt": list(workload.prompt),
        "completion": list(workload.completion),
        "stream": list(workload.stream),
        "durations": list(workload.durations or []),
        **{name: list(values) for name, values in workload.text.items()},
    }


@pytest.mark.parametrize("name", ["lab.jsonl", "lab.json"])
def test_csv_json_lines_and_json_read_alike(name: str) -> None:
    expected = columns(read_trace(TRACES / "lab.csv", lab_needs()))
    assert columns(read_trace(TRACES / name, lab_needs())) == expected
    assert expected == {
        "times": [
            "2025-01-06T09:00:00Z",
            "2025-01-06T09:00:10Z",
            "2025-01-06T09:00:15Z",  # 10:00:15+01:00
            "2025-01-06T09:00:20Z",
        ],
        "prompt": [300, 300, 900, 300],
        "completion": [100, 100, 300, 100],
        "stream": [0, 1, 0, 0],
        "durations": [2000, 2000, -1, 2000],  # -1: this row has no response time
        "client_ip": ["10.1.0.4", "10.1.0.4", "10.2.0.9", "10.1.0.5"],
        "consumer": ["team-b", "team-b", "team-a", "team-b"],
        "header:x-user-id": ["alice", "alice", "carol", "bob"],  # header names: any case
    }


def test_log_analytics_export_golden() -> None:
    """A small export of the KQL join, read column by column (7-digit fractions, `True`/`False`,
    a `[UTC]` header suffix, an empty TotalTime)."""
    workload = read_trace(TRACES / "la-export.csv", lab_needs())
    assert workload.description == "Log Analytics export, response times from TotalTime"
    assert columns(workload) == {
        "times": [
            "2025-01-06T09:00:00.123Z",
            "2025-01-06T09:00:05.500Z",
            "2025-01-06T09:00:09Z",
            "2025-01-06T09:00:30Z",
            "2025-01-06T09:00:40Z",
            "2025-01-06T09:01:01Z",
            "2025-01-06T09:01:10Z",
            "2025-01-06T09:02:30Z",
        ],
        "prompt": [400, 350, 300, 1200, 2500, 200, 300, 300],
        "completion": [100, 150, 200, 800, 500, 50, 100, 100],
        "stream": [0, 1, 0, 0, 1, 0, 0, 0],
        "durations": [1850, 3200, 2100, 4000, 6000, 900, -1, 1500],
        "client_ip": [
            "10.1.0.4",
            "10.1.0.4",
            "10.1.0.5",
            "10.2.0.9",
            "10.2.0.9",
            "10.1.0.4",
            "10.2.0.9",
            "10.2.0.10",
        ],
        "consumer": ["team-b"] * 3 + ["team-a"] * 2 + ["team-b"] + ["team-a"] * 2,
        "deployment": ["gpt-4o"] * 8,
        "header:x-user-id": ["alice", "alice", "bob", "carol", "carol", "alice", "dave", ""],
    }


def test_log_analytics_export_replay_golden(
    file_snapshot: FileSnapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole report of the export, as JSON. Worked by hand: team-b's third request finds
    400 + 100 + 350 + 150 counted (the stream's prompt on arrival, completions at 1.97 s and
    8.7 s) and 300 more does not fit in 1,000; team-a's 09:01:10 request finds 5,000 counted in
    the last minute."""
    monkeypatch.chdir(TRACES)
    plan = plans.build(compile_path(None).gateway)
    result = simulation.simulate(
        plan, read_trace(Path("la-export.csv"), plan.needs()), Assumptions()
    )
    text = report.as_json(result)
    assert text == file_snapshot("json")
    assert [s for s in result.result.status] == [0, 0, 1, 0, 0, 0, 1, 0]
    assert list(result.result.retry_after)[2] == 52  # 400 leaves at 60.123 s → 0.123 + 60 - 9
    assert list(result.result.retry_after)[6] == 20  # 1,200 leaves at 09:01:30


def rendered_export_columns(spec: Path) -> list[str]:
    """The column names the rendered llm-usage-export.kql projects last."""
    kql = compiled(spec).files["queries/llm-usage-export.kql"].content
    final = kql[kql.rindex("| project ") : kql.index("| order by")]
    names = []
    for item in re.split(r",\s*", final.removeprefix("| project ").strip()):
        name = item.split("=")[0].strip()
        names.append(name[2:-2] if name.startswith('["') else name)
    return names


@pytest.mark.parametrize(
    "stem", ["lab", "counter-key-header", "counter-key-expression", "counter-key-ip", "products"]
)
def test_the_rendered_kql_exports_every_column_the_simulation_needs(
    stem: str, tmp_path: Path
) -> None:
    spec = next(s for s in GOOD_SPECS if s.stem == stem)
    names = rendered_export_columns(spec)
    gateway = compiled(spec).gateway
    plan = plans.build(gateway)
    needs = plan.needs()
    header_fields = {f for f in [*needs.required, *needs.optional] if f.startswith("header:")}
    assert {n for n in names if n.startswith("header:")} == header_fields
    consumer = gateway.consumers[0].name if gateway.consumers else "anyone"
    values = {
        "TimeGenerated": "2025-01-06T09:00:00.0000000Z",
        "ApimSubscriptionId": consumer,
        "IsStreamCompletion": "False",
    }
    row = [values.get(n, "1" if n[0].isupper() else "x") for n in names]
    trace = tmp_path / "export.csv"
    trace.write_text(",".join(names) + "\n" + ",".join(row) + "\n", encoding="utf-8")
    workload = read_trace(trace, plan.needs())
    assert len(workload) == 1 and workload.durations is not None


@pytest.mark.parametrize("trace", BAD, ids=lambda p: p.name)
def test_bad_traces_name_the_file_and_row(
    trace: Path, file_snapshot: FileSnapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(trace.parent)
    lab = str(lab_spec_path())
    result = CliRunner().invoke(
        main, ["simulate", lab, "--trace", trace.name], catch_exceptions=False
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("(stopped")]
    assert lines and all(line.startswith(f"{trace.name}:") for line in lines)
    assert result.stderr == file_snapshot("txt")


@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("unsorted.csv", ["4"]),
        ("unknown-consumer.csv", ["3", "4"]),
        ("bad-timestamp.csv", ["3", "4"]),
        ("bad-tokens.csv", ["2", "3", "4"]),
        ("missing-column.csv", ["1"]),
        ("broken.jsonl", ["1", "2"]),
    ],
)
def test_problems_point_at_their_rows(name: str, where: list[str]) -> None:
    with pytest.raises(TraceInvalid) as raised:
        read_trace(TRACES / "bad" / name, lab_needs())
    assert [p.where for p in raised.value.problems] == where


def test_reading_stops_after_enough_problems() -> None:
    with pytest.raises(TraceInvalid) as raised:
        read_trace(TRACES / "bad" / "many-problems.csv", lab_needs())
    assert len(raised.value.problems) == MAX_PROBLEMS
    assert raised.value.message.endswith(f"(stopped after {MAX_PROBLEMS} problems)")


def test_a_missing_column_says_why_the_spec_needs_it(tmp_path: Path) -> None:
    spec = next(s for s in GOOD_SPECS if s.stem == "counter-key-header")
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp,prompt_tokens,completion_tokens\n", encoding="utf-8")
    with pytest.raises(TraceInvalid) as raised:
        read_trace(trace, plans.build(compiled(spec).gateway).needs())
    (problem,) = raised.value.problems
    assert problem.message == (
        "missing column 'header:x-end-user': the counter key "
        '@("api/azure-openai:" + context.Request.Headers.GetValueOrDefault("x-end-user", "")) '
        "reads it"
    )


def test_an_unreadable_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    trace = tmp_path / "latin1.csv"
    trace.write_bytes("timestamp,consumer\n2025-01-06T09:00:00Z,\xe9quipe\n".encode("latin-1"))
    with pytest.raises(TraceInvalid, match=r"latin1\.csv:2: not UTF-8"):
        read_trace(trace, lab_needs())


def test_the_docs_show_the_query_render_writes() -> None:
    docs = (REPO / "docs" / "simulate.md").read_text(encoding="utf-8")
    shown = docs[docs.index("```kql\n") + len("```kql\n") :]
    shown = shown[: shown.index("```")]
    rendered = compile_path(None).files["queries/llm-usage-export.kql"].content
    assert rendered.endswith(shown)


HEADER = "timestamp,consumer,client_ip,prompt_tokens,completion_tokens,stream,duration_ms\n"
ROW = "2025-01-06T09:00:00Z,team-b,10.1.0.4,300,100,false,2000\n"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "huge-tokens.csv",
            HEADER + ROW.replace(",300,", f",{10**21},"),
            "huge-tokens.csv:2: prompt_tokens 1,000,000,000,000,000,000,000 is over the largest "
            "value tokengate accepts (2,147,483,647)",
        ),
        (
            "huge-duration.csv",
            HEADER + ROW.replace(",2000", f",{10**23}"),
            "huge-duration.csv:2: duration_ms 100,000,000,000,000,000,000,000 is over the "
            "largest value tokengate accepts (2,147,483,647)",
        ),
        (
            "year-9999.csv",
            HEADER + ROW.replace("2025", "9999"),
            "year-9999.csv:2: timestamp '9999-01-06T09:00:00Z' is outside the years 1970 to 9998",
        ),
        (
            "year-1.csv",
            HEADER + ROW.replace("2025-01-06T09:00:00Z", "0001-01-01T00:00:00+05:00"),
            "year-1.csv:2: timestamp '0001-01-01T00:00:00+05:00' is outside the years 1970 to 9998",
        ),
        (
            "deep.json",
            "[" * 100_000,
            "deep.json:1: not JSON tokengate can read: nested too deeply",
        ),
        (
            "long-number.jsonl",
            '{"timestamp": "2025-01-06T09:00:00Z", "consumer": "team-b", '
            f'"prompt_tokens": 1{"0" * 5000}, "completion_tokens": 1}}\n',
            "long-number.jsonl:1: not JSON tokengate can read: Exceeds the limit (4300 digits) "
            "for integer string conversion: value has 5001 digits",
        ),
        (
            "twice.csv",
            "timestamp,timestamp,consumer,prompt_tokens,completion_tokens\n"
            "2025-01-06T09:00:00Z,x,team-a,1,1\n",
            "twice.csv:1: column 'timestamp' appears more than once in the header",
        ),
        (
            "huge-cell.csv",
            HEADER + ROW.replace("10.1.0.4", "x" * 200_000),
            "huge-cell.csv:2: not CSV: field larger than field limit (131072)",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 30 else "",
)
def test_odd_traces_are_errors_naming_the_row(
    name: str, content: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each of these was a traceback (OverflowError, ValueError from the calendar, RecursionError,
    csv.Error) or a message without its place."""
    (tmp_path / name).write_text(content, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    argv = ["simulate", str(lab_spec_path()), "--trace", name]
    result = CliRunner().invoke(main, argv, catch_exceptions=False)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", expected + "\n")


def test_a_byte_that_is_not_utf8_is_found_on_its_line(tmp_path: Path) -> None:
    trace = tmp_path / "t.csv"
    trace.write_bytes((HEADER + ROW + ROW).encode() + b"2025-01-06T09:00:30Z,\xe9quipe\n")
    with pytest.raises(TraceInvalid) as raised:
        read_trace(trace, lab_needs())
    assert raised.value.message == f"{trace}:4: not UTF-8 text (invalid continuation byte)"


def test_a_trace_of_one_request_is_replayed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "one.csv").write_text(HEADER + ROW, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        main, ["simulate", "--trace", "one.csv", "--suggest"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    assert "workload  one.csv: 1 requests, 2025-01-06 09:00:00Z to 2025-01-06 09:00:00Z" in (
        result.stdout
    )
    assert "consumers:\n  - { name: team-b, tokensPerMinute: " in result.stdout
