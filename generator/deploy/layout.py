"""Which files a deployment needs, and where: render's output plus a subscription-scope entry.

- Resource-group scope deploys render's `main.bicep` as it is.
- Subscription scope adds `subscription.bicep`, which creates the resource group and deploys
  `main.bicep` into it as a module (`az deployment sub create`).
- The azd project puts the same entry at `infra/main.bicep` (azd's convention), render's
  `main.bicep` beside it as `infra/gateway.bicep`, and every other rendered file (modules,
  policies) at its usual place under `infra/`, so every relative path still resolves.

The entry's parameters and outputs are read from the rendered `main.bicep`, so it passes through
exactly what render declares; no gateway template is written twice.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from typing import Any

from generator import __version__, azure
from generator.deploy.preflight import MIN_AZD
from generator.deploy.target import (
    RESOURCE_GROUP_SCOPE,
    Target,
    check_deployment_name,
    deployment_name,
)
from generator.errors import TokengateError
from generator.invocation import up_note
from generator.pipeline import LAB_SPEC_NAME, Compiled
from generator.render import RenderedFile, environment, parameters
from generator.stages import STAGE_FOLDER, stage_paths

SUBSCRIPTION_TEMPLATE = "subscription.bicep"
SUBSCRIPTION_PARAMETERS = "subscription.parameters.json"
GATEWAY_TEMPLATE = "main.bicep"
GATEWAY_PARAMETERS = "main.parameters.json"
AZD_GATEWAY = "gateway.bicep"
AZD_INFRA = "infra"

_PARAM = re.compile(r"^param (\w+) (\w+)", re.MULTILINE)
_OUTPUT = re.compile(r"^output (\w+) (\w+) =", re.MULTILINE)
_PARAMETERS_SCHEMA = (
    "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#"
)
#: azd substitutes `${NAME}` (and `$NAME`) in its parameters file.
_AZD_VARIABLES = {
    "environmentName": "${AZURE_ENV_NAME}",
    "principalId": "${AZURE_PRINCIPAL_ID}",
    "resourceGroupLocation": "${AZURE_LOCATION}",
}


def entry_paths(target: Target) -> tuple[str, str]:
    """(template, parameters) that `az deployment` is given, relative to the output folder."""
    if target.at_subscription:
        return SUBSCRIPTION_TEMPLATE, SUBSCRIPTION_PARAMETERS
    return GATEWAY_TEMPLATE, GATEWAY_PARAMETERS


def later_stages(compiled: Compiled, target: Target) -> list[tuple[Target, str, str]]:
    """The deployment stages after the entry, in order: (target, template, parameters).

    Each is a resource-group deployment (the group exists once stage 1 ran) with its own stable
    name, `<deployment>-stage-NN`, so running it again updates what it created.
    """
    stages = []
    for template, values in stage_paths(compiled.files):
        number = template.removeprefix(STAGE_FOLDER + "/")[:2]
        stage_target = dataclasses.replace(
            target,
            scope=RESOURCE_GROUP_SCOPE,
            deployment_name=check_deployment_name(
                f"{target.deployment_name}-stage-{number}", "stage deployment name"
            ),
        )
        stages.append((stage_target, template, values))
    return stages


def deploy_files(compiled: Compiled, target: Target) -> dict[str, RenderedFile]:
    """What `deploy` writes: render's files, plus the subscription-scope entry when needed."""
    files = dict(compiled.files)
    if target.at_subscription:
        files[SUBSCRIPTION_TEMPLATE] = RenderedFile(
            SUBSCRIPTION_TEMPLATE, entry_template(compiled, gateway_module=GATEWAY_TEMPLATE)
        )
        values = {
            "resourceGroupName": target.resource_group,
            "resourceGroupLocation": target.location,
        }
        files[SUBSCRIPTION_PARAMETERS] = RenderedFile(
            SUBSCRIPTION_PARAMETERS, parameters_file(compiled, values, command="deploy")
        )
    return dict(sorted(files.items()))


