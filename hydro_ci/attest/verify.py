"""``hydro-ci verify IMAGE``: signature, attestations, and a rebuild that must give the same digest.

Each check adds a line to the result; a check that fails adds a problem instead and the later
checks that depend on it are not run. Everything read from the registry is hostile: the provenance
is bounded and parsed field by field (``provenance.parse_recorded``), only trusted once its DSSE
signature verifies (when a key is given), and in any case only used to decide *what to build* —
the verdict is the comparison of digests, which no statement can fake.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydro_ci.attest.artifact import DSSE
from hydro_ci.attest.provenance import MEDIA_TYPE as INTOTO
from hydro_ci.attest.provenance import ProvenanceError, RecordedBuild, parse_recorded
from hydro_ci.errors import HydroCIError
from hydro_ci.image.model import Manifest
from hydro_ci.reference import ImageReference, parse_reference
from hydro_ci.registry.client import RegistryClient, client_for
from hydro_ci.registry.referrers import Referrer, list_referrers

MAX_ATTESTATION = 4 << 20


@dataclass
class VerifyResult:
    reference: str
    digest: str
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    signatures: int | None = None  # by the key; None without --key
    provenance: RecordedBuild | None = None
    provenance_signed: bool | None = None
    rebuilt: str | None = None
    reproduced: bool | None = None
    difference: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        rec = self.provenance
        return {
            "reference": self.reference,
            "digest": self.digest,
            "ok": self.ok,
            "lines": self.lines,
            "problems": self.problems,
            "signatures": self.signatures,
            "provenance": None
            if rec is None
            else {
                "signed": self.provenance_signed,
                "repository": rec.repository_uri,
                "commit": rec.commit,
                "path": rec.path,
                "model": rec.model,
                "version": rec.version,
                "dirty": rec.dirty,
                "source_date_epoch": rec.source_date_epoch,
                "base": rec.base_digest or rec.base_ref,
            },
            "rebuilt": self.rebuilt,
            "reproduced": self.reproduced,
            "difference": self.difference,
        }


def verify(
    image: str,
    *,
    key: Path | None = None,
    rebuild: bool = True,
    source: str | None = None,
    base_from: str | None = None,
    insecure: bool | None = None,
    client: RegistryClient | None = None,
) -> VerifyResult:
    from hydro_ci.image.remote import read_image

    ref = parse_reference(image)
    client = client or client_for(image, insecure=insecure)
    remote = read_image(client, ref)
    digest = remote.digest
    out = VerifyResult(str(ref), digest)
    out.lines.append(f"image: {ref.name}@{digest}")
    verifier = None
    if key is not None:
        from hydro_ci.sign import cosign
        from hydro_ci.sign.keys import load_verifying_key

        verifier = load_verifying_key(key)
        good = cosign.verify_image(client, ref, digest, verifier)
        out.signatures = len(good)
        if not good:
            out.problems.append(
                f"no signature by {key} on {ref.name}@{digest} "
                f"(looked at {ref.name}:{cosign.signature_tag(digest)})"
            )
            return out
        out.lines.append(f"signature: verified with {key} ({good[0].docker_reference})")
    found, via = list_referrers(client, ref.repository, digest, INTOTO)
    rec = None
    for r in found:
        try:
            rec, signed = _read_provenance(client, ref, r, digest, verifier)
        except (ProvenanceError, HydroCIError) as exc:
            out.lines.append(f"provenance {r.digest[:19]}: ignored ({exc})")
            continue
        if verifier is not None and not signed:
            out.lines.append(f"provenance {r.digest[:19]}: ignored (not signed by {key})")
            rec = None
            continue
        out.provenance_signed = signed
        break
    if rec is None:
        out.problems.append(
            f"no usable provenance attached to {ref.name}@{digest} (found {len(found)} "
            f"in-toto referrer{'s' if len(found) != 1 else ''} through the {via} form); "
            "images get one from hydro-ci pipeline --push --provenance"
        )
        return out
    out.provenance = rec
    where = f"{rec.repository_uri or 'a local repository'}@{(rec.commit or '?')[:12]} ({rec.path})"
    out.lines.append(
        f"provenance: {'signed, ' if out.provenance_signed else 'unsigned, '}source {where}, "
        f"version {rec.version}, SOURCE_DATE_EPOCH {rec.source_date_epoch}"
    )
    _check_sboms(client, ref, digest, rec, out)
    if not rebuild:
        return out
    from hydro_ci.attest import rebuild as rb

    with rb.temporary_workdir() as tmp:
        try:
            again = rb.rebuild(
                rec, workdir=Path(tmp), source=source, base_from=base_from, insecure=insecure
            )
        except HydroCIError as exc:
            out.problems.append(
                f"cannot rebuild: {exc.message}" + (f" (hint: {exc.hint})" if exc.hint else "")
            )
            return out
        out.rebuilt = again.digest
        out.reproduced = again.digest == digest
        if out.reproduced:
            out.lines.append(f"reproduced: {digest} equals the registry's")
        else:
            out.difference = rb.first_difference(again.image, remote.image)
            out.problems.append(
                f"not reproduced: the rebuild is {again.digest}, the registry's {digest}; "
                f"first difference: {out.difference}"
            )
    return out


def _read_provenance(
    client: RegistryClient, ref: ImageReference, r: Referrer, digest: str, verifier: Any
) -> tuple[RecordedBuild, bool]:
    data, media_type, _ = client.get_manifest(ref.repository, r.digest)
    manifest = Manifest.from_bytes(data, media_type or None)
    if len(manifest.layers) != 1 or manifest.layers[0].size > MAX_ATTESTATION:
        raise ProvenanceError("not a single-document attestation")
    layer = manifest.layers[0]
    body = client.get_blob(ref.repository, str(layer.digest), max_size=MAX_ATTESTATION)
    signed = False
    if layer.media_type == DSSE:
        from hydro_ci.sign.dsse import open_envelope

        body, signed = open_envelope(body, verifier)
    elif layer.media_type != INTOTO:
        raise ProvenanceError(f"unknown attestation layer type {layer.media_type}")
    return parse_recorded(body, digest), signed


def _check_sboms(
    client: RegistryClient, ref: ImageReference, digest: str, rec: RecordedBuild, out: VerifyResult
) -> None:
    """Each SBOM attached must be one the provenance names by digest (covered by its signature)."""
    named = {sha for _, sha in rec.byproducts}
    for artifact_type in ("application/spdx+json", "application/vnd.cyclonedx+json"):
        for r in list_referrers(client, ref.repository, digest, artifact_type)[0]:
            try:
                data, media_type, _ = client.get_manifest(ref.repository, r.digest)
                layers = Manifest.from_bytes(data, media_type or None).layers
            except HydroCIError as exc:
                out.lines.append(f"sbom {r.digest[:19]}: unreadable ({exc})")
                continue
            sha = layers[0].digest.hex if len(layers) == 1 else ""
            if sha in named:
                out.lines.append(
                    f"sbom: {artifact_type} sha256:{sha[:12]}… is the one the provenance names"
                )
            else:
                out.problems.append(
                    f"sbom {r.digest} ({artifact_type}) is not one the provenance names: "
                    "it was attached by someone else or changed"
                )
