"""Values that would reach `az`/`azd` as arguments are refused unless they are exactly a name.

Against fake az/azd on PATH: a refused value must leave no call at all (the fakes record every
start). The property tests check the checkers against oracles written independently of their
regular expressions, from the rules on
https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules
(resource groups: 1-90 letters or digits, `_-.()`, not ending in `.`; deployments: 1-64 of the
same) plus tokengate's own rule for every argument: not empty, no leading `-`, no control or
format character, no leading or trailing whitespace.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixtures.deploy.harness import FakeCli
from hypothesis import example, given
from hypothesis import strategies as st

from generator.cli import main
from generator.deploy import target
from generator.errors import TokengateError

BAD_VALUES = [
    ("", "it is empty"),
    ("--debug", "it starts with '-'"),
    ("-x", "it starts with '-'"),
    ("rg-lab\n", "it holds a control character"),
    ("rg\nlab", "it holds a control character"),
    ("rg-lab\r", "it holds a control character"),
    ("rg\tlab", "it holds a control character"),
    ("rg\x1b[2Jlab", "it holds a control character"),
    ("rg\u2028lab", "it holds a control character"),
    ("rg\u200blab", "it holds a control character"),
    ("   ", "it starts or ends with whitespace"),
    (" rg-lab", "it starts or ends with whitespace"),
    ("rg-lab ", "it starts or ends with whitespace"),
]


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCli:
    return FakeCli(tmp_path / "fake", monkeypatch, ("az", "azd")).healthy_az().healthy_azd()


@pytest.fixture
def azd_project(tmp_path: Path) -> Path:
    project = tmp_path / "azd"
    project.mkdir()
    (project / "azure.yaml").write_text("name: lab-gateway\n", encoding="utf-8")
    return project


def commands_with(option: str, value: str, project: Path, out: Path) -> list[list[str]]:
    """Every command that takes `option`, run for real (`--yes`, no dry run)."""
    deploy = ["deploy", "-g", "rg-lab", "--yes", "--out", str(out)]
    up = ["up", "--project-dir", str(project)]
    down_group = ["down", "-g", "rg-lab", "--yes", "--project-dir", str(project)]
    down_azd = ["down", "--yes", "--project-dir", str(project)]
    by_option = {
        "--resource-group": [
            ["deploy", "--yes", "--out", str(out)],
            ["down", "--yes", "--project-dir", str(project)],
        ],
        "--subscription": [deploy, up, down_group],
        "--location": [deploy, up],
        "--env": [up, down_azd],
    }
    return [[*command, option, value] for command in by_option[option]]


@pytest.mark.parametrize(("value", "reason"), BAD_VALUES, ids=repr)
@pytest.mark.parametrize("option", ["--resource-group", "--subscription", "--location", "--env"])
def test_bad_values_never_reach_az_or_azd(
    fake: FakeCli, azd_project: Path, tmp_path: Path, option: str, value: str, reason: str
) -> None:
    for args in commands_with(option, value, azd_project, tmp_path / "out"):
        code, _, stderr = invoke(*args)
        assert code == 2, (args, stderr)
        assert f"{option} {value!r}: {reason}" in stderr, (args, stderr)
        assert "Traceback" not in stderr
    assert fake.records() == []


def test_empty_resource_group_is_an_error_not_the_specs_group(
    fake: FakeCli, azd_project: Path
) -> None:
    """`-g ""` used to mean "not given": the spec's group, or the azd project, was deleted."""
    code, _, stderr = invoke("down", "-g", "", "--yes", "--project-dir", str(azd_project))
    assert code == 2 and "--resource-group '': it is empty" in stderr
    assert fake.records() == []


def test_option_like_group_never_becomes_an_az_option(fake: FakeCli, tmp_path: Path) -> None:
    code, _, stderr = invoke("down", "-g", "--debug", "--yes", "--project-dir", str(tmp_path))
    assert code == 2 and "starts with '-'" in stderr
    assert fake.records() == []


def test_a_folder_named_like_an_option_is_passed_as_a_path(tmp_path: Path) -> None:
    code, stdout, stderr = invoke("deploy", "-g", "rg-lab", "--dry-run", "--out", "-out")
    assert code == 0, stderr
    assert "--template-file ./-out/main.bicep" in stdout
    code, stdout, stderr = invoke("up", "--dry-run", "--project-dir", "-azd")
    assert code == 0, stderr
    assert "--cwd ./-azd --no-prompt" in stdout


def test_a_folder_with_a_line_break_is_refused(tmp_path: Path) -> None:
    code, _, stderr = invoke("deploy", "-g", "rg-lab", "--dry-run", "--out", "out\nx")
    assert code == 2 and "--out 'out\\nx': it holds a control character" in stderr


