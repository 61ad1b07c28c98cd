"""Nesting depth is measured by tokengate, so the finding is the same whatever libyaml does.

PyYAML 6.0.4 bundles libyaml 0.2.6, which refuses depth 1000 with its own syntax error
("exceeded maximum nesting depth"); older builds and the pure-Python loader have no limit and
recurse. Either way the user must see TG004 at the place the nesting goes too deep.
"""

from __future__ import annotations

import pytest
import yaml

from generator import load
from generator.errors import SpecInvalid

FLOW_DEEP = "name: x\nitems: " + "[" * 5000 + "]" * 5000 + "\n"
BLOCK_DEEP = "".join("  " * level + f"k{level}:\n" for level in range(200)) + "  " * 200 + "v\n"
LOADERS = [yaml.SafeLoader, getattr(yaml, "CSafeLoader", yaml.SafeLoader)]


def _finding(text: str) -> tuple[int, int, str]:
    with pytest.raises(SpecInvalid) as caught:
        load.load_text(text, "spec.yaml")
    (finding,) = caught.value.findings
    return finding.line, finding.column, finding.rule_id


@pytest.mark.parametrize("loader", LOADERS, ids=lambda loader: loader.__name__)
@pytest.mark.parametrize("text", [FLOW_DEEP, BLOCK_DEEP], ids=["flow", "block"])
def test_too_deep_is_tg004_with_any_loader(
    text: str, loader: type[yaml.SafeLoader], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load, "_LOADER", loader)
    line, column, rule_id = _finding(text)
    assert rule_id == "TG004"
    assert (line, column) != (1, 1), "the finding points where the nesting goes too deep"


def test_exactly_max_depth_loads() -> None:
    depth = load.MAX_DEPTH
    text = "a: " + "[" * (depth - 1) + "]" * (depth - 1) + "\n"
    assert load.load_text(text, "spec.yaml").data["a"] is not None


def test_one_more_than_max_depth_is_refused() -> None:
    text = "a: " + "[" * load.MAX_DEPTH + "]" * load.MAX_DEPTH + "\n"
    assert _finding(text)[2] == "TG004"


def test_quoted_brackets_do_not_count() -> None:
    """The cheap bound is loose on quoted brackets; the exact scan then lets the spec through."""
    text = "a: '" + "[" * 500 + "'\n"
    assert load.load_text(text, "spec.yaml").data == {"a": "[" * 500}
