"""`tokengate usage`: chargeback from a Log Analytics export, costs recomputed by hand.

The fixture spec (tests/fixtures/usage/chargeback.yaml) deploys gpt-4o 2024-11-20 and
gpt-4o-mini 2024-07-18 as GlobalStandard, and gpt-4o as GlobalProvisionedManaged (billed per
PTU-hour, so no per-token price). The export (tests/fixtures/usage/export.csv) has the columns
`out/queries/llm-usage-export.kql` returns plus `CachedTokens`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import FIXTURES, REPO, FileSnapshot

from generator import usage
from generator.cli import main
from generator.insights_plan import cost_plan
from generator.pipeline import compile_path
from generator.simulate.traces import read_trace

USAGE = FIXTURES / "usage"
SPEC = USAGE / "chargeback.yaml"
EXPORT = USAGE / "export.csv"
SIMULATE_EXPORT = FIXTURES / "simulate" / "traces" / "la-export.csv"

#: Literal prices per 1M tokens, as prices/azure-openai.json has them (checked below).
GPT_4O = {"input": Decimal("2.50"), "cachedInput": Decimal("1.25"), "output": Decimal("10.00")}
MINI = {"input": Decimal("0.15"), "cachedInput": Decimal("0.075"), "output": Decimal("0.60")}
M = 1_000_000


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["usage", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_literal_prices_are_the_shipped_ones() -> None:
    """The hand computations below use these figures; if the table changes, they must too."""
    table = json.loads((REPO / "prices" / "azure-openai.json").read_text(encoding="utf-8"))
    by_key = {(p["model"], p.get("version"), p["deploymentType"]): p for p in table["prices"]}
    for key, literal in (
        (("gpt-4o", "2024-11-20", "Global"), GPT_4O),
        (("gpt-4o-mini", "2024-07-18", "Global"), MINI),
    ):
        entry = by_key[key]
        assert {name: Decimal(entry[name]) for name in literal} == literal
    assert table["currency"] == "USD"


def test_costs_per_consumer_deployment_and_month_by_hand() -> None:
    code, out, err = invoke(str(SPEC), "--trace", str(EXPORT), "--csv", "-")
    assert code == 0, err
    rows = csv_rows(out)
    lines = {(r["month"], r["consumer"], r["deployment"]): r for r in rows if r["row"] == "usage"}
    # team-a, 2025-01-31T23:59:59.9Z: 400,000 prompt of which 200,000 cached, 100,000 completion.
    team_a_january = (
        (400_000 - 200_000) * GPT_4O["input"]
        + 200_000 * GPT_4O["cachedInput"]
        + 100_000 * GPT_4O["output"]
    ) / M
    assert team_a_january == Decimal("1.75")
    # team-a, 2025-02-01T00:00:00Z (the next month, a tenth of a second later): no cached tokens.
    team_a_february = (100_000 * GPT_4O["input"] + 50_000 * GPT_4O["output"]) / M
    # team-b: 300,000 prompt of which 100,000 cached, 100,000 completion on gpt-4o ...
    team_b_gpt_4o = (
        200_000 * GPT_4O["input"] + 100_000 * GPT_4O["cachedInput"] + 100_000 * GPT_4O["output"]
    ) / M
    # ... and 1,000,000 prompt, 200,000 completion on gpt-4o-mini (empty CachedTokens cell: 0).
    team_b_mini = (1_000_000 * MINI["input"] + 200_000 * MINI["output"]) / M
    expected = {
        ("2025-01", "team-a", "gpt-4o"): team_a_january,
        ("2025-02", "team-a", "gpt-4o"): team_a_february,
        ("2025-02", "team-b", "gpt-4o"): team_b_gpt_4o,
        ("2025-02", "team-b", "mini"): team_b_mini,
    }
    assert {key: Decimal(lines[key]["cost"]) for key in expected} == expected
    assert (team_a_february, team_b_gpt_4o, team_b_mini) == (
        Decimal("0.75"),
        Decimal("1.625"),
        Decimal("0.27"),
    )
    # Unpriced rows keep their tokens and say so, instead of costing 0.
    assert lines[("2025-02", "team-b", "reserved")]["cost"] == "no price"
    assert lines[("2025-02", "team-b", "reserved")]["total_tokens"] == "60000"
    assert lines[("2025-02", "team-z", "gpt-35-old")]["cost"] == "no price"
    grand = next(r for r in rows if r["row"] == "total")
    assert Decimal(grand["cost"]) == sum(expected.values()) == Decimal("4.395")
    assert (grand["unpriced_tokens"], grand["total_tokens"]) == ("85000", "2335000")
    assert {r["currency"] for r in rows} == {"USD"}
    per_consumer = {r["consumer"]: r["cost"] for r in rows if r["row"] == "total per consumer"}
    assert per_consumer == {"team-a": "2.5", "team-b": "1.895", "team-z": "no price"}


def test_unpriced_deployments_are_named_on_stderr() -> None:
    code, _, err = invoke(str(SPEC), "--trace", str(EXPORT), "--csv", "-")
    assert code == 0
    warnings = err.splitlines()
    assert warnings == [
        "warning: deployment 'gpt-35-old': no price (not in the spec); its 25,000 tokens are "
        "counted, their cost is not",
        "warning: deployment 'reserved': no price (GlobalProvisionedManaged is provisioned "
        "throughput, billed per PTU-hour); its 60,000 tokens are counted, their cost is not",
    ]


def test_markdown_report(file_snapshot: FileSnapshot) -> None:
    code, out, _ = invoke(str(SPEC), "--trace", "tests/fixtures/usage/export.csv")
    assert code == 0
    assert out == file_snapshot("md")
    # Displayed to the cent, half up: 1.625 shows as 1.63 (half-even would give 1.62).
    assert "| 2025-02 | team-b | gpt-4o | gpt-4o 2024-11-20 GlobalStandard | 1 | 300,000" in out
    assert "| 100,000 | 100,000 | 1.63 |" in out
    assert "**Total: 4.40 USD** + no price for 85,000 tokens" in out
    assert "effective 2026-08-11" in out


def test_both_outputs_to_files(tmp_path: Path) -> None:
    csv_file, markdown_file = tmp_path / "usage.csv", tmp_path / "usage.md"
    code, out, err = invoke(
        str(SPEC), "--trace", str(EXPORT), "--csv", str(csv_file), "--markdown", str(markdown_file)
    )
    assert (code, out) == (0, "")
    assert f"wrote {csv_file}" in err and f"wrote {markdown_file}" in err
    assert csv_rows(csv_file.read_text(encoding="utf-8"))[0]["row"] == "usage"
    assert markdown_file.read_text(encoding="utf-8").startswith("# Token usage and cost\n")


def test_as_a_real_process_the_output_is_the_same() -> None:
    args = ["usage", str(SPEC), "--trace", str(EXPORT), "--csv", "-"]
    done = subprocess.run(
        [sys.executable, "-m", "generator", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == invoke(*args[1:])[1]
    assert "warning: deployment 'reserved'" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_export_simulate_reads_without_cached_tokens() -> None:
    """The documented export has no cached-token column: no cached column in the output."""
    code, out, _ = invoke("--trace", str(SIMULATE_EXPORT), "--csv", "-")
    assert code == 0
    rows = csv_rows(out)
    assert "cached_tokens" not in rows[0]
    costs = {r["consumer"]: Decimal(r["cost"]) for r in rows if r["row"] == "usage"}
    # team-a: 4,300 prompt and 1,500 completion tokens on the lab's gpt-4o 2024-11-20 Global.
    assert costs["team-a"] == (4_300 * GPT_4O["input"] + 1_500 * GPT_4O["output"]) / M


def test_output_is_deterministic_whatever_the_row_order_within_a_time(tmp_path: Path) -> None:
    lines = EXPORT.read_text(encoding="utf-8").splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    same_time = "".join(r.replace(r.split(",")[0], "2025-02-01T00:00:00Z", 1) for r in rows)
    reversed_rows = "".join(
        r.replace(r.split(",")[0], "2025-02-01T00:00:00Z", 1) for r in reversed(rows)
    )
    (tmp_path / "a.csv").write_text(header + same_time, encoding="utf-8")
    (tmp_path / "b.csv").write_text(header + reversed_rows, encoding="utf-8")
    first = invoke(str(SPEC), "--trace", str(tmp_path / "a.csv"), "--csv", "-")[1]
    second = invoke(str(SPEC), "--trace", str(tmp_path / "b.csv"), "--csv", "-")[1]
    assert first == second


HEADER = EXPORT.read_text(encoding="utf-8").splitlines()[0]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "wrong-columns.csv",
            "TimeGenerated,ApimSubscriptionId,PromptTokens,CompletionTokens\n"
            "2025-01-06T09:00:00Z,team-a,10,5\n",
            "wrong-columns.csv:1: missing column 'DeploymentName': it names the model "
            "deployment whose price applies",
        ),
        (
            "bad-json.json",
            '[{"TimeGenerated": "2025-01-06T09:00:00Z",',
            "bad-json.json:1: not JSON: Expecting property name enclosed in double quotes",
        ),
        ("object.json", '{"rows": []}', "object.json:1: a .json trace is an array of objects"),
        (
            "huge-cell.csv",
            HEADER + "\n" + "2025-01-06T09:00:00Z," + "x" * 200_000 + ",1,1,1\n",
            "huge-cell.csv:2: not CSV: field larger than field limit (131072)",
        ),
        (
            "bad-tokens.csv",
            HEADER + "\n2025-01-06T09:00:00Z,team-a,10.0.0.1,many,5,5,False,gpt-4o,m,1,\n",
            "bad-tokens.csv:2: PromptTokens 'many' is not a whole number",
        ),
        (
            "bad-cached.csv",
            HEADER + "\n2025-01-06T09:00:00Z,team-a,10.0.0.1,10,5,15,False,gpt-4o,m,1,11\n",
            "bad-cached.csv:request 1: cached tokens '11' is not a whole number from 0 to the "
            "request's 10 prompt tokens",
        ),
        ("empty.csv", "", "empty.csv:1: empty trace: no header and no requests"),
        ("export.txt", HEADER + "\n", "export.txt:1: unknown trace format"),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 30 else "",
)
def test_bad_exports_are_exit_2_naming_the_file(
    name: str, content: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / name).write_text(content, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke(str(SPEC), "--trace", name)
    assert (code, out) == (2, "")
    assert err.startswith(expected), err
    assert "Traceback" not in err


def test_a_missing_export_is_exit_2_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"
    code, _, err = invoke(str(SPEC), "--trace", str(missing))
    assert code == 2
    assert "nowhere.csv" in err and "does not exist" in err


def test_an_unwritable_output_is_exit_2_naming_it(tmp_path: Path) -> None:
    # A missing folder is created, as every command that writes a file does; a folder that
    # is a file cannot be (and permissions do not stop root, who runs CI).
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    target = tmp_path / "a-file" / "usage.csv"
    code, _, err = invoke(str(SPEC), "--trace", str(EXPORT), "--csv", str(target))
    assert code == 2
    assert err.splitlines()[-1].startswith(f"{target}: cannot write")


def test_only_one_output_can_go_to_stdout() -> None:
    code, _, err = invoke(str(SPEC), "--trace", str(EXPORT), "--csv", "-", "--markdown", "-")
    assert code == 2
    assert "only one of --csv and --markdown" in err


def test_a_pool_with_different_prices_is_costed_at_the_highest(tmp_path: Path) -> None:
    """The export names the deployment, not the account that served it: the highest price of
    the accounts deploying that name is the one that cannot undercharge. Data Zone gpt-4o
    2024-11-20 is 2.75 input and 11.00 output per 1M, Global 2.50 and 10.00."""
    text = SPEC.read_text(encoding="utf-8")
    second = (
        "  - name: secondary\n"
        "    location: swedencentral\n"
        "    deployments:\n"
        '      - { name: gpt-4o, model: gpt-4o, version: "2024-11-20", sku: DataZoneStandard, '
        "capacity: 50 }\n"
    )
    spec = tmp_path / "pool.yaml"
    spec.write_text(text.replace("\napi:", second + "\napi:", 1), encoding="utf-8")
    rate = usage.rates(compile_path(spec).gateway)["gpt-4o"]
    assert rate.price is not None
    assert (rate.price.input, rate.price.output) == (Decimal("2.75"), Decimal("11.00"))
    assert "costed at the highest" in rate.why
    code, out, err = invoke(str(spec), "--trace", str(EXPORT), "--csv", "-")
    assert code == 0
    assert "warning: deployment 'gpt-4o': deployed in 2 accounts with different prices" in err
    row = next(r for r in csv_rows(out) if r["row"] == "usage" and r["month"] == "2025-02")
    assert Decimal(row["cost"]) == (100_000 * Decimal("2.75") + 50_000 * Decimal("11.00")) / M


def test_a_pool_is_costed_at_its_dearest_blended_price_as_the_cost_queries_are(
    tmp_path: Path,
) -> None:
    """A pool whose accounts differ in both prices, one dearer for input and one for output:
    the dearer at the spec's prompt share (0.75·4 + 0.25·20 = 8 against 0.75·5 + 0.25·10 =
    6.25 per 1M) is the price, in `usage` and in the workbook's cost table alike. Comparing
    the input price first once costed it at the cheaper account."""
    text = SPEC.read_text(encoding="utf-8")
    second = (
        "  - name: secondary\n"
        "    location: eastus2\n"
        "    deployments:\n"
        '      - { name: gpt-4o, model: gpt-4o, version: "2024-11-20", sku: GlobalStandard, '
        "capacity: 50 }\n"
    )
    prices = (
        "pricing:\n"
        "  prices:\n"
        '    - { model: gpt-4o, version: "2024-11-20", deploymentType: Global, '
        "region: swedencentral, input: 5, output: 10 }\n"
        '    - { model: gpt-4o, version: "2024-11-20", deploymentType: Global, '
        "region: eastus2, input: 4, output: 20 }\n"
    )
    spec = tmp_path / "pool.yaml"
    spec.write_text(text.replace("\napi:", second + "\n" + prices + "\napi:", 1), encoding="utf-8")
    gateway = compile_path(spec).gateway
    rate = usage.rates(gateway)["gpt-4o"]
    assert rate.price is not None
    assert (rate.price.input, rate.price.output) == (Decimal(4), Decimal(20))
    workbook = {d.deployment: d.price for d in cost_plan(gateway, []).deployments}
    assert workbook["gpt-4o"] == rate.price


def test_usage_takes_a_prices_file_like_every_command_that_builds_the_model(
    tmp_path: Path,
) -> None:
    table = {
        "currency": "USD",
        "prices": [
            {"model": "gpt-4o", "deploymentType": "Global", "input": "1.00", "output": "2.00"},
            {"model": "gpt-4o-mini", "deploymentType": "Global", "input": "1.00", "output": "2.00"},
        ],
    }
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps(table), encoding="utf-8")
    code, out, err = invoke(
        str(SPEC), "--trace", str(EXPORT), "--csv", "-", "--prices", str(prices)
    )
    assert code == 0, err
    row = next(r for r in csv_rows(out) if r["row"] == "usage" and r["month"] == "2025-02")
    assert row["deployment"] == "gpt-4o"
    tokens = int(row["prompt_tokens"]), int(row["completion_tokens"])
    assert Decimal(row["cost"]) == (tokens[0] * 1 + tokens[1] * 2) / Decimal(M)


def test_text_cells_cannot_break_a_csv_row_or_a_markdown_table(tmp_path: Path) -> None:
    """A subscription id is text from the export: a carriage return, a pipe, markup. The CSV
    row stays one row (read back equal) and the Markdown cell stays one cell, escaped as
    every other tokengate Markdown (`render.markdown_text`)."""
    export = tmp_path / "odd.csv"
    lines = EXPORT.read_text(encoding="utf-8").splitlines()
    header, first = lines[0], lines[1]
    column = header.split(",").index("ApimSubscriptionId")
    cells = first.split(",")
    cells[column] = '"a|b\rz<x>*`"'
    export.write_text(header + "\n" + ",".join(cells) + "\n", encoding="utf-8")
    code, out, err = invoke(str(SPEC), "--trace", str(export), "--csv", "-")
    assert code == 0, err
    usage_rows = [r for r in csv_rows(out) if r["row"] == "usage"]
    assert [r["consumer"] for r in usage_rows] == ["a|b\rz<x>*`"]
    code, out, err = invoke(str(SPEC), "--trace", str(export), "--markdown", "-")
    assert code == 0, err
    cells = [x for x in out.splitlines() if "a\\|b" in x]  # the line and its consumer total
    assert len(cells) == 2
    assert "\r" not in out
    assert all("a\\|b z&lt;x&gt;\\*\\` |" in line for line in cells)


def test_an_export_whose_name_is_not_utf8_is_named_not_a_traceback(tmp_path: Path) -> None:
    """The export's name goes into the Markdown heading; bytes that are not UTF-8 print as
    `\\xff` (`load.display_path`), as in every finding, instead of a UnicodeEncodeError."""
    export = tmp_path / os.fsdecode(b"bad\xffname.csv")
    export.write_bytes(EXPORT.read_bytes())
    code, out, err = invoke(str(SPEC), "--trace", str(export), "--markdown", "-")
    assert code == 0, err
    assert "bad\\\\xffname.csv" in out  # the backslash escaped for Markdown


def test_aggregate_reads_through_the_simulate_reader() -> None:
    """One reader for traces and exports: `usage` adds only the columns it needs."""
    gateway = compile_path(SPEC).gateway
    workload = read_trace(EXPORT, usage.NEEDS)
    figures = usage.aggregate(gateway, workload)
    assert figures.requests == len(workload) == 6
    assert [line.month for line in figures.lines] == ["2025-01"] + ["2025-02"] * 5
    assert figures.has_cached


def test_simulate_prices_the_allowed_requests_by_hand() -> None:
    """The lab replay of la-export.csv (tests/test_simulate_traces.py works out which requests
    are refused): team-a's allowed requests have 4,000 prompt and 1,400 completion tokens,
    team-b's 950 and 300, all on gpt-4o 2024-11-20 GlobalStandard."""
    result = CliRunner().invoke(
        main, ["simulate", "--trace", str(SIMULATE_EXPORT), "--format", "json"]
    )
    assert result.exit_code == 0, result.stderr
    costs = json.loads(result.stdout)["costs"]
    by_consumer = {row["consumer"]: row for row in costs["rows"]}
    team_a = (4_000 * GPT_4O["input"] + 1_400 * GPT_4O["output"]) / M
    team_b = (950 * GPT_4O["input"] + 300 * GPT_4O["output"]) / M
    assert (by_consumer["team-a"]["promptTokens"], by_consumer["team-a"]["completionTokens"]) == (
        4_000,
        1_400,
    )
    assert Decimal(by_consumer["team-a"]["cost"]) == team_a == Decimal("0.024")
    assert Decimal(by_consumer["team-b"]["cost"]) == team_b == Decimal("0.005375")
    assert Decimal(costs["total"]) == team_a + team_b
    assert costs["currency"] == "USD" and costs["pricesEffective"] == "2026-08-11"
    # Every request of the export, refused ones too: 5,550 prompt and 2,000 completion tokens.
    assert costs["measuredPromptShare"] == "0.7350"  # 5,550 / 7,550 = 0.73509..., rounded down
    assert costs["specPromptShare"] == "0.75"


