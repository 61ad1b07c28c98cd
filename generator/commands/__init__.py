"""Command groups beyond the core ones in `generator.cli`; each module has `register(group)`.

Command modules import only click at module level, so `tokengate --help` stays fast.
"""

from __future__ import annotations

import click

from generator.commands import deploy, emulate, simulate, smoke, verify


def register_all(group: click.Group) -> None:
    for module in (deploy, verify, simulate):
        module.register(group)
    for module in (emulate, smoke):
        module.register(group)
