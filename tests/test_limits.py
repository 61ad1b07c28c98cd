"""ARM and APIM limits are checked on the rendered output, before anything is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import GOOD_SPECS, compiled, node_text, nodes_of_type, parse_bicep

from generator import pipeline
from generator.errors import SpecInvalid
from generator.findings import Severity
from generator.limits import footprints, limit_findings
from generator.limits import loop_lengths as model_loop_lengths
from generator.pipeline import compile_path
from generator.render import RenderedFile
from generator.verify.arm_limits import loops
from generator.verify.bicep import parse
from generator.verify.policy import policy_findings


def loop_lengths_from_parameters(files: dict[str, Any]) -> dict[str, int]:
    """Loop lengths read back from the data files, independently of generator.limits."""
    parameters = json.loads(files["main.parameters.json"].content)["parameters"]
    accounts = parameters["openAIAccounts"]["value"]
    batches = [json.loads(f.content) for p, f in files.items() if p.startswith("subscriptions/")]
    return {
        "openAIAccounts": len(accounts),
        "backends": len(accounts),
        "deployments": max(len(a["deployments"]) for a in accounts),
        "subscriptions": max((len(b) for b in batches), default=0),
    }


@pytest.mark.parametrize("spec", GOOD_SPECS, ids=lambda p: p.stem)
def test_resource_count_agrees_with_the_bicep_grammar(spec: Path) -> None:
    """The limit count (generator.verify.arm_limits, shared by render and verify) counts what the
    Bicep grammar declares, with loop lengths read independently from the data files."""
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
                    expected += lengths[node_text(source)]
                else:
                    expected += 1
        assert fp.resources == expected, path
        assert fp.parameters == len(nodes_of_type(tree, "parameter_declaration")), path
        assert fp.outputs == len(nodes_of_type(tree, "output_declaration")), path


def lab_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((GOOD_SPECS[0].parent / "lab.yaml").read_text())
    data["openai"][0]["deployments"][0]["capacity"] = 30_000
    return data


def write_spec(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def rule_ids(error: SpecInvalid) -> set[str]:
    """The errors that refused the spec (the lab's unbounded dimensions also warn, TG150)."""
    return {f.rule_id for f in error.findings if f.severity == Severity.ERROR}


def test_many_consumers_are_batched_within_limits(tmp_path: Path) -> None:
    data = lab_data()
    data["consumers"] = [{"name": f"consumer-{i:05d}"} for i in range(1_700)]
    result = compile_path(write_spec(tmp_path, data))
    batches = sorted(p for p in result.files if p.startswith("subscriptions/"))
    assert len(batches) == 8
    sizes = [len(json.loads(result.files[p].content)) for p in batches]
    assert sum(sizes) == 1_700 and max(sizes) <= 790
    for fp in footprints(result.gateway, result.files).values():
        assert fp.resources <= 800


def test_many_own_budgets_become_generated_tiers(tmp_path: Path) -> None:
    data = lab_data()
    data["consumers"] = [
        {"name": f"c-{i:04d}", "tokensPerMinute": 1_000 * (1 + i % 3)} for i in range(150)
    ]
    result = compile_path(write_spec(tmp_path, data))
    generated = [p.name for p in result.gateway.products if p.generated]
    assert generated == [
        "tokengate-tier-tpm1000-q100000-daily",
        "tokengate-tier-tpm2000-q100000-daily",
        "tokengate-tier-tpm3000-q100000-daily",
    ]
    assert result.gateway.branch_consumers == ()
    policy = result.files["policies/api-azure-openai.xml"].content
    assert "consumer/" not in policy, "no per-consumer branches once consumers are tiered"


def test_resource_limit_is_enforced_on_any_template(tmp_path: Path) -> None:
    result = compile_path(None)
    crowded = "\n".join(
        f"resource r{i} 'Microsoft.Insights/components@2020-02-02' = {{\n  name: 'r{i}'\n}}"
        for i in range(801)
    )
    files = {
        **result.files,
        "modules/crowded.bicep": RenderedFile("modules/crowded.bicep", crowded),
    }
    findings = limit_findings(result.spec, result.gateway, files)
    assert [f.rule_id for f in findings] == ["TG121"]
    assert "modules/crowded.bicep would have 801 resources" in findings[0].message


def test_policy_too_large_for_load_text_content(tmp_path: Path) -> None:
    data = lab_data()
    data["tokenLimit"]["counterKey"] = "@(" + " + ".join(["context.Request.IpAddress"] * 36) + ")"
    data["consumers"] = [{"name": f"c-{i:03d}", "tokensPerMinute": 10 + i} for i in range(100)]
    with pytest.raises(SpecInvalid) as raised:
        compile_path(write_spec(tmp_path, data))
    assert rule_ids(raised.value) == {"TG125"}


def test_product_count_over_the_tier_limit(tmp_path: Path) -> None:
    data = lab_data()
    data["products"] = [{"name": f"p{i}", "tokensPerMinute": 10} for i in range(201)]
    with pytest.raises(SpecInvalid) as raised:
        compile_path(write_spec(tmp_path, data))
    assert rule_ids(raised.value) == {"TG130"}
    assert "201 products: the BasicV2 tier allows at most 200" in raised.value.message


def test_subscription_count_over_the_tier_limit(tmp_path: Path) -> None:
    data = lab_data()
    data["apim"]["sku"] = "Developer"
    data["consumers"] = [{"name": f"c{i}"} for i in range(10_001)]
    with pytest.raises(SpecInvalid) as raised:
        compile_path(write_spec(tmp_path, data))
    assert rule_ids(raised.value) == {"TG131"}
    assert "10,001 subscriptions: the Developer tier allows at most 10,000" in raised.value.message


@pytest.mark.parametrize("spec", GOOD_SPECS, ids=lambda p: p.stem)
def test_the_model_knows_every_template_loop(spec: Path) -> None:
    """Every `for` loop of every rendered template (resources, modules) has a length from the
    model, so no loop is counted by a guess (TG126 would say which one is not)."""
    result = compiled(spec)
    texts = {path: f.content for path, f in result.files.items()}
    parsed = {path: parse(path, text) for path, text in texts.items() if path.endswith(".bicep")}
    sources = {loop.source for loop in loops(parsed)}
    assert sources, "the templates loop over accounts, deployments, backends"
    assert sources <= set(model_loop_lengths(result.gateway))


def test_a_loop_the_model_does_not_know_is_a_finding_not_a_crash() -> None:
    result = compile_path(None)
    looped = (
        "param mystery array\n"
        "resource r 'Microsoft.Insights/components@2020-02-02' = [for item in mystery: {\n"
        "  name: item\n}]\n"
    )
    files = {**result.files, "modules/looped.bicep": RenderedFile("modules/looped.bicep", looped)}
    findings = limit_findings(result.spec, result.gateway, files)
    assert [f.rule_id for f in findings] == ["TG126"]
    assert "modules/looped.bicep:2:70 loops over 'mystery'" in findings[0].message


def test_tier_limits_are_checked_before_rendering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spec over its tier's product limit is refused from the model: render never runs."""
    data = lab_data()
    data["products"] = [{"name": f"p{i}", "tokensPerMinute": 10} for i in range(201)]

    def no_render(gateway: object) -> None:
        raise AssertionError("rendered a spec its tier refuses")

    monkeypatch.setattr(pipeline, "render", no_render)
    with pytest.raises(SpecInvalid) as raised:
        compile_path(write_spec(tmp_path, data))
    assert rule_ids(raised.value) == {"TG130"}


def test_render_and_verify_refuse_the_same_oversized_policy() -> None:
    """APIM accepts policy documents up to 256 KiB (Learn: "API Management limits", policy
    document size); render reports it on the spec (TG120), verify on the file (TG218)."""
    result = compile_path(None)
    path = "policies/api-azure-openai.xml"
    original = result.files[path].content
    padding = "<!-- " + "x" * (256 * 1024 - len(original.encode("utf-8")) - 10) + " -->\n"
    exactly = original.replace("<policies>", padding + "<policies>", 1)
    assert len(exactly.encode("utf-8")) == 256 * 1024
    over = exactly.replace("<policies>", " <policies>", 1)
    for text, expected in ((exactly, set()), (over, {"TG120"})):
        files = {**result.files, path: RenderedFile(path, text)}
        found = {f.rule_id for f in limit_findings(result.spec, result.gateway, files)}
        assert found - {"TG125"} == expected
        verified = {f.rule_id for f in policy_findings(path, text)}
        assert verified == ({"TG218"} if expected else set())
