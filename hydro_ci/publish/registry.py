"""Publish to a registry: upload what it lacks, then tag by kind (``image.remote.push_image``).

Every immutable tag of the set is checked free (or already this image) before a byte is sent,
re-checked right before it is written and read back after; moving and commit tags follow. The
same path for an image of either builder: the engine's image is read through ``image.daemon``.
"""

from __future__ import annotations

from hydro_ci.image import remote
from hydro_ci.image.model import PushableImage
from hydro_ci.progress import Progress, ProgressEvent, no_progress
from hydro_ci.publish.api import REGISTRY, Destination, PublishResult
from hydro_ci.reference import parse_reference
from hydro_ci.registry.client import client_for
from hydro_ci.registry.keychain import DEFAULT_KEYCHAIN, Keychain
from hydro_ci.version.tags import TagSet


class RegistryPublisher:
    def __init__(self, repository: str, *, keychain: Keychain = DEFAULT_KEYCHAIN,
                 insecure: bool | None = None) -> None:
        self.repository = repository
        self.ref = parse_reference(repository)
        self.keychain = keychain
        self.insecure = insecure

    def publish(self, image: PushableImage, tags: TagSet, progress: Progress = no_progress) -> PublishResult:
        def report(p: remote.BlobProgress) -> None:
            # Byte counts while uploading; one plain line (no counters) when a blob is settled.
            done = p.state != "uploading"
            what = f"{p.state} ({p.size:,} bytes)" if done else f"uploading {p.sent * 100 // max(p.size, 1)}%"
            progress(ProgressEvent("push", f"{p.digest[7:19]}: {what}",
                                   None if done else p.sent, None if done else p.size, p.digest))

        with client_for(self.repository, self.keychain, insecure=self.insecure) as client:
            out = remote.push_image(client, self.ref, image, immutable_tags=tags.immutable,
                                    moving_tags=tags.moving, progress=report)
        if tags.version in out.tags_unchanged:
            progress(ProgressEvent("push", f"{self.repository}:{tags.version} already holds this image"))
        where = Destination(REGISTRY, self.repository, out.tags, out.tags_unchanged, out.bytes_uploaded,
                            out.bytes_skipped)
        return PublishResult(self.repository, out.digest, tags, (where,))
