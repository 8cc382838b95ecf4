"""Publishers: (image, tag set) → ``PublishResult``, whichever builder made the image (ko's ``publish``).

One publisher per place an image can go: a registry (``publish.registry``), an OCI layout or a
docker-archive (``publish.files``), the Docker engine (``publish.engine``); ``MultiPublisher``
sends one image to several. ``make_publisher`` is the one factory that decides which are composed,
and in which order: files first (this run's outputs), then the registry, then the engine, whose
local tags move only once the registry has accepted every tag.

The tag policy is in one place too: each tag's kind comes with it in the ``TagSet`` (decided by
the version decision); a publisher that can refuse to move an immutable tag (registry, layout)
re-checks it right before writing and reads it back after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hydro_ci.cache import cache_dir
from hydro_ci.errors import UsageError
from hydro_ci.image.model import PushableImage
from hydro_ci.progress import Progress, no_progress
from hydro_ci.publish.api import ARCHIVE, ENGINE, LAYOUT, REGISTRY, Destination, Publisher, PublishResult
from hydro_ci.publish.engine import EnginePublisher
from hydro_ci.publish.files import ArchivePublisher, LayoutPublisher
from hydro_ci.publish.registry import RegistryPublisher
from hydro_ci.registry.keychain import DEFAULT_KEYCHAIN, Keychain
from hydro_ci.version.tags import TagSet


class MultiPublisher:
    """Each publisher in turn; the first failure stops the rest (so a refused push tags nothing)."""

    def __init__(self, publishers: Sequence[Publisher]) -> None:
        if not publishers:
            raise UsageError("nothing to publish to")
        self.publishers = tuple(publishers)

    def publish(self, image: PushableImage, tags: TagSet, progress: Progress = no_progress) -> PublishResult:
        results = [p.publish(image, tags, progress) for p in self.publishers]
        digest = next((r.digest for r in results if r.digest), None)
        return PublishResult(results[0].image, digest, tags,
                             tuple(d for r in results for d in r.destinations))


@dataclass(frozen=True)
class PublishOptions:
    """Where an image goes: any of a layout, an archive, the registry of ``repository``, the engine."""

    repository: str
    layout: Path | None = None
    replace_layout_tags: bool = False  # the pipeline's dist/, written afresh by each run
    archive: Path | None = None
    registry: bool = False
    engine: bool = False
    keychain: Keychain = DEFAULT_KEYCHAIN
    insecure: bool | None = None

    @property
    def any(self) -> bool:
        return bool(self.layout or self.archive or self.registry or self.engine)


def make_publisher(options: PublishOptions) -> Publisher:
    """The one place that decides which destinations are composed, and their order."""
    publishers: list[Publisher] = []
    if options.layout:
        publishers.append(LayoutPublisher(options.layout, options.repository,
                                          replace_tags=options.replace_layout_tags))
    if options.archive:
        publishers.append(ArchivePublisher(options.archive, options.repository))
    if options.registry:
        publishers.append(RegistryPublisher(options.repository, keychain=options.keychain,
                                            insecure=options.insecure))
    if options.engine:
        publishers.append(EnginePublisher(options.repository, cache_dir() / "tmp"))
    return publishers[0] if len(publishers) == 1 else MultiPublisher(publishers)


__all__ = ["ARCHIVE", "ENGINE", "LAYOUT", "REGISTRY", "ArchivePublisher", "Destination", "EnginePublisher",
           "LayoutPublisher", "MultiPublisher", "PublishOptions", "PublishResult", "Publisher",
           "RegistryPublisher", "make_publisher"]
