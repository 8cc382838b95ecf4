"""A model folder → a build context directory: the ``render`` step as one function.

Reads the folder's files, git and the epoch (the edges), then hands pure data to the Dockerfile
renderer and the context writer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from hydro_ci import git
from hydro_ci.contract import payload
from hydro_ci.contract.model import ModelFolder
from hydro_ci.contract.proto import to_protobin
from hydro_ci.diagnostics import Location
from hydro_ci.epoch import source_date_epoch
from hydro_ci.errors import ContextError
from hydro_ci.infer import folder_contract
from hydro_ci.infer.check import load_model_folder
from hydro_ci.input_files import read_bounded
from hydro_ci.render.context import (
    LAYER_ORDER,
    LINK_MIN_SIZE,
    WORKDIR,
    BuildContext,
    LayerClass,
    classify,
    layer_dir,
    write_context,
)
from hydro_ci.render.dockerfile import DockerfileInputs, render_dockerfile
from hydro_ci.render.install import parse_pip_install, reads_only
from hydro_ci.render.labels import image_labels

OUTPUT_ROOT = Path(".hydro-ci")  # in the working directory: never inside the user's model folder
CONTEXT_DIR = "context"


def output_dir(model: str) -> Path:
    """``.hydro-ci/<model>``: where every verb and stage writes what it makes for a model."""
    return OUTPUT_ROOT / model


def default_context_dir(model: str) -> Path:
    """The default build context, ``.hydro-ci/<model>/context``: render's, build's, the pipeline's."""
    return output_dir(model) / CONTEXT_DIR


@dataclass(frozen=True)
class Provenance:
    """When and from which commit an image says it was built: its ``created`` time (the epoch) and
    its revision label. Given to render an already released version's image again, byte for byte."""

    epoch: int
    revision: str | None


@dataclass(frozen=True)
class SourceCommit:
    """The commit that holds what a model folder ships (HEAD), or why none does.

    One rule for the ``sha-<commit>`` tag (version/) and the revision label (here): HEAD names the
    folder only when no tracked file under it has changes and every shipped file is committed as it
    is (``git.not_held``). ``no_commit`` says why not; outside git everything is None.
    """

    commit: str | None = None
    short: str | None = None
    remote: str | None = None
    no_commit: str | None = None


@dataclass(frozen=True)
class RenderOptions:
    output: Path | None = None  # default: .hydro-ci/<model>/context
    version: str | None = None
    base_image: str | None = None  # overrides the folder's runtime
    template_dir: Path | None = None  # overrides hydro-ci: template:
    epoch: int | None = None  # default: SOURCE_DATE_EPOCH, else last commit time
    provenance: Provenance | None = None  # epoch and revision as given (an already released image)
    # Link large payload files instead of copying them: for the daemonless builder, which reads the
    # plan; ``docker build`` cannot follow the links (see hydro_ci.render.context).
    link_large_files: bool = False
    # Our other outputs (--dist, the pipeline's output folder, --output-layout/-tar): never shipped,
    # whatever .hydroignore says, when they lie inside the model folder (earlier images, stage files).
    exclude: tuple[Path, ...] = ()


def payload_sources(folder: ModelFolder, output: Path | None = None,
                    exclude: tuple[Path, ...] = ()) -> list[tuple[str, Path]]:
    """(path under /model/files, real source file) for every shipped file; the whole folder without
    payload. Each payload entry lands where Hydrosphere put it: under its basename; every file is a
    regular file inside its boundary (hydro_ci.contract.payload), anything else is refused here.
    ``output`` and ``exclude`` are our own outputs: nothing under them is shipped, whatever
    .hydroignore or the payload list say (earlier images in --dist, stage files).
    """
    root = folder.root
    extra: tuple[str, ...] = ()
    if output is not None and output.resolve().is_relative_to(root.resolve()):
        extra = (output.resolve().relative_to(root.resolve()).as_posix(),)  # never ship our own output
    ours = [p.resolve() for p in (*([output] if output is not None else []), *exclude)]

    def not_ours(source: Path) -> bool:
        real, given = source.resolve(), source.absolute()
        return not any(real.is_relative_to(o) or given.is_relative_to(o) for o in ours)

    walked = payload.shipped(root, extra)
    everything = payload.Payload(
        tuple((rel, src) for rel, src in walked.files if not_ours(root / rel) and not_ours(src)),
        tuple(r for r in walked.refusals if not_ours(root / r.rel)))
    if not everything.files and not everything.refusals:
        # an image without the model's files would build, push and then fail to serve
        raise ContextError(f"nothing to ship: every file of {root} is ignored",
                           hint="check .hydroignore (a '*' line needs '!' exceptions for the model files)")
    chosen = everything if not folder.payload else _chosen(folder, everything, not_ours)
    if chosen.refusals:
        first = chosen.refusals[0]
        raise ContextError(f"{first.message} (in {root})", hint=first.hint)
    return list(chosen.files)


