"""ARM error JSON and az/azd error lines → codes, messages and hints."""

from __future__ import annotations

from fixtures.deploy.harness import fixture_text

from generator.deploy.arm_errors import ArmError, failure_message, hints, parse
from generator.deploy.runner import Completed


def codes(text: str) -> list[str]:
    return [error.code for error in parse(text)]


def test_nested_json_puts_the_real_reason_first() -> None:
    assert codes(fixture_text("error-soft-deleted.txt")) == [
        "ServiceAlreadyExistsInSoftDeletedState"
    ]
    wrappers_only = '{"error": {"code": "DeploymentFailed", "message": "At least one failed."}}'
    assert codes(wrappers_only) == ["DeploymentFailed"]


def test_code_and_message_lines_from_az() -> None:
    errors = parse(fixture_text("error-quota-lines.txt"))
    assert [e.code for e in errors] == ["InsufficientQuota"]
    assert errors[0].message.startswith("This operation require 50 new capacity")
    assert "lower its `capacity` in the spec" in hints(errors)[0]


def test_azd_deployment_error_details() -> None:
    errors = parse(fixture_text("error-azd.txt"))
    assert [e.code for e in errors] == ["FlagMustBeSetForRestore"]
    (hint,) = hints(errors, subscription="sub-1")
    assert (
        "az cognitiveservices account purge --name lab-gateway-primary-abc123 "
        "--resource-group rg-lab-gateway --location <region> --subscription sub-1"
    ) in hint


def test_trace_lines_outside_the_details_are_not_errors() -> None:
    assert codes("TraceID: 70ac93971373267d70fd1ad083f5738b\nWARNING: Something: else\n") == []


def test_not_json_and_no_code_gives_no_errors_and_the_message_shows_az_output() -> None:
    completed = Completed(("az",), 2, "", "WARNING: hmm\nERROR: the network is down\n", 0.1)
    message = failure_message("what-if failed", completed)
    assert message == "what-if failed (exit code 2)\n  WARNING: hmm\n  ERROR: the network is down"


def test_hints_for_known_codes_only_and_without_duplicates() -> None:
    errors = [
        ArmError("AuthorizationFailed", "no"),
        ArmError("AuthorizationFailed", "no, again"),
        ArmError("SomethingNew", "?"),
        ArmError("ResourceGroupNotFound", "Resource group 'rg' could not be found."),
    ]
    found = hints(errors)
    assert len(found) == 2
    assert "Role Based Access Control Administrator" in found[0]
    assert "az group create" in found[1]


def test_message_lists_errors_then_hints() -> None:
    completed = Completed(("az",), 1, "", fixture_text("error-soft-deleted.txt"), 3.0)
    lines = failure_message("az deployment group create failed", completed).splitlines()
    assert lines[0] == "az deployment group create failed (exit code 1)"
    assert lines[1].startswith("  ServiceAlreadyExistsInSoftDeletedState: Api service ")
    assert lines[-1].startswith("  hint: an API Management service of that name is soft-deleted")
