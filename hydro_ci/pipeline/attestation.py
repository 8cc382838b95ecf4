"""The pipeline's attest stage: SBOM and provenance beside the image, attached and signed when pushed.

Opt-in (``--sbom``, ``--provenance``, ``--sign-key FILE``) and only for the daemonless builder:
the engine's images are not byte-reproducible, so a provenance could not be checked by rebuilding.
The documents are written to ``dist/`` beside the OCI layout and to the output folder
(``attest.json`` says what was attached where); with ``--push`` each is attached to the pushed
digest as an OCI 1.1 referrer, then the image is signed (cosign's format, ``sha256-<hex>.sig``).
``--dry-run`` says what would be attached and signed.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hydro_ci.errors import UsageError
from hydro_ci.image.model import Image
from hydro_ci.output_files import write_file
from hydro_ci.pipeline.records import AttestRecord, ImageSignature, Referrer
from hydro_ci.pipeline.state import STAGE_EVENT, PipelineState, StageInputError
from hydro_ci.progress import ProgressEvent
from hydro_ci.reference import parse_reference
from hydro_ci.registry.client import client_for
from hydro_ci.registry.keychain import Keychain
from hydro_ci.render.context import BuildContext

if TYPE_CHECKING:
    from hydro_ci.sign.keys import SigningKey

ATTEST_FILE = "attest.json"


def start_loading_key(state: PipelineState) -> None:
    """Read (and, for cosign's encrypted keys, decrypt: ~0.3 s of scrypt) the key in a thread."""
    # start-up time: the signing code (cryptography) loads only for a run that signs
    from hydro_ci.sign.keys import load_signing_key

    o = state.options
    assert o.sign_key is not None
    pool = ThreadPoolExecutor(1, thread_name_prefix="hydro-ci-key")
    state.signing_key = pool.submit(load_signing_key, o.sign_key, password_env=o.sign_key_password_env)
    pool.shutdown(wait=False)  # the one task runs on; nothing else is ever submitted


def signing_key(state: PipelineState) -> SigningKey | None:
    """The --sign-key, loaded (errors raised here, where the caller wants them)."""
    o = state.options
    if o.sign_key is None:
        return None
    if state.signing_key is None:
        start_loading_key(state)
    assert state.signing_key is not None
    return state.signing_key.result()


def wanted(state: PipelineState) -> list[str]:
    o = state.options
    return [
        name
        for name, on in (("SPDX SBOM", o.sbom), ("CycloneDX SBOM", o.sbom), ("provenance", o.provenance))
        if on
    ]


@dataclass(frozen=True)
class AttestInputs:
    """What the attest stage takes from the earlier stages (handed in: no import back up to them)."""

    context: BuildContext
    framework: str | None
    keychain: Keychain
    dist: Path  # the folder the documents are written to, beside the OCI layout


def attest(state: PipelineState, inputs: Callable[[], AttestInputs]) -> None:
    o = state.options
    docs = wanted(state)
    if not docs and o.sign_key is None:
        state.record("attest", "skipped", "no --sbom, --provenance or --sign-key")
        return
    if o.builder != "oci":
        raise UsageError(
            "--sbom, --provenance and --sign-key need --builder oci",
            hint="the engine's images are not reproducible, so nothing could check a provenance",
        )
    signing = f"sign with {o.sign_key}" if o.sign_key else ""
    if o.dry_run:
        where = "the pushed image" if o.push else "dist/ (not pushed: nothing attached)"
        what = ", ".join(docs) or "nothing"
        state.attest = AttestRecord(dry_run=True, write=tuple(docs), attach=tuple(docs) if o.push else (),
                                    sign=str(o.sign_key) if o.sign_key else None)
        state.write_json(ATTEST_FILE, state.attest.to_json())
        say = f"dry run: would write {what} for {where}" + (f" and {signing}" if signing and o.push else "")
        state.record("attest", "skipped", say)
        state.progress(ProgressEvent("attest", say, id=STAGE_EVENT))
        return
    key = signing_key(state)
    # start-up time: the SBOM and provenance code loads only for a run that asks for them
    from hydro_ci.attest import artifact, facts
    from hydro_ci.sign.cosign import sign_image

    built = state.built
    if built is None:
        raise StageInputError(
            "the attest stage needs the build of this run",
            hint="run build and attest together (not --only attest)",
        )
    image = built.image
    repository = built.result.image
    given = inputs()
    found = facts.collect(
        given.context,
        image,
        built.result,
        repository=repository,
        platform=str(image.config.platform) if isinstance(image, Image) else "linux/amd64",
        model_dir=o.model_dir,
        framework=given.framework,
    )
    attachments = artifact.make_attachments(found, sbom_on=o.sbom, provenance_on=o.provenance, key=key)
    files: dict[str, str] = {}
    referrers: list[Referrer] = []
    signature: ImageSignature | None = None
    for a in attachments:
        for folder in (given.dist, state.path("")):
            write_file(folder / a.filename, a.data, within=folder)
        files[a.kind] = str(given.dist / a.filename)
    if o.push and state.push is not None:
        client = client_for(repository, given.keychain, insecure=o.insecure)
        ref = parse_reference(repository)
        with ThreadPoolExecutor(1) as pool:  # the signature and the referrers touch different tags
            sign_job = None
            if key is not None:
                sign_job = pool.submit(sign_image, client, ref, found.digest, key)
            pushed_all = artifact.attach_all(client, ref.repository, attachments, subject_digest=found.digest,
                                             subject_size=found.manifest_size, epoch=found.source_date_epoch)
            signed = sign_job.result() if sign_job is not None else None
        for a, pushed in zip(attachments, pushed_all, strict=True):
            referrers.append(Referrer(a.kind, a.artifact_type, pushed.digest, pushed.via))
            state.progress(ProgressEvent("attest", f"{a.kind}: {pushed.digest} ({pushed.via})"))
        if signed is not None:
            signature = ImageSignature(signed.tag, signed.digest, signed.unchanged)
    record = AttestRecord(digest=found.digest, files=files, referrers=tuple(referrers), signature=signature)
    state.attest = record
    state.write_json(ATTEST_FILE, record.to_json())
    say = f"{len(attachments)} document{'s' if len(attachments) != 1 else ''} written"
    if referrers:
        say += f", {len(referrers)} attached ({referrers[0].via} form)"
    if signature:
        say += f", signed at {signature.tag[:19]}…"
    state.progress(ProgressEvent("attest", say, id=STAGE_EVENT))
