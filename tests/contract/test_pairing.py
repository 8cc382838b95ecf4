"""The one pairing walker, and the comparisons on top of it speaking one vocabulary."""

from __future__ import annotations

from pathlib import Path

from hydro_ci.contract.diff import diff_contracts
from hydro_ci.contract.model import Contract, DType, Field, Signature, shape_text
from hydro_ci.contract.pairing import pair_contracts, pair_names, pair_signature, walk
from hydro_ci.diagnostics import Location
from hydro_ci.infer.check import check_model_folder
from hydro_ci.infer.compare import compare_signature
from tests.contract.helpers import PROTOTXT, SERVING, make_folder


def t(name: str, shape: tuple[int, ...] | None = (3,), dtype: DType = DType.float32) -> Field:
    return Field(name, dtype=dtype, shape=shape)


def test_names_pair_first_then_renames_by_position_then_removed_then_added() -> None:
    old, new = ["a", "b", "c", "d"], ["c", "x", "a", "y", "z"]
    assert pair_names(old, new) == [(0, 2), (2, 0), (1, None), (3, None), (None, 1), (None, 3), (None, 4)]
    assert pair_names(old, new, by_position=True) == [(0, 2), (2, 0), (1, 1), (3, 3), (None, 4)]


def test_the_tree_keys_each_side_where_readers_locate_it() -> None:
    old = Signature("predict", (t("x"), Field("r", subfields=(t("a"), t("b")))), (t("y"),))
    new = Signature("predict", (Field("r", subfields=(t("b"), t("c"))), t("x")), (t("y"),))
    pairs = walk(pair_signature(old, new).inputs)
    got = [(p.path, p.old_key, p.new_key) for p in pairs]
    assert got == [
        ("predict.inputs.x", ("inputs", 0), ("inputs", 1)),
        ("predict.inputs.r", ("inputs", 1), ("inputs", 0)),
        ("predict.inputs.r.b", ("inputs", 1, 1), ("inputs", 0, 0)),
        ("predict.inputs.r.a", ("inputs", 1, 0), None),
        ("predict.inputs.r.c", None, ("inputs", 0, 1)),
    ]


def test_a_record_and_a_tensor_are_paired_but_not_looked_into() -> None:
    old = Signature("s", (Field("r", subfields=(t("a"),)),), ())
    new = Signature("s", (t("r"),), ())
    [pair] = pair_signature(old, new).inputs
    assert pair.kind_changed and pair.subfields == ()


def test_signatures_pair_by_name_unless_asked_by_position() -> None:
    old = Contract("m", (Signature("a"), Signature("b")))
    new = Contract("m", (Signature("c"), Signature("b")))
    names = [(p.old and p.old.name, p.new and p.new.name) for p in pair_contracts(old, new)]
    assert names == [("b", "b"), ("a", None), (None, "c")]
    by_position = pair_contracts(old, new, signatures_by_position=True)
    assert [(p.old and p.old.name, p.new and p.new.name) for p in by_position] == [("b", "b"), ("a", "c")]


# --- one vocabulary: every comparison writes a shape the way the model renders it ----------------

def test_shape_text_is_the_one_vocabulary() -> None:
    assert [shape_text(s) for s in (None, (), (-1, 3))] == ["any rank", "scalar", "[-1, 3]"]


def test_diff_writes_any_rank() -> None:
    old = Contract("m", (Signature("p", (t("x", None),), (t("y"),)),))
    new = Contract("m", (Signature("p", (t("x", (3,)),), (t("y"),)),))
    [change] = diff_contracts(old, new).changes
    assert change.message == "shape changed from any rank to [3]"


def test_declared_vs_inferred_writes_any_rank() -> None:
    """infer.compare said "dynamic" where diff said "any rank" and validation "unknown"."""
    declared = Signature("p", (), (t("y"),))
    inferred = Signature("p", (t("x", None),), (t("y"),))
    [problem] = compare_signature(declared, inferred, model="m.onnx", locate=lambda key: Location("s"))
    assert problem.message == "m.onnx has input 'x' (float32 any rank) that the declared contract lacks"


def test_two_declarations_write_any_rank(tmp_path: Path) -> None:
    """serving.yaml vs contract.prototxt said "shape unknown here"."""
    serving = SERVING.replace("x: {shape: [-1, 3], type: float32", "x: {type: float32")
    problems = check_model_folder(make_folder(tmp_path, serving, prototxt=PROTOTXT))
    assert [p.rule for p in problems] == ["contract-mismatch"]
    assert problems[0].message.endswith("input 'x' has shape any rank here, [-1, 3] there")


def test_two_declarations_name_a_record_a_record(tmp_path: Path) -> None:
    """A record against a tensor was reported as "dtype unknown here, float32 there"."""
    serving = SERVING.replace("x: {shape: [-1, 3], type: float32, profile: numerical}",
                              "x:\n      profile: numerical\n      subfields:\n        a: {type: float32}")
    problems = check_model_folder(make_folder(tmp_path, serving, prototxt=PROTOTXT))
    assert [p.rule for p in problems] == ["contract-mismatch"]
    assert problems[0].message.endswith("input 'x' is a record on one side only")


def test_the_pipeline_reports_write_shapes_the_same_way() -> None:
    """The release plan and the summary wrote "dynamic" for what every comparison calls any rank."""
    from hydro_ci.build import BaseRecord
    from hydro_ci.contract.model import Contract, DType, Field, Signature
    from hydro_ci.pipeline.records import ContractChoice, ReleasePlan, Summary
    from hydro_ci.pipeline.report import plan_text
    from hydro_ci.pipeline.summary import markdown
    from hydro_ci.version.decision import VersionDecision
    from hydro_ci.version.tags import TagSet

    fields = (Field("x", DType.float32, None), Field("s", DType.int64, ()))
    chosen = ContractChoice("declared", Contract("m", (Signature("p", fields, fields),)))
    decision = VersionDecision(model="m", version="1.0.0", full_version="1.0.0", step="given",
                               bump_reason="--version", tags=TagSet.given("1.0.0"))
    plan = ReleasePlan(model="m", image="m", builder="oci", push=False, contract=chosen, decision=decision,
                       base=BaseRecord("scratch"))
    assert "x: float32 any rank" in plan_text(plan)
    assert "s: int64 scalar" in plan_text(plan)
    summary = Summary(model="m", model_dir="m", output=None, dry_run=False, builder="oci", image="m",
                      contract=chosen)
    assert "| any rank |" in markdown(summary)
