"""Names: unique where APIM or ARM needs them unique, and derived Azure names within their rules."""

from __future__ import annotations

import re
from collections.abc import Iterator

from generator import azure
from generator.findings import Finding
from generator.load import LoadedSpec
from generator.naming import apim_name_prefix, subdomain_prefix
from generator.validate.rules.registry import duplicates, rule


@rule(
    "TG101",
    "Names are unique, ignoring case: accounts, deployments, products, consumers, dimensions, tags",
)
def unique_names(spec: LoadedSpec) -> Iterator[Finding]:
    data = spec.data
    accounts = data["openai"]
    yield from duplicates(
        unique_names,
        spec,
        [(("openai", i, "name"), a["name"]) for i, a in enumerate(accounts)],
        "account",
    )
    # Resource names are case-insensitive unless noted (Learn: "Naming rules and restrictions for
    # Azure resources"), so are tag names ("Use tags to organize your Azure resources"): GPT-4o
    # and gpt-4o would be one deployment. Two dimensions Team and team would only confuse a chart.
    for i, account in enumerate(accounts):
        yield from duplicates(
            unique_names,
            spec,
            [
                (("openai", i, "deployments", j, "name"), d["name"])
                for j, d in enumerate(account["deployments"])
            ],
            "deployment",
            fold_case=True,
        )
    yield from duplicates(
        unique_names,
        spec,
        [(("products", i, "name"), p["name"]) for i, p in enumerate(data.get("products", []))],
        "product",
        fold_case=True,
    )
    # APIM resource names are case-insensitive: team-a and Team-A would be the same subscription.
    yield from duplicates(
        unique_names,
        spec,
        [(("consumers", i, "name"), c["name"]) for i, c in enumerate(data.get("consumers", []))],
        "consumer",
        fold_case=True,
    )
    dims = data.get("tokenMetrics", {}).get("dimensions", [])
    yield from duplicates(
        unique_names,
        spec,
        [
            (("tokenMetrics", "dimensions", i), d if isinstance(d, str) else d["name"])
            for i, d in enumerate(dims)
        ],
        "dimension",
        fold_case=True,
    )
    yield from duplicates(
        unique_names,
        spec,
        [(("tags", name), name) for name in data.get("tags", {})],
        "tag",
        fold_case=True,
    )


@rule("TG117", "Product ids starting with 'tokengate-' are reserved for generated tiers")
def reserved_product_names(spec: LoadedSpec) -> Iterator[Finding]:
    for i, product in enumerate(spec.data.get("products", [])):
        if product["name"].startswith("tokengate-"):
            yield reserved_product_names.finding(
                spec,
                ("products", i, "name"),
                f"product '{product['name']}': ids starting with 'tokengate-' are reserved for "
                "the tiers tokengate generates",
            )


_APIM_NAME = re.compile(r"^[a-zA-Z](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$")


_SUBDOMAIN = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$")


@rule("TG107", "The APIM service name fits APIM's rules (1-50 chars, letter first, a-z 0-9 -)")
def apim_name(spec: LoadedSpec) -> Iterator[Finding]:
    length = len(apim_name_prefix(spec.data["name"])) + azure.UNIQUE_SUFFIX_LENGTH
    if length > azure.APIM_NAME_MAX:
        yield apim_name.finding(
            spec,
            ("name",),
            f"the APIM name would be {length} characters "
            f"(max {azure.APIM_NAME_MAX}); shorten 'name'",
        )
    if not _APIM_NAME.match(apim_name_prefix(spec.data["name"]) + "x"):
        yield apim_name.finding(spec, ("name",), "the APIM name would not be valid")


@rule("TG108", "Cognitive Services names and subdomains fit (2-64 chars, a-z 0-9 -)")
def subdomain_name(spec: LoadedSpec) -> Iterator[Finding]:
    for i, account in enumerate(spec.data["openai"]):
        prefix = subdomain_prefix(spec.data["name"], account["name"])
        length = len(prefix) + azure.UNIQUE_SUFFIX_LENGTH
        if length > azure.SUBDOMAIN_MAX:
            yield subdomain_name.finding(
                spec,
                ("openai", i, "name"),
                f"the custom subdomain '{prefix}<13 chars>' would be {length} "
                f"characters (max {azure.SUBDOMAIN_MAX}); shorten the gateway "
                "or account name",
            )
        elif not _SUBDOMAIN.match(prefix + "x"):
            yield subdomain_name.finding(
                spec,
                ("openai", i, "name"),
                f"the custom subdomain '{prefix}...' would not be a valid host name",
            )
