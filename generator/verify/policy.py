"""Checks on APIM policy documents: well-formed, the four sections each calling `<base />`,
known policy elements only, and token policies with valid attributes.

These catch what APIM would reject at deployment (or, worse, accept and ignore: a misspelt
optional attribute is silently dropped), with the line and column of the element at fault.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from lxml import etree

from generator import azure
from generator.findings import Finding, Rule
from generator.verify import policy_catalog as catalog
from generator.verify import rules
from generator.verify.arm_limits import policy_bytes_over_limit

_LIBXML_POSITION = re.compile(r",? line \d+, column \d+$")
_INTEGER = re.compile(r"^[0-9]+$")


def is_expression(value: str) -> bool:
    """A policy expression (`@(...)` or `@{...}`), which APIM evaluates per request."""
    return value.startswith(("@(", "@{"))


def parse_policy(text: str) -> etree._Element:
    """Parse a policy without DTDs, entities or network access (raises XMLSyntaxError)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(text.encode("utf-8"), parser)


@dataclass
class _Locator:
    """Columns for elements and attributes (libxml2 reports only an element's line)."""

    path: str
    lines: list[str]
    seen: dict[tuple[int, str], int] = field(default_factory=dict)
    places: dict[int, tuple[int, int]] = field(default_factory=dict)

    def element(self, element: etree._Element) -> tuple[int, int]:
        key = id(element)
        if key not in self.places:
            line: int = getattr(element, "sourceline", None) or 1
            tag = str(element.tag)
            nth = self.seen.get((line, tag), 0)
            self.seen[(line, tag)] = nth + 1
            text = self.lines[line - 1] if line <= len(self.lines) else ""
            starts = [m.start() for m in re.finditer(rf"<{re.escape(tag)}(?=[\s/>])", text)]
            column = starts[nth] + 1 if nth < len(starts) else 1
            self.places[key] = (line, column)
        return self.places[key]

    def attribute(self, element: etree._Element, name: str) -> tuple[int, int]:
        line, column = self.element(element)
        pattern = re.compile(rf"(?<![\w-]){re.escape(name)}\s*=")
        for offset, text in enumerate(self.lines[line - 1 :]):
            start = column - 1 if offset == 0 else 0
            match = pattern.search(text, start)
            if match:
                return line + offset, match.start() + 1
            if ">" in text[start:]:
                break
        return line, column

    def finding(self, place: tuple[int, int], rule: Rule, message: str) -> Finding:
        return rule.at(self.path, place[0], place[1], message)


def policy_findings(path: str, text: str) -> list[Finding]:
    """Every problem in one policy document."""
    findings: list[Finding] = []
    size = policy_bytes_over_limit(text)
    if size is not None:
        findings.append(
            rules.POLICY_SIZE.at(
                path,
                1,
                1,
                f"the policy is {size:,} bytes; APIM accepts policy documents up to "
                f"{azure.MAX_POLICY_BYTES:,} bytes (256 KiB)",
            )
        )
    try:
        root = parse_policy(text)
    except etree.XMLSyntaxError as error:
        line, column = error.position
        message = _LIBXML_POSITION.sub("", error.msg or "not well-formed")
        findings.append(
            rules.MALFORMED_XML.at(path, line or 1, column or 1, f"malformed XML: {message}")
        )
        return findings
    locate = _Locator(path, text.split("\n"))
    findings.extend(_document(root, locate))
    return findings


def _elements(parent: etree._Element) -> list[etree._Element]:
    """Child elements, without comments and processing instructions."""
    return [child for child in parent if isinstance(child.tag, str)]


def _document(root: etree._Element, locate: _Locator) -> Iterator[Finding]:
    if root.tag != "policies":
        yield locate.finding(
            locate.element(root),
            rules.POLICY_SECTIONS,
            f"the root element is <{root.tag}>, not <policies>",
        )
        return
    sections = _elements(root)
    names = [str(section.tag) for section in sections]
    for section in sections:
        if section.tag not in catalog.SECTIONS:
            yield locate.finding(
                locate.element(section),
                rules.POLICY_SECTIONS,
                f"<{section.tag}> is not a policy section (expected {', '.join(catalog.SECTIONS)})",
            )
    for expected in catalog.SECTIONS:
        count = names.count(expected)
        if count == 0:
            yield locate.finding(
                locate.element(root),
                rules.POLICY_SECTIONS,
                f"<policies> has no <{expected}> section",
            )
        elif count > 1:
            yield locate.finding(
                locate.element(root),
                rules.POLICY_SECTIONS,
                f"<policies> has {count} <{expected}> sections",
            )
    known = [name for name in names if name in catalog.SECTIONS]
    in_order = sorted(known, key=catalog.SECTIONS.index)
    if len(known) == len(set(known)) and known != in_order:
        yield locate.finding(
            locate.element(root),
            rules.POLICY_SECTIONS,
            f"sections are in the order {', '.join(known)}; APIM expects "
            f"{', '.join(catalog.SECTIONS)}",
        )
    for section in sections:
        if section.tag not in catalog.SECTIONS:
            continue
        children = _elements(section)
        if not any(child.tag == "base" for child in children) and not _forwards_itself(section):
            yield locate.finding(
                locate.element(section),
                rules.BASE_CALL,
                f"<{section.tag}> does not call <base />, so the policies of enclosing scopes "
                "(product, all APIs) are skipped",
            )
        yield from _policies((c for c in children if c.tag != "base"), locate, section.tag)


def _forwards_itself(section: etree._Element) -> bool:
    """A <backend> may replace <base /> (the global forward-request) with its own forwarding,
    e.g. a <retry> around <forward-request> for backend pools; it must then forward exactly once."""
    if section.tag != "backend":
        return False
    return len(section.findall(".//forward-request")) == 1


