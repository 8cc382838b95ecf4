"""The pipeline's version step: choose where versions are read from, then ask ``hydro_ci.version``.

Where versions come from, unless ``--version-source`` says: the git tags when the model folder is
in a git work tree, plus the registry's tags when the image is pushed (``both``); the registry
alone outside git when pushing; otherwise (a folder outside git, built locally) there is nothing
to read and the first version of the policy is used, with a note saying so. What is read, and how,
is ``version next``'s: the same context gatherer (``context_for``) and the same decision.
"""

from __future__ import annotations

from hydro_ci.contract.model import ModelFolder
from hydro_ci.pipeline.state import PipelineOptions
from hydro_ci.registry.keychain import Keychain
from hydro_ci.version.decision import (
    VersionDecision,
    context_for,
    decide,
    given_version,
    initial_version,
    work_tree_of,
)
from hydro_ci.version.reserve import reserve


def choose_source(options: PipelineOptions, in_git: bool, image: str | None) -> str | None:
    if options.version_source:
        return options.version_source
    if in_git:
        return "both" if options.push and image else "git"
    return "registry" if options.push and image else None


def decide_version(options: PipelineOptions, folder: ModelFolder, image: str | None,
                   keychain: Keychain) -> VersionDecision:
    """The version of this run (``image``: the registry repository, None when nothing is pushed)."""
    in_git = work_tree_of(folder.root) is not None
    source = choose_source(options, in_git, image)
    if options.version:
        return given_version(folder, options.version, git=in_git and source in ("git", "both"))
    if source is None:
        return initial_version(folder, f"{folder.root} is not in a git work tree and nothing is pushed, "
                                       "so no released version can be read")
    ctx = context_for(folder, source=source, bump=options.bump, image=image, keychain=keychain,
                      insecure=options.insecure)
    try:
        if options.reserve and not options.dry_run and ctx.repo is not None:
            return reserve(lambda: decide(ctx), ctx.repo, remote=ctx.remote or "origin")
        return decide(ctx)
    finally:
        ctx.close()
