"""Locate the bundled templates, schemas and specs, in a wheel or in a source checkout.

A wheel carries them under `generator/<folder>` (hatchling force-include); an editable install or
a checkout keeps them in the top-level folders next to `generator/`. Everything else asks here.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The folder `name`: `schemas`, `specs`, `prices` or one of the `*_templates` folders."""
    for candidate in (_PACKAGE_DIR / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"tokengate is installed without its '{name}' folder")


def read_text(folder: str, filename: str) -> str:
    return (resource_dir(folder) / filename).read_text(encoding="utf-8")


@cache
def spec_schema() -> dict[str, Any]:
    """The JSON Schema of the spec (draft 2020-12)."""
    schema: dict[str, Any] = json.loads(read_text("schemas", "spec.schema.json"))
    return schema


def lab_spec_path() -> Path:
    """The built-in lab spec: what `render` uses without a SPEC and what `init` writes."""
    return resource_dir("specs") / "lab.yaml"
