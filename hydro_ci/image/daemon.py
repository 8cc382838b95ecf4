"""The Docker engine as a place an image lives: reach it, read an image (``docker save``), write one
(``docker load``, or a tag for an image it holds).

Everything goes through the docker SDK (so ``DOCKER_HOST`` and ``DOCKER_TLS_VERIFY`` are honoured)
and streams through a file in a work folder: an image of several GiB never sits in memory. A read
image's layers stream from that file, so the folder must outlive the ``Image``. ``DaemonImage`` is
an engine image by id that is read only when its bytes are needed (a push), as go-containerregistry's
``daemon.Image``; tagging it in the engine needs no read at all.
"""

from __future__ import annotations

import binascii
import json
import os
import shutil
import tempfile
import warnings
import weakref
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import requests

from hydro_ci import boundedjson
from hydro_ci.errors import EngineError, EngineUnavailableError
from hydro_ci.image.layer import choose_blob_compression, gzip_blob
from hydro_ci.image.model import (
    DOCKER_LAYER,
    DOCKER_LAYER_GZIP,
    DOCKER_MANIFEST,
    Blob,
    Descriptor,
    Digest,
    FileBlob,
    Image,
    Manifest,
    PushableImage,
)
from hydro_ci.image.tarball import read_tarball, write_tarball
from hydro_ci.output_files import atomic_writer, write_file

# The docker SDK also warns on stderr about a missing helper; our one-line error says it already.
warnings.filterwarnings("ignore", message=r"docker-credential-\S+ not installed", category=UserWarning)


class DaemonError(EngineError):
    """The Docker engine refused to save, load or tag an image, or lacks it."""


def connect(client: Any = None) -> Any:
    """A docker SDK client that answered a ping, else EngineUnavailableError."""
    # The docker SDK takes ~0.3 s to import: only the engine's paths pay it, not `contract check`.
    import docker
    from docker.credentials.errors import StoreError

    host = os.environ.get("DOCKER_HOST") or "the default socket (unix:///var/run/docker.sock)"
    try:
        client = client or docker.from_env(timeout=600)
        client.ping()
    except (StoreError, binascii.Error) as exc:
        raise docker_config_error(exc, "engine client") from None
    except (docker.errors.DockerException, requests.RequestException) as exc:
        reason = _unreachable_reason(str(exc))
        raise EngineUnavailableError(
            f"no Docker engine reachable at {host}: {reason}",
            hint="start one (sudo systemctl start docker, or dockerd &) or point DOCKER_HOST at one; "
                 "--builder oci needs no engine",
        ) from None
    return client


def docker_config_error(exc: Exception, what: str) -> EngineError:
    """The docker SDK reads every login in Docker's config.json (at start, and for a build or push):
    a broken entry or a missing credential helper is the user's to fix, not an internal error."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return EngineError(f"cannot read the registry logins in Docker's config.json for the {what}: {first}",
                       hint="fix config.json (DOCKER_CONFIG, ~/.docker) or install its credential "
                            "helper; docker login rewrites an entry")


def _unreachable_reason(text: str) -> str:
    """The gist of a connection failure, without the SDK's nested exception reprs."""
    lowered = text.lower()
    for needle, reason in (("filenotfounderror", "no such socket"), ("no such file", "no such socket"),
                           ("connection refused", "connection refused"), ("permission denied",
                           "permission denied on the socket"), ("timed out", "connection timed out"),
                           ("name or service not known", "unknown host")):
        if needle in lowered:
            return reason
    return text.splitlines()[0][:200] if text else "no answer"


def image_id(ref: str, *, client: Any = None, hint: str | None = None) -> str:
    """The engine's id of ``ref`` (a name or an id); DaemonError when the engine lacks it."""
    import docker.errors  # start-up time: see connect()

    c = connect(client)
    try:
        return str(c.api.inspect_image(ref)["Id"])
    except docker.errors.ImageNotFound:
        raise DaemonError(f"image {ref} is not in the Docker engine",
                          hint=hint or "docker pull/load it, or point the base at a registry or OCI "
                                       "layout") from None
    except docker.errors.APIError as exc:
        raise DaemonError(f"Docker engine refused to look up {ref}: {exc.explanation or exc}") from None


def _save(c: Any, ref: str, dest: Path) -> None:
    """``docker save ref`` into ``dest`` (written beside it, renamed when complete)."""
    import docker.errors  # start-up time: see connect()

    try:
        with atomic_writer(dest, within=dest.parent) as out:
            for chunk in c.api.get_image(ref, chunk_size=1 << 20):
                out.write(chunk)
    except docker.errors.APIError as exc:
        raise DaemonError(f"docker save {ref} failed: {exc.explanation or exc}") from None


def read_daemon(ref: str, workdir: Path, *, client: Any | None = None) -> Image:
    """The engine's image ``ref`` (streamed out with ``docker save``); the save is kept in
    ``workdir`` by image id, so the same base is saved once, not once per build."""
    c = connect(client)
    engine_id = image_id(ref, client=c)
    workdir.mkdir(parents=True, exist_ok=True)
    saved = workdir / f"docker-save-{engine_id.replace(':', '-')}.tar"
    if not saved.is_file():
        _save(c, engine_id, saved)  # by id: a name without a tag would save every tag of the repository
    return read_tarball(saved)


