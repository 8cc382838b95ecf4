"""Helpers for image tests: model folders rendered into build contexts, and file trees of images.

ModelFolder objects are built directly (loading serving.yaml is another module's job).
"""

from __future__ import annotations

import hashlib
import io
import stat
import tarfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from hydro_ci.contract.model import Contract, DType, Field, ModelFolder, Signature
from hydro_ci.render.assemble import RenderOptions, render_folder
from hydro_ci.render.context import BuildContext

CONTRACT = Contract("demo", (Signature("infer", (Field("x", DType.float32, (-1, 3)),),
                                       (Field("y", DType.int64, ()),)),))
EPOCH = 1_700_000_000

MakeContext = Callable[..., BuildContext]


def write_tree(root: Path, files: dict[str, bytes | str]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)


def demo_files(weights: bytes) -> dict[str, bytes | str]:
    return {
        "src/func_main.py": "def infer(x):\n    return {'y': 1}\n",
        "src/util/helpers.py": "HELP = 1\n",
        "weights.bin": weights,
        "config.json": '{"layers": 3}\n',
    }


@pytest.fixture
def make_context(tmp_path: Path) -> MakeContext:
    """Render a model folder (written from ``files``) into a build context; returns the context."""

    def make(name: str = "model", files: dict[str, bytes | str] | None = None, *,
             runtime: str = "hydro-ci-test/busybox:1", version: str = "1.0.0", epoch: int = EPOCH,
             executable: tuple[str, ...] = (), link: bool = False, **fields: Any) -> BuildContext:
        root = tmp_path / name
        root.mkdir(parents=True, exist_ok=True)
        write_tree(root, files if files is not None else demo_files(bytes(range(256)) * 8192))
        for rel in executable:
            (root / rel).chmod(0o755)
        folder = ModelFolder(root=root, name="demo", runtime=runtime, contract=CONTRACT, **fields)
        return render_folder(folder, RenderOptions(output=tmp_path / f"{name}-ctx", version=version,
                                                   epoch=epoch, link_large_files=link))

    return make


Tree = dict[str, tuple[str, int, str]]  # path → (kind, mode, sha256 of content or link target)


def tree_of_tars(tars: Iterable[bytes | io.BufferedIOBase], under: str = "model") -> Tree:
    """Apply layer tars in order (later entries win) and keep the files under ``under``."""
    out: Tree = {}
    for data in tars:
        fileobj = io.BytesIO(data) if isinstance(data, bytes) else data
        with tarfile.open(fileobj=fileobj, mode="r|*") as tar:
            for m in tar:
                name = m.name.lstrip("./").rstrip("/")
                if not (name == under or name.startswith(under + "/")):
                    continue
                if m.isdir():
                    out[name] = ("dir", m.mode & 0o7777, "")
                elif m.issym():
                    out[name] = ("symlink", 0o777, m.linkname)
                elif m.isfile():
                    f = tar.extractfile(m)
                    assert f is not None
                    out[name] = ("file", m.mode & 0o7777, hashlib.sha256(f.read()).hexdigest())
    return out


def tree_of_dir(root: Path, under: str = "model") -> Tree:
    out: Tree = {}
    base = root / under
    for p in [base, *sorted(base.rglob("*"))]:
        rel = p.relative_to(root).as_posix()
        st = p.lstat()
        if stat.S_ISLNK(st.st_mode):
            out[rel] = ("symlink", 0o777, str(p.readlink()))
        elif stat.S_ISDIR(st.st_mode):
            out[rel] = ("dir", st.st_mode & 0o7777, "")
        else:
            out[rel] = ("file", st.st_mode & 0o7777, hashlib.sha256(p.read_bytes()).hexdigest())
    return out
