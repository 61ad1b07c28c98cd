"""The CLI against hostile mutations of the lab spec: random text with control characters, policy
expressions, wrong types, huge and non-finite numbers, unknown keys. Whatever the spec, the
answer is exit 0 (valid) or 2 (located findings), never a traceback."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.cli import main

LAB = yaml.safe_load(
    (Path(__file__).parent / "fixtures" / "specs" / "good" / "lab.yaml").read_text(encoding="utf-8")
)
FINDING = re.compile(r"^(?P<file>[^:]+):\d+:\d+: TG\d{3} \S")

Path_ = tuple[str | int, ...]


def _paths(value: Any, path: Path_ = ()) -> list[Path_]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


PATHS = [p for p in _paths(LAB) if p]

HOSTILE_TEXT = st.sampled_from(
    [
        "team-a\n",
        "@(context.Request.IpAddress)",
        "@{ return 1; }",
        "{{named-value}}",
        "\u202eevil",
        "a\u2028b",
        "x\x00y",
        "</policies>",
        "' + '${x}",
        "Headers.GetValueOrDefault(x",
        "a|b<script>",
        "",
        " ",
        "swedencentral\n",
    ]
)
VALUES = st.one_of(
    HOSTILE_TEXT,
    st.text(st.characters(exclude_categories=["Cs"]), max_size=12),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


@st.composite
def hostile_specs(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(yaml.safe_dump(LAB))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(PATHS))
        parent: Any = data
        try:
            for part in path[:-1]:
                parent = parent[part]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation replaced a parent
        if not isinstance(parent, (dict, list)):
            continue
        if draw(st.booleans()) and isinstance(parent, dict):
            parent[draw(st.one_of(HOSTILE_TEXT, st.text(max_size=8)))] = draw(VALUES)
        else:
            try:
                parent[path[-1]] = draw(VALUES)  # type: ignore[index]
            except (IndexError, TypeError):
                continue
    return data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_specs())
def test_hostile_specs_exit_0_or_2_never_a_traceback(data: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "hostile.yaml"
        spec.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        result = CliRunner().invoke(main, ["validate", str(spec)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 2), result.output
    lines = result.output.rstrip("\n").split("\n")
    if result.exit_code == 0:
        assert lines[-1].endswith("hostile.yaml: valid"), result.output
        return
    assert re.fullmatch(r"\d+ error\(s\), \d+ warning\(s\)", lines[-1]), result.output
    for line in lines[:-1]:
        match = FINDING.match(line)
        assert match, f"not file:line:col: TGxxx message: {line!r}"
        assert match["file"].endswith("hostile.yaml")
