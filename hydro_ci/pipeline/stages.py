"""The pipeline's stages: plain functions over ``PipelineState``, run in the order of ``STAGES``.

Each stage does one step through the library that owns it (contract loader, inference, versioning,
render, builders, publishers), writes its record into the output folder and says what it did. A
stage that needs an earlier result takes the record from the state, else reads it back from the
file the earlier stage wrote.

The version is decided before rendering because the rendered context carries it (MODEL_VERSION
and the OCI version label are part of the image config, hence of its digest).
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

from hydro_ci import git
from hydro_ci.build import BuildRequest, EngineOptions, OCIOptions, make_builder
from hydro_ci.cache import cache_dir
from hydro_ci.contract.model import Contract, ModelFolder
from hydro_ci.errors import HydroCIError, UsageError
from hydro_ci.image.daemon import DaemonImage
from hydro_ci.image.layout import read_layout
from hydro_ci.image.model import PushableImage
from hydro_ci.infer import infer_model
from hydro_ci.infer.check import load_model_folder
from hydro_ci.output_files import ensure_dir
from hydro_ci.pipeline import attestation, release_plan, released, versioning
from hydro_ci.pipeline import report as text
from hydro_ci.pipeline import state as files
from hydro_ci.pipeline import summary as report
from hydro_ci.pipeline.attestation import AttestInputs, signing_key, start_loading_key
from hydro_ci.pipeline.records import BuildRecord, ContractChoice
from hydro_ci.pipeline.state import STAGE_EVENT, PipelineState, StageInputError, default_output
from hydro_ci.progress import ProgressEvent
from hydro_ci.publish import LAYOUT, PublishOptions, PublishResult, make_publisher
from hydro_ci.reference import image_repository
from hydro_ci.registry.client import client_for, registry_of
from hydro_ci.registry.keychain import Keychain
from hydro_ci.render.assemble import CONTEXT_DIR, Provenance, RenderOptions, render_folder
from hydro_ci.render.context import BuildContext, load_context
from hydro_ci.render.labels import contract_label_value
from hydro_ci.version.decision import Context, Released, VersionDecision, work_tree_of
from hydro_ci.version.record import record_release, release_message

log = logging.getLogger(__name__)

Stage = Callable[[PipelineState], None]




def _say(state: PipelineState, stage: str, message: str) -> None:
    state.progress(ProgressEvent(stage, message, id=STAGE_EVENT))


# --- check -------------------------------------------------------------------------------------

def check(state: PipelineState) -> None:
    """Load and validate the model folder (every problem, located)."""
    root = state.options.model_dir
    if not root.is_dir():
        raise UsageError(f"model folder {root} does not exist or is not a directory",
                         hint="pass the folder that holds serving.yaml")
    # as contract check: a contract must be had
    state.folder = load_model_folder(root, build=True, model=state.options.model)
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
        state.folder = load_model_folder(state.options.model_dir, model=state.options.model)
        if state.out is None:
            state.out = state.options.output or default_output(state.folder.name)
    return state.folder


# --- contract ----------------------------------------------------------------------------------

def contract(state: PipelineState) -> None:
    """The contract to build: declared, inferred from the model file, or both. That both agree is
    already enforced: every folder here comes from load_model_folder, whose model-files rule compares
    them and refuses a contradiction."""
    folder = _folder(state)
    declared: Contract | None = folder.contract
    inferred: Contract | None = None
    framework: str | None = None
    notes: list[str] = []
    if declared is None or not folder.is_python_runtime:
        try:
            result = infer_model(folder)
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
    state.contract = ContractChoice(source, chosen, framework,
                                    inferred if declared is not None else None, tuple(notes))
    state.write_json(files.CONTRACT_FILE, state.contract.to_json())
    sig = chosen.primary
    _say(state, "contract", f"{source}: signature {sig.name} ({len(sig.inputs)} inputs, "
                            f"{len(sig.outputs)} outputs)")


def _contract(state: PipelineState) -> ContractChoice:
    if state.contract is None:
        state.contract = ContractChoice.from_json(state.read_json(files.CONTRACT_FILE, "contract"))
    return state.contract


def _folder_with_contract(state: PipelineState) -> ModelFolder:
    return dataclasses.replace(_folder(state), contract=_contract(state).contract)


# --- version -----------------------------------------------------------------------------------

def version(state: PipelineState) -> None:
    """The next version and its tags (from git tags and/or the registry, bump from the contract diff),
    unless this very image is already released (``pipeline.released``): then that version."""
    image = registry_image(state)
    state.version = versioning.decide_version(
        state.options, _folder_with_contract(state), image, keychain(state), exclude=_outputs(state),
        find_released=(lambda ctx, decided: _find_released(state, ctx, decided, image)) if image else None)
    state.write_json(files.VERSION_FILE, state.version.to_json())
    v = state.version
    if v.released is not None:
        _say(state, "version", text.released_line(v.released))
    else:
        _say(state, "version", f"{v.version} ({v.bump_text}: {v.bump_reason})")


def _outputs(state: PipelineState) -> tuple[Path, ...]:
    """This run's own outputs: never shipped, whatever lies where (the output folder, --dist)."""
    assert state.out is not None
    return (state.out, state.options.dist)


