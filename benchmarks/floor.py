"""The floor a render is measured against: bare Jinja2 + PyYAML rendering the same templates into
the same files, in a fresh process, with none of tokengate's own work.

    python benchmarks/floor.py prepare DATA [SPEC]  # once, untimed: what to render, as plain data
    python benchmarks/floor.py render DATA OUT      # timed: the floor itself

SPEC defaults to the built-in lab spec, rendered as `tokengate render` (no SPEC, `--out out`)
renders it.

`prepare` imports tokengate, plans the render of SPEC into `out` and records it as data the
floor can use without importing tokengate: the model's dataclasses become plain attribute
objects, and every function the templates call (filters, context helpers) becomes a table of the
answers it gave in a real render. It then renders that data the floor's way and refuses to
write DATA unless every file is byte-identical to tokengate's own, so the floor does exactly the
templating work of a real render.

`render` is what a hand-written script would do: parse the spec with PyYAML (libyaml), build a
Jinja2 Environment with tokengate's options (compiling every template, no bytecode cache, as
bare Jinja does), render every job and write each file with a plain `write` (no fsync, no
manifest, no journal). It is meant to run as `__main__`: the recorded data refers to its
classes there.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any

import jinja2
import yaml


class Obj:
    """A model object as plain attributes; hashed by identity like the tables' keys expect."""

    def __init__(self, attributes: dict[str, Any]) -> None:
        self.__dict__.update(attributes)


def freeze(value: Any) -> Any:
    """A hashable key for call arguments (lists and dicts become tuples)."""
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple((k, freeze(v)) for k, v in value.items())
    return value


class Table:
    """A function the templates call, answered from what the real function returned."""

    def __init__(self, name: str, answers: dict[Any, Any]) -> None:
        self.name = name
        self.answers = answers

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.answers[freeze((args, sorted(kwargs.items())))]


def autoescape(name: str | None) -> bool:
    return bool(name and name.endswith(".xml.j2"))


def environment(folders: list[str]) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folders),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )


def render_all(data: dict[str, Any]) -> dict[str, str]:
    env = environment(data["folders"])
    env.filters.update(data["filters"])
    env.globals.update(data["globals"])
    texts = dict(data["files"])
    for path, template, context in data["jobs"]:
        text = env.get_template(template).render(**context).replace("\r\n", "\n")
        if template.endswith(".xml.j2"):
            text = text.replace("&#34;", "&quot;").replace("&#39;", "&apos;")
        texts[path] = text
    return texts


def floor(data_path: str, out: str) -> None:
    data = pickle.loads(Path(data_path).read_bytes())
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    yaml.load(Path(data["spec"]).read_text(encoding="utf-8"), Loader=loader)
    root = Path(out)
    for path, text in sorted(render_all(data).items()):
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8", newline="\n")


def prepare(data_path: str, spec: str | None) -> None:
    import dataclasses
    import types

    from generator.pipeline import compile_path
    from generator.render import environment as ours
    from generator.render import plan
    from generator.resources import lab_spec_path

    compiled = compile_path(Path(spec) if spec else None, Path("out"))
    jobs, files = plan(compiled.gateway)
    env = ours()
    calls: dict[str, list[tuple[tuple[Any, ...], dict[str, Any], Any]]] = {}

    def recorder(name: str, function: Any) -> Any:
        def record(*args: Any, **kwargs: Any) -> Any:
            result = function(*args, **kwargs)
            calls.setdefault(name, []).append((args, kwargs, result))
            return result

        return record

    # Render once with every function recording its answers (same templates, same contexts).
    recorded = environment([str(p) for p in env.loader.searchpath])  # type: ignore[union-attr]
    plain_env = jinja2.Environment()
    own_filters = {k: f for k, f in env.filters.items() if plain_env.filters.get(k) is not f}
    own_globals = {k: v for k, v in env.globals.items() if plain_env.globals.get(k) is not v}
    recorded.filters.update({k: recorder(f"filter:{k}", f) for k, f in own_filters.items()})
    recorded.globals.update(own_globals)
    functions: dict[int, str] = {}
    recorded_jobs = []
    for number, job in enumerate(jobs):
        context = {}
        for key, value in job.context.items():
            if isinstance(value, types.FunctionType):
                name = functions.setdefault(id(value), f"context:{key}:{number}")
                value = recorder(name, value)
            context[key] = value
        recorded_jobs.append((job, context))
        recorded.get_template(job.template).render(**context)

    memo: dict[int, Any] = {}
    tables: dict[str, Table] = {}

    def table(name: str) -> Table:
        return tables.setdefault(name, Table(name, {}))

    def convert(value: Any) -> Any:
        if id(value) in memo:
            return memo[id(value)]
        if isinstance(value, types.FunctionType):
            converted: Any = table(functions.get(id(value), "unused"))
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            converted = Obj({})
            memo[id(value)] = converted
            attributes = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
            for klass in type(value).__mro__:
                for name, member in vars(klass).items():
                    if isinstance(member, property):
                        attributes.setdefault(name, getattr(value, name))
            converted.__dict__.update({k: convert(v) for k, v in attributes.items()})
            return converted
        elif isinstance(value, types.ModuleType):
            converted = Obj(
                {
                    k: convert(v)
                    for k, v in vars(value).items()
                    if not k.startswith("_")
                    and not callable(v)
                    and not isinstance(v, type)
                    and not isinstance(v, types.ModuleType)
                }
            )
        elif isinstance(value, list):
            converted = [convert(v) for v in value]
        elif isinstance(value, tuple):
            converted = tuple(convert(v) for v in value)
        elif isinstance(value, dict):
            converted = {k: convert(v) for k, v in value.items()}
        else:
            return value
        memo[id(value)] = converted
        return converted

    data_jobs = []
    for (job, context), original in zip(recorded_jobs, jobs, strict=True):
        plain = {}
        for key, value in original.context.items():
            if isinstance(value, types.FunctionType):
                plain[key] = table(functions[id(value)])
            else:
                plain[key] = convert(value)
        del context
        data_jobs.append((job.path, job.template, plain))
    for name, entries in calls.items():
        answers = table(name).answers
        for args, kwargs, result in entries:
            answers[freeze((convert(args), sorted(convert(kwargs).items())))] = result

    data = {
        "spec": str(Path(spec).resolve() if spec else lab_spec_path()),
        "folders": [str(p) for p in env.loader.searchpath],  # type: ignore[union-attr]
        "filters": {k: tables.get(f"filter:{k}", Table(k, {})) for k in own_filters},
        "globals": {k: convert(v) for k, v in own_globals.items()},
        "jobs": data_jobs,
        "files": files,
    }
    blob = pickle.dumps(data)
    texts = render_all(pickle.loads(blob))
    expected = {path: f.content for path, f in compiled.files.items()}
    if texts != expected:
        wrong = sorted(p for p in expected.keys() | texts.keys() if texts.get(p) != expected.get(p))
        raise SystemExit(f"the floor renders other output than tokengate: {wrong[:5]}")
    Path(data_path).write_bytes(blob)


if __name__ == "__main__":
    if sys.argv[1:2] == ["prepare"]:
        prepare(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    elif sys.argv[1:2] == ["render"]:
        floor(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)