class DaemonImage:
    """An image the engine holds, by id: ``PushableImage`` once read, tagged without being read.

    The first access to its bytes saves it (``docker save``) into a folder of its own under
    ``cache/tmp``, removed when the object is collected or the process ends. Its manifest keeps
    Docker's media types (what ``docker push`` writes), so a registry serves it to every client,
    and its layers are compressed as ``docker push`` would, by our rule (``choose_blob_compression``:
    gzip unless large and incompressible), each remembered in ``cache`` by its diff_id so a push
    of a later version compresses only the layers that changed.
    """

    def __init__(self, ref: str, cache: Path, *, client: Any = None, hint: str | None = None) -> None:
        self.client = connect(client)
        self.id = image_id(ref, client=self.client, hint=hint)
        self._cache = cache

    @cached_property
    def image(self) -> Image:
        workdir = self._cache / "tmp"
        workdir.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(dir=workdir, prefix="engine-image-"))
        weakref.finalize(self, shutil.rmtree, folder, True)
        saved = folder / "image.tar"
        _save(self.client, self.id, saved)
        return compressed(read_tarball(saved, None, docker_types=True), self._cache)

    @property
    def manifest_bytes(self) -> bytes:
        return self.image.manifest_bytes

    @property
    def manifest_media_type(self) -> str:
        return self.image.manifest_media_type

    @property
    def manifest_digest(self) -> Digest:
        return self.image.manifest_digest

    def blobs(self) -> Sequence[Blob]:
        return self.image.blobs()


def compressed(image: Image, cache: Path) -> Image:
    """``image`` (Docker-typed, its layers uncompressed tars) with each layer gzipped where the rule
    says so; the config, hence the image id, stays the same."""
    layers: list[Blob] = []
    for blob in image.layers:
        if blob.descriptor.media_type != DOCKER_LAYER:
            layers.append(blob)
            continue
        diff_id = blob.descriptor.digest  # an uncompressed layer's digest is its diff_id
        remembered = _remembered(cache, diff_id)
        if remembered is not None:
            layers.append(remembered)
        elif choose_blob_compression(blob)[0] == "gzip":
            packed = gzip_blob(blob, cache / "blobs", DOCKER_LAYER_GZIP)
            _remember(cache, diff_id, packed)
            layers.append(packed)
        else:
            layers.append(blob)
    if all(a is b for a, b in zip(layers, image.layers, strict=True)):
        return image
    manifest = Manifest(image.manifest.config, tuple(b.descriptor for b in layers), DOCKER_MANIFEST)
    return Image(manifest.to_bytes(), image.config_bytes, tuple(layers), DOCKER_MANIFEST)


def _record(cache: Path, diff_id: Digest) -> Path:
    return cache / "layers" / f"engine-{diff_id.hex}.json"


def _remembered(cache: Path, diff_id: Digest) -> FileBlob | None:
    try:
        rec = boundedjson.loads(_record(cache, diff_id).read_text())
        desc = Descriptor(DOCKER_LAYER_GZIP, Digest.parse(rec["digest"]), int(rec["size"]))
    except (OSError, ValueError, KeyError):
        return None
    path = cache / "blobs" / "sha256" / desc.digest.hex
    return FileBlob(desc, path) if path.is_file() and path.stat().st_size == desc.size else None


def _remember(cache: Path, diff_id: Digest, blob: FileBlob) -> None:
    record = {"digest": str(blob.descriptor.digest), "size": blob.descriptor.size}
    write_file(_record(cache, diff_id), json.dumps(record), within=cache)


def tag_in_daemon(engine_id: str, repository: str, tags: Sequence[str], *, client: Any = None) -> list[str]:
    """Point ``repository:tag`` at the engine's image ``engine_id`` for each tag; the tags moved."""
    import docker.errors  # start-up time: see connect()

    c = connect(client)
    moved = []
    for tag in tags:
        try:
            before = str(c.api.inspect_image(f"{repository}:{tag}")["Id"])
        except docker.errors.ImageNotFound:
            before = None
        except docker.errors.APIError as exc:
            raise DaemonError(f"engine failed to inspect {repository}:{tag}: "
                              f"{exc.explanation or exc}") from None
        if before == engine_id:
            continue
        try:
            c.api.tag(engine_id, repository, tag)
        except docker.errors.APIError as exc:
            raise DaemonError(f"engine refused to tag {repository}:{tag}: {exc.explanation or exc}") from None
        moved.append(tag)
    return moved


def write_daemon(images: Mapping[str, PushableImage], workdir: Path, *,
                 client: Any | None = None) -> list[str]:
    """Load ``images`` (``repo:tag`` → image) into the engine; returns the image IDs it reports."""
    import docker.errors  # start-up time: see connect()

    c = connect(client)
    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=workdir, prefix="docker-load-", suffix=".tar") as tmp:
        write_tarball(Path(tmp.name), images)
        try:
            with open(tmp.name, "rb") as data:
                loaded = c.images.load(data)
        except docker.errors.APIError as exc:
            raise DaemonError(f"docker load refused the image: {exc.explanation}") from None
    return [str(i.id) for i in loaded]
