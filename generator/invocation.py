"""Which spec a command acts on, and how to name it back to the user.

Without a SPEC argument a command uses `./tokengate.yaml` when it exists (what `tokengate init`
writes), else the built-in lab spec, and says which on stderr: a user who keeps a spec in the
current folder must never deploy the lab by accident. Every hint and every generated file's
"do not edit" note names the spec and the output folder that were actually used, so copying the
command it shows regenerates the same files.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

#: The spec a command picks up from the current folder when none is named.
DEFAULT_SPEC = Path("tokengate.yaml")
#: `render`'s default output folder; the regenerate command leaves `--out` off for it.
DEFAULT_OUT = Path("out")


def choose_spec(given: Path | None) -> tuple[Path | None, str | None]:
    """The spec to load (None: the built-in lab) and the announcement to print, if any."""
    if given is not None:
        return given, None
    if DEFAULT_SPEC.exists() or DEFAULT_SPEC.is_symlink():
        return DEFAULT_SPEC, f"using {DEFAULT_SPEC} (no SPEC given)"
    return None, (
        f"using the built-in lab spec (no SPEC given and no ./{DEFAULT_SPEC}; "
        "`tokengate init` writes one)"
    )


def shown(path: Path) -> str:
    """A path as a shell word: relative to the current folder when inside it, `/` separators."""
    try:
        relative = path.resolve().relative_to(Path.cwd().resolve()) if path.is_absolute() else path
    except (ValueError, OSError):
        relative = path
    from generator.load import display_path

    return shlex.quote(display_path(relative.as_posix()))


def render_command(spec: Path | None, out: Path = DEFAULT_OUT) -> str:
    """The `tokengate render …` command that regenerates `out` from `spec`."""
    words = ["tokengate render"]
    if spec is not None:
        words.append(shown(spec))
    if out != DEFAULT_OUT:
        words.append(f"--out {shown(out)}")
    return " ".join(words)


def up_note(spec_file: str, is_lab: bool) -> str:
    """The note of the azd project `tokengate up` writes (in the current folder, as `up` runs)."""
    if is_lab:
        return (
            "Do not edit: rendered from the built-in lab spec; `tokengate init` writes an "
            f"editable copy, then run `tokengate up {DEFAULT_SPEC}`."
        )
    spec = shown(Path(spec_file))
    return f"Do not edit: change {spec}, then run `tokengate up {spec}`."


def _absolute(path: Path) -> Path:
    """Absolute without following links: a symlinked `out/` keeps the name the user gave it."""
    return Path(os.path.normpath(Path.cwd() / path))


def regenerate_note(spec: Path | None, out: Path = DEFAULT_OUT) -> str:
    """The one-line note every generated file carries.

    Paths in it are relative to the folder that holds `out`, not to the current folder, so
    the same spec and output folder give byte-identical files whichever folder `render` ran
    from and however the paths were spelled (`render --check` must not see drift there).
    """
    absolute_out = _absolute(out)
    base, out_in_base = absolute_out.parent, Path(absolute_out.name)
    if spec is None:
        return (
            "Do not edit: rendered from the built-in lab spec; `tokengate init` writes an "
            f"editable copy, then run `{render_command(DEFAULT_SPEC, out_in_base)}` in the "
            f"folder that holds {out_in_base}/."
        )
    spec_in_base = Path(os.path.relpath(_absolute(spec), base))
    command = render_command(spec_in_base, out_in_base)
    return (
        f"Do not edit: change {shown(spec_in_base)}, then run `{command}` in the folder that "
        f"holds {out_in_base}/."
    )
