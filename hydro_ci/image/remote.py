"""The registry as a place an image lives: read one (pinned by digest), push one safely.

Push guarantees, in the order the steps run:
1. Every immutable (version) tag is checked first: holding our digest already means there is
   nothing to upload; holding another digest is refused before a byte is sent.
2. Blobs go up in parallel (bounded threads); existing ones are skipped, and ones the base image's
   repository on the same registry holds are mounted instead of uploaded.
3. The manifest is put LAST, by digest, then read back and its digest checked. The registry
   refuses a manifest whose blobs are missing, and no tag exists yet, so an interrupted push
   leaves no tag pointing at an incomplete image.
4. Immutable tags are set (each re-checked just before), then moving tags (``latest``, ``X.Y``).

An interrupt (Ctrl-C) or ``cancel`` stops the push promptly: running uploads stop at their next block,
and the caller does not wait for them (their threads are daemons), so no manifest or tag is written.
"""

from __future__ import annotations

import functools
import logging
import os
import platform as host_platform
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, Literal

from hydro_ci.errors import RegistryError, TagExistsError
from hydro_ci.image.model import (
    INDEX_TYPES,
    Blob,
    Descriptor,
    Image,
    ImageConfig,
    Index,
    LazyBlob,
    Manifest,
    Platform,
    PushableImage,
    blob_source,
)
from hydro_ci.image.reference import ImageReference
from hydro_ci.registry.client import RegistryClient, UploadCancelledError

log = logging.getLogger(__name__)

_SEMVER_RELEASE_CHARS = frozenset("0123456789.")


# --- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteImage:
    """An image read from a registry: ``reference`` is pinned by the manifest's digest."""

    reference: ImageReference
    image: Image
    index_digest: str | None = None  # the index the reference named, when it named one

    @property
    def digest(self) -> str:
        return str(self.image.manifest_digest)

    @property
    def config(self) -> ImageConfig:
        return self.image.config

    @property
    def layers(self) -> tuple[Descriptor, ...]:
        return self.image.manifest.layers


def default_platform() -> Platform:
    """linux on this machine's architecture (amd64 for x86_64), as images name it."""
    machine = host_platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return Platform(arch, "linux")


def read_image(client: RegistryClient, ref: ImageReference, *,
               platform: Platform | None = None) -> RemoteImage:
    """Manifest, config and layer descriptors of ``ref`` (an index resolved to ``platform``).

    Layers are not downloaded: they are ``LazyBlob``s streaming from the registry on ``open()``,
    with their repository as ``source`` so a push to the same registry mounts them instead.
    """
    data, media_type, digest = client.get_manifest(ref.repository, ref.reference)
    index_digest = None
    if media_type in INDEX_TYPES or (not media_type and b'"manifests"' in data):
        index_digest = digest
        chosen = Index.from_bytes(data, media_type or None).select(platform or default_platform())
        data, media_type, digest = client.get_manifest(ref.repository, str(chosen.digest))
        if media_type in INDEX_TYPES:
            raise RegistryError(f"{ref} nests an index inside an index", hint="name a single-platform image")
    manifest = Manifest.from_bytes(data, media_type or None)
    config = client.get_blob(ref.repository, str(manifest.config.digest))
    source = f"{client.registry}/{ref.repository}"
    layers = tuple(LazyBlob(d, _blob_opener(client, ref.repository, str(d.digest)), source)
                   for d in manifest.layers)
    image = Image(data, config, layers, manifest.media_type)
    return RemoteImage(ImageReference(ref.registry, ref.repository, ref.tag, digest), image, index_digest)


def _blob_opener(client: RegistryClient, repository: str, digest: str) -> Callable[[], BinaryIO]:
    return lambda: client.open_blob(repository, digest)


def read_labels(client: RegistryClient, ref: ImageReference, *,
                platform: Platform | None = None) -> dict[str, str]:
    """The image config's ``Labels`` (manifest and config only; no layer is pulled)."""
    return {str(k): str(v) for k, v in read_image(client, ref, platform=platform).config.labels.items()}


# --- pushing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlobProgress:
    """One blob's state during a push; ``state`` moves checking → uploading → done/exists/mounted."""

    digest: str
    size: int
    sent: int
    state: Literal["uploading", "uploaded", "exists", "mounted"]


@dataclass(frozen=True)
class PushResult:
    reference: ImageReference  # repository pinned by digest
    digest: str
    tags: tuple[str, ...]
    bytes_uploaded: int
    bytes_skipped: int
    skipped: bool  # the image was already there (version tag or digest): nothing was uploaded
    blobs_uploaded: int = 0
    blobs_skipped: int = 0
    tags_unchanged: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        return {"reference": str(self.reference), "digest": self.digest, "tags": list(self.tags),
                "bytes_uploaded": self.bytes_uploaded, "bytes_skipped": self.bytes_skipped,
                "skipped": self.skipped, "blobs_uploaded": self.blobs_uploaded,
                "blobs_skipped": self.blobs_skipped, "tags_unchanged": list(self.tags_unchanged)}


