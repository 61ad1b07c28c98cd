"""What the rendered gateway declares, read from the rendered files themselves.

The emulator answers with the header names the policies carry and accepts the subscription key
where the deployed API expects it, so both are read from what `render` wrote rather than
repeated here: change a template and the emulator follows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from lxml import etree

from generator.errors import TokengateError
from generator.render import RenderedFile

#: The API module's `subscriptionKeyParameterNames: { header: '...' query: '...' }`.
_KEY_NAMES = re.compile(
    r"subscriptionKeyParameterNames:\s*\{\s*header:\s*'([^']+)'\s*query:\s*'([^']+)'\s*\}"
)
API_MODULE = "modules/api.bicep"


@dataclass(frozen=True)
class LimitHeaders:
    """Response headers one token-limit element declares; "" when it declares none."""

    remaining_tokens: str = ""
    remaining_quota_tokens: str = ""
    tokens_consumed: str = ""


@dataclass(frozen=True)
class KeyNames:
    """Where APIM reads the subscription key (the API's subscriptionKeyParameterNames)."""

    header: str
    query: str


def key_names(files: Mapping[str, RenderedFile]) -> KeyNames:
    module = files.get(API_MODULE)
    match = _KEY_NAMES.search(module.content) if module else None
    if match is None:
        raise TokengateError(f"{API_MODULE} names no subscription key header: cannot emulate it")
    return KeyNames(match.group(1), match.group(2))


def limit_headers(files: Mapping[str, RenderedFile]) -> dict[str, LimitHeaders]:
    """Counter-key attribute (as rendered) → the headers of its token-limit element."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    found: dict[str, LimitHeaders] = {}
    for path in sorted(files):
        if not (path.startswith("policies/") and path.endswith(".xml")):
            continue
        root = etree.fromstring(files[path].content.encode("utf-8"), parser)
        for element in root.iter():
            if not isinstance(element.tag, str) or not element.tag.endswith("-token-limit"):
                continue
            found[element.get("counter-key", "")] = LimitHeaders(
                element.get("remaining-tokens-header-name", ""),
                element.get("remaining-quota-tokens-header-name", ""),
                element.get("tokens-consumed-header-name", ""),
            )
    return found
