"""The image package's shape: the model and the transforms stay pure (no I/O library imported)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

IMAGE = Path(__file__).resolve().parents[2] / "hydro_ci" / "image"
# Modules that talk to the outside world; none may be imported by the pure core.
IO_MODULES = {"requests", "docker", "subprocess", "socket", "urllib", "http", "tarfile", "gzip", "zlib",
              "tempfile", "shutil", "os"}
ALLOWED_OWN = {
    "model": {"hydro_ci.errors", "hydro_ci.boundedjson"},  # json.loads at a bounded depth: no I/O
    "mutate": {"hydro_ci.image.model"},
}


def _imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


@pytest.mark.parametrize("module", sorted(ALLOWED_OWN))
def test_pure_modules_import_no_io_and_only_the_model(module: str) -> None:
    imports = _imports(IMAGE / f"{module}.py")
    assert not {i.split(".")[0] for i in imports} & IO_MODULES
    own = {i for i in imports if i.startswith("hydro_ci")}
    assert own <= ALLOWED_OWN[module]


def test_transports_do_not_import_each_other() -> None:
    transports = {"layout", "tarball", "daemon", "remote"}
    for name in transports - {"daemon"}:  # daemon is docker save/load: it uses the tarball format
        path = IMAGE / f"{name}.py"
        if path.exists():
            imported = {i.rsplit(".", 1)[-1] for i in _imports(path) if i.startswith("hydro_ci.image.")}
            assert not imported & (transports - {name}), name
