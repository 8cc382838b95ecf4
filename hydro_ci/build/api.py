"""What builders take and give: the request, the typed options of each builder, the result record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from hydro_ci.image.model import PushableImage
from hydro_ci.progress import Progress, no_progress
from hydro_ci.registry.keychain import DEFAULT_KEYCHAIN, Keychain
from hydro_ci.render.context import BuildContext


@dataclass(frozen=True)
class BuildRequest:
    context: BuildContext
    image: str  # the repository it is built for, e.g. "127.0.0.1:5000/acme/titanic" (for messages)
    version: str  # the version the context was rendered for (its labels say it)


@dataclass(frozen=True)
class BaseRecord:
    """The base image as read: the reference given, and the manifest digest that pinned it."""

    ref: str
    digest: str | None = None
    name: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "digest": self.digest, "name": self.name}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BaseRecord:
        return cls(str(data["ref"]), data.get("digest"), data.get("name"))


@dataclass(frozen=True)
class LayerRecord:
    """One layer the build added: its class (deps, weights, code, contract) and blob."""

    klass: str
    files: int
    digest: str | None = None  # None: the engine builder's context classes (its own layers differ)
    size: int = 0
    media_type: str | None = None
    diff_id: str | None = None
    uncompressed_size: int | None = None
    compression: str | None = None
    reason: str = ""
    cached: bool = False
    in_registry: bool | None = None  # known to a release plan that asked the registry

    def to_json(self, *, with_cache: bool = True) -> dict[str, Any]:
        """``with_cache=False``: without ``cached``, a fact about this machine's layer cache (a
        release plan says the same whether an earlier run filled the cache or not)."""
        out = {"class": self.klass, "files": self.files, "digest": self.digest, "size": self.size,
               "media_type": self.media_type, "diff_id": self.diff_id,
               "uncompressed_size": self.uncompressed_size, "compression": self.compression,
               "reason": self.reason, "cached": self.cached, "in_registry": self.in_registry}
        if not with_cache:
            del out["cached"]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LayerRecord:
        return cls(klass=str(data["class"]), files=int(data.get("files") or 0), digest=data.get("digest"),
                   size=int(data.get("size") or 0), media_type=data.get("media_type"),
                   diff_id=data.get("diff_id"), uncompressed_size=data.get("uncompressed_size"),
                   compression=data.get("compression"), reason=str(data.get("reason") or ""),
                   cached=bool(data.get("cached")), in_registry=data.get("in_registry"))


@dataclass(frozen=True)
class DepsInstall:
    """What pip put into the daemonless builder's deps layer, for the SBOM and the provenance."""

    site: str  # the cached site-packages tree
    python_version: str
    platforms: tuple[str, ...]
    requirement_files: tuple[str, ...]  # relative to /model/files
    python_from: str = ""  # what decided python_version (build.python.runtime_python)

    def to_json(self) -> dict[str, Any]:
        return {"site": self.site, "python_version": self.python_version, "platforms": list(self.platforms),
                "requirement_files": list(self.requirement_files), "python_from": self.python_from}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DepsInstall:
        return cls(str(data["site"]), str(data["python_version"]), tuple(data.get("platforms") or ()),
                   tuple(data.get("requirement_files") or ()), str(data.get("python_from") or ""))


@dataclass(frozen=True)
class BuildResult:
    """What a build made (build.json): enough to find the image again and to report it."""

    builder: str  # "oci" | "docker"
    image: str  # the repository it was built for
    version: str
    id: str  # the engine's image id (its config digest), or the manifest digest (oci)
    digest: str | None = None  # the manifest digest; the engine's is known once the image is read
    config_digest: str | None = None
    size: int | None = None
    base: BaseRecord | None = None
    layers: tuple[LayerRecord, ...] = ()
    deps: DepsInstall | None = None  # the daemonless builder's pip install, when it ran one

    def to_json(self) -> dict[str, Any]:
        return {"builder": self.builder, "image": self.image, "version": self.version, "id": self.id,
                "digest": self.digest, "config_digest": self.config_digest, "size": self.size,
                "base": self.base.to_json() if self.base else None,
                "layers": [la.to_json() for la in self.layers],
                "deps": self.deps.to_json() if self.deps else None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BuildResult:
        return cls(builder=str(data["builder"]), image=str(data["image"]), version=str(data["version"]),
                   id=str(data["id"]), digest=data.get("digest"), config_digest=data.get("config_digest"),
                   size=data.get("size"),
                   base=BaseRecord.from_json(data["base"]) if data.get("base") else None,
                   layers=tuple(LayerRecord.from_json(la) for la in data.get("layers") or ()),
                   deps=DepsInstall.from_json(data["deps"]) if data.get("deps") else None)


@dataclass(frozen=True)
class Built:
    """A build's image (held in memory, or by the engine) and its record."""

    image: PushableImage
    result: BuildResult


class Builder(Protocol):
    name: str

    def build(self, request: BuildRequest, progress: Progress = no_progress) -> Built: ...


@dataclass(frozen=True)
class OCIOptions:
    """The daemonless builder's options (``build.oci``)."""

    cache: Path | None = None  # default: cache_dir()
    platform: str | None = None  # OS/ARCH; default linux/amd64
    python_version: str | None = None  # the runtime's, for pip wheels; default: the base's
    base_from: str | None = None  # read the base from oci:DIR:TAG, docker-archive:FILE, docker-daemon:REF
    keychain: Keychain = DEFAULT_KEYCHAIN  # for the base image's registry
    insecure: bool | None = None


@dataclass(frozen=True)
class EngineOptions:
    """The Docker engine builder's options (``build.engine``)."""

    pull_base: bool = True
    keychain: Keychain = DEFAULT_KEYCHAIN  # for pulling the base
    cache: Path | None = None  # where the engine's image is saved when it is read (default: cache_dir())
    client: Any = field(default=None, compare=False)  # a docker SDK client (default: from DOCKER_HOST)