def is_immutable_tag(tag: str) -> bool:
    """A full release version (``1.2.3``, ``1.2.3-rc.1``, ``1.2.3+abc``) never moves; others may."""
    core = tag.split("+", 1)[0].split("-", 1)[0]
    parts = core.split(".")
    return len(parts) == 3 and all(p.isdigit() for p in parts) and set(core) <= _SEMVER_RELEASE_CHARS


def push_image(
    client: RegistryClient,
    ref: ImageReference,
    image: PushableImage,
    *,
    tags: Iterable[str] = (),
    immutable_tags: Iterable[str] = (),
    moving_tags: Iterable[str] = (),
    progress: Callable[[BlobProgress], None] | None = None,
    parallel: int = 4,
    mount_from: Sequence[str] = (),
    cancel: threading.Event | None = None,
) -> PushResult:
    """Push ``image`` to ``ref.repository`` and tag it; see the module doc for the guarantees.

    ``tags`` (and ``ref.tag``) are sorted by ``is_immutable_tag``; ``immutable_tags`` and
    ``moving_tags`` say it explicitly. ``mount_from`` names repositories (``registry/repo`` or
    ``repo``) to mount blobs from, in addition to each blob's own ``source``. ``progress`` is
    called from worker threads. Setting ``cancel`` (from another thread) stops the push before its
    manifest: ``UploadCancelledError``.
    """
    repo = ref.repository
    digest = str(image.manifest_digest)
    immutable, moving = _sort_tags(ref, tags, immutable_tags, moving_tags)

    # 1. Version tags first: refuse before uploading anything.
    already = [t for t in immutable if _check_free(client, ref, t, digest)]
    present = bool(already) or client.head_manifest(repo, digest) == digest

    uploaded = skipped = n_up = n_skip = 0
    blobs = _unique(image.blobs())
    if present:
        skipped = sum(b.descriptor.size for b in blobs)
        n_skip = len(blobs)
        log.info("%s@%s is already in the registry; no blob uploaded", repo, digest[:19])
    else:
        uploaded, skipped, n_up, n_skip = _upload_blobs(client, ref, blobs, progress, parallel, mount_from,
                                                        cancel)
        # 3. The manifest last, by digest: still untagged, so nothing can see a half image.
        client.put_manifest(repo, digest, image.manifest_bytes, image.manifest_media_type)
    _verify(client, ref, digest, digest)

    # 4. Tags: immutable (re-checked, then verified), then moving ones.
    unchanged: list[str] = []
    for tag in immutable:
        if tag in already or _check_free(client, ref, tag, digest):
            unchanged.append(tag)
            continue
        client.put_manifest(repo, tag, image.manifest_bytes, image.manifest_media_type)
        _verify(client, ref, tag, digest)
    for tag in moving:
        if client.head_manifest(repo, tag) == digest:
            unchanged.append(tag)
            continue
        client.put_manifest(repo, tag, image.manifest_bytes, image.manifest_media_type)
        now = client.head_manifest(repo, tag)
        if now != digest:  # another pipeline moved it since: last writer wins, but say so
            log.warning("%s:%s moved to %s right after we set it", ref.name, tag, now)
    return PushResult(ImageReference(ref.registry, repo, None, digest), digest, (*immutable, *moving),
                      uploaded, skipped, skipped=present, blobs_uploaded=n_up,
                      blobs_skipped=n_skip, tags_unchanged=tuple(unchanged))


def _sort_tags(ref: ImageReference, tags: Iterable[str], immutable_tags: Iterable[str],
               moving_tags: Iterable[str]) -> tuple[list[str], list[str]]:
    immutable = list(dict.fromkeys(immutable_tags))
    moving = [t for t in dict.fromkeys(moving_tags) if t not in immutable]
    for tag in [*([ref.tag] if ref.tag else []), *tags]:
        if tag in immutable or tag in moving:
            continue
        (immutable if is_immutable_tag(tag) else moving).append(tag)
    for tag in (*immutable, *moving):
        ref.with_tag(tag)  # validates the tag's syntax before anything is sent
    return immutable, moving


def _check_free(client: RegistryClient, ref: ImageReference, tag: str, digest: str) -> bool:
    """True when ``tag`` already holds ``digest``; TagExistsError when it holds another."""
    existing = client.head_manifest(ref.repository, tag)
    if existing is None:
        return False
    if existing != digest:
        raise TagExistsError(f"{ref.name}:{tag}", existing, digest)
    return True


