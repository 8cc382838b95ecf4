"""Image signatures in sigstore/cosign's format, stored where cosign stores them.

A signature is a *simple signing* payload (containers' signature format with cosign's type)::

    {"critical": {"identity": {"docker-reference": "REGISTRY/REPO"},
                  "image": {"docker-manifest-digest": "sha256:…"},
                  "type": "cosign container image signature"},
     "optional": {"creator": "hydro-ci X.Y.Z"}}

signed with ECDSA P-256 over SHA-256 (DER, base64). It lives in an OCI manifest tagged
``sha256-<hex>.sig`` in the image's repository: one layer per signature, of media type
``application/vnd.dev.cosign.simplesigning.v1+json``, the payload as the blob and the signature in
the layer annotation ``dev.cosignproject.cosign/signature``. cosign, skopeo/podman (policy.json
``sigstoreSigned`` with ``use-sigstore-attachments``) and Kyverno read that.

Signing keeps the signatures already there (another key, an earlier run) and adds ours once.
Verifying reads the tag's manifest and payload blobs as hostile input: sizes and counts bounded,
the signature checked before the payload is parsed, the payload parsed strictly.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from hydro_ci import __version__, boundedjson
from hydro_ci.errors import HydroCIError, NotFoundError
from hydro_ci.image.model import (
    OCI_CONFIG,
    OCI_MANIFEST,
    BytesBlob,
    Descriptor,
    Digest,
    Manifest,
    canonical_json,
)
from hydro_ci.reference import ImageReference
from hydro_ci.registry.client import RegistryClient
from hydro_ci.sign.keys import SigningKey, VerifyingKey

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
PAYLOAD_TYPE = "cosign container image signature"
CREATOR = f"hydro-ci {__version__}"
MAX_SIGNATURES = 100  # layers read from one .sig manifest
MAX_PAYLOAD = 64 << 10


class SignatureError(HydroCIError):
    """A signature cannot be made, stored or read."""


def signature_tag(digest: str) -> str:
    d = Digest.parse(digest)
    return f"{d.algorithm}-{d.hex}.sig"


def simple_signing_payload(repository: str, digest: str) -> bytes:
    """The payload cosign signs for ``repository`` (``registry/repo``, no tag) at ``digest``."""
    doc = {
        "critical": {
            "identity": {"docker-reference": repository},
            "image": {"docker-manifest-digest": digest},
            "type": PAYLOAD_TYPE,
        },
        "optional": {"creator": CREATOR},
    }
    return canonical_json(doc)


@dataclass(frozen=True)
class SignatureLayer:
    payload: bytes
    signature: str  # base64, as in the annotation
    annotations: dict[str, str]

    @property
    def descriptor(self) -> Descriptor:
        return Descriptor.of_bytes(
            SIMPLE_SIGNING,
            self.payload,
            annotations={**self.annotations, SIGNATURE_ANNOTATION: self.signature},
        )


@dataclass(frozen=True)
class SignatureImage:
    """The ``.sig`` manifest: config + one layer per signature (a ``PushableImage``)."""

    layers: tuple[SignatureLayer, ...]

    @property
    def config_bytes(self) -> bytes:
        # A valid image config whose diff_ids are the layers (cosign writes the same shape).
        return canonical_json(
            {
                "architecture": "",
                "os": "",
                "config": {},
                "rootfs": {"type": "layers", "diff_ids": [str(x.descriptor.digest) for x in self.layers]},
            }
        )

    @property
    def manifest_bytes(self) -> bytes:
        return Manifest(
            Descriptor.of_bytes(OCI_CONFIG, self.config_bytes), tuple(x.descriptor for x in self.layers)
        ).to_bytes()

    @property
    def manifest_media_type(self) -> str:
        return OCI_MANIFEST

    @property
    def manifest_digest(self) -> Digest:
        return Digest.of_bytes(self.manifest_bytes)

    def blobs(self) -> list[BytesBlob]:
        return [
            BytesBlob.of(OCI_CONFIG, self.config_bytes),
            *(BytesBlob(x.descriptor, x.payload) for x in self.layers),
        ]


@dataclass(frozen=True)
class SignResult:
    tag: str  # sha256-<hex>.sig
    digest: str  # of the signature manifest
    signatures: int  # in the manifest now (ours included)
    unchanged: bool  # our key had already signed this image: nothing was pushed


@dataclass(frozen=True)
class VerifiedSignature:
    docker_reference: str
    creator: str | None


def read_signatures(client: RegistryClient, ref: ImageReference, digest: str) -> list[SignatureLayer]:
    """The signature layers stored for ``digest`` ([] when there is no ``.sig`` tag)."""
    tag = signature_tag(digest)
    try:
        data, media_type, _ = client.get_manifest(ref.repository, tag, accept=(OCI_MANIFEST,))
    except NotFoundError:
        return []
    try:
        manifest = Manifest.from_bytes(data, media_type or None)
    except HydroCIError as exc:
        raise SignatureError(f"{ref.name}:{tag} is not a signature manifest: {exc}") from None
    if len(manifest.layers) > MAX_SIGNATURES:
        raise SignatureError(
            f"{ref.name}:{tag} holds {len(manifest.layers)} layers (more than {MAX_SIGNATURES})",
            hint="remove old signatures of this image",
        )
    out = []
    for layer in manifest.layers:
        sig = layer.annotations.get(SIGNATURE_ANNOTATION)
        if layer.media_type != SIMPLE_SIGNING or sig is None or layer.size > MAX_PAYLOAD:
            continue  # not a signature we can read (a certificate-only layer, an attestation…)
        payload = client.get_blob(ref.repository, str(layer.digest), max_size=MAX_PAYLOAD)
        out.append(
            SignatureLayer(
                payload, sig, {k: v for k, v in layer.annotations.items() if k != SIGNATURE_ANNOTATION}
            )
        )
    return out


def sign_image(client: RegistryClient, ref: ImageReference, digest: str, key: SigningKey) -> SignResult:
    """Sign ``ref.repository@digest`` with ``key`` and store it at ``sha256-<hex>.sig``."""
    from hydro_ci.image.remote import push_image

    existing = read_signatures(client, ref, digest)
    public = VerifyingKey(key.public)
    for layer in existing:
        if _verify_layer(layer, public, digest) is not None:
            tag = signature_tag(digest)
            return SignResult(tag, client.head_manifest(ref.repository, tag) or "", len(existing), True)
    payload = simple_signing_payload(ref.name, digest)
    ours = SignatureLayer(payload, base64.b64encode(key.sign(payload)).decode(), {})
    image = SignatureImage((*existing, ours))
    tag = signature_tag(digest)
    push_image(client, ImageReference(ref.registry, ref.repository), image, moving_tags=[tag])
    return SignResult(tag, str(image.manifest_digest), len(image.layers), False)


def verify_image(
    client: RegistryClient, ref: ImageReference, digest: str, key: VerifyingKey
) -> list[VerifiedSignature]:
    """The signatures of ``digest`` that ``key`` made (verified, payload parsed strictly)."""
    return [
        v
        for layer in read_signatures(client, ref, digest)
        if (v := _verify_layer(layer, key, digest)) is not None
    ]


def _verify_layer(layer: SignatureLayer, key: VerifyingKey, digest: str) -> VerifiedSignature | None:
    try:
        sig = base64.b64decode(layer.signature, validate=True)
    except binascii.Error:
        return None
    if not key.verify(layer.payload, sig):  # the bytes first; nothing is parsed before this
        return None
    return parse_payload(layer.payload, digest)


def parse_payload(payload: bytes, digest: str) -> VerifiedSignature | None:
    """The claims of a verified payload; None unless it is a cosign signature of ``digest``."""
    try:
        doc: Any = boundedjson.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict) or set(doc) - {"critical", "optional"}:
        return None
    critical, optional = doc.get("critical"), doc.get("optional") or {}
    if not isinstance(critical, dict) or set(critical) != {"identity", "image", "type"}:
        return None
    identity, image = critical["identity"], critical["image"]
    if (
        critical["type"] != PAYLOAD_TYPE
        or not isinstance(image, dict)
        or set(image) != {"docker-manifest-digest"}
        or image["docker-manifest-digest"] != digest
        or not isinstance(identity, dict)
        or set(identity) != {"docker-reference"}
        or not isinstance(identity["docker-reference"], str)
    ):
        return None
    creator = optional.get("creator") if isinstance(optional, dict) else None
    return VerifiedSignature(identity["docker-reference"], creator if isinstance(creator, str) else None)
