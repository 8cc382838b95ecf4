"""The Docker engine as a place an image lives: read via ``docker save``, write via ``docker load``.

Both go through the docker SDK (so ``DOCKER_HOST`` is honoured) and stream through a file in
``workdir``: an image of several GiB never sits in memory. A read image's layers stream from that
file, so ``workdir`` must outlive the returned ``Image``.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hydro_ci.errors import HydroCIError
from hydro_ci.image.model import Image, PushableImage
from hydro_ci.image.tarball import read_tarball, write_tarball
from hydro_ci.output_files import atomic_writer


class DaemonError(HydroCIError):
    """The Docker engine is unreachable or refused to save/load an image."""


def _client(client: Any | None) -> Any:
    if client is not None:
        return client
    import docker

    try:
        c = docker.from_env()
        c.ping()
    except Exception:  # noqa: BLE001 - every failure here means the same to the user
        raise DaemonError("cannot reach the Docker engine",
                          hint="start dockerd or set DOCKER_HOST, or use an OCI layout or docker-archive "
                               "base") from None
    return c


def read_daemon(ref: str, workdir: Path, *, client: Any | None = None) -> Image:
    """The engine's image ``ref`` (streamed out with ``docker save``)."""
    import docker.errors

    c = _client(client)
    try:
        image = c.images.get(ref)
    except docker.errors.ImageNotFound:
        raise DaemonError(f"image {ref} is not in the Docker engine",
                          hint="docker pull/load it, or point the base at a registry or OCI layout") from None
    except docker.errors.APIError as exc:
        raise DaemonError(f"Docker engine refused to look up {ref}: {exc.explanation}") from None
    workdir.mkdir(parents=True, exist_ok=True)
    # Named by image ID (content-addressed): the same base is saved once, not once per build.
    saved = workdir / f"docker-save-{str(image.id).replace(':', '-')}-{_tag_key(ref)}.tar"
    if not saved.is_file():
        try:
            with atomic_writer(saved, within=workdir) as out:
                for chunk in image.save(chunk_size=1 << 20, named=True):
                    out.write(chunk)
        except docker.errors.APIError as exc:
            raise DaemonError(f"docker save {ref} failed: {exc.explanation}") from None
    tags = list(image.tags)
    return read_tarball(saved, ref if ref in tags else (tags[0] if tags else None))


def _tag_key(ref: str) -> str:
    return hashlib.sha256(ref.encode()).hexdigest()[:12]


def write_daemon(images: Mapping[str, PushableImage], workdir: Path, *,
                 client: Any | None = None) -> list[str]:
    """Load ``images`` (``repo:tag`` → image) into the engine; returns the image IDs it reports."""
    import docker.errors

    c = _client(client)
    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=workdir, prefix="docker-load-", suffix=".tar") as tmp:
        write_tarball(Path(tmp.name), images)
        try:
            with open(tmp.name, "rb") as data:
                loaded = c.images.load(data)
        except docker.errors.APIError as exc:
            raise DaemonError(f"docker load refused the image: {exc.explanation}") from None
    return [str(i.id) for i in loaded]
