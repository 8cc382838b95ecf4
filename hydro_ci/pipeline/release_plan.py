"""The release plan: what a build would make and send, known before anything is built or pushed.

Contract and its diff, the bump and why, the version and tags, the base image (pinned by digest when
it comes from a registry), the layers with their digests and sizes, and which of them the registry
already holds. The daemonless builder computes layer digests without writing an image (the layers
land in its cache, so the real build that follows reuses them); for the engine builder the plan
lists the layer classes of the build context instead.
"""

from __future__ import annotations

import logging
from typing import Any

from hydro_ci.errors import HydroCIError
from hydro_ci.pipeline.state import PipelineOptions
from hydro_ci.render.context import LAYER_ORDER, BuildContext

log = logging.getLogger(__name__)


def make_plan(options: PipelineOptions, context: BuildContext, version: dict[str, Any],
              contract_info: dict[str, Any], repository: str) -> dict[str, Any]:
    notes: list[str] = []
    base: dict[str, Any] = {"ref": context.base_image, "digest": None}
    if options.builder == "oci":
        layers, base = _oci_layers(options, context, notes)
    else:
        layers = _context_layers(context)
        notes.append("the Docker engine builder decides its own layers; the plan lists the context's")
    if options.image:
        _mark_present(options, repository, layers, notes)
    tags = [t["tag"] for t in version.get("tags", [])]
    return {
        "model": context.model_name,
        "image": repository,
        "builder": options.builder,
        "push": options.push,
        "contract": contract_info,
        "diff": version.get("diff"),
        "previous": version.get("previous"),
        "bump": version.get("bump"),
        "version": version.get("version"),
        "tags": tags,
        "refs": [f"{repository}:{t}" for t in tags],
        "base": base,
        "layers": layers,
        "bytes_total": sum(int(la.get("size") or 0) for la in layers),
        "bytes_to_upload": sum(int(la.get("size") or 0) for la in layers
                               if la.get("in_registry") is not True),
        "notes": [*notes, *(version.get("notes") or []),
                  *(f"{d['version']} only in {d['only_in']}: {d['meaning']}"
                    for d in version.get("disagreements") or [])],
    }


def _context_layers(context: BuildContext) -> list[dict[str, Any]]:
    out = []
    for klass in LAYER_ORDER:
        files = context.files_in(klass)
        if files:
            out.append({"class": klass.value, "files": len(files), "size": sum(f.size for f in files),
                        "digest": None, "in_registry": None})
    return out


def _oci_layers(options: PipelineOptions, context: BuildContext,
                notes: list[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from hydro_ci.build.oci import OCIBuilder, build_image, read_base
    from hydro_ci.render.context import check_links

    check_links(context)  # the plan writes layers into the cache, as a build does
    builder = OCIBuilder(insecure=options.insecure)
    source = options.base_from or context.base_image
    base = read_base(source, builder.cache / "tmp", builder.platform, insecure=options.insecure)
    built = build_image(context, base, cache=builder.cache, python_version=options.python_version)
    layers = [{**lp.to_dict(), "in_registry": None} for lp in built.plan]
    if deps := built.deps:
        notes.append(f"pip installs wheels for python {deps.python_version}, from {deps.python_from}")
    base_layers = len(built.image.manifest.layers) - len(layers)
    if base_layers:
        notes.append(f"the base adds {base_layers} layer(s), mounted or skipped when the registry has them")
    return layers, {"ref": base.ref, "digest": base.digest, "name": base.name,
                    "manifest_digest": str(built.image.manifest_digest)}


def _mark_present(options: PipelineOptions, repository: str, layers: list[dict[str, Any]],
                  notes: list[str]) -> None:
    """Ask the registry which layers it already has (HEAD per blob); unreachable → a note."""
    from hydro_ci.image.reference import parse_reference
    from hydro_ci.registry.client import RegistryClient
    from hydro_ci.registry.credentials import Credentials

    ref = parse_reference(repository)
    creds = options.credentials
    try:
        with RegistryClient(ref.registry, insecure=options.insecure,
                            credentials=Credentials(creds.username, creds.password) if creds else None
                            ) as client:
            for layer in layers:
                if layer.get("digest"):
                    layer["in_registry"] = client.blob_exists(ref.repository, layer["digest"])
    except HydroCIError as exc:
        notes.append(f"could not ask {ref.registry} which layers it has: {exc}")
