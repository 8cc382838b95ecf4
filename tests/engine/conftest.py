"""Engine-test aids: the Python base image and model folders to build (the wheel: wheelkit)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hydro_ci.contract.model import Contract, DType, Field, ModelFolder, Profile, Signature

from .pybase import ensure_python_base

CONTRACT = Contract("titanic", (Signature(
    "infer",
    (Field("pclass", dtype=DType.int32, shape=(), profile=Profile.categorical),
     Field("fare", dtype=DType.float64, shape=(-1, 3), profile=Profile.numerical)),
    (Field("survived", dtype=DType.int64, shape=None),),
),))


@pytest.fixture(scope="session")
def python_base(docker_client: Any) -> str:
    """A Debian Python base in the engine (mmdebstrap + docker import, cached across runs)."""
    if shutil.which("mmdebstrap") is None:
        if os.environ.get("CI"):
            pytest.fail("mmdebstrap is not installed; .ci/services.sh installs it")
        pytest.skip("[needs tool] mmdebstrap not installed (apt-get install mmdebstrap)")
    return ensure_python_base()


MakeFolder = Callable[..., ModelFolder]


@pytest.fixture
def make_folder(tmp_path: Path) -> MakeFolder:
    def make(name: str = "titanic", files: dict[str, str | bytes] | None = None,
             **fields: Any) -> ModelFolder:
        root = tmp_path / name
        for rel, data in (files or {"src/func_main.py": "def infer(**kw):\n    return kw\n"}).items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data.encode() if isinstance(data, str) else data)
        values: dict[str, Any] = {"name": name, "contract": CONTRACT}
        values.update(fields)
        return ModelFolder(root=root, **values)

    return make
