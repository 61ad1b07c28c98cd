"""Stage 1: read YAML into plain data and remember where every value came from.

PyYAML composes a node tree that carries line/column marks; we build plain dicts/lists from it
and keep a map from JSON path to (line, column) so later stages can point at the exact node.
Duplicate keys (silently last-wins in PyYAML) and alias bombs are reported here.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from generator import rules
from generator.errors import SpecInvalid, TokengateError
from generator.findings import Finding, json_path
from generator.gc_pause import collector_paused
from generator.pricing import PriceTable

PathKey = tuple[str | int, ...]

#: libyaml's composer when PyYAML was built with it (10x faster on big specs); same marks.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Upper bound on nodes built from one document; far above any real spec (10,000 consumers is
#: ~60,000 nodes) and far below what an alias "billion laughs" document expands to.
MAX_NODES = 2_000_000

#: Deepest nesting of collections a spec may have. The deepest real field is about 8 levels
#: down; tokengate measures this itself so the finding does not depend on which libyaml (or
#: none) PyYAML was built with: libyaml 0.2.6 refuses depth 1000 with its own syntax error,
#: older builds recurse until the interpreter's limit.
MAX_DEPTH = 64

_NESTED_TOO_DEEPLY = (
    f"the document is nested more than {MAX_DEPTH} levels deep; no spec field is that deep"
)
_OPENING_TOKENS = (
    yaml.BlockMappingStartToken,
    yaml.BlockSequenceStartToken,
    yaml.FlowMappingStartToken,
    yaml.FlowSequenceStartToken,
)
_CLOSING_TOKENS = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)


@dataclass(frozen=True)
class Mark:
    line: int
    column: int


@dataclass
class LoadedSpec:
    """The spec as plain data plus the source position of every value and mapping key."""

    file: str
    data: Any
    value_marks: dict[PathKey, Mark] = field(default_factory=dict)
    key_marks: dict[PathKey, Mark] = field(default_factory=dict)
    warnings: list[Finding] = field(default_factory=list)
    #: The base price table the spec is priced against (`--prices FILE`); None: the shipped
    #: one. The budget rules (validate/rules/money.py) read it, as the model does.
    prices: PriceTable | None = None

    def mark_of(self, path: PathKey, *, key: bool = False) -> Mark:
        """Position of the value (or its key) at `path`; falls back to the nearest parent."""
        marks = self.key_marks if key else self.value_marks
        probe = tuple(path)
        while probe:
            if probe in marks:
                return marks[probe]
            if probe in self.value_marks:
                return self.value_marks[probe]
            probe = probe[:-1]
        return self.value_marks.get((), Mark(1, 1))


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Plain data and marks from a composed node tree.

    With `consume` (the tree has no node reached twice, so no alias), the tree is taken apart
    while it is built from: each child node is dropped from its parent once its value is built,
    so the node tree (two PyYAML marks per node) shrinks as the plain data and our marks grow,
    and the peak is about the larger of the two instead of their sum (75,000 consumers: 549 MiB
    peak RSS before, see the commit). A tree with aliases is walked without taking it apart, as
    an aliased node is built once for every place it is used.
    """

    def __init__(self, file: str, *, consume: bool = False) -> None:
        self.file = file
        self.consume = consume
        self.constructor = yaml.SafeLoader("")
        self.value_marks: dict[PathKey, Mark] = {}
        self.key_marks: dict[PathKey, Mark] = {}
        self.findings: list[Finding] = []

    def _children(self, node: yaml.CollectionNode) -> list[Any]:
        """The node's children, in order; taken out of the node when consuming."""
        children: list[Any] = node.value
        if self.consume:
            node.value = []
        return children

    def _scalar(self, node: yaml.Node) -> Any:
        value = self.constructor.construct_object(node, deep=True)
        # The constructor remembers every node it built (for aliases within one call); we build
        # one node per call, so nothing is lost and the node is not kept alive by the cache.
        self.constructor.constructed_objects.clear()
        return value

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.value_marks[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            self.constructor.flatten_mapping(node)
            result: dict[str, Any] = {}
            pairs = self._children(node)
            for index, (key_node, value_node) in enumerate(pairs):
                if self.consume:
                    pairs[index] = None
                key = self._scalar(key_node)
                if not isinstance(key, str):
                    key = str(key)
                if key in result:
                    mark = _mark(key_node)
                    self.findings.append(
                        rules.DUPLICATE_KEY.at(
                            self.file,
                            mark.line,
                            mark.column,
                            f"duplicate key '{key}' (an earlier value would be ignored)",
                            json_path=json_path((*path, key)),
                        )
                    )
                    continue
                self.key_marks[(*path, key)] = _mark(key_node)
                del key_node
                result[key] = self.build(value_node, (*path, key))
            return result
        if isinstance(node, yaml.SequenceNode):
            items = self._children(node)
            built = []
            for index, item in enumerate(items):
                if self.consume:
                    items[index] = None
                built.append(self.build(item, (*path, index)))
                del item
            return built
        return self._scalar(node)


def _refuse_alias_bombs(root: yaml.Node, file: str) -> bool:
    """Count what the tree expands to (aliases re-expand shared nodes) without expanding it;
    returns whether any node is reached more than once (through an alias)."""
    sizes: dict[int, int] = {}
    shared = False

    def size(node: yaml.Node) -> int:
        nonlocal shared
        key = id(node)
        if key in sizes:
            shared = True
        else:
            sizes[key] = 1  # a recursive alias counts once instead of looping
            children: list[yaml.Node] = []
            if isinstance(node, yaml.MappingNode):
                children = [part for pair in node.value for part in pair]
            elif isinstance(node, yaml.SequenceNode):
                children = list(node.value)
            total = 1
            for child in children:
                total += size(child)
                if total > MAX_NODES:
                    mark = _mark(child)
                    message = (
                        f"the document expands to more than {MAX_NODES:,} values through "
                        "aliases; refusing to load it"
                    )
                    raise SpecInvalid([rules.TOO_DEEP.at(file, mark.line, mark.column, message)])
            sizes[key] = total
        return sizes[key]

    size(root)
    return shared


_BLOCK_PREFIX = re.compile(r"^( *)((?:- +)*)", re.MULTILINE)
_FLOW_BRACKETS = re.compile(r"[\[\]{}]")


def _depth_bound(text: str) -> int:
    """A cheap upper bound on the nesting depth, from the text alone.

    Block nesting cannot exceed one (the root) plus a line's indentation and leading `- `
    markers, and flow nesting cannot exceed the running count of open brackets (quoted
    brackets only make the bound looser). When the bound is small the exact measurement is
    skipped, so real specs pay two regex passes, not a pure-Python YAML scan.
    """
    block = 1 + max((len(m[1]) + m[2].count("-") for m in _BLOCK_PREFIX.finditer(text)), default=0)
    flow = deepest = 0
    for bracket in _FLOW_BRACKETS.finditer(text):
        flow = flow + 1 if bracket[0] in "[{" else max(flow - 1, 0)
        deepest = max(deepest, flow)
    return block + deepest


def _first_mark_too_deep(text: str) -> Mark | None:
    """Where the nesting first exceeds MAX_DEPTH, measured on the pure-Python scanner's tokens.

    The pure-Python scanner is iterative and has no depth limit of its own, so it measures
    what libyaml would refuse. It stops at the first place too deep, or at the first syntax
    error (left for the real parse to report with its position).
    """
    depth = 0
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, _OPENING_TOKENS):
                depth += 1
                if depth > MAX_DEPTH:
                    return Mark(token.start_mark.line + 1, token.start_mark.column + 1)
            elif isinstance(token, _CLOSING_TOKENS):
                depth -= 1
    except yaml.YAMLError:
        return None
    return None


