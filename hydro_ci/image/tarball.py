"""A docker-archive tarball (``docker save``/``docker load`` format) as a place an image lives.

Writer: ``manifest.json`` (Config, RepoTags, Layers) plus every blob under ``blobs/sha256/<hex>``,
with ``oci-layout`` and ``index.json`` beside it as newer Docker writes, so the same file is also an
OCI archive. The tar is deterministic (sorted, uid/gid 0, mtime 0) and streamed blob by blob.
``docker load`` accepts compressed and uncompressed layers alike.

Reader: the archive on disk is indexed once; layers stream from their byte range in the archive.
Their digests are computed while indexing (``docker save`` gives only paths).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import posixpath
import tarfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from hydro_ci import boundedjson
from hydro_ci.errors import HydroCIError
from hydro_ci.image.model import (
    ANNOTATION_REF_NAME,
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_LAYER_GZIP,
    DOCKER_MANIFEST,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    Blob,
    Descriptor,
    Digest,
    Image,
    ImageConfig,
    Index,
    LazyBlob,
    Manifest,
    PushableImage,
    canonical_json,
)
from hydro_ci.output_files import atomic_writer, check_output_path

CHUNK = 1 << 20


class TarballError(HydroCIError):
    """A docker-archive tarball is malformed or lacks the requested image."""


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    tar.addfile(_info(name, len(data)), io.BytesIO(data))


def write_tarball(dest: Path | str | BinaryIO, images: Mapping[str, PushableImage]) -> None:
    """Write ``images`` (``repo:tag`` → image) as one docker-archive; refs become RepoTags.

    Several refs may name the same image; blobs are written once.
    """
    by_digest: dict[Digest, tuple[PushableImage, list[str]]] = {}
    for ref, image in images.items():
        by_digest.setdefault(image.manifest_digest, (image, []))[1].append(ref)
    manifest_json = []
    blobs: dict[Digest, Blob] = {}
    index = []
    for digest, (image, refs) in sorted(by_digest.items()):
        image_blobs = image.blobs()
        config, layers = image_blobs[0], image_blobs[1:]
        for b in image_blobs:
            blobs.setdefault(b.descriptor.digest, b)
        manifest_json.append({
            "Config": f"blobs/sha256/{config.descriptor.digest.hex}",
            "RepoTags": sorted(refs),
            "Layers": [f"blobs/sha256/{b.descriptor.digest.hex}" for b in layers],
        })
        for ref in sorted(refs):
            index.append(Descriptor(image.manifest_media_type, digest, len(image.manifest_bytes),
                                    {ANNOTATION_REF_NAME: ref}))
        blobs.setdefault(digest, _Bytes(Descriptor(image.manifest_media_type, digest,
                                                   len(image.manifest_bytes)), image.manifest_bytes))
    if isinstance(dest, (str, Path)):
        # Written next to the target and renamed at the end: an interrupted build leaves no
        # truncated archive under the name `docker load` will be given.
        final = Path(dest)
        check_tar_target(final)
        with contextlib.ExitStack() as stack:
            try:
                f = stack.enter_context(atomic_writer(final))
            except OSError as exc:
                raise TarballError(f"cannot write {final}: {exc.strerror or exc}") from None
            _write_archive(f, blobs, index, manifest_json)
        return
    _write_archive(dest, blobs, index, manifest_json)


def check_tar_target(path: Path) -> None:
    """``path`` can become a new archive: not a directory, and no file stands where a folder of its
    path would be (missing folders are created, as for a layout)."""
    check_output_path(path)
    if path.is_dir():
        raise TarballError(f"{path} is a directory; --output-tar needs a file name",
                           hint="e.g. --output-tar out/model.tar")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise TarballError(f"cannot write {path}: {parent} is a file, not a directory",
                                   hint="give --output-tar another path")
            break


def _write_archive(fileobj: BinaryIO, blobs: Mapping[Digest, Blob], index: list[Descriptor],
                   manifest_json: Sequence[Mapping[str, object]]) -> None:
    with tarfile.open(fileobj=fileobj, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.copybufsize = CHUNK  # type: ignore[attr-defined]
        _add_bytes(tar, "oci-layout", canonical_json({"imageLayoutVersion": "1.0.0"}))
        for d in sorted(blobs):
            blob = blobs[d]
            with blob.open() as src:
                tar.addfile(_info(f"blobs/sha256/{d.hex}", blob.descriptor.size), src)
        _add_bytes(tar, "index.json", Index(tuple(index), OCI_INDEX).to_bytes())
        _add_bytes(tar, "manifest.json", canonical_json(manifest_json))


@dataclass(frozen=True)
class _Bytes:
    descriptor: Descriptor
    data: bytes

    def open(self) -> BinaryIO:
        return io.BytesIO(self.data)


class _RangeReader(io.RawIOBase):
    """``length`` bytes of ``path`` starting at ``offset`` (seekable within them: sampling a layer)."""

    def __init__(self, path: Path, offset: int, length: int) -> None:
        self._f = open(path, "rb")  # noqa: SIM115 - closed in close()
        self._f.seek(offset)
        self._start, self._length, self._pos = offset, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        self._pos = min(max(base + offset, 0), self._length)
        self._f.seek(self._start + self._pos)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        left = self._length - self._pos
        if left <= 0:
            return 0
        n = self._f.readinto(memoryview(b)[: min(len(b), left)])
        self._pos += n
        return n

    def close(self) -> None:
        self._f.close()
        super().close()


def _range_opener(path: Path, offset: int, length: int) -> BinaryIO:
    return io.BufferedReader(_RangeReader(path, offset, length), CHUNK)


def _resolve(members: Mapping[str, tarfile.TarInfo], name: str) -> tarfile.TarInfo:
    for _ in range(8):  # docker save links identical layers to each other
        info = members.get(posixpath.normpath(name))
        if info is None:
            raise TarballError(f"docker-archive lacks {name!r}")
        if not info.issym() and not info.islnk():
            return info
        name = (posixpath.join(posixpath.dirname(info.name), info.linkname) if info.issym()
                else info.linkname)
    raise TarballError(f"docker-archive: too many links at {name!r}")


def _member_bytes(path: Path, info: tarfile.TarInfo) -> bytes:
    with _range_opener(path, info.offset_data, info.size) as f:
        return f.read()


def _hash_member(path: Path, info: tarfile.TarInfo) -> tuple[Digest, bool]:
    sha = hashlib.sha256()
    gz = False
    with _range_opener(path, info.offset_data, info.size) as f:
        first = True
        while block := f.read(CHUNK):
            if first:
                gz, first = block[:2] == b"\x1f\x8b", False
            sha.update(block)
    return Digest("sha256", sha.hexdigest()), gz


def _choose(entries: Sequence[dict[str, object]], tag: str | None, path: Path) -> dict[str, object]:
    if tag is None:
        if len(entries) != 1:
            raise TarballError(f"{path} holds {len(entries)} images; name one with FILE:TAG")
        return entries[0]
    for e in entries:
        refs = [str(r) for r in e.get("RepoTags") or []]  # type: ignore[attr-defined]
        if tag in refs or any(r.endswith("/" + tag) for r in refs):
            return e
    raise TarballError(f"no image tagged {tag!r} in {path}")


def read_tarball(path: Path | str, tag: str | None = None, *, docker_types: bool = False) -> Image:
    """The image named ``tag`` (a RepoTag; or the only one) in the docker-archive at ``path``.

    Its manifest is an OCI one, or with ``docker_types`` Docker's (schema 2, what ``docker push``
    writes): the same blobs under the other labels.
    """
    path = Path(path)
    try:
        with tarfile.open(path, mode="r:") as tar:
            members = {posixpath.normpath(m.name): m for m in tar.getmembers()}
    except (OSError, tarfile.TarError) as exc:
        raise TarballError(f"cannot read docker-archive {path}: {exc}") from None
    try:
        entries = boundedjson.loads(_member_bytes(path, _resolve(members, "manifest.json")))
        entry = _choose(entries, tag, path)
        config_bytes = _member_bytes(path, _resolve(members, str(entry["Config"])))
        layer_names = [str(x) for x in entry["Layers"]]  # type: ignore[attr-defined]
    except (ValueError, KeyError, TypeError) as exc:
        raise TarballError(f"{path}: malformed manifest.json ({exc})") from None
    config = ImageConfig.from_bytes(config_bytes)
    if len(layer_names) != len(config.diff_ids):
        raise TarballError(f"{path}: {len(layer_names)} layers but {len(config.diff_ids)} diff_ids")
    layers: list[Blob] = []
    for name in layer_names:
        info = _resolve(members, name)
        digest, gz = _hash_member(path, info)
        media_type = (DOCKER_LAYER_GZIP if gz else DOCKER_LAYER) if docker_types else (
            OCI_LAYER_GZIP if gz else OCI_LAYER)
        desc = Descriptor(media_type, digest, info.size)
        layers.append(LazyBlob(desc, _opener(path, info.offset_data, info.size)))
    # The original config bytes are kept: they are the image ID the engine knows.
    config_type, manifest_type = ((DOCKER_CONFIG, DOCKER_MANIFEST) if docker_types
                                  else (OCI_CONFIG, OCI_MANIFEST))
    manifest = Manifest(Descriptor.of_bytes(config_type, config_bytes),
                        tuple(b.descriptor for b in layers), manifest_type)
    return Image(manifest.to_bytes(), config_bytes, tuple(layers), manifest_type)


def _opener(path: Path, offset: int, size: int) -> Callable[[], BinaryIO]:
    return lambda: _range_opener(path, offset, size)
