"""Publish to the Docker engine: tag the engine's own image, or load another one (``docker load``).

Local tags are a cache, not a release: they move to the newest build, as ``docker build -t`` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydro_ci.image import daemon
from hydro_ci.image.model import PushableImage
from hydro_ci.progress import Progress, ProgressEvent, no_progress
from hydro_ci.publish.api import ENGINE, Destination, PublishResult
from hydro_ci.version.tags import TagSet


class EnginePublisher:
    def __init__(self, repository: str, workdir: Path, *, client: Any = None) -> None:
        self.repository, self.workdir, self.client = repository, workdir, client

    def publish(self, image: PushableImage, tags: TagSet, progress: Progress = no_progress) -> PublishResult:
        if isinstance(image, daemon.DaemonImage):  # built by the engine: tagging needs no copy
            moved = daemon.tag_in_daemon(image.id, self.repository, tags.names, client=image.client)
            digest = None
            engine_id = image.id
        else:
            refs = {f"{self.repository}:{t}": image for t in tags.names}
            engine_id = ", ".join(daemon.write_daemon(refs, self.workdir, client=self.client))
            moved, digest = list(tags.names), str(image.manifest_digest)
        progress(ProgressEvent("engine", f"{self.repository}: {', '.join(tags.names)} → {engine_id}"))
        where = Destination(ENGINE, self.repository, tags.names,
                            tuple(t for t in tags.names if t not in moved))
        return PublishResult(self.repository, digest, tags, (where,))