def _chosen(folder: ModelFolder, everything: payload.Payload,
            not_ours: Callable[[Path], bool]) -> payload.Payload:
    root = folder.root
    items, problems = payload.layout(root, [(entry, Location(str(root))) for entry in folder.payload])
    if problems:
        raise ContextError(problems[0].message, hint="fix the payload list in serving.yaml")
    chosen: dict[str, Path] = {}
    refusals: dict[str, payload.Refusal] = {}
    for item in items:
        found = payload.item_payload(root, item, everything)
        if not found.files and not found.refusals:
            raise ContextError(f"payload entry {item.entry!r} holds no file that is not ignored in {root}",
                               hint="check .hydroignore and the default ignores (.git, __pycache__, "
                                    "*.pyc, dist, .hydro-ci)")
        refusals.update((r.rel, r) for r in found.refusals)
        for target, source in found.files:
            if not not_ours(source):  # an entry outside the model folder that holds our outputs
                continue
            if chosen.setdefault(target, source) != source:  # e.g. '.' and 'sub/src/' both give src/…
                raise ContextError(f"two payload entries ship /model/files/{target}: {chosen[target]} and "
                                   f"{source}", hint="Hydrosphere ships each entry under its basename: "
                                                     "rename one, or ship their common folder")
    return payload.Payload(tuple(sorted(chosen.items())), tuple(v for _, v in sorted(refusals.items())))


# Environment that changes where pip looks (its options, config files, home): set by the user, it may
# point into the payload.
_PIP_SETTINGS = ("PIP_", "HOME", "XDG_", "PYTHON", "VIRTUAL_ENV", "UV_")
_DEPS_TEXT_LIMIT = 1 << 20  # a requirements file larger than this is not read (the install goes last)


def payload_classes(sources: list[tuple[str, Path]]) -> dict[str, LayerClass]:
    """The layer class of every payload file, by name and size as listed (the render copies them
    into these classes, whatever happens to a size meanwhile, so the Dockerfile always matches)."""
    out: dict[str, LayerClass] = {}
    for rel, src in sources:
        try:
            size = src.stat().st_size
        except OSError:
            size = 0  # the copy reports it
        out[rel] = classify(rel, size)
    return out


def copy_order(install_command: str | None, sources: list[tuple[str, Path]],
               classes: Mapping[str, LayerClass],
               env: Mapping[str, str] | None = None) -> tuple[list[str], list[str]]:
    """The context directories the Dockerfile copies before and after install-command: one per layer
    class that has files (an empty COPY makes an empty layer, which the engine's classic builder can
    fail to export), the contract always.

    The install goes right after the dependency files when it provably reads nothing else (a plain
    ``pip install -r`` whose files, nested files and local wheels are all dependency files): then a
    new version with other code or weights re-runs no install. Anything else runs after every file,
    as it may read any of them.
    """
    present = {*classes.values(), LayerClass.contract}
    dirs = [layer_dir(layer) for layer in LAYER_ORDER if layer in present]
    spec = parse_pip_install(install_command)
    if spec is None or any(k.upper().startswith(_PIP_SETTINGS) for k in env or {}):  # PIP_CONSTRAINT=…
        return dirs, []
    deps: dict[str, str | None] = {}
    for rel, src in sources:
        if classes[rel] is not LayerClass.deps:
            continue
        try:
            data = read_bounded(src, _DEPS_TEXT_LIMIT)
        except OSError:
            return dirs, []  # the render reports it while copying
        deps[rel] = None if data is None or b"\0" in data else data.decode("utf-8", "replace")
    if not reads_only(spec, deps):
        return dirs, []
    early = [d for d in dirs if d == layer_dir(LayerClass.deps)]
    return early, dirs[len(early):]


def template_dir(folder: ModelFolder, override: Path | None) -> Path | None:
    if override is not None:
        return override
    configured = folder.config.get("template")
    if configured is None:
        return None
    return (folder.root / str(configured)).resolve()


def configured_env(folder: ModelFolder) -> dict[str, str]:
    env = folder.config.get("env") or {}
    if not isinstance(env, Mapping):
        raise ContextError(f"{folder.root}: hydro-ci: env: must be a map of names to values")
    return {str(k): _env_value(folder, str(k), v) for k, v in env.items()}


