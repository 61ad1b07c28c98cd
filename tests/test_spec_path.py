"""What the SPEC argument can be besides a spec file: a FIFO, a device, a directory, a file too
large, a name that is not UTF-8. Each gets one clear line and exit 2, quickly, never a traceback
and never a hang (a FIFO blocks whoever opens it until a writer comes)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main
from generator.spec_size import MAX_SPEC_BYTES, max_list_items

LAB = Path(__file__).parent / "fixtures" / "specs" / "good" / "lab.yaml"


def validate(spec: str | Path) -> tuple[int, str, float]:
    started = time.perf_counter()
    result = CliRunner().invoke(main, ["validate", os.fsdecode(spec)])
    elapsed = time.perf_counter() - started
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result.exit_code, result.output, elapsed


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    code, output, elapsed = validate(fifo)
    assert code == 2
    assert "is a named pipe (FIFO), not a spec file" in output
    assert elapsed < 5


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_endless_device_is_refused() -> None:
    code, output, elapsed = validate("/dev/zero")
    assert code == 2
    assert output.strip() == "/dev/zero: is a character device, not a spec file"
    assert elapsed < 5


def test_directory_is_refused(tmp_path: Path) -> None:
    code, output, _ = validate(tmp_path)
    assert code == 2
    assert "is a directory" in output


def test_directory_is_refused_by_the_loader_too(tmp_path: Path) -> None:
    """Callers other than the CLI (deploy, diff, benchmarks) go through load_file."""
    from generator.errors import TokengateError
    from generator.load import load_file

    with pytest.raises(TokengateError, match="is a directory, not a spec file"):
        load_file(tmp_path)


def test_file_over_the_size_bound_is_refused_before_reading(tmp_path: Path) -> None:
    spec = tmp_path / "big.yaml"
    with spec.open("wb") as handle:
        handle.truncate(MAX_SPEC_BYTES + 1)  # sparse: the size is there, the bytes are not read
    code, output, elapsed = validate(spec)
    assert code == 2
    assert (
        "big.yaml:1:1: TG005 the spec is 32.0 MiB; tokengate reads specs of up to 32 MiB" in output
    )
    assert elapsed < 5


def test_million_item_list_is_refused_fast(tmp_path: Path) -> None:
    """Measured before the bound: 13 s and 665 MB to build the nodes, then a schema error."""
    spec = tmp_path / "huge.yaml"
    items = ",".join(["1"] * 1_000_000)
    spec.write_text(LAB.read_text(encoding="utf-8") + f"\nextra: [{items}]\n", encoding="utf-8")
    code, output, elapsed = validate(spec)
    assert code == 2
    assert f"TG005 'extra' has more than {max_list_items():,} items" in output
    assert elapsed < 5, f"{elapsed:.1f} s"


def test_largest_list_bound_is_the_schema_consumer_bound() -> None:
    """APIM Premium holds 75,000 subscriptions (Learn: "Azure API Management limits")."""
    assert max_list_items() == 75_000


@pytest.mark.skipif(sys.platform != "linux", reason="needs a file system that takes any bytes")
def test_file_name_that_is_not_utf8_prints(tmp_path: Path) -> None:
    name = os.fsencode(tmp_path) + b"/\xff\x1b[2Jspec.yaml"
    with open(name, "wb") as handle:
        handle.write(LAB.read_bytes())
    code, output, _ = validate(os.fsdecode(name))
    assert code == 0
    assert output.rstrip().endswith("\\xff\\x1b[2Jspec.yaml: valid")


@pytest.mark.skipif(sys.platform != "linux", reason="needs a file system that takes any bytes")
def test_findings_in_a_file_that_is_not_utf8_named_print(tmp_path: Path) -> None:
    name = os.fsencode(tmp_path) + b"/bad\xfe.yaml"
    with open(name, "wb") as handle:
        handle.write(LAB.read_bytes().replace(b"name: lab-gateway", b"name: Lab"))
    code, output, _ = validate(os.fsdecode(name))
    assert code == 2
    assert "bad\\xfe.yaml:10:7: TG013 'name'" in output
