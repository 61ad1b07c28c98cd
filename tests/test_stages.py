"""Deployment stages: a gateway one ARM deployment cannot hold is split into ordered,
self-contained deployments, each within every ARM template limit, and `deploy`/`up` run them in
order (fake `az`/`azd` on PATH record the real argv).

ARM's template limits (4 MB, 800 resources, 256 parameters, 64 outputs) are from
https://learn.microsoft.com/azure/azure-resource-manager/templates/best-practices#template-limits
and APIM's 75,000 subscriptions on Premium from
https://learn.microsoft.com/azure/api-management/api-management-key-concepts (service limits,
https://learn.microsoft.com/azure/azure-resource-manager/management/azure-subscription-service-limits#api-management-limits).
"""

from __future__ import annotations

import json
import re
import shlex
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from fixtures.deploy.harness import SUBSCRIPTION_ID, FakeCli
from support import GOOD_SPECS, parse_bicep, syntax_problems

from generator import azure, pipeline
from generator.cli import main
from generator.errors import SpecInvalid
from generator.limits import footprints
from generator.load import load_text
from generator.pipeline import Compiled, compile_spec
from generator.render import render
from generator.stages import stage_paths, staged

_MODULE_CALL = re.compile(r"^module (\w+) '([^']+)'", re.M)
_LOADED_DATA = re.compile(r"loadJsonContent\('([^']+)'\)")


def distinct_spec(
    consumers: int, *, budgets: int = 2_000, sku: str = "PremiumV2"
) -> dict[str, Any]:
    """Every consumer with its own budget: `budgets` distinct quotas (the tier's product limit
    is 2,000, so they become at most that many generated tiers)."""
    data: dict[str, Any] = yaml.safe_load((GOOD_SPECS[0].parent / "lab.yaml").read_text())
    data["apim"]["sku"] = sku
    data["openai"][0]["deployments"][0]["capacity"] = 30_000
    data["products"] = []
    data["consumers"] = [
        {
            "name": f"app-{i:05d}",
            "tokensPerMinute": 300,
            "quota": 100_000 + i % budgets,
            "quotaPeriod": "Daily",
        }
        for i in range(consumers)
    ]
    return data


def compile_data(data: dict[str, Any]) -> Compiled:
    return compile_spec(load_text(yaml.safe_dump(data), "platform.yaml"))


@cache
def distinct_ten_thousand() -> Compiled:
    return compile_data(distinct_spec(10_000))


def assert_within_arm_limits(result: Compiled, limit_bytes: int) -> None:
    for path, fp in footprints(result.gateway, result.files).items():
        assert fp.resources <= azure.MAX_TEMPLATE_RESOURCES, path
        assert fp.parameters <= azure.MAX_TEMPLATE_PARAMETERS, path
        assert fp.outputs <= azure.MAX_TEMPLATE_OUTPUTS, path
        assert fp.estimated_bytes <= limit_bytes, (path, fp.estimated_bytes)


def assert_stages_cover_every_batch_once(result: Compiled) -> None:
    files = result.files
    stages = stage_paths(files)
    assert stages, "expected deployment stages"
    main_calls = [m for _, m in _MODULE_CALL.findall(files["main.bicep"].content)]
    assert not any("products" in m or "subscriptions" in m for m in main_calls), main_calls
    called: list[str] = []
    kinds: list[str] = []
    for template, parameters in stages:
        text = files[template].content
        assert syntax_problems(parse_bicep(text)) == [], template
        kinds.append(template.rsplit("-", 1)[1].removesuffix(".bicep"))
        called += [m.removeprefix("../") for _, m in _MODULE_CALL.findall(text)]
        called += [d.removeprefix("../") for d in _LOADED_DATA.findall(text)]
        values = json.loads(files[parameters].content)["parameters"]
        assert {name: v["value"] for name, v in values.items()} == {
            "gatewayName": result.gateway.name
        }
        # The stage names API Management exactly as main.bicep does.
        for line in ("var suffix = ", "var apimNamePrefix = "):
            main_line = next(x for x in files["main.bicep"].content.splitlines() if line in x)
            assert main_line in text.splitlines(), (template, line)
    # Products before subscriptions (a subscription is scoped to its product).
    assert kinds == sorted(kinds, key=lambda k: k != "products"), kinds
    product_modules = sorted(p for p in files if re.fullmatch(r"modules/products(-\d+)?\.bicep", p))
    data = sorted(p for p in files if p.startswith("subscriptions/"))
    assert sorted(c for c in called if c.startswith("modules/products")) == product_modules
    assert sorted(c for c in called if c.startswith("subscriptions/")) == data
    assert len(data) == len(set(data))


