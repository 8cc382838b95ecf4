"""`hydro-ci contract check` runs the declared-vs-inferred comparison (as a subprocess, like a user)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.infer.helpers import FIXTURES

SERVING = """kind: Model
name: sentences
runtime: "hydrosphere/serving-runtime-tensorflow-2.4.1:3.0.0"
contract:
  name: predict
  inputs:
    sentence: {shape: scalar, type: int32}
  outputs:
    words: {shape: scalar, type: int32}
"""


def check(folder: Path) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\n"
        "from hydro_ci.cli import main\n"
        f"rc = main(['contract', 'check', {str(folder)!r}])\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'torch', 'keras', 'sklearn', 'onnx'))\n"
        "print('IMPORTED:' + ','.join(bad), file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_check_reports_dtype_mismatch_naming_both_sides(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "tf_predict_only" / "saved_model.pb", tmp_path)
    (tmp_path / "serving.yaml").write_text(SERVING)
    done = check(tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    line = next(x for x in out.splitlines() if "[model-dtype]" in x)
    assert "serving.yaml:7:" in line  # the line declaring `sentence`'s type
    assert "declared dtype int32" in line and "saved_model.pb has string" in line
    assert "IMPORTED:\n" in done.stderr or done.stderr.rstrip().endswith("IMPORTED:")


def test_check_passes_when_declared_matches_the_model(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "tf_predict_only" / "saved_model.pb", tmp_path)
    fixed = SERVING.replace("type: int32}\n  outputs", "type: string}\n  outputs")
    (tmp_path / "serving.yaml").write_text(fixed)
    done = check(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_stray_unreadable_model_file_only_warns(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "tf_predict_only" / "saved_model.pb", tmp_path)
    (tmp_path / "saved_model.pb").write_bytes(b"\x00garbage")
    (tmp_path / "serving.yaml").write_text(SERVING)
    done = check(tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "warning:" in out and "[model-unreadable]" in out and "saved_model.pb" in out


# --- no contract declared: the one read from the model files must exist ----------------------------

UNDECLARED = """# no contract here: hydro-ci reads it from the model file
kind: Model
name: undeclared
runtime: "hydrosphere/serving-runtime-onnx-1.18:3.0.0"
"""


def no_contract_line(out: str) -> str:
    return next(x for x in out.splitlines() if "[no-contract]" in x)


def test_check_reports_a_corrupt_model_when_no_contract_is_declared(tmp_path: Path) -> None:
    (tmp_path / "serving.yaml").write_text(UNDECLARED)
    (tmp_path / "model.onnx").write_bytes(bytes(range(256))[::-1] * 2)  # not a ModelProto
    done = check(tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    line = no_contract_line(done.stdout)
    # located at the first key of serving.yaml (line 2: after the comment), with the reason and the fix
    assert line.startswith(f"{tmp_path / 'serving.yaml'}:2:1: error: no contract: none is declared and "
                           "none can be inferred ("), line
    assert "model.onnx: not an ONNX model" in line and "declare one" in line
    assert "1 problem" in done.stderr
    assert done.stderr.rstrip().endswith("IMPORTED:")  # read from the bytes: no framework


def test_check_reports_a_folder_without_model_file_or_contract(tmp_path: Path) -> None:
    (tmp_path / "serving.yaml").write_text(UNDECLARED)
    done = check(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    line = no_contract_line(done.stdout)
    assert f"{tmp_path / 'serving.yaml'}:2:1: error: no contract:" in line and "no model file found" in line


def test_check_reports_a_python_runtime_without_contract(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "func_main.py").write_text("def predict(x):\n    return {'y': x}\n")
    (tmp_path / "serving.yaml").write_text(
        "kind: Model\nname: py\nruntime: hydrosphere/serving-runtime-python-3.7:3.0.0\n")
    done = check(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "python runtime" in no_contract_line(done.stdout)


def test_check_passes_an_undeclared_contract_the_model_file_gives(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "onnx_torch_dynamic_batch" / "model.onnx", tmp_path)
    (tmp_path / "serving.yaml").write_text(UNDECLARED)
    done = check(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == "" and done.stderr.rstrip().endswith("IMPORTED:")


def test_a_declared_contract_needs_no_model_file(tmp_path: Path) -> None:
    (tmp_path / "serving.yaml").write_text(SERVING)
    assert check(tmp_path).returncode == 0
    # nor does a contract.prototxt alone; one that does not parse is reported once, by its own rule
    (tmp_path / "serving.yaml").write_text(UNDECLARED)
    (tmp_path / "contract.prototxt").write_text("signature_name: \"predict\"\ninputs {\n")
    done = check(tmp_path)
    assert done.returncode == 1 and "[prototxt-syntax]" in done.stdout and "[no-contract]" not in done.stdout


def test_loading_a_folder_without_contract_still_works(tmp_path: Path) -> None:
    """Only `contract check` (what a build needs) reports it: show, version next --bump X and the
    breaking hook load folders that need no contract."""
    from hydro_ci.infer.check import check_model_folder, load_model_folder

    (tmp_path / "serving.yaml").write_text(UNDECLARED)
    assert load_model_folder(tmp_path).contract is None
    assert [p.rule for p in check_model_folder(tmp_path, build=True)] == ["no-contract"]
