"""An OCI image layout directory as a place an image lives: ``oci-layout``, ``index.json``, blobs.

Writing streams every blob into ``blobs/sha256/<hex>`` (skipping blobs already there), verifying
the digest on the way, then rewrites ``index.json`` last, so a layout never names a missing blob.
Each tag is an index entry annotated ``org.opencontainers.image.ref.name`` (what skopeo and umoci
call ``DIR:TAG``). A tag the writer names immutable (a version) is never moved, as in a registry;
when a tag moves, the blobs only its old image referenced are removed. Reading returns an ``Image`` whose
blobs stream from the layout.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from hydro_ci import boundedjson
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
from hydro_ci.output_files import atomic_writer, check_output_path, ensure_dir, write_file

OCI_LAYOUT_FILE = "oci-layout"
OCI_LAYOUT_VERSION = "1.0.0"
INDEX_FILE = "index.json"
CHUNK = 1 << 20

BlobProgress = Callable[[Descriptor, int], None]  # (blob, bytes just copied)


class LayoutError(HydroCIError):
    """An OCI layout directory is missing, malformed or lacks the requested image."""


class LayoutTagExistsError(LayoutError):
    """A version tag in a layout already names another image (version tags are never moved)."""

    def __init__(self, root: Path, tag: str, existing: Digest, wanted: Digest) -> None:
        super().__init__(
            f"{root}:{tag} already holds {existing}, not {wanted}; version tags are never reused",
            hint="bump the version (hydro-ci version next), or write to another layout directory")
        self.existing, self.wanted = existing, wanted


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


def write_blob(root: Path, blob: Blob, progress: BlobProgress | None = None) -> bool:
    """Copy ``blob`` into the layout unless it is there already; False when it was.

    Always a copy, hashed on the way: a hard link into the layer cache would let an edit of the
    layout damage the cache (and the next image built from it). A blob already in the layout is
    only kept when its bytes match its digest.
    """
    desc = blob.descriptor
    final = blob_path(root, desc.digest)
    if (final.is_file() and not final.is_symlink() and final.stat().st_size == desc.size
            and Digest.of_file(final) == desc.digest):
        return False
    ensure_dir(final.parent, within=root)
    sha = hashlib.sha256()
    size = 0
    with atomic_writer(final, within=root) as out, blob.open() as src:
        while block := src.read(CHUNK):
            sha.update(block)
            size += len(block)
            out.write(block)
            if progress:
                progress(desc, len(block))
        if sha.hexdigest() != desc.digest.hex or size != desc.size:
            raise LayoutError(f"blob {desc.digest} read back as sha256:{sha.hexdigest()} "
                              f"({size} bytes, expected {desc.size})",
                              hint="its source changed since the image was built; build again")
    return True


def check_layout_target(root: Path) -> None:
    """``root`` may become (or already is) a layout: a new or empty directory, or a layout.

    Checked before a build, so a typo fails at once and a user's directory never gets blobs mixed in.
    """
    check_output_path(root, within=root)
    if root.exists() and not root.is_dir():
        raise LayoutError(f"{root} is a file, not an OCI image layout directory",
                          hint="give --output-layout a new, empty or existing layout directory")
    if root.is_dir() and not (root / OCI_LAYOUT_FILE).is_file() and any(root.iterdir()):
        raise LayoutError(f"{root} is not empty and not an OCI image layout (no {OCI_LAYOUT_FILE})",
                          hint="give --output-layout a new, empty or existing layout directory")
    if not root.exists() and root.parent.exists() and not root.parent.is_dir():
        raise LayoutError(f"{root.parent} is not a directory")


def write_layout(root: Path | str, images: Mapping[str, PushableImage],
                 progress: BlobProgress | None = None, *,
                 immutable_tags: Iterable[str] = ()) -> Index:
    """Add ``images`` (tag → image) to the layout at ``root``, creating it when needed.

    The entry of a tag is replaced in place; other entries stay. A tag in ``immutable_tags`` (the
    version: ``hydro-ci build --output-layout`` names it) that already names another image is refused
    with ``LayoutTagExistsError`` before anything is written; naming this image, it is left as is.
    The index is written last; then the blobs that only replaced entries referenced are removed.
    Writers of one layout take turns (a lock on the directory).
    """
    root = Path(root)
    check_layout_target(root)
    ensure_dir(root, within=root)
    fixed = set(immutable_tags)
    with _locked(root):
        existing = list(_read_index(root).manifests) if (root / INDEX_FILE).exists() else []
        for d in existing:  # refuse before writing a byte
            tag = d.annotations.get(ANNOTATION_REF_NAME)
            if tag in fixed and tag in images and d.digest != images[tag].manifest_digest:
                raise LayoutTagExistsError(root, tag, d.digest, images[tag].manifest_digest)
        layout_file = root / OCI_LAYOUT_FILE
        if not layout_file.exists():
            write_file(layout_file, canonical_json({"imageLayoutVersion": OCI_LAYOUT_VERSION}))
        entries: list[Descriptor] = []
        replaced: list[Descriptor] = []
        placed: set[str] = set()
        for d in existing:
            tag = d.annotations.get(ANNOTATION_REF_NAME)
            if tag is None or tag not in images:
                entries.append(d)
                continue
            new = _entry(tag, images[tag])
            if new.digest != d.digest:
                replaced.append(d)
            if tag not in placed:  # the new entry where the old one was (a duplicate tag: once)
                placed.add(tag)
                entries.append(d if new.digest == d.digest else new)
        entries += [_entry(t, i) for t, i in images.items() if t not in placed]
        for image in images.values():
            for blob in image.blobs():
                write_blob(root, blob, progress)
            path = blob_path(root, image.manifest_digest)
            if not path.exists():
                write_file(path, image.manifest_bytes, within=root)
        index = Index(tuple(entries))
        if entries != existing or not (root / INDEX_FILE).exists():
            write_file(root / INDEX_FILE, index.to_bytes(), within=root)
        if replaced:
            _remove_unreferenced(root, replaced, entries)
    return index


def _entry(tag: str, image: PushableImage) -> Descriptor:
    return Descriptor(image.manifest_media_type, image.manifest_digest, len(image.manifest_bytes),
                      {ANNOTATION_REF_NAME: tag})


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    """An exclusive lock on the layout directory: another writer's blobs are never taken for stale."""
    fd = os.open(root, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


_ARTIFACT_MANIFEST = "application/vnd.oci.artifact.manifest.v1+json"


def _reachable(root: Path, entries: Iterable[Descriptor]) -> set[Digest] | None:
    """Every blob the entries reference (manifests, indexes, configs, layers, subjects), or None when
    one cannot be read or is of a kind we do not know: then nothing can be proved unreferenced."""
    seen: set[Digest] = set()
    todo = [(d.digest, d.media_type) for d in entries]
    while todo:
        digest, media_type = todo.pop()
        if digest in seen:
            continue
        seen.add(digest)
        try:
            doc = boundedjson.loads(blob_path(root, digest).read_bytes())
            kind = doc.get("mediaType") or media_type
            if kind not in MANIFEST_TYPES | INDEX_TYPES | {_ARTIFACT_MANIFEST}:
                return None
            for m in doc.get("manifests") or ():
                todo.append((Digest.parse(m["digest"]), m.get("mediaType", "")))
            if doc.get("subject"):
                todo.append((Digest.parse(doc["subject"]["digest"]), doc["subject"].get("mediaType", "")))
            leaves = [doc["config"]] if "config" in doc else []
            seen.update(Digest.parse(b["digest"]) for b in [*leaves, *doc.get("layers", ()),
                                                             *doc.get("blobs", ())])
        except (OSError, ValueError, KeyError, TypeError, AttributeError, ImageFormatError):
            return None
    return seen


def _remove_unreferenced(root: Path, replaced: list[Descriptor], entries: list[Descriptor]) -> None:
    """Remove the blobs of ``replaced`` entries that no remaining entry references (proved, or kept)."""
    keep = _reachable(root, entries)
    if keep is None:
        return
    for d in replaced:
        stale = _reachable(root, [d])
        for digest in (stale or set()) - keep:
            blob_path(root, digest).unlink(missing_ok=True)


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



def layout_digests(root: Path | str) -> dict[str, Digest]:
    """tag → the manifest digest it names in the layout at ``root``."""
    return {d.annotations[ANNOTATION_REF_NAME]: d.digest for d in _read_index(Path(root)).manifests
            if ANNOTATION_REF_NAME in d.annotations}
