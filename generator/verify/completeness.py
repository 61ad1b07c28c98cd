"""Whether the files add up to one deployable template: an entry point, every Bicep file reached
from it, and every module call matching the module it calls (TG206-TG208).

These catch what per-file checks cannot: an empty folder, a deleted `main.bicep`, a module cut
short (its comments still parse, but the parameters `main.bicep` passes are gone), and stray
`.bicep` files Bicep would never deploy (a file of comments only deploys nothing either way: render
writes one for a module with nothing to do). The entry points are the ones tokengate writes:
`main.bicep` (plus `subscription.bicep`, deploy's subscription-scope entry that calls it), or
`infra/main.bicep` in an azd project (a folder with `azure.yaml`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from generator.findings import Finding
from generator.verify import rules
from generator.verify.bicep import BicepFile
from generator.verify.paths import kind

ENTRY = "main.bicep"
SUBSCRIPTION_ENTRY = "subscription.bicep"
AZD_ENTRY = "infra/main.bicep"
#: The folder of deployment stages after main.bicep (generator/stages.py; not imported, since
#: verify reads folders without rendering).
STAGE_FOLDER = "stages"


def _entries(files: Mapping[str, str]) -> tuple[str, list[str]]:
    """(the entry point the folder needs, the entry points it has). Deployment stages
    (`stages/NN-*.bicep`, see generator/stages.py) are entry points after the first."""
    if ENTRY not in files and "azure.yaml" in files:
        return AZD_ENTRY, [AZD_ENTRY, *_stages(files, "infra/")] if AZD_ENTRY in files else []
    entries = [name for name in (ENTRY, SUBSCRIPTION_ENTRY) if name in files]
    return ENTRY, [*entries, *_stages(files, "")] if entries else []


def _stages(files: Mapping[str, str], prefix: str) -> list[str]:
    folder = f"{prefix}{STAGE_FOLDER}/"
    return sorted(
        path
        for path in files
        if path.startswith(folder) and path.endswith(".bicep") and "/" not in path[len(folder) :]
    )


def completeness_findings(
    files: Mapping[str, str], parsed: Mapping[str, BicepFile]
) -> Iterator[Finding]:
    required, entries = _entries(files)
    if not entries and parsed:
        yield rules.ENTRY_POINT.at(
            required,
            1,
            1,
            f"{required} is missing: nothing calls the {len(parsed)} .bicep file(s) here",
        )
    if entries:
        reached = _reached(entries, parsed)
        for path in sorted(set(parsed) - reached):
            if not _declares_anything(parsed[path]):
                continue  # only comments: render's placeholder for a module with nothing to do
            yield rules.STRAY_TEMPLATE.at(
                path,
                1,
                1,
                f"no module declaration reaches this file from {' or '.join(entries)}; "
                "it would not be deployed (left over, or a module path is wrong)",
            )
    for bicep in parsed.values():
        yield from _module_call_findings(bicep, parsed)


def _declares_anything(bicep: BicepFile) -> bool:
    return any(child.type != "comment" for child in bicep.tree.root_node.children)


def _reached(entries: list[str], parsed: Mapping[str, BicepFile]) -> set[str]:
    reached: set[str] = set()
    todo = [entry for entry in entries if entry in parsed]
    while todo:
        path = todo.pop()
        if path in reached:
            continue
        reached.add(path)
        for call in parsed[path].module_calls:
            if call.reference.target in parsed:
                todo.append(call.reference.target)
    return reached


def _module_call_findings(bicep: BicepFile, parsed: Mapping[str, BicepFile]) -> Iterator[Finding]:
    for call in bicep.module_calls:
        module = parsed.get(call.reference.target)
        if module is None or call.passed is None or kind(call.reference.target) != "bicep":
            continue  # a missing module is TG202; computed params cannot be checked
        declared = {parameter.name for parameter in module.parameters}
        unknown = sorted(call.passed - declared)
        missing = sorted(
            p.name for p in module.parameters if p.required and p.name not in call.passed
        )
        where = (bicep.path, call.reference.line, call.reference.column)
        if unknown:
            yield rules.MODULE_PARAMETERS.at(
                *where,
                f"passes {', '.join(unknown)}, which {call.reference.target} does not declare "
                "(a Bicep build error; is the module cut short or out of date?)",
            )
        if missing:
            yield rules.MODULE_PARAMETERS.at(
                *where,
                f"does not pass {', '.join(missing)}, which {call.reference.target} requires",
            )
