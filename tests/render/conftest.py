"""Model folders for render tests, written as files (ModelFolder built directly: the serving.yaml
loader is another module's job and is tested there)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hydro_ci.contract.model import Contract, DType, Field, ModelFolder, Profile, Signature

CONTRACT = Contract("titanic", (Signature(
    "infer",
    (Field("pclass", dtype=DType.int32, shape=(), profile=Profile.categorical),
     Field("fare", dtype=DType.float64, shape=(-1, 3), profile=Profile.numerical)),
    (Field("survived", dtype=DType.int64, shape=None),),
),))

MakeFolder = Callable[..., ModelFolder]


def write_tree(root: Path, files: dict[str, bytes | str]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            data = data.encode()
        path.write_bytes(data)


DEFAULT_FILES: dict[str, bytes | str] = {
    "src/func_main.py": "def infer(pclass, fare):\n    return {'survived': 1}\n",
    "requirements.txt": "numpy\n",
    "trained.model": bytes(range(256)) * 16,
}


@pytest.fixture
def make_folder(tmp_path: Path) -> MakeFolder:
    def make(root: Path | None = None, files: dict[str, bytes | str] | None = None,
             **fields: Any) -> ModelFolder:
        root = root or tmp_path / "model"
        root.mkdir(parents=True, exist_ok=True)
        write_tree(root, DEFAULT_FILES if files is None else files)
        values: dict[str, Any] = {
            "name": "titanic", "runtime": "hydrosphere/serving-runtime-python-3.7:3.0.0",
            "install_command": "pip install -r requirements.txt", "contract": CONTRACT,
            "metadata": {"team": "ml"},
        }
        values.update(fields)
        return ModelFolder(root=root, **values)

    return make