def azd_files(compiled: Compiled, resource_group: str | None) -> dict[str, RenderedFile]:
    """The azd project: `azure.yaml`, `.gitignore` and `infra/` (see the module docstring)."""
    _refuse_azd_substitution(compiled)
    texts = {
        "azure.yaml": _template(
            "azd/azure.yaml.j2",
            compiled,
            min_azd=".".join(map(str, MIN_AZD)),
            note=_note(compiled, "up"),
        ),
        ".gitignore": "# azd keeps each environment's state here; it is not source.\n.azure/\n",
        f"{AZD_INFRA}/main.bicep": entry_template(
            compiled, gateway_module=AZD_GATEWAY, azd=True, default_group=resource_group is None
        ),
        f"{AZD_INFRA}/developer-access.bicep": _template(
            "azd/developer-access.bicep.j2", compiled, note=_note(compiled, "up")
        ),
    }
    own: dict[str, Any] = dict(_AZD_VARIABLES)
    if resource_group is not None:
        own["resourceGroupName"] = resource_group
    texts[f"{AZD_INFRA}/main.parameters.json"] = parameters_file(compiled, own, command="up")
    for path, rendered in compiled.files.items():
        if path == GATEWAY_PARAMETERS:
            continue
        target = AZD_GATEWAY if path == GATEWAY_TEMPLATE else path
        texts[f"{AZD_INFRA}/{target}"] = rendered.content
    return {path: RenderedFile(path, texts[path]) for path in sorted(texts)}


def gateway_parameters(compiled: Compiled) -> list[tuple[str, str]]:
    """(name, type) of each main.bicep parameter tokengate gives a value."""
    declared = dict(_PARAM.findall(compiled.files[GATEWAY_TEMPLATE].content))
    return [(name, declared[name]) for name in parameters(compiled.gateway) if name in declared]


def gateway_outputs(compiled: Compiled) -> list[tuple[str, str]]:
    return _OUTPUT.findall(compiled.files[GATEWAY_TEMPLATE].content)


def entry_template(
    compiled: Compiled, *, gateway_module: str, azd: bool = False, default_group: bool = False
) -> str:
    """The subscription-scope entry: resource group, then the gateway as a module inside it."""
    params = gateway_parameters(compiled)
    return _template(
        "azd/main.bicep.j2",
        compiled,
        azd=azd,
        default_group=default_group,
        gateway_module=gateway_module,
        gateway_params=params,
        has_tags=any(name == "tags" for name, _ in params),
        gateway_outputs=gateway_outputs(compiled),
        deployment_name=deployment_name(compiled.gateway),
        resource_groups_api_version=azure.API_VERSIONS["Microsoft.Resources/resourceGroups"],
        note=_note(compiled, "up" if azd else "deploy"),
    )


def _note(compiled: Compiled, command: str) -> str:
    """Files in out/ (subscription scope) carry render's note, since `render` writes them too;
    the azd project's files name `tokengate up` with the spec it was written from."""
    if command != "up":
        return compiled.gateway.regenerate_note
    return up_note(compiled.spec.file, compiled.spec.file == LAB_SPEC_NAME)


def parameters_file(compiled: Compiled, own: dict[str, Any], *, command: str) -> str:
    """The entry's parameters: its own (`own`) first, then the gateway's as render gives them."""
    gateway_values = parameters(compiled.gateway)
    clash = sorted(set(own) & set(gateway_values))
    if clash:
        raise TokengateError(f"internal: entry parameters {clash} clash with main.bicep's")
    header = {
        "generatedBy": f"tokengate {__version__}",
        "source": compiled.gateway.source,
        "note": _note(compiled, command),
    }
    values = {**own, **gateway_values}
    document = {
        "$schema": _PARAMETERS_SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": {
            name: ({"metadata": header} if i == 0 else {}) | {"value": value}
            for i, (name, value) in enumerate(values.items())
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _template(name: str, compiled: Compiled, **context: Any) -> str:
    gateway = compiled.gateway
    text = (
        environment()
        .get_template(name)
        .render(gw=gateway, inference_role=azure.inference_role(gateway.api.family), **context)
    )
    return text.replace("\r\n", "\n")


def _refuse_azd_substitution(compiled: Compiled) -> None:
    """azd would replace `$NAME`/`${NAME}` inside spec values with environment variables."""
    for path, value in _strings(parameters(compiled.gateway), ()):
        if "$" in value:
            field = ".".join(str(part) for part in path)
            raise TokengateError(
                f"{compiled.spec.file}: `tokengate up` cannot pass {field} = {value!r}: azd "
                "substitutes '$' in its parameters file; remove the '$' or use `tokengate deploy`"
            )


def _strings(node: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, (*path, index))
