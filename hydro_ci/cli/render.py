"""hydro-ci render MODEL_DIR: write the build context (Dockerfile, payload, contract, plan.json)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hydro_ci.cli.model_dir import add_model_option, check_model_dir
from hydro_ci.errors import UsageError
from hydro_ci.reference import ReferenceError, parse_reference
from hydro_ci.render.assemble import RenderOptions, load_folder, render_folder


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", metavar="MODEL_DIR", type=Path, help="folder with serving.yaml")
    add_model_option(parser)
    add_render_options(parser)
    parser.add_argument("--version", dest="model_version", metavar="V",
                        help="the version for MODEL_VERSION and the OCI version label")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")


def add_render_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by render and build."""
    parser.add_argument("--output", "-o", type=Path, metavar="DIR",
                        help="context directory (default: .hydro-ci/MODEL_NAME/context, as the pipeline's)")
    parser.add_argument("--base-image", metavar="REF", help="build on this image instead of the runtime")
    parser.add_argument("--template", type=Path, metavar="DIR",
                        help="directory of templates extending ours (default: hydro-ci: template:)")


def run(args: argparse.Namespace) -> int:
    version = getattr(args, "model_version", None)
    if version is not None:
        _check_version(version)
    check_model_dir(args.model_dir)
    folder = load_folder(args.model_dir, args.model)
    ctx = render_folder(folder, RenderOptions(
        output=args.output, version=version, base_image=args.base_image,
        template_dir=args.template,
    ))
    if args.json:
        print(json.dumps({"context": str(ctx.root), **ctx.to_plan()}, indent=2, sort_keys=True))
        return 0
    size = sum(f.size for f in ctx.files)
    print(f"context: {ctx.root}")
    print(f"dockerfile: {ctx.dockerfile}")
    print(f"base: {ctx.base_image}")
    print(f"files: {len(ctx.files)} ({size} bytes)")
    return 0


def _check_version(version: str) -> None:
    """The version becomes the image tag later: refuse here what ``build --version`` would refuse."""
    try:
        parse_reference("hydro-ci/check").with_tag(version)
    except ReferenceError:
        raise UsageError(f"--version {version!r} is not a valid image tag",
                         hint="letters, digits, '.', '_' and '-', at most 128, e.g. 1.4.0") from None
