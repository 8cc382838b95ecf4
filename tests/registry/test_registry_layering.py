"""The registry package is an edge: HTTP in, bytes out. It knows no image model and never prints."""

from __future__ import annotations

import ast
from pathlib import Path

import hydro_ci

ROOT = Path(hydro_ci.__file__).parent
# The registry speaks HTTP and digests as strings; only reference parsing is shared with images.
ALLOWED = ("hydro_ci.errors", "hydro_ci.registry", "hydro_ci.reference",
           "hydro_ci.boundedjson")  # json.loads at a bounded depth: ground floor, no I/O


def _modules() -> list[Path]:
    return [*sorted((ROOT / "registry").glob("*.py")), ROOT / "image" / "remote.py"]


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append(node.module)
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names]
    return out


def test_registry_imports_only_errors_and_itself() -> None:
    for path in sorted((ROOT / "registry").glob("*.py")):
        ours = [m for m in _imports(path) if m.startswith("hydro_ci")]
        bad = [m for m in ours if not m.startswith(ALLOWED)]
        assert not bad, f"{path.name} imports {bad}"


def test_library_never_prints() -> None:
    for path in _modules():
        calls = [n for n in ast.walk(ast.parse(path.read_text()))
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "print"]
        assert not calls, f"{path} prints (line {calls[0].lineno}); log or return data instead"
