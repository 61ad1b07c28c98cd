"""A policy feature is one registry entry plus one fragment file; the policy templates only loop.

These tests keep generator/policy_features.py and policy_templates/features/ one-to-one, check
that every fragment fills exactly the sections its entry declares, and show that the policy
documents are driven by the registry alone (dropping an entry drops exactly its elements).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from jinja2 import nodes
from support import FIXTURES, REPO, compiled

from generator import policy_features, render
from generator.policy_features import FEATURES, PolicyFeature, Scope, Section, policy_sections
from generator.verify import policy_catalog

FRAGMENTS = REPO / "policy_templates" / "features"
SPECS = FIXTURES / "specs" / "good"


def _fragment_macros(feature: PolicyFeature) -> set[str]:
    env = render.environment()
    source = (REPO / "policy_templates" / feature.template).read_text(encoding="utf-8")
    return {macro.name for macro in env.parse(source).find_all(nodes.Macro)}


def test_every_fragment_file_has_one_registry_entry_and_back() -> None:
    on_disk = sorted(path.name.removesuffix(".xml.j2") for path in FRAGMENTS.glob("*.j2"))
    registered = sorted(feature.name for feature in FEATURES)
    assert on_disk == registered
    assert len(set(registered)) == len(registered), "a feature is registered twice"


@pytest.mark.parametrize("feature", FEATURES, ids=lambda f: f.name)
def test_fragment_defines_a_macro_for_each_declared_section_and_no_other(
    feature: PolicyFeature,
) -> None:
    assert _fragment_macros(feature) == {section.macro for section in feature.sections}
    assert feature.replaces_base <= set(feature.sections), "replaces <base /> where it is absent"


def test_sections_are_in_document_order_with_valid_macro_names() -> None:
    """The sections verify checks (policy_catalog.SECTIONS) are the ones features can fill."""
    assert tuple(s.value for s in Section) == policy_catalog.SECTIONS
    assert [s.value for s in Section] == ["inbound", "backend", "outbound", "on-error"]
    assert all(s.macro.isidentifier() for s in Section)


def test_the_policy_templates_name_no_feature() -> None:
    """Which feature goes where is decided in Python; the section templates only loop."""
    for name in ("api-policy.xml.j2", "product-policy.xml.j2", "_sections.xml.j2"):
        text = (REPO / "policy_templates" / name).read_text(encoding="utf-8")
        assert not [f.name for f in FEATURES if f.name in text], name
        assert "gw." not in text.replace("gw.source", "").replace("gw.regenerate_note", "")


def _names(sections: tuple[policy_features.SectionPlan, ...], section: str) -> list[str]:
    return [f.name for s in sections if s.name == section for f in s.features]


def test_applicability_is_decided_from_the_model() -> None:
    minimal = policy_sections(compiled(SPECS / "minimal.yaml").gateway)
    assert _names(minimal, "inbound") == ["managed-identity", "backend-routing", "key-removal"]
    assert [s.base for s in minimal] == [True, True, True, True]

    entra = policy_sections(compiled(SPECS / "entra.yaml").gateway)
    assert _names(entra, "inbound")[0] == "entra-validation"

    pool = compiled(SPECS / "backend-pool.yaml").gateway
    assert pool.pools and pool.retries
    sections = policy_sections(pool)
    assert _names(sections, "backend") == ["backend-retry"]
    assert [s.base for s in sections if s.name == "backend"] == [False]


def test_product_policies_hold_only_product_features() -> None:
    gateway = compiled(SPECS / "products.yaml").gateway
    limited = [p for p in gateway.products if p.limit is not None]
    assert limited
    sections = policy_sections(gateway, limited[0])
    assert _names(sections, "inbound") == ["product-token-limit"]
    assert all(f.scope is Scope.PRODUCT for s in sections for f in s.features)
    assert all(f.scope is Scope.API for s in policy_sections(gateway) for f in s.features)


def _api_policy(spec: Path) -> str:
    gateway = compiled(spec).gateway
    jobs, _ = render.plan(gateway)
    job = next(j for j in jobs if j.template == "api-policy.xml.j2")
    context = {**job.context, "policy_sections": policy_sections(gateway)}
    return render.render_template(job.template, context)


def test_dropping_a_registry_entry_drops_exactly_its_elements(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = SPECS / "lab.yaml"
    before = _api_policy(spec)
    assert before == compiled(spec).files[render.api_policy_path(compiled(spec).gateway)].content
    assert '<set-header name="api-key" exists-action="delete" />' in before

    kept = tuple(f for f in FEATURES if f.name != "key-removal")
    monkeypatch.setattr(policy_features, "FEATURES", kept)
    after = _api_policy(spec)
    removed = [line for line in before.splitlines() if line not in after.splitlines()]
    assert removed == [
        "        <!-- The subscription key (header or query, see subscriptionKeyParameterNames)"
        " is APIM's",
        "             secret, not the account's: never forward it. -->",
        '        <set-header name="api-key" exists-action="delete" />',
        '        <set-query-parameter name="api-key" exists-action="delete" />',
    ]
    assert len(after.splitlines()) == len(before.splitlines()) - len(removed)


def test_a_feature_can_stand_instead_of_base(monkeypatch: pytest.MonkeyPatch) -> None:
    """Marking routing as replacing inbound's `<base />` removes that one `<base />` only."""
    spec = SPECS / "minimal.yaml"
    before = _api_policy(spec)
    changed = tuple(
        dataclasses.replace(f, replaces_base=frozenset({Section.INBOUND}))
        if f.name == "backend-routing"
        else f
        for f in FEATURES
    )
    monkeypatch.setattr(policy_features, "FEATURES", changed)
    after = _api_policy(spec)
    assert before.count("<base />") == after.count("<base />") + 1
    assert "<inbound>\n        <base />" in before and "<inbound>\n        <base />" not in after
