"""The pipeline's check stage refuses what contract check refuses, before anything else runs."""

from __future__ import annotations

from pathlib import Path

from .conftest import copy_example, hydro_ci


def test_no_contract_to_be_had_stops_the_check_stage(tmp_path: Path) -> None:
    folder = copy_example("onnx-linear", tmp_path / "models")
    (folder / "model.onnx").write_bytes(b"\x00\xff not a model")
    work = tmp_path / "work"
    work.mkdir()
    proc = hydro_ci(["pipeline", str(folder)], work, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    first = proc.stderr.splitlines()[0]
    assert first.startswith(f"{folder}/serving.yaml:") and first.endswith("[no-contract]")
    assert not (work / ".hydro-ci/onnx-linear/contract.json").exists()  # stopped at check