def test_names_read_back_from_az_are_checked_before_they_are_passed_back(
    fake: FakeCli, tmp_path: Path
) -> None:
    """A soft-deleted service name from `az apim deletedservice list` is an argument too."""
    tag = {"tokengate-gateway": "lab-gateway"}
    fake.answer("az", "group", "show", stdout=f'{{"name": "rg-lab", "tags": {_json(tag)}}}')
    fake.answer("az", "resource", "list", stdout="[]")
    fake.answer("az", "group", "delete", stdout="")
    deleted = (
        '[{"name": "--debug", "location": "Sweden Central", "serviceId": '
        '"/subscriptions/s/resourceGroups/rg-lab/providers/Microsoft.ApiManagement/service/x"}]'
    )
    fake.answer("az", "apim", "deletedservice", "list", stdout=deleted)
    fake.answer("az", "cognitiveservices", "account", "list-deleted", stdout="[]")
    code, _, stderr = invoke("down", "-g", "rg-lab", "--yes", "--project-dir", str(tmp_path))
    assert code == 3
    assert "name of a soft-deleted API Management listed by az '--debug'" in stderr
    assert not any(call[1:4] == ["apim", "deletedservice", "purge"] for call in fake.calls())


def _json(value: object) -> str:
    import json

    return json.dumps(value)


# --- properties ------------------------------------------------------------------------------

CONTROL = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def general_rule(value: str) -> bool:
    """The rule for every argument, restated without regular expressions."""
    return (
        value != ""
        and not value.startswith("-")
        and not any(unicodedata.category(c) in CONTROL for c in value)
        and value == value.strip()
    )


def arm_name_chars(value: str) -> bool:
    """Letters or digits (Python's `isalnum`, what `\\w` matches) and `_-.()`."""
    return all(c.isalnum() or c in "_-.()" for c in value)


ORACLES: dict[str, tuple[Callable[[str, str], object], Callable[[str], bool]]] = {
    "resource group": (
        target.check_resource_group,
        lambda v: 1 <= len(v) <= 90 and arm_name_chars(v) and not v.endswith("."),
    ),
    "deployment": (target.check_deployment_name, lambda v: 1 <= len(v) <= 64 and arm_name_chars(v)),
    "location": (
        target.check_location,
        lambda v: (
            2 <= len(v) <= 40
            and v[0] in string.ascii_lowercase
            and all(c in string.ascii_lowercase + string.digits for c in v)
        ),
    ),
    "environment": (
        target.check_environment,
        lambda v: (
            1 <= len(v) <= 64
            and v[0] in string.ascii_letters + string.digits
            and all(c in string.ascii_letters + string.digits + "-_.()" for c in v)
        ),
    ),
    "subscription": (
        lambda v, source: target.check_subscription(v, source),
        lambda v: 1 <= len(v) <= 128,
    ),
    "any argument": (target.check_argument, lambda v: 1 <= len(v) <= 1024),
}

#: Text biased towards the edges: name characters, separators, controls, odd Unicode.
names = st.text(
    alphabet=st.one_of(
        st.sampled_from("abcXYZ019_-.() \t\n\r\x00\x1b\x7f\x85\u00a0\u2028\u200b\ufeffé"),
        st.characters(),
    ),
    max_size=100,
)


def accepted(check: Callable[[str, str], object], value: str) -> bool:
    try:
        check(value, "value")
    except TokengateError:
        return False
    return True


@pytest.mark.parametrize("kind", sorted(ORACLES))
@given(value=names)
@example(value="rg-lab\n")
@example(value="--debug")
@example(value=" ")
@example(value="rg-lab")
@example(value="a" * 90)
@example(value="rg.")
def test_checkers_accept_exactly_their_rule(kind: str, value: str) -> None:
    check, rule = ORACLES[kind]
    assert accepted(check, value) == (general_rule(value) and rule(value))


@pytest.mark.parametrize("kind", sorted(ORACLES))
@given(
    prefix=names,
    suffix=names,
    bad=st.characters(categories=("Cc", "Cf", "Zl", "Zp")),
)
def test_a_control_character_anywhere_is_refused(
    kind: str, prefix: str, suffix: str, bad: str
) -> None:
    check, _ = ORACLES[kind]
    assert not accepted(check, prefix + bad + suffix)


@pytest.mark.parametrize("kind", sorted(ORACLES))
@given(rest=names, blank=st.text(alphabet=" \t\n\r\u00a0\u2003\u3000", max_size=10))
def test_leading_dash_and_blank_values_are_refused(kind: str, rest: str, blank: str) -> None:
    check, _ = ORACLES[kind]
    assert not accepted(check, "-" + rest)
    assert not accepted(check, blank)


def test_accepted_names_pass_through_unchanged() -> None:
    assert target.check_resource_group("rg-lab_(1).x", "-g") == "rg-lab_(1).x"
    assert target.check_subscription("Contoso Dev", "--subscription") == "Contoso Dev"
    assert target.check_subscription(None) is None
