"""hydro-ci push --image REPO --version V [--tag T…] [--layout DIR]: push a built image.

The image is read from the OCI layout ``build --output-layout`` wrote (``--layout DIR``), else from
the Docker engine (``REPO:VERSION``, as ``build --builder docker`` tagged it); either way it goes
through the same registry publisher as ``build --push``, and the engine's local tags follow.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hydro_ci.build import BUILDERS
from hydro_ci.cache import cache_dir
from hydro_ci.cli.build import add_image_options, check_image, print_result
from hydro_ci.cli.progress import progress_display
from hydro_ci.cli.registry_options import add_credential_options, keychain
from hydro_ci.errors import UsageError
from hydro_ci.image.daemon import DaemonImage
from hydro_ci.image.layout import read_layout
from hydro_ci.image.model import PushableImage
from hydro_ci.publish import PublishOptions, make_publisher
from hydro_ci.registry.client import registry_of
from hydro_ci.version.tags import TagSet


def configure(parser: argparse.ArgumentParser) -> None:
    add_image_options(parser)
    parser.add_argument("--builder", choices=BUILDERS,
                        help="where the image is: oci, the OCI layout an oci build wrote (--layout DIR); "
                             "docker, the Docker engine (default: oci with --layout, else docker)")
    parser.add_argument("--layout", metavar="DIR", type=Path,
                        help="the OCI layout to push the --version tag from (build --output-layout DIR)")
    add_credential_options(parser)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    check_image(args.image, args.model_version, args.tags, args.insecure)
    builder = args.builder or ("oci" if args.layout else "docker")
    if args.layout and builder != "oci":
        raise UsageError("--layout needs --builder oci", hint="the docker builder pushes the engine's image")
    if builder == "oci" and not args.layout:
        raise UsageError("--builder oci needs --layout DIR", hint="the directory build --output-layout wrote")
    registries = keychain(args, [registry_of(args.image)])
    image: PushableImage
    if args.layout:
        image = read_layout(args.layout, args.model_version)
    else:
        image = DaemonImage(f"{args.image}:{args.model_version}", cache_dir(),
                            hint="build it first: hydro-ci build MODEL_DIR --builder docker --image REPO "
                                 "--version V")
    publisher = make_publisher(PublishOptions(repository=args.image, registry=True,
                                              engine=builder == "docker", keychain=registries,
                                              insecure=args.insecure))
    tags = TagSet.given(args.model_version, args.tags)
    with progress_display() as progress:
        published = publisher.publish(image, tags, progress)
    engine_id = {"id": image.id} if isinstance(image, DaemonImage) else {}
    print_result({**engine_id, **published.to_json()}, args.json)
    return 0
