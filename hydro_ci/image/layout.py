"""An OCI image layout directory as a place an image lives: ``oci-layout``, ``index.json``, blobs.

Writing streams every blob into ``blobs/sha256/<hex>`` (skipping blobs already there), verifying
the digest on the way, then rewrites ``index.json`` last, so a layout never names a missing blob.
Each tag is an index entry annotated ``org.opencontainers.image.ref.name`` (what skopeo and umoci
call ``DIR:TAG``). Reading returns an ``Image`` whose blobs stream from the layout.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from hydro_ci.errors import HydroCIError
from hydro_ci.image.model import (
    ANNOTATION_REF_NAME,
    INDEX_TYPES,
    MANIFEST_TYPES,
    OCI_INDEX,
    Blob,
    Descriptor,
    Digest,
    FileBlob,
    Image,
    ImageFormatError,
    Index,
    Manifest,
    Platform,
    PushableImage,
    canonical_json,
    manifest_media_type_of,
)

OCI_LAYOUT_FILE = "oci-layout"
OCI_LAYOUT_VERSION = "1.0.0"
INDEX_FILE = "index.json"
CHUNK = 1 << 20

BlobProgress = Callable[[Descriptor, int], None]  # (blob, bytes just copied)


class LayoutError(HydroCIError):
    """An OCI layout directory is missing, malformed or lacks the requested image."""


def blob_path(root: Path, digest: Digest) -> Path:
    return root / "blobs" / digest.algorithm / digest.hex


def _read_index(root: Path) -> Index:
    try:
        return Index.from_bytes((root / INDEX_FILE).read_bytes(), OCI_INDEX)
    except (FileNotFoundError, NotADirectoryError):
        raise LayoutError(f"{root} is not an OCI image layout (no {INDEX_FILE})",
                          hint="write one with --output-layout DIR or skopeo copy … oci:DIR:TAG") from None
    except OSError as exc:
        raise LayoutError(f"cannot read {root / INDEX_FILE}: {exc.strerror or exc}") from None
    except ImageFormatError as exc:
        raise LayoutError(f"{root / INDEX_FILE}: {exc}") from None


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_blob(root: Path, blob: Blob, progress: BlobProgress | None = None) -> bool:
    """Copy ``blob`` into the layout unless present; False when it was already there."""
    desc = blob.descriptor
    final = blob_path(root, desc.digest)
    if final.is_file() and final.stat().st_size == desc.size:
        return False
    final.parent.mkdir(parents=True, exist_ok=True)
    src_path = getattr(blob, "path", None)
    if isinstance(src_path, Path):
        # A spooled file with a known digest: a hard link (same filesystem) costs nothing.
        try:
            os.link(src_path, final)
            return True
        except FileExistsError:
            return False
        except OSError:
            pass
    sha = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".blob-")
    try:
        with os.fdopen(fd, "wb") as out, blob.open() as src:
            while block := src.read(CHUNK):
                sha.update(block)
                size += len(block)
                out.write(block)
                if progress:
                    progress(desc, len(block))
        if sha.hexdigest() != desc.digest.hex or size != desc.size:
            raise LayoutError(f"blob {desc.digest} read back as sha256:{sha.hexdigest()} "
                              f"({size} bytes, expected {desc.size})")
        os.chmod(tmp, 0o644)
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def check_layout_target(root: Path) -> None:
    """``root`` may become (or already is) a layout: a new or empty directory, or a layout.

    Checked before a build, so a typo fails at once and a user's directory never gets blobs mixed in.
    """
    if root.exists() and not root.is_dir():
        raise LayoutError(f"{root} is a file, not an OCI image layout directory",
                          hint="give --output-layout a new, empty or existing layout directory")
    if root.is_dir() and not (root / OCI_LAYOUT_FILE).is_file() and any(root.iterdir()):
        raise LayoutError(f"{root} is not empty and not an OCI image layout (no {OCI_LAYOUT_FILE})",
                          hint="give --output-layout a new, empty or existing layout directory")
    if not root.exists() and root.parent.exists() and not root.parent.is_dir():
        raise LayoutError(f"{root.parent} is not a directory")


def write_layout(root: Path | str, images: Mapping[str, PushableImage],
                 progress: BlobProgress | None = None) -> Index:
    """Add ``images`` (tag → image) to the layout at ``root``, creating it when needed.

    Entries with the same tag are replaced; other entries stay. The index is written last.
    """
    root = Path(root)
    check_layout_target(root)
    root.mkdir(parents=True, exist_ok=True)
    layout_file = root / OCI_LAYOUT_FILE
    if not layout_file.exists():
        _write_atomic(layout_file, canonical_json({"imageLayoutVersion": OCI_LAYOUT_VERSION}))
    existing = _read_index(root).manifests if (root / INDEX_FILE).exists() else ()
    entries = [d for d in existing if d.annotations.get(ANNOTATION_REF_NAME) not in images]
    for tag, image in images.items():
        for blob in image.blobs():
            write_blob(root, blob, progress)
        path = blob_path(root, image.manifest_digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(path, image.manifest_bytes)
        entries.append(Descriptor(image.manifest_media_type, image.manifest_digest,
                                  len(image.manifest_bytes), {ANNOTATION_REF_NAME: tag}))
    index = Index(tuple(entries))
    _write_atomic(root / INDEX_FILE, index.to_bytes())
    return index


def _read_blob_bytes(root: Path, desc: Descriptor) -> bytes:
    try:
        data = blob_path(root, desc.digest).read_bytes()
    except FileNotFoundError:
        raise LayoutError(f"{root}: blob {desc.digest} is missing") from None
    if Digest.of_bytes(data) != desc.digest:
        raise LayoutError(f"{root}: blob {desc.digest} does not match its digest")
    return data


def _image_at(root: Path, desc: Descriptor, platform: Platform) -> Image:
    data = _read_blob_bytes(root, desc)
    media_type = manifest_media_type_of(data) or desc.media_type
    if media_type in INDEX_TYPES:
        return _image_at(root, Index.from_bytes(data, media_type).select(platform), platform)
    if media_type not in MANIFEST_TYPES:
        raise LayoutError(f"{root}: {desc.digest} is neither a manifest nor an index ({media_type})")
    manifest = Manifest.from_bytes(data, media_type)
    config = _read_blob_bytes(root, manifest.config)
    layers: list[Blob] = []
    for d in manifest.layers:
        path = blob_path(root, d.digest)
        if not path.is_file():
            raise LayoutError(f"{root}: layer {d.digest} is missing")
        layers.append(FileBlob(d, path))
    return Image(data, config, tuple(layers), media_type)


def read_layout(root: Path | str, tag: str | None = None,
                platform: Platform | None = None) -> Image:
    """The image tagged ``tag`` (or the only one) in the layout at ``root``."""
    root = Path(root)
    index = _read_index(root)
    plat = platform or Platform("amd64", "linux")
    if tag is None:
        if len(index.manifests) != 1:
            names = sorted(d.annotations.get(ANNOTATION_REF_NAME, str(d.digest)) for d in index.manifests)
            raise LayoutError(f"{root} holds {len(names)} images; name one with DIR:TAG",
                              hint=f"tags: {', '.join(names) or 'none'}")
        return _image_at(root, index.manifests[0], plat)
    for d in index.manifests:
        if d.annotations.get(ANNOTATION_REF_NAME) == tag:
            return _image_at(root, d, plat)
    names = sorted(d.annotations.get(ANNOTATION_REF_NAME, "") for d in index.manifests)
    raise LayoutError(f"no image tagged {tag!r} in {root}", hint=f"tags: {', '.join(names) or 'none'}")


def layout_tags(root: Path | str) -> list[str]:
    return sorted(d.annotations[ANNOTATION_REF_NAME] for d in _read_index(Path(root)).manifests
                  if ANNOTATION_REF_NAME in d.annotations)

