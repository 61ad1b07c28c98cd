"""The ids of checks on rendered output (`verify`, and `render` before it writes): TG2xx.

`RULES` is their order in SARIF and in the README's `verify` table.
"""

from __future__ import annotations

from generator.findings import Rule, Severity, Stage, define

UNREADABLE = define("TG200", "A file is readable UTF-8 text", Stage.OUTPUT)
BICEP_SYNTAX = define("TG201", "Every .bicep file parses with the Bicep grammar", Stage.OUTPUT)
MODULE_PATH = define("TG202", "Every module path names a file in the output", Stage.OUTPUT)
LOAD_PATH = define(
    "TG203", "Every loadTextContent/loadJsonContent path names a file in the output", Stage.OUTPUT
)
RESOURCE_TYPE = define("TG204", "Every resource type is one tokengate generates", Stage.OUTPUT)
API_VERSION = define(
    "TG205", "Every resource uses the API version tokengate chose for its type", Stage.OUTPUT
)
ENTRY_POINT = define(
    "TG206", "The folder has its entry point main.bicep (an empty folder has none)", Stage.OUTPUT
)
STRAY_TEMPLATE = define(
    "TG207", "Every .bicep file is an entry point or a module an entry point reaches", Stage.OUTPUT
)
MODULE_PARAMETERS = define(
    "TG208",
    "A module call passes the parameters its module declares, and all required",
    Stage.OUTPUT,
)
ODD_ENTRY = define(
    "TG209",
    "Every entry is a regular file or folder (no dangling symlink, FIFO, device)",
    Stage.OUTPUT,
)
MALFORMED_XML = define("TG210", "A policy document is well-formed XML", Stage.OUTPUT)
POLICY_SECTIONS = define(
    "TG211", "A policy has <policies> with inbound, backend, outbound, on-error", Stage.OUTPUT
)
BASE_CALL = define("TG212", "Every policy section calls <base />", Stage.OUTPUT)
UNKNOWN_ELEMENT = define("TG213", "A policy uses only known policy elements", Stage.OUTPUT)
TOKEN_POLICY_REQUIRED = define(
    "TG214", "Token policies carry their required attributes", Stage.OUTPUT
)
TOKEN_POLICY_ATTRIBUTES = define("TG215", "Token policies use only known attributes", Stage.OUTPUT)
TOKEN_POLICY_VALUES = define("TG216", "Token policy attribute values are valid", Stage.OUTPUT)
METRIC_DIMENSIONS = define("TG217", "At most 5 custom dimensions per token metric", Stage.OUTPUT)
POLICY_SIZE = define("TG218", "A policy document is at most 256 KiB", Stage.OUTPUT)
PARAMETERS_SCHEMA = define(
    "TG220", "A parameters file is valid against the ARM deploymentParameters schema", Stage.OUTPUT
)
AZD_SCHEMA = define("TG221", "azure.yaml is valid against the azd schema", Stage.OUTPUT)
LOADED_JSON = define("TG222", "A file loaded with loadJsonContent is valid JSON", Stage.OUTPUT)
TEMPLATE_RESOURCES = define("TG230", "A template deploys at most 800 resources", Stage.OUTPUT)
TEMPLATE_PARAMETERS = define("TG231", "A template has at most 256 parameters", Stage.OUTPUT)
TEMPLATE_OUTPUTS = define("TG232", "A template has at most 64 outputs", Stage.OUTPUT)
TEMPLATE_SIZE = define(
    "TG233", "A template compiles to at most 4 MB of ARM JSON (estimated)", Stage.OUTPUT
)
LOAD_SIZE = define("TG234", "A file Bicep loads fits the load function's size limit", Stage.OUTPUT)
POLICY_XSD = define(
    "TG240", "A policy is valid against the official APIM policy XSDs (--schemas)", Stage.OUTPUT
)
PROVIDER_SCHEMA = define(
    "TG241", "A resource body is valid against its ARM provider schema (--schemas)", Stage.OUTPUT
)
PROVIDER_PROPERTIES = define(
    "TG242",
    "Resource bodies use only property names the provider schema knows (with --schemas)",
    Stage.OUTPUT,
)
INTERRUPTED_WRITE = define(
    "TG250", "No write was interrupted while publishing (no journal in the folder)", Stage.OUTPUT
)
MANIFEST_FILES = define(
    "TG251", "Every file the manifest lists is present (and unchanged: a warning)", Stage.OUTPUT
)
CHECKOV = define(
    "TG290",
    "checkov's Bicep checks pass (when checkov is installed)",
    Stage.OUTPUT,
    Severity.WARNING,
)

RULES: tuple[Rule, ...] = (
    UNREADABLE,
    BICEP_SYNTAX,
    MODULE_PATH,
    LOAD_PATH,
    RESOURCE_TYPE,
    API_VERSION,
    ENTRY_POINT,
    STRAY_TEMPLATE,
    MODULE_PARAMETERS,
    ODD_ENTRY,
    MALFORMED_XML,
    POLICY_SECTIONS,
    BASE_CALL,
    UNKNOWN_ELEMENT,
    TOKEN_POLICY_REQUIRED,
    TOKEN_POLICY_ATTRIBUTES,
    TOKEN_POLICY_VALUES,
    METRIC_DIMENSIONS,
    POLICY_SIZE,
    PARAMETERS_SCHEMA,
    AZD_SCHEMA,
    LOADED_JSON,
    TEMPLATE_RESOURCES,
    TEMPLATE_PARAMETERS,
    TEMPLATE_OUTPUTS,
    TEMPLATE_SIZE,
    LOAD_SIZE,
    POLICY_XSD,
    PROVIDER_SCHEMA,
    PROVIDER_PROPERTIES,
    INTERRUPTED_WRITE,
    MANIFEST_FILES,
    CHECKOV,
)
RULES_BY_ID = {rule.rule_id: rule for rule in RULES}
