"""hydro-ci pipeline MODEL_DIR: check → contract → version → render → plan → build → push → attest →
summary."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hydro_ci.build import BUILDERS, DEFAULT_BUILDER
from hydro_ci.build.python import check_python_version
from hydro_ci.cli import build as cli_build
from hydro_ci.cli.build import add_python_version_option
from hydro_ci.cli.model_dir import add_model_option, check_model_dir
from hydro_ci.cli.output import problem_format
from hydro_ci.cli.progress import progress_display
from hydro_ci.cli.registry_options import add_credential_options, keychain
from hydro_ci.errors import HydroCIError, ProblemsError, UsageError
from hydro_ci.integrations import github as gh
from hydro_ci.pipeline import PipelineOptions, PipelineState, report, run_pipeline
from hydro_ci.pipeline.stages import STAGE_NAMES
from hydro_ci.pipeline.state import STAGE_EVENT
from hydro_ci.progress import Progress

STAGES = STAGE_NAMES


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", metavar="MODEL_DIR", type=Path, help="folder with serving.yaml")
    add_model_option(parser)
    parser.add_argument("--image", metavar="REPO",
                        help="repository without tag, e.g. ghcr.io/acme/iris (default: hydro-ci: image: in "
                             "serving.yaml, else the model name, a local image)")
    parser.add_argument("--builder", default=DEFAULT_BUILDER, choices=BUILDERS,
                        help="oci (the default, as in hydro-ci build): daemonless, writes dist/; docker: "
                             "the Docker engine")
    parser.add_argument("--push", action="store_true", help="push the image to --image's registry")
    parser.add_argument("--bump", default="auto", choices=("auto", "major", "minor", "patch"),
                        help="auto: from the contract diff against the previous version (default)")
    parser.add_argument("--version-source", choices=("git", "registry", "both"),
                        help="where released versions are read (default: git in a work tree, plus the "
                             "registry with --push)")
    parser.add_argument("--version", dest="model_version", metavar="V",
                        help="use this version instead of deciding one")
    parser.add_argument("--reserve", action="store_true",
                        help="push the version's git tag before building, so no other run gets it")
    parser.add_argument("--no-git-tag", dest="git_tag", action="store_false",
                        help="after a push, do not record the version as an annotated git tag (made and "
                             "pushed to origin by default whenever versions are read from git)")
    parser.add_argument("--dry-run", action="store_true",
                        help="build and push nothing; print the release plan")
    parser.add_argument("--json", dest="json_file", metavar="FILE",
                        help="write the summary (the plan with --dry-run) as JSON to FILE ('-': stdout)")
    parser.add_argument("--output", "-o", type=Path, metavar="DIR",
                        help="where stages write their results (default: .hydro-ci/MODEL_NAME)")
    parser.add_argument("--dist", type=Path, default=Path("dist"), metavar="DIR",
                        help="where the daemonless build writes the OCI layout and docker-archive")
    parser.add_argument("--base-image", metavar="REF",
                        help="build on this image (default: hydro-ci: base-image:, else the runtime)")
    parser.add_argument("--base-from", metavar="SOURCE",
                        help="oci builder: read the base from oci:DIR[:TAG], docker-archive:FILE, "
                             "docker-daemon:REF or scratch instead of its registry")
    add_python_version_option(parser)
    parser.add_argument("--template", type=Path, metavar="DIR", help="templates extending ours")
    parser.add_argument("--sbom", action="store_true",
                        help="write SPDX and CycloneDX SBOMs beside the image; attach them when "
                             "pushing (oci)")
    parser.add_argument("--provenance", action="store_true",
                        help="write in-toto/SLSA provenance; attach it when pushing (oci)")
    parser.add_argument("--sign-key", type=Path, metavar="FILE",
                        help="sign the pushed image (cosign's format) and the provenance with this key: "
                             "PEM PKCS#8 ECDSA P-256, or cosign's encrypted key with $COSIGN_PASSWORD")
    parser.add_argument("--only", action="append", choices=STAGES, default=[], metavar="STAGE",
                        help="run only this stage (repeatable), reading earlier results from --output; "
                             "stages: " + ", ".join(STAGES))
    add_credential_options(parser)  # also --insecure
    parser.add_argument("--format", choices=("text", "github"), default=None,
                        help="github: annotations, step outputs and job summary (default when "
                             "GITHUB_ACTIONS=true)")


def run(args: argparse.Namespace) -> int:
    github = problem_format(args.format) == "github"
    check_model_dir(args.model_dir)
    if "push" in args.only and not args.push:  # else the stage skips itself and nothing says so
        raise UsageError("--only push needs --push", hint="add --push to push the built image")
    if args.model_version is not None:
        from hydro_ci.cli.build import check_version

        check_version(args.model_version)
    if args.python_version and args.builder != "oci":
        raise UsageError("--python-version needs --builder oci",
                         hint="the engine's pip runs inside the runtime, with its own Python")
    if args.image:
        cli_build.check_image(args.image, args.model_version or "0.0.0", [], args.insecure)
    python_version = check_python_version(args.python_version) if args.python_version else None
    options = PipelineOptions(
        model_dir=args.model_dir, model=args.model, image=args.image, builder=args.builder, push=args.push,
        bump=args.bump,
        version_source=args.version_source, version=args.model_version, reserve=args.reserve,
        git_tag=args.git_tag,
        dry_run=args.dry_run, output=args.output, dist=args.dist, base_image=args.base_image,
        base_from=args.base_from, python_version=python_version,
        # given credentials: the pipeline keeps them for its image's registry, once it knows it
        template=args.template, keychain=keychain(args, None),
        insecure=args.insecure,
        only=tuple(args.only), sbom=args.sbom, provenance=args.provenance, sign_key=args.sign_key,
    )
    try:
        with _display() as progress:
            state = PipelineState(options=options, progress=progress)
            run_pipeline(options, state=state)
    except HydroCIError as exc:
        if github:
            if isinstance(exc, ProblemsError):
                for line in gh.annotate(exc.problems):
                    gh.write_command(sys.stdout, line)
            gh.publish(state, os.environ)  # the summary of what was done, and where it stopped
        raise
    if github:
        gh.publish(state, os.environ)
    if args.json_file:
        record = state.plan if args.dry_run and state.plan is not None else state.summary
        text = json.dumps(record.to_json() if record else {}, indent=2, sort_keys=True) + "\n"
        if args.json_file == "-":
            sys.stdout.write(text)
            return 0
        from hydro_ci.output_files import write_file

        write_file(Path(args.json_file), text)
    _print(state, args.dry_run)
    return 0


@contextmanager
def _display() -> Iterator[Progress]:
    """Plain lines in CI or when piped (the build verbs' display); on a terminal each stage's result
    stays on screen and the live status line shows the step in progress (layer hashing, upload…)."""
    with progress_display(STAGE_EVENT) as progress:
        yield progress


def _print(state: PipelineState, dry_run: bool) -> None:
    if dry_run and state.plan:
        sys.stdout.write(report.plan_text(state.plan))
        if state.summary and state.summary.plan_file:
            sys.stdout.write(f"  plan     {state.summary.plan_file}\n")
    elif state.summary:
        sys.stdout.write(report.summary_text(state.summary))
