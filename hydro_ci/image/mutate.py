"""Pure transforms: a new image from an old one. Nothing here reads or writes anything.

Every result is a plain OCI image (manifest and config media types mapped from Docker's twins,
which name the same bytes), serialized canonically so equal inputs give equal digests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from hydro_ci.image.model import (
    OCI_CONFIG,
    OCI_MANIFEST,
    Blob,
    Descriptor,
    Digest,
    History,
    Image,
    ImageConfig,
    Platform,
    blob_source,
    to_oci_media_type,
)


@dataclass(frozen=True)
class Addendum:
    """A layer to append: its blob, its diff_id (the sha256 of the uncompressed tar) and history."""

    blob: Blob
    diff_id: Digest
    history: History = field(default_factory=History)
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Relabeled:
    """A blob shown under another descriptor (OCI media type, annotations); same bytes."""

    descriptor: Descriptor
    inner: Blob

    def open(self) -> BinaryIO:
        return self.inner.open()

    @property
    def source(self) -> str | None:
        return blob_source(self.inner)


def _relabel(blob: Blob, descriptor: Descriptor) -> Blob:
    return blob if descriptor == blob.descriptor else _Relabeled(descriptor, blob)


def scratch(platform: Platform | None = None) -> Image:
    """The empty image (``FROM scratch``)."""
    return Image.assemble(ImageConfig.empty(platform), [])


def _rebuild(image: Image, config: ImageConfig, layers: Sequence[Blob],
             annotations: Mapping[str, str] | None) -> Image:
    ann = dict(image.manifest.annotations) if annotations is None else dict(annotations)
    layers = [_relabel(b, b.descriptor.with_media_type(to_oci_media_type(b.descriptor.media_type)))
              for b in layers]
    return Image.assemble(config, layers, ann)


def to_oci(image: Image) -> Image:
    """The same image as an OCI manifest (no-op when it already is one; keeps the bytes)."""
    m = image.manifest
    if m.media_type == OCI_MANIFEST and m.config.media_type == OCI_CONFIG and all(
            d.media_type == to_oci_media_type(d.media_type) for d in m.layers):
        return image
    return _rebuild(image, image.config, image.layers, None)


def append_layers(image: Image, addenda: Iterable[Addendum]) -> Image:
    """``image`` with layers on top; rootfs.diff_ids and history follow."""
    cfg = image.config.to_dict()
    rootfs = cfg.setdefault("rootfs", {"type": "layers"})
    diff_ids = rootfs.setdefault("diff_ids", [])
    history = cfg.setdefault("history", [])
    layers = list(image.layers)
    for add in addenda:
        diff_ids.append(str(add.diff_id))
        history.append(add.history.to_dict())
        desc = add.blob.descriptor
        if add.annotations:
            desc = desc.with_annotations({**desc.annotations, **add.annotations})
        layers.append(_relabel(add.blob, desc))
    return _rebuild(image, ImageConfig(cfg), layers, None)


def with_config(image: Image, config: ImageConfig) -> Image:
    return _rebuild(image, config, image.layers, None)


def with_annotations(image: Image, annotations: Mapping[str, str], *, replace: bool = False) -> Image:
    """Manifest annotations (merged unless ``replace``)."""
    merged = dict(annotations) if replace else {**image.manifest.annotations, **annotations}
    return _rebuild(image, image.config, image.layers, merged)


def configure(config: ImageConfig, *, labels: Mapping[str, str] | None = None,
              env: Mapping[str, str] | None = None, working_dir: str | None = None,
              created: str | None = None, history: Iterable[History] = (),
              extra: Mapping[str, Any] | None = None) -> ImageConfig:
    """A new config: labels merged, env variables set (replacing same-named ones, order kept),
    working dir and ``created`` set, history entries (empty layers) appended."""
    cfg = config.to_dict()
    container: dict[str, Any] = dict(cfg.get("config") or {})
    if labels:
        container["Labels"] = {**(container.get("Labels") or {}), **labels}
    if env:
        items = list(container.get("Env") or [])
        for name, value in env.items():
            entry = f"{name}={value}"
            idx = [i for i, e in enumerate(items) if e.partition("=")[0] == name]
            if idx:
                items[idx[-1]] = entry
            else:
                items.append(entry)
        container["Env"] = items
    if working_dir is not None:
        container["WorkingDir"] = working_dir
    cfg["config"] = container
    if created is not None:
        cfg["created"] = created
    for h in history:
        cfg.setdefault("history", []).append({**h.to_dict(), "empty_layer": True})
    if extra:
        cfg.update(extra)
    return ImageConfig(cfg)
