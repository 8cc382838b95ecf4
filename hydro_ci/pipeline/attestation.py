"""The pipeline's attest stage: SBOM and provenance beside the image, attached and signed when pushed.

Opt-in (``--sbom``, ``--provenance``, ``--sign-key FILE``) and only for the daemonless builder:
the engine's images are not byte-reproducible, so a provenance could not be checked by rebuilding.
The documents are written to ``dist/`` beside the OCI layout and to the output folder
(``attest.json`` says what was attached where); with ``--push`` each is attached to the pushed
digest as an OCI 1.1 referrer, then the image is signed (cosign's format, ``sha256-<hex>.sig``).
``--dry-run`` says what would be attached and signed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hydro_ci.build import ProgressEvent
from hydro_ci.errors import UsageError
from hydro_ci.output_files import write_file
from hydro_ci.pipeline.state import PipelineState, StageInputError

if TYPE_CHECKING:
    from hydro_ci.sign.keys import SigningKey

ATTEST_FILE = "attest.json"


def start_loading_key(state: PipelineState) -> None:
    """Read (and, for cosign's encrypted keys, decrypt: ~0.3 s of scrypt) the key in a thread."""
    from concurrent.futures import ThreadPoolExecutor

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
    key: SigningKey = state.signing_key.result()
    return key


def wanted(state: PipelineState) -> list[str]:
    o = state.options
    return [
        name
        for name, on in (("SPDX SBOM", o.sbom), ("CycloneDX SBOM", o.sbom), ("provenance", o.provenance))
        if on
    ]


def attest(state: PipelineState) -> None:
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
        plan = {
            "attach": docs if o.push else [],
            "write": docs,
            "sign": str(o.sign_key) if o.sign_key else None,
        }
        state.write_json(ATTEST_FILE, {"dry_run": True, **plan})
        state.attest = {"dry_run": True, **plan}
        say = f"dry run: would write {what} for {where}" + (f" and {signing}" if signing and o.push else "")
        state.record("attest", "skipped", say)
        from hydro_ci.pipeline.stages import STAGE_EVENT

        state.progress(ProgressEvent("attest", say, id=STAGE_EVENT))
        return
    key = signing_key(state)
    from hydro_ci.attest import artifact, facts
    from hydro_ci.pipeline import stages

    build = stages._build(state)
    builder = state.builder
    built = builder.built(build) if builder is not None and hasattr(builder, "built") else None
    if built is None:
        raise StageInputError(
            "the attest stage needs the build of this run",
            hint="run build and attest together (not --only attest)",
        )
    repository = build.image
    found = facts.collect(
        stages._context(state),
        built,
        repository=repository,
        platform=str(built.image.config.platform),
        model_dir=o.model_dir,
        framework=(state.contract_info or {}).get("framework"),
    )
    attachments = artifact.make_attachments(found, sbom_on=o.sbom, provenance_on=o.provenance, key=key)
    layout, _tar = stages.dist_paths(state)
    record: dict[str, Any] = {"digest": found.digest, "files": {}, "referrers": [], "signature": None}
    for a in attachments:
        for folder in (layout.parent, state.path("")):
            write_file(folder / a.filename, a.data, within=folder)
        record["files"][a.kind] = str(layout.parent / a.filename)
    if o.push and state.push is not None:
        from hydro_ci.image.reference import parse_reference
        from hydro_ci.registry.client import client_for

        creds = o.credentials
        client = client_for(
            repository,
            username=creds.username if creds else None,
            password=creds.password if creds else None,
            insecure=o.insecure,
        )
        from concurrent.futures import ThreadPoolExecutor

        ref = parse_reference(repository)
        with ThreadPoolExecutor(1) as pool:  # the signature and the referrers touch different tags
            sign_job = None
            if key is not None:
                from hydro_ci.sign.cosign import sign_image

                sign_job = pool.submit(sign_image, client, ref, found.digest, key)
            pushed_all = artifact.attach_all(client, ref.repository, attachments, subject_digest=found.digest,
                                             subject_size=found.manifest_size, epoch=found.source_date_epoch)
            signed = sign_job.result() if sign_job is not None else None
        for a, pushed in zip(attachments, pushed_all, strict=True):
            record["referrers"].append({"kind": a.kind, "artifact_type": a.artifact_type,
                                        "digest": pushed.digest, "via": pushed.via})
            state.progress(ProgressEvent("attest", f"{a.kind}: {pushed.digest} ({pushed.via})"))
        if signed is not None:
            record["signature"] = {"tag": signed.tag, "digest": signed.digest, "unchanged": signed.unchanged}
    state.attest = record
    state.write_json(ATTEST_FILE, record)
    attached = len(record["referrers"])
    say = f"{len(attachments)} document{'s' if len(attachments) != 1 else ''} written"
    if attached:
        say += f", {attached} attached ({record['referrers'][0]['via']} form)"
    if record["signature"]:
        say += f", signed at {record['signature']['tag'][:19]}…"
    state.progress(ProgressEvent("attest", say, id=stages.STAGE_EVENT))
