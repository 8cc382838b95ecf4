"""hydro-ci push --image REPO --version V [--tag T…]: push an engine-built image with the engine."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from hydro_ci.cli.build import add_credential_options, add_image_options

if TYPE_CHECKING:
    from hydro_ci.build import Credentials


def configure(parser: argparse.ArgumentParser) -> None:
    add_image_options(parser)
    parser.add_argument("--builder", default="docker", choices=("docker", "oci"),
                        help="docker (the default, as in build): push from the Docker engine; oci: push "
                             "the image an oci build wrote with --output-layout DIR (give --layout DIR)")
    parser.add_argument("--layout", metavar="DIR",
                        help="with --builder oci: the OCI layout to push the --version tag from")
    add_credential_options(parser)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from hydro_ci.build import BuildResult
    from hydro_ci.build.engine import EngineBuilder, local_image_id
    from hydro_ci.cli.build import check_image, print_result, read_credentials
    from hydro_ci.cli.progress import progress_display

    check_image(args.image, args.model_version, args.tags, args.insecure)
    if args.layout and args.builder != "oci":
        from hydro_ci.errors import UsageError

        raise UsageError("--layout needs --builder oci", hint="the docker builder pushes the engine's image")
    credentials = read_credentials(args)
    if args.builder == "oci":
        return _push_layout(args, credentials)
    builder = EngineBuilder()
    image_id = local_image_id(builder.client, f"{args.image}:{args.model_version}")
    tags = _tags(args)  # push() tags them locally, once the registry accepted the version
    result = BuildResult(image=args.image, id=image_id, tags=tags, builder=builder.name)
    with progress_display() as progress:
        pushed = builder.push(result, credentials=credentials, progress=progress)
    print_result({**result.to_dict(), **pushed.to_dict()}, args.json)
    return 0


def _push_layout(args: argparse.Namespace, credentials: Credentials | None) -> int:
    """Push the version tag of an OCI layout (written by build --builder oci --output-layout)."""
    from hydro_ci.build import BuildResult
    from hydro_ci.build.oci import OCIBuilder
    from hydro_ci.cli.build import print_result
    from hydro_ci.cli.progress import progress_display
    from hydro_ci.errors import UsageError
    from hydro_ci.image.layout import read_layout

    if not args.layout:
        raise UsageError("--builder oci needs --layout DIR", hint="the directory build --output-layout wrote")
    digest = str(read_layout(args.layout, args.model_version).manifest_digest)
    tags = _tags(args)
    result = BuildResult(image=args.image, id=digest, tags=tags, builder="oci", digest=digest,
                         extra={"layout": args.layout})
    with progress_display() as progress:
        pushed = OCIBuilder(insecure=args.insecure).push(result, credentials=credentials, progress=progress)
    print_result({**result.to_dict(), **pushed.to_dict()}, args.json)
    return 0


def _tags(args: argparse.Namespace) -> tuple[str, ...]:
    """The version first, then each --tag once (``-t latest -t latest`` pushes latest once)."""
    return tuple(dict.fromkeys((args.model_version, *args.tags)))
