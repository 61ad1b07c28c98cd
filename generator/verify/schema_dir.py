"""`verify --schemas DIR`: the official schemas a user downloaded, found by their layout.

DIR holds `apim-policy-xsd/policies.xsd` (+ the XSDs it includes) and/or `arm/schemas/...`
laid out like https://schema.management.azure.com/schemas/ (so `$ref`s resolve by path). Either
part may be missing; a DIR with neither is an error, not a silent pass.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from generator.errors import TokengateError
from generator.findings import Finding
from generator.verify.arm_schema import ProviderSchemas
from generator.verify.bicep import BicepFile
from generator.verify.paths import kind
from generator.verify.xsd import ENTRY, PolicySchema

XSD_FOLDER = "apim-policy-xsd"
ARM_FOLDER = Path("arm") / "schemas"


@dataclass(frozen=True)
class SchemaChecks:
    policies: PolicySchema | None
    providers: ProviderSchemas | None

    @classmethod
    def load(cls, folder: Path) -> SchemaChecks:
        if not folder.is_dir():
            raise TokengateError(f"--schemas {folder}: no such folder")
        xsd = folder / XSD_FOLDER
        arm = folder / ARM_FOLDER
        policies = PolicySchema(xsd) if (xsd / ENTRY).is_file() else None
        providers = ProviderSchemas(arm) if arm.is_dir() else None
        if policies is None and providers is None:
            raise TokengateError(
                f"--schemas {folder}: found neither {XSD_FOLDER}/{ENTRY} nor {ARM_FOLDER}/ "
                "(see the README: 'Official schemas for verify --schemas')"
            )
        return cls(policies, providers)

    def findings(
        self, files: Mapping[str, str], parsed: Mapping[str, BicepFile]
    ) -> Iterator[Finding]:
        if self.policies is not None:
            for path, text in files.items():
                if kind(path) == "policy":
                    yield from self.policies.findings(path, text)
        if self.providers is not None:
            for bicep in parsed.values():
                yield from self.providers.findings(bicep)