def _find_released(state: PipelineState, ctx: Context, decided: VersionDecision,
                   repository: str) -> Released | None:
    ours = released.Ours(state.options.builder, lambda v, provenance: _digest_as(state, v, provenance),
                         contract_label_value(_contract(state).contract))
    if ctx.client is not None:
        return released.find_released(ctx, decided, repository, ctx.client, ours)
    with client_for(repository, keychain(state), insecure=state.options.insecure) as client:
        return released.find_released(ctx, decided, repository, client, ours)


def _digest_as(state: PipelineState, version: str, provenance: Provenance) -> str:
    """The manifest digest of the image this run builds if it carried ``version`` and ``provenance``:
    rendered aside (the render stage writes the real context) and computed without writing it."""
    assert state.out is not None
    ensure_dir(state.out)
    with tempfile.TemporaryDirectory(prefix=".released-", dir=state.out) as aside:
        context = render_folder(_folder_with_contract(state),
                                _render_options(state, version, Path(aside) / CONTEXT_DIR, provenance))
        return str(release_plan.oci_image(context, oci_options(state)).image.manifest_digest)


def _released(state: PipelineState) -> Released | None:
    return _version(state).released


def _version(state: PipelineState) -> VersionDecision:
    if state.version is None:
        state.version = VersionDecision.from_json(state.read_json(files.VERSION_FILE, "version"))
    return state.version


# --- render ------------------------------------------------------------------------------------

def _render_options(state: PipelineState, version: str, output: Path,
                    provenance: Provenance | None = None) -> RenderOptions:
    o = state.options
    return RenderOptions(output=output, version=version, base_image=o.base_image, template_dir=o.template,
                         link_large_files=o.builder == "oci", exclude=_outputs(state), provenance=provenance)


def render(state: PipelineState) -> None:
    """Write the build context (Dockerfile, payload, contract.protobin, plan.json); for an already
    released image, with its version, created time and revision, so the plan names its digest."""
    output = state.path(CONTEXT_DIR)
    v = _version(state)
    done = v.released
    provenance = None
    if done is not None and done.epoch is not None:
        provenance = Provenance(done.epoch, done.revision)
    state.context = render_folder(_folder_with_contract(state),
                                  _render_options(state, v.version, output, provenance))
    ctx = state.context
    size = sum(f.size for f in ctx.files)
    n = len(ctx.links)
    linked = f" ({n} large file{'s' if n > 1 else ''} linked, not copied)" if n else ""
    _say(state, "render", f"{output}: {len(ctx.files)} files{linked}, {size} bytes, base {ctx.base_image}")


def _context(state: PipelineState) -> BuildContext:
    if state.context is None:
        state.context = load_context(state.path(CONTEXT_DIR))
    return state.context


# --- plan (the release plan; always written, printed by --dry-run) ------------------------------

def plan(state: PipelineState) -> None:
    """What a build would produce and send, without building: layers, base digest, what is in the registry."""
    o = state.options
    v = _version(state)
    # the git tag recording this version: the tag stage's after the push, or --reserve's before it
    git_tag = v.git_tag if o.push and v.released is None and (o.git_tag or o.reserve) else None
    state.plan = release_plan.make_plan(o, _context(state), v, _contract(state), image_name(state),
                                        registry_image(state) is not None, keychain(state),
                                        oci_options(state), git_tag=git_tag)
    state.write_json(files.PLAN_FILE, state.plan.to_json())
    _say(state, "plan", f"{len(state.plan.layers)} layers, base {state.plan.base.ref}"
                        + (": nothing to build or push" if v.released else ""))