def test_simulate_names_deployments_without_a_price() -> None:
    result = CliRunner().invoke(
        main, ["simulate", str(SPEC), "--synthetic", "--duration", "10m"], terminal_width=100
    )
    assert result.exit_code == 0, result.stderr
    table = result.stdout.split("Cost of the allowed requests", 1)[1].split("\n\n", 1)[0]
    assert "  reserved: no price (GlobalProvisionedManaged is provisioned throughput" in table
    assert "team-a    reserved    gpt-4o 2024-11-20 GlobalProvisionedManaged" in table
    rows = [line.split() for line in table.splitlines() if line.startswith("  team-")]
    assert {row[1] for row in rows} == {"gpt-4o", "mini", "reserved"}
    assert "measured prompt share 0." in table


def test_the_docs_show_real_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = (REPO / "docs" / "usage.md").read_text(encoding="utf-8")
    code, out, err = invoke(str(SPEC), "--trace", str(EXPORT), "--csv", "-")
    assert code == 0
    shown_csv = docs.split("### The CSV", 1)[1].split("```\n", 1)[1].split("```", 1)[0]
    assert set(shown_csv.splitlines()) <= set(out.splitlines())
    markdown = invoke(str(SPEC), "--trace", str(EXPORT))[1]
    shown_rows = [line for line in docs.splitlines() if line.startswith("| 2025-")]
    assert len(shown_rows) == 6 and set(shown_rows) <= set(markdown.splitlines())
    console = docs.split("```console\n", 1)[1].split("```", 1)[0].splitlines()
    command, *printed = console
    args = command.removeprefix("$ tokengate usage ").split()
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke(*(str(REPO / a) if a.startswith("tests/") else a for a in args))
    assert (code, err.splitlines()) == (0, printed)


