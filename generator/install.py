"""How to install what an optional feature needs, said the same way wherever tokengate says it.

tokengate is installed from its own repository: the PyPI project called `tokengate` is an
unrelated one, so installing the extras by that name would install someone else's code.
"""

from __future__ import annotations


def extra_hint(extra: str) -> str:
    """The install line for one of tokengate's extras (chart, emulate, azure)."""
    return (
        f'install tokengate with its "{extra}" extra, from your clone of the tokengate repository: '
        f'pip install -c requirements/dev.txt ".[{extra}]"'
    )
