"""Build a pushed image again from what its provenance recorded, and say where the two differ.

The rebuild clones the recorded repository (or ``source``) at the recorded commit into a temporary
directory, sets the clone's ``origin`` back to the recorded URL (the source label is part of the
image), renders the folder with the recorded version and ``SOURCE_DATE_EPOCH``, and builds it with
the daemonless builder on the recorded base digest, platform and Python version.

When the digests differ, ``first_difference`` names the first layer that differs and the first file
in it: both layers are read as tar streams (the registry's through its digest check), each entry
hashed, never written anywhere. The registry's layer is hostile input: entries and bytes are
bounded, names are only ever printed.
"""

from __future__ import annotations

import gzip
import hashlib
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from hydro_ci import git
from hydro_ci.attest.provenance import RecordedBuild
from hydro_ci.errors import HydroCIError, UsageError
from hydro_ci.image.model import GZIP_LAYER_TYPES, Blob, Image

MAX_ENTRIES = 500_000
SLACK = 1 << 30  # bytes the registry's layer may hold beyond ours before we stop reading it


class RebuildError(HydroCIError):
    """The image cannot be built again from its provenance."""


@dataclass(frozen=True)
class Rebuilt:
    digest: str
    image: Image
    workdir: Path


def rebuild(
    rec: RecordedBuild,
    *,
    workdir: Path,
    source: str | None = None,
    base_from: str | None = None,
    insecure: bool | None = None,
    cache: Path | None = None,
) -> Rebuilt:
    """The image the provenance ``rec`` describes, built again in ``workdir``."""
    from hydro_ci.build import BuildRequest, OCIOptions
    from hydro_ci.build.oci import OCIBuilder
    from hydro_ci.infer.check import load_model_folder
    from hydro_ci.render.assemble import RenderOptions, render_folder

    if rec.dirty:
        raise RebuildError(
            "the image was built from uncommitted changes: no commit holds its source",
            hint="only images built from a clean checkout can be reproduced",
        )
    if rec.commit is None:
        raise RebuildError(
            "the provenance names no commit", hint="the image was not built in a git checkout"
        )
    origin = source or rec.repository_uri
    if not origin:
        raise UsageError(
            "the provenance names no repository to clone (it was built without a remote)",
            hint="pass --source DIR|URL: a clone that holds commit " + rec.commit,
        )
    clone = workdir / "source"
    try:
        git.clone_at(origin, rec.commit, clone)
    except git.GitError as exc:
        raise RebuildError(
            f"cannot check out {rec.commit[:12]} from {origin}: {exc.message}",
            hint="pass --source with a clone that holds the commit",
        ) from None
    # The image's source label is the remote URL the build saw: give the clone the same one.
    git.run_git(["remote", "remove", "origin"], clone)
    if rec.repository_uri:
        git.run_git(["remote", "add", "origin", rec.repository_uri], clone)
    folder_dir = (clone / rec.path).resolve()
    if not folder_dir.is_relative_to(clone.resolve()) or not folder_dir.is_dir():
        raise RebuildError(f"{rec.path} is not a folder of commit {rec.commit[:12]}")
    folder = load_model_folder(folder_dir, build=True, model=rec.model)
    ctx = render_folder(
        folder,
        RenderOptions(
            output=workdir / "context",
            version=rec.version,
            epoch=rec.source_date_epoch,
            link_large_files=True,
        ),
    )
    base = base_from or _recorded_base(rec)
    builder = OCIBuilder(OCIOptions(
        cache=cache or workdir / "cache",
        base_from=base,
        platform=rec.platform or None,
        python_version=rec.python_version,
        insecure=insecure,
    ))
    built = builder.build(BuildRequest(ctx, "rebuild", rec.version or "rebuild"))
    assert isinstance(built.image, Image)  # the daemonless builder's image is in memory
    return Rebuilt(built.result.id, built.image, workdir)


def _recorded_base(rec: RecordedBuild) -> str:
    """The base as the provenance pins it: a registry digest, or scratch. A local source
    (``oci:``, ``docker-archive:``, ``docker-daemon:``) named by a statement from a registry is never
    opened on this machine: the verifier names it with --base-from."""
    from hydro_ci.reference import parse_reference

    if rec.base_name and rec.base_digest:
        ref = parse_reference(f"{rec.base_name}@{rec.base_digest}")
        return f"{ref.name}@{rec.base_digest}"
    if rec.base_ref == "scratch":
        return "scratch"
    raise RebuildError(f"the image was built on a base read from {rec.base_ref!r}, not from a registry",
                       hint="pass --base-from with the same base (e.g. oci:DIR:TAG)")


