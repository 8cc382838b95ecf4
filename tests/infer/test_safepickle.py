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


def test_zlib_joblib_is_inflated_as_read_not_whole(tmp_path: Path) -> None:
    """A zlib-compressed file was inflated in one piece first: 256 MiB of trailing zeros (or a real
    multi-GB joblib model) had to fit in memory before one opcode was read."""
    import tracemalloc
    import zlib

    compressor = zlib.compressobj(9)
    parts = [compressor.compress(pickle.dumps({"n_features_in_": 3}, protocol=4))]
    zeros = b"\0" * (1 << 20)
    parts += [compressor.compress(zeros) for _ in range(256)]
    parts.append(compressor.flush())
    path = tmp_path / "model.joblib"
    path.write_bytes(b"".join(parts))
    tracemalloc.start()
    try:
        assert load(path) == {"n_features_in_": 3}
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20


def test_truncated_zlib_joblib_is_an_error(tmp_path: Path) -> None:
    import zlib

    path = tmp_path / "model.joblib"
    path.write_bytes(zlib.compress(pickle.dumps(list(range(10_000)), protocol=4))[:200])
    with pytest.raises(ModelFileError):
        read_sklearn(path)