# --- build -------------------------------------------------------------------------------------

def registry_image(state: PipelineState) -> str | None:
    """The repository the image is versioned and pushed as (--image, else hydro-ci: image:), as
    every verb decides it; None when neither names one (then nothing can be pushed)."""
    image = image_repository(state.options.image, _folder(state).config.get("image"))
    if image is None and state.options.push:
        raise UsageError("--push needs --image REGISTRY/REPOSITORY",
                         hint="e.g. --image ghcr.io/acme/iris, or hydro-ci: image: in serving.yaml")
    return image


def image_name(state: PipelineState) -> str:
    """The registry repository, else the model name: a local image name when nothing is pushed."""
    return registry_image(state) or _folder(state).name


def keychain(state: PipelineState) -> Keychain:
    """The run's keychain, its given credentials kept for the image's registry alone."""
    image = registry_image(state)
    return state.options.keychain.only_for([registry_of(image)] if image else [])


def oci_options(state: PipelineState) -> OCIOptions:
    return OCIOptions(base_from=state.options.base_from, python_version=state.options.python_version,
                      keychain=keychain(state), insecure=state.options.insecure)


def dist_paths(state: PipelineState) -> tuple[Path, Path]:
    """Where the daemonless build writes: an OCI layout directory and a docker-archive tarball."""
    v = _version(state)
    name = f"{_folder(state).name}-{v.version}"
    if "/" in name or "\\" in name or ".." in name or name != name.strip():  # never a path out of --dist
        raise UsageError(f"version {v.version!r} of {_folder(state).name} cannot name a file in "
                         f"{state.options.dist}", hint="versions are tags such as 1.2.0")
    dist = state.options.dist
    return dist / f"{name}.oci", dist / f"{name}.tar"


def build(state: PipelineState) -> None:
    """Build the image, then write it where this run keeps it: daemonless to dist/ (OCI layout and
    docker-archive), or tagged in the Docker engine (after the push stage, when pushing)."""
    if state.options.dry_run:
        state.record("build", "skipped", "dry run")
        return
    if (done := _released(state)) is not None:
        state.record("build", "skipped", text.released_line(done))
        return
    v = _version(state)
    image = image_name(state)
    local = PublishOptions(repository=image)
    if state.options.builder == "oci":
        layout_dir, tar = dist_paths(state)
        ensure_dir(layout_dir.parent)
        # dist/ is this run's output, written afresh: its tags may be replaced.
        local = dataclasses.replace(local, layout=layout_dir, archive=tar, replace_layout_tags=True)
        builder = make_builder("oci", oci_options(state))
    else:
        local = dataclasses.replace(local, engine=not state.options.push)
        builder = make_builder("docker", EngineOptions(keychain=keychain(state)))
    publisher = make_publisher(local) if local.any else None  # unusable outputs fail before the build
    state.built = builder.build(BuildRequest(_context(state), image, v.version), state.progress)
    outputs = publisher.publish(state.built.image, v.tags, state.progress) if publisher else None
    state.build = BuildRecord(state.built.result, outputs)
    state.write_json(files.BUILD_FILE, state.build.to_json())
    if state.build.digest:  # daemonless: the manifest digest, the same bytes a push sends
        _say(state, "build", f"{image}@{state.build.digest}")
    else:  # the engine's image id is no digest a registry knows: that is the push's
        _say(state, "build", f"{image}:{v.version}: engine image {state.build.build.id} (digest: not pushed)")


def _build(state: PipelineState) -> BuildRecord:
    if state.build is None:
        state.build = BuildRecord.from_json(state.read_json(files.BUILD_FILE, "build"))
    return state.build


def _image(state: PipelineState) -> PushableImage:
    """The built image: from this process, else where the build stage left it (the engine, dist/)."""
    if state.built is not None:
        return state.built.image
    record = _build(state)
    if record.build.builder == "docker":
        return DaemonImage(record.build.id, cache_dir(),
                           hint="run the build stage again (--only build)")
    layout_dir = record.output(LAYOUT)
    if layout_dir is None:
        raise StageInputError(f"{state.path(files.BUILD_FILE)} names no OCI layout to push from",
                              hint="run the build stage again (--only build)")
    tag = _version(state).tags.version
    image = read_layout(layout_dir, tag)
    if record.digest and str(image.manifest_digest) != record.digest:  # dist/ may be a checkout's
        raise StageInputError(f"{layout_dir}:{tag} is {image.manifest_digest}, not the image the build stage "
                              f"made ({record.digest})", hint="run the build stage again (--only build)")
    return image


