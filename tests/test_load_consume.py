"""Loading takes the node tree apart as it builds from it (peak memory, issue 12 item 4); a
tree with aliases is walked whole. Either way the data and every mark are what a plain walk of
the whole tree gives."""

from __future__ import annotations

import yaml

from generator import load

PLAIN = """\
name: lab
consumers:
  - name: app-1
    tokensPerMinute: 300
  - {name: app-2, quota: 10, on: yes, when: 2024-01-01}
tags: [a, 1, 2.5, null]
"""
ALIASED = """\
base: &base {tokensPerMinute: 300, quota: 10}
consumers:
  - name: app-1
    limits: *base
  - name: app-2
    limits: *base
  - <<: *base
    name: app-3
"""


def _walked_whole(text: str) -> load.LoadedSpec:
    builder = load._Builder("spec.yaml", consume=False)
    root = yaml.compose(text, Loader=load._LOADER)
    assert root is not None
    data = builder.build(root, ())
    return load.LoadedSpec("spec.yaml", data, builder.value_marks, builder.key_marks)


def test_consumed_tree_gives_the_same_data_and_marks() -> None:
    loaded, whole = load.load_text(PLAIN, "spec.yaml"), _walked_whole(PLAIN)
    assert loaded.data == whole.data
    assert loaded.data["consumers"][1]["True"] is True  # YAML 1.1: the key `on` is true
    assert loaded.value_marks == whole.value_marks
    assert loaded.key_marks == whole.key_marks
    assert loaded.mark_of(("consumers", 1, "quota")) == load.Mark(5, 26)


def test_aliased_nodes_are_built_at_every_use() -> None:
    loaded = load.load_text(ALIASED, "spec.yaml")
    limits = {"tokensPerMinute": 300, "quota": 10}
    assert [c.get("limits", limits) for c in loaded.data["consumers"]] == [limits] * 3
    assert loaded.data["consumers"][2] == {**limits, "name": "app-3"}
    assert loaded.value_marks == _walked_whole(ALIASED).value_marks
    # The second use of the alias still has its values (nothing was taken apart).
    assert loaded.mark_of(("consumers", 1, "limits", "quota")) == load.Mark(1, 43)
