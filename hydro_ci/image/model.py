"""The pure model of a container image: digests, descriptors, media types, config, manifest, index.

No I/O happens here except through ``Blob.open()``, which the transports implement. Everything we
write is serialized by ``canonical_json`` (sorted keys, no white space) so the same image always has
the same bytes and therefore the same digest. Manifests and configs read from elsewhere keep their
original bytes (``Image.manifest_bytes``/``config_bytes``): re-serializing them would change digests.

The structural contract the registry push consumes is ``PushableImage``: ``manifest_bytes``,
``manifest_media_type``, ``manifest_digest`` and ``blobs()`` (config first, then layers), each blob
with a ``descriptor`` and ``open()`` that streams from disk (never a whole GiB in memory).
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO, Protocol, runtime_checkable

import hydro_ci.boundedjson as boundedjson  # the pure core may import it: no I/O
from hydro_ci.errors import HydroCIError

# --- media types -------------------------------------------------------------------------------

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_NONDIST_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
CONFIG_TYPES = frozenset({OCI_CONFIG, DOCKER_CONFIG})
GZIP_LAYER_TYPES = frozenset({OCI_LAYER_GZIP, DOCKER_LAYER_GZIP, OCI_LAYER_NONDIST_GZIP,
                              DOCKER_FOREIGN_LAYER})
UNCOMPRESSED_LAYER_TYPES = frozenset({OCI_LAYER, DOCKER_LAYER})
# What `Accept:` should say when reading a manifest by tag from a registry.
MANIFEST_ACCEPT = (OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_MANIFEST_LIST)

# Docker types mapped to their OCI twins: the blobs are identical, only the label differs, so an
# image we write can always be a plain OCI manifest even on a Docker-typed base.
_TO_OCI = {
    DOCKER_MANIFEST: OCI_MANIFEST,
    DOCKER_MANIFEST_LIST: OCI_INDEX,
    DOCKER_CONFIG: OCI_CONFIG,
    DOCKER_LAYER: OCI_LAYER,
    DOCKER_LAYER_GZIP: OCI_LAYER_GZIP,
    DOCKER_FOREIGN_LAYER: OCI_LAYER_NONDIST_GZIP,
}

ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
ANNOTATION_CREATED = "org.opencontainers.image.created"
ANNOTATION_BASE_NAME = "org.opencontainers.image.base.name"
ANNOTATION_BASE_DIGEST = "org.opencontainers.image.base.digest"


def to_oci_media_type(media_type: str) -> str:
    return _TO_OCI.get(media_type, media_type)


class ImageFormatError(HydroCIError):
    """A manifest, index, config or digest is malformed."""


# --- canonical JSON ----------------------------------------------------------------------------


def canonical_json(obj: Any) -> bytes:
    """Stable bytes for a JSON value: sorted keys, no white space, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def parse_json(data: bytes, what: str) -> dict[str, Any]:
    try:
        obj = boundedjson.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImageFormatError(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ImageFormatError(f"{what} is not a JSON object")
    return obj


# --- digests -----------------------------------------------------------------------------------

_HEX = {"sha256": 64, "sha512": 128}
_DIGEST_RE = re.compile(r"^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-f0-9]+)$")


@dataclass(frozen=True, order=True)
class Digest:
    algorithm: str
    hex: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    @classmethod
    def parse(cls, text: str) -> Digest:
        m = _DIGEST_RE.match(text)
        if not m or m.group(1) not in _HEX or len(m.group(2)) != _HEX[m.group(1)]:
            raise ImageFormatError(f"invalid digest {text!r}: expected sha256:<64 lowercase hex>")
        return cls(m.group(1), m.group(2))

    @classmethod
    def of_bytes(cls, data: bytes) -> Digest:
        return cls("sha256", hashlib.sha256(data).hexdigest())

    @classmethod
    def of_file(cls, path: Path, chunk: int = 1 << 20) -> Digest:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while block := f.read(chunk):
                h.update(block)
        return cls("sha256", h.hexdigest())

    @property
    def encoded(self) -> str:
        return self.hex


# --- descriptors -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Platform:
    architecture: str
    os: str
    variant: str | None = None
    os_version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            out["variant"] = self.variant
        if self.os_version:
            out["os.version"] = self.os_version
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Platform:
        return cls(str(d.get("architecture", "")), str(d.get("os", "")), d.get("variant"),
                   d.get("os.version"))

    @classmethod
    def parse(cls, text: str) -> Platform:
        """``linux/amd64`` or ``linux/arm64/v8``."""
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ImageFormatError(f"invalid platform {text!r}: expected OS/ARCH[/VARIANT]")
        return cls(parts[1], parts[0], parts[2] if len(parts) == 3 else None)

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: Digest
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)
    platform: Platform | None = None
    urls: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": str(self.digest),
                               "size": self.size}
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform:
            out["platform"] = self.platform.to_dict()
        if self.urls:
            out["urls"] = list(self.urls)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], what: str = "descriptor") -> Descriptor:
        try:
            size = int(d["size"])
            digest = Digest.parse(str(d["digest"]))
            media_type = str(d.get("mediaType", ""))
        except (KeyError, TypeError, ValueError):
            raise ImageFormatError(f"{what} lacks mediaType/digest/size") from None
        if size < 0:
            raise ImageFormatError(f"{what} has a negative size")
        plat = d.get("platform")
        return cls(media_type, digest, size, dict(d.get("annotations") or {}),
                   Platform.from_dict(plat) if isinstance(plat, Mapping) else None,
                   tuple(d.get("urls") or ()))

    @classmethod
    def of_bytes(cls, media_type: str, data: bytes, **kw: Any) -> Descriptor:
        return cls(media_type, Digest.of_bytes(data), len(data), **kw)

    def with_media_type(self, media_type: str) -> Descriptor:
        return Descriptor(media_type, self.digest, self.size, self.annotations, self.platform,
                          self.urls)

    def with_annotations(self, annotations: Mapping[str, str]) -> Descriptor:
        return Descriptor(self.media_type, self.digest, self.size, dict(annotations),
                          self.platform, self.urls)


