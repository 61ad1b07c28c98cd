"""`--prices FILE` on the commands that build the model, and `tokengate prices show|import`:
in-process with CliRunner, and once as a real process."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import REPO, run_tokengate

from generator import pricing
from generator.cli import main
from generator.pipeline import compile_path
from generator.retail_prices import import_pages, read_price_file, table_json

FIXTURES = Path(__file__).parent / "fixtures"
LAB = str(FIXTURES / "specs" / "good" / "lab.yaml")
PAGE_1 = FIXTURES / "prices" / "retail-page-1.json"
PAGE_2 = FIXTURES / "prices" / "retail-page-2.json"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _bad_file(tmp_path: Path) -> Path:
    path = tmp_path / "bad-prices.json"
    path.write_text('{"Items": [{"type": "Consumption", "skuName": "gpt 4o 1120 Inp glbl"}]}')
    return path


def _commands(tmp_path: Path) -> list[list[str]]:
    return [
        ["validate", LAB],
        ["render", LAB, "--out", str(tmp_path / "out")],
        ["diff", LAB, LAB],
        ["simulate", LAB, "--synthetic"],
        ["deploy", LAB, "--dry-run"],
        ["up", LAB, "--dry-run"],
        ["down", LAB, "--dry-run"],
        ["emulate", LAB],
        ["smoke", LAB, "--url", "http://127.0.0.1:9"],
        ["prices", "show", LAB],
    ]


COMMANDS = ["validate", "render", "diff", "simulate", "deploy", "up", "down", "emulate", "smoke"]


@pytest.mark.parametrize("command", [*COMMANDS, "prices show"])
def test_every_command_that_builds_the_model_takes_prices(command: str) -> None:
    code, out, _ = invoke(*command.split(), "--help")
    assert code == 0
    assert "--prices FILE" in out


@pytest.mark.parametrize("index", range(10))
def test_a_bad_prices_file_is_exit_2_before_anything_runs(tmp_path: Path, index: int) -> None:
    args = _commands(tmp_path)[index]
    bad = _bad_file(tmp_path)
    result = CliRunner().invoke(main, [*args, "--prices", str(bad)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"Invalid value for '--prices': {bad}: Items[0].currencyCode: expected a string" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_missing_prices_file_is_exit_2(tmp_path: Path) -> None:
    code, _, err = invoke("validate", LAB, "--prices", str(tmp_path / "nope.json"))
    assert code == 2
    assert f"{tmp_path / 'nope.json'}: No such file or directory" in err


@pytest.mark.parametrize("path", [PAGE_1, REPO / "prices" / "azure-openai.json"])
def test_validate_and_render_accept_both_formats(tmp_path: Path, path: Path) -> None:
    code, out, _ = invoke("validate", LAB, "--prices", str(path))
    assert (code, out) == (0, f"{LAB}: valid\n")
    code, _, _ = invoke("render", LAB, "--out", str(tmp_path / "out"), "--prices", str(path))
    assert code == 0
    assert (tmp_path / "out" / "main.bicep").is_file()


def test_diff_prices_both_sides_with_the_file() -> None:
    code, _, _ = invoke("diff", LAB, LAB, "--prices", str(PAGE_1))
    assert code == 0


def test_the_model_gets_the_table() -> None:
    table = read_price_file(PAGE_1)
    assert compile_path(Path(LAB), prices=table).gateway.prices == table
    assert compile_path(Path(LAB)).gateway.prices == pricing.shipped()


def _rows(output: str) -> list[tuple[str, ...]]:
    """`prices show` without its two header lines (source, date), each row split in cells."""
    return [tuple(line.split()) for line in output.splitlines()[2:]]


def test_prices_show_prints_the_table_in_effect() -> None:
    code, out, _ = invoke("prices", "show", LAB)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"prices: {pricing.shipped().source}"
    assert lines[1] == "effective: 2026-08-11, currency: USD, per 1M tokens"
    assert lines[2].split() == [
        "model",
        "version",
        "type",
        "region",
        "input",
        "cached",
        "output",
        "currency",
        "from",
    ]
    assert len(_rows(out)) == 1 + len(pricing.shipped().prices)
    row = ["gpt-4o", "2024-11-20", "Global", "-", "2.50", "1.25", "10.00", "USD", "shipped"]
    assert row in [line.split() for line in lines]


def test_prices_show_with_a_page_prints_the_page_s_prices() -> None:
    code, out, _ = invoke("prices", "show", LAB, "--prices", str(PAGE_1))
    assert code == 0
    rows = [list(row) for row in _rows(out)[1:]]
    assert rows == [
        ["gpt-4o", "2024-11-20", "Global", "-", "2.50", "1.25", "10.00", "USD", "--prices"],
        ["gpt-4o", "2024-11-20", "DataZone", "-", "2.75", "1.375", "11.00", "USD", "--prices"],
        [
            "gpt-4o",
            "2024-11-20",
            "DataZone",
            "westeurope",
            "3.025",
            "1.5125",
            "12.10",
            "USD",
            "--prices",
        ],
        ["gpt-4o", "2024-11-20", "Regional", "-", "2.75", "1.375", "11.00", "USD", "--prices"],
    ]
    assert out.splitlines()[1] == "effective: 2024-11-20, currency: USD, per 1M tokens"


def test_prices_import_writes_the_own_format_and_it_prices_the_same(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "prices.json"
    code, out, err = invoke("prices", "import", str(PAGE_2), str(PAGE_1), "-o", str(target))
    assert code == 0
    assert out == ""
    assert err.startswith("36 items: 28 token prices used; 1 audio; 2 batch;")
    assert f"wrote {target} (6 prices)" in err
    assert target.read_text(encoding="utf-8") == table_json(import_pages([PAGE_2, PAGE_1]).table)
    _, from_import, _ = invoke("prices", "show", LAB, "--prices", str(target))
    _, from_page, _ = invoke("prices", "show", LAB, "--prices", str(PAGE_1))
    _, from_pages, _ = invoke("prices", "show", LAB, "--prices", str(PAGE_2))
    assert set(_rows(from_page)[1:]) | set(_rows(from_pages)[1:]) == set(_rows(from_import)[1:])


def test_prices_import_to_standard_output_and_bad_pages(tmp_path: Path) -> None:
    code, out, _ = invoke("prices", "import", str(PAGE_1))
    assert code == 0
    assert out == table_json(import_pages([PAGE_1]).table)
    code, _, err = invoke("prices", "import", str(_bad_file(tmp_path)))
    assert code == 2
    assert err.startswith(f"{tmp_path / 'bad-prices.json'}: Items[0].currencyCode")
    code, _, err = invoke("prices", "import")
    assert code == 2
    assert "Missing argument 'PAGES...'" in err


def test_real_subprocess_prices(tmp_path: Path) -> None:
    """The entry point in its own process: --prices reaches the model, a bad file is exit 2."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_tokengate(*args, cwd=tmp_path)

    shown = run("prices", "show", LAB, "--prices", str(PAGE_1))
    assert shown.returncode == 0, shown.stderr
    assert list(_rows(shown.stdout)[1][:7]) == [
        "gpt-4o",
        "2024-11-20",
        "Global",
        "-",
        "2.50",
        "1.25",
        "10.00",
    ]
    bad = _bad_file(tmp_path)
    rendered = run("render", LAB, "--out", "out", "--prices", bad.name)
    assert rendered.returncode == 2
    assert "Invalid value for '--prices': bad-prices.json: Items[0]" in rendered.stderr
    assert "Traceback" not in rendered.stderr
    assert not (tmp_path / "out").exists()
