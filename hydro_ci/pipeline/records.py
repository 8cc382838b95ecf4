"""The records the pipeline's stages hand each other; the files under ``.hydro-ci/<model>/`` are
their serialisation (``to_json``), and a stage run alone reads them back (``from_json``).

Produced by the verbs' packages and only carried here: ``VersionDecision`` (version/),
``BuildResult`` (build/), ``PublishResult`` (publish/). The pipeline's own: the contract it chose,
the build with its local outputs, the release plan and the summary, which the Markdown job summary,
the terminal report and the GitHub outputs all read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hydro_ci.build.api import BaseRecord, BuildResult, LayerRecord
from hydro_ci.contract.diff import ContractDiff
from hydro_ci.contract.jsonform import contract_from_dict, contract_to_dict
from hydro_ci.contract.model import Contract
from hydro_ci.publish.api import ARCHIVE, LAYOUT, PublishResult
from hydro_ci.version.decision import Released, VersionDecision
from hydro_ci.version.record import RecordedTag
from hydro_ci.version.sources import Release
from hydro_ci.version.tags import TagSet


@dataclass(frozen=True)
class ContractChoice:
    """contract.json: the contract built (declared, inferred from the model files, or both)."""

    source: str  # declared | inferred | declared+inferred
    contract: Contract
    framework: str | None = None
    inferred: Contract | None = None  # when both were had (they agree: the check stage enforces it)
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "framework": self.framework, "notes": list(self.notes),
                "contract": contract_to_dict(self.contract),
                "inferred": contract_to_dict(self.inferred) if self.inferred is not None else None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ContractChoice:
        inferred = data.get("inferred")
        return cls(str(data["source"]), contract_from_dict(data["contract"]), data.get("framework"),
                   contract_from_dict(inferred) if inferred else None,
                   tuple(str(n) for n in data.get("notes") or ()))


@dataclass(frozen=True)
class BuildRecord:
    """build.json: what the builder made, and where the build stage wrote it (layout, archive,
    engine tags; the registry is the push stage's)."""

    build: BuildResult
    outputs: PublishResult | None = None

    def output(self, kind: str) -> str | None:
        where = self.outputs.at(kind) if self.outputs else None
        return where.location if where else None

    @property
    def digest(self) -> str | None:
        return self.build.digest or (self.outputs.digest if self.outputs else None)

    def to_json(self) -> dict[str, Any]:
        return {**self.build.to_json(), "digest": self.digest,
                "outputs": self.outputs.to_json() if self.outputs else None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BuildRecord:
        outputs = data.get("outputs")
        return cls(BuildResult.from_json(data), PublishResult.from_json(outputs) if outputs else None)


@dataclass(frozen=True)
class ReleasePlan:
    """release-plan.json: what a build would make and send, known before anything is built.

    The dry run prints it and the real run writes it before building, from the same reads (git
    tags, the registry), so the two are equal; then the real run does what it says.
    """

    model: str
    image: str
    builder: str
    push: bool
    contract: ContractChoice | None
    decision: VersionDecision
    base: BaseRecord
    manifest_digest: str | None = None  # the oci builder knows it before building
    layers: tuple[LayerRecord, ...] = ()
    notes: tuple[str, ...] = ()
    git_tag: str | None = None  # the annotated git tag the tag stage makes after the push

    @property
    def version(self) -> str:
        return self.decision.version

    @property
    def tags(self) -> TagSet:
        return self.decision.tags

    @property
    def previous(self) -> Release | None:
        return self.decision.previous

    @property
    def diff(self) -> ContractDiff | None:
        return self.decision.diff

    @property
    def released(self) -> Released | None:
        return self.decision.released

    @property
    def bytes_total(self) -> int:
        return sum(la.size for la in self.layers)

    @property
    def bytes_to_upload(self) -> int:
        if self.released is not None:
            return 0
        return sum(la.size for la in self.layers if la.in_registry is not True)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model, "image": self.image, "builder": self.builder, "push": self.push,
            "contract": self.contract.to_json() if self.contract else None,
            "diff": self.diff.to_dict() if self.diff else None,
            "previous": self.previous.to_dict() if self.previous else None,
            "bump": self.decision.bump_json(),
            "version": self.version, "tags": list(self.tags.names), "tag_kinds": self.tags.to_json(),
            "refs": [f"{self.image}:{t}" for t in self.tags.names],
            "released": self.released.to_json() if self.released else None,
            "git_tag": self.git_tag,
            "base": {**self.base.to_json(), "manifest_digest": self.manifest_digest},
            "layers": [la.to_json(with_cache=False) for la in self.layers],
            "bytes_total": self.bytes_total, "bytes_to_upload": self.bytes_to_upload,
            "notes": list(self.notes),
            "decision": self.decision.to_json(),  # the record itself, so the plan reads back whole
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReleasePlan:
        return cls(
            model=str(data["model"]), image=str(data["image"]), builder=str(data["builder"]),
            push=bool(data["push"]),
            contract=ContractChoice.from_json(data["contract"]) if data.get("contract") else None,
            decision=VersionDecision.from_json(data["decision"]),
            base=BaseRecord.from_json(data["base"]), manifest_digest=data["base"].get("manifest_digest"),
            layers=tuple(LayerRecord.from_json(la) for la in data.get("layers") or ()),
            notes=tuple(str(n) for n in data.get("notes") or ()), git_tag=data.get("git_tag"),
        )


@dataclass(frozen=True)
class Referrer:
    """An attestation attached to the pushed image (OCI 1.1 referrer, or the tag scheme)."""

    kind: str  # spdx | cyclonedx | provenance
    artifact_type: str
    digest: str
    via: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "artifact_type": self.artifact_type, "digest": self.digest,
                "via": self.via}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Referrer:
        return cls(str(data["kind"]), str(data.get("artifact_type") or ""), str(data["digest"]),
                   str(data.get("via") or ""))


@dataclass(frozen=True)
class ImageSignature:
    tag: str
    digest: str
    unchanged: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"tag": self.tag, "digest": self.digest, "unchanged": self.unchanged}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ImageSignature:
        return cls(str(data["tag"]), str(data["digest"]), bool(data.get("unchanged")))