def _env_value(folder: ModelFolder, name: str, value: object) -> str:
    """YAML scalars as the user wrote them: ``true`` stays ``true`` (not Python's ``True``);
    an empty value or a list/map is refused rather than baked in as ``None`` or a Python repr."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    what = "has no value" if value is None else f"is a {type(value).__name__}, not text"
    raise ContextError(f"{folder.root}: hydro-ci: env: {name} {what}",
                       hint='quote it in serving.yaml, e.g. NAME: "" for an empty value')


def source_commit(folder: ModelFolder, exclude: tuple[Path, ...] = (),
                  shipped: list[tuple[str, Path]] | None = None) -> SourceCommit:
    """The commit naming what ``folder`` ships (``shipped``: ``payload_sources``' answer, else
    computed with ``exclude``), its short form and the remote; or why no commit names it."""
    root = folder.root
    try:
        if not git.is_work_tree(root):
            return SourceCommit()
        repo = git.repo_root(root)
        remote = git.remote_url(root)
        try:
            files = shipped if shipped is not None else payload_sources(folder, None, exclude)
        except ContextError as exc:  # render reports it; no commit can name a folder it cannot list
            return SourceCommit(remote=remote, no_commit=f"its shipped files cannot be listed ({exc})")
        # HEAD is no revision of a folder it does not hold as built: no label rather than a wrong one
        why = git.not_held(repo, root, [src for _, src in files])
        if why is not None:
            return SourceCommit(remote=remote, no_commit=why)
        return SourceCommit(git.head_commit(root), git.short_commit(repo), remote)
    except git.GitError:
        return SourceCommit()


def render_folder(folder: ModelFolder, options: RenderOptions | None = None) -> BuildContext:
    """Write the build context for ``folder`` and return it (also described by its plan.json)."""
    opts = options or RenderOptions()
    # --base-image, else hydro-ci: base-image: (build on another image than the production runtime)
    base = opts.base_image or str(folder.config.get("base-image") or "") or folder.runtime
    if not base:
        raise ContextError(f"{folder.root}: no runtime (base image) given",
                           hint="set runtime: in serving.yaml or pass --base-image REF")
    contract = folder_contract(folder)
    output = opts.output or default_context_dir(folder.name)
    if folder.root.resolve().is_relative_to(output.resolve()):
        raise ContextError(f"--output {output} is the model folder or holds it",
                           hint=f"write the context to a new directory, e.g. the default "
                                f"{default_context_dir(folder.name)}")
    sources = payload_sources(folder, output, opts.exclude)
    commit = source_commit(folder, shipped=sources)
    if opts.provenance is not None:
        epoch, revision = opts.provenance.epoch, opts.provenance.revision
    else:
        epoch = opts.epoch if opts.epoch is not None else source_date_epoch(folder.root)
        revision = commit.commit
    labels = image_labels(name=folder.name, version=opts.version, contract=contract, epoch=epoch,
                          metadata=folder.metadata, revision=revision,
                          source=commit.remote)
    env = configured_env(folder)
    classes = payload_classes(sources)
    before, after = copy_order(folder.install_command, sources, classes, env)
    inputs = DockerfileInputs(
        base_image=base, workdir=WORKDIR, labels=labels, env=env,
        install_command=folder.install_command, model_name=folder.name,
        model_version=opts.version, runtime=folder.runtime,
        variant="python" if (folder.is_python_runtime or "python" in base.lower()) else None,
        copy_before_install=tuple(before), copy_after_install=tuple(after),
    )
    text, template_name = render_dockerfile(inputs, template_dir(folder, opts.template_dir))
    plan = BuildContext(
        root=output, base_image=base, model_name=folder.name, model_version=opts.version,
        labels=labels, source_date_epoch=epoch,
        install_command=inputs.install_command and inputs.install_command.strip(),
        env=env, workdir=WORKDIR, template=template_name,
    )
    # Inside the model folder (the default), no directory on the way may be a link it planted.
    inside = Path(os.path.abspath(output)).is_relative_to(os.path.abspath(folder.root))
    return write_context(output, sources=sources,
                         contract_bytes=to_protobin(contract.primary), dockerfile_text=text, context=plan,
                         link_min_size=LINK_MIN_SIZE if opts.link_large_files else None, classes=classes,
                         within=folder.root if inside else None)


def load_folder(path: Path, model: str | None = None) -> ModelFolder:
    """The model at ``path`` (the Model document named ``model`` when its serving.yaml holds
    several), through the one serving.yaml loader (hydro_ci.infer.check)."""
    if not path.is_dir():
        raise ContextError(f"model folder {path} does not exist or is not a directory",
                           hint="pass the folder that holds serving.yaml")
    return load_model_folder(path, model=model)
