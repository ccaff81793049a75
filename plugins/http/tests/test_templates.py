"""Templates look names up and do nothing else."""

from __future__ import annotations

import pytest
from vrooli_http.errors import HttpStepError
from vrooli_http.redact import Redactor
from vrooli_http.templates import Namespace, render, secret_names, url_segment

NS = Namespace("s1", {"user": {"name": "Ada", "tags": ["x", "y"]}, "n": 3, "flag": True}, {"TOKEN": "t0k"}, {"run_id": "r1"})


def test_fields_are_looked_up_key_by_key() -> None:
    assert render("{inputs.user.name}/{inputs.user.tags.1}/{inputs.n}/{inputs.flag}", NS) == "Ada/y/3/true"
    assert render("{secret:TOKEN} {run_id} {{literal}}", NS) == "t0k r1 {literal}"
    assert render({"k{inputs.n}": ["{inputs.user}"]}, NS, typed=True) == {"k3": [{"name": "Ada", "tags": ["x", "y"]}]}
    spaced = Namespace("s1", {"p": "a/b c?d"}, {}, {})
    assert render("/x y/{inputs.p}", spaced, escape=url_segment) == "/x y/a%2Fb%20c%3Fd"  # only the value is escaped


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{inputs.__class__}", "missing input 'inputs.__class__'"),
        ("{inputs.user.name.upper}", "missing input 'inputs.user.name.upper'"),
        ("{inputs.user.tags.5}", "missing input 'inputs.user.tags.5'"),
        ("{__import__('os')}", "unknown template field"),
        ("{0}", "unknown template field"),
        ("{inputs.n", "unbalanced brace"),
    ],
)
def test_anything_but_a_lookup_is_refused(text: str, problem: str) -> None:
    with pytest.raises(HttpStepError) as info:
        render(text, NS)
    assert info.value.code == "invalid_config"
    assert problem in info.value.message and "'s1'" in info.value.message


def test_secret_names_are_found_anywhere() -> None:
    found = secret_names({"a": ["{secret:A}", {"{secret:B}": "x {secret: C }"}], "b": 1})
    assert sorted(found) == ["A", "B", "C"]


def test_redactor_masks_every_spelling_longest_first() -> None:
    redact = Redactor(["ab", "abc d", ""])
    assert redact.text("x abc d y ab abc%20d abc+d") == "x *** y *** *** ***"
    assert redact.value({"abc d": [1, "ab"], "n": 12}) == {"***": [1, "***"], "n": 12}
    assert Redactor(["12"]).value({"n": 3120}) == {"n": "3***0"}
    assert not Redactor([""])
