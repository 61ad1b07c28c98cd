"""Azure region names tokengate knows, from the dated list shipped in schemas/azure-regions.json.

A `location` typo (`westeurpoe`, `mars`) would otherwise surface only when ARM refuses the
deployment; the list is dated so a region opened since can be told apart from a typo.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from generator.resources import read_text


@cache
def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(read_text("schemas", "azure-regions.json"))
    return document


def known_regions() -> frozenset[str]:
    return frozenset(_document()["regions"])


def as_of() -> str:
    """The date of the newest source the list was taken from."""
    return str(_document()["asOf"])
