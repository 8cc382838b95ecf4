"""A valid python-runtime model folder that each test breaks in one place."""

from __future__ import annotations

from pathlib import Path

SERVING = """\
kind: Model
name: demo
runtime: "hydrosphere/serving-runtime-python-3.7:3.0.0"
install-command: "pip install -r requirements.txt"
payload: ["src/", "requirements.txt"]
contract:
  name: infer
  inputs:
    x: {shape: [-1, 3], type: float32, profile: numerical}
  outputs:
    y: {shape: scalar, type: int64}
"""

PROTOTXT = """\
signature_name: "infer"
inputs {
  name: "x"
  dtype: DT_FLOAT
  shape { dims: -1 dims: 3 }
  profile: NUMERICAL
}
outputs {
  name: "y"
  dtype: DT_INT64
  shape {}
}
"""

FUNC_MAIN = "def infer(x):\n    return {'y': 1}\n"


def make_folder(
    root: Path, serving: str | bytes | None = SERVING, prototxt: str | None = None, name: str = "demo"
) -> Path:
    folder = root / name
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "func_main.py").write_text(FUNC_MAIN)
    (folder / "requirements.txt").write_text("numpy\n")
    if serving is not None:
        path = folder / "serving.yaml"
        path.write_bytes(serving if isinstance(serving, bytes) else serving.encode())
    if prototxt is not None:
        (folder / "contract.prototxt").write_text(prototxt)
    return folder


def position(text: str, marker: str) -> tuple[int, int]:
    """1-based line and column of the first ``marker`` in ``text``."""
    index = text.index(marker)
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1
