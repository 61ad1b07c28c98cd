"""Rendered output of every good fixture: snapshots laid out as the output tree (one file per
output file at its path, `__snapshots__/test_render/test_snapshot/<fixture>/...`), well-formed
Bicep by the real grammar, resolvable paths, well-formed policy XML, determinism."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath

import pytest
import tree_sitter
from support import (
    GOOD_SPECS,
    TreeSnapshot,
    compiled,
    node_text,
    nodes_of_type,
    parse_bicep,
    rendered_files,
    syntax_problems,
)

from generator.model import Gateway, Limit
from generator.pipeline import compile_path
from generator.render import RenderedFile, render

RENDERED = list(rendered_files())
BICEP = [(name, f) for name, f in RENDERED if f.path.endswith(".bicep")]
POLICIES = [(name, f) for name, f in RENDERED if f.path.endswith(".xml")]


def ids(item: tuple[str, RenderedFile]) -> str:
    return f"{item[0]}--{item[1].path.replace('/', '--')}"


@pytest.mark.parametrize("item", RENDERED, ids=ids)
def test_snapshot(item: tuple[str, RenderedFile], tree_snapshot: TreeSnapshot) -> None:
    name, rendered = item
    assert rendered.content == tree_snapshot(f"{name}/{rendered.path}")


#: Where `test_snapshot` keeps each fixture's expected output tree (tests/snapshot_tree.py).
SNAPSHOT_TREE = Path(__file__).with_name("__snapshots__") / "test_render" / test_snapshot.__name__


def test_snapshot_tree_holds_exactly_the_rendered_files() -> None:
    """Syrupy does not report a stray file in a nested snapshot tree when pytest is given paths
    (its unused check goes by the file's stem and folder name), so a file left behind by a
    removed output or fixture is caught here, on every run."""
    expected = {f"{name}/{rendered.path}" for name, rendered in RENDERED}
    stored = {
        path.relative_to(SNAPSHOT_TREE).as_posix()
        for path in SNAPSHOT_TREE.rglob("*")
        if path.is_file()
    }
    stray, missing = sorted(stored - expected), sorted(expected - stored)
    assert not stray, f"stray snapshots, delete them: {stray}"
    assert not missing, f"missing snapshots, run `pytest --snapshot-update`: {missing}"


@pytest.mark.parametrize("spec", GOOD_SPECS, ids=lambda p: p.stem)
def test_output_set_is_complete(spec: Path) -> None:
    files = compiled(spec).files
    for required in (
        "main.bicep",
        "main.parameters.json",
        "bicepconfig.json",
        "modules/apim.bicep",
        "modules/api.bicep",
        "modules/openai.bicep",
    ):
        assert required in files
    gateway = compiled(spec).gateway
    assert ("modules/monitoring.bicep" in files) == gateway.monitoring.log_analytics


@pytest.mark.parametrize("item", RENDERED, ids=ids)
def test_text_hygiene(item: tuple[str, RenderedFile]) -> None:
    """Deterministic, reviewable text: \\n endings, trailing newline, no tabs or trailing blanks."""
    text = item[1].content
    assert "\r" not in text
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert all(line == line.rstrip() for line in text.split("\n")), "trailing whitespace"


@pytest.mark.parametrize("item", BICEP, ids=ids)
def test_bicep_parses_with_real_grammar(item: tuple[str, RenderedFile]) -> None:
    tree = parse_bicep(item[1].content)
    assert syntax_problems(tree) == []
    assert tree.root_node.type == "infrastructure"


@pytest.mark.parametrize("item", BICEP, ids=ids)
def test_bicep_paths_resolve(item: tuple[str, RenderedFile]) -> None:
    """Every `module '…'` and `loadTextContent('…')` path names a file rendered alongside."""
    name, rendered = item
    files = compiled(next(s for s in GOOD_SPECS if s.stem == name)).files
    tree = parse_bicep(rendered.content)
    folder = PurePosixPath(rendered.path).parent
    referenced = []
    for module in nodes_of_type(tree, "module_declaration"):
        path_node = next(c for c in module.children if c.type == "string")
        referenced.append(node_text(path_node).strip("'"))
    for call in nodes_of_type(tree, "call_expression"):
        if call.children[0].text == b"loadTextContent":
            argument = nodes_of_type_in(call, "string")[0]
            referenced.append(node_text(argument).strip("'"))
    for path in referenced:
        target = _normalize(folder / path)
        assert target in files, f"{rendered.path} refers to {path}, which is not rendered"
    if rendered.path == "modules/api.bicep":
        assert any(p.endswith(".xml") for p in referenced), "the API policy is not loaded"


def nodes_of_type_in(node: tree_sitter.Node, kind: str) -> list[tree_sitter.Node]:
    found: list[tree_sitter.Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == kind:
            found.append(current)
        stack.extend(current.children)
    return found


def _normalize(path: PurePosixPath) -> str:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


@pytest.mark.parametrize("item", POLICIES, ids=ids)
def test_policy_xml_structure(item: tuple[str, RenderedFile]) -> None:
    root = ET.fromstring(item[1].content)
    assert root.tag == "policies"
    sections = [child.tag for child in root]
    assert sections == ["inbound", "backend", "outbound", "on-error"]
    for section in root:
        elements = [child for child in section if isinstance(child.tag, str)]
        if section.tag == "backend" and elements[0].tag == "retry":
            # A backend pool's retry loop forwards the request itself, in place of <base />, and
            # sets the backend again first so each attempt is a new pool decision (Azure-Samples/
            # AI-Gateway labs/backend-pool-load-balancing/policy.xml).
            tags = [e.tag for e in elements[0] if isinstance(e.tag, str)]
            assert tags[-1] == "forward-request"
            assert tags[:-1] in (["set-backend-service"], ["choose"])
            continue
        assert elements[0].tag == "base", f"<{section.tag}> does not start with <base />"


@pytest.mark.parametrize("spec", GOOD_SPECS, ids=lambda p: p.stem)
def test_policy_matches_model(spec: Path) -> None:
    """The token-limit elements carry exactly the model's limits, one per consumer branch."""
    result = compiled(spec)
    gateway: Gateway = result.gateway
    xml = next(f.content for p, f in result.files.items() if p.endswith(".xml"))
    root = ET.fromstring(xml)
    prefix = "azure-openai" if gateway.api.family == "azure-openai" else "llm"
    limits = root.findall(f".//{prefix}-token-limit")
    if gateway.token_limit is None:
        assert limits == []
        return
    # Per scope: the all-models limit, then the per-model limits (deployment named).
    expected: list[tuple[Limit | None, str | None]] = []
    scopes = [(c.limit, c.model_limits) for c in gateway.branch_consumers]
    scopes.append((gateway.token_limit.default, gateway.token_limit.model_limits))
    for limit_all, per_model in scopes:
        if limit_all is not None:
            expected.append((limit_all, None))
        expected += [(m.limit, m.deployment) for m in per_model]
    assert len(limits) == len(expected)
    keys = [element.get("counter-key") for element in limits]
    assert len(set(keys)) == len(keys), "two scopes share a counter-key prefix"
    for element, (limit, deployment) in zip(limits, expected, strict=True):
        assert limit is not None
        key = element.get("counter-key") or ""
        if deployment is not None:
            assert key.endswith(f' + ":{deployment}")'), key
        tpm = element.get("tokens-per-minute")
        assert (int(tpm) if tpm else None) == limit.tokens_per_minute
        quota = element.get("token-quota")
        assert (int(quota) if quota else None) == limit.quota
        assert element.get("token-quota-period") == limit.quota_period
        assert (
            element.get("estimate-prompt-tokens")
            == str(gateway.token_limit.estimate_prompt_tokens).lower()
        )
    metrics = root.findall(f".//{prefix}-emit-token-metric")
    assert len(metrics) == (1 if gateway.token_metrics else 0)


@pytest.mark.parametrize("spec", GOOD_SPECS, ids=lambda p: p.stem)
def test_render_is_deterministic(spec: Path) -> None:
    first = compile_path(spec)
    second = render(first.gateway)
    assert {p: f.content for p, f in first.files.items()} == {
        p: f.content for p, f in second.items()
    }


@pytest.mark.parametrize("spec", GOOD_SPECS, ids=lambda p: p.stem)
def test_no_secrets_in_output(spec: Path) -> None:
    for path, rendered in compiled(spec).files.items():
        text = rendered.content
        for forbidden in (
            "listKeys",
            "listSecrets",
            "primaryKey",
            "secondaryKey",
            "InstrumentationKey",
        ):
            assert forbidden not in text, f"{path} mentions {forbidden}"
        if path.endswith(".bicep"):
            outputs = [line for line in text.splitlines() if line.startswith("output ")]
            assert not any("key" in line.lower() for line in outputs), outputs


def test_parameters_hold_the_spec_values() -> None:
    result = compiled(next(s for s in GOOD_SPECS if s.stem == "lab"))
    parameters = json.loads(result.files["main.parameters.json"].content)["parameters"]
    assert parameters["gatewayName"]["value"] == "lab-gateway"
    deployment = parameters["openAIAccounts"]["value"][0]["deployments"][0]
    assert deployment == {
        "name": "gpt-4o",
        "model": "gpt-4o",
        "version": "2024-11-20",
        "sku": "GlobalStandard",
        "capacity": 50,
    }
    subscriptions = json.loads(result.files["subscriptions/batch-000.json"].content)
    assert subscriptions == [
        {"name": "team-a", "displayName": "team-a", "scope": "/apis/azure-openai"},
        {"name": "team-b", "displayName": "team-b", "scope": "/apis/azure-openai"},
    ]
