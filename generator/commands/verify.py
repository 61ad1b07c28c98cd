"""The pull-request commands: `verify`, `diff` and `ci init`.

Only click is imported here; the checks, the diff and the workflow writer are imported inside
the commands, so `tokengate --help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.commands.edge import PRICES_OPTION, emit, handles_errors
from generator.errors import ExitCode, TokengateError

if TYPE_CHECKING:
    from generator.pricing import PriceTable


OUTPUT_OPTION = click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to FILE instead of standard output.",
)


@click.command()
@click.argument(
    "out", required=False, default="out", type=click.Path(file_okay=False, path_type=Path)
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif"]),
    default="text",
    show_default=True,
    help="sarif: SARIF 2.1.0, for GitHub code scanning.",
)
@OUTPUT_OPTION
@click.option(
    "--schemas",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder with the official APIM policy XSDs (apim-policy-xsd/) and/or ARM provider "
    "schemas (arm/schemas/): validate policies and resource bodies against them too.",
)
@click.option(
    "--checkov/--no-checkov",
    default=None,
    help="Run checkov's Bicep checks (default: when checkov is installed); failures are warnings.",
)
@handles_errors
def verify(
    out: Path, fmt: str, output: Path | None, schemas: Path | None, checkov: bool | None
) -> None:
    """Check a rendered folder OUT (default: out) offline; exit 2 on any error.

    Bicep grammar, module and loadTextContent paths, resource types and API versions; policy
    XML (sections, <base />, known elements, token policy attributes, size); parameters files
    and azure.yaml against their official schemas; ARM limits per template.
    """
    from generator.findings import Severity, has_errors
    from generator.verify import SchemaChecks, verify_folder
    from generator.verify import checkov as checkov_tool
    from generator.verify.report import render_report

    if checkov and not checkov_tool.available():
        raise TokengateError("--checkov: checkov is not installed (pip install checkov)")
    with_checkov = checkov_tool.available() if checkov is None else checkov
    checks = SchemaChecks.load(schemas) if schemas is not None else None
    findings = verify_folder(out, checks, with_checkov=with_checkov)
    emit(render_report(findings, fmt), output)
    if output is not None or fmt != "text":
        errors = sum(1 for f in findings if f.severity is Severity.ERROR)
        click.echo(f"{out}: {errors} error(s), {len(findings) - errors} warning(s)", err=True)
    if has_errors(findings):
        sys.exit(int(ExitCode.INVALID))


@click.command()
@click.argument("old")
@click.argument("new")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown"]),
    default="text",
    show_default=True,
    help="markdown: a pull-request comment.",
)
@OUTPUT_OPTION
@PRICES_OPTION
@handles_errors
def diff(old: str, new: str, fmt: str, output: Path | None, prices: PriceTable | None) -> None:
    """What changes from spec OLD to spec NEW: a summary of the gateway change, then the
    unified diff of the rendered files. OLD and NEW are files or git:REF:path.

    Exit code 0: no differences; 1: differences (like diff); 2: invalid input.
    """
    from generator.diff import diff_specs
    from generator.diff.report import markdown_report, text_report

    result = diff_specs(old, new, prices)
    emit(markdown_report(result) if fmt == "markdown" else text_report(result), output)
    if result.has_differences:
        sys.exit(int(ExitCode.CHANGED))


@click.group()
def ci() -> None:
    """Continuous integration set-up."""


@ci.command("init")
@click.option(
    "--install",
    required=True,
    help="How CI installs tokengate: a pip requirement such as "
    "'git+https://github.com/ORG/tokengate@v0.1.0' or a wheel path in the repository. "
    "(The PyPI name 'tokengate' belongs to another project.)",
)
@click.option("--spec", default="tokengate.yaml", show_default=True, help="The spec's path.")
@click.option("--out", default="out", show_default=True, help="The rendered folder's path.")
@click.option("--branch", default="main", show_default=True, help="Push here to deploy.")
@click.option(
    "--python",
    "python_version",
    default="3.12",
    show_default=True,
    help="Python version the workflow installs tokengate with.",
)
@click.option(
    "--environment",
    default="production",
    show_default=True,
    help="GitHub environment of the deploy job (protection rules, OIDC subject).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing workflow.")
@handles_errors
def ci_init(
    install: str,
    spec: str,
    out: str,
    branch: str,
    python_version: str,
    environment: str,
    force: bool,
) -> None:
    """Write .github/workflows/tokengate.yml: render --check, verify (SARIF to code scanning)
    and diff on pull requests, what-if and deploy when Azure OIDC is configured."""
    from generator.ci_init import WorkflowOptions, write_workflow

    options = WorkflowOptions(install, spec, out, branch, python_version, environment)
    target = write_workflow(Path.cwd(), options, force=force)
    click.echo(f"wrote {target.relative_to(Path.cwd())}")
    click.echo(
        "for what-if and deploy, set the repository variables AZURE_CLIENT_ID, AZURE_TENANT_ID "
        "and AZURE_SUBSCRIPTION_ID (see the comment at the top of the workflow)"
    )


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(verify)
    group.add_command(diff)
    group.add_command(ci)
