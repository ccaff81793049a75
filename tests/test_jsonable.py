from __future__ import annotations

import pytest

from vrooli_core.jsonable import unstorable


@pytest.mark.parametrize("value", [None, 1, 1.5, "s", True, [1, (2, 3)], {"a": {"b": [None, {"c": "d"}]}}])
def test_json_values_are_storable(value):
    assert unstorable(value) is None


@pytest.mark.parametrize(
    ("value", "where"),
    [
        (object(), "(top): object"),
        ({"a": [1, {"b": b"x"}]}, "a[1].b: bytes"),
        ({1: "x"}, "(top): key 1 is not a string"),
        ([{"ok": 1}, {2, 3}], "[1]: set"),
    ],
)
def test_unstorable_values_say_where(value, where):
    assert unstorable(value) == where


def test_deep_values_do_not_recurse():
    deep: list = []
    node = deep
    for _ in range(100_000):
        node.append([])
        node = node[0]
    assert unstorable(deep) is None