def test_a_json_export_gives_the_same_figures(tmp_path: Path) -> None:
    """Log Analytics saves results as JSON too: numbers and booleans as JSON values."""
    rows = list(csv.DictReader(io.StringIO(EXPORT.read_text(encoding="utf-8"))))
    items = []
    for row in rows:
        item: dict[str, object] = dict(row)
        for column in ("PromptTokens", "CompletionTokens", "TotalTokens", "TotalTime"):
            item[column] = int(row[column])
        item["IsStreamCompletion"] = row["IsStreamCompletion"] == "True"
        items.append(item)
    export = tmp_path / "export.json"
    export.write_text(json.dumps(items), encoding="utf-8")
    from_csv = invoke(str(SPEC), "--trace", str(EXPORT), "--csv", "-")[1]
    code, from_json, _ = invoke(str(SPEC), "--trace", str(export), "--csv", "-")
    assert code == 0
    assert from_json == from_csv


def test_a_model_the_price_table_lacks_has_no_price(tmp_path: Path) -> None:
    spec = tmp_path / "old-model.yaml"
    spec.write_text(
        SPEC.read_text(encoding="utf-8").replace(
            'model: gpt-4o-mini, version: "2024-07-18"', 'model: gpt-35-turbo, version: "0613"'
        ),
        encoding="utf-8",
    )
    code, out, err = invoke(str(spec), "--trace", str(EXPORT), "--csv", "-")
    assert code == 0
    assert (
        "warning: deployment 'mini': no price (the price table of 2026-08-11 has no Global price "
        "for gpt-35-turbo 0613); its 1,200,000 tokens are counted, their cost is not"
    ) in err.splitlines()
    mini = next(r for r in csv_rows(out) if r["row"] == "usage" and r["deployment"] == "mini")
    assert (mini["cost"], mini["unpriced_tokens"]) == ("no price", "1200000")
