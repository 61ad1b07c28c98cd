"""Policy checks on small documents: what passes, what fails, and where findings point."""

from __future__ import annotations

import pytest

from generator.verify.policy import policy_findings

SECTIONS = (
    "<backend>\n<base />\n</backend>\n<outbound>\n<base />\n</outbound>\n"
    "<on-error>\n<base />\n</on-error>\n"
)


def document(inbound: str) -> str:
    return f"<policies>\n<inbound>\n<base />\n{inbound}\n</inbound>\n{SECTIONS}</policies>\n"


def rules(text: str) -> list[str]:
    return [f.rule_id for f in policy_findings("p.xml", text)]


def test_a_complete_token_policy_passes() -> None:
    limit = (
        '<llm-token-limit counter-key="@(context.Subscription.Id)" tokens-per-minute="500" '
        'token-quota="@(1000 * 10)" token-quota-period="Monthly" estimate-prompt-tokens="false" '
        'prompt-type="chat-completion" retry-after-header-name="retry" />'
    )
    assert rules(document(limit)) == []


def test_policies_inside_choose_and_retry_are_checked() -> None:
    inner = '<rate-limit-by-keys calls="5" renewal-period="60" counter-key="x" />'
    text = document(
        f'<choose><when condition="@(true)">{inner}</when><otherwise>{inner}</otherwise></choose>'
        f'<retry condition="@(true)" count="2" interval="1">{inner}</retry>'
    )
    findings = policy_findings("p.xml", text)
    assert [f.rule_id for f in findings] == ["TG213"] * 3
    assert "did you mean 'rate-limit-by-key'" in findings[0].message


def test_choose_holds_only_when_and_otherwise() -> None:
    assert rules(document("<choose><if>x</if></choose>")) == ["TG213"]


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ('counter-key="k" estimate-prompt-tokens="true"', ["TG214"]),  # limits nothing
        ('counter-key="k" token-quota="5" estimate-prompt-tokens="true"', ["TG214"]),  # no period
        ('counter-key="k" tokens-per-minute="-5" estimate-prompt-tokens="true"', ["TG216"]),
        ('counter-key="k" tokens-per-minute="1.5" estimate-prompt-tokens="true"', ["TG216"]),
        ('counter-key="k" tokens-per-minute="5" estimate-prompt-tokens="yes"', ["TG216"]),
        ('counter-key=" " tokens-per-minute="5" estimate-prompt-tokens="true"', ["TG216"]),
        ('counter-key="k" tokens-per-minute="5"', ["TG214"]),
        ('counter-key="k" tokens-per-minute="5" estimate-prompt-tokens="true" x="1"', ["TG215"]),
    ],
)
def test_token_limit_attributes(attributes: str, expected: list[str]) -> None:
    assert rules(document(f"<azure-openai-token-limit {attributes} />")) == expected


def test_dimension_rules() -> None:
    five = "".join(f'<dimension name="d{i}" value="v" />' for i in range(5))
    ok = f'<azure-openai-emit-token-metric namespace="n">{five}</azure-openai-emit-token-metric>'
    assert rules(document(ok)) == []
    bad = (
        '<azure-openai-emit-token-metric value-type="tokens">'
        '<dimension value="v" /><dimension name="a" nmae="b" /><metric name="x" />'
        "</azure-openai-emit-token-metric>"
    )
    assert sorted(rules(document(bad))) == ["TG213", "TG214", "TG215", "TG216"]


def test_columns_point_at_the_attribute_on_its_own_line() -> None:
    text = document(
        '<azure-openai-token-limit counter-key="k"\n    tokens-per-minute="5"\n'
        '    estimate-prompt-tokens="true"\n    token-quota-period="Daily" token-quota="ten" />'
    )
    (finding,) = policy_findings("p.xml", text)
    assert (finding.rule_id, finding.line, finding.column) == ("TG216", 7, 32)


def test_same_tag_twice_on_one_line_gets_its_own_column() -> None:
    text = document('<set-header name="a" /><sett-header name="b" /><sett-header name="c" />')
    columns = [f.column for f in policy_findings("p.xml", text)]
    assert columns == [24, 48]


def test_sections_out_of_order_and_unknown_section() -> None:
    text = (
        "<policies>\n<backend><base /></backend>\n<inbound><base /></inbound>\n"
        "<outbound><base /></outbound>\n<on-error><base /></on-error>\n<extra />\n</policies>"
    )
    messages = [f.message for f in policy_findings("p.xml", text)]
    assert any("order backend, inbound" in m for m in messages)
    assert any("<extra> is not a policy section" in m for m in messages)


def test_root_must_be_policies() -> None:
    (finding,) = policy_findings("p.xml", "<fragment><base /></fragment>")
    assert finding.rule_id == "TG211"


def test_entities_are_not_expanded() -> None:
    """A DTD entity bomb is parsed without expansion, so it costs nothing."""
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    )
    text = bomb + document('<set-header name="&b;" />')
    assert rules(text) == []
