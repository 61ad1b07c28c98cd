"""ARM and APIM limits are checked on the rendered output, before anything is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import GOOD_SPECS, compiled, nodes_of_type, parse_bicep

from generator.errors import SpecInvalid
from generator.limits import footprints
from generator.pipeline import compile_path


def loop_lengths_from_parameters(files: dict[str, Any]) -> dict[str, int]:
    parameters = json.loads(files["main.parameters.json"].content)["parameters"]
    accounts = parameters["openAIAccounts"]["value"]
    return {
        "openAIAccounts": len(accounts),
        "backends": len(accounts),
        "deployments": max(len(a["deployments"]) for a in accounts),
        "consumers": len(parameters["consumers"]["value"]),
    }


@pytest.mark.parametrize("spec", GOOD_SPECS, ids=lambda p: p.stem)
def test_resource_count_agrees_with_the_bicep_grammar(spec: Path) -> None:
    """The regex-based counter in generator.limits counts what the real parser sees."""
    result = compiled(spec)
    lengths = loop_lengths_from_parameters(result.files)
    counted = footprints(result.gateway, result.files)
    for path, fp in counted.items():
        tree = parse_bicep(result.files[path].content)
        expected = 0
        for kind in ("resource_declaration", "module_declaration"):
            for node in nodes_of_type(tree, kind):
                if any(child.type == "existing" for child in node.children):
                    continue
                loops = [c for c in node.children if c.type == "for_statement"]
                if loops:
                    source = [c for c in loops[0].children if c.type == "identifier"][-1]
                    expected += lengths[source.text.decode()]
                else:
                    expected += 1
        assert fp.resources == expected, path
        assert fp.parameters == len(nodes_of_type(tree, "parameter_declaration")), path
        assert fp.outputs == len(nodes_of_type(tree, "output_declaration")), path


def spec_with_consumers(tmp_path: Path, count: int, *, overrides: bool) -> Path:
    data: dict[str, Any] = yaml.safe_load((GOOD_SPECS[0].parent / "lab.yaml").read_text())
    data["openai"][0]["deployments"][0]["capacity"] = 30_000
    data["tokenLimit"] = {"tokensPerMinute": 1}
    data["consumers"] = [
        {"name": f"consumer-{i:05d}", **({"tokensPerMinute": 1} if overrides else {})}
        for i in range(count)
    ]
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def rule_ids(error: SpecInvalid) -> set[str]:
    return {f.rule_id for f in error.findings}


def test_too_many_resources_in_one_template(tmp_path: Path) -> None:
    with pytest.raises(SpecInvalid) as raised:
        compile_path(spec_with_consumers(tmp_path, 800, overrides=False))
    assert rule_ids(raised.value) == {"TG121"}
    assert "modules/api.bicep would have 804 resources" in raised.value.message


def test_just_under_the_resource_limit(tmp_path: Path) -> None:
    result = compile_path(spec_with_consumers(tmp_path, 796, overrides=False))
    assert footprints(result.gateway, result.files)["modules/api.bicep"].resources == 800


def test_policy_too_large_for_load_text_content(tmp_path: Path) -> None:
    with pytest.raises(SpecInvalid) as raised:
        compile_path(spec_with_consumers(tmp_path, 400, overrides=True))
    assert "TG125" in rule_ids(raised.value)


def test_policy_over_apim_limit(tmp_path: Path) -> None:
    with pytest.raises(SpecInvalid) as raised:
        compile_path(spec_with_consumers(tmp_path, 700, overrides=True))
    assert "TG120" in rule_ids(raised.value)
    assert "262,144 bytes" in raised.value.message
