"""``version next``: the versions in use, the contract diff, the bump and the tag set, with reasons.

The flow reads top to bottom: list the versions in use (git, registry or both), take the latest
release as the previous version, choose the bump (given, or from the contract diff against the
previous version's contract), compute the release or pre-release, and its tag set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import semver

from hydro_ci.contract.diff import ContractDiff, DiffConfig, diff_contracts
from hydro_ci.contract.model import Contract, ModelFolder
from hydro_ci.contract.version_policy import VersionPolicy
from hydro_ci.errors import HydroCIError, UsageError
from hydro_ci.version import sources
from hydro_ci.version.bump import (
    Bump,
    bump_version,
    is_release_branch,
    latest_release,
    prerelease_of,
    with_build,
)
from hydro_ci.version.tags import SkippedTag, Tag, tag_set

if TYPE_CHECKING:
    from hydro_ci.registry.client import RegistryClient

SOURCES = ("git", "registry", "both")
BUMPS = ("auto", "major", "minor", "patch")


class PreviousContractError(HydroCIError):
    """``--bump auto`` cannot find the contract of the previous version."""


@dataclass(frozen=True)
class Context:
    """Everything ``decide`` reads from outside, gathered by the caller (CLI, pipeline, tests)."""

    folder: ModelFolder
    source: str = "git"
    bump: str = "auto"
    repo: Path | None = None  # git work tree holding the folder (git/both)
    remote: str | None = "origin"
    client: RegistryClient | None = None  # registry/both
    repository: str | None = None  # repository path in that registry
    branch: str | None = None
    short_commit: str | None = None
    # previous Release → its contract (None: not found); the default reads git trees and labels
    contract_of: Callable[[sources.Release], Contract | None] | None = None


@dataclass
class Decision:
    model: str
    policy: VersionPolicy
    previous: sources.Release | None
    listings: list[sources.Listing]
    disagreements: list[sources.Disagreement]
    diff: ContractDiff | None
    bump: Bump
    bump_reason: str
    version: semver.Version
    full_version: str
    branch: str | None
    tags: list[Tag]
    skipped_tags: list[SkippedTag]
    git_tag: str | None
    used: set[semver.Version] = field(default_factory=set)
    reserved: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "previous": self.previous.to_dict() if self.previous else None,
            "sources": {li.source: li.to_dict() for li in self.listings},
            "disagreements": [d.to_dict() for d in self.disagreements],
            "diff": self.diff.to_dict() if self.diff is not None else None,
            "bump": {"kind": self.bump.value, "reason": self.bump_reason},
            "version": str(self.version),
            "full_version": self.full_version,
            "prerelease": bool(self.version.prerelease),
            "branch": self.branch,
            "tags": [t.to_dict() for t in self.tags],
            "skipped_tags": [s.to_dict() for s in self.skipped_tags],
            "git_tag": self.git_tag,
            "reserved": self.reserved,
            "notes": self.notes,
        }


def list_versions(ctx: Context, policy: VersionPolicy
                  ) -> tuple[list[sources.Listing], list[sources.Release], list[sources.Disagreement]]:
    listings: list[sources.Listing] = []
    if ctx.source in ("git", "both"):
        if ctx.repo is None:
            raise UsageError(f"{ctx.folder.root} is not inside a git work tree; --source git needs one",
                             hint="use --source registry --image REPO, or run inside the clone")
        listings.append(sources.git_versions(ctx.repo, policy.tag_format, ctx.folder.name, remote=ctx.remote))
    if ctx.source in ("registry", "both"):
        if ctx.client is None or ctx.repository is None:
            raise UsageError(f"--source {ctx.source} needs the image repository",
                             hint="pass --image REGISTRY/REPOSITORY or set hydro-ci.image in serving.yaml")
        listings.append(sources.registry_versions(ctx.client, ctx.repository))
    if len(listings) == 2:
        merged, disagreements = sources.reconcile(listings[0], listings[1])
        return listings, merged, disagreements
    return listings, listings[0].releases, []


def decide(ctx: Context) -> Decision:
    if ctx.source not in SOURCES:
        raise UsageError(f"unknown version source {ctx.source!r}", hint="use git, registry or both")
    if ctx.bump not in BUMPS:
        raise UsageError(f"unknown bump {ctx.bump!r}", hint="use auto, major, minor or patch")
    policy = VersionPolicy.from_config(ctx.folder.config)
    listings, releases, disagreements = list_versions(ctx, policy)
    used = {r.version for r in releases}
    latest = latest_release(used)
    previous = next((r for r in releases if r.version == latest), None)

    diff: ContractDiff | None = None
    if ctx.bump != "auto":
        bump, why = Bump(ctx.bump), f"--bump {ctx.bump}"
    elif previous is None:
        bump, why = Bump.patch, "no previous version"
    else:
        diff = _diff_against(ctx, previous)
        bump = Bump.for_change(diff.summary)
        rules = sorted({c.rule for c in diff.changes if c.change_class == diff.summary})
        why = (f"contract diff against {previous.ref}: {diff.summary.name}"
               + (f" ({', '.join(rules)})" if rules else " (no contract change)"))
    base, how = bump_version(previous.version if previous else None, bump, policy)
    while base in used:  # defensive: a release above the latest one cannot be taken, but never reuse
        base = base.bump_patch()
    branch = ctx.branch
    notes: list[str] = []
    version = base
    if branch is None and ctx.repo is None:
        # outside git there is no branch, hence nothing that makes this build a pre-release
        notes.append(f"{ctx.folder.root} is not in a git work tree and no CI variable names a branch: "
                     "a release")
    elif not is_release_branch(branch, policy):
        version = prerelease_of(base, used, policy.prerelease_token)
        # a detached HEAD (a checked-out tag or commit) may be anything: never release it unasked
        where = (f"branch {branch} is not a release branch" if branch is not None else
                 "HEAD is detached and no CI variable (GITHUB_HEAD_REF, GITHUB_REF_NAME, CI_COMMIT_BRANCH) "
                 "names the branch, so it is not known to be a release branch")
        notes.append(f"{where} ({', '.join(policy.release_branches)}): pre-release")
    tags, skipped = tag_set(version, used, ctx.short_commit, policy.tags)
    git_tag = (sources.tag_name(policy.tag_format, ctx.folder.name, version)
               if ctx.source in ("git", "both") else None)
    notes += [f"skipped {li.source} tag {t}: {why_}" for li in listings for t, why_ in li.skipped]
    return Decision(
        model=ctx.folder.name, policy=policy, previous=previous, listings=listings,
        disagreements=disagreements, diff=diff, bump=bump, bump_reason=f"{why}; {how}",
        version=version, full_version=with_build(version, ctx.short_commit), branch=branch,
        tags=tags, skipped_tags=skipped, git_tag=git_tag, used=used, notes=notes,
    )


def _diff_against(ctx: Context, previous: sources.Release) -> ContractDiff:
    current = _current_contract(ctx.folder)
    contract_of = ctx.contract_of or _default_contract_of(ctx)
    old = contract_of(previous)
    if old is None:
        raise PreviousContractError(
            f"cannot read the contract of the previous version {previous.version} ({previous.ref})",
            hint="pass --bump major|minor|patch for this release")
    return diff_contracts(old, current, DiffConfig.from_config(ctx.folder.config))


def _current_contract(folder: ModelFolder) -> Contract:
    """The contract this release carries (declared, else read from the model files)."""
    from hydro_ci.errors import ModelFileError
    from hydro_ci.infer import folder_contract

    try:
        return folder_contract(folder)
    except ModelFileError as exc:
        raise PreviousContractError(
            f"{folder.root} declares no contract and none can be read from its files ({exc}), so --bump "
            "auto has nothing to compare", hint="declare the contract in serving.yaml, or pass --bump "
                                                "major|minor|patch") from None


def _default_contract_of(ctx: Context) -> Callable[[sources.Release], Contract | None]:
    from hydro_ci.version import contracts

    rel = ctx.folder.root.resolve().relative_to(ctx.repo.resolve()).as_posix() if ctx.repo else ""

    def contract_of(release: sources.Release) -> Contract | None:
        if release.source == "git" and ctx.repo is not None:
            found = contracts.contract_at_git_ref(ctx.repo, release.ref, rel)
            if found is not None:
                return found
        if ctx.client is not None and ctx.repository is not None:
            found = contracts.contract_from_image(ctx.client, ctx.repository, str(release.version))
            if found is not None:
                return found
        if release.source == "git" and ctx.repo is not None:
            # the tagged folder declared nothing: its image carried the contract of its model files.
            # Decided by the tagged commit, not the folder now (a declaration may be added since,
            # and the pipeline passes the folder with its inferred contract filled in).
            return contracts.inferred_contract_at_git_ref(ctx.repo, release.ref, rel)
        return None

    return contract_of


def detect_branch(repo: Path | None, env: dict[str, str] | None = None) -> str | None:
    """The branch being built: the CI's variables first (CI checks out a detached HEAD), then git."""
    import os

    env = dict(os.environ) if env is None else env
    if env.get("GITHUB_HEAD_REF"):  # pull requests: the source branch
        return env["GITHUB_HEAD_REF"]
    if env.get("GITHUB_REF_TYPE") == "branch" and env.get("GITHUB_REF_NAME"):
        return env["GITHUB_REF_NAME"]
    if env.get("CI_COMMIT_BRANCH"):  # GitLab
        return env["CI_COMMIT_BRANCH"]
    if repo is not None:
        from hydro_ci import git

        return git.current_branch(repo)
    return None


def context_for(folder: ModelFolder, *, source: str, bump: str = "auto", image: str | None = None,
                branch: str | None = None, remote: str | None = "origin", username: str | None = None,
                password: str | None = None, insecure: bool | None = None) -> Context:
    """Gather what ``decide`` reads: the git work tree, the registry client, branch and commit."""
    from hydro_ci import git

    repo = git.repo_root(folder.root) if git.is_work_tree(folder.root) else None
    image = image or (folder.config.get("image") if isinstance(folder.config.get("image"), str) else None)
    client = repository = None
    if source in ("registry", "both") and image:
        from hydro_ci.image.reference import parse_reference
        from hydro_ci.registry.client import client_for

        ref = parse_reference(image)
        if ref.tag or ref.digest:
            raise UsageError(f"--image {image}: give the repository without a tag or digest",
                             hint=f"e.g. --image {ref.name}")
        client = client_for(image, username=username, password=password, insecure=insecure)
        repository = ref.repository
    return Context(
        folder=folder, source=source, bump=bump, repo=repo, remote=remote, client=client,
        repository=repository, branch=branch or detect_branch(repo),
        short_commit=git.commit_built(repo, folder.root) if repo is not None else None,
    )
