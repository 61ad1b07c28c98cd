"""Turn what a failed `az`/`azd` printed into ARM error codes, messages and hints.

ARM reports a failure as nested JSON (`{"error": {"code", "message", "details": [...]}}`); `az`
prints it after `ERROR:`, sometimes as `(Code) message` or `Code: ... Message: ...` lines, and
`azd` as `Code: message` lines under "Deployment Error Details". The innermost errors carry the
real reason ("the name is soft-deleted"), the outer ones only say "deployment failed", so the
innermost come first. Known codes get a hint: what to run next.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from generator.deploy.redact import redact
from generator.deploy.runner import Completed

#: Errors shown per failure; ARM can return dozens of identical inner errors.
_MAX_ERRORS = 6

#: Codes that only say "something inside failed"; shown only when nothing better is there.
_WRAPPERS = frozenset(
    {
        "DeploymentFailed",
        "InvalidTemplateDeployment",
        "ResourceDeploymentFailure",
        "Conflict",
        "BadRequest",
    }
)
_PAREN_LINE = re.compile(r"^(?:ERROR: )?\((?P<code>[A-Za-z][\w.]*)\) (?P<message>.+)$")
_CODE_LINE = re.compile(r"^Code: (?P<code>[A-Za-z][\w.]*)\s*$")
_MESSAGE_LINE = re.compile(r"^Message: (?P<message>.+)$")
_AZD_LINE = re.compile(r"^(?P<code>[A-Z][A-Za-z0-9]+): (?P<message>.+)$")
_ACCOUNT_ID = re.compile(
    r"/resourceGroups/(?P<group>[^/']+)/providers/Microsoft\.CognitiveServices/accounts/"
    r"(?P<name>[^/'\s]+)",
    re.IGNORECASE,
)
_APIM_NAME = re.compile(r"Api service (?P<name>[\w-]+) was soft-deleted", re.IGNORECASE)


@dataclass(frozen=True)
class ArmError:
    code: str
    message: str

    def line(self) -> str:
        return f"{self.code}: {' '.join(self.message.split())}"


def parse(text: str) -> list[ArmError]:
    """The errors in `text`, innermost first, without duplicates; the wrappers only when
    nothing more specific is there."""
    found = list(_json_errors(text)) or list(_line_errors(text))
    unique = list(dict.fromkeys(found))
    specific = [e for e in unique if e.code not in _WRAPPERS]
    return specific or unique


def _json_errors(text: str) -> Iterator[ArmError]:
    """Every error object inside every JSON document embedded in `text`, deepest first."""
    decoder = json.JSONDecoder()
    position = text.find("{")
    while position != -1:
        try:
            document, end = decoder.raw_decode(text, position)
        except ValueError:
            position = text.find("{", position + 1)
            continue
        yield from _errors_in(document)
        position = text.find("{", end)


def _errors_in(node: Any) -> Iterator[ArmError]:
    if isinstance(node, list):
        for item in node:
            yield from _errors_in(item)
        return
    if not isinstance(node, dict):
        return
    for key in ("error", "details", "innerError", "innererror"):
        if key in node:
            yield from _errors_in(node[key])
    code, message = node.get("code"), node.get("message")
    if isinstance(code, str) and isinstance(message, str):
        yield ArmError(code, message)


def _line_errors(text: str) -> Iterator[ArmError]:
    code: str | None = None
    in_azd_details = False
    for line in (raw.strip() for raw in text.splitlines()):
        if line == "Deployment Error Details:":
            in_azd_details = True
        elif not line:
            in_azd_details = False
        elif match := _PAREN_LINE.match(line):
            yield ArmError(match["code"], match["message"])
        elif match := _CODE_LINE.match(line):
            code = match["code"]
        elif (match := _MESSAGE_LINE.match(line)) and code:
            yield ArmError(code, match["message"])
            code = None
        elif in_azd_details and (match := _AZD_LINE.match(line)):
            yield ArmError(match["code"], match["message"])


def failure_message(summary: str, completed: Completed, *, subscription: str | None = None) -> str:
    """`summary`, the errors (or the last lines az printed), and hints; no traceback, and no
    secret that az or ARM echoed (`redact`)."""
    errors = parse(f"{completed.stderr}\n{completed.stdout}")
    lines = [f"{summary} (exit code {completed.returncode})"]
    if errors:
        lines += [f"  {error.line()}" for error in errors[:_MAX_ERRORS]]
    else:
        printed = [line.strip() for line in completed.stderr.splitlines() if line.strip()]
        lines += [f"  {line}" for line in printed[-_MAX_ERRORS:]] or ["  (nothing on stderr)"]
    lines += [f"  hint: {hint}" for hint in hints(errors, subscription=subscription)]
    return redact("\n".join(lines))


def hints(errors: list[ArmError], *, subscription: str | None = None) -> list[str]:
    """What to do about the errors tokengate recognizes, one line each."""
    found: list[str] = []
    for error in errors:
        hint = _hint(error, subscription)
        if hint and hint not in found:
            found.append(hint)
    return found


def _hint(error: ArmError, subscription: str | None) -> str | None:
    code = error.code
    sub = f" --subscription {subscription}" if subscription else ""
    if code == "ServiceAlreadyExistsInSoftDeletedState":
        apim = _APIM_NAME.search(error.message)
        name = apim["name"] if apim else "<name>"
        return (
            "an API Management service of that name is soft-deleted: purge it with "
            f"`az apim deletedservice purge --service-name {name} --location <region>{sub}` "
            "(`az apim deletedservice list` shows the region), or run `tokengate down` first"
        )
    if code == "FlagMustBeSetForRestore":
        account = _ACCOUNT_ID.search(error.message)
        name, group = (account["name"], account["group"]) if account else ("<name>", "<group>")
        return (
            "an Azure OpenAI account of that name is soft-deleted: purge it with "
            f"`az cognitiveservices account purge --name {name} --resource-group {group} "
            f"--location <region>{sub}` (`az cognitiveservices account list-deleted` shows the "
            "region), or run `tokengate down` first"
        )
    if code == "InsufficientQuota":
        return (
            "the subscription lacks Azure OpenAI quota for a model deployment: lower its "
            "`capacity` in the spec, free quota elsewhere, or choose another region"
        )
    if code in ("AuthorizationFailed", "LinkedAuthorizationFailed"):
        return (
            "your identity may not do this: tokengate's templates create role assignments, "
            "which need Owner, or Contributor plus Role Based Access Control Administrator"
        )
    if code in ("MissingSubscriptionRegistration", "NoRegisteredProviderFound"):
        return "register the resource provider: `az provider register --namespace <namespace>`"
    if code == "ResourceGroupNotFound":
        return (
            "create the resource group first (`az group create --name <name> --location "
            "<region>`), or set `deployment: {scope: subscription}` in the spec"
        )
    if code == "InvalidDeploymentLocation":
        return (
            "a subscription deployment of that name exists in another region: pass the "
            "--location it was created with"
        )
    if "az login" in error.message or "AADSTS" in error.message:
        return "sign in again: `az login`"
    return None
