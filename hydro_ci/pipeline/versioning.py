"""The pipeline's version step: choose where versions are read from, then ask ``hydro_ci.version``.

Where versions come from, unless ``--version-source`` says: the git tags when the model folder is
in a git work tree, plus the registry's tags whenever an image repository is known (``--image`` or
``hydro-ci: image:``; ``both``), pushing or not, dry run or not — a version the registry holds is
used, and a dry run must read what the real run reads; the registry alone outside git; otherwise
(a folder outside git, no image named) there is nothing to read and the first version of the
policy is used, with a note saying so. What is read, and how, is ``version next``'s: the same
context gatherer (``context_for``) and the same decision.

Before a new version is chosen, the pipeline asks whether this very image is already released
(``pipeline.released``); then the decision is that version, and nothing new is made.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from hydro_ci import git
from hydro_ci.contract.model import ModelFolder
from hydro_ci.errors import RegistryError
from hydro_ci.pipeline.state import PipelineOptions
from hydro_ci.registry.keychain import Keychain
from hydro_ci.version.decision import (
    Context,
    Released,
    VersionDecision,
    context_for,
    decide,
    given_version,
    initial_version,
    work_tree_of,
)
from hydro_ci.version.reserve import reserve

FindReleased = Callable[[Context, VersionDecision], Released | None]


def choose_source(options: PipelineOptions, in_git: bool, image: str | None) -> str | None:
    if options.version_source:
        return options.version_source
    if in_git:
        return "both" if image else "git"
    return "registry" if image else None


def decide_version(options: PipelineOptions, folder: ModelFolder, image: str | None, keychain: Keychain,
                   *, exclude: tuple[Path, ...] = (), find_released: FindReleased | None = None
                   ) -> VersionDecision:
    """The version of this run (``image``: the registry repository, None when none is named);
    ``find_released`` answers whether this run's image is already released (``--bump auto`` only).

    A run that does not push reads the registry's versions when it can: unreachable, or asking for
    credentials it was not given, it decides from git alone and says so (a dry run does the same,
    as it reads what the real run reads); a run that pushes fails instead.
    """
    in_git = work_tree_of(folder.root) is not None
    source = choose_source(options, in_git, image)
    if options.version:
        return given_version(folder, options.version, git=in_git and source in ("git", "both"))
    try:
        return _decide(options, folder, image, keychain, source, exclude, find_released)
    except RegistryError as exc:
        if options.push or options.version_source or source not in ("both", "registry"):
            raise
        note = (f"the versions in {image}'s registry could not be read ({exc}), so they are not counted; "
                "a run with --push reads them (and stops when it cannot)")
        decision = _decide(options, folder, None, keychain, "git" if in_git else None, exclude, None)
        return dataclasses.replace(decision, notes=(*decision.notes, note))


def _decide(options: PipelineOptions, folder: ModelFolder, image: str | None, keychain: Keychain,
            source: str | None, exclude: tuple[Path, ...], find_released: FindReleased | None
            ) -> VersionDecision:
    if source is None:
        return initial_version(folder, f"{folder.root} is not in a git work tree and no registry's versions "
                                       "are read, so no released version is known")
    ctx = context_for(folder, source=source, bump=options.bump, image=image, keychain=keychain,
                      insecure=options.insecure, exclude=exclude)
    try:
        repo, remote = ctx.repo, ctx.remote or "origin"
        reserving = options.reserve and not options.dry_run and repo is not None
        if reserving and repo is not None and git.has_remote(repo, remote):
            git.fetch_tags(repo, remote)  # as each reservation round does: the check sees its tags
        decision = decide(ctx)
        if find_released is not None and options.bump == "auto":
            released = find_released(ctx, decision)
            if released is not None:
                return decision.already_released(released)
        if reserving and repo is not None:
            return reserve(lambda: decide(ctx), repo, remote=remote)
        return decision
    finally:
        ctx.close()
