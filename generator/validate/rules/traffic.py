"""Traffic and identity: backend pools, API family, counter keys, keys and Entra ID."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from generator import counter_keys
from generator.findings import Finding
from generator.load import LoadedSpec
from generator.model.defaults import with_defaults
from generator.validate.rules.registry import limit_blocks, rule


@rule("TG102", "Accounts sharing a deployment name serve the same model (they form a pool)")
def pooled_deployments_match(spec: LoadedSpec) -> Iterator[Finding]:
    first: dict[str, tuple[str, str, str]] = {}
    for i, account in enumerate(spec.data["openai"]):
        for j, deployment in enumerate(account["deployments"]):
            name = deployment["name"]
            served = (deployment["model"], deployment["version"])
            if name not in first:
                first[name] = (account["name"], *served)
                continue
            other, model, version = first[name]
            if (model, version) != served:
                yield pooled_deployments_match.finding(
                    spec,
                    ("openai", i, "deployments", j, "model"),
                    f"deployment '{name}' is {served[0]} {served[1]} here but {model} {version} "
                    f"on account '{other}'; accounts sharing a deployment name form a backend "
                    "pool and must serve the same model and version",
                )


@rule("TG140", "The llm API family needs AI Services accounts that all serve the same models")
def llm_family(spec: LoadedSpec) -> Iterator[Finding]:
    if spec.data["api"]["family"] != "llm":
        return
    accounts = spec.data["openai"]
    for i, account in enumerate(accounts):
        if account["kind"] != "AIServices":
            yield llm_family.finding(
                spec,
                ("openai", i, "name"),
                f"account '{account['name']}' must be kind AIServices for the llm family (the "
                "model inference endpoint lives on AI Services accounts)",
            )
    served = [sorted(d["name"] for d in a["deployments"]) for a in accounts]
    if any(names != served[0] for names in served[1:]):
        yield llm_family.finding(
            spec,
            ("openai",),
            "with the llm family the model is named in the request body, so the gateway cannot "
            "route by deployment: every account must serve the same deployments (one pool)",
            key=True,
        )


_CLAIM = re.compile(r"^[A-Za-z0-9_.:/-]{1,128}$")


_HEADER = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _balanced(expression: str) -> bool:
    depth = 0
    in_string = False
    escaped = False
    for char in expression:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not in_string


@rule(
    "TG113",
    "The counter key is subscription, ip, header:<name>, claim:<name> (Entra ID) or one @(...)",
)
def counter_key_form(spec: LoadedSpec) -> Iterator[Finding]:
    key = spec.data.get("tokenLimit", {}).get("counterKey")
    if key is None or key in ("subscription", "ip"):
        return
    path = ("tokenLimit", "counterKey")
    if key.startswith("header:"):
        if not _HEADER.match(key.removeprefix("header:")):
            yield counter_key_form.finding(
                spec, path, f"'{key}' does not name a valid HTTP header after 'header:'"
            )
        return
    if key.startswith("claim:"):
        if not _CLAIM.match(key.removeprefix("claim:")):
            yield counter_key_form.finding(
                spec, path, f"'{key}' does not name a token claim after 'claim:'"
            )
        elif "entra" not in spec.data["auth"]:
            yield counter_key_form.finding(
                spec,
                path,
                f"'{key}' reads a claim of the caller's Entra ID token: configure 'auth.entra' "
                "so the gateway validates one",
            )
        return
    text = key.strip()
    if not (text.startswith("@(") and text.endswith(")") and _balanced(text[1:])):
        yield counter_key_form.finding(
            spec,
            path,
            f"counterKey {key!r} is not one of: {counter_keys.forms_text(', ')}",
        )


def _counts_tokens(data: dict[str, Any]) -> bool:
    return any(
        {"tokensPerMinute", "quota", "budget"} & set(block) for _, block in limit_blocks(data)
    )


def _counter_key(data: dict[str, Any]) -> str:
    default: str = with_defaults({"tokenLimit": {}})["tokenLimit"]["counterKey"]
    return str(data.get("tokenLimit", {}).get("counterKey", default))


@rule("TG119", "Without subscription keys, callers are identified by Entra ID tokens")
def keyless_needs_entra(spec: LoadedSpec) -> Iterator[Finding]:
    auth = spec.data["auth"]
    if auth["subscriptionRequired"]:
        return
    if "entra" not in auth:
        yield keyless_needs_entra.finding(
            spec,
            ("auth", "subscriptionRequired"),
            "with 'subscriptionRequired: false' and no 'auth.entra', anyone could call the API",
        )
    elif _counts_tokens(spec.data) and _counter_key(spec.data) == "subscription":
        yield keyless_needs_entra.finding(
            spec,
            ("auth", "subscriptionRequired"),
            "keys are optional, so counting tokens per subscription would lump every keyless "
            "caller together: set 'tokenLimit.counterKey' to a claim, e.g. 'claim:appid'",
        )
