"""Engine-test aids: the Python base image, a tiny local wheel, and model folders to build."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hydro_ci.contract.model import Contract, DType, Field, Profile, Signature
from hydro_ci.folder import ModelFolder

from .pybase import ensure_python_base

CONTRACT = Contract("titanic", (Signature(
    "infer",
    (Field("pclass", dtype=DType.int32, shape=(), profile=Profile.categorical),
     Field("fare", dtype=DType.float64, shape=(-1, 3), profile=Profile.numerical)),
    (Field("survived", dtype=DType.int64, shape=None),),
),))
WHEEL_MAGIC = "hydro-tiny-installed-ok"


@pytest.fixture(scope="session")
def python_base(docker_client: Any) -> str:
    """A Debian Python base in the engine (mmdebstrap + docker import, cached across runs)."""
    if shutil.which("mmdebstrap") is None:
        if os.environ.get("CI"):
            pytest.fail("mmdebstrap is not installed; .ci/services.sh installs it")
        pytest.skip("mmdebstrap not installed (apt-get install mmdebstrap)")
    return ensure_python_base()


def write_wheel(directory: Path, name: str = "hydrotiny", version: str = "1.0") -> Path:
    """A pure-Python wheel written by hand: no build backend and no network needed."""
    files = {
        f"{name}/__init__.py": f"MAGIC = {WHEEL_MAGIC!r}\n".encode(),
        f"{name}-{version}.dist-info/METADATA":
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{name}-{version}.dist-info/WHEEL":
            b"Wheel-Version: 1.0\nGenerator: hydro-ci-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{name}-{version}.dist-info/RECORD,,")
    files[f"{name}-{version}.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for path, data in sorted(files.items()):
            z.writestr(zipfile.ZipInfo(path, (1980, 1, 1, 0, 0, 0)), data)
    return wheel


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
