"""Command groups beyond the core ones in `generator.cli`; each module has `register(group)`.

Command modules import only click at module level, so `tokengate --help` stays fast.
"""

from __future__ import annotations

import click


def register_all(group: click.Group) -> None:
    from generator.commands import deploy, emulate, simulate, smoke, verify

    for module in (deploy, verify, simulate, emulate, smoke):
        module.register(group)
