"""Declared vs inferred: problems name both sides; unreadable stray files only warn."""

from __future__ import annotations

import shutil
from pathlib import Path

from hydro_ci.contract.model import Contract, DType, Field, ModelFolder, Signature
from hydro_ci.diagnostics import Location, Severity
from hydro_ci.infer import folder_problems
from hydro_ci.infer.compare import compare_signature, shapes_compatible
from tests.infer.helpers import FIXTURES

HERE = Location("serving.yaml")


def here(key: object) -> Location:
    return HERE


def sig(inputs: list[Field], outputs: list[Field], name: str = "predict") -> Signature:
    return Signature(name, tuple(inputs), tuple(outputs))


def test_dtype_mismatch_names_both_sides() -> None:
    declared = sig([Field("x", DType.int32, (-1, 4))], [Field("y", DType.float32, (-1,))])
    inferred = sig([Field("x", DType.float32, (-1, 4))], [Field("y", DType.float32, (-1,))])
    [problem] = compare_signature(declared, inferred, model="model.onnx", locate=here)
    assert problem.rule == "model-dtype" and problem.is_error
    assert "declared dtype int32" in problem.message and "model.onnx has float32" in problem.message


def test_missing_and_extra_fields() -> None:
    declared = sig([Field("a", DType.float32, None)], [Field("out", DType.float32, None)])
    inferred = sig([Field("b", DType.float32, (3,))], [Field("out", DType.float32, None)])
    problems = compare_signature(declared, inferred, model="m.onnx", locate=here)
    assert [p.rule for p in problems] == ["model-field-missing", "model-field-extra"]
    assert "'a' is declared but m.onnx has no such input (its inputs: 'b')" in problems[0].message
    assert "m.onnx has input 'b' (float32 [3])" in problems[1].message


def test_shapes() -> None:
    assert shapes_compatible((-1, 4), (8, 4))
    assert shapes_compatible(None, (1, 2, 3))
    assert shapes_compatible((), None)
    assert not shapes_compatible((-1, 4), (-1, 5))
    assert not shapes_compatible((), (-1,))
    declared = sig([Field("x", DType.float32, (-1, 4))], [])
    inferred = sig([Field("x", DType.float32, (-1, 4, 1))], [])
    [problem] = compare_signature(declared, inferred, model="m", locate=here)
    assert problem.rule == "model-shape"
    assert "declared shape [-1, 4], m has [-1, 4, 1]" in problem.message


def test_profiles_are_not_compared() -> None:
    from hydro_ci.contract.model import Profile

    declared = sig([Field("x", DType.float32, (-1,), Profile.numerical)], [])
    inferred = sig([Field("x", DType.float32, (-1,))], [])
    assert compare_signature(declared, inferred, model="m", locate=here) == []


def _folder(
    tmp_path: Path, fixture: str, contract: Contract | None, runtime: str = "tf-runtime:1"
) -> ModelFolder:
    root = tmp_path / "model"
    shutil.copytree(FIXTURES / fixture, root)
    (root / "expected.json").unlink(missing_ok=True)
    (root / "serving.yaml").write_text(
        "kind: Model\nname: m\ncontract:\n  name: predict\n  inputs:\n    sentence:\n"
        "      shape: scalar\n      type: int32\n  outputs:\n    words:\n      type: int32\n"
    )
    return ModelFolder(root=root, name="m", runtime=runtime, contract=contract)


def test_folder_problems_dtype_mismatch_located_at_the_declaration(tmp_path: Path) -> None:
    declared = Contract("m", (sig([Field("sentence", DType.int32, ())], [Field("words", DType.int32, ())]),))
    problems = folder_problems(_folder(tmp_path, "tf_predict_only", declared))
    [problem] = problems
    assert problem.rule == "model-dtype"
    assert "declared dtype int32, saved_model.pb has string" in problem.message
    assert problem.location.path.endswith("serving.yaml") and problem.location.line == 6


def test_folder_problems_signature_name_must_exist_in_a_savedmodel(tmp_path: Path) -> None:
    declared = Contract("m", (sig([], [], name="classify"),))
    [problem] = folder_problems(_folder(tmp_path, "tf_predict_only", declared))
    assert problem.rule == "model-signature"
    assert "'classify'" in problem.message and "'predict'" in problem.message


def test_matching_contract_has_no_problems(tmp_path: Path) -> None:
    inputs, outputs = [Field("sentence", DType.string, ())], [Field("words", DType.int32, None)]
    declared = Contract("m", (sig(inputs, outputs),))
    assert folder_problems(_folder(tmp_path, "tf_predict_only", declared)) == []


def test_unreadable_stray_model_only_warns(tmp_path: Path) -> None:
    root = tmp_path / "model"
    root.mkdir()
    (root / "serving.yaml").write_text("kind: Model\nname: m\n")
    (root / "weights.h5").write_bytes(b"not really hdf5")
    declared = Contract("m", (sig([Field("x", DType.float32, None)], []),))
    [problem] = folder_problems(ModelFolder(root=root, name="m", runtime="r:1", contract=declared))
    assert problem.severity is Severity.WARNING and problem.rule == "model-unreadable"
    assert "weights.h5" in problem.message


def test_nothing_to_compare(tmp_path: Path) -> None:
    declared = Contract("m", (sig([Field("sentence", DType.int32, ())], []),))
    # python runtime: func_main.py is the contract, model files are its business
    python = "hydrosphere/serving-runtime-python-3.7:3"
    assert folder_problems(_folder(tmp_path / "a", "tf_predict_only", declared, python)) == []
    # no declared contract: nothing to compare
    assert folder_problems(_folder(tmp_path / "b", "tf_predict_only", None)) == []
    # no model file at all
    root = tmp_path / "c"
    root.mkdir()
    (root / "requirements.txt").write_text("numpy\n")
    assert folder_problems(ModelFolder(root=root, name="m", runtime="r:1", contract=declared)) == []
