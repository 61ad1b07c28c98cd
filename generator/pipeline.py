"""The stages in order: load → validate → model → tier limits → render → limits → verify.
`write` and `deploy` follow.

Callers (CLI, deploy, benchmarks, tests) go through here so every path runs every check.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from generator import model
from generator.errors import SpecInvalid
from generator.findings import Finding, has_errors
from generator.gc_pause import collector_paused
from generator.invocation import DEFAULT_OUT, regenerate_note
from generator.limits import limit_findings, tier_findings
from generator.load import LoadedSpec, load_file
from generator.pricing import PriceTable
from generator.render import RenderedFile, render
from generator.resources import lab_spec_path
from generator.stages import staged
from generator.validate import validate
from generator.verify import verify_files

#: What findings and file headers call the built-in lab spec.
LAB_SPEC_NAME = "lab.yaml (built-in)"


@dataclass(frozen=True)
class Compiled:
    spec: LoadedSpec
    gateway: model.Gateway
    files: dict[str, RenderedFile]
    warnings: list[Finding]


def load_spec(path: Path | None) -> LoadedSpec:
    with collector_paused():
        if path is None:
            return load_file(lab_spec_path(), LAB_SPEC_NAME)
        return load_file(path)


def compile_spec(
    spec: LoadedSpec, note: str | None = None, prices: PriceTable | None = None
) -> Compiled:
    """Validate, model and render one loaded spec; raise SpecInvalid on any error.

    `note` is the "do not edit" line of every file (see `invocation.regenerate_note`); `prices`
    the base price table (`--prices FILE`; None: the shipped one).
    """
    with collector_paused():
        return _compile(spec, note, prices)


def _compile(spec: LoadedSpec, note: str | None, prices: PriceTable | None) -> Compiled:
    warnings = validate(replace(spec, prices=prices) if prices is not None else spec)
    gateway = model.build(
        spec.data, source=_source_name(spec.file), regenerate_note=note, prices=prices
    )
    over_tier = tier_findings(spec, gateway)  # counted on the model: refused before rendering
    if over_tier:
        raise SpecInvalid(warnings + over_tier)
    files = staged(gateway, render(gateway))
    over = limit_findings(spec, gateway, files)
    if over:
        raise SpecInvalid(warnings + over)
    broken = verify_files({path: f.content for path, f in files.items()})  # before any write
    if has_errors(broken):
        raise SpecInvalid(warnings + broken)
    return Compiled(spec, gateway, files, warnings)


def compile_path(
    path: Path | None, out: Path = DEFAULT_OUT, prices: PriceTable | None = None
) -> Compiled:
    """Compile the spec at `path` (None: the built-in lab) for rendering into `out`."""
    return compile_spec(load_spec(path), regenerate_note(path, out), prices)


def _source_name(file: str) -> str:
    """The spec's name as written into headers: its file name, never a machine-specific path."""
    return file if file == LAB_SPEC_NAME else Path(file).name
