"""`location` values checked against the dated list of Azure regions, with a "did you mean"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator import regions, rules
from generator.findings import Finding, json_path
from generator.load import LoadedSpec, PathKey
from generator.validate.schema import did_you_mean


def _locations(data: Any) -> Iterator[tuple[PathKey, object]]:
    if not isinstance(data, dict):
        return
    if "location" in data:
        yield ("location",), data["location"]
    accounts = data.get("openai")
    if isinstance(accounts, list):
        for i, account in enumerate(accounts):
            if isinstance(account, dict) and "location" in account:
                yield ("openai", i, "location"), account["location"]


def location_findings(spec: LoadedSpec) -> list[Finding]:
    """Locations that are strings but no Azure region name (other problems are the schema's)."""
    known = regions.known_regions()
    findings = []
    for path, value in _locations(spec.data):
        if not isinstance(value, str) or value in known:
            continue
        hint = did_you_mean(value, sorted(known)) or (
            "; `az account list-locations --query [].name` lists the names"
        )
        field = json_path(path).removeprefix("$.")
        findings.append(
            rules.NOT_ALLOWED.finding(
                spec,
                path,
                f"'{field}': {value!r} is not an Azure region name tokengate knows (its list is "
                f"of {regions.as_of()}){hint}",
            )
        )
    return findings
