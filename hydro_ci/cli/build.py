"""hydro-ci build MODEL_DIR --image REPO --version V: render the context and build it (and push)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydro_ci.cli.render import add_render_options, check_model_dir

if TYPE_CHECKING:
    from hydro_ci.build import Credentials


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", metavar="MODEL_DIR", type=Path, help="folder with serving.yaml")
    add_image_options(parser)
    parser.add_argument("--builder", default="docker", choices=("docker", "oci"),
                        help="docker (the default here): the Docker engine (DOCKER_HOST); oci: daemonless "
                             "(the default of hydro-ci pipeline)")
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


def oci_options(args: argparse.Namespace) -> dict[str, Any]:
    """Builder options for --builder oci; refused with any other builder."""
    from hydro_ci.build.python import check_python_version
    from hydro_ci.errors import UsageError

    opts = {"output_layout": args.output_layout, "output_tar": args.output_tar, "base_from": args.base_from,
            "python_version": check_python_version(args.python_version) if args.python_version else None,
            "platform": args.platform}
    if args.builder != "oci":
        given = [k for k, v in opts.items() if v]
        if given:
            raise UsageError(f"--{given[0].replace('_', '-')} needs --builder oci")
        return {}
    return opts


def add_image_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--image", required=True, metavar="REPO",
                        help="repository without tag, e.g. registry.example.com/team/model")
    parser.add_argument("--version", dest="model_version", required=True, metavar="V",
                        help="the version: the immutable tag, MODEL_VERSION label")
    parser.add_argument("--tag", "-t", dest="tags", action="append", default=[], metavar="T",
                        help="an extra (moving) tag such as latest; repeatable")


def add_credential_options(parser: argparse.ArgumentParser) -> None:
    """--username/--password-stdin and --insecure: how every verb that talks to a registry reaches it."""
    parser.add_argument("--username", "-u", help="registry user (default: the docker config)")
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the registry password from standard input")
    parser.add_argument("--insecure", action="store_true", default=None,
                        help="plain HTTP to a registry on this machine (loopback only; its default)")


def read_credentials(args: argparse.Namespace) -> Credentials | None:
    """Credentials from --username/--password-stdin; never from the command line itself."""
    from hydro_ci.build import Credentials
    from hydro_ci.errors import UsageError

    if args.password_stdin and not args.username:
        raise UsageError("--password-stdin needs --username")
    if args.username and not args.password_stdin:
        raise UsageError("--username needs --password-stdin",
                         hint="echo \"$TOKEN\" | hydro-ci … --username USER --password-stdin")
    if not args.username:
        return None
    password = sys.stdin.read().rstrip("\r\n")
    if not password:
        raise UsageError("--password-stdin: standard input was empty")
    return Credentials(args.username, password)


def check_version(version: str) -> None:
    """--version is a tag (and names files in --dist): refuse anything else before it is used."""
    from hydro_ci.errors import UsageError
    from hydro_ci.image.reference import ImageReference, ReferenceError

    try:
        if version != version.strip():
            raise ReferenceError(version, "white space")
        ImageReference("localhost", "version").with_tag(version)
    except ReferenceError:
        raise UsageError(f"--version {version!r} is not a valid version",
                         hint="a version is an image tag: letters, digits, '_', '.' and '-', starting with "
                              "a letter or digit (e.g. 1.2.0)") from None


def check_image(image: str, version: str, tags: list[str], insecure: bool | None = None) -> None:
    from hydro_ci.errors import UsageError
    from hydro_ci.image.reference import parse_reference
    from hydro_ci.registry.endpoint import endpoint_for

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
    from hydro_ci.build import BuildRequest, make_builder
    from hydro_ci.cli.progress import progress_display
    from hydro_ci.errors import UsageError
    from hydro_ci.render.assemble import RenderOptions, load_folder, render_folder

    check_version(args.model_version)
    check_image(args.image, args.model_version, args.tags, args.insecure)
    check_model_dir(args.model_dir)
    builder_options = oci_options(args)
    if not args.push and (args.username or args.password_stdin):
        raise UsageError("--username/--password-stdin need --push", hint="they are the push's credentials")
    credentials = read_credentials(args) if args.push else None
    folder = load_folder(args.model_dir)
    ctx = render_folder(folder, RenderOptions(
        output=args.output, version=args.model_version, base_image=args.base_image,
        template_dir=args.template, link_large_files=args.builder == "oci",
        exclude=tuple(p for p in (args.output_layout, args.output_tar) if p is not None),
    ))
    builder = make_builder(args.builder, insecure=args.insecure, **builder_options)
    request = BuildRequest(ctx, args.image, args.model_version, tuple(args.tags), push_follows=args.push)
    with progress_display() as progress:
        result = builder.build(request, progress)
        pushed = builder.push(result, credentials=credentials, progress=progress) if args.push else None
    data = result.to_dict()
    if pushed is not None:
        data["digest"] = pushed.digest
        data["push"] = pushed.to_dict()
    print_result(data, args.json)
    return 0

