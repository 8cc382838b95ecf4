"""The facts of one daemonless build, gathered once for the SBOM and the provenance.

Everything read here may come from a hostile place: the model folder (from a pull request) and
the packages pip installed (from an index). Files are read only inside the context and the cached
site-packages tree, never through a link out of them, and every read is bounded.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import asdict, dataclass, field
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

from hydro_ci import __version__, boundedjson, git
from hydro_ci.build.api import BuildResult
from hydro_ci.image.model import PushableImage
from hydro_ci.render.context import BuildContext, ContextFile, LayerClass

BUILDER_ID = "https://github.com/hydro-ci/hydro-ci/oci-builder@v1"
MAX_METADATA = 256 << 10  # a wheel's METADATA head: enough for its headers, never its whole README
MAX_REPORT = 64 << 20
MAX_PACKAGES = 10_000
CONTRACT_PATH = "model/contract.protobin"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


@dataclass(frozen=True)
class FileFact:
    path: str  # inside the image, e.g. /model/files/model.onnx
    sha256: str
    size: int
    layer: str  # deps, weights, code, contract
    format: str | None = None  # model format (onnx, saved_model, …) when the file is a model
    framework: str | None = None


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    license: str | None = None  # as the wheel declares it (License-Expression, License, classifiers)
    url: str | None = None  # where pip got the wheel
    sha256: str | None = None  # of the wheel file


@dataclass(frozen=True)
class Source:
    repository: str | None  # the remote URL without credentials (None: no remote)
    commit: str | None
    dirty: bool  # tracked files of the model folder differ from the commit
    path: str  # the model folder, relative to the repository root ("." at the root)


@dataclass(frozen=True)
class LayerFact:
    klass: str
    digest: str
    diff_id: str
    size: int
    media_type: str


@dataclass(frozen=True)
class BuildFacts:
    """What decided the image's digest, and what is in it."""

    model_name: str
    version: str | None
    repository: str  # where it is (or would be) pushed, without tag
    digest: str  # manifest digest
    manifest_size: int
    config_digest: str
    base_ref: str
    base_digest: str | None
    base_name: str | None
    platform: str
    python_version: str | None  # only when pip ran
    pip_platforms: tuple[str, ...]
    source_date_epoch: int
    install_command: str | None
    files: tuple[FileFact, ...]
    packages: tuple[Package, ...]
    requirement_files: tuple[FileFact, ...]
    contract_sha256: str | None
    layers: tuple[LayerFact, ...]
    framework: str | None
    source: Source
    builder_version: str = __version__
    labels: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def source_facts(model_dir: Path) -> Source:
    """The commit the folder was built from, whether it differs from it, and where it lives."""
    from hydro_ci.render.labels import _public_url

    try:
        if not git.is_work_tree(model_dir):
            return Source(None, None, True, ".")
        root = git.repo_root(model_dir)
        remote = git.remote_url(model_dir)
        rel = Path(os.path.realpath(model_dir)).relative_to(os.path.realpath(root)).as_posix() or "."
        return Source(
            _public_url(remote) if remote else None,
            git.head_commit(model_dir),
            git.has_uncommitted_changes(model_dir),
            rel,
        )
    except (git.GitError, ValueError):
        return Source(None, None, True, ".")


def _source(model_dir: Path | None, files: list[ContextFile]) -> Source:
    """``source_facts``, dirty too when a payload file is not in the commit (untracked)."""
    if model_dir is None:
        return Source(None, None, True, ".")
    src = source_facts(model_dir)
    if src.dirty or src.commit is None:
        return src
    try:
        out = git.git_output(["ls-files", "--others", "--exclude-standard", "-z", "--", "."], model_dir)
    except git.GitError:
        return src
    untracked = {p for p in out.split("\0") if p}
    shipped = {f.path.removeprefix("model/files/") for f in files if f.path.startswith("model/files/")}
    if untracked & shipped:
        return Source(src.repository, src.commit, True, src.path)
    return src


def _model_formats(context: BuildContext, files: list[ContextFile]) -> dict[str, tuple[str, str]]:
    """image path → (format, framework) for the model files among ``files``."""
    from hydro_ci.infer.detect import sniff

    out: dict[str, tuple[str, str]] = {}
    for f in files:
        if f.layer not in (LayerClass.weights, LayerClass.code) or f.path.endswith(".py"):
            continue
        fmt = sniff(context.root / f.path)
        if fmt is not None:
            out[f.image_path] = (fmt.name, fmt.framework)
    return out