def _policies(
    elements: Iterable[etree._Element], locate: _Locator, parent: object
) -> Iterator[Finding]:
    for element in elements:
        name = str(element.tag)
        if name not in catalog.POLICIES:
            yield locate.finding(
                locate.element(element),
                rules.UNKNOWN_ELEMENT,
                f"<{name}> in <{parent}> is not an APIM policy{_suggest(name, catalog.POLICIES)}",
            )
            continue
        if name == "choose":
            yield from _choose(element, locate)
        elif name in catalog.CONTAINERS:
            yield from _policies(_elements(element), locate, name)
        elif name in catalog.TOKEN_LIMIT_POLICIES:
            yield from _token_limit(element, locate)
        elif name in catalog.TOKEN_METRIC_POLICIES:
            yield from _token_metric(element, locate)


def _choose(choose: etree._Element, locate: _Locator) -> Iterator[Finding]:
    for branch in _elements(choose):
        if branch.tag not in catalog.CHOOSE_BRANCHES:
            yield locate.finding(
                locate.element(branch),
                rules.UNKNOWN_ELEMENT,
                f"<{branch.tag}> in <choose> is neither <when> nor <otherwise>",
            )
            continue
        yield from _policies(_elements(branch), locate, branch.tag)


def _suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _unknown_attributes(
    element: etree._Element, known: frozenset[str], locate: _Locator
) -> Iterator[Finding]:
    for attribute in element.attrib:
        name = str(attribute)
        if name not in known:
            yield locate.finding(
                locate.attribute(element, name),
                rules.TOKEN_POLICY_ATTRIBUTES,
                f"<{element.tag}> has no attribute '{name}'{_suggest(name, known)} "
                "(APIM rejects unknown attributes)",
            )


def _token_limit(element: etree._Element, locate: _Locator) -> Iterator[Finding]:
    tag = element.tag
    yield from _unknown_attributes(element, catalog.TOKEN_LIMIT_ATTRIBUTES, locate)
    attributes = {str(k): str(v) for k, v in element.attrib.items()}
    for required in catalog.TOKEN_LIMIT_REQUIRED:
        if required not in attributes:
            yield locate.finding(
                locate.element(element),
                rules.TOKEN_POLICY_REQUIRED,
                f"<{tag}> needs the attribute '{required}'",
            )
    if "tokens-per-minute" not in attributes and "token-quota" not in attributes:
        yield locate.finding(
            locate.element(element),
            rules.TOKEN_POLICY_REQUIRED,
            f"<{tag}> sets neither 'tokens-per-minute' nor 'token-quota'; it limits nothing",
        )
    if "token-quota" in attributes and "token-quota-period" not in attributes:
        yield locate.finding(
            locate.element(element),
            rules.TOKEN_POLICY_REQUIRED,
            f"<{tag}> sets 'token-quota' without 'token-quota-period'",
        )
    for name in ("tokens-per-minute", "token-quota"):
        value = attributes.get(name)
        if value is not None and not (is_expression(value) or _positive(value)):
            yield locate.finding(
                locate.attribute(element, name),
                rules.TOKEN_POLICY_VALUES,
                f'{name}="{value}" is neither a positive integer nor a policy expression',
            )
    yield from _enumerated(element, "token-quota-period", catalog.QUOTA_PERIODS, locate)
    yield from _enumerated(element, "estimate-prompt-tokens", ("true", "false"), locate)
    yield from _enumerated(element, "prompt-type", catalog.PROMPT_TYPES, locate)
    if attributes.get("counter-key", "x").strip() == "":
        yield locate.finding(
            locate.attribute(element, "counter-key"),
            rules.TOKEN_POLICY_VALUES,
            "counter-key is empty",
        )


def _positive(value: str) -> bool:
    return bool(_INTEGER.match(value)) and int(value) > 0


def _enumerated(
    element: etree._Element, name: str, allowed: tuple[str, ...], locate: _Locator
) -> Iterator[Finding]:
    value = element.get(name)
    if value is not None and value not in allowed:
        yield locate.finding(
            locate.attribute(element, name),
            rules.TOKEN_POLICY_VALUES,
            f'{name}="{value}" is not one of {", ".join(allowed)}',
        )


def _token_metric(element: etree._Element, locate: _Locator) -> Iterator[Finding]:
    tag = element.tag
    yield from _unknown_attributes(element, catalog.TOKEN_METRIC_ATTRIBUTES, locate)
    yield from _enumerated(element, "value-type", catalog.METRIC_VALUE_TYPES, locate)
    dimensions = []
    for child in _elements(element):
        if child.tag != "dimension":
            yield locate.finding(
                locate.element(child),
                rules.UNKNOWN_ELEMENT,
                f"<{child.tag}> in <{tag}> is not allowed; it holds only <dimension> elements",
            )
            continue
        dimensions.append(child)
        yield from _unknown_attributes(child, catalog.DIMENSION_ATTRIBUTES, locate)
        if not child.get("name"):
            yield locate.finding(
                locate.element(child),
                rules.TOKEN_POLICY_REQUIRED,
                "<dimension> needs the attribute 'name'",
            )
    if len(dimensions) > azure.MAX_DIMENSIONS:
        yield locate.finding(
            locate.element(dimensions[azure.MAX_DIMENSIONS]),
            rules.METRIC_DIMENSIONS,
            f"<{tag}> has {len(dimensions)} dimensions; at most {azure.MAX_DIMENSIONS} are "
            "allowed per metric",
        )
