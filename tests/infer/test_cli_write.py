"""`contract infer` CLI edges: --write where the write cannot or must not go as planned, bad paths."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hydro_ci.cli import main
from tests.infer.helpers import FIXTURES


@pytest.fixture()
def model_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(FIXTURES / "onnx_torch_dynamic_batch", folder)
    return folder


def test_write_onto_a_directory_is_one_error_line(
        model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (model_dir / "contract.prototxt").mkdir()
    assert main(["contract", "infer", str(model_dir), "--write"]) == 1
    err = capsys.readouterr().err
    assert f"error: {model_dir / 'contract.prototxt'}: cannot write" in err
    assert "hint:" in err and "Traceback" not in err


def test_write_replaces_a_symlink_instead_of_writing_through_it(
        model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    (model_dir / "contract.prototxt").symlink_to(outside)
    # something is there: kept without --force
    assert main(["contract", "infer", str(model_dir), "--write"]) == 1
    assert (model_dir / "contract.prototxt").is_symlink() and outside.read_text() == "keep"
    assert main(["contract", "infer", str(model_dir), "--write", "--force"]) == 0
    assert outside.read_text() == "keep"
    target = model_dir / "contract.prototxt"
    assert not target.is_symlink() and 'signature_name: "predict"' in target.read_text()
    assert sorted(p.name for p in model_dir.iterdir()) == ["contract.prototxt", "expected.json", "model.onnx"]


def test_missing_model_dir_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contract", "infer", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err == f"error: no such file or directory: {tmp_path / 'nope'}\n"


def test_write_keeps_a_differing_contract_unless_forced_and_is_a_no_op_when_equal(
        model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = model_dir / "contract.prototxt"
    assert main(["contract", "infer", str(model_dir), "--write"]) == 0
    inferred = target.read_text()
    capsys.readouterr()
    # the same contract again: nothing to do, nothing rewritten
    before = target.stat().st_ino
    assert main(["contract", "infer", str(model_dir), "--write"]) == 0
    assert "already holds the inferred contract" in capsys.readouterr().err
    assert target.stat().st_ino == before
    # edited by hand (a profile the files cannot tell): kept, with one line saying how to replace it
    edited = inferred.replace('name: "token_ids"', 'name: "token_ids"\n    profile: TEXT', 1)
    assert edited != inferred
    target.write_text(edited)
    assert main(["contract", "infer", str(model_dir), "--write"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[0] == f"error: {target} exists and differs from the contract inferred from " \
        f"{model_dir / 'model.onnx'}"
    assert "--force" in err and "Traceback" not in err
    assert target.read_text() == edited
    assert main(["contract", "infer", str(model_dir), "--write", "--force"]) == 0
    assert target.read_text() == inferred


DECLARED = """kind: Model
name: model
# the contract, written by hand
contract:
  inputs:
    features: {shape: [-1, 4], type: float32}
  outputs:
    probabilities: {shape: [-1, 2], type: float32}
"""


@pytest.mark.parametrize("force", [False, True])
def test_write_refuses_when_serving_yaml_declares_the_contract(
        model_dir: Path, capsys: pytest.CaptureFixture[str], force: bool) -> None:
    (model_dir / "serving.yaml").write_text(DECLARED)
    assert main(["contract", "infer", str(model_dir), "--write", *(["--force"] if force else [])]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2, err
    assert err[0] == f"error: {model_dir / 'serving.yaml'}:4:1: the contract is already declared here; " \
        "--write would add a second declaration in contract.prototxt (--force does not change that)"
    assert err[1].startswith("hint: ") and "--format yaml" in err[1] and "remove that section" in err[1]
    assert not (model_dir / "contract.prototxt").exists()
    # printing it is still fine: that is what the hint says to do
    assert main(["contract", "infer", str(model_dir), "--format", "yaml"]) == 0
    assert capsys.readouterr().out.startswith("contract:\n")


def test_write_next_to_a_serving_yaml_without_a_contract(
        model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (model_dir / "serving.yaml").write_text("kind: Model\nname: model\ncontracts: typo-is-not-a-contract\n")
    assert main(["contract", "infer", str(model_dir), "--write"]) == 0
    assert (model_dir / "contract.prototxt").is_file()


def test_force_without_write_is_a_usage_error(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contract", "infer", str(model_dir), "--force"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: --force only goes with --write") and "hint: " in captured.err