# --- where two images differ --------------------------------------------------------------------


def first_difference(ours: Image, theirs: Image) -> str:
    """One line: the first layer and file (or config field) in which ``theirs`` differs from ``ours``."""
    a, b = ours.manifest.layers, theirs.manifest.layers
    history = [h.get("created_by", "") for h in ours.config.history if not h.get("empty_layer")]
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x.digest == y.digest:
            continue
        # history entries of non-empty layers end with ours (a base may carry none of its own)
        h = i - (len(a) - len(history))
        what = history[h].removeprefix("hydro-ci oci: ") if 0 <= h < len(history) else ""
        name = f"layer {i + 1} of {len(b)}" + (f" ({what})" if what else "")
        path = _first_file(ours.layers[i], theirs.layers[i])
        return f"{name}: {path}"
    if len(a) != len(b):
        return f"the registry's image has {len(b)} layers, the rebuild {len(a)}"
    if ours.config_bytes != theirs.config_bytes:
        return "image config: " + _config_difference(ours.config.raw, theirs.config.raw)
    return (
        "manifest annotations: "
        + ", ".join(
            sorted(
                k
                for k in {*ours.manifest.annotations, *theirs.manifest.annotations}
                if ours.manifest.annotations.get(k) != theirs.manifest.annotations.get(k)
            )
        )
        or "manifest bytes"
    )


def _config_difference(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted({*a, *b}):
            if a.get(k) != b.get(k):
                return _config_difference(a.get(k), b.get(k), f"{path}.{k}" if path else str(k))
    elif a != b:
        return f"{path}: {_short(a)} here, {_short(b)} in the registry"
    return path or "(unknown)"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _first_file(ours: Blob, theirs: Blob) -> str:
    mine = dict(_entries(ours, limit=None))
    budget = sum(size for _, (_, size, _) in mine.items()) + SLACK
    other = {}
    try:
        for name, info in _entries(theirs, limit=budget):
            other[name] = info
            if len(other) > MAX_ENTRIES:
                break
    except (tarfile.TarError, OSError, EOFError, gzip.BadGzipFile) as exc:
        return f"the registry's layer cannot be read as a tar ({type(exc).__name__})"
    for name in sorted({*mine, *other}):
        x, y = mine.get(name), other.get(name)
        if x == y:
            continue
        shown = _printable(name)
        if x is None:
            return f"/{shown} is only in the registry's image"
        if y is None:
            return f"/{shown} is missing from the registry's image"
        if x[0] != y[0]:
            return f"/{shown} is a {y[0]} in the registry's image, a {x[0]} in the rebuild"
        if x[2] != y[2]:
            return f"/{shown} differs (sha256 {x[2][:12]}… rebuilt, {y[2][:12]}… in the registry)"
        return f"/{shown}: same content, other metadata"
    return "same files; the tar headers (times, modes, order) differ"


def _printable(name: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in name)[:300]


def _entries(blob: Blob, *, limit: int | None) -> Iterator[tuple[str, tuple[str, int, str]]]:
    """(name, (kind, size, sha256 or link target)) of each entry of a layer blob, streamed."""
    with blob.open() as raw:
        gz = blob.descriptor.media_type in GZIP_LAYER_TYPES
        stream: IO[bytes] = gzip.GzipFile(fileobj=raw) if gz else raw  # type: ignore[assignment]
        read = 0
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for n, m in enumerate(tar):
                if n > MAX_ENTRIES:
                    return
                name = m.name.removeprefix("./").rstrip("/")
                if m.isfile():
                    h = hashlib.sha256()
                    f = tar.extractfile(m)
                    assert f is not None
                    while block := f.read(1 << 20):
                        h.update(block)
                        read += len(block)
                        if limit is not None and read > limit:
                            raise OSError("the registry's layer holds far more data than the rebuilt one")
                    yield name, ("file", m.size, h.hexdigest())
                elif m.issym() or m.islnk():
                    yield name, ("link", 0, m.linkname)
                else:
                    yield name, ("dir" if m.isdir() else "other", 0, f"{m.mode:o}")


def temporary_workdir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="hydro-ci-verify-")