@dataclass(frozen=True)
class AttestRecord:
    """attest.json: the SBOM/provenance files written, what was attached where, the signature; or,
    for a dry run, what would be written, attached and signed."""

    dry_run: bool = False
    digest: str | None = None
    files: Mapping[str, str] = field(default_factory=dict)  # kind → path
    referrers: tuple[Referrer, ...] = ()
    signature: ImageSignature | None = None
    write: tuple[str, ...] = ()  # dry run
    attach: tuple[str, ...] = ()  # dry run
    sign: str | None = None  # dry run: the key it would sign with

    def to_json(self) -> dict[str, Any]:
        if self.dry_run:
            return {"dry_run": True, "write": list(self.write), "attach": list(self.attach),
                    "sign": self.sign}
        return {"digest": self.digest, "files": dict(self.files),
                "referrers": [r.to_json() for r in self.referrers],
                "signature": self.signature.to_json() if self.signature else None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AttestRecord:
        if data.get("dry_run"):
            return cls(True, write=tuple(data.get("write") or ()), attach=tuple(data.get("attach") or ()),
                       sign=data.get("sign"))
        sig = data.get("signature")
        return cls(False, data.get("digest"), dict(data.get("files") or {}),
                   tuple(Referrer.from_json(r) for r in data.get("referrers") or ()),
                   ImageSignature.from_json(sig) if sig else None)


@dataclass(frozen=True)
class StageRecord:
    name: str
    status: str  # "done" | "skipped" | "failed"
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StageRecord:
        return cls(str(data["name"]), str(data["status"]), str(data.get("detail") or ""))


@dataclass(frozen=True)
class Summary:
    """summary.json: everything about a run, gathered from the other records.

    ``summary.md`` (the GitHub job summary), the terminal report and the Action's outputs are all
    rendered from this one record, so they cannot disagree.
    """

    model: str | None
    model_dir: str
    output: str | None
    dry_run: bool
    builder: str
    image: str | None
    contract: ContractChoice | None = None
    version: VersionDecision | None = None
    plan: ReleasePlan | None = None
    plan_file: str | None = None
    build: BuildRecord | None = None
    push: PublishResult | None = None
    tag: RecordedTag | None = None
    attest: AttestRecord | None = None
    stages: tuple[StageRecord, ...] = ()

    @property
    def released(self) -> Released | None:
        """Already released: nothing was built, pushed or tagged; the version and digest are its."""
        return self.version.released if self.version else None

    @property
    def tags(self) -> tuple[str, ...]:
        return self.version.tags.names if self.version else ()

    @property
    def refs(self) -> tuple[str, ...]:
        return tuple(f"{self.image}:{t}" for t in self.tags) if self.image else ()

    @property
    def digest(self) -> str | None:
        """The registry's manifest digest once pushed (or already released); before a push, the
        daemonless build's (the same bytes a push sends); None for an engine image not pushed."""
        if self.released is not None:
            return self.released.digest
        return (self.push.digest if self.push else None) or (self.build.digest if self.build else None)

    @property
    def id(self) -> str | None:
        return self.build.build.id if self.build else None

    @property
    def layout(self) -> str | None:
        return self.build.output(LAYOUT) if self.build else None

    @property
    def archive(self) -> str | None:
        return self.build.output(ARCHIVE) if self.build else None

    @property
    def layers(self) -> tuple[LayerRecord, ...]:
        return (self.plan.layers if self.plan else ()) or (self.build.build.layers if self.build else ())

    @property
    def base(self) -> BaseRecord | None:
        return self.plan.base if self.plan else (self.build.build.base if self.build else None)

    @property
    def notes(self) -> tuple[str, ...]:
        return (self.contract.notes if self.contract else ()) + (self.plan.notes if self.plan else ())

    @property
    def failed(self) -> StageRecord | None:
        return next((s for s in self.stages if s.status == "failed"), None)

    def to_json(self) -> dict[str, Any]:
        v = self.version
        failed = self.failed
        return {
            "model": self.model, "model_dir": self.model_dir, "output": self.output,
            "dry_run": self.dry_run, "builder": self.builder, "image": self.image,
            "version": v.version if v else None, "tags": list(self.tags), "refs": list(self.refs),
            "digest": self.digest, "id": self.id, "layout": self.layout, "archive": self.archive,
            "bump": v.bump_json() if v else None,
            "released": self.released.to_json() if self.released else None,
            "git_tag": self.tag.to_json() if self.tag else None,
            "previous": v.previous.to_dict() if v and v.previous else None,
            "diff": v.diff.to_dict() if v and v.diff else None,
            "contract": self.contract.to_json() if self.contract else None,
            "plan": self.plan_file,
            "layers": [la.to_json() for la in self.layers],
            "base": self.base.to_json() if self.base else None,
            "build": self.build.to_json() if self.build else None,
            "push": self.push.to_json() if self.push else None,
            "attest": self.attest.to_json() if self.attest else None,
            "notes": list(self.notes),
            "stages": [s.to_json() for s in self.stages],
            "failed": {"stage": failed.name, "error": failed.detail} if failed else None,
            # the records themselves, so the summary reads back whole
            "decision": v.to_json() if v else None,
            "release_plan": self.plan.to_json() if self.plan else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Summary:
        def maybe(key: str, reader: Any) -> Any:
            return reader(data[key]) if data.get(key) else None

        return cls(
            model=data.get("model"), model_dir=str(data["model_dir"]), output=data.get("output"),
            dry_run=bool(data.get("dry_run")), builder=str(data["builder"]), image=data.get("image"),
            contract=maybe("contract", ContractChoice.from_json),
            version=maybe("decision", VersionDecision.from_json),
            plan=maybe("release_plan", ReleasePlan.from_json), plan_file=data.get("plan"),
            build=maybe("build", BuildRecord.from_json), push=maybe("push", PublishResult.from_json),
            tag=maybe("git_tag", RecordedTag.from_json), attest=maybe("attest", AttestRecord.from_json),
            stages=tuple(StageRecord.from_json(s) for s in data.get("stages") or ()),
        )
