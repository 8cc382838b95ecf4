"""The pipeline's version step: choose where versions are read from, then ask ``hydro_ci.version``.

Where versions come from, unless ``--version-source`` says: the git tags when the model folder is
in a git work tree, plus the registry's tags when the image is pushed (``both``); the registry
alone outside git when pushing; otherwise (a folder outside git, built locally) there is nothing
to read and the first version of the policy is used, with a note saying so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydro_ci import git
from hydro_ci.contract.model import ModelFolder
from hydro_ci.pipeline.state import PipelineOptions


def choose_source(options: PipelineOptions, in_git: bool) -> str | None:
    if options.version_source:
        return options.version_source
    if in_git:
        return "both" if options.push and options.image else "git"
    return "registry" if options.push and options.image else None


def _git_repo(root: Path) -> Path | None:
    try:
        return git.repo_root(root) if git.is_work_tree(root) else None
    except git.GitError:
        return None


def decide_version(options: PipelineOptions, folder: ModelFolder) -> dict[str, Any]:
    """version.json: the decision of ``hydro_ci.version`` plus the plain version and tag names."""
    if options.version:
        tags = [{"tag": options.version, "kind": "immutable", "reason": "--version"}]
        return {"model": folder.name, "version": options.version, "full_version": options.version,
                "previous": None, "diff": None, "bump": {"kind": "given", "reason": "--version"},
                "tags": tags, "notes": [], "reserved": False, "source": None}
    repo = _git_repo(folder.root)
    source = choose_source(options, repo is not None)
    if source is None:
        return _first_version(folder)
    from hydro_ci.version.decision import Context, decide, detect_branch

    client = None
    repository = None
    if source in ("registry", "both"):
        from hydro_ci.image.reference import parse_reference
        from hydro_ci.registry.client import RegistryClient
        from hydro_ci.registry.credentials import Credentials

        ref = parse_reference(options.image or folder.name)
        creds = options.credentials
        client = RegistryClient(ref.registry, insecure=options.insecure,
                                credentials=Credentials(creds.username, creds.password) if creds else None)
        repository = ref.repository
    remote = "origin" if repo is not None and git.has_remote(repo, "origin") else None
    ctx = Context(
        folder=folder, source=source, bump=options.bump, repo=repo, remote=remote, client=client,
        repository=repository,
        branch=detect_branch(repo),  # as `version next`: CI variables first, then git
        short_commit=git.commit_built(repo, folder.root) if repo else None,
    )
    try:
        if options.reserve and not options.dry_run and repo is not None:
            from hydro_ci.version.reserve import reserve

            decision = reserve(lambda: decide(ctx), repo, remote=remote or "origin")
        else:
            decision = decide(ctx)
    finally:
        if client is not None:
            client.close()
    data: dict[str, Any] = decision.to_dict()
    data["source"] = source
    return data


def _first_version(folder: ModelFolder) -> dict[str, Any]:
    """Nothing to read versions from: the policy's initial version, tagged like a release."""
    from hydro_ci.contract.version_policy import VersionPolicy
    from hydro_ci.version.tags import tag_set

    policy = VersionPolicy.from_config(folder.config)
    version = policy.initial
    tags, skipped = tag_set(version, [], None, policy.tags)
    return {
        "model": folder.name, "version": str(version), "full_version": str(version), "previous": None,
        "diff": None, "bump": {"kind": "initial", "reason": "no git work tree and no registry to read "
                                                            "released versions from: the initial version"},
        "tags": [t.to_dict() for t in tags], "skipped_tags": [s.to_dict() for s in skipped],
        "notes": [f"{folder.root} is not in a git work tree and nothing is pushed, so no released "
                  "version can be read"],
        "reserved": False, "source": None,
    }
