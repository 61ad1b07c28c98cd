"""Per-model limits (issue 14 item 3): model merging, tiers, and the policy elements."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from typing import Any

from support import two_model_account, validation_dir

from generator import model
from generator.diff.semantic import model_changes
from generator.model import Gateway, Limit, ModelLimit
from generator.render import api_policy_path, render
from generator.verify import SchemaChecks, verify_files

SPEC: dict[str, Any] = {
    "name": "permodel",
    "location": "swedencentral",
    "apim": {"publisherEmail": "a@b.co", "publisherName": "P"},
    "openai": [two_model_account("main")],
    "tokenLimit": {
        "tokensPerMinute": 10000,
        "models": [
            {
                "deployment": "gpt-4o",
                "tokensPerMinute": 2000,
                "quota": 50000,
                "quotaPeriod": "Daily",
            }
        ],
    },
    "consumers": [
        {"name": "web"},
        {"name": "analytics", "models": [{"deployment": "gpt-4o", "tokensPerMinute": 3000}]},
        {"name": "mini", "models": [{"deployment": "gpt-4o-mini", "tokensPerMinute": 500}]},
    ],
}


def _policy(gateway: Gateway) -> ET.Element:
    return ET.fromstring(render(gateway)[api_policy_path(gateway)].content)


def test_a_consumers_per_model_limit_is_merged_over_the_defaults_per_deployment() -> None:
    gateway = model.build(SPEC, source="x.yaml")
    by_name = {c.name: c for c in gateway.consumers}
    default = ModelLimit("gpt-4o", Limit(2000, 50000, "Daily"))
    assert by_name["web"].model_limits == (default,)
    # Its own rate, the default's quota: field by field, like the all-models override.
    assert by_name["analytics"].model_limits == (ModelLimit("gpt-4o", Limit(3000, 50000, "Daily")),)
    # A deployment the default does not limit is added; sorted by deployment.
    assert by_name["mini"].model_limits == (default, ModelLimit("gpt-4o-mini", Limit(500)))
    assert all(c.limit == Limit(10000) for c in gateway.consumers)
    # Only consumers whose per-model limits differ from the default's need a branch.
    assert [c.name for c in gateway.branch_consumers] == ["analytics", "mini"]


def test_consumers_with_other_per_model_limits_never_share_a_tier() -> None:
    spec = copy.deepcopy(SPEC)
    spec["consumers"] = [
        {"name": f"c{i}", "models": [{"deployment": "gpt-4o", "tokensPerMinute": 100 + i % 2}]}
        for i in range(model.MAX_CONSUMER_BRANCHES + 1)
    ]
    gateway = model.build(spec, source="x.yaml")
    tiers = {p.name: p for p in gateway.products if p.generated}
    assert len(tiers) == 2, "same all-models limit, two different per-model limits: two tiers"
    for consumer in gateway.consumers:
        assert consumer.product is not None
        assert tiers[consumer.product].model_limits == consumer.model_limits
        assert tiers[consumer.product].limit == consumer.limit
    assert all(len(name) <= 80 for name in tiers)


def test_per_model_limits_are_extra_elements_keyed_on_the_deployment() -> None:
    """Each per-model limit is one more azure-openai-token-limit element, in a branch taken only
    for its deployment (read from the route's deployment-id), next to the all-models element.

    "This policy can be used multiple times per policy definition" (Usage notes of
    https://learn.microsoft.com/azure/api-management/azure-openai-token-limit-policy and of
    https://learn.microsoft.com/azure/api-management/llm-token-limit-policy).
    """
    gateway = model.build(SPEC, source="x.yaml")
    root = _policy(gateway)
    limits = root.findall(".//azure-openai-token-limit")
    keys = [e.get("counter-key") for e in limits]
    # analytics: all models + gpt-4o; mini: all + gpt-4o + gpt-4o-mini; default: all + gpt-4o.
    assert len(set(keys)) == len(keys) == 2 + 3 + 2, keys
    whens = [w for w in root.iter("when") if "deployment-id" in (w.get("condition") or "")]
    assert len(whens) == 4
    assert whens, "per-model elements sit in deployment branches"
    for when in whens:
        condition = when.get("condition") or ""
        (element,) = when.findall("azure-openai-token-limit")
        deployment = condition.rsplit('== "', 1)[1].removesuffix('")')
        assert condition.startswith(
            '@(context.Request.MatchedParameters.GetValueOrDefault("deployment-id", "")'
        )
        assert (element.get("counter-key") or "").endswith(f' + ":{deployment}")')


def test_llm_family_reads_the_deployment_from_the_body_and_keeps_it() -> None:
    """The llm family's deployment is the body's `model`, read with preserveContent: true so the
    backend still gets the body: "By default when you access the message body using
    context.Request.Body or context.Response.Body, the original message body is lost"
    (https://learn.microsoft.com/azure/api-management/set-body-policy)."""
    spec = copy.deepcopy(SPEC)
    spec["api"] = {"family": "llm", "apiVersion": "2024-05-01-preview"}
    gateway = model.build(spec, source="x.yaml")
    root = _policy(gateway)
    conditions = [
        w.get("condition") or "" for w in root.iter("when") if "Body" in (w.get("condition") or "")
    ]
    assert conditions
    assert len(conditions) == 4
    for condition in conditions:
        assert condition.startswith(
            '@((string)context.Request.Body?.As<JObject>(preserveContent: true)?["model"] == "'
        )
    assert len(root.findall(".//llm-token-limit")) == 7


def test_diff_names_per_model_changes_once_by_deployment() -> None:
    """A change of the default's per-model limit is one line, not one per consumer; a
    consumer's own per-model limit is compared as written (`model_override`)."""
    before = model.build(copy.deepcopy(SPEC), source="x.yaml")
    spec = copy.deepcopy(SPEC)
    spec["tokenLimit"]["models"][0]["tokensPerMinute"] = 3000
    spec["consumers"][0]["models"] = [
        {"deployment": "gpt-4o-mini", "quota": 9, "quotaPeriod": "Daily"}
    ]
    after = model.build(spec, source="x.yaml")
    assert [c.line() for c in model_changes(before, after)] == [
        "token limit per-model limit gpt-4o: tokens-per-minute 2000 → 3000",
        "consumer web per-model limit gpt-4o-mini added",
    ]


def test_both_families_per_model_policies_are_valid_against_the_apim_xsds() -> None:
    """The per-model branches (nested <choose> in a consumer's <when>) pass the official APIM
    policy XSDs and every built-in policy check, for both API families."""
    checks = SchemaChecks.load(validation_dir())
    for family in ("azure-openai", "llm"):
        spec = copy.deepcopy(SPEC)
        if family == "llm":
            spec["api"] = {"family": "llm", "name": "models", "path": "models"}
        files = {path: f.content for path, f in render(model.build(spec, "x.yaml")).items()}
        policies = {path: text for path, text in files.items() if path.endswith(".xml")}
        assert policies
        assert [f.format() for f in verify_files(files, checks)] == [], family


def test_branches_with_many_per_model_limits_become_tiers_before_the_policy_is_too_large() -> None:
    """100 branches of 32 per-model limits each would be ~1.7 MB of API policy, past APIM's
    256 KiB; past MAX_BRANCH_ELEMENTS token-limit elements the branches become tiers, so the
    API policy keeps only the default and each tier's product policy holds one budget."""
    spec = copy.deepcopy(SPEC)
    deployments = [
        {"name": f"d{j:02}", "model": "gpt-4o", "version": "2024-11-20", "capacity": 1}
        for j in range(32)
    ]
    spec["openai"][0]["deployments"] = deployments
    spec["tokenLimit"] = {"tokensPerMinute": 10000}
    spec["consumers"] = [
        {
            "name": f"c{i}",
            "models": [
                {"deployment": d["name"], "quota": 9, "quotaPeriod": "Daily"} for d in deployments
            ],
        }
        for i in range(10)
    ]
    gateway = model.build(spec, source="x.yaml")
    assert model.MAX_BRANCH_ELEMENTS < 10 * 33
    assert gateway.branch_consumers == ()
    assert {c.product for c in gateway.consumers} == {p.name for p in gateway.products}
    files = render(gateway)
    assert all(len(f.content.encode()) < 256 * 1024 for f in files.values())
