"""Words for JSON that `az` printed in a shape tokengate did not expect, for error messages.

A message like "printed JSON NoneType" tells a user nothing; "printed null, not a list" does.
"""

from __future__ import annotations

from typing import Any


def kind(value: Any) -> str:
    """`null`, `an object`, `a list`, `a string`, `a boolean` or `a number`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return "a number"
