"""hydro-ci build MODEL_DIR --image REPO --version V: render the context and build it (and push)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from hydro_ci.build import BUILDERS, DEFAULT_BUILDER, BuildRequest, EngineOptions, OCIOptions, make_builder
from hydro_ci.build.python import check_python_version
from hydro_ci.cli.model_dir import add_model_option, check_model_dir
from hydro_ci.cli.progress import progress_display
from hydro_ci.cli.registry_options import add_credential_options, keychain
from hydro_ci.cli.render import add_render_options
from hydro_ci.errors import UsageError
from hydro_ci.publish import PublishOptions, make_publisher
from hydro_ci.reference import image_repository, parse_reference
from hydro_ci.registry.client import registry_of
from hydro_ci.registry.endpoint import endpoint_for
from hydro_ci.registry.keychain import DEFAULT_KEYCHAIN, Keychain
from hydro_ci.render.assemble import RenderOptions, load_folder, render_folder
from hydro_ci.version.tags import TagSet


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", metavar="MODEL_DIR", type=Path, help="folder with serving.yaml")
    add_model_option(parser)
    add_image_options(parser, required=False)
    parser.add_argument("--builder", default=DEFAULT_BUILDER, choices=BUILDERS,
                        help="oci (the default, as in hydro-ci pipeline): daemonless and reproducible; "
                             "docker: the Docker engine (DOCKER_HOST), which runs any install-command")
    add_render_options(parser)
    parser.add_argument("--push", action="store_true", help="push the image after building it")
    add_oci_options(parser)
    add_credential_options(parser)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def add_oci_options(parser: argparse.ArgumentParser) -> None:
    oci = parser.add_argument_group("daemonless builder (--builder oci)")
    oci.add_argument("--output-layout", type=Path, metavar="DIR",
                     help="also write the image to an OCI image layout directory (tags: version, --tag); "
                          "its version tag never moves to another image")
    oci.add_argument("--output-tar", type=Path, metavar="FILE",
                     help="also write a docker-archive tarball that `docker load` accepts")
    oci.add_argument("--base-from", metavar="SOURCE",
                     help="read the base from oci:DIR[:TAG], docker-archive:FILE[:REF], "
                          "docker-daemon:REF or a registry reference (default: the runtime)")
    add_python_version_option(oci)
    oci.add_argument("--platform", metavar="OS/ARCH",
                     help="image platform, e.g. linux/arm64: picks it from a multi-platform base and "
                          "the wheels pip installs (default linux/amd64)")


def add_python_version_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument("--python-version", metavar="X.Y",
                        help="the runtime's Python, for pip's wheels, when neither the base's PYTHON_VERSION "
                             "nor the runtime's name (python-3.7, py37…) says it; an error when they "
                             "say otherwise (default then: 3.11)")


def builder_options(args: argparse.Namespace, registries: Keychain) -> OCIOptions | EngineOptions:
    """The typed options of the chosen builder; a daemonless-only flag with --builder docker is refused."""
    oci = {"output_layout": args.output_layout, "output_tar": args.output_tar, "base_from": args.base_from,
           "python_version": args.python_version, "platform": args.platform}
    if args.builder != "oci":
        given = [k for k, v in oci.items() if v]
        if given:
            raise UsageError(f"--{given[0].replace('_', '-')} needs --builder oci")
        return EngineOptions(keychain=registries)
    python_version = check_python_version(args.python_version) if args.python_version else None
    return OCIOptions(platform=args.platform, python_version=python_version, base_from=args.base_from,
                      keychain=registries, insecure=args.insecure)


def add_image_options(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("--image", required=required, metavar="REPO",
                        help="repository without tag, e.g. registry.example.com/team/model"
                             + ("" if required else " (default: hydro-ci: image: in serving.yaml, else the "
                                                    "model name, a local image)"))
    parser.add_argument("--version", dest="model_version", required=True, metavar="V",
                        help="the version: the immutable tag, MODEL_VERSION label")
    parser.add_argument("--tag", "-t", dest="tags", action="append", default=[], metavar="T",
                        help="an extra (moving) tag such as latest; repeatable")


def check_version(version: str) -> None:
    """--version is a tag (and names files in --dist): refuse anything else before it is used."""
    from hydro_ci.errors import UsageError
    from hydro_ci.reference import ImageReference, ReferenceError

    try:
        if version != version.strip():
            raise ReferenceError(version, "white space")
        ImageReference("localhost", "version").with_tag(version)
    except ReferenceError:
        raise UsageError(f"--version {version!r} is not a valid version",
                         hint="a version is an image tag: letters, digits, '_', '.' and '-', starting with "
                              "a letter or digit (e.g. 1.2.0)") from None


def check_image(image: str, version: str, tags: list[str], insecure: bool | None = None) -> None:
    ref = parse_reference(image)
    if ref.tag or ref.digest:
        raise UsageError(f"--image {image} must not carry a tag or digest",
                         hint="give the tag with --version (and --tag for moving tags)")
    for tag in [version, *tags]:
        ref.with_tag(tag)  # raises ReferenceError for a bad tag
    endpoint_for(ref.registry, insecure=insecure)  # --insecure off this machine: refused now, any builder


def print_result(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(data, indent=2, sort_keys=True))
        return
    for key in ("image", "id", "digest", "tags"):
        value = data.get(key)
        if value:
            print(f"{key}: {' '.join(value) if isinstance(value, list) else value}")


def run(args: argparse.Namespace) -> int:
    check_version(args.model_version)
    if args.image:
        check_image(args.image, args.model_version, args.tags, args.insecure)
    check_model_dir(args.model_dir)
    if not args.push and (args.username or args.password_stdin):
        raise UsageError("--username/--password-stdin need --push", hint="they are the push's credentials")
    builder_options(args, DEFAULT_KEYCHAIN)  # a flag of the other builder: refused before anything runs
    folder = load_folder(args.model_dir, args.model)
    repository = image_repository(args.image, folder.config.get("image"))
    if args.push and repository is None:
        raise UsageError("--push needs --image REGISTRY/REPOSITORY",
                         hint="e.g. --image ghcr.io/acme/iris, or hydro-ci: image: in serving.yaml")
    image = repository or folder.name
    check_image(image, args.model_version, args.tags, args.insecure)
    registries = keychain(args, [registry_of(image)])
    tags = TagSet.given(args.model_version, args.tags)
    outputs = PublishOptions(repository=image, layout=args.output_layout, archive=args.output_tar,
                             registry=args.push, engine=args.builder == "docker", keychain=registries,
                             insecure=args.insecure)
    publisher = make_publisher(outputs) if outputs.any else None  # unusable outputs fail now
    ctx = render_folder(folder, RenderOptions(
        output=args.output, version=args.model_version, base_image=args.base_image,
        template_dir=args.template, link_large_files=args.builder == "oci",
        exclude=tuple(p for p in (args.output_layout, args.output_tar) if p is not None),
    ))
    builder = make_builder(args.builder, builder_options(args, registries))
    with progress_display() as progress:
        built = builder.build(BuildRequest(ctx, image, args.model_version), progress)
        published = publisher.publish(built.image, tags, progress) if publisher else None
    data = {**built.result.to_json(), "tags": list(tags.names), "refs": [f"{image}:{t}" for t in tags.names]}
    if published is not None:
        data["digest"] = published.digest or data["digest"]
        data["published"] = published.to_json()
        if args.push:
            data["push"] = published.to_json()
    print_result(data, args.json)
    return 0
