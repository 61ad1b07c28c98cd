"""Paths inside an output folder: always relative, `/`-separated, normalized.

Bicep resolves `module` and `load*Content` paths relative to the file that names them; the
checks compare the result with the keys of the file mapping, so both must be spelt alike.
"""

from __future__ import annotations

import posixpath


def resolve(from_file: str, relative: str) -> str:
    """The output-relative path that `relative`, written in `from_file`, points to."""
    folder = posixpath.dirname(from_file)
    return posixpath.normpath(posixpath.join(folder, relative))


def kind(path: str) -> str:
    """What a file is, by name: bicep, policy, parameters, azure-yaml, json or other."""
    name = posixpath.basename(path)
    if name.endswith(".bicep"):
        return "bicep"
    if name.endswith(".xml"):
        return "policy"
    if name.endswith(".parameters.json"):
        return "parameters"
    if name in ("azure.yaml", "azure.yml"):
        return "azure-yaml"
    if name.endswith(".json"):
        return "json"
    return "other"
