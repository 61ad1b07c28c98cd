"""Policy documents against the official APIM policy XSDs (`verify --schemas DIR`).

libxml2 rejects the published XSD set as-is, for two reasons fixed here in memory (the files
on disk are never changed):
- `cross-domain.xsd` writes characters in patterns as `\\xNN`, which is not XSD regex syntax:
  each becomes a character reference (escaped with `\\` where it is a regex metacharacter);
- `policies.xsd` lets every section hold `base | xs:any`, a non-deterministic choice (both
  match `<base/>`): `base` becomes a global element, which `xs:any` then validates strictly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

from lxml import etree

from generator.errors import TokengateError
from generator.findings import Finding
from generator.verify import rules
from generator.verify.policy import parse_policy

ENTRY = "policies.xsd"

_HEX_ESCAPE = re.compile(r"\\x([0-9A-Fa-f]{2})")
_REGEX_META = frozenset("\\|.?*+(){}-[]^")
_LOCAL_BASE = re.compile(r'\s*<xs:element name="base" minOccurs="0" maxOccurs="1"\s*/>')
_GLOBAL_BASE = '    <xs:element name="base"><xs:complexType/></xs:element>\n</xs:schema>'


def _fix_hex_escapes(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        reference = f"&#x{match.group(1)};"
        return "\\" + reference if chr(int(match.group(1), 16)) in _REGEX_META else reference

    return _HEX_ESCAPE.sub(replace, text)


def _fix_base_choice(text: str) -> str:
    text = _LOCAL_BASE.sub("", text)
    return text.replace("</xs:schema>", _GLOBAL_BASE, 1)


def _read(path: Path) -> str:
    return _fix_hex_escapes(path.read_text(encoding="utf-8-sig"))


class _FixingResolver(etree.Resolver):
    """Serves every included XSD from `folder`, fixed, and nothing from anywhere else."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def resolve(self, system_url: str, public_id: str, context: Any = None) -> Any:
        candidate = self.folder / system_url.replace("\\", "/").rsplit("/", 1)[-1]
        if not candidate.is_file():
            return None
        text = _read(candidate).encode("utf-8")
        return self.resolve_string(text, context, base_url=str(candidate))


class PolicySchema:
    """The policy XSD set of one folder, loaded once."""

    def __init__(self, folder: Path) -> None:
        entry = folder / ENTRY
        parser = etree.XMLParser(no_network=True, resolve_entities=False)
        parser.resolvers.add(_FixingResolver(folder))
        try:
            text = _fix_base_choice(_read(entry))
            document = etree.fromstring(text.encode("utf-8"), parser, base_url=str(entry))
            self.schema = etree.XMLSchema(document)
        except (OSError, etree.XMLSyntaxError, etree.XMLSchemaParseError) as error:
            raise TokengateError(f"{entry}: cannot load the APIM policy XSDs: {error}") from None

    def findings(self, path: str, text: str) -> list[Finding]:
        """XSD violations; a document that is not well-formed is left to the TG210 check."""
        try:
            document = parse_policy(text)
        except etree.XMLSyntaxError:
            return []
        if self.schema.validate(document):
            return []
        lines = text.split("\n")
        findings = []
        for entry in cast(Iterable[Any], self.schema.error_log):
            line = entry.line or 1
            source = lines[line - 1] if line <= len(lines) else ""
            column = len(source) - len(source.lstrip()) + 1
            findings.append(rules.POLICY_XSD.at(path, line, column, f"policy XSD: {entry.message}"))
        return findings
