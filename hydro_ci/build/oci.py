"""The daemonless builder: a rendered build context → an OCI image, byte for byte reproducible.

It produces the filesystem the engine's Dockerfile produces (payload under ``/model/files/``, the
contract at ``/model/contract.protobin``, labels, env, ``WorkingDir /model/files``) on top of the
base, without running anything. Layers are split by how often they change (``LAYER_ORDER``:
dependencies, weights, code, contract), so a code change re-uploads only the code layer.

The base is read from where it lives, named the way skopeo names it: ``scratch``,
``oci:DIR[:TAG]``, ``docker-archive:FILE[:REF]``, ``docker-daemon:REF``, or a registry reference
(the default), which is pinned and reported by digest.

``install-command`` cannot run without a container; the common ``pip install -r requirements.txt``
is done by pip on this machine for the runtime's platform and Python version (``--target``,
``--platform``, ``--python-version``, ``--only-binary=:all:``) into a dependencies layer at
``/opt/hydro-ci/site-packages``, which ``PYTHONPATH`` points at. Anything else is refused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import posixpath
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydro_ci import boundedjson
from hydro_ci.build.api import (
    BaseRecord,
    BuildRequest,
    BuildResult,
    Built,
    DepsInstall,
    LayerRecord,
    OCIOptions,
)
from hydro_ci.build.python import runtime_python
from hydro_ci.cache import cache_dir
from hydro_ci.epoch import file_time, rfc3339
from hydro_ci.errors import HydroCIError, UsageError
from hydro_ci.image import daemon, layout, mutate, remote, tarball
from hydro_ci.image import layer as layers
from hydro_ci.image.layer import Layer, LayerEntry
from hydro_ci.image.model import (
    ANNOTATION_BASE_DIGEST,
    ANNOTATION_BASE_NAME,
    OCI_LAYER,
    OCI_LAYER_GZIP,
    Descriptor,
    Digest,
    History,
    Image,
    Platform,
    canonical_json,
)
from hydro_ci.input_files import read_bounded
from hydro_ci.output_files import write_file
from hydro_ci.progress import Progress, ProgressEvent, no_progress
from hydro_ci.reference import parse_reference
from hydro_ci.registry.client import client_for
from hydro_ci.registry.keychain import DEFAULT_KEYCHAIN, Keychain
from hydro_ci.render.context import FILES_DIR, LAYER_ORDER, BuildContext, ContextFile, LayerClass, check_links
from hydro_ci.render.install import PipInstall, host_install_refusal, parse_pip_install

log = logging.getLogger(__name__)

DEPS_DIR = "opt/hydro-ci/site-packages"
DEFAULT_GLIBC = "2_28"
CACHE_SCHEMA = 1
_ARCH_TAGS = {"amd64": "x86_64", "arm64": "aarch64", "386": "i686", "ppc64le": "ppc64le", "s390x": "s390x"}


class OCIBuildError(HydroCIError):
    """The daemonless builder cannot build this context (unsupported install-command, pip failed…)."""


# --- install-command ---------------------------------------------------------------------------

def parse_install_command(command: str | None) -> PipInstall | None:
    """``pip install -r requirements.txt`` and close relatives; anything else → ``OCIBuildError``."""
    if not command or not command.strip():
        return None
    spec = parse_pip_install(command)
    if spec is None:
        raise OCIBuildError(
            f"the oci builder cannot run install-command {command.strip()!r}; it supports only "
            "'pip install -r requirements.txt' (and plain requirement specifiers)",
            hint="use --builder docker to run arbitrary install commands")
    for name in spec.requirement_files:
        # pip runs on this machine, not in the runtime: a path outside the payload would read a
        # build-host file (and pip echoes its lines in errors), and it means another file in a container.
        if posixpath.isabs(name) or posixpath.normpath(name).split("/")[0] == "..":
            raise OCIBuildError(f"install-command reads {name!r}, outside the model's payload",
                                hint="name a requirements file inside the model folder, "
                                     "or use --builder docker")
    return spec


def pip_platforms(platform: Platform, glibc: str = DEFAULT_GLIBC) -> list[str]:
    arch = _ARCH_TAGS.get(platform.architecture)
    if arch is None or platform.os != "linux":
        raise OCIBuildError(f"cannot pick wheels for platform {platform}",
                            hint="use --builder docker for this runtime")
    # pip widens a manylinux_2_X tag to every older glibc, so one tag covers them.
    return [f"manylinux_{glibc}_{arch}"]


def pip_install(spec: PipInstall, files_dir: Path, target: Path, *, python_version: str,
                platforms: Sequence[str], report: Path | None = None) -> None:
    """Run pip (this interpreter's) for the runtime's platform into ``target``.

    ``report``: where pip writes its installation report (each wheel's URL and hash), which the
    SBOM and the provenance read.
    """
    cmd = [sys.executable, "-m", "pip", "install", "--target", str(target), "--only-binary=:all:",
           "--python-version", python_version, "--implementation", "cp", "--no-compile",
           "--disable-pip-version-check", "--no-warn-script-location", "--quiet"]
    if report is not None:
        cmd += ["--report", str(report)]
    for p in platforms:
        cmd += ["--platform", p]
    if spec.no_deps:
        cmd.append("--no-deps")
    for f in spec.requirement_files:
        cmd += ["-r", f]
    cmd += list(spec.requirements)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(cmd, cwd=files_dir, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        lines = [x for x in proc.stderr.strip().splitlines() if x.strip()]
        last = lines[-1].strip() if lines else f"exit {proc.returncode}"
        raise OCIBuildError(f"pip install for python {python_version} ({platforms[0]}) failed: {last}",
                            hint="every requirement needs a wheel for the runtime; or use --builder docker")
    # Console scripts carry this machine's interpreter in their #! line; point them at the runtime's.
    bin_dir = target / "bin"
    if bin_dir.is_dir():
        for script in sorted(bin_dir.iterdir()):
            data = script.read_bytes()
            if data.startswith(b"#!"):
                script.write_bytes(b"#!/usr/bin/env python3" + data[data.find(b"\n"):])


# --- layer cache -------------------------------------------------------------------------------


def _layer_key(klass: str, entries: Sequence[tuple[LayerEntry, str]], epoch: int, compression: str) -> str:
    """What decides a layer's bytes: entries (name, kind, mode, content digest), epoch, compression."""
    items = [[e.name, e.kind, e.mode, e.linkname, sha] for e, sha in entries]
    return hashlib.sha256(canonical_json([CACHE_SCHEMA, klass, epoch, compression, level_of(compression),
                                          items])).hexdigest()


def level_of(compression: str) -> int:
    return layers.GZIP_LEVEL if compression == "gzip" else 0


def _cached_layer(cache: Path, key: str, entries: Sequence[LayerEntry], epoch: int) -> Layer | None:
    try:
        rec = boundedjson.loads((cache / "layers" / f"{key}.json").read_text())
        desc = Descriptor(rec["media_type"], Digest.parse(rec["digest"]), int(rec["size"]))
        diff_id, usize = Digest.parse(rec["diff_id"]), int(rec["uncompressed_size"])
    except (OSError, ValueError, KeyError):
        return None
    if desc.media_type == OCI_LAYER:
        return Layer(desc, diff_id, usize, segments=tuple(layers._segments(entries, epoch)))
    path = cache / "blobs" / "sha256" / desc.digest.hex
    if not _blob_is_sound(path, desc, rec.get("verified")):
        return None
    if rec.get("verified") != _stat_mark(path):  # verified in full just now: remember that
        _remember_layer(cache, key, Layer(desc, diff_id, usize, path=path))
    return Layer(desc, diff_id, usize, path=path)


def _stat_mark(path: Path) -> list[int] | None:
    """What changes whenever a file's bytes may have: inode, size, mtime, and ctime (which any
    write, link or chmod moves on, and nothing can set back)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _blob_is_sound(path: Path, desc: Descriptor, mark: Any) -> bool:
    """A cached blob holds the bytes its digest names: taken on its stat mark when that is the one
    recorded when it was last hashed, else hashed in full; a damaged blob is removed (and rebuilt)."""
    now = _stat_mark(path)
    if now is None or path.is_symlink() or now[2] != desc.size:
        return False
    if now == mark:
        return True
    if Digest.of_file(path) == desc.digest:
        return True
    log.warning("cached layer %s is damaged (its bytes do not match); building it again", desc.digest)
    path.unlink(missing_ok=True)
    return False


def _remember_layer(cache: Path, key: str, layer: Layer) -> None:
    rec = {"media_type": layer.descriptor.media_type, "digest": str(layer.descriptor.digest),
           "size": layer.descriptor.size, "diff_id": str(layer.diff_id),
           "uncompressed_size": layer.uncompressed_size,
           # The blob was hashed as it was written (or just now): this stat says "unchanged since".
           "verified": _stat_mark(layer.path) if layer.path is not None else None}
    write_file(cache / "layers" / f"{key}.json", json.dumps(rec), within=cache)


# --- base images -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Base:
    image: Image
    ref: str  # as given
    digest: str | None  # manifest digest when it came from a registry (the pin)
    name: str | None  # registry reference, for the base.name annotation


def read_base(ref: str, workdir: Path, platform: Platform, *, keychain: Keychain = DEFAULT_KEYCHAIN,
              insecure: bool | None = None) -> Base:
    """The base image from wherever ``ref`` says it lives."""
    if ref == "scratch":
        return Base(mutate.scratch(platform), ref, None, None)
    for prefix in ("oci:", "oci-layout:"):
        if ref.startswith(prefix):
            path, tag = _split_path_tag(ref[len(prefix):])
            return Base(layout.read_layout(path, tag, platform), ref, None, None)
    if ref.startswith("docker-archive:"):
        path, tag = _split_path_tag(ref[len("docker-archive:"):])
        return Base(tarball.read_tarball(path, tag), ref, None, None)
    if ref.startswith("docker-daemon:"):
        return Base(daemon.read_daemon(ref[len("docker-daemon:"):], workdir), ref, None, None)
    reference = parse_reference(ref)
    try:
        found = remote.read_image(client_for(ref, keychain, insecure=insecure), reference, platform=platform)
    except HydroCIError as exc:
        raise OCIBuildError(
            f"cannot read base image {ref} from its registry: {exc.message}",
            hint=(f"{exc.hint}; or " if exc.hint else "") + "read the base from elsewhere with --base-from "
                 "oci:DIR:TAG, docker-archive:FILE or docker-daemon:REF") from None
    return Base(found.image, ref, found.digest, reference.name)


def _split_path_tag(text: str) -> tuple[Path, str | None]:
    path, sep, tag = text.rpartition(":")
    if sep and path and "/" not in tag:
        return Path(path), tag
    return Path(text), None


# --- the build ---------------------------------------------------------------------------------


@dataclass
class LayerPlan:
    klass: str
    files: int
    layer: Layer
    reason: str
    cached: bool

    def record(self) -> LayerRecord:
        d = self.layer.descriptor
        return LayerRecord(self.klass, self.files, digest=str(d.digest), size=d.size, media_type=d.media_type,
                           diff_id=str(self.layer.diff_id), uncompressed_size=self.layer.uncompressed_size,
                           compression="gzip" if d.media_type == OCI_LAYER_GZIP else "none",
                           reason=self.reason, cached=self.cached)


@dataclass
class BuiltImage:
    image: Image
    base: Base
    plan: list[LayerPlan] = field(default_factory=list)
    deps: DepsInstall | None = None


def _entries_for(context: BuildContext, files: Sequence[ContextFile]) -> list[tuple[LayerEntry, str]]:
    out = []
    for f in files:
        entry = LayerEntry(f.path, "file", source=context.root / f.path,
                           executable=f.mode & 0o111 != 0, sha256=f.sha256)
        out.append((entry, f.sha256))
    return out


def installed_deps(spec: PipInstall, context: BuildContext, cache: Path, *, python_version: str,
                   platforms: Sequence[str], progress: Progress = no_progress,
                   python_from: str = "") -> tuple[Path, str]:
    """The site-packages pip makes for ``spec``, cached by everything that decides it.

    The key covers the dependency files (requirements, constraints, wheels: their digests from the
    plan), the specifiers, Python version and platforms. A hit re-runs nothing (no network), and
    what was resolved once stays fixed: delete the cache to resolve again. Returns (dir, key).
    """
    why = host_install_refusal(spec, _PayloadText(context))
    if why is not None:  # before the cache: a hit must not hide what a fresh build would refuse
        raise OCIBuildError(f"the oci builder runs pip on this machine, where it may only download and "
                            f"unpack wheels: {why}",
                            hint="ship a wheel (pip wheel ./pkg -w wheels/) and name it, or use --builder "
                                 "docker, which runs install-command inside the image")
    deps = [[f.path, f.sha256] for f in context.files_in(LayerClass.deps)]
    for name in spec.requirement_files:  # named files count whatever layer class they were given
        path = context.root / "model" / "files" / name
        deps.append([name, Digest.of_file(path).hex if path.is_file() else "missing"])
    key = hashlib.sha256(canonical_json([CACHE_SCHEMA, deps, list(spec.requirement_files),
                                         list(spec.requirements), spec.no_deps, python_version,
                                         list(platforms)])).hexdigest()
    done = cache / "pip" / key
    what = f"pip install for python {python_version} ({platforms[0]})" + (
        f", from {python_from}" if python_from else "")
    if done.is_dir():
        progress(ProgressEvent("deps", f"{what}: cached"))
        return done, key
    progress(ProgressEvent("deps", what))
    done.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".pip-", dir=done.parent) as tmp:
        target = Path(tmp) / "site-packages"
        report = Path(tmp) / "report.json"
        pip_install(spec, context.root / "model" / "files", target, python_version=python_version,
                    platforms=platforms, report=report)
        target.mkdir(exist_ok=True)  # requirements that install nothing still make a (empty) dir
        if report.is_file():  # beside the tree, never in it: the report is no part of the layer
            os.replace(report, pip_report_path(done))
        try:
            os.replace(target, done)
        except OSError:  # another build finished the same install first
            if not done.is_dir():
                raise
    return done, key


class _PayloadText(Mapping[str, "str | None"]):
    """The payload's files (paths under /model/files) → their text, read when asked: None for what is
    not text (a wheel, a binary file, more than a megabyte). Only files of the plan are there."""

    def __init__(self, context: BuildContext) -> None:
        self._root = context.root / FILES_DIR
        prefix = FILES_DIR + "/"
        self._paths = {f.path[len(prefix):] for f in context.files if f.path.startswith(prefix)}

    def __getitem__(self, path: str) -> str | None:
        if path not in self._paths:
            raise KeyError(path)
        try:
            data = read_bounded(self._root / path, 1 << 20)
        except OSError:
            return None
        return None if data is None or b"\0" in data else data.decode("utf-8", "replace")

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._paths))

    def __len__(self) -> int:
        return len(self._paths)


def pip_report_path(site: Path) -> Path:
    """Where pip's installation report for the cached tree ``site`` is kept (may be missing)."""
    return site.with_name(site.name + ".report.json")


def _tree_entries_keyed(root: Path, prefix: str, key: str) -> list[tuple[LayerEntry, str]]:
    """Entries of an immutable cached tree: identified by the tree's key, path and size (no hashing)."""
    return [(e, f"{key}:{e.name}:{e.size}" if e.kind == "file" else e.linkname)
            for e in layers.tree_entries(root, prefix)]


def build_layer(klass: str, entries: Sequence[tuple[LayerEntry, str]], epoch: int, cache: Path,
                compression: layers.Compression = "auto",
                progress: Progress = no_progress) -> LayerPlan:
    plain = [e for e, _ in entries]
    if compression == "auto":
        compression, reason = layers.choose_compression(plain)
    else:
        reason = f"{compression} (forced)"
    key = _layer_key(klass, entries, epoch, compression)
    cached = _cached_layer(cache, key, plain, epoch)
    if cached is not None:
        return LayerPlan(klass, len(plain), cached, reason, True)
    total = sum(e.size for e in plain)
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if done < total:  # the "layer" event after it is the one line a CI log keeps
            progress(ProgressEvent("hash", f"{klass}: hashing {done * 100 // max(total, 1)}%", done, total,
                                   klass))

    built = layers.write_layer(plain, cache / "blobs", epoch=epoch, compression=compression,
                               progress=tick)
    # write_layer spools under <dir>/sha256/<hex>, i.e. cache/blobs/sha256/<hex>.
    _remember_layer(cache, key, built)
    return LayerPlan(klass, len(plain), built, reason, False)


def build_image(context: BuildContext, base: Base, *, cache: Path, python_version: str | None = None,
                glibc: str = DEFAULT_GLIBC, progress: Progress = no_progress) -> BuiltImage:
    """The image for ``context`` on ``base`` (pure apart from reading files and the layer cache)."""
    created = rfc3339(context.source_date_epoch)
    mtime = file_time(context.source_date_epoch)  # entries' times: fixed, so layers outlive commits
    pip = parse_install_command(context.install_command)
    plan: list[LayerPlan] = []
    deps: DepsInstall | None = None
    env = dict(context.env)
    for klass in LAYER_ORDER:
        entries = _entries_for(context, context.files_in(klass))
        if klass is LayerClass.deps and pip is not None:
            # The runtime's name, not where its image was read from (--base-from oci:DIR, scratch).
            python = runtime_python(base.image.config, context.base_image, python_version)
            pyver = python.version
            plats = pip_platforms(base.image.config.platform, glibc)
            # In the cache, not a temporary directory: an uncompressed layer reads its files at push time.
            site, key = installed_deps(pip, context, cache, python_version=pyver, platforms=plats,
                                       progress=progress, python_from=python.source)
            entries += _tree_entries_keyed(site, DEPS_DIR, key)
            deps = DepsInstall(str(site), pyver, tuple(plats), tuple(pip.requirement_files), python.source)
            existing = base.image.config.env_value("PYTHONPATH")
            env["PYTHONPATH"] = "/" + DEPS_DIR + (f":{existing}" if existing else "")
        if not entries:
            continue
        lp = build_layer(klass.value, entries, mtime, cache, progress=progress)
        plan.append(lp)
        progress(ProgressEvent("layer", f"{klass.value}: {lp.layer.descriptor.size} bytes, {lp.reason}"
                               + (" (cached)" if lp.cached else ""),
                               lp.layer.descriptor.size, lp.layer.descriptor.size,
                               str(lp.layer.descriptor.digest)))
    # History says what each layer is, not why (the sampled gain stays out of the image bytes).
    addenda = [mutate.Addendum(lp.layer, lp.layer.diff_id,
                               History(created=created, created_by=f"hydro-ci oci: {lp.klass} layer"
                                       + ("" if lp.layer.compressed else " (uncompressed)")))
               for lp in plan]
    image = mutate.append_layers(base.image, addenda)
    config = mutate.configure(image.config, labels=context.labels, env=env,
                              working_dir=context.workdir, created=created)
    annotations: dict[str, str] = {}
    if base.digest:
        annotations[ANNOTATION_BASE_DIGEST] = base.digest
    if base.name:
        annotations[ANNOTATION_BASE_NAME] = base.name
    image = mutate.with_annotations(mutate.with_config(image, config), annotations, replace=True)
    return BuiltImage(image, base, plan, deps)


class OCIBuilder:
    """``make_builder("oci", OCIOptions(…))``: build without a daemon."""

    name = "oci"

    def __init__(self, options: OCIOptions) -> None:
        self.options = options
        self.cache = options.cache or cache_dir()
        self.platform = Platform.parse(options.platform) if options.platform else Platform("amd64", "linux")

    def read_base(self, context: BuildContext) -> Base:
        """The base ``context`` builds on: from ``base_from`` when given (overriding the context's
        runtime reference, which the Dockerfile needs as a plain reference), else its registry."""
        source = self.options.base_from or context.base_image
        base = read_base(source, self.cache / "tmp", self.platform, keychain=self.options.keychain,
                         insecure=self.options.insecure)
        have = base.image.config.platform
        if self.options.platform and source != "scratch" and (have.os, have.architecture) != (
                self.platform.os, self.platform.architecture):
            raise OCIBuildError(f"base image {source} is {have}, not {self.platform}",
                                hint="use a base built for that platform (or a multi-platform one)")
        return base

    def build(self, request: BuildRequest, progress: Progress = no_progress) -> Built:
        ctx = request.context
        if ctx.model_version not in (None, request.version):
            # The labels (MODEL_VERSION, org.opencontainers.image.version) would say another version.
            raise UsageError(f"the context in {ctx.root} was rendered for version {ctx.model_version}, "
                             f"not {request.version}", hint="render it again with the version you build")
        check_links(ctx)
        progress(ProgressEvent("base", f"reading base image {self.options.base_from or ctx.base_image}"))
        base = self.read_base(ctx)
        built = build_image(ctx, base, cache=self.cache, python_version=self.options.python_version,
                            progress=progress)
        digest = str(built.image.manifest_digest)
        result = BuildResult(builder=self.name, image=request.image, version=request.version, id=digest,
                             digest=digest, config_digest=str(built.image.manifest.config.digest),
                             size=built.image.size, base=BaseRecord(base.ref, base.digest, base.name),
                             layers=tuple(lp.record() for lp in built.plan), deps=built.deps)
        return Built(built.image, result)
