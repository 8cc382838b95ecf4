"""Reading a pickle never runs code from it."""

from __future__ import annotations

import pickle
import pickletools
from pathlib import Path

import pytest

from hydro_ci.errors import ModelFileError
from hydro_ci.infer._safepickle import Stub, load
from hydro_ci.infer.sklearn import read_sklearn


class Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return (os.system, (f"touch {self.marker}",))


def test_reduce_payload_is_not_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(Evil(marker), protocol=4))
    assert "system" in str(list(pickletools.genops(path.read_bytes())))
    obj = load(path)
    assert isinstance(obj, Stub) and obj.qualname == "system"
    assert not marker.exists()
    with pytest.raises(ModelFileError, match="not a scikit-learn estimator"):
        read_sklearn(path)
    assert not marker.exists()


def test_plain_values_come_through(tmp_path: Path) -> None:
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps({"a": [1, 2.5, "s"], "b": (True, None)}, protocol=2))
    assert load(path) == {"a": [1, 2.5, "s"], "b": (True, None)}