def _verify(client: RegistryClient, ref: ImageReference, reference: str, digest: str) -> None:
    """Read the manifest back: the registry must serve exactly our bytes under ``reference``."""
    _data, _mt, got = client.get_manifest(ref.repository, reference)
    if got != digest:
        if reference != digest and not reference.startswith("sha256:"):
            # Someone else tagged between our check and our put, or the registry rewrote it.
            raise TagExistsError(f"{ref.name}:{reference}", got, digest)
        raise RegistryError(f"{ref.name}@{digest} reads back as {got}",
                            hint="the registry rewrote the manifest; it may not support OCI media types")


def _unique(blobs: Iterable[Blob]) -> list[Blob]:
    seen: dict[str, Blob] = {}
    for b in blobs:
        seen.setdefault(str(b.descriptor.digest), b)
    return list(seen.values())


def _mount_source(client: RegistryClient, blob: Blob, extra: Sequence[str], repo: str) -> str | None:
    """A repository on this registry that holds ``blob``, if we know one."""
    for candidate in [blob_source(blob), *extra]:
        if not candidate:
            continue
        first, _, rest = candidate.partition("/")
        is_host = bool(rest) and ("." in first or ":" in first or first == "localhost")
        registry, repository = (first, rest) if is_host else (client.registry, candidate)
        if registry == client.registry and repository != repo:
            return repository
    return None


def _upload_blobs(client: RegistryClient, ref: ImageReference, blobs: list[Blob],
                  progress: Callable[[BlobProgress], None] | None, parallel: int,
                  mount_from: Sequence[str], cancel: threading.Event | None) -> tuple[int, int, int, int]:
    totals = {"up": 0, "skip": 0, "n_up": 0, "n_skip": 0}
    lock = threading.Lock()
    stop = threading.Event()  # set on the first failure or an interrupt: the other uploads stop too

    def stopped() -> bool:
        return stop.is_set() or (cancel is not None and cancel.is_set())

    def one(blob: Blob) -> None:
        d = blob.descriptor
        digest, size = str(d.digest), d.size

        def report(sent: int, total: int) -> None:
            if progress:
                progress(BlobProgress(digest, total, sent, "uploading"))

        existed = client.blob_exists(ref.repository, digest)
        mount = None if existed else _mount_source(client, blob, mount_from, ref.repository)
        try:
            sent = 0 if existed else client.upload_blob(ref.repository, digest, size, blob.open,
                                                        mount_from=mount, progress=report, check_exists=False,
                                                        cancel=stopped)
        except RegistryError as exc:
            path = getattr(blob, "path", None)
            if "DIGEST_INVALID" not in exc.message or path is None:
                raise
            raise RegistryError(f"{exc.message} (read from {path})", hint=exc.hint) from None
        with lock:
            totals["up" if sent else "skip"] += size
            totals["n_up" if sent else "n_skip"] += 1
        if progress:
            state: Literal["uploaded", "exists", "mounted"] = (
                "uploaded" if sent else "mounted" if mount else "exists")
            progress(BlobProgress(digest, size, size, state))

    # Largest first: the long uploads start early, small ones fill the gaps.
    ordered = sorted(blobs, key=lambda b: -b.descriptor.size)
    workers = max(1, min(parallel, len(ordered), (os.cpu_count() or 1) * 4))
    _run_parallel([functools.partial(one, b) for b in ordered], workers, stop, stopped)
    if stopped():  # cancelled from outside: no manifest may follow
        raise UploadCancelledError(f"push of {ref.name}")
    return totals["up"], totals["skip"], totals["n_up"], totals["n_skip"]


def _run_parallel(tasks: Sequence[Callable[[], None]], workers: int, stop: threading.Event,
                  stopped: Callable[[], bool]) -> None:
    """Run ``tasks`` in order on ``workers`` daemon threads; the first failure stops them and is raised.

    Not a ThreadPoolExecutor: leaving it, and the interpreter's exit, wait for every running task, so
    a Ctrl-C waited for whole blobs to go up (a 1.5 GB layer: seconds to minutes). Here an interrupt
    sets ``stop`` (uploads stop at their next block) and is raised at once; a thread still blocked
    in a send dies with the process.
    """
    queue = list(reversed(tasks))  # pop() from the end: the given order
    lock = threading.Lock()
    failures: list[BaseException] = []
    running = [workers]
    finished = threading.Event()

    def work() -> None:
        try:
            while not stopped():
                with lock:
                    if not queue:
                        return
                    task = queue.pop()
                try:
                    task()
                except BaseException as exc:  # noqa: BLE001 - handed to the calling thread below
                    with lock:
                        failures.append(exc)
                    stop.set()
        finally:
            with lock:
                running[0] -= 1
                if not running[0]:
                    finished.set()

    for n in range(workers):
        threading.Thread(target=work, name=f"push-{n}", daemon=True).start()
    try:
        finished.wait()  # interruptible: Ctrl-C lands here, in the main thread
    except BaseException:
        stop.set()
        raise
    # The failure that stopped the others, not the cancellations it caused.
    first = next((e for e in failures if not isinstance(e, UploadCancelledError)), None)
    if first is not None:
        raise first
    if failures:
        raise failures[0]
