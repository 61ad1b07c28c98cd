"""`down -g RG` deletes a resource group only when it is this gateway's, shown by tags.

Deleting a resource group deletes everything in it
(https://learn.microsoft.com/azure/azure-resource-manager/management/delete-resource-group), so
`--yes` must not be enough for a group that also holds other people's resources. The evidence is
the `tokengate-gateway` tag (`generator.naming.GATEWAY_TAG`) on the group and on each resource;
ARM treats tag names case-insensitively
(https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources).
Against fake `az` on PATH; each refusal must leave no `az group delete` call.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fixtures.deploy.harness import FakeCli

from generator.cli import main
from generator.naming import GATEWAY_TAG

OURS = {GATEWAY_TAG: "lab-gateway"}


def resource(name: str, kind: str, tags: Any) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/s/resourceGroups/rg-lab/providers/{kind}/{name}",
        "name": name,
        "type": kind,
        "location": "swedencentral",
        "tags": tags,
    }


APIM = resource("apim-lab-gateway-abc123", "Microsoft.ApiManagement/service", OURS)
OPENAI = resource("lab-gateway-primary-abc123", "Microsoft.CognitiveServices/accounts", OURS)
STORAGE = resource("stpayroll", "Microsoft.Storage/storageAccounts", {"team": "payroll"})
VM = resource("vm-build", "Microsoft.Compute/virtualMachines", None)
OTHER_GATEWAY = resource("apim-other", "Microsoft.ApiManagement/service", {GATEWAY_TAG: "other"})


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCli:
    fake = FakeCli(tmp_path / "fake", monkeypatch, ("az",)).healthy_az()
    fake.answer("az", "group", "show", stdout=json.dumps({"name": "rg-lab", "tags": OURS}))
    fake.answer("az", "resource", "list", stdout=json.dumps([APIM, OPENAI]))
    fake.answer("az", "group", "delete", stdout="")
    fake.answer("az", "apim", "deletedservice", "list", stdout="[]")
    fake.answer("az", "cognitiveservices", "account", "list-deleted", stdout="[]")
    return fake


def down(tmp_path: Path, *extra: str) -> tuple[int, str, str]:
    args = ["down", "-g", "rg-lab", "--yes", "--project-dir", str(tmp_path), *extra]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def deleted(fake: FakeCli) -> bool:
    return any(call[1:3] == ["group", "delete"] for call in fake.calls())


def test_group_of_this_gateways_resources_is_deleted_with_the_evidence_named(
    fake: FakeCli, tmp_path: Path
) -> None:
    code, stdout, stderr = down(tmp_path)
    assert code == 0, stderr
    assert deleted(fake)
    assert "ok    resource group rg-lab carries tokengate-gateway=lab-gateway" in stderr
    assert "ok    2 of 2 resources carry tokengate-gateway=lab-gateway" in stderr
    assert "deleted resource group rg-lab" in stdout


@pytest.mark.parametrize("foreign", [STORAGE, VM, OTHER_GATEWAY], ids=lambda r: r["name"])
def test_a_foreign_resource_stops_the_deletion_even_with_yes(
    fake: FakeCli, tmp_path: Path, foreign: dict[str, Any]
) -> None:
    fake.answer("az", "resource", "list", stdout=json.dumps([APIM, foreign, OPENAI]))
    code, stdout, stderr = down(tmp_path)
    assert code == 3
    assert not deleted(fake)
    assert "refusing to delete resource group rg-lab:" in stderr
    assert "1 of its 3 resources are not tagged tokengate-gateway=lab-gateway:" in stderr
    assert f"    {foreign['type']} {foreign['name']} (" in stderr
    assert "--delete-foreign-resources" in stderr
    assert stdout == ""


def test_the_listing_reads_tags_and_is_an_argument_list(fake: FakeCli, tmp_path: Path) -> None:
    down(tmp_path)
    listing = next(call for call in fake.calls() if call[1:3] == ["resource", "list"])
    assert listing[:7] == [
        "az",
        "resource",
        "list",
        "--resource-group",
        "rg-lab",
        "--output",
        "json",
    ]
    assert "--query" not in listing


def test_delete_foreign_resources_deletes_and_says_so(fake: FakeCli, tmp_path: Path) -> None:
    fake.answer("az", "resource", "list", stdout=json.dumps([APIM, STORAGE]))
    code, stdout, stderr = down(tmp_path, "--delete-foreign-resources")
    assert code == 0, stderr
    assert deleted(fake) and "deleted resource group rg-lab" in stdout
    assert "(--delete-foreign-resources: deleted too)" in stderr
    assert "Microsoft.Storage/storageAccounts stpayroll (no tokengate-gateway tag)" in stderr


def test_an_empty_untagged_group_is_deleted(fake: FakeCli, tmp_path: Path) -> None:
    fake.answer("az", "group", "show", stdout=json.dumps({"name": "rg-lab", "tags": None}))
    fake.answer("az", "resource", "list", stdout="[]")
    code, _, stderr = down(tmp_path)
    assert code == 0, stderr
    assert deleted(fake)
    assert "resource group rg-lab has no tokengate-gateway tag (made outside tokengate)" in stderr
    assert "resource group rg-lab holds no resources" in stderr


def test_a_group_tagged_for_another_gateway_is_refused(fake: FakeCli, tmp_path: Path) -> None:
    tags = {GATEWAY_TAG: "other-gateway"}
    fake.answer("az", "group", "show", stdout=json.dumps({"name": "rg-lab", "tags": tags}))
    fake.answer("az", "resource", "list", stdout="[]")
    code, _, stderr = down(tmp_path)
    assert code == 3 and not deleted(fake)
    assert "the group itself carries tokengate-gateway=other-gateway, not lab-gateway" in stderr


def test_tag_names_compare_case_insensitively(fake: FakeCli, tmp_path: Path) -> None:
    shouted = {**APIM, "tags": {"Tokengate-Gateway": "lab-gateway"}}
    fake.answer("az", "resource", "list", stdout=json.dumps([shouted]))
    code, _, stderr = down(tmp_path)
    assert code == 0, stderr
    assert deleted(fake)


def test_tag_values_compare_exactly(fake: FakeCli, tmp_path: Path) -> None:
    """`lab-gateway-2` is another gateway, not this one (no prefix or case folding)."""
    near = [{**APIM, "tags": {GATEWAY_TAG: v}} for v in ("lab-gateway-2", "LAB-GATEWAY", "")]
    fake.answer("az", "resource", "list", stdout=json.dumps(near))
    code, _, stderr = down(tmp_path)
    assert code == 3 and not deleted(fake)
    assert "3 of its 3 resources are not tagged" in stderr


@pytest.mark.parametrize(
    ("listing", "message"),
    [
        ("null", "printed null, not a list"),
        ('{"value": []}', "printed an object, not a list"),
        ("[5]", "printed a list item that is not an object"),
        ("Traceback (most recent call last):", "printed text that is not JSON"),
    ],
)
def test_contents_that_cannot_be_read_are_never_deleted(
    fake: FakeCli, tmp_path: Path, listing: str, message: str
) -> None:
    fake.answer("az", "resource", "list", stdout=listing)
    code, _, stderr = down(tmp_path, "--delete-foreign-resources")
    assert code == 3 and not deleted(fake)
    assert message in stderr and "Traceback (most" not in stderr.replace(listing, "")


def test_a_failed_listing_is_never_deleted(fake: FakeCli, tmp_path: Path) -> None:
    fake.answer("az", "resource", "list", stderr="ERROR: (AuthorizationFailed) no.\n", exit=1)
    code, _, stderr = down(tmp_path)
    assert code == 3 and not deleted(fake)
    assert "cannot list the resources of rg-lab, so tokengate does not delete it" in stderr


@pytest.mark.parametrize("shown", ["[]", "null", '"rg-lab"', "not json"])
def test_a_group_show_that_is_not_a_group_is_never_deleted(
    fake: FakeCli, tmp_path: Path, shown: str
) -> None:
    fake.answer("az", "group", "show", stdout=shown)
    code, _, stderr = down(tmp_path)
    assert code == 3 and not deleted(fake)
    assert "`az group show --name rg-lab` printed" in stderr


@pytest.mark.parametrize(
    ("listing", "code", "said"),
    [
        ('{"oops": 1}', 3, "printed an object, not a list; tokengate deletes nothing"),
        ('[{"name": "x", "properties": "oops", "serviceId": 7}]', 0, "nothing soft-deleted"),
        ("[null, 3]", 0, "nothing soft-deleted to purge"),
    ],
)
def test_odd_soft_deleted_listings_are_messages(
    fake: FakeCli, tmp_path: Path, listing: str, code: int, said: str
) -> None:
    fake.answer("az", "apim", "deletedservice", "list", stdout=listing)
    exit_code, stdout, stderr = down(tmp_path)
    assert exit_code == code, stderr
    assert said in (stdout if code == 0 else stderr)
