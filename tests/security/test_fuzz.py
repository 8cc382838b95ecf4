"""The fuzz session (``nox -s fuzz``, tests/security/fuzz.py) in miniature: every target runs, every
target has seeds to mutate, and a short budget finds no crash. The long run is ``nox -s fuzz``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.security import fuzz


def test_every_parser_is_a_target_with_seeds() -> None:
    targets = {t.name: t for t in fuzz.targets()}
    assert set(targets) >= {"serving.yaml", "contract.prototxt", "json-contract", "savedmodel.pb",
                            "keras-config", "keras-h5-config", "keras-h5", "onnx", "torch-pt2-json",
                            "sklearn-pickle", "spark-metadata"}
    empty = [name for name, t in targets.items() if not t.seeds]
    assert empty in ([], ["keras-h5", "keras-h5-config"]), empty  # h5py (the keras extra) gives the .h5 seeds


@pytest.mark.slow
def test_a_short_fuzz_run_finds_no_crash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = fuzz.main(["--budget", str(100 * len(fuzz.targets())), "--crashes", str(tmp_path / "crashes")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 crash(es)" in out.splitlines()[-1] and "inputs over" in out


def test_a_crash_is_reported_with_its_input(tmp_path: Path) -> None:
    def broken(data: bytes, work: Path) -> object:
        raise KeyError(data[:1])

    target = fuzz.Target("broken", [b"seed"], broken)
    result = fuzz.fuzz(target, 20, tmp_path / "work", tmp_path)
    assert result.inputs == 20 and len(result.crashes) == 1
    [path] = result.crashes.values()
    assert path.is_file() and "KeyError" in path.with_suffix(".txt").read_text()