def test_ten_thousand_distinct_budgets_stage_within_arm_limits() -> None:
    """2,000 distinct budgets (the Premium product limit): the product modules with their
    policies are far over 4 MB inlined into main.bicep, so they go to stages."""
    result = distinct_ten_thousand()
    assert sum(p.generated for p in result.gateway.products) == 2_000
    assert_within_arm_limits(result, azure.MAX_TEMPLATE_BYTES)
    assert_stages_cover_every_batch_once(result)


def test_forced_small_limit_stages_twenty_thousand_subscriptions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the template limit forced down to 1 MiB, 20,000 shared-budget consumers (which fit
    4 MB) are split into several subscription stages, each within the forced limit."""
    data = distinct_spec(20_000, budgets=1)  # one budget shared by everyone: one tier
    monkeypatch.setattr(azure, "MAX_TEMPLATE_BYTES", 1024 * 1024)
    result = compile_data(data)
    unstaged = render(result.gateway)
    monkeypatch.setattr(azure, "MAX_TEMPLATE_BYTES", 4 * 1024 * 1024)
    assert stage_paths(staged(result.gateway, dict(unstaged))) == [], "fits 4 MB unstaged"
    assert len([t for t, _ in stage_paths(result.files) if "subscriptions" in t]) >= 3
    assert_within_arm_limits(result, 1024 * 1024)
    assert_stages_cover_every_batch_once(result)
    # Staging only moves module calls: every module, policy and data file is unchanged.
    for path, rendered in unstaged.items():
        if path != "main.bicep":
            assert result.files[path].content == rendered.content, path


def test_tier_limits_are_checked_before_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_render(gateway: object) -> None:
        raise AssertionError("rendered although the tier cannot hold the consumers")

    monkeypatch.setattr(pipeline, "render", no_render)
    with pytest.raises(SpecInvalid) as raised:
        compile_data(distinct_spec(10_001, budgets=1, sku="Developer"))
    assert "TG131" in raised.value.message


SMALL_LIMIT = 150_000


def staged_spec(tmp_path: Path) -> Path:
    path = tmp_path / "platform.yaml"
    path.write_text(yaml.safe_dump(distinct_spec(3_000, budgets=1)), encoding="utf-8")
    return path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def expected_stage_argv(out: Path, verb: str, files: list[tuple[str, str]]) -> list[list[str]]:
    tail = ["--no-pretty-print", "--output", "json"] if verb == "what-if" else ["--output", "json"]
    return [
        [
            "az", "deployment", "group", verb,
            "--name", f"tokengate-lab-gateway-stage-{template[7:9]}",
            "--resource-group", "rg-lab",
            "--template-file", str(out / template),
            "--parameters", f"@{out / parameters}",
            "--subscription", SUBSCRIPTION_ID,
            *tail,
        ]
        for template, parameters in files
    ]  # fmt: skip


def test_deploy_runs_every_stage_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(azure, "MAX_TEMPLATE_BYTES", SMALL_LIMIT)
    fake = FakeCli(tmp_path / "fake", monkeypatch, ("az",)).healthy_az()
    spec, out = staged_spec(tmp_path), tmp_path / "out"
    code, stdout, stderr = invoke("deploy", str(spec), "-g", "rg-lab", "--yes", "--out", str(out))
    assert code == 0, stderr
    stages = stage_paths({str(p.relative_to(out)): None for p in out.rglob("*.bicep")})
    assert len(stages) >= 2
    deployments = [c for c in fake.calls() if c[:2] == ["az", "deployment"] and c[3] != "list"]
    main_args = [
        "--name", "tokengate-lab-gateway", "--resource-group", "rg-lab",
        "--template-file", str(out / "main.bicep"),
        "--parameters", f"@{out / 'main.parameters.json'}", "--subscription", SUBSCRIPTION_ID,
    ]  # fmt: skip
    assert deployments == [
        ["az", "deployment", "group", "what-if", *main_args,
         "--no-pretty-print", "--output", "json"],
        *expected_stage_argv(out, "what-if", stages),
        ["az", "deployment", "group", "create", *main_args, "--output", "json"],
        *expected_stage_argv(out, "create", stages),
    ]  # fmt: skip
    for template, parameters in stages:
        assert (out / template).is_file() and (out / parameters).is_file()

    # --dry-run prints exactly those commands, in the same order, and runs none.
    before = len(fake.calls())
    code, stdout, stderr = invoke(
        "deploy", str(spec), "-g", "rg-lab", "--dry-run", "--out", str(out)
    )
    assert code == 0, stderr
    assert len(fake.calls()) == before
    printed = [shlex.split(line) for line in stdout.splitlines() if line.startswith("az ")]
    # A dry run has not asked az which subscription is signed in, so nothing pins it.
    assert printed == [without_subscription(c) for c in deployments]


def without_subscription(argv: list[str]) -> list[str]:
    at = argv.index("--subscription")
    return argv[:at] + argv[at + 2 :]


def test_up_runs_the_stages_after_azd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(azure, "MAX_TEMPLATE_BYTES", SMALL_LIMIT)
    fake = FakeCli(tmp_path / "fake", monkeypatch, ("az", "azd")).healthy_az().healthy_azd()
    spec, project = staged_spec(tmp_path), tmp_path / "azd"
    code, _, stderr = invoke("up", str(spec), "--project-dir", str(project))
    assert code == 0, stderr
    calls = fake.calls()
    up_at = next(i for i, c in enumerate(calls) if c[:2] == ["azd", "up"])
    creates = [c for c in calls if c[:4] == ["az", "deployment", "group", "create"]]
    stage_files = sorted(
        str(p.relative_to(project / "infra"))
        for p in (project / "infra" / "stages").glob("*.bicep")
    )
    assert len(creates) == len(stage_files) >= 2
    assert all(calls.index(c) > up_at for c in creates)
    for create, template in zip(creates, stage_files, strict=True):
        assert create[create.index("--template-file") + 1] == str(project / "infra" / template)
        assert create[create.index("--resource-group") + 1] == "rg-lab-gateway"
        assert create[create.index("--subscription") + 1] == SUBSCRIPTION_ID


def test_up_dry_run_prints_the_stages_after_azd_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(azure, "MAX_TEMPLATE_BYTES", SMALL_LIMIT)
    fake = FakeCli(tmp_path / "fake", monkeypatch, ("az", "azd")).healthy_az().healthy_azd()
    spec, project = staged_spec(tmp_path), tmp_path / "azd"
    code, stdout, stderr = invoke("up", str(spec), "--project-dir", str(project), "--dry-run")
    assert code == 0, stderr
    assert fake.calls() == [] and not project.exists()
    lines = [shlex.split(line) for line in stdout.splitlines() if line.startswith("az")]
    assert lines[0][:2] in (["azd", "env"], ["azd", "up"])
    up_at = next(i for i, argv in enumerate(lines) if argv[:2] == ["azd", "up"])
    stages = lines[up_at + 1 :]
    assert len(stages) >= 2
    for number, argv in enumerate(stages, start=2):
        assert argv[:4] == ["az", "deployment", "group", "create"]
        assert argv[argv.index("--name") + 1] == f"tokengate-lab-gateway-stage-{number:02d}"
        # azd's default group for the environment (infra/main.bicep: rg-<environment>).
        assert argv[argv.index("--resource-group") + 1] == "rg-lab-gateway"
        assert argv[argv.index("--template-file") + 1].startswith(str(project / "infra" / "stages"))
