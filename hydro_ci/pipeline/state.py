"""What a pipeline run knows: its options, and what each stage found, kept in the output folder.

Every stage writes its result as a file in the output folder (default ``.hydro-ci/<model>/``)::

    check.json        the model folder as loaded (name, runtime, payload)   ← stage check
    contract.json     the contract used: declared, inferred or both, merged ← stage contract
    version.json      previous version, diff, bump and why, version, tags   ← stage version
    context/          the rendered build context (Dockerfile, plan.json…)   ← stage render
    build.json        image digest, layers, OCI layout and docker-archive   ← stage build
    push.json         digest in the registry, tags, bytes uploaded/skipped  ← stage push
    tag.json          the annotated git tag recording the release           ← stage tag
    attest.json       SBOM/provenance files, referrers' digests, signature  ← stage attest
    release-plan.json the dry-run release plan                              ← --dry-run
    summary.json      everything above in one document                      ← stage summary
    summary.md        the same as Markdown (the GitHub job summary)

A later stage reads what it needs from memory when the earlier stage ran in this process, else
from these files, which is what lets one stage be re-run alone (``--only build``). Each is sealed
(hydro_ci.seal) and read back only when its seal matches: in CI the output folder lies in a pull
request's checkout, which may have committed files there.
"""

from __future__ import annotations

import json
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydro_ci import boundedjson
from hydro_ci.build import DEFAULT_BUILDER, Built
from hydro_ci.contract.model import ModelFolder
from hydro_ci.errors import HydroCIError
from hydro_ci.pipeline.records import (
    AttestRecord,
    BuildRecord,
    ContractChoice,
    ReleasePlan,
    StageRecord,
    Summary,
)
from hydro_ci.progress import Progress
from hydro_ci.publish import PublishResult
from hydro_ci.registry.keychain import DEFAULT_KEYCHAIN, Keychain
from hydro_ci.render.assemble import output_dir
from hydro_ci.render.context import BuildContext
from hydro_ci.seal import SPLIT_HINT, SealError, read_sealed, write_sealed
from hydro_ci.version.decision import VersionDecision
from hydro_ci.version.record import RecordedTag

if TYPE_CHECKING:  # the signing code (cryptography) loads only for a run that signs
    from hydro_ci.sign.keys import SigningKey

DIST = Path("dist")
STAGE_EVENT = "stage"  # ProgressEvent.id of a stage's one-line result (the CLI keeps these on screen)
CHECK_FILE = "check.json"
CONTRACT_FILE = "contract.json"
VERSION_FILE = "version.json"
BUILD_FILE = "build.json"
PUSH_FILE = "push.json"
TAG_FILE = "tag.json"
PLAN_FILE = "release-plan.json"
SUMMARY_JSON = "summary.json"
SUMMARY_MD = "summary.md"


class StageInputError(HydroCIError):
    """A stage run alone cannot find what an earlier stage should have written."""


@dataclass(frozen=True)
class PipelineOptions:
    model_dir: Path
    model: str | None = None  # the Model document of a serving file holding several (its name)
    image: str | None = None  # repository without tag; default: hydro-ci: image:, else a local image
    builder: str = DEFAULT_BUILDER
    push: bool = False
    bump: str = "auto"
    version_source: str | None = None  # git | registry | both | None (chosen from the situation)
    version: str | None = None  # an explicit version: skips the version decision
    reserve: bool = False  # push the git tag first so no other pipeline gets this version
    git_tag: bool = True  # after a push, record the version as an annotated git tag (--no-git-tag)
    dry_run: bool = False
    output: Path | None = None  # default: .hydro-ci/<model>
    dist: Path = DIST
    base_image: str | None = None  # default: serving.yaml hydro-ci.base-image, else runtime
    base_from: str | None = None  # oci builder: read the base from here (oci:DIR:TAG, docker-archive:…)
    python_version: str | None = None  # oci: the runtime's Python when nothing else says it
    template: Path | None = None
    keychain: Keychain = DEFAULT_KEYCHAIN  # credentials for the registries, one lookup for every stage
    insecure: bool | None = None
    only: tuple[str, ...] = ()  # run just these stages (their inputs come from the output folder)
    sbom: bool = False  # attest: SPDX + CycloneDX SBOMs (oci builder)
    provenance: bool = False  # attest: in-toto/SLSA provenance
    sign_key: Path | None = None  # attest: cosign-format signature (and a signed provenance)
    sign_key_password_env: str = "COSIGN_PASSWORD"


@dataclass
class PipelineState:
    """Mutable state the stages pass along; each field is set by the stage named beside it."""

    options: PipelineOptions
    progress: Progress
    out: Path | None = None  # check (the output folder, once the model name is known)
    folder: ModelFolder | None = None  # check
    contract: ContractChoice | None = None  # contract (contract.json)
    version: VersionDecision | None = None  # version (version.json)
    context: BuildContext | None = None  # render
    plan: ReleasePlan | None = None  # plan (release-plan.json)
    built: Built | None = None  # build (the image itself, in this process)
    build: BuildRecord | None = None  # build (build.json)
    push: PublishResult | None = None  # push (push.json)
    tag: RecordedTag | None = None  # tag (tag.json)
    attest: AttestRecord | None = None  # attest (attest.json)
    signing_key: Future[SigningKey] | None = None  # attest: the --sign-key, loading since the run began
    summary: Summary | None = None  # summary (summary.json)
    stages: list[StageRecord] = field(default_factory=list)

    def record(self, name: str, status: str, detail: str = "") -> None:
        self.stages.append(StageRecord(name, status, detail))

    # --- the output folder ---------------------------------------------------------------------

    def path(self, name: str) -> Path:
        if self.out is None:
            raise StageInputError("the output folder is not known before the check stage ran")
        return self.out / name

    def write_json(self, name: str, data: Any) -> Path:
        return self.write_text(name, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")

    def write_text(self, name: str, text: str) -> Path:
        """Write a result file atomically, sealed (hydro_ci.seal); a symlink there (or on the way) is
        refused, never followed."""
        assert self.out is not None
        return write_sealed(self.path(name), text, within=self.out)

    def read_json(self, name: str, writer: str) -> Any:
        """A file an earlier stage (``writer``) wrote; missing → say which stage to run first. Only
        what hydro-ci sealed is read: the output folder may hold files the checkout committed."""
        path = self.path(name)
        again = f"run stage {writer} again (--only {writer}) or the whole pipeline"
        try:
            return boundedjson.loads(read_sealed(path, hint=f"{again}; {SPLIT_HINT}").decode("utf-8"))
        except FileNotFoundError:
            raise StageInputError(f"{path} does not exist (stage {writer} writes it)",
                                  hint=f"run that stage first (--only {writer}) or the whole pipeline"
                                  ) from None
        except SealError as exc:
            raise StageInputError(exc.message, hint=exc.hint) from None
        except (OSError, ValueError) as exc:
            raise StageInputError(f"{path}: cannot read ({exc})") from None


def default_output(name: str) -> Path:
    return output_dir(name)