# --- manifest and index ------------------------------------------------------------------------


@dataclass(frozen=True)
class Manifest:
    config: Descriptor
    layers: tuple[Descriptor, ...]
    media_type: str = OCI_MANIFEST
    annotations: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": self.media_type,
            "config": self.config.to_dict(),
            "layers": [layer.to_dict() for layer in self.layers],
        }
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out

    def to_bytes(self) -> bytes:
        return canonical_json(self.to_dict())

    @classmethod
    def from_bytes(cls, data: bytes, media_type: str | None = None) -> Manifest:
        d = parse_json(data, "image manifest")
        mt = str(d.get("mediaType") or media_type or OCI_MANIFEST)
        if d.get("schemaVersion") != 2 or mt not in MANIFEST_TYPES:
            raise ImageFormatError(
                f"unsupported manifest (schemaVersion {d.get('schemaVersion')}, mediaType {mt})")
        if not isinstance(d.get("config"), Mapping) or not isinstance(d.get("layers", []), list):
            raise ImageFormatError("image manifest lacks config or layers")
        layers = tuple(Descriptor.from_dict(x, f"layer {i}") for i, x in enumerate(d.get("layers", [])))
        return cls(Descriptor.from_dict(d["config"], "config descriptor"), layers, mt,
                   dict(d.get("annotations") or {}))


