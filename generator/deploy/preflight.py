"""Checks before anything is deployed, each failure a one-line reason and a hint.

A deployment that fails after ten minutes because `az` is too old or nobody is signed in wastes
the user's time; these checks take seconds. The signed-in account comes from azure-cli-core's
profile when that package is importable (the `azure` extra: no process to start), else from
`az account show`. azure-cli-core is imported only here, inside the function that needs it.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from generator.deploy import az_json, commands
from generator.deploy.redact import redact
from generator.deploy.runner import Completed, TimedOut, ToolMissing, run
from generator.deploy.target import Target
from generator.errors import ExitCode, TokengateError
from generator.render import RenderedFile

#: Prints one line of the preflight report.
Report = Callable[[str], None]

#: 2.38.0 is the first az with `az apim deletedservice` (used by `down`) and ARM errors as JSON.
MIN_AZ = (2, 38, 0)
#: 1.0.0 is the first generally available azd.
MIN_AZD = (1, 0, 0)
#: Without `--timeout`, a probe that takes longer than this is hung (network, proxy, a token
#: refresh prompt). With `--timeout`, that limit applies to probes too: a user who says "stop
#: after 5 s" must not wait two minutes for a hung `az version`.
PROBE_TIMEOUT = 120.0


def probe_timeout(timeout: float | None) -> float:
    """The limit for one short `az`/`azd` call: `--timeout` when given, else PROBE_TIMEOUT."""
    return PROBE_TIMEOUT if timeout is None else timeout


INSTALL_AZ = "install the Azure CLI: https://learn.microsoft.com/cli/azure/install-azure-cli"
INSTALL_AZD = (
    "install the Azure Developer CLI: "
    "https://learn.microsoft.com/azure/developer/azure-developer-cli/install-azd"
)
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")
_RESOURCE_TYPE = re.compile(r"'(Microsoft\.[A-Za-z]+)/[A-Za-z/]+@")


class PreflightFailed(TokengateError):
    def __init__(self, reason: str, hint: str) -> None:
        super().__init__(f"preflight: {reason}\n  hint: {hint}", exit_code=ExitCode.DEPLOY_FAILED)


@dataclass(frozen=True)
class Account:
    subscription_id: str
    subscription_name: str
    user: str
    #: Where tokengate read it: "azure-cli-core" or "az account show".
    source: str

    def describe(self) -> str:
        return (
            f"subscription {self.subscription_name} ({self.subscription_id}) "
            f"as {self.user}, from {self.source}"
        )


def parse_version(text: str) -> tuple[int, int, int] | None:
    match = _VERSION.search(text)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)


def _probe(argv: list[str], install_hint: str, timeout: float | None) -> Completed:
    limit = probe_timeout(timeout)
    try:
        return run(argv, timeout=limit)
    except ToolMissing as missing:
        raise PreflightFailed(f"{missing.tool} not found on PATH", install_hint) from None
    except TimedOut:
        raise PreflightFailed(
            f"`{commands.shell_line(argv)}` did not answer within {limit:g}s",
            "check the network and proxy settings, then run it yourself to see what it waits for",
        ) from None


def _first_line(completed: Completed) -> str:
    """The first thing the probe printed, redacted (az may echo a token or key in an error)."""
    for line in (completed.stderr + completed.stdout).splitlines():
        if line.strip():
            return redact(line.strip().removeprefix("ERROR: "))
    return f"exit code {completed.returncode}"


def check_az(report: Report, *, timeout: float | None = None) -> tuple[int, int, int]:
    completed = _probe(commands.az_version(), INSTALL_AZ, timeout)
    version = None
    if completed.ok:
        try:
            version = parse_version(str(json.loads(completed.stdout).get("azure-cli", "")))
        except (ValueError, AttributeError):
            version = None
    if version is None:
        raise PreflightFailed(
            f"could not read the Azure CLI version: {_first_line(completed)}", INSTALL_AZ
        )
    if version < MIN_AZ:
        raise PreflightFailed(
            f"az {_dotted(version)} is older than {_dotted(MIN_AZ)}, which tokengate needs",
            "run `az upgrade`",
        )
    report(f"  ok    az {_dotted(version)}")
    return version


def signed_in_account(
    subscription: str | None, report: Report, *, timeout: float | None = None
) -> Account:
    """Who is signed in and which subscription a deployment will use."""
    account = _account_from_profile(subscription)
    if account is None:
        account = _account_from_az(subscription, timeout)
    report(f"  ok    {account.describe()}")
    return account


def _account_from_profile(subscription: str | None) -> Account | None:
    """azure-cli-core's cached profile (what `az account show` reads), or None without it."""
    try:
        profile_module = importlib.import_module("azure.cli.core._profile")
        cli_error: type[Exception] = importlib.import_module("knack.util").CLIError
    except ImportError:
        return None
    try:
        info: Mapping[str, Any] = profile_module.Profile().get_subscription(subscription)
    except cli_error as error:
        raise PreflightFailed(
            f"not signed in to Azure: {error}", _login_hint(subscription)
        ) from None
    except Exception:  # a broken profile: let `az account show` explain it
        return None
    return _account(info, "azure-cli-core")


