"""OCI 1.1 referrers: manifests that name another one as their ``subject`` (SBOMs, provenance).

A registry with the referrers API indexes such a manifest when it is pushed, says so with an
``OCI-Subject`` response header, and lists them at ``GET /v2/<name>/referrers/<digest>``. A
registry without it (Debian's docker-registry 2.8, many others) gets the spec's fallback: an image
index under the tag ``<alg>-<hex>`` (``sha256-…``) that lists the referrers, which the client
reads, extends and writes back. Both forms give the same descriptors (``artifactType`` and
``annotations`` included), so a reader never needs to know which one a registry used.

Everything read here comes from a registry and is treated as hostile: bounded in size (the
client's manifest limit), in the number of entries, and parsed field by field.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import hydro_ci.boundedjson as boundedjson
from hydro_ci.errors import NotFoundError, RegistryError
from hydro_ci.registry.client import RegistryClient

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MAX_REFERRERS = 1000  # entries read from one index; more is not a listing we act on
_DIGEST = re.compile(r"^(sha256):([a-f0-9]{64})$")

Via = Literal["api", "tag"]


def fallback_tag(digest: str) -> str:
    """The referrers tag schema: ``sha256:abc…`` → ``sha256-abc…`` (cut to a tag's 128 characters)."""
    m = _DIGEST.match(digest)
    if not m:
        raise RegistryError(f"cannot name referrers of {digest!r}: not a sha256 digest")
    return f"{m.group(1)}-{m.group(2)}"[:128]


@dataclass(frozen=True)
class Referrer:
    """One entry of a referrers listing."""

    digest: str
    media_type: str
    size: int
    artifact_type: str
    annotations: dict[str, str]

    def to_descriptor(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
            "artifactType": self.artifact_type,
        }
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out


@dataclass(frozen=True)
class ReferrerPush:
    digest: str
    via: Via  # "api": the registry indexed it; "tag": we wrote the fallback index


def push_referrer(client: RegistryClient, repository: str, manifest: bytes, *, subject: str,
                  media_type: str = OCI_MANIFEST) -> ReferrerPush:
    """Store ``manifest`` (whose ``subject`` is ``subject``) and make it findable as a referrer.

    Its blobs must be in the repository already. The manifest is put by digest; when the registry
    does not answer with ``OCI-Subject``, the fallback index at ``sha256-<hex>`` gets an entry for it
    (kept once per digest; other entries stay).
    """
    return push_referrers(client, repository, [manifest], subject=subject, media_type=media_type)[0]


def push_referrers(client: RegistryClient, repository: str, manifests: Sequence[bytes], *, subject: str,
                   media_type: str = OCI_MANIFEST) -> list[ReferrerPush]:
    """``push_referrer`` for several manifests of one subject: the fallback index read and written once."""
    out: list[ReferrerPush] = []
    missing: list[Referrer] = []
    for manifest in manifests:
        entry = _descriptor_of(manifest, media_type)
        digest, indexed = client.put_manifest_subject(repository, entry.digest, manifest, media_type)
        out.append(ReferrerPush(digest, "api" if indexed == subject else "tag"))
        if indexed != subject:
            missing.append(entry)
    if missing:
        tag = fallback_tag(subject)
        current = _read_fallback(client, repository, tag)
        have = {r.digest for r in current}
        new = [r for r in missing if r.digest not in have]
        if new:
            index = {"schemaVersion": 2, "mediaType": OCI_INDEX,
                     "manifests": [r.to_descriptor() for r in (*current, *new)]}
            data = json.dumps(index, sort_keys=True, separators=(",", ":")).encode()
            client.put_manifest(repository, tag, data, OCI_INDEX)
    return out


def list_referrers(
    client: RegistryClient, repository: str, subject: str, artifact_type: str | None = None
) -> tuple[list[Referrer], Via]:
    """Referrers of ``subject`` (optionally of one artifact type), through the API when the
    registry has it, else from the fallback tag; [] when there are none."""
    fallback_tag(subject)  # validates the digest before it becomes part of a URL
    data = client.get_referrers(repository, subject, artifact_type)
    if data is not None:
        found, via = parse_index(data, f"referrers of {repository}@{subject}"), "api"
    else:
        found, via = _read_fallback(client, repository, fallback_tag(subject)), "tag"
    if artifact_type:  # the API may ignore the filter (no OCI-Filters-Applied): filter here too
        found = [r for r in found if r.artifact_type == artifact_type]
    return found, via  # type: ignore[return-value]


def _read_fallback(client: RegistryClient, repository: str, tag: str) -> list[Referrer]:
    try:
        data, media_type, _ = client.get_manifest(repository, tag, accept=(OCI_INDEX,))
    except NotFoundError:
        return []
    if media_type and media_type != OCI_INDEX:
        raise RegistryError(
            f"{repository}:{tag} is not a referrers index ({media_type})",
            hint="the tag is used for something else; remove it or push elsewhere",
        )
    return parse_index(data, f"{repository}:{tag}")


def parse_index(data: bytes, where: str) -> list[Referrer]:
    """The entries of a referrers index, each checked; a malformed one is an error, not skipped."""
    try:
        doc = boundedjson.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise RegistryError(f"{where} is not JSON", hint="the registry sent something else") from None
    manifests = doc.get("manifests") if isinstance(doc, dict) else None
    if not isinstance(manifests, list):
        raise RegistryError(f"{where} is not an image index")
    if len(manifests) > MAX_REFERRERS:
        raise RegistryError(
            f"{where} lists {len(manifests)} referrers (more than {MAX_REFERRERS})",
            hint="clean up old attachments of this image",
        )
    return [_referrer(m, f"{where} entry {i}") for i, m in enumerate(manifests)]


def _referrer(d: Any, where: str) -> Referrer:
    if not isinstance(d, dict):
        raise RegistryError(f"{where} is not a descriptor")
    digest, size, media_type = d.get("digest"), d.get("size"), d.get("mediaType")
    annotations = d.get("annotations") or {}
    if (
        not isinstance(digest, str)
        or not _DIGEST.match(digest)
        or not isinstance(size, int)
        or isinstance(size, bool)
        or size < 0
        or not isinstance(media_type, str)
        or not isinstance(annotations, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in annotations.items())
    ):
        raise RegistryError(f"{where} is not a valid descriptor")
    artifact_type = d.get("artifactType")
    return Referrer(
        digest, media_type, size, artifact_type if isinstance(artifact_type, str) else "", dict(annotations)
    )


def _descriptor_of(manifest: bytes, media_type: str) -> Referrer:
    doc = boundedjson.loads(manifest)
    artifact_type = doc.get("artifactType") or (doc.get("config") or {}).get("mediaType") or ""
    return Referrer(
        "sha256:" + hashlib.sha256(manifest).hexdigest(),
        media_type,
        len(manifest),
        str(artifact_type),
        dict(doc.get("annotations") or {}),
    )