@dataclass(frozen=True)
class Index:
    manifests: tuple[Descriptor, ...]
    media_type: str = OCI_INDEX
    annotations: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": self.media_type,
            "manifests": [m.to_dict() for m in self.manifests],
        }
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out

    def to_bytes(self) -> bytes:
        return canonical_json(self.to_dict())

    @classmethod
    def from_bytes(cls, data: bytes, media_type: str | None = None) -> Index:
        d = parse_json(data, "image index")
        mt = str(d.get("mediaType") or media_type or OCI_INDEX)
        if d.get("schemaVersion") != 2 or mt not in INDEX_TYPES:
            raise ImageFormatError(f"unsupported index (mediaType {mt})")
        return cls(tuple(Descriptor.from_dict(x, f"index entry {i}")
                         for i, x in enumerate(d.get("manifests") or [])),
                   mt, dict(d.get("annotations") or {}))

    def select(self, platform: Platform) -> Descriptor:
        """The manifest for ``platform`` (variant ignored when the index does not give one)."""
        for m in self.manifests:
            p = m.platform
            if p and p.os == platform.os and p.architecture == platform.architecture and (
                    not platform.variant or not p.variant or p.variant == platform.variant):
                return m
        have = ", ".join(str(m.platform) for m in self.manifests if m.platform) or "none"
        raise ImageFormatError(f"no image for platform {platform} in the index (has: {have})")


def manifest_media_type_of(data: bytes) -> str | None:
    """The ``mediaType`` a manifest/index names for itself, if any."""
    try:
        mt = boundedjson.loads(data).get("mediaType")
    except (ValueError, AttributeError):
        return None
    return str(mt) if mt else None


# --- image config ------------------------------------------------------------------------------


@dataclass(frozen=True)
class History:
    created: str | None = None
    created_by: str | None = None
    comment: str | None = None
    empty_layer: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.created:
            out["created"] = self.created
        if self.created_by:
            out["created_by"] = self.created_by
        if self.comment:
            out["comment"] = self.comment
        if self.empty_layer:
            out["empty_layer"] = True
        return out


@dataclass(frozen=True)
class ImageConfig:
    """The image config JSON, kept whole (a base may use fields we never touch: Entrypoint, Cmd…).

    Read-only accessors here; changes go through ``hydro_ci.image.mutate`` which returns a new one.
    """

    raw: Mapping[str, Any]

    @classmethod
    def empty(cls, platform: Platform | None = None) -> ImageConfig:
        p = platform or Platform("amd64", "linux")
        return cls({"architecture": p.architecture, "os": p.os, "config": {},
                    "rootfs": {"type": "layers", "diff_ids": []}, "history": []})

    @classmethod
    def from_bytes(cls, data: bytes) -> ImageConfig:
        return cls(parse_json(data, "image config"))

    def to_bytes(self) -> bytes:
        return canonical_json(self.raw)

    def to_dict(self) -> dict[str, Any]:
        """A deep copy to modify freely."""
        return copy.deepcopy(dict(self.raw))

    @property
    def container(self) -> Mapping[str, Any]:
        return self.raw.get("config") or {}

    @property
    def labels(self) -> Mapping[str, str]:
        return self.container.get("Labels") or {}

    @property
    def env(self) -> tuple[str, ...]:
        return tuple(self.container.get("Env") or ())

    def env_value(self, name: str) -> str | None:
        for item in reversed(self.env):
            key, sep, value = item.partition("=")
            if key == name and sep:
                return value
        return None

    @property
    def working_dir(self) -> str:
        return str(self.container.get("WorkingDir") or "")

    @property
    def diff_ids(self) -> tuple[Digest, ...]:
        return tuple(Digest.parse(d) for d in (self.raw.get("rootfs") or {}).get("diff_ids") or ())

    @property
    def history(self) -> tuple[Mapping[str, Any], ...]:
        return tuple(self.raw.get("history") or ())

    @property
    def created(self) -> str | None:
        return self.raw.get("created")

    @property
    def platform(self) -> Platform:
        return Platform(str(self.raw.get("architecture") or "amd64"), str(self.raw.get("os") or "linux"),
                        self.raw.get("variant"))


# --- blobs and images --------------------------------------------------------------------------


@runtime_checkable
class Blob(Protocol):
    """Content addressed by ``descriptor.digest``; ``open()`` streams it (caller closes)."""

    @property
    def descriptor(self) -> Descriptor: ...

    def open(self) -> BinaryIO: ...