def _refuse_deep_nesting(text: str, file: str) -> None:
    if _depth_bound(text) <= MAX_DEPTH:
        return
    mark = _first_mark_too_deep(text)
    if mark is not None:
        raise SpecInvalid([rules.TOO_DEEP.at(file, mark.line, mark.column, _NESTED_TOO_DEEPLY)])


def load_text(text: str, file: str) -> LoadedSpec:
    """Parse one YAML document. Raises SpecInvalid (syntax, duplicates, empty) with positions."""
    # Loading builds millions of objects for a large spec but no cycles worth collecting: with
    # the collector paused a 10,000-consumer spec loads in 0.29 s instead of 0.66 s.
    with collector_paused():
        return _load_text(text, file)


def _load_text(text: str, file: str) -> LoadedSpec:
    _refuse_deep_nesting(text, file)
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecInvalid(
            [rules.YAML_SYNTAX.at(file, line, column, f"YAML syntax error: {problem}")]
        ) from None
    except yaml.YAMLError as exc:
        raise SpecInvalid([rules.YAML_SYNTAX.at(file, 1, 1, f"YAML syntax error: {exc}")]) from None
    except RecursionError:
        raise SpecInvalid([rules.TOO_DEEP.at(file, 1, 1, _NESTED_TOO_DEEPLY)]) from None
    if root is None:
        raise SpecInvalid([rules.EMPTY_SPEC.at(file, 1, 1, "the spec is empty")])
    try:
        builder = _Builder(file, consume=not _refuse_alias_bombs(root, file))
        data = builder.build(root, ())
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise SpecInvalid(
            [rules.YAML_SYNTAX.at(file, line, column, f"YAML error: {exc.problem}")]
        ) from None
    except RecursionError:
        raise SpecInvalid([rules.TOO_DEEP.at(file, 1, 1, _NESTED_TOO_DEEPLY)]) from None
    if builder.findings:
        raise SpecInvalid(builder.findings)
    return LoadedSpec(file, data, builder.value_marks, builder.key_marks)


