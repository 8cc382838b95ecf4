"""hydro-ci version next MODEL_DIR: the next semantic version, why, and its tag set.

Plain output: the version alone on stdout (``V=$(hydro-ci version next .)``), the explanation on
stderr. ``--json``: everything on stdout. ``--reserve`` pushes the git tag so no other pipeline can
take the version (see docs/versioning.md for the guarantee).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from hydro_ci import git
from hydro_ci.cli.model_dir import add_model_option
from hydro_ci.cli.registry_options import add_credential_options, keychain
from hydro_ci.errors import UsageError
from hydro_ci.infer.check import load_model_folder
from hydro_ci.reference import image_repository
from hydro_ci.registry.client import registry_of
from hydro_ci.version.decision import Context, VersionDecision, context_for, decide
from hydro_ci.version.reserve import reserve


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", metavar="MODEL_DIR", help="the model folder")
    add_model_option(parser)
    parser.add_argument("--source", choices=("git", "registry", "both"), default="git",
                        help="where released versions are listed (default: git)")
    parser.add_argument("--bump", choices=("auto", "major", "minor", "patch"), default="auto",
                        help="auto: from the contract diff against the previous version (default)")
    parser.add_argument("--image", metavar="REPO",
                        help="image repository REGISTRY/NAME (registry/both; default hydro-ci.image)")
    parser.add_argument("--branch", help="branch being built (default: CI variables, else git)")
    parser.add_argument("--remote", help="git remote holding the tags (default: origin, if there is one)")
    parser.add_argument("--reserve", action="store_true",
                        help="push the version's git tag so that no other pipeline can take it")
    add_credential_options(parser)  # also --insecure
    parser.add_argument("--json", action="store_true", help="print the whole decision as JSON")


def run(args: argparse.Namespace) -> int:
    if not os.path.lexists(args.model_dir):
        raise UsageError(f"no such file or directory: {args.model_dir}")
    if args.reserve and args.source == "registry":
        raise UsageError("--reserve needs --source git or both: the registry has no atomic create",
                         hint="version from git tags (docs/versioning.md explains the guarantee)")
    folder = load_model_folder(Path(args.model_dir), model=args.model)
    image = image_repository(args.image, folder.config.get("image"))
    registries = keychain(args, [registry_of(image)] if image else [])
    remote = args.remote or "origin"
    ctx = context_for(folder, source=args.source, bump=args.bump, image=image, branch=args.branch,
                      remote=remote, keychain=registries, insecure=args.insecure)
    try:
        decision = _decide(args, ctx, remote)
    finally:
        ctx.close()
    if args.json:
        print(json.dumps(decision.to_json(), indent=2))
    else:
        print(decision.version)
        explain(decision)
    return 0


def _decide(args: argparse.Namespace, ctx: Context, remote: str) -> VersionDecision:
    # a typo must not skip the missing-tags check
    if args.remote is not None and ctx.repo is not None and not git.has_remote(ctx.repo, args.remote):
        raise UsageError(f"--remote {args.remote}: no such remote in {ctx.repo}",
                         hint="git remote -v lists them")
    if args.reserve:
        if ctx.repo is None:
            raise UsageError("--reserve needs the model folder inside a git clone")
        return reserve(lambda: decide(ctx), ctx.repo, remote=remote)
    return decide(ctx)


def explain(d: VersionDecision) -> None:
    err = sys.stderr
    prev = f"{d.previous.version} ({d.previous.source}: {d.previous.ref})" if d.previous else "none"
    print(f"model {d.model}: previous version {prev}", file=err)
    for listing in d.listings:
        print(f"  {listing.source}: {listing.versions} versions, {len(listing.skipped)} skipped, "
              f"{listing.ignored} other tags", file=err)
    for dis in d.disagreements:
        print(f"  disagreement: {dis.version} only in {dis.only_in}: {dis.meaning}", file=err)
    if d.diff is not None:
        for change in d.diff.changes:
            print(f"  {change.render()}", file=err)
    print(f"bump {d.bump_text}: {d.bump_reason}", file=err)
    print(f"next {d.version} ({d.full_version})" + (" reserved as git tag " + str(d.git_tag)
                                                     if d.reserved else ""), file=err)
    print("tags: " + " ".join(t.name for t in d.tags), file=err)
    for note in d.notes:
        print(f"note: {note}", file=err)
