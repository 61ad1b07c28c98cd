"""`verify --schemas DIR` against the official schemas in ../shared/validation, and the built-in
tables kept in step with them (bundled schema copies, policy names, token-policy attributes)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from lxml import etree
from support import FIXTURES, GOOD_SPECS, compiled, validation_dir

from generator import azure
from generator.errors import TokengateError
from generator.verify import SchemaChecks, verify_files, verify_folder
from generator.verify import policy_catalog as catalog
from generator.verify.documents import OFFICIAL

XS = "{http://www.w3.org/2001/XMLSchema}"


@cache
def schema_checks() -> SchemaChecks:
    return SchemaChecks.load(validation_dir())


def xsd(name: str) -> etree._ElementTree:
    return etree.parse(str(validation_dir() / "apim-policy-xsd" / name))


@pytest.mark.parametrize("name", sorted(p.name for p in OFFICIAL.glob("*.json")))
def test_bundled_schemas_are_the_official_copies(name: str) -> None:
    assert (OFFICIAL / name).read_bytes() == (validation_dir() / name).read_bytes()


def test_policy_names_are_the_xsd_elements() -> None:
    declared = set()
    for path in (validation_dir() / "apim-policy-xsd").glob("*.xsd"):
        declared |= {e.get("name") for e in xsd(path.name).getroot().findall(f"{XS}element")}
    assert declared - {"policies"} == catalog.POLICIES


def test_token_policy_attributes_are_the_xsd_attributes() -> None:
    limit = xsd("azure-openai-token-limit.xsd").getroot()
    attributes = limit.findall(f".//{XS}complexType/{XS}attribute")
    assert {a.get("name") for a in attributes} == catalog.TOKEN_LIMIT_ATTRIBUTES
    required = {a.get("name") for a in attributes if a.get("use") == "required"}
    assert required == set(catalog.TOKEN_LIMIT_REQUIRED)
    periods = {e.get("value") for e in limit.iterfind(f".//{XS}enumeration")}
    assert set(catalog.QUOTA_PERIODS) < periods  # the XSD adds its default, Indefinite
    metric = xsd("azure-openai-emit-token-metric.xsd").getroot()
    names = {a.get("name") for a in metric.findall(f".//{XS}complexType/{XS}attribute")}
    assert names == catalog.TOKEN_METRIC_ATTRIBUTES


def test_the_published_xsds_need_the_in_memory_fixes() -> None:
    with pytest.raises(etree.XMLSchemaParseError):
        etree.XMLSchema(xsd("policies.xsd"))
    assert schema_checks().policies is not None


@pytest.mark.parametrize("spec", GOOD_SPECS, ids=lambda p: p.stem)
def test_good_output_is_valid_against_the_official_schemas(spec: Path) -> None:
    """Every resource body of every good fixture against its ARM provider schema
    (../shared/validation/arm): no finding at all, not even "no provider schema" warnings."""
    files = {path: f.content for path, f in compiled(spec).files.items()}
    findings = verify_files(files, schema_checks())
    assert [f.format() for f in findings] == []


def test_every_rendered_resource_type_has_its_provider_schema() -> None:
    """So the body of every resource `render` writes is really checked, not skipped."""
    providers = schema_checks().providers
    assert providers is not None
    rendered = {
        resource_type
        for spec in GOOD_SPECS
        for text in (f.content for f in compiled(spec).files.values())
        for resource_type in azure.API_VERSIONS
        if f"'{resource_type}@" in text
    }
    assert rendered
    missing = {
        resource_type
        for resource_type in rendered
        if (resource_type.lower(), azure.API_VERSIONS[resource_type]) not in providers.definitions
    }
    assert missing == set()
    premium_v2 = ("microsoft.apimanagement/service", azure.PREMIUM_V2_SERVICE_API_VERSION)
    assert premium_v2 in providers.definitions


def test_xsd_rejects_what_the_built_in_check_rejects() -> None:
    folder = FIXTURES / "outputs" / "bad" / "bad-quota-period"
    findings = verify_folder(folder, schema_checks())
    assert {(f.rule_id, f.line) for f in findings} == {("TG216", 5), ("TG240", 5)}
    xsd_finding = next(f for f in findings if f.rule_id == "TG240")
    assert "Quarterly" in xsd_finding.message


def test_provider_schema_rejects_a_bad_value_at_its_line() -> None:
    files = {path: f.content for path, f in compiled(GOOD_SPECS[0]).files.items()}
    apim = files["modules/apim.bicep"]
    assert "    type: 'SystemAssigned'\n" in apim
    files["modules/apim.bicep"] = apim.replace(
        "    type: 'SystemAssigned'\n", "    type: 'SystemAssignd'\n"
    )
    line = files["modules/apim.bicep"].splitlines().index("    type: 'SystemAssignd'") + 1
    findings = verify_files(files, schema_checks())
    assert [(f.file, f.line, f.rule_id) for f in findings] == [
        ("modules/apim.bicep", line, "TG241")
    ]
    assert "'SystemAssignd' is not one of" in findings[0].message


def test_a_type_without_schema_is_a_warning_not_a_pass() -> None:
    files = {"main.bicep": "resource s 'Microsoft.ApiManagement/service@2019-01-01' = {\n}\n"}
    findings = verify_files(files, schema_checks())
    assert {(f.rule_id, str(f.severity)) for f in findings} >= {("TG241", "warning")}


def test_schema_folder_must_hold_schemas(tmp_path: Path) -> None:
    with pytest.raises(TokengateError, match="no such folder"):
        SchemaChecks.load(tmp_path / "absent")
    with pytest.raises(TokengateError, match="found neither"):
        SchemaChecks.load(tmp_path)


def test_unknown_property_names_are_found_at_their_line() -> None:
    files = {path: f.content for path, f in compiled(GOOD_SPECS[0]).files.items()}
    apim = files["modules/apim.bicep"]
    files["modules/apim.bicep"] = apim.replace(
        "    publisherEmail: publisherEmail\n",
        "    publisherEmail: publisherEmail\n    publisherMail: publisherEmail\n",
    )
    line = files["modules/apim.bicep"].splitlines().index("    publisherMail: publisherEmail") + 1
    findings = verify_files(files, schema_checks())
    assert [(f.file, f.line, f.rule_id) for f in findings] == [
        ("modules/apim.bicep", line, "TG242")
    ]
    assert "properties.publisherMail" in findings[0].message


def test_deliberate_unknown_property_needs_its_bcp037_comment() -> None:
    """App Insights' CustomMetricsOptedInType is missing from the 2020-02-02 type on purpose."""
    files = {path: f.content for path, f in compiled(GOOD_SPECS[0]).files.items()}
    monitoring = files["modules/monitoring.bicep"]
    assert "#disable-next-line BCP037\n    CustomMetricsOptedInType" in monitoring
    assert verify_files(files, schema_checks()) == []
    files["modules/monitoring.bicep"] = monitoring.replace("    #disable-next-line BCP037\n", "")
    findings = verify_files(files, schema_checks())
    assert [f.rule_id for f in findings] == ["TG242"]
    assert "CustomMetricsOptedInType" in findings[0].message
