"""Real git repositories for the versioning tests: a bare remote and clones of it."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

SERVING = """kind: Model
name: {name}
runtime: "hydrosphere/serving-runtime-python-3.7:3.0.0"
contract:
  name: predict
  inputs:
{inputs}
  outputs:
    y: {{shape: [-1], type: float32}}
"""


def serving_yaml(name: str = "titanic", inputs: dict[str, str] | None = None) -> str:
    inputs = inputs or {"x": "{shape: [-1, 3], type: float32}"}
    return SERVING.format(name=name, inputs="\n".join(f"    {k}: {v}" for k, v in inputs.items()))


def sh(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@dataclass
class Clone:
    path: Path
    remote: Path

    def write(self, rel: str, text: str) -> None:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def commit(self, message: str = "change") -> str:
        sh(self.path, "add", "-A")
        sh(self.path, "commit", "-q", "--allow-empty", "-m", message)
        return sh(self.path, "rev-parse", "HEAD")

    def tag(self, *names: str, push: bool = True) -> None:
        for name in names:
            sh(self.path, "tag", name)
        if push:
            sh(self.path, "push", "-q", "origin", *(f"refs/tags/{n}" for n in names))

    def push(self) -> None:
        sh(self.path, "push", "-q", "origin", "HEAD:refs/heads/main")

    def pull(self) -> None:
        sh(self.path, "pull", "-q", "--tags", "origin", "main")


def make_remote(root: Path, model: str = "titanic", folder: str = "models/titanic") -> Clone:
    """A bare remote with one commit holding a model folder, and a first clone of it on main."""
    remote = root / "remote.git"
    sh(root, "init", "-q", "--bare", "-b", "main", str(remote))
    first = clone(remote, root / "first")
    sh(first.path, "checkout", "-q", "-B", "main")
    first.write(f"{folder}/serving.yaml", serving_yaml(model))
    first.write(f"{folder}/src/func_main.py", "def predict(**tensors):\n    return tensors\n")
    first.commit("add model")
    first.push()
    return first


def clone(remote: Path, path: Path, *extra: str) -> Clone:
    subprocess.run(["git", "clone", "-q", *extra, f"file://{remote}", str(path)], check=True,
                   capture_output=True)
    return Clone(path, remote)
