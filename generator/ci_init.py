"""`tokengate ci init`: write a GitHub Actions workflow for the pull-request use of tokengate.

The workflow comes from `workflow_templates/tokengate.yml.j2`. Its Jinja delimiters are `[[ ]]`
and `[% %]`, because GitHub's own `${{ }}` expressions must pass through untouched. Every value
put into it is checked first and written as a quoted YAML string, so an option can neither
break the YAML nor smuggle in a `${{ }}` expression or a shell command (the steps read values
from environment variables, never by pasting them into scripts).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jinja2

from generator import __version__
from generator.errors import TokengateError
from generator.resources import resource_dir

TEMPLATE = "tokengate.yml.j2"
WORKFLOW_PATH = Path(".github") / "workflows" / "tokengate.yml"


@dataclass(frozen=True)
class PinnedAction:
    """An action pinned to the commit its release tag pointed to (tags can be moved)."""

    sha: str
    tag: str


#: Looked up from public workflows that pin them, each confirmed by more than one source.
ACTIONS = {
    "checkout": PinnedAction("08c6903cd8c0fde910a37f88322edcfb5dd907a8", "v5.0.0"),
    "setup_python": PinnedAction("e797f83bcb11b83ae66e0230d6156d7c80228e7c", "v6.0.0"),
    "upload_sarif": PinnedAction("f443b600d91635bebf5b0d9ebc620189c0d6fba5", "v4.30.8"),
    "azure_login": PinnedAction("a457da9ea143d694b1b9c7c869ebb04ebe844ef5", "v2.3.0"),
}

_SAFE_PATH = re.compile(r"^(?!/)(?!.*\.\.)[A-Za-z0-9._/-]+$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9._/-]+$")
_PYTHON = re.compile(r"^3\.[0-9]{2}$")


@dataclass(frozen=True)
class WorkflowOptions:
    install: str
    spec: str = "tokengate.yaml"
    out: str = "out"
    branch: str = "main"
    python: str = "3.12"
    environment: str = "production"

    def check(self) -> None:
        """A clear error naming the option, for any value unsafe in a workflow."""
        for option, value in (("--spec", self.spec), ("--out", self.out)):
            if not _SAFE_PATH.match(value):
                raise TokengateError(
                    f"{option} {value!r}: use a path relative to the repository root, made of "
                    "letters, digits, '.', '_', '-' and '/'"
                )
        for option, value in (("--branch", self.branch), ("--environment", self.environment)):
            if not _SAFE_NAME.match(value):
                raise TokengateError(f"{option} {value!r}: letters, digits, '.', '_', '-', '/'")
        if not _PYTHON.match(self.python):
            raise TokengateError(f"--python {self.python!r}: a version like 3.12")
        if not self.install.strip() or "\n" in self.install or "${{" in self.install:
            raise TokengateError(
                f"--install {self.install!r}: one pip requirement (a wheel path, a "
                "git+https URL or a name==version), on one line"
            )


def _yaml_string(value: object) -> str:
    """A double-quoted YAML scalar (JSON strings are valid YAML)."""
    return json.dumps(str(value))


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resource_dir("workflow_templates"))),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - YAML, values quoted by `yaml_string`
        variable_start_string="[[",
        variable_end_string="]]",
        block_start_string="[%",
        block_end_string="%]",
        comment_start_string="[#",
        comment_end_string="#]",
        keep_trailing_newline=True,
    )
    env.filters["yaml_string"] = _yaml_string
    return env


def workflow_text(options: WorkflowOptions) -> str:
    options.check()
    template = _environment().get_template(TEMPLATE)
    return template.render(
        version=__version__,
        actions=ACTIONS,
        spec=options.spec,
        out=options.out.rstrip("/"),
        branch=options.branch,
        python=options.python,
        environment=options.environment,
        install=options.install,
    )


def write_workflow(root: Path, options: WorkflowOptions, *, force: bool = False) -> Path:
    """Write the workflow under `root`; refuse to overwrite unless `force`."""
    text = workflow_text(options)
    target = root / WORKFLOW_PATH
    if target.exists() and not force:
        raise TokengateError(f"{target} already exists; pass --force to overwrite it")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as error:
        raise TokengateError(f"{target}: cannot write: {error.strerror}") from None
    return target