# --- push --------------------------------------------------------------------------------------

def push(state: PipelineState) -> None:
    """Push to the registry (only with --push): every immutable tag first, moving tags last; the
    engine builder's local tags follow once the registry has them."""
    if state.options.dry_run or not state.options.push:
        state.record("push", "skipped", "dry run" if state.options.dry_run else "no --push")
        return
    if (done := _released(state)) is not None:
        state.record("push", "skipped", text.released_line(done) + ": nothing sent")
        return
    repository = registry_image(state)
    assert repository is not None  # registry_image refuses --push without one
    signing_key(state)  # a wrong key or password fails before anything is pushed
    publisher = make_publisher(PublishOptions(
        repository=repository, registry=True, engine=_build(state).build.builder == "docker",
        keychain=keychain(state), insecure=state.options.insecure))
    state.push = publisher.publish(_image(state), _version(state).tags, state.progress)
    state.write_json(files.PUSH_FILE, state.push.to_json())
    _say(state, "push", f"{repository}@{state.push.digest}"
                        + (" (already there, nothing sent)" if state.push.unchanged else ""))


def _push(state: PipelineState) -> PublishResult:
    if state.push is None:
        state.push = PublishResult.from_json(state.read_json(files.PUSH_FILE, "push"))
    return state.push


# --- tag (the release recorded where versions are read) -----------------------------------------

def tag(state: PipelineState) -> None:
    """After a push, the annotated git tag of the version (its digest and bump in the message),
    pushed to origin: whenever versions are read from git, unless --no-git-tag or --reserve made it."""
    o = state.options
    v = _version(state)
    skip = ("dry run" if o.dry_run else "no --push" if not o.push
            else text.released_line(v.released) if v.released is not None
            else "versions are not read from git" if v.git_tag is None
            else f"{v.git_tag} was pushed before the build (--reserve)" if v.reserved
            else "--no-git-tag" if not o.git_tag else None)
    if skip is not None:
        state.record("tag", "skipped", skip)
        return
    assert v.git_tag is not None
    repo = work_tree_of(_folder(state).root)
    if repo is None:
        state.record("tag", "skipped", "not in a git work tree")
        return
    existing = git.tag_commit(repo, v.git_tag)
    if existing is not None:
        # --version reusing a version git records (the auto decision is above every tag): never move
        # a release's record; at HEAD it is this release's already
        at = "HEAD" if existing == git.head_commit(repo) else existing[:12]
        state.record("tag", "skipped", f"{v.git_tag} already exists at {at}: not moved")
        _say(state, "tag", f"{v.git_tag} already exists at {at}: not moved")
        return
    pushed = _push(state)
    assert pushed.digest is not None
    message = release_message(v.model, v.version, pushed.image, pushed.digest, v.bump_text, v.bump_reason)
    state.tag = record_release(repo, v.git_tag, message)
    state.write_json(files.TAG_FILE, state.tag.to_json())
    remote = state.tag.remote
    where = f"pushed to {remote}" if remote else "local: the repository has no remote origin"
    _say(state, "tag", f"{v.git_tag} ({where})")


# --- attest ------------------------------------------------------------------------------------

def attest(state: PipelineState) -> None:
    """SBOM and provenance beside the image; attached to the pushed digest, and signed (opt-in)."""
    if (done := _released(state)) is not None:
        state.record("attest", "skipped", text.released_line(done))
        return
    attestation.attest(state, lambda: AttestInputs(
        _context(state), _contract(state).framework, keychain(state), dist_paths(state)[0].parent))


# --- summary -----------------------------------------------------------------------------------

def summary(state: PipelineState) -> None:
    """summary.json and summary.md: everything a person or a CI job wants to know about the run."""
    state.summary = report.collect(state)
    state.write_json(files.SUMMARY_JSON, state.summary.to_json())
    state.write_text(files.SUMMARY_MD, report.markdown(state.summary))


# The pipeline, in order. `--only NAME` runs a subset; each stage loads what it needs from files.
STAGES: tuple[Stage, ...] = (check, contract, version, render, plan, build, push, tag, attest, summary)
STAGE_NAMES: tuple[str, ...] = tuple(s.__name__ for s in STAGES)


def run(state: PipelineState) -> PipelineState:
    if state.options.sign_key is not None and not state.options.dry_run:
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
