"""Attestations as OCI 1.1 artifacts that name the image as their ``subject``.

Each is an image manifest with an ``artifactType``, the empty config (``{}``,
``application/vnd.oci.empty.v1+json``) and one layer holding the document. The registry finds
them through the referrers API, or the tag fallback (``hydro_ci.registry.referrers``).

``make_attachments`` decides what is attached for a build: the SPDX and CycloneDX SBOMs and the
provenance statement — signed as a DSSE envelope when a key is given, so the signature covers the
SBOMs as well (the statement names them by digest as byproducts).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hydro_ci.attest import provenance, sbom
from hydro_ci.attest.facts import BuildFacts
from hydro_ci.epoch import rfc3339
from hydro_ci.image.model import OCI_MANIFEST, Digest, canonical_json
from hydro_ci.registry.client import RegistryClient
from hydro_ci.registry.referrers import ReferrerPush, push_referrers

if TYPE_CHECKING:
    from hydro_ci.sign.keys import SigningKey

EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"
EMPTY_JSON = b"{}"
TITLE = "org.opencontainers.image.title"
CREATED = "org.opencontainers.image.created"
PREDICATE_TYPE = "in-toto.io/predicate-type"
DSSE = "application/vnd.dsse.envelope.v1+json"


@dataclass(frozen=True)
class Attachment:
    """One document to attach: ``kind`` (sbom-spdx, sbom-cyclonedx, provenance), its file name."""

    kind: str
    filename: str
    artifact_type: str
    media_type: str  # of the layer (a DSSE envelope when signed)
    data: bytes
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return str(Digest.of_bytes(self.data))


def make_attachments(
    facts: BuildFacts, *, sbom_on: bool = True, provenance_on: bool = True, key: SigningKey | None = None
) -> list[Attachment]:
    stem = f"{facts.model_name}-{facts.version or facts.digest[7:19]}"
    out: list[Attachment] = []
    if sbom_on:
        out.append(
            Attachment(
                "sbom-spdx",
                f"{stem}.spdx.json",
                sbom.SPDX_MEDIA_TYPE,
                sbom.SPDX_MEDIA_TYPE,
                _json(sbom.spdx_document(facts)),
            )
        )
        out.append(
            Attachment(
                "sbom-cyclonedx",
                f"{stem}.cdx.json",
                sbom.CYCLONEDX_MEDIA_TYPE,
                sbom.CYCLONEDX_MEDIA_TYPE,
                _json(sbom.cyclonedx_document(facts)),
            )
        )
    if provenance_on:
        byproducts = [
            {"name": a.filename, "mediaType": a.media_type, "digest": {"sha256": a.digest[7:]}} for a in out
        ]
        data = provenance.statement_bytes(provenance.statement(facts, byproducts))
        media_type = provenance.MEDIA_TYPE
        if key is not None:
            from hydro_ci.sign.dsse import sign_envelope

            data, media_type = sign_envelope(data, key), DSSE
        out.append(
            Attachment(
                "provenance",
                f"{stem}.intoto.json",
                provenance.MEDIA_TYPE,
                media_type,
                data,
                {PREDICATE_TYPE: provenance.SLSA_PROVENANCE},
            )
        )
    return out


def _json(doc: dict[str, Any]) -> bytes:
    return canonical_json(doc)


def artifact_manifest(
    a: Attachment,
    subject_digest: str,
    subject_size: int,
    epoch: int,
    subject_media_type: str = OCI_MANIFEST,
) -> bytes:
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": a.artifact_type,
        "config": {"mediaType": EMPTY_CONFIG, "digest": str(Digest.of_bytes(EMPTY_JSON)), "size": 2},
        "layers": [
            {
                "mediaType": a.media_type,
                "digest": a.digest,
                "size": len(a.data),
                "annotations": {TITLE: a.filename},
            }
        ],
        "subject": {"mediaType": subject_media_type, "digest": subject_digest, "size": subject_size},
        "annotations": {CREATED: rfc3339(epoch), **a.annotations},
    }
    return canonical_json(doc)


def attach(client: RegistryClient, repository: str, a: Attachment, *, subject_digest: str,
           subject_size: int, epoch: int) -> ReferrerPush:
    """Upload ``a``'s blobs and its manifest; index it as a referrer of the subject."""
    return attach_all(client, repository, [a], subject_digest=subject_digest, subject_size=subject_size,
                      epoch=epoch)[0]


def attach_all(client: RegistryClient, repository: str, attachments: Sequence[Attachment], *,
               subject_digest: str, subject_size: int, epoch: int) -> list[ReferrerPush]:
    """``attach`` for several: blobs uploaded in parallel, the fallback index written once."""
    from concurrent.futures import ThreadPoolExecutor

    blobs = {str(Digest.of_bytes(EMPTY_JSON)): EMPTY_JSON, **{a.digest: a.data for a in attachments}}

    def upload(item: tuple[str, bytes]) -> int:
        digest, data = item
        return client.upload_blob(repository, digest, len(data), lambda: io.BytesIO(data))

    with ThreadPoolExecutor(min(4, len(blobs))) as pool:
        list(pool.map(upload, blobs.items()))  # re-raises the first failure
    manifests = [artifact_manifest(a, subject_digest, subject_size, epoch) for a in attachments]
    return push_referrers(client, repository, manifests, subject=subject_digest)
