"""The what-if result (`--no-pretty-print` JSON) as a short change summary.

az's own pretty print shows every property of every resource; before a confirmation prompt the
user needs the list of resources that change and how, in a stable order.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from generator.deploy import az_json
from generator.errors import ExitCode, TokengateError

#: ARM's change types in the order a reviewer cares about them, with az's symbols.
CHANGE_SYMBOLS = {
    "Delete": "-",
    "Create": "+",
    "Modify": "~",
    "Deploy": "!",
    "Unsupported": "x",
    "NoChange": "=",
    "Ignore": "*",
}
_QUIET = frozenset({"NoChange", "Ignore"})


@dataclass(frozen=True, order=True)
class Change:
    rank: int
    change_type: str
    resource_type: str
    name: str
    reason: str = ""


def _unreadable(what: str) -> TokengateError:
    return TokengateError(
        f"what-if: az printed {what}, not a what-if result; nothing was deployed",
        exit_code=ExitCode.DEPLOY_FAILED,
    )


def parse(text: str) -> list[Change]:
    """The changes, or a TokengateError when the output is not a what-if result: the user is
    about to confirm a deployment, so a preview that cannot be read must stop it."""
    try:
        document: Any = json.loads(text)
    except ValueError:
        raise TokengateError(
            "what-if: az printed no JSON result", exit_code=ExitCode.DEPLOY_FAILED
        ) from None
    if isinstance(document, dict) and "properties" in document and "changes" not in document:
        document = document["properties"]
    if not isinstance(document, dict):
        raise _unreadable(az_json.kind(document))
    raw = document.get("changes")
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise _unreadable(f"`changes` as {az_json.kind(raw)}")
    ranks = {name: rank for rank, name in enumerate(CHANGE_SYMBOLS)}
    changes = []
    for item in raw:
        if not isinstance(item, dict):
            raise _unreadable(f"a change that is {az_json.kind(item)}, not an object")
        change_type = str(item.get("changeType", "Unsupported"))
        resource_type, name = split_resource_id(str(item.get("resourceId", "")))
        changes.append(
            Change(
                ranks.get(change_type, len(ranks)),
                change_type,
                resource_type,
                name,
                str(item.get("unsupportedReason") or ""),
            )
        )
    return sorted(changes)


def split_resource_id(resource_id: str) -> tuple[str, str]:
    """`/subscriptions/s/resourceGroups/g/providers/A.B/c/n/d/m` → (`A.B/c/d`, `n/m`)."""
    parts = [p for p in resource_id.split("/") if p]
    if "providers" not in parts:
        if len(parts) >= 4 and parts[2].lower() == "resourcegroups":
            return "Microsoft.Resources/resourceGroups", parts[3]
        return "", resource_id
    # Extension resources (role assignments) nest: the last `providers` names the resource.
    last_providers = len(parts) - 1 - parts[::-1].index("providers")
    namespace, *pairs = parts[last_providers + 1 :]
    return "/".join([namespace, *pairs[0::2]]), "/".join(pairs[1::2])


def summary(changes: list[Change]) -> list[str]:
    counts = Counter(change.change_type for change in changes)
    if not changes:
        return ["what-if: no resources in the result"]
    words = {
        "Create": "to create",
        "Modify": "to modify",
        "Delete": "to delete",
        "Deploy": "to redeploy",
        "Unsupported": "unsupported by what-if",
        "NoChange": "unchanged",
        "Ignore": "ignored",
    }
    totals = ", ".join(
        f"{counts[kind]} {words[kind]}" for kind in CHANGE_SYMBOLS if counts.get(kind)
    )
    lines = [f"what-if: {totals}"]
    width = max((len(c.resource_type) for c in changes if c.change_type not in _QUIET), default=0)
    for change in changes:
        if change.change_type in _QUIET:
            continue
        symbol = CHANGE_SYMBOLS.get(change.change_type, "?")
        line = f"  {symbol} {change.change_type:<11} {change.resource_type:<{width}}  {change.name}"
        if change.reason:
            line += f"  ({change.reason})"
        lines.append(line.rstrip())
    return lines