def _account_from_az(subscription: str | None, timeout: float | None) -> Account:
    completed = _probe(commands.az_account_show(subscription), INSTALL_AZ, timeout)
    if not completed.ok:
        raise PreflightFailed(
            f"not signed in to Azure: {_first_line(completed)}", _login_hint(subscription)
        )
    try:
        info = json.loads(completed.stdout)
    except ValueError:
        info = None
    if not isinstance(info, dict):
        # `null`, `[]` or text: az answered, but not with an account.
        raise PreflightFailed(
            f"`az account show` printed no account ({_shape(completed.stdout)})",
            _login_hint(subscription),
        )
    return _account(info, "az account show")


def _shape(text: str) -> str:
    """A short description of unexpected output, for messages (never the whole text)."""
    if not text.strip():
        return "it printed nothing"
    try:
        return f"it printed {az_json.kind(json.loads(text))}"
    except ValueError:
        return "it printed text that is not JSON"


def _account(info: Mapping[str, Any], source: str) -> Account:
    """The account, or a preflight failure when the subscription id is missing: pinning
    `--subscription ?` later would be worse than stopping now."""
    user = info.get("user")
    subscription_id = info.get("id")
    if not isinstance(subscription_id, str) or not subscription_id.strip():
        raise PreflightFailed(f"{source} named no subscription id", _login_hint(None))
    name = info.get("name")
    return Account(
        subscription_id=subscription_id,
        subscription_name=name if isinstance(name, str) and name else subscription_id,
        user=str(user.get("name", "?")) if isinstance(user, dict) else "?",
        source=source,
    )


def _login_hint(subscription: str | None) -> str:
    if subscription:
        return (
            f"run `az login`; check that --subscription {subscription} is listed by "
            "`az account list --output table`"
        )
    return "run `az login` (and `az account set --subscription <id>` to choose a subscription)"


def check_bicep(report: Report, *, timeout: float | None = None) -> None:
    completed = _probe(commands.az_bicep_version(), INSTALL_AZ, timeout)
    version = parse_version(completed.stdout) if completed.ok else None
    if version is None:
        raise PreflightFailed(
            f"Bicep is not available to az: {_first_line(completed)}", "run `az bicep install`"
        )
    report(f"  ok    Bicep {_dotted(version)}")


def required_namespaces(files: Iterable[RenderedFile]) -> list[str]:
    """Resource provider namespaces the rendered Bicep deploys to."""
    found = {
        match[1]
        for file in files
        if file.path.endswith(".bicep")
        for match in _RESOURCE_TYPE.finditer(file.content)
    }
    return sorted(found)


def note_providers(
    namespaces: Iterable[str],
    subscription: str | None,
    report: Report,
    *,
    timeout: float | None = None,
) -> None:
    """Note providers that are not registered; ARM registers them on first use if it may."""
    wanted = list(namespaces)
    completed = _probe(commands.az_provider_states(subscription), INSTALL_AZ, timeout)
    try:
        listed = json.loads(completed.stdout)
        if not isinstance(listed, list):
            raise TypeError("not a list")
        states = {str(item["namespace"]).lower(): str(item["state"]) for item in listed}
    except (ValueError, TypeError, KeyError):
        report(f"  note  could not read resource provider registrations: {_first_line(completed)}")
        return
    registered = []
    for namespace in wanted:
        state = states.get(namespace.lower(), "NotRegistered")
        if state == "Registered":
            registered.append(namespace)
        else:
            report(
                f"  note  {namespace} is {state}; ARM registers it on first use if your role "
                f"may, else run `az provider register --namespace {namespace}`"
            )
    if registered:
        report(f"  ok    registered resource providers: {', '.join(registered)}")


def check_resource_group(target: Target, report: Report, *, timeout: float | None = None) -> None:
    completed = _probe(commands.az_group_exists(target), INSTALL_AZ, timeout)
    exists = completed.ok and completed.stdout.strip() == "true"
    if not exists:
        reason = (
            f"resource group {target.resource_group} does not exist"
            if completed.ok
            else f"could not check resource group {target.resource_group}: {_first_line(completed)}"
        )
        raise PreflightFailed(
            reason,
            f"create it (`az group create --name {target.resource_group} --location "
            f"{target.location}`), or set `deployment: {{scope: subscription}}` in the spec "
            "so tokengate creates it",
        )
    report(f"  ok    resource group {target.resource_group} exists")


def check_azd(report: Report, *, timeout: float | None = None) -> tuple[int, int, int]:
    completed = _probe(commands.azd_version(), INSTALL_AZD, timeout)
    version = None
    if completed.ok:
        try:
            version = parse_version(str(json.loads(completed.stdout)["azd"]["version"]))
        except (ValueError, KeyError, TypeError):
            version = parse_version(completed.stdout)
    if version is None:
        raise PreflightFailed(
            f"could not read the azd version: {_first_line(completed)}", INSTALL_AZD
        )
    if version < MIN_AZD:
        raise PreflightFailed(
            f"azd {_dotted(version)} is older than {_dotted(MIN_AZD)}, which tokengate needs",
            INSTALL_AZD.replace("install", "upgrade", 1),
        )
    report(f"  ok    azd {_dotted(version)}")
    return version


def check_azd_login(report: Report, *, timeout: float | None = None) -> None:
    """`azd auth login --check-status` always exits 0; the JSON `status` tells."""
    completed = _probe(commands.azd_login_status(), INSTALL_AZD, timeout)
    try:
        status = json.loads(completed.stdout).get("status")
    except (ValueError, AttributeError):
        status = None
    if status != "success":
        raise PreflightFailed(
            f"azd is not signed in ({status or _first_line(completed)})", "run `azd auth login`"
        )
    report("  ok    azd is signed in")
