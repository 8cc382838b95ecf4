"""Builders: one small interface, one factory that picks the implementation.

A builder turns a rendered ``BuildContext`` into an image (``build``) and publishes it (``push``).
``docker`` builds through the Docker engine (``hydro_ci.build.engine``); ``oci`` builds without a
daemon (``hydro_ci.build.oci``). The CLI only ever talks to ``make_builder``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from hydro_ci.errors import UsageError
from hydro_ci.registry.keychain import DEFAULT_KEYCHAIN, Keychain
from hydro_ci.render.context import BuildContext
from hydro_ci.version.tags import TagSet


@dataclass(frozen=True)
class ProgressEvent:
    """One step of build/push progress; the CLI turns these into a live display or plain lines."""

    stage: str  # "build", "push", "layer", …
    message: str  # one line, already free of credentials
    current: int | None = None  # bytes (or steps) done, when known
    total: int | None = None
    id: str | None = None  # layer digest / step id this event belongs to


Progress = Callable[[ProgressEvent], None]


def no_progress(event: ProgressEvent) -> None:
    """The default progress sink: ignore."""


@dataclass(frozen=True)
class BuildRequest:
    context: BuildContext
    image: str  # repository reference without tag, e.g. "127.0.0.1:5000/acme/titanic"
    version: str  # the version tag, immutable once pushed
    extra_tags: tuple[str, ...] = ()  # moving tags: "latest", "1.2", …
    # A push follows: the docker builder then builds under a temporary tag and sets the local tags
    # in push(), once the registry accepted the version, so a refused push moves no local tag.
    push_follows: bool = False
    # The kinds of the tags, as the version decision made them; default: the version immutable,
    # the extra tags by TagSet.given.
    tag_set: TagSet | None = None

    @property
    def kinds(self) -> TagSet:
        return self.tag_set or TagSet.given(self.version, self.extra_tags)

    @property
    def tags(self) -> tuple[str, ...]:
        """All tags, version first, without duplicates."""
        return self.kinds.names  # -t latest -t latest: once

    def refs(self) -> tuple[str, ...]:
        return tuple(f"{self.image}:{t}" for t in self.tags)


@dataclass(frozen=True)
class BuildResult:
    image: str  # repository, as in the request
    id: str  # engine image id or manifest digest ("sha256:…")
    tags: tuple[str, ...]  # version tag first
    builder: str  # "docker" | "oci"
    digest: str | None = None  # manifest digest once known (after a push for the engine)
    kinds: TagSet | None = None  # the tags with their kinds (None: TagSet.given of the tags)
    extra: dict[str, Any] = field(default_factory=dict)  # builder-specific details (layout path, …)

    @property
    def tag_set(self) -> TagSet:
        return self.kinds or TagSet.given(self.tags[0], self.tags[1:])

    def to_dict(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "id": self.id,
            "digest": self.digest,
            "tags": list(self.tags),
            "tag_kinds": self.tag_set.to_json(),
            "refs": [f"{self.image}:{t}" for t in self.tags],
            "builder": self.builder,
            **({"extra": self.extra} if self.extra else {}),
        }


@dataclass(frozen=True)
class PushResult:
    image: str
    digest: str  # manifest digest in the registry
    tags: tuple[str, ...]
    builder: str
    bytes_uploaded: int | None = None  # when the builder can tell
    bytes_skipped: int | None = None
    unchanged: bool = False  # the version tag already held this very image

    def to_dict(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "digest": self.digest,
            "tags": list(self.tags),
            "refs": [f"{self.image}:{t}" for t in self.tags],
            "builder": self.builder,
            "bytes_uploaded": self.bytes_uploaded,
            "bytes_skipped": self.bytes_skipped,
            "unchanged": self.unchanged,
        }


class Builder(Protocol):
    name: str

    def build(self, request: BuildRequest, progress: Progress = no_progress) -> BuildResult: ...

    def push(self, result: BuildResult, *, keychain: Keychain = DEFAULT_KEYCHAIN,
             progress: Progress = no_progress) -> PushResult: ...


# kind -> "module:factory"; each factory takes the options as keywords and returns a Builder.
BUILDERS: dict[str, str] = {
    "docker": "hydro_ci.build.engine:EngineBuilder",
    "oci": "hydro_ci.build.oci:OCIBuilder",
}


def builder_kinds() -> Sequence[str]:
    return tuple(BUILDERS)


def make_builder(kind: str, **opts: Any) -> Builder:
    """The one place that decides which builder implementation is used."""
    try:
        target = BUILDERS[kind]
    except KeyError:
        raise UsageError(f"unknown builder {kind!r}",
                         hint=f"use one of: {', '.join(BUILDERS)}") from None
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise UsageError(f"builder {kind!r} is not available in this installation",
                         hint="use --builder docker") from None
    factory = getattr(module, attr)
    builder: Builder = factory(**opts)
    return builder
