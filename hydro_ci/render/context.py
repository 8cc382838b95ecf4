"""The rendered build context: a directory any builder can build from, described by ``plan.json``.

Layout (the same for every builder)::

    Dockerfile
    .dockerignore             # sends layers/ (and the Dockerfile) to the engine, nothing twice
    plan.json                 # this module's BuildContext, machine-readable
    model/files/…             # the payload, as it will appear under /model/files/
    model/contract.protobin   # the primary signature, Hydrosphere v3 ModelSignature
    layers/<class>/model/…    # the same files again as hard links, one tree per layer class

The Dockerfile copies ``layers/deps``, ``layers/weights``, ``layers/code`` and ``layers/contract`` in
separate steps, so the engine, like the daemonless builder, re-makes and re-pushes only the layers
whose files changed. Hard links cost no space and keep ``model/`` the one tree to read.

``plan.json`` holds everything needed to rebuild from the directory alone (base image, labels, env,
workdir, install-command and every file with its image path, mode, size, digest and layer class), so
the daemonless builder never re-reads the Dockerfile.

A context rendered for the daemonless builder (``link_min_size``) does not copy large payload files:
they become symlinks to the model folder's files, hashed in place, and ``links.json`` records each
source's size, mtime and inode so a build refuses a file that changed since the render. Copying a
GiB of weights only for the builder to read them again was a quarter of a build+push. The plan is
byte-identical either way; ``docker build`` cannot follow such links, so the engine refuses them.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from hydro_ci import boundedjson
from hydro_ci.contract.payload import check_name
from hydro_ci.epoch import file_time
from hydro_ci.errors import ContextError, HydroCIError
from hydro_ci.input_files import open_regular
from hydro_ci.output_files import check_output_path, ensure_dir, write_file
from hydro_ci.seal import SPLIT_HINT, SealError, read_sealed, seal_path, write_sealed

PLAN_FILE = "plan.json"
DOCKERIGNORE = ".dockerignore"
LAYERS_DIR = "layers"  # layers/<class>/…: the payload split by layer class, for the Dockerfile's COPY steps
LINKS_FILE = "links.json"  # linked payload files and the stat they had when hashed (not part of the plan)
LINKS_SCHEMA = 1
_SEALS = tuple(seal_path(Path(name)).name for name in (PLAN_FILE, LINKS_FILE))  # hydro_ci.seal
DOCKERFILE = "Dockerfile"
MODEL_DIR = "model"  # context directory that becomes /model in the image
FILES_DIR = "model/files"
CONTRACT_FILE = "model/contract.protobin"
WORKDIR = "/model/files"
PLAN_SCHEMA = 1
FILE_MODE = 0o644
EXEC_MODE = 0o755
DIR_MODE = 0o755


class LayerClass(enum.StrEnum):
    """How often a file changes, which decides the image layer a daemonless builder puts it in.

    Ordered from least to most frequently changed, the order layers are stacked in.
    """

    deps = "deps"  # dependency specs: requirements*.txt, pyproject.toml, wheels…
    weights = "weights"  # large files (model weights)
    code = "code"  # everything else in the payload
    contract = "contract"  # model/contract.protobin


LAYER_ORDER: tuple[LayerClass, ...] = tuple(LayerClass)  # declared in stacking order


def layer_dir(layer: LayerClass) -> str:
    """The context directory holding ``layer``'s files, laid out from the image root."""
    return f"{LAYERS_DIR}/{layer.value}"


LAYER_DIRS: tuple[str, ...] = tuple(layer_dir(layer) for layer in LAYER_ORDER)


class PlanError(HydroCIError):
    """A build context directory has no usable plan.json."""


_RENDER_AGAIN = f"render the context again (--only render, or hydro-ci render); {SPLIT_HINT}"


@dataclass(frozen=True)
class ContextFile:
    path: str  # POSIX path relative to the context root, e.g. "model/files/src/func_main.py"
    layer: LayerClass
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
        return cls(d["path"], LayerClass(d["layer"]), int(d["size"]), int(d["mode"], 8), d["sha256"])


