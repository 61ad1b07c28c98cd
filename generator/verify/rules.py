"""The ids `verify` reports (TG2xx), with a title each: printed by the docs and put into SARIF.

Ids are stable across releases: CI filters, SARIF baselines and suppressions refer to them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VerifyRule:
    rule_id: str
    title: str


RULES: tuple[VerifyRule, ...] = (
    VerifyRule("TG200", "A file is readable UTF-8 text"),
    VerifyRule("TG201", "Every .bicep file parses with the Bicep grammar"),
    VerifyRule("TG202", "Every module path names a file in the output"),
    VerifyRule("TG203", "Every loadTextContent/loadJsonContent path names a file in the output"),
    VerifyRule("TG204", "Every resource type is one tokengate generates"),
    VerifyRule("TG205", "Every resource uses the API version tokengate chose for its type"),
    VerifyRule("TG206", "The folder has its entry point main.bicep (an empty folder has none)"),
    VerifyRule("TG207", "Every .bicep file is an entry point or a module an entry point reaches"),
    VerifyRule(
        "TG208", "A module call passes the parameters its module declares, and all required"
    ),
    VerifyRule(
        "TG209", "Every entry is a regular file or folder (no dangling symlink, FIFO, device)"
    ),
    VerifyRule("TG210", "A policy document is well-formed XML"),
    VerifyRule("TG211", "A policy has <policies> with inbound, backend, outbound, on-error"),
    VerifyRule("TG212", "Every policy section calls <base />"),
    VerifyRule("TG213", "A policy uses only known policy elements"),
    VerifyRule("TG214", "Token policies carry their required attributes"),
    VerifyRule("TG215", "Token policies use only known attributes"),
    VerifyRule("TG216", "Token policy attribute values are valid"),
    VerifyRule("TG217", "At most 5 custom dimensions per token metric"),
    VerifyRule("TG218", "A policy document is at most 256 KiB"),
    VerifyRule("TG220", "A parameters file is valid against the ARM deploymentParameters schema"),
    VerifyRule("TG221", "azure.yaml is valid against the azd schema"),
    VerifyRule("TG222", "A file loaded with loadJsonContent is valid JSON"),
    VerifyRule("TG230", "A template deploys at most 800 resources"),
    VerifyRule("TG231", "A template has at most 256 parameters"),
    VerifyRule("TG232", "A template has at most 64 outputs"),
    VerifyRule("TG233", "A template compiles to at most 4 MB of ARM JSON (estimated)"),
    VerifyRule("TG234", "A file Bicep loads fits the load function's size limit"),
    VerifyRule("TG240", "A policy is valid against the official APIM policy XSDs (--schemas)"),
    VerifyRule("TG241", "A resource body is valid against its ARM provider schema (--schemas)"),
    VerifyRule(
        "TG242",
        "Resource bodies use only property names the provider schema knows (with --schemas)",
    ),
    VerifyRule("TG250", "No write was interrupted while publishing (no journal in the folder)"),
    VerifyRule("TG251", "Every file the manifest lists is present (and unchanged: a warning)"),
    VerifyRule("TG290", "checkov's Bicep checks pass (when checkov is installed)"),
)

RULES_BY_ID = {rule.rule_id: rule for rule in RULES}
