"""Every diff rule, one case each, in both directions (the reverse change is classified too)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hydro_ci.contract.diff import (
    RULES,
    ChangeClass,
    DiffConfig,
    DiffConfigError,
    diff_contracts,
    diff_signatures,
)
from hydro_ci.contract.model import Contract, DType, Field, Profile, Shape, Signature


def t(name: str, dtype: str = "float32", shape: Shape = (3,), profile: str = "none") -> Field:
    d = DType.parse(dtype)
    p = Profile.parse(profile)
    assert d is not None and p is not None
    return Field(name, dtype=d, shape=shape, profile=p)


def rec(name: str, *subs: Field) -> Field:
    return Field(name, subfields=subs)


def c(inputs: tuple[Field, ...] = (t("x"),), outputs: tuple[Field, ...] = (t("y"),),
      name: str = "predict", extra: tuple[Signature, ...] = ()) -> Contract:
    return Contract("m", (Signature(name, inputs, outputs), *extra))


BASE = c()
OTHER = Signature("explain", (t("x"),), (t("why"),))

# (id, old, new, rules old→new, rules new→old)
CASES = [
    ("same", BASE, BASE, [], []),
    ("signature-renamed", BASE, c(name="infer"), ["signature-renamed"], ["signature-renamed"]),
    ("signature-added/removed", BASE, c(extra=(OTHER,)), ["signature-added"], ["signature-removed"]),
    ("input-added/removed", BASE, c(inputs=(t("x"), t("z"))), ["input-added"], ["input-removed"]),
    ("output-added/removed", BASE, c(outputs=(t("y"), t("z"))), ["output-added"], ["output-removed"]),
    ("dtype-changed", BASE, c(inputs=(t("x", "int64"),)), ["dtype-changed"], ["dtype-changed"]),
    ("dtype-changed output", BASE, c(outputs=(t("y", "float64"),)), ["dtype-changed"],
     ["dtype-changed"]),
    ("tensor↔record", BASE, c(inputs=(rec("x", t("a")),)), ["dtype-changed"], ["dtype-changed"]),
    ("rank-changed", BASE, c(inputs=(t("x", shape=(3, 4)),)), ["rank-changed"], ["rank-changed"]),
    ("scalar↔vector", c(inputs=(t("x", shape=()),)), BASE, ["rank-changed"], ["rank-changed"]),
    ("input-dim narrowed/widened", c(inputs=(t("x", shape=(-1, 4)),)), c(inputs=(t("x", shape=(8, 4)),)),
     ["input-dim-narrowed"], ["input-dim-widened"]),
    ("input-dim fixed→fixed", BASE, c(inputs=(t("x", shape=(4,)),)), ["input-dim-narrowed"],
     ["input-dim-narrowed"]),
    ("input-rank narrowed/widened", c(inputs=(t("x", shape=None),)), BASE, ["input-rank-narrowed"],
     ["input-rank-widened"]),
    ("output-dim widened/narrowed", BASE, c(outputs=(t("y", shape=(-1,)),)), ["output-dim-widened"],
     ["output-dim-narrowed"]),
    ("output-dim-changed", BASE, c(outputs=(t("y", shape=(5,)),)), ["output-dim-changed"],
     ["output-dim-changed"]),
    ("output-rank widened/narrowed", BASE, c(outputs=(t("y", shape=None),)), ["output-rank-widened"],
     ["output-rank-narrowed"]),
    ("input subfield added/removed", c(inputs=(rec("r", t("a")),)), c(inputs=(rec("r", t("a"), t("b")),)),
     ["input-subfield-added"], ["subfield-removed"]),
    ("output subfield added/removed", c(outputs=(rec("r", t("a")),)),
     c(outputs=(rec("r", t("a"), t("b")),)), ["output-subfield-added"], ["subfield-removed"]),
    ("subfield dtype", c(inputs=(rec("r", t("a")),)), c(inputs=(rec("r", t("a", "int8")),)),
     ["dtype-changed"], ["dtype-changed"]),
    ("profile-changed", BASE, c(inputs=(t("x", profile="numerical"),)), ["profile-changed"],
     ["profile-changed"]),
    ("reordered inputs", c(inputs=(t("a"), t("b"))), c(inputs=(t("b"), t("a"))), [], []),
    ("rename is remove+add by default", BASE, c(inputs=(t("w"),)), ["input-removed", "input-added"],
     ["input-removed", "input-added"]),
    ("output rename by default", BASE, c(outputs=(t("w"),)), ["output-removed", "output-added"],
     ["output-removed", "output-added"]),
]


@pytest.mark.parametrize(("old", "new", "forward", "backward"), [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_rule_both_directions(old: Contract, new: Contract, forward: list[str],
                              backward: list[str]) -> None:
    assert sorted(ch.rule for ch in diff_contracts(old, new).changes) == sorted(forward)
    assert sorted(ch.rule for ch in diff_contracts(new, old).changes) == sorted(backward)


def test_every_rule_has_a_case() -> None:
    covered = {r for case in CASES for r in (*case[3], *case[4])}
    by_position = {"input-renamed", "output-renamed", "subfield-renamed"}  # tested below
    assert set(RULES) - covered == by_position


BY_POSITION = DiffConfig(renames_by_position=True)


@pytest.mark.parametrize(("old", "new", "rules"), [
    (BASE, c(inputs=(t("w"),)), ["input-renamed"]),
    (BASE, c(outputs=(t("w"),)), ["output-renamed"]),
    (BASE, c(inputs=(t("w", "int32"),)), ["input-renamed", "dtype-changed"]),
    (c(inputs=(rec("r", t("a")),)), c(inputs=(rec("r", t("b")),)), ["subfield-renamed"]),
    (c(inputs=(t("a"), t("b"))), c(inputs=(t("a"), t("c"), t("d"))), ["input-renamed", "input-added"]),
    (c(extra=(OTHER,)), c(extra=(Signature("why", OTHER.inputs, OTHER.outputs),)), ["signature-renamed"]),
])
def test_renames_by_position(old: Contract, new: Contract, rules: list[str]) -> None:
    assert sorted(ch.rule for ch in diff_contracts(old, new, BY_POSITION).changes) == sorted(rules)
    # without the setting a rename is a removal plus an addition, never silently a rename
    default = {ch.rule for ch in diff_contracts(old, new).changes}
    assert not default & {"input-renamed", "output-renamed", "subfield-renamed"}


@pytest.mark.parametrize(("new", "summary"), [
    (BASE, ChangeClass.patch),
    (c(inputs=(t("x", profile="image"),)), ChangeClass.patch),
    (c(outputs=(t("y"), t("z"))), ChangeClass.additive),
    (c(outputs=(t("y"), t("z")), inputs=(t("x"), t("q"))), ChangeClass.breaking),
])
def test_summary_is_the_highest_class(new: Contract, summary: ChangeClass) -> None:
    assert diff_contracts(BASE, new).summary is summary


def test_ignored_rules_are_reported_but_do_not_count() -> None:
    new = c(inputs=(t("x"), t("debug")))
    result = diff_contracts(BASE, new, DiffConfig(ignore=frozenset({"input-added"})))
    assert result.summary is ChangeClass.patch
    assert [ch.rule for ch in result.ignored] == ["input-added"]
    data = result.to_dict()
    assert data["summary"] == "patch" and result.summary.bump == "patch" and data["ignored"][0]["path"] == (
        "predict.inputs.debug")
    assert "bump" not in data  # the step taken is the version decision's (0.x rule), not the diff's


def test_primary_signatures_compare_directly() -> None:
    result = diff_signatures(BASE.primary, c(outputs=(t("y"), t("p"))).primary)
    assert [ch.to_dict() for ch in result.changes] == [{
        "rule": "output-added", "class": "additive", "path": "predict.outputs.p",
        "message": "output 'p' added"}]


def test_dim_message_names_the_dimension() -> None:
    (change,) = diff_contracts(c(inputs=(t("x", shape=(-1, 4)),)),
                               c(inputs=(t("x", shape=(8, 4)),))).changes
    assert "dimension 0 changed from -1 to 8" in change.message
    assert change.render().startswith("breaking  predict.inputs.x: ")


@pytest.mark.parametrize(("config", "wanted"), [
    ({}, DiffConfig()),
    ({"diff": None}, DiffConfig()),
    ({"diff": {"ignore": ["input-added"], "renames-by-position": True}},
     DiffConfig(frozenset({"input-added"}), True)),
])
def test_config(config: dict[str, object], wanted: DiffConfig) -> None:
    assert DiffConfig.from_config(config) == wanted


@pytest.mark.parametrize(("config", "message"), [
    ({"diff": ["x"]}, "must be a mapping"),
    ({"diff": {"ignroe": []}}, "unknown key 'ignroe'"),
    ({"diff": {"ignore": ["no-such-rule"]}}, "unknown rule 'no-such-rule'"),
    ({"diff": {"ignore": "input-added"}}, "list of rule ids"),
    ({"diff": {"renames-by-position": "yes"}}, "true or false"),
])
def test_bad_config(config: dict[str, object], message: str) -> None:
    with pytest.raises(DiffConfigError, match=message):
        DiffConfig.from_config(config)


# --- properties over generated contracts -------------------------------------------------------

NAMES = st.sampled_from(["a", "b", "c", "d"])
SHAPES = st.one_of(st.none(), st.lists(st.sampled_from([-1, 1, 3, 8]), max_size=3).map(tuple))


@st.composite
def fields(draw: st.DrawFn, depth: int = 0) -> tuple[Field, ...]:
    names = draw(st.lists(NAMES, unique=True, max_size=3))
    out = []
    for name in names:
        if depth < 1 and draw(st.booleans()) and draw(st.booleans()):
            out.append(Field(name, subfields=draw(fields(depth + 1)) or (t("z"),)))
        else:
            out.append(t(name, draw(st.sampled_from(["float32", "int64", "string"])), draw(SHAPES),
                         draw(st.sampled_from(["none", "numerical"]))))
    return tuple(out)


CONTRACTS = st.builds(lambda i, o: c(inputs=i, outputs=o), fields(), fields())


@settings(max_examples=200, deadline=None)
@given(CONTRACTS)
def test_a_contract_does_not_differ_from_itself(contract: Contract) -> None:
    assert diff_contracts(contract, contract).changes == ()


@settings(max_examples=300, deadline=None)
@given(CONTRACTS, CONTRACTS)
def test_renames_by_position_changes_words_not_the_verdict(old: Contract, new: Contract) -> None:
    assert diff_contracts(old, new).summary == diff_contracts(old, new, BY_POSITION).summary


@settings(max_examples=300, deadline=None)
@given(CONTRACTS, CONTRACTS)
def test_every_change_has_a_known_rule_and_a_path(old: Contract, new: Contract) -> None:
    for change in diff_contracts(old, new).changes:
        assert change.rule in RULES and change.path.startswith("predict.") and change.message
