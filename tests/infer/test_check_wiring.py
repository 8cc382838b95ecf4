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