@dataclass(frozen=True)
class LinkedSource:
    """A payload file the context links to instead of copying, as it was when render hashed it."""

    source: str  # absolute path of the model folder's file (the symlink's target)
    size: int
    mtime_ns: int
    ctime_ns: int  # any write changes it, and unlike mtime nothing can set it back
    dev: int
    ino: int

    @classmethod
    def of(cls, source: Path, st: os.stat_result) -> LinkedSource:
        return cls(str(source), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_dev, st.st_ino)

    def matches(self, st: os.stat_result) -> bool:
        return self == LinkedSource.of(Path(self.source), st)


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
    # Context path → the model folder file it links to (links.json); empty for a self-contained context.
    links: dict[str, LinkedSource] = field(default_factory=dict)

    @property
    def dockerfile(self) -> Path:
        return self.root / DOCKERFILE

    @property
    def plan_path(self) -> Path:
        return self.root / PLAN_FILE

    def files_in(self, layer: LayerClass) -> tuple[ContextFile, ...]:
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
    """Read a rendered context directory back (what ``hydro-ci render`` wrote). Its plan.json and
    links.json are read only when hydro-ci sealed them (hydro_ci.seal): a context in a checkout may
    have been committed, with a plan naming host files and links pointing out of the model folder."""
    root = Path(root)
    try:
        plan = boundedjson.loads(read_sealed(root / PLAN_FILE, hint=_RENDER_AGAIN))
    except FileNotFoundError:
        raise PlanError(f"{root} is not a rendered build context (no {PLAN_FILE})",
                        hint="create one with: hydro-ci render MODEL_DIR --output DIR") from None
    except SealError as exc:
        raise PlanError(exc.message, hint=exc.hint) from None
    except (OSError, ValueError) as exc:
        raise PlanError(f"{root / PLAN_FILE}: cannot read: {exc}") from None
    try:
        context = BuildContext.from_plan(root, plan)
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanError(f"{root / PLAN_FILE}: malformed plan ({exc})") from None
    return replace(context, links=_read_links(root))


def _read_links(root: Path) -> dict[str, LinkedSource]:
    path = root / LINKS_FILE
    try:
        data = boundedjson.loads(read_sealed(path, hint=_RENDER_AGAIN))
    except FileNotFoundError:
        return {}
    except SealError as exc:
        raise PlanError(exc.message, hint=exc.hint) from None
    except (OSError, ValueError) as exc:
        raise PlanError(f"{path}: cannot read: {exc}", hint="render the context again") from None
    try:
        if data.get("schema") != LINKS_SCHEMA:
            raise ValueError(f"unsupported schema {data.get('schema')!r}")
        return {str(k): LinkedSource(str(v["source"]), int(v["size"]), int(v["mtime_ns"]), int(v["ctime_ns"]),
                                     int(v["dev"]), int(v["ino"])) for k, v in data["links"].items()}
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise PlanError(f"{path}: malformed ({exc})", hint="render the context again") from None


def check_links(context: BuildContext) -> None:
    """Refuse a linked payload file that changed (or was replaced) since render hashed it, before any
    work: the plan's digest would describe other bytes. (Writing a layer also checks the bytes it
    reads against the plan, which catches what a stat cannot.)"""
    for rel, linked in sorted(context.links.items()):
        path = context.root / rel
        if not path.is_symlink() and path.is_file():
            continue  # the context was copied with its links followed: a private copy, checked when read
        try:
            target = os.readlink(path)
            st = os.stat(path)
        except OSError as exc:
            raise ContextError(f"linked payload file {linked.source} ({rel} in {context.root}) is gone: "
                               f"{exc.strerror or exc}", hint="render the context again") from None
        if target != linked.source or not linked.matches(st):
            raise ContextError(f"payload file {linked.source} changed after the context in {context.root} "
                               "was rendered", hint="render again once the file is written")


def symlinked_files(context: BuildContext) -> list[str]:
    """Payload paths that are symlinks, or missing, in the context's trees (whatever links.json says)."""
    return [f.path for f in context.files
            if any(p.is_symlink() or not p.exists()
                   for p in (context.root / f.path, context.root / layer_dir(f.layer) / f.path))]


# --- writing a context directory -------------------------------------------------------------------

_DEPS_NAMES = {
    "pyproject.toml", "setup.py", "setup.cfg", "Pipfile", "Pipfile.lock", "poetry.lock",
    "environment.yml", "environment.yaml", "conda.yaml", "conda.yml",
}
_WEIGHT_SUFFIXES = {
    ".bin", ".ckpt", ".gguf", ".h5", ".hdf5", ".joblib", ".keras", ".model", ".npy", ".npz", ".onnx",
    ".pkl", ".pickle", ".pt", ".pt2", ".pth", ".safetensors", ".tflite",
}
WEIGHTS_MIN_SIZE = 1 << 20  # files this large are weights whatever their name
LINK_MIN_SIZE = 1 << 20  # a context for the daemonless builder links files this large


def classify(rel: str, size: int) -> LayerClass:
    """The layer class of a payload file (``rel`` relative to the model folder)."""
    name = rel.rsplit("/", 1)[-1]
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if name in _DEPS_NAMES or suffix == ".whl" or (
        name.startswith(("requirements", "constraints")) and suffix == ".txt"
    ):
        return LayerClass.deps
    if size >= WEIGHTS_MIN_SIZE or suffix in _WEIGHT_SUFFIXES or "/variables/variables." in "/" + rel:
        return LayerClass.weights
    return LayerClass.code