@dataclass(frozen=True)
class BytesBlob:
    """A small blob held in memory (config, manifest)."""

    descriptor: Descriptor
    data: bytes

    @classmethod
    def of(cls, media_type: str, data: bytes) -> BytesBlob:
        return cls(Descriptor.of_bytes(media_type, data), data)

    def open(self) -> BinaryIO:
        return io.BytesIO(self.data)


@dataclass(frozen=True)
class FileBlob:
    """A blob on disk (a layer in the cache, an OCI layout, an unpacked archive)."""

    descriptor: Descriptor
    path: Path

    def open(self) -> BinaryIO:
        return open(self.path, "rb")


@dataclass(frozen=True)
class LazyBlob:
    """A blob somewhere else (a registry, a tar member); ``opener`` streams it on demand.

    ``source`` names the repository (``registry/repository``) that already holds it, so a push to
    the same registry can mount it across repositories instead of uploading.
    """

    descriptor: Descriptor
    opener: Callable[[], BinaryIO]
    source: str | None = None

    def open(self) -> BinaryIO:
        return self.opener()


def blob_source(blob: Blob) -> str | None:
    """``registry/repository`` a blob can be cross-mounted from, when known."""
    return getattr(blob, "source", None)


@runtime_checkable
class PushableImage(Protocol):
    """What a writer (registry push, layout, tarball) needs from an image."""

    @property
    def manifest_bytes(self) -> bytes: ...

    @property
    def manifest_media_type(self) -> str: ...

    @property
    def manifest_digest(self) -> Digest: ...

    def blobs(self) -> Sequence[Blob]: ...


@dataclass(frozen=True)
class Image:
    """One single-platform image: manifest and config bytes plus its layer blobs, in order.

    ``layers[i]`` matches ``manifest.layers[i]``. Build new ones with ``Image.assemble`` (or the
    transforms in ``mutate``); readers construct them from stored bytes to keep digests intact.
    """

    manifest_bytes: bytes
    config_bytes: bytes
    layers: tuple[Blob, ...]
    manifest_media_type: str = OCI_MANIFEST

    @classmethod
    def assemble(cls, config: ImageConfig, layers: Iterable[Blob],
                 annotations: Mapping[str, str] | None = None) -> Image:
        """A fresh OCI image from a config and layer blobs (manifest written canonically)."""
        layers = tuple(layers)
        config_bytes = config.to_bytes()
        manifest = Manifest(Descriptor.of_bytes(OCI_CONFIG, config_bytes),
                            tuple(b.descriptor for b in layers), OCI_MANIFEST, dict(annotations or {}))
        return cls(manifest.to_bytes(), config_bytes, layers, OCI_MANIFEST)

    def __post_init__(self) -> None:
        m = self.manifest
        if len(m.layers) != len(self.layers):
            raise ImageFormatError("manifest and image disagree on the number of layers")
        if Digest.of_bytes(self.config_bytes) != m.config.digest:
            raise ImageFormatError(f"config does not match its digest {m.config.digest}")

    @cached_property
    def manifest(self) -> Manifest:
        return Manifest.from_bytes(self.manifest_bytes, self.manifest_media_type)

    @cached_property
    def config(self) -> ImageConfig:
        return ImageConfig.from_bytes(self.config_bytes)

    @property
    def manifest_digest(self) -> Digest:
        return Digest.of_bytes(self.manifest_bytes)

    @property
    def config_blob(self) -> BytesBlob:
        return BytesBlob(self.manifest.config, self.config_bytes)

    def blobs(self) -> list[Blob]:
        """Config first, then layers (a writer uploads them all before the manifest)."""
        return [self.config_blob, *self.layers]

    @property
    def size(self) -> int:
        """Bytes of manifest, config and every layer blob."""
        m = self.manifest
        return len(self.manifest_bytes) + m.config.size + sum(d.size for d in m.layers)
