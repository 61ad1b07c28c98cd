"""Bicep files, parsed once with the real grammar (tree-sitter-bicep), and the checks on them.

One walk over each tree collects everything the other checks need (syntax errors, module and
`load*Content` paths, resource declarations), so `verify` stays fast on every `render`.
The grammar does not know typed variables, `extension` or `.bicepparam`; tokengate writes none.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache

import tree_sitter
import tree_sitter_bicep

from generator import azure
from generator.findings import Finding
from generator.verify import rules
from generator.verify.paths import resolve

#: Bicep functions that read another file at compile time, relative to the calling file.
LOAD_FUNCTIONS = frozenset(
    {"loadTextContent", "loadJsonContent", "loadYamlContent", "loadFileAsBase64"}
)

_ESCAPE = re.compile(r"\\(u\{[0-9A-Fa-f]+\}|.)")
_ESCAPED = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "'": "'", "$": "$"}


@dataclass(frozen=True)
class Reference:
    """A path one Bicep file names: a module or a file it loads."""

    function: str
    written: str
    target: str
    line: int
    column: int


@dataclass(frozen=True)
class Resource:
    """One `resource` declaration; `body` is its object (inside any `for` or `if`)."""

    symbol: str
    type: str
    api_version: str
    existing: bool
    line: int
    column: int
    body: tree_sitter.Node | None


@dataclass(frozen=True)
class Parameter:
    """One `param` declaration; `required` when it has no default and a non-nullable type."""

    name: str
    required: bool
    line: int
    column: int


@dataclass(frozen=True)
class ModuleCall:
    """One `module` declaration: the file it calls and the parameter names it passes (None when
    `params` is not an object literal, so the names cannot be known without evaluating it)."""

    reference: Reference
    passed: frozenset[str] | None


@dataclass(frozen=True)
class Loop:
    """The `for` loop of a resource or module declaration; `source` is the array's name, or its
    expression when it is not a plain name (`range(0, 3)`)."""

    file: str
    line: int
    column: int
    source: str


@dataclass(frozen=True)
class BicepFile:
    path: str
    source: bytes
    tree: tree_sitter.Tree
    problems: tuple[tuple[int, int, str], ...]
    references: tuple[Reference, ...]
    resources: tuple[Resource, ...]
    #: (parameter name, value node) of every module call's `params`: what loops iterate over.
    module_arguments: tuple[tuple[str, tree_sitter.Node], ...] = ()
    parameters: tuple[Parameter, ...] = ()
    module_calls: tuple[ModuleCall, ...] = ()
    #: One entry per resource or module declaration that deploys something (not `existing`),
    #: nested (child) resources included: its loop, None when it has none. ARM's resource count.
    deployed: tuple[Loop | None, ...] = ()
    outputs: int = 0

    def position(self, node: tree_sitter.Node) -> tuple[int, int]:
        return position(self.source, node)


def position(source: bytes, node: tree_sitter.Node) -> tuple[int, int]:
    """1-based line and column (in characters, not bytes) where `node` starts."""
    row, byte_column = node.start_point
    line_start = source.rfind(b"\n", 0, node.start_byte) + 1
    prefix = source[line_start : line_start + byte_column]
    return row + 1, len(prefix.decode("utf-8", "replace")) + 1


@cache
def _parser() -> tree_sitter.Parser:
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_bicep.language()))


def string_value(node: tree_sitter.Node) -> str | None:
    """The value of a Bicep string literal; None when it interpolates (`${...}`)."""
    if node.type != "string" or node.text is None:
        return None
    if any(child.type == "interpolation" for child in node.children):
        return None
    text = node.text.decode("utf-8")
    if text.startswith("'''"):
        return text[3:-3]
    return _ESCAPE.sub(_unescape, text[1:-1])


def _unescape(match: re.Match[str]) -> str:
    escaped = match.group(1)
    if escaped.startswith("u{"):
        return chr(int(escaped[2:-1], 16))
    return _ESCAPED.get(escaped, escaped)


@lru_cache(maxsize=256)
def parse(path: str, text: str) -> BicepFile:
    """Parse `text` and collect what the checks need in one walk. Cached: render's limit count
    and its verify step read the same files, and a BicepFile is immutable."""
    source = text.encode("utf-8")
    tree = _parser().parse(source)
    problems: list[tuple[int, int, str]] = []
    references: list[Reference] = []
    resources: list[Resource] = []
    module_arguments: list[tuple[str, tree_sitter.Node]] = []
    parameters: list[Parameter] = []
    module_calls: list[ModuleCall] = []
    deployed: list[Loop | None] = []
    outputs = 0
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            line, column = position(source, node)
            problems.append((line, column, _describe_problem(node)))
            continue  # one finding per broken region, not one per node inside it
        if node.type in ("resource_declaration", "module_declaration"):
            if _first_child(node, "existing") is None:
                deployed.append(_loop(path, source, node))
        elif node.type == "output_declaration":
            outputs += 1
        if node.type == "module_declaration":
            path_node = _first_child(node, "string")
            if path_node is not None:
                reference = _reference(path, source, "module", path_node)
                references.append(reference)
                module_calls.append(ModuleCall(reference, _passed_names(node)))
            module_arguments.extend(_module_arguments(node))
        elif node.type == "parameter_declaration":
            declared_parameter = _parameter(source, node)
            if declared_parameter is not None:
                parameters.append(declared_parameter)
        elif node.type == "call_expression":
            name = node.children[0].text if node.children else None
            if name is not None and name.decode() in LOAD_FUNCTIONS:
                argument = _first_argument(node)
                if argument is not None:
                    references.append(_reference(path, source, name.decode(), argument))
        elif node.type == "resource_declaration":
            declared = _resource(source, node)
            if declared is not None:
                resources.append(declared)
        stack.extend(reversed(node.children))
    return BicepFile(
        path,
        source,
        tree,
        tuple(problems),
        tuple(references),
        tuple(resources),
        tuple(module_arguments),
        tuple(parameters),
        tuple(module_calls),
        tuple(deployed),
        outputs,
    )


def _loop(path: str, source: bytes, declaration: tree_sitter.Node) -> Loop | None:
    statement = _first_child(declaration, "for_statement")
    if statement is None:
        return None
    children = statement.children
    for i, child in enumerate(children):
        if child.type == "in" and i + 1 < len(children):
            array = children[i + 1]
            line, column = position(source, array)
            return Loop(path, line, column, (array.text or b"").decode("utf-8"))
    line, column = position(source, statement)
    return Loop(path, line, column, "")


def _parameter(source: bytes, node: tree_sitter.Node) -> Parameter | None:
    name = _first_child(node, "identifier")
    if name is None or name.text is None:
        return None
    type_node = _first_child(node, "type")
    nullable = type_node is not None and (type_node.text or b"").rstrip().endswith(b"?")
    has_default = _first_child(node, "=") is not None
    line, column = position(source, name)
    return Parameter(name.text.decode(), not (nullable or has_default), line, column)


def _passed_names(module: tree_sitter.Node) -> frozenset[str] | None:
    body = _body(module)
    if body is None:
        return None
    params = [value for key, value in object_properties(body) if key == "params"]
    if not params:
        return frozenset()
    value = params[0]
    literal_parts = {"{", "}", "object_property", "comment"}
    if value.type != "object" or any(c.type not in literal_parts for c in value.children):
        return None
    return frozenset(key for key, _ in object_properties(value))


def _describe_problem(node: tree_sitter.Node) -> str:
    if node.is_missing:
        return f"syntax error: missing '{node.type}'"
    first, last = node.start_point[0] + 1, node.end_point[0] + 1
    where = f"line {first}" if first == last else f"lines {first}-{last}"
    snippet = (node.text or b"").decode("utf-8", "replace").strip().split("\n", 1)[0][:60]
    return f"syntax error: the Bicep grammar cannot parse {where}, from `{snippet}`"


def _first_child(node: tree_sitter.Node, kind: str) -> tree_sitter.Node | None:
    return next((child for child in node.children if child.type == kind), None)


def object_properties(node: tree_sitter.Node) -> Iterator[tuple[str, tree_sitter.Node]]:
    """(key, value node) of each property of a Bicep object literal."""
    for prop in node.children:
        if prop.type != "object_property" or len(prop.children) < 3:
            continue
        key_node, value = prop.children[0], prop.children[-1]
        key = string_value(key_node) if key_node.type == "string" else key_node.text
        if isinstance(key, bytes):
            key = key.decode("utf-8")
        if key is not None:
            yield key, value


def _module_arguments(module: tree_sitter.Node) -> Iterator[tuple[str, tree_sitter.Node]]:
    body = _body(module)
    if body is None:
        return
    for key, value in object_properties(body):
        if key == "params" and value.type == "object":
            yield from object_properties(value)


def _first_argument(call: tree_sitter.Node) -> tree_sitter.Node | None:
    arguments = _first_child(call, "arguments")
    if arguments is None:
        return None
    return _first_child(arguments, "string")


def _reference(path: str, source: bytes, function: str, string: tree_sitter.Node) -> Reference:
    line, column = position(source, string)
    written = string_value(string) or ""
    return Reference(function, written, resolve(path, written), line, column)


def _resource(source: bytes, node: tree_sitter.Node) -> Resource | None:
    symbol = _first_child(node, "identifier")
    type_node = _first_child(node, "string")
    if symbol is None or type_node is None or symbol.text is None:
        return None
    type_and_version = string_value(type_node) or ""
    resource_type, _, api_version = type_and_version.partition("@")
    line, column = position(source, type_node)
    existing = _first_child(node, "existing") is not None
    return Resource(
        symbol.text.decode(),
        resource_type,
        api_version,
        existing,
        line,
        column,
        _body(node),
    )


def _body(node: tree_sitter.Node) -> tree_sitter.Node | None:
    """The resource's object, looking through `[for ...: {...}]` and `if (...) {...}`."""
    for child in node.children:
        if child.type == "object":
            return child
        if child.type in ("for_statement", "if_statement"):
            return _body(child)
    return None


def bicep_findings(parsed: BicepFile, files: Mapping[str, str]) -> Iterator[Finding]:
    """Syntax, paths that do not resolve, and resource types/versions tokengate does not use."""
    for line, column, message in parsed.problems:
        yield rules.BICEP_SYNTAX.at(parsed.path, line, column, message)
    for reference in parsed.references:
        if reference.target not in files:
            unresolved = rules.MODULE_PATH if reference.function == "module" else rules.LOAD_PATH
            yield unresolved.at(
                parsed.path,
                reference.line,
                reference.column,
                f"{reference.function} path '{reference.written}' names {reference.target}, "
                "which is not in the output",
            )
    for resource in parsed.resources:
        expected = azure.API_VERSIONS.get(resource.type)
        if expected is None:
            yield rules.RESOURCE_TYPE.at(
                parsed.path,
                resource.line,
                resource.column,
                f"resource type '{resource.type}' is not one tokengate generates",
            )
        elif resource.api_version not in azure.rendered_api_versions(resource.type):
            yield rules.API_VERSION.at(
                parsed.path,
                resource.line,
                resource.column,
                f"{resource.type} uses API version '{resource.api_version}'; tokengate uses "
                f"{expected} (the version its schema checks cover)",
            )
