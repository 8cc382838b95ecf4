"""The pipeline's stages: plain functions over ``PipelineState``, run in the order of ``STAGES``.

Each stage does one step through the library that owns it (contract loader, inference, versioning,
render, builders), writes its result into the output folder and records what it did. A stage that
needs an earlier result takes it from the state, else from the file the earlier stage wrote.

The version is decided before rendering because the rendered context carries it (MODEL_VERSION
and the OCI version label are part of the image config, hence of its digest).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydro_ci.build import BuildResult, ProgressEvent
from hydro_ci.contract.model import Contract, ModelFolder
from hydro_ci.errors import HydroCIError, UsageError
from hydro_ci.output_files import ensure_dir
from hydro_ci.pipeline import state as files
from hydro_ci.pipeline.state import PipelineState, StageInputError, default_output
from hydro_ci.render.context import BuildContext

log = logging.getLogger(__name__)

Stage = Callable[[PipelineState], None]


STAGE_EVENT = "stage"  # ProgressEvent.id of a stage's one-line result (the CLI keeps these on screen)


def _say(state: PipelineState, stage: str, message: str) -> None:
    state.progress(ProgressEvent(stage, message, id=STAGE_EVENT))


# --- check -------------------------------------------------------------------------------------

def check(state: PipelineState) -> None:
    """Load and validate the model folder (every problem, located)."""
    from hydro_ci.infer.check import load_model_folder

    root = state.options.model_dir
    if not root.is_dir():
        raise UsageError(f"model folder {root} does not exist or is not a directory",
                         hint="pass the folder that holds serving.yaml")
    state.folder = load_model_folder(root, build=True)  # as contract check: a contract must be had
    folder = _folder(state)
    state.out = state.options.output or default_output(folder.name)
    state.write_json(files.CHECK_FILE, {
        "model_dir": str(root), "name": folder.name, "runtime": folder.runtime,
        "install_command": folder.install_command, "payload": list(folder.payload),
        "declared_contract": folder.contract is not None, "problems": [],
    })
    _say(state, "check", f"{root}: {folder.name} is valid")


def _folder(state: PipelineState) -> ModelFolder:
    if state.folder is None:
        from hydro_ci.infer.check import load_model_folder

        state.folder = load_model_folder(state.options.model_dir)
        if state.out is None:
            state.out = state.options.output or default_output(state.folder.name)
    return state.folder


# --- contract ----------------------------------------------------------------------------------

def contract(state: PipelineState) -> None:
    """The contract to build: declared, inferred from the model file, or both. That both agree is
    already enforced: every folder here comes from load_model_folder, whose model-files rule compares
    them and refuses a contradiction."""
    from hydro_ci.contract.jsonform import contract_to_dict

    folder = _folder(state)
    declared: Contract | None = folder.contract
    inferred: Contract | None = None
    framework: str | None = None
    notes: list[str] = []
    if declared is None or not folder.is_python_runtime:
        from hydro_ci.infer import infer_folder

        try:
            result = infer_folder(folder.root)
        except HydroCIError as exc:
            if declared is None:
                raise
            notes.append(f"model files not read ({exc}); the declared contract is used")
        else:
            inferred = Contract(folder.name, result.contract.signatures)
            framework = result.framework
            notes += list(result.notes)
    chosen = declared or inferred
    assert chosen is not None
    source = "declared+inferred" if declared and inferred else "declared" if declared else "inferred"
    state.contract = chosen
    state.contract_info = {
        "source": source, "framework": framework, "notes": notes,
        "contract": contract_to_dict(chosen),
        "inferred": contract_to_dict(inferred) if inferred is not None and declared is not None else None,
    }
    state.write_json(files.CONTRACT_FILE, state.contract_info)
    sig = chosen.primary
    _say(state, "contract", f"{source}: signature {sig.name} ({len(sig.inputs)} inputs, "
                            f"{len(sig.outputs)} outputs)")


def _contract(state: PipelineState) -> Contract:
    if state.contract is None:
        from hydro_ci.contract.jsonform import contract_from_dict

        state.contract_info = state.read_json(files.CONTRACT_FILE, "contract")
        state.contract = contract_from_dict(state.contract_info["contract"])
    return state.contract


def _folder_with_contract(state: PipelineState) -> ModelFolder:
    return dataclasses.replace(_folder(state), contract=_contract(state))


# --- version -----------------------------------------------------------------------------------

def version(state: PipelineState) -> None:
    """The next version and its tags (from git tags and/or the registry, bump from the contract diff)."""
    from hydro_ci.pipeline import versioning

    state.version = versioning.decide_version(state.options, _folder_with_contract(state))
    state.write_json(files.VERSION_FILE, state.version)
    v = state.version
    _say(state, "version", f"{v['version']} ({v['bump']['kind']}: {v['bump']['reason']})")


def _version(state: PipelineState) -> dict[str, Any]:
    if state.version is None:
        state.version = state.read_json(files.VERSION_FILE, "version")
    return state.version


# --- render ------------------------------------------------------------------------------------

def render(state: PipelineState) -> None:
    """Write the build context (Dockerfile, payload, contract.protobin, plan.json)."""
    from hydro_ci.render.assemble import RenderOptions, render_folder

    output = state.path(files.CONTEXT_DIR)
    assert state.out is not None
    state.context = render_folder(_folder_with_contract(state), RenderOptions(
        output=output, version=_version(state)["version"], base_image=state.options.base_image,
        template_dir=state.options.template, link_large_files=state.options.builder == "oci",
        exclude=(state.out, state.options.dist),
    ))
    ctx = state.context
    size = sum(f.size for f in ctx.files)
    n = len(ctx.links)
    linked = f" ({n} large file{'s' if n > 1 else ''} linked, not copied)" if n else ""
    _say(state, "render", f"{output}: {len(ctx.files)} files{linked}, {size} bytes, base {ctx.base_image}")


def _context(state: PipelineState) -> BuildContext:
    if state.context is None:
        from hydro_ci.render.context import load_context

        state.context = load_context(state.path(files.CONTEXT_DIR))
    return state.context


# --- plan (the release plan; always written, printed by --dry-run) ------------------------------

def plan(state: PipelineState) -> None:
    """What a build would produce and send, without building: layers, base digest, what is in the registry."""
    from hydro_ci.pipeline import release_plan

    contract_info = state.contract_info or state.read_json(files.CONTRACT_FILE, "contract")
    state.plan = release_plan.make_plan(state.options, _context(state), _version(state), contract_info,
                                        image_repository(state))
    state.write_json(files.PLAN_FILE, state.plan)
    layers = state.plan.get("layers") or []
    _say(state, "plan", f"{len(layers)} layers, base {state.plan['base']['ref']}")


# --- build -------------------------------------------------------------------------------------

def image_repository(state: PipelineState) -> str:
    """--image, else the model name: a local image name when nothing is pushed."""
    return state.options.image or _folder(state).name


def dist_paths(state: PipelineState) -> tuple[Path, Path]:
    """Where the daemonless build writes: an OCI layout directory and a docker-archive tarball."""
    v = _version(state)
    name = f"{_folder(state).name}-{v['version']}"
    if "/" in name or "\\" in name or ".." in name or name != name.strip():  # never a path out of --dist
        raise UsageError(f"version {v['version']!r} of {_folder(state).name} cannot name a file in "
                         f"{state.options.dist}", hint="versions are tags such as 1.2.0")
    dist = state.options.dist
    return dist / f"{name}.oci", dist / f"{name}.tar"


def build(state: PipelineState) -> None:
    """Build the image: daemonless to dist/ (OCI layout + docker-archive), or with the Docker engine."""
    if state.options.dry_run:
        state.record("build", "skipped", "dry run")
        return
    from hydro_ci.build import BuildRequest, make_builder

    v = _version(state)
    opts: dict[str, Any] = {"insecure": state.options.insecure}
    if state.options.builder == "oci":
        layout_dir, tar = dist_paths(state)
        ensure_dir(layout_dir.parent)
        # dist/ is this run's output, written afresh: its tags may be replaced.
        opts.update(output_layout=layout_dir, output_tar=tar, base_from=state.options.base_from,
                    python_version=state.options.python_version, replace_layout_tags=True)
    builder = make_builder(state.options.builder, **opts)
    tags = [t["tag"] for t in v["tags"]]
    # With --push, the engine sets local tags only once the registry accepted the version.
    request = BuildRequest(_context(state), image_repository(state), tags[0], tuple(tags[1:]),
                           push_follows=state.options.push)
    state.build = builder.build(request, state.progress)
    state.builder = builder
    state.write_json(files.BUILD_FILE, state.build.to_dict())
    _say(state, "build", f"{state.build.image}@{state.build.id}")


def _build(state: PipelineState) -> BuildResult:
    if state.build is None:
        data = state.read_json(files.BUILD_FILE, "build")
        state.build = BuildResult(image=data["image"], id=data["id"], tags=tuple(data["tags"]),
                                   builder=data["builder"], digest=data.get("digest"),
                                   extra=data.get("extra") or {})
    return state.build


# --- push --------------------------------------------------------------------------------------

def push(state: PipelineState) -> None:
    """Push to the registry (only with --push): version tag first, moving tags last."""
    if state.options.dry_run or not state.options.push:
        state.record("push", "skipped", "dry run" if state.options.dry_run else "no --push")
        return
    from hydro_ci.build import make_builder
    from hydro_ci.pipeline.attestation import signing_key

    signing_key(state)  # a wrong key or password fails before anything is pushed

    result = _build(state)
    builder = make_builder(result.builder, insecure=state.options.insecure)
    state.push = builder.push(result, credentials=state.options.credentials, progress=state.progress)
    data = state.push.to_dict()
    state.write_json(files.PUSH_FILE, data)
    same = data.get("unchanged") or data.get("skipped")
    _say(state, "push", f"{result.image}@{data.get('digest')}"
                        + (" (already there, nothing sent)" if same else ""))


# --- summary -----------------------------------------------------------------------------------

def summary(state: PipelineState) -> None:
    """summary.json and summary.md: everything a person or a CI job wants to know about the run."""
    from hydro_ci.pipeline import summary as report

    data = report.collect(state)
    state.summary = data
    state.write_json(files.SUMMARY_JSON, data)
    state.write_text(files.SUMMARY_MD, report.markdown(data))


def attest(state: PipelineState) -> None:
    """SBOM and provenance beside the image; attached to the pushed digest, and signed (opt-in)."""
    from hydro_ci.pipeline.attestation import attest as run_attest

    run_attest(state)


# The pipeline, in order. `--only NAME` runs a subset; each stage loads what it needs from files.
STAGES: tuple[Stage, ...] = (check, contract, version, render, plan, build, push, attest, summary)
STAGE_NAMES: tuple[str, ...] = tuple(s.__name__ for s in STAGES)


def run(state: PipelineState) -> PipelineState:
    if state.options.sign_key is not None and not state.options.dry_run:
        from hydro_ci.pipeline.attestation import start_loading_key

        start_loading_key(state)  # scrypt of an encrypted key runs while the image builds
    chosen = set(state.options.only) or set(STAGE_NAMES)
    unknown = chosen - set(STAGE_NAMES)
    if unknown:
        raise UsageError(f"unknown stage {sorted(unknown)[0]!r}", hint="stages: " + ", ".join(STAGE_NAMES))
    if "check" not in chosen:
        _folder(state)  # the model name, hence the output folder the other stages read from
    for stage in STAGES:
        if stage.__name__ not in chosen:
            continue
        before = len(state.stages)
        log.info("stage %s", stage.__name__)
        try:
            stage(state)
        except HydroCIError as exc:
            state.record(stage.__name__, "failed", str(exc))
            _summary_of_failure(state, stage)
            raise
        if len(state.stages) == before:
            state.record(stage.__name__, "done")
    return state


def _summary_of_failure(state: PipelineState, failed: Stage) -> None:
    """Still write summary.json/.md (what was done, and where it stopped) for the CI job summary."""
    if state.out is None or failed is summary:
        return
    try:
        summary(state)
    except (HydroCIError, OSError) as exc:  # the original error is the one to report
        log.debug("no summary after the failure: %s", exc)


__all__ = ["STAGES", "STAGE_NAMES", "StageInputError", "run"]
