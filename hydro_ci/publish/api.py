"""What publishers take and give: an image and its tag set in, a ``PublishResult`` record out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from hydro_ci.image.model import PushableImage
from hydro_ci.progress import Progress, no_progress
from hydro_ci.version.tags import TagSet

REGISTRY, LAYOUT, ARCHIVE, ENGINE = "registry", "layout", "docker-archive", "engine"


@dataclass(frozen=True)
class Destination:
    """One place an image was published to, and what it took."""

    kind: str  # registry | layout | docker-archive | engine
    location: str  # repository (registry, engine), directory (layout) or file (docker-archive)
    tags: tuple[str, ...]  # the tags it holds for this image now
    unchanged: tuple[str, ...] = ()  # of those, the ones that held this image already
    bytes_uploaded: int | None = None  # registry only
    bytes_skipped: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "location": self.location, "tags": list(self.tags),
                "unchanged": list(self.unchanged), "bytes_uploaded": self.bytes_uploaded,
                "bytes_skipped": self.bytes_skipped}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Destination:
        return cls(str(data["kind"]), str(data["location"]), tuple(data.get("tags") or ()),
                   tuple(data.get("unchanged") or ()), data.get("bytes_uploaded"), data.get("bytes_skipped"))


@dataclass(frozen=True)
class PublishResult:
    """Where an image was published (push.json; the local outputs in build.json)."""

    image: str  # the repository
    digest: str | None  # the manifest digest (None: only tagged in the engine, which knows it by id)
    tags: TagSet
    destinations: tuple[Destination, ...] = ()

    def at(self, kind: str) -> Destination | None:
        return next((d for d in self.destinations if d.kind == kind), None)

    @property
    def unchanged(self) -> bool:
        """The registry's version tag held this very image already: nothing was sent."""
        registry = self.at(REGISTRY)
        return registry is not None and self.tags.version in registry.unchanged

    @property
    def bytes_uploaded(self) -> int | None:
        registry = self.at(REGISTRY)
        return registry.bytes_uploaded if registry else None

    @property
    def bytes_skipped(self) -> int | None:
        registry = self.at(REGISTRY)
        return registry.bytes_skipped if registry else None

    def to_json(self) -> dict[str, Any]:
        return {"image": self.image, "digest": self.digest, "tags": list(self.tags.names),
                "tag_kinds": self.tags.to_json(), "refs": [f"{self.image}:{t}" for t in self.tags.names],
                "unchanged": self.unchanged, "bytes_uploaded": self.bytes_uploaded,
                "bytes_skipped": self.bytes_skipped,
                "destinations": [d.to_json() for d in self.destinations]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PublishResult:
        return cls(str(data["image"]), data.get("digest"), TagSet.from_json(data["tag_kinds"]),
                   tuple(Destination.from_json(d) for d in data.get("destinations") or ()))


class Publisher(Protocol):
    def publish(self, image: PushableImage, tags: TagSet, progress: Progress = no_progress) -> PublishResult:
        ...