def display_path(path: Path | str) -> str:
    """A file name as findings print it: bytes that are not UTF-8 as `\\xff`, control characters
    escaped, so a hostile name can neither crash the output nor start a line of its own."""
    text = os.fsdecode(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(
        char.encode("unicode_escape").decode("ascii")
        if unicodedata.category(char) in ("Cc", "Zl", "Zp")
        else char
        for char in text
    )


def _not_a_file(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    kinds = [
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ]
    if stat.S_ISREG(mode):
        return None
    return next((words for test, words in kinds if test(mode)), "not a regular file")


def _refuse_non_file(mode: int, name: str) -> None:
    kind = _not_a_file(mode)
    if kind is not None:
        raise TokengateError(f"{name}: is {kind}, not a spec file")


def _read_bytes(path: Path, name: str) -> bytes:
    """Stat before opening (opening a FIFO blocks until a writer comes; /dev/zero never ends),
    open without blocking, check the opened file again, then read at most the size bound."""
    from generator.spec_size import MAX_SPEC_BYTES

    try:
        _refuse_non_file(path.stat().st_mode, name)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise TokengateError(f"{name}: no such file") from None
    except OSError as exc:
        raise TokengateError(f"{name}: cannot read: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        try:
            status = os.fstat(handle.fileno())
            _refuse_non_file(status.st_mode, name)
            too_big = status.st_size > MAX_SPEC_BYTES
            raw = b"" if too_big else handle.read(MAX_SPEC_BYTES + 1)
        except OSError as exc:
            raise TokengateError(f"{name}: cannot read: {exc.strerror}") from None
    if status.st_size > MAX_SPEC_BYTES or len(raw) > MAX_SPEC_BYTES:
        size = max(status.st_size, len(raw))
        message = (
            f"the spec is {size / 2**20:,.1f} MiB; tokengate reads specs of up to "
            f"{MAX_SPEC_BYTES // 2**20} MiB"
        )
        raise SpecInvalid([rules.TOO_LARGE.at(name, 1, 1, message)])
    return raw


def read_spec_text(path: Path, name: str) -> str:
    """A spec file's text, with a clear error when it is missing, unreadable, not a regular file,
    too large or not UTF-8."""
    raw = _read_bytes(path, name)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecInvalid(
            [rules.YAML_SYNTAX.at(name, 1, 1, f"not UTF-8 text (byte {exc.start})")]
        ) from None


def load_file(path: Path, display_name: str | None = None) -> LoadedSpec:
    """Read and parse a spec file; `display_name` is what findings call it."""
    from generator.spec_size import refuse_oversized

    name = display_name or display_path(path)
    text = read_spec_text(path, name)
    refuse_oversized(text, name)
    return load_text(text, name)
