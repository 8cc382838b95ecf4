"""Publish to files: an OCI image layout directory, a docker-archive tarball (``docker load``)."""

from __future__ import annotations

from pathlib import Path

from hydro_ci.image import layout, tarball
from hydro_ci.image.model import PushableImage
from hydro_ci.progress import Progress, ProgressEvent, no_progress
from hydro_ci.publish.api import ARCHIVE, LAYOUT, Destination, PublishResult
from hydro_ci.version.tags import TagSet


class LayoutPublisher:
    """An OCI layout keeps its immutable tags as a registry does (refused where they name another
    image, read back after); ``replace_tags`` lets a run's own output folder (dist/) be rewritten."""

    def __init__(self, root: Path, repository: str, *, replace_tags: bool = False) -> None:
        layout.check_layout_target(root)  # a typo fails now, not after minutes of hashing weights
        self.root, self.repository, self.replace_tags = root, repository, replace_tags

    def publish(self, image: PushableImage, tags: TagSet, progress: Progress = no_progress) -> PublishResult:
        fixed = () if self.replace_tags else tags.immutable
        layout.write_layout(self.root, {t: image for t in tags.names}, immutable_tags=fixed)
        held = layout.layout_digests(self.root)
        for tag in fixed:  # read back: another writer cannot have moved it past our lock, but say so if
            if held.get(tag) != image.manifest_digest:
                raise layout.LayoutTagExistsError(self.root, tag, held[tag], image.manifest_digest)
        progress(ProgressEvent("layout", f"{self.root}: {', '.join(tags.names)}"))
        where = Destination(LAYOUT, str(self.root), tags.names)
        return PublishResult(self.repository, str(image.manifest_digest), tags, (where,))


class ArchivePublisher:
    """A docker-archive naming each ``repository:tag`` (what ``docker load`` tags it as); its folder
    is created as the layout's is."""

    def __init__(self, path: Path, repository: str) -> None:
        tarball.check_tar_target(path)
        self.path, self.repository = path, repository

    def publish(self, image: PushableImage, tags: TagSet, progress: Progress = no_progress) -> PublishResult:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tarball.write_tarball(self.path, {f"{self.repository}:{t}": image for t in tags.names})
        progress(ProgressEvent("archive", f"{self.path}: {', '.join(tags.names)}"))
        where = Destination(ARCHIVE, str(self.path), tags.names)
        return PublishResult(self.repository, str(image.manifest_digest), tags, (where,))
