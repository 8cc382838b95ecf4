"""hydro-ci push --image REPO --version V [--tag T…]: push an engine-built image with the engine."""

from __future__ import annotations

import argparse

from hydro_ci.cli.build import add_credential_options, add_image_options


def configure(parser: argparse.ArgumentParser) -> None:
    add_image_options(parser)
    parser.add_argument("--builder", default="docker", choices=("docker",),
                        help="docker: push from the Docker engine (the daemonless builder pushes "
                             "with build --builder oci --push)")
    add_credential_options(parser)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from hydro_ci.build import BuildResult
    from hydro_ci.build.engine import EngineBuilder, local_image_id
    from hydro_ci.cli.build import check_image, print_result, progress_display, read_credentials

    check_image(args.image, args.model_version, args.tags)
    credentials = read_credentials(args)
    builder = EngineBuilder()
    image_id = local_image_id(builder.client, f"{args.image}:{args.model_version}")
    tags = (args.model_version, *(t for t in args.tags if t != args.model_version))
    for tag in tags[1:]:
        builder.client.api.tag(image_id, args.image, tag)
    result = BuildResult(image=args.image, id=image_id, tags=tags, builder=builder.name)
    with progress_display() as progress:
        pushed = builder.push(result, credentials=credentials, progress=progress)
    print_result({**result.to_dict(), **pushed.to_dict()}, args.json)
    return 0