def collect(
    context: BuildContext,
    image: PushableImage,
    built: BuildResult,
    *,
    repository: str,
    platform: str,
    model_dir: Path | None = None,
    framework: str | None = None,
) -> BuildFacts:
    """The facts of ``image`` as ``built`` describes it (made from ``context``), for the SBOM and the
    provenance."""
    files = list(context.files)
    formats = _model_formats(context, files)
    fw = framework or next((v[1] for v in formats.values()), None)
    facts = [
        FileFact(f.image_path, f.sha256, f.size, f.layer.value, *formats.get(f.image_path, (None, None)))
        for f in files
    ]
    contract = next((f.sha256 for f in files if f.path == CONTRACT_PATH), None)
    deps = built.deps
    req_names = {f"model/files/{n}" for n in (deps.requirement_files if deps else ())}
    requirements = tuple(
        x
        for x, f in zip(facts, files, strict=True)
        if f.path in req_names or (f.layer is LayerClass.deps and not f.path.endswith(".whl"))
    )
    layers = tuple(
        LayerFact(la.klass, str(la.digest), str(la.diff_id), la.size, str(la.media_type))
        for la in built.layers
    )
    base = built.base
    return BuildFacts(
        model_name=context.model_name,
        version=context.model_version,
        repository=repository,
        digest=str(image.manifest_digest),
        manifest_size=len(image.manifest_bytes),
        config_digest=str(built.config_digest),
        base_ref=base.ref if base else "scratch",
        base_digest=base.digest if base else None,
        base_name=base.name if base else None,
        platform=platform,
        python_version=deps.python_version if deps else None,
        pip_platforms=deps.platforms if deps else (),
        source_date_epoch=context.source_date_epoch,
        install_command=context.install_command,
        files=tuple(facts),
        packages=tuple(installed_packages(Path(deps.site))) if deps else (),
        requirement_files=requirements,
        contract_sha256=contract,
        layers=layers,
        framework=fw,
        source=_source(model_dir, files),
        labels=dict(context.labels),
    )


# --- installed packages ------------------------------------------------------------------------


def installed_packages(site: Path) -> list[Package]:
    """Every ``*.dist-info`` in ``site`` (what is in the layer), with pip's wheel URL and hash."""
    from hydro_ci.build.oci import pip_report_path

    wheels = _report(pip_report_path(site))
    out: list[Package] = []
    try:
        entries = sorted(os.scandir(site), key=lambda e: e.name)
    except OSError:
        return []
    for entry in entries[:MAX_PACKAGES]:
        if not entry.name.endswith(".dist-info") or not entry.is_dir(follow_symlinks=False):
            continue
        meta = _read_metadata(Path(entry.path) / "METADATA")
        name, version = meta.get("Name"), meta.get("Version")
        if not name or not version or not _NAME.match(name):
            continue
        url, sha = wheels.get(_normalise(name), (None, None))
        out.append(Package(name, version.strip()[:100], _license(meta), url, sha))
    return out


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _read_metadata(path: Path) -> dict[str, Any]:
    """The headers of a METADATA file (regular file only, first ``MAX_METADATA`` bytes)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return {}
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return {}
        head = f.read(MAX_METADATA)
    text = head.decode("utf-8", errors="replace").split("\n\n", 1)[0]
    msg = HeaderParser().parsestr(text)
    return {
        "Name": msg.get("Name"),
        "Version": msg.get("Version"),
        "License-Expression": msg.get("License-Expression"),
        "License": msg.get("License"),
        "Classifier": msg.get_all("Classifier") or [],
    }


def _license(meta: dict[str, Any]) -> str | None:
    expr = (meta.get("License-Expression") or "").strip()
    if expr:
        return expr[:200]
    text = (meta.get("License") or "").strip()
    if text and "\n" not in text and len(text) <= 100 and text.upper() != "UNKNOWN":
        return text
    found = [
        c.split("::")[-1].strip() for c in meta.get("Classifier", []) if str(c).startswith("License ::")
    ]
    return "; ".join(found)[:200] or None


def _report(path: Path) -> dict[str, tuple[str | None, str | None]]:
    """normalised name → (wheel URL, sha256) from pip's installation report."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_REPORT + 1)
        doc = boundedjson.loads(data) if len(data) <= MAX_REPORT else {}
    except (OSError, ValueError):
        return {}
    out: dict[str, tuple[str | None, str | None]] = {}
    for item in doc.get("install") or () if isinstance(doc, dict) else ():
        if not isinstance(item, dict):
            continue
        meta, info = item.get("metadata") or {}, item.get("download_info") or {}
        name = meta.get("name") if isinstance(meta, dict) else None
        if not isinstance(name, str) or not isinstance(info, dict):
            continue
        url = _public_wheel_url(info.get("url"))
        hashes = (info.get("archive_info") or {}).get("hashes") or {}
        sha = hashes.get("sha256") if isinstance(hashes, dict) else None
        if sha is None and isinstance((info.get("archive_info") or {}).get("hash"), str):
            algo, _, value = info["archive_info"]["hash"].partition("=")
            sha = value if algo == "sha256" else None
        out[_normalise(name)] = (
            url,
            sha if isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{64}", sha) else None,
        )
    return out


def _public_wheel_url(url: object) -> str | None:
    """A wheel's URL fit to publish: no credentials, and a local file only by its name (a path of
    the build machine says nothing to a reader and is no business of the registry's)."""
    from hydro_ci.render.labels import _public_url

    if not isinstance(url, str) or len(url) > 2000:
        return None
    if url.startswith("file:"):
        return "file:" + url.rstrip("/").rsplit("/", 1)[-1]
    return _public_url(url)
