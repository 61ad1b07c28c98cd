"""Every command, one module per area; each module has `register(group)`, the one way commands
join the top-level group (`generator.cli.main`).

Command modules import only click at module level, so `tokengate --help` stays fast.
"""

from __future__ import annotations

import click


def register_all(group: click.Group) -> None:
    from generator.commands import core, deploy, emulate, prices, simulate, smoke, usage, verify

    for module in (core, deploy, verify, simulate, emulate, smoke, usage, prices):
        module.register(group)
