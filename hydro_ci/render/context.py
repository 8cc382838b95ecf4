"""The rendered build context: a directory any builder can build from, described by ``plan.json``.

Layout (the same for every builder)::

    Dockerfile
    plan.json                 # this module's BuildContext, machine-readable
    model/files/…             # the payload, as it will appear under /model/files/
    model/contract.protobin   # the primary signature, Hydrosphere v3 ModelSignature

``plan.json`` holds everything needed to rebuild from the directory alone (base image, labels, env,
workdir, install-command and every file with its image path, mode, size, digest and layer class), so
the daemonless builder never re-reads the model folder or the Dockerfile.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydro_ci.errors import HydroCIError

PLAN_FILE = "plan.json"
DOCKERFILE = "Dockerfile"
MODEL_DIR = "model"  # context directory that becomes /model in the image
FILES_DIR = "model/files"
CONTRACT_FILE = "model/contract.protobin"
WORKDIR = "/model/files"
PLAN_SCHEMA = 1
FILE_MODE = 0o644
EXEC_MODE = 0o755
DIR_MODE = 0o755


class Layer(enum.StrEnum):
    """How often a file changes, which decides the image layer a daemonless builder puts it in.

    Ordered from least to most frequently changed, the order layers are stacked in.
    """

    deps = "deps"  # dependency specs: requirements*.txt, pyproject.toml, wheels…
    weights = "weights"  # large files (model weights)
    code = "code"  # everything else in the payload
    contract = "contract"  # model/contract.protobin


LAYER_ORDER: tuple[Layer, ...] = (Layer.deps, Layer.weights, Layer.code, Layer.contract)


class PlanError(HydroCIError):
    """A build context directory has no usable plan.json."""


@dataclass(frozen=True)
class ContextFile:
    path: str  # POSIX path relative to the context root, e.g. "model/files/src/func_main.py"
    layer: Layer
    size: int
    mode: int  # FILE_MODE or EXEC_MODE
    sha256: str  # hex digest of the content

    @property
    def image_path(self) -> str:
        """Absolute path inside the image: the context's model/ directory becomes /model."""
        return "/" + self.path

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "image_path": self.image_path,
            "layer": self.layer.value,
            "size": self.size,
            "mode": f"{self.mode:04o}",
            "sha256": self.sha256,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ContextFile:
        return cls(d["path"], Layer(d["layer"]), int(d["size"]), int(d["mode"], 8), d["sha256"])


@dataclass(frozen=True)
class BuildContext:
    """A rendered build context directory and what it will build."""

    root: Path
    base_image: str  # the runtime, e.g. "hydrosphere/serving-runtime-python-3.7:3.0.0" or "scratch"
    model_name: str
    model_version: str | None
    labels: dict[str, str]
    source_date_epoch: int
    install_command: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = WORKDIR
    # Every regular file under model/, sorted by path. Directories are implied (mode DIR_MODE).
    files: tuple[ContextFile, ...] = ()
    # The template the Dockerfile came from (informational: "hydro-ci/python.Dockerfile.j2").
    template: str = ""

    @property
    def dockerfile(self) -> Path:
        return self.root / DOCKERFILE

    @property
    def plan_path(self) -> Path:
        return self.root / PLAN_FILE

    def files_in(self, layer: Layer) -> tuple[ContextFile, ...]:
        return tuple(f for f in self.files if f.layer is layer)

    def to_plan(self) -> dict[str, Any]:
        """The plan.json content (no absolute paths, so equal contexts give equal bytes)."""
        return {
            "schema": PLAN_SCHEMA,
            "dockerfile": DOCKERFILE,
            "base_image": self.base_image,
            "model_name": self.model_name,
            "model_version": self.model_version,
            "labels": dict(sorted(self.labels.items())),
            "source_date_epoch": self.source_date_epoch,
            "install_command": self.install_command,
            "env": dict(sorted(self.env.items())),
            "workdir": self.workdir,
            "template": self.template,
            "layers": [layer.value for layer in LAYER_ORDER],
            "files": [f.to_dict() for f in self.files],
        }

    def plan_bytes(self) -> bytes:
        return (json.dumps(self.to_plan(), indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()

    @classmethod
    def from_plan(cls, root: Path, plan: dict[str, Any]) -> BuildContext:
        if plan.get("schema") != PLAN_SCHEMA:
            raise PlanError(f"{root / PLAN_FILE}: unsupported plan schema {plan.get('schema')!r}",
                            hint="render the context again with this version of hydro-ci")
        return cls(
            root=root,
            base_image=plan["base_image"],
            model_name=plan["model_name"],
            model_version=plan.get("model_version"),
            labels=dict(plan.get("labels", {})),
            source_date_epoch=int(plan["source_date_epoch"]),
            install_command=plan.get("install_command"),
            env=dict(plan.get("env", {})),
            workdir=plan.get("workdir", WORKDIR),
            files=tuple(ContextFile.from_dict(f) for f in plan.get("files", [])),
            template=plan.get("template", ""),
        )


def load_context(root: Path | str) -> BuildContext:
    """Read a rendered context directory back (what ``hydro-ci render`` wrote)."""
    root = Path(root)
    try:
        plan = json.loads((root / PLAN_FILE).read_text())
    except FileNotFoundError:
        raise PlanError(f"{root} is not a rendered build context (no {PLAN_FILE})",
                        hint="create one with: hydro-ci render MODEL_DIR --output DIR") from None
    except (OSError, ValueError) as exc:
        raise PlanError(f"{root / PLAN_FILE}: cannot read: {exc}") from None
    try:
        return BuildContext.from_plan(root, plan)
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanError(f"{root / PLAN_FILE}: malformed plan ({exc})") from None
