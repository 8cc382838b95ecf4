"""The release plan: what a build would make and send, known before anything is built or pushed.

Contract and its diff, the bump and why, the version and tags, the base image (pinned by digest when
it comes from a registry), the layers with their digests and sizes, and which of them the registry
already holds. The daemonless builder computes layer digests without writing an image (the layers
land in its cache, so the real build that follows reuses them); for the engine builder the plan
lists the layer classes of the build context instead.
"""

from __future__ import annotations

import dataclasses
import logging

from hydro_ci.build import BaseRecord, LayerRecord, OCIOptions
from hydro_ci.build.engine import context_layers
from hydro_ci.build.oci import BuiltImage, OCIBuilder, build_image
from hydro_ci.errors import HydroCIError
from hydro_ci.pipeline.records import ContractChoice, ReleasePlan
from hydro_ci.pipeline.state import PipelineOptions
from hydro_ci.reference import parse_reference
from hydro_ci.registry.client import client_for
from hydro_ci.registry.keychain import Keychain
from hydro_ci.render.context import BuildContext, check_links
from hydro_ci.version.decision import VersionDecision

log = logging.getLogger(__name__)


def make_plan(options: PipelineOptions, context: BuildContext, decision: VersionDecision,
              contract: ContractChoice, repository: str, registry: bool, keychain: Keychain,
              oci: OCIOptions, git_tag: str | None = None) -> ReleasePlan:
    """``registry``: an image repository is named, so the registry is asked which layers it has
    (as the version stage read its versions)."""
    notes: list[str] = []
    base = BaseRecord(context.base_image)
    manifest_digest = None
    if options.builder == "oci":
        layers, base, manifest_digest = _oci_layers(context, oci, notes)
    else:
        layers = context_layers(context)
        notes.append("the Docker engine builder decides its own layers; the plan lists the context's")
    if registry:  # a local run asks no registry unless an image repository is named
        layers = _mark_present(options, repository, keychain, layers, notes)
    released = decision.released
    if released is not None and manifest_digest not in (None, released.digest):
        notes.append(f"this run renders {manifest_digest}, not the released {released.digest}: the layer "
                     "cache or the base changed since the check")
    return ReleasePlan(
        model=context.model_name, image=repository, builder=options.builder, push=options.push,
        contract=contract, decision=decision, base=base, manifest_digest=manifest_digest, layers=layers,
        git_tag=git_tag,
        notes=(*notes, *decision.notes,
               *(f"{d.version} only in {d.only_in}: {d.meaning}" for d in decision.disagreements)),
    )


def oci_image(context: BuildContext, oci: OCIOptions) -> BuiltImage:
    """The image the daemonless builder makes of ``context``, computed without writing it anywhere
    (its layers land in the cache, so the build that follows reuses them)."""
    check_links(context)  # the plan writes layers into the cache, as a build does
    builder = OCIBuilder(oci)
    base = builder.read_base(context)
    return build_image(context, base, cache=builder.cache, python_version=oci.python_version)


def _oci_layers(context: BuildContext, oci: OCIOptions,
                notes: list[str]) -> tuple[tuple[LayerRecord, ...], BaseRecord, str]:
    built = oci_image(context, oci)
    base = built.base
    base_layers = len(built.image.manifest.layers) - len(built.plan)
    if deps := built.deps:
        notes.append(f"pip installs wheels for python {deps.python_version}, from {deps.python_from}")
    if base_layers:
        notes.append(f"the base adds {base_layers} layer(s), mounted or skipped when the registry has them")
    return (tuple(lp.record() for lp in built.plan), BaseRecord(base.ref, base.digest, base.name),
            str(built.image.manifest_digest))


def _mark_present(options: PipelineOptions, repository: str, keychain: Keychain,
                  layers: tuple[LayerRecord, ...], notes: list[str]) -> tuple[LayerRecord, ...]:
    """Ask the registry which layers it already has (HEAD per blob); unreachable → a note."""
    ref = parse_reference(repository)
    try:
        with client_for(repository, keychain, insecure=options.insecure) as client:
            return tuple(dataclasses.replace(la, in_registry=client.blob_exists(ref.repository, la.digest))
                         if la.digest else la for la in layers)
    except HydroCIError as exc:
        notes.append(f"could not ask {ref.registry} which layers it has: {exc}")
        return layers