def _copy_hashing(src: Path, dst: Path) -> tuple[int, str]:
    """Copy content only (no owner, mode or time from the source), returning size and sha256."""
    digest = hashlib.sha256()
    size = 0
    # "x": never write through something already at dst (a link left there would reach the model folder).
    with open_regular(src) as fin, dst.open("xb") as fout:
        while chunk := fin.read(1 << 20):
            digest.update(chunk)
            fout.write(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _link_hashing(src: Path, dst: Path) -> tuple[int, str, LinkedSource]:
    """Link ``dst`` to ``src`` and hash ``src`` in place; refuse a file that changes while it is read."""
    real = src.resolve()
    digest = hashlib.sha256()
    size = 0
    with open_regular(real) as fin:
        before = os.fstat(fin.fileno())
        while chunk := fin.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
        after = os.fstat(fin.fileno())
    linked = LinkedSource.of(real, before)
    if size != before.st_size or not linked.matches(after):
        raise ContextError(f"payload file {src} changed while it was being read",
                           hint="render again once it is written")
    os.symlink(real, dst)
    return size, digest.hexdigest(), linked


def _symlinks_work(directory: Path) -> bool:
    """Whether the output's file system takes symlinks (vfat, some network shares do not)."""
    probe = directory / ".hydro-ci-link-probe"
    try:
        probe.unlink(missing_ok=True)
        os.symlink(PLAN_FILE, probe)
    except OSError:
        return False
    probe.unlink()
    return True


def _write_bytes(dst: Path, data: bytes, root: Path) -> tuple[int, str]:
    write_file(dst, data, within=root)
    return len(data), hashlib.sha256(data).hexdigest()


def _is_our_plan(path: Path) -> bool:
    """A plan.json we wrote (any plan.json would let a render delete the folder's model/)."""
    try:
        plan = boundedjson.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(plan, dict) and plan.get("dockerfile") == DOCKERFILE and "schema" in plan \
        and isinstance(plan.get("files"), list)


def prepare_output(root: Path, within: Path | None = None) -> None:
    """An empty directory, or a previous context (which is replaced). Anything else is refused, and
    so is a symlink at ``root`` or on its way below ``within`` (see hydro_ci.output_files)."""
    try:
        _prepare_output(root, within)
    except OSError as exc:  # a read-only model folder (the default output is inside it), a full disk
        raise ContextError(f"cannot write the build context to {root}: {exc.strerror or exc}",
                           hint="pass --output DIR on a writable file system (the default is "
                                "MODEL_DIR/.hydro-ci/context)") from None


def _prepare_output(root: Path, within: Path | None) -> None:
    check_output_path(root, within=within)
    if root.exists() and not root.is_dir():
        raise ContextError(f"output {root} is a file, not a directory",
                           hint="choose an empty or new directory for --output")
    if root.exists() and any(root.iterdir()):
        if not _is_our_plan(root / PLAN_FILE):
            raise ContextError(f"output directory {root} is not empty and not a hydro-ci build context",
                               hint="choose an empty or new directory for --output")
        _remove_ours(root)
    ensure_dir(root, within=within)


def write_context(
    root: Path,
    *,
    sources: list[tuple[str, Path]],
    contract_bytes: bytes,
    dockerfile_text: str,
    context: BuildContext,
    link_min_size: int | None = None,
    classes: Mapping[str, LayerClass] | None = None,
    within: Path | None = None,
) -> BuildContext:
    """Write Dockerfile, payload (``sources``: (path under model/files, source file)), contract and
    plan.json under ``root``, with fixed modes and every mtime at ``file_time`` of the source date epoch.

    ``context`` carries everything but the file list, which is computed here; the returned context
    is the complete one that plan.json describes. With ``link_min_size``, payload files at least that
    large are linked rather than copied (see the module docstring). ``classes`` gives the layer class
    of payload paths as the Dockerfile was rendered for (else they are classified here). ``within``:
    the untrusted tree ``root`` lies in (the model folder), where no directory on the way may be a link.
    """
    for rel, _src in sources:
        check_name(rel)
    prepare_output(root, within)
    try:
        return _write_all(root, sources, contract_bytes, dockerfile_text, context, link_min_size,
                          classes or {})
    except OSError as exc:  # the disk filled up, a name too long for its file system
        _remove_ours(root)
        raise ContextError(f"cannot write the build context to {root}: {exc.strerror or exc}"
                           + (f" ({exc.filename})" if exc.filename else ""),
                           hint="free space, or pass --output DIR on another file system") from None
    except BaseException:
        # Never leave a half context behind: the next render would refuse the directory.
        _remove_ours(root)
        raise


def _remove_ours(root: Path) -> None:
    for name in (MODEL_DIR, LAYERS_DIR, DOCKERFILE, DOCKERIGNORE, PLAN_FILE, LINKS_FILE, *_SEALS):
        path = root / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists() or path.is_symlink():
            path.unlink()


def _write_all(root: Path, sources: list[tuple[str, Path]], contract_bytes: bytes, dockerfile_text: str,
               context: BuildContext, link_min_size: int | None,
               classes: Mapping[str, LayerClass]) -> BuildContext:
    files: list[ContextFile] = []
    links: dict[str, LinkedSource] = {}
    if link_min_size is not None and not _symlinks_work(root):
        link_min_size = None  # copy, as for any other builder
    for rel, src in sorted(sources):
        dst_rel = f"{FILES_DIR}/{rel}"
        dst = root / dst_rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            st = os.stat(src)
            if link_min_size is not None and st.st_size >= link_min_size:
                size, sha, links[dst_rel] = _link_hashing(src, dst)
            else:
                size, sha = _copy_hashing(src, dst)
            mode = EXEC_MODE if st.st_mode & 0o111 else FILE_MODE
        except OSError as exc:  # vanished or unreadable since the folder was listed
            raise ContextError(f"cannot copy payload file {src}: {exc.strerror or exc}",
                               hint="check the file exists and is readable, then render again") from None
        files.append(ContextFile(dst_rel, classes.get(rel) or classify(rel, size), size, mode, sha))
    (root / FILES_DIR).mkdir(parents=True, exist_ok=True)
    size, sha = _write_bytes(root / CONTRACT_FILE, contract_bytes, root)
    files.append(ContextFile(CONTRACT_FILE, LayerClass.contract, size, FILE_MODE, sha))
    files.sort(key=lambda f: f.path)
    done = replace(context, root=root, files=tuple(files), links=links)
    _write_layer_trees(root, done)
    write_file(root / DOCKERFILE, dockerfile_text, within=root)
    # The engine gets layers/ only: model/ holds the same files, and plan/links (and seals) are ours.
    write_file(root / DOCKERIGNORE, "\n".join([MODEL_DIR, PLAN_FILE, LINKS_FILE, *_SEALS, ""]), within=root)
    if links:  # before plan.json: a context that loads always knows its links
        data = {"schema": LINKS_SCHEMA, "links": {k: asdict(v) for k, v in sorted(links.items())}}
        write_sealed(root / LINKS_FILE, json.dumps(data, indent=2, sort_keys=True) + "\n", within=root)
    write_sealed(root / PLAN_FILE, done.plan_bytes(), within=root)
    _fix_metadata(root, done)
    return done


def _write_layer_trees(root: Path, context: BuildContext) -> None:
    """layers/<class>/<path> for every file: a hard link to model/<path> (a copy where the file system
    has none); for a linked file, a link to the same source, so that a copy of the context with its
    links followed (cp -rL) holds the file in both trees."""
    for f in context.files:
        dst = root / layer_dir(f.layer) / f.path
        dst.parent.mkdir(parents=True, exist_ok=True)
        if f.path in context.links:
            os.symlink(context.links[f.path].source, dst)
            continue
        try:
            os.link(root / f.path, dst)
        except OSError:
            shutil.copyfile(root / f.path, dst)


def _fix_metadata(root: Path, context: BuildContext) -> None:
    """Fixed modes and times, so the engine's COPY sees the same tree wherever and whenever."""
    epoch = file_time(context.source_date_epoch)  # what the engine's COPY puts in its layers
    # Linked files are the model folder's own: their mode and time are never touched (no following).
    own = [root / f.path for f in context.files if f.path not in context.links]
    own += [root / layer_dir(f.layer) / f.path for f in context.files if f.path not in context.links]
    for f in context.files:
        if f.path not in context.links:
            for path in (root / f.path, root / layer_dir(f.layer) / f.path):  # a copy where no hard link
                os.chmod(path, f.mode)
    meta = [root / DOCKERFILE, root / DOCKERIGNORE, root / PLAN_FILE, seal_path(root / PLAN_FILE),
            *([root / LINKS_FILE, seal_path(root / LINKS_FILE)] if context.links else [])]
    for path in meta:
        os.chmod(path, FILE_MODE)
    # Directories deepest first, so setting a child's time does not disturb its parent afterwards.
    dirs = sorted((p for top in (MODEL_DIR, LAYERS_DIR) for p in [root / top, *(root / top).rglob("*")]
                   if p.is_dir() and not p.is_symlink()), key=lambda p: -len(p.parts))  # no layers/: none
    for path in [*own, *meta]:
        os.utime(path, (epoch, epoch))
    for f in context.files:
        if f.path in context.links:
            for path in (root / f.path, root / layer_dir(f.layer) / f.path):
                os.utime(path, (epoch, epoch), follow_symlinks=False)
    for d in [*dirs, root]:
        os.chmod(d, DIR_MODE)
        os.utime(d, (epoch, epoch))
