"""``version next``: the versions in use, the contract diff, the bump and the tag set, with reasons.

The flow reads top to bottom: list the versions in use (git, registry or both), take the latest
release as the previous version, choose the bump (given, or from the contract diff against the
previous version's contract), compute the release or pre-release, and its tag set.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydro_ci import git
from hydro_ci.contract.diff import Change, ContractDiff, DiffConfig, diff_contracts
from hydro_ci.contract.model import Contract, ModelFolder
from hydro_ci.contract.version_policy import VersionPolicy
from hydro_ci.errors import HydroCIError, ModelFileError, UsageError
from hydro_ci.infer import folder_contract
from hydro_ci.reference import parse_reference
from hydro_ci.registry.client import RegistryClient, client_for
from hydro_ci.registry.keychain import DEFAULT_KEYCHAIN, Keychain
from hydro_ci.render.assemble import SourceCommit, source_commit
from hydro_ci.version import contracts, record, sources
from hydro_ci.version.bump import (
    Bump,
    Step,
    bump_text,
    bump_version,
    is_release_branch,
    latest_release,
    parse_version,
    prerelease_of,
    with_build,
)
from hydro_ci.version.tags import SkippedTag, Tag, TagKind, TagSet, tag_set

SOURCES = ("git", "registry", "both")
BUMPS = ("auto", "major", "minor", "patch")


class PreviousContractError(HydroCIError):
    """``--bump auto`` cannot find the contract of the previous version."""


@dataclass(frozen=True)
class Context:
    """Everything ``decide`` reads from outside, gathered once by ``context_for`` (the CLI verb and
    the pipeline stage alike; tests build one by hand)."""

    folder: ModelFolder
    source: str = "git"
    bump: str = "auto"
    repo: Path | None = None  # git work tree holding the folder (git/both)
    remote: str | None = "origin"
    client: RegistryClient | None = None  # registry/both
    repository: str | None = None  # repository path in that registry
    branch: str | None = None
    short_commit: str | None = None
    no_commit: str | None = None  # why no commit names what is shipped (untracked, modified files)
    # previous Release → its contract (None: not found); the default reads git trees and labels
    contract_of: Callable[[sources.Release], Contract | None] | None = None

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


@dataclass(frozen=True)
class Released:
    """This run's image is already released: the version holding it and what made it the same.

    ``same`` is ``image`` (daemonless builder: the image this run builds, given the released
    version's version, created time and revision, has the released manifest digest) or ``commit``
    (engine builder: the released image was built from this very commit, with this contract).
    ``epoch`` and ``revision`` are the released image's, so a render with them rebuilds it.
    """

    version: str
    digest: str  # the registry's manifest digest of the version tag
    ref: str  # registry/repository:version
    same: str  # image | commit
    epoch: int | None = None
    revision: str | None = None
    git_tag: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "digest": self.digest, "ref": self.ref, "same": self.same,
                "epoch": self.epoch, "revision": self.revision, "git_tag": self.git_tag}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Released:
        epoch = data.get("epoch")
        return cls(str(data["version"]), str(data["digest"]), str(data["ref"]), str(data["same"]),
                   int(epoch) if epoch is not None else None, data.get("revision"), data.get("git_tag"))


@dataclass(frozen=True)
class VersionDecision:
    """The version of a build and why: what ``version next --json`` prints and version.json holds.

    The bump is named twice, in one vocabulary (``version.bump``): ``change``, the contract's change
    class against the previous version (None when nothing was compared: a first release, a given
    ``--bump`` or ``--version``), and ``step``, the semver step taken (``initial`` for every first
    release, ``given`` for ``--version``, ``none`` when already released), with ``step_note``
    (``0.x``: a breaking change held to a minor step). ``source``: where versions were listed.
    """

    model: str
    version: str
    full_version: str
    step: str
    bump_reason: str
    tags: TagSet
    change: str | None = None
    step_note: str | None = None
    skipped_tags: tuple[SkippedTag, ...] = ()
    source: str | None = None
    previous: sources.Release | None = None
    diff: ContractDiff | None = None
    branch: str | None = None
    git_tag: str | None = None
    reserved: bool = False
    listings: tuple[sources.ListingSummary, ...] = ()
    disagreements: tuple[sources.Disagreement, ...] = ()
    notes: tuple[str, ...] = ()
    released: Released | None = None  # the image is already released as this version: nothing new

    @property
    def prerelease(self) -> bool:
        parsed = parse_version(self.version)
        return parsed is not None and parsed.prerelease is not None

    @property
    def bump_text(self) -> str:
        """``change=breaking, step=minor (0.x)``: how every report names the bump."""
        return bump_text(self.change, self.step, self.step_note)

    def bump_json(self) -> dict[str, Any]:
        return {"change": self.change, "step": self.step, "note": self.step_note, "reason": self.bump_reason,
                "text": self.bump_text}

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "source": self.source,
            "previous": self.previous.to_dict() if self.previous else None,
            "sources": {li.source: li.to_dict() for li in self.listings},
            "disagreements": [d.to_dict() for d in self.disagreements],
            "diff": self.diff.to_dict() if self.diff is not None else None,
            "bump": self.bump_json(),
            "version": self.version,
            "full_version": self.full_version,
            "prerelease": self.prerelease,
            "branch": self.branch,
            "tags": self.tags.to_json(),
            "skipped_tags": [t.to_dict() for t in self.skipped_tags],
            "git_tag": self.git_tag,
            "reserved": self.reserved,
            "released": self.released.to_json() if self.released else None,
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VersionDecision:
        diff = data.get("diff")
        return cls(
            model=str(data["model"]), version=str(data["version"]),
            full_version=str(data.get("full_version") or data["version"]),
            step=str(data["bump"]["step"]), bump_reason=str(data["bump"].get("reason") or ""),
            change=data["bump"].get("change"), step_note=data["bump"].get("note"),
            tags=TagSet.from_json(data["tags"]),
            skipped_tags=tuple(SkippedTag.from_dict(t) for t in data.get("skipped_tags") or ()),
            source=data.get("source"),
            previous=sources.Release.from_dict(data["previous"]) if data.get("previous") else None,
            diff=ContractDiff(tuple(_change(c) for c in diff.get("changes") or ()),
                              tuple(_change(c) for c in diff.get("ignored") or ())) if diff else None,
            branch=data.get("branch"), git_tag=data.get("git_tag"), reserved=bool(data.get("reserved")),
            listings=tuple(sources.ListingSummary.from_dict(name, li)
                           for name, li in (data.get("sources") or {}).items()),
            disagreements=tuple(sources.Disagreement.from_dict(d) for d in data.get("disagreements") or ()),
            notes=tuple(str(n) for n in data.get("notes") or ()),
            released=Released.from_json(data["released"]) if data.get("released") else None,
        )

    def already_released(self, released: Released) -> VersionDecision:
        """No new version: this run's image is ``released``'s. Its one tag is the released version
        (nothing is pushed, so no tag moves); the contract's change class is kept when the released
        version is the previous one (the diff was against it)."""
        same_previous = self.previous is not None and str(self.previous.version) == released.version
        return dataclasses.replace(
            self, version=released.version, full_version=released.version, step=Step.none.value,
            step_note=None, change=self.change if same_previous else None,
            diff=self.diff if same_previous else None,
            bump_reason=f"already released as {released.version} ({released.digest}): "
                        + ("the same image but for its version, created time and revision"
                           if released.same == "image" else "built from this commit, with this contract"),
            tags=TagSet((Tag(released.version, TagKind.immutable, "already released"),)), skipped_tags=(),
            git_tag=released.git_tag, reserved=False, released=released)


def _change(data: Mapping[str, Any]) -> Change:
    return Change(str(data["rule"]), str(data["path"]), str(data["message"]))


def given_version(folder: ModelFolder, version: str, *, git: bool = False) -> VersionDecision:
    """An explicit version (``--version``): nothing is read or decided; its one tag is immutable.
    ``git``: versions are read from git tags, so this one gets its git tag too (when a semver)."""
    policy = VersionPolicy.from_config(folder.config)
    semver_given = parse_version(version) is not None
    git_tag = sources.tag_name(policy.tag_format, folder.name, version) if git and semver_given else None
    return VersionDecision(model=folder.name, version=version, full_version=version, step=Step.given.value,
                           step_note="--version", bump_reason="--version", tags=TagSet.given(version),
                           git_tag=git_tag)


def initial_version(folder: ModelFolder, note: str) -> VersionDecision:
    """Nowhere to read released versions from: the policy's initial version, tagged as a release."""
    policy = VersionPolicy.from_config(folder.config)
    tags, skipped = tag_set(policy.initial, [], None, policy.tags)
    return VersionDecision(
        model=folder.name, version=str(policy.initial), full_version=str(policy.initial),
        step=Step.initial.value,
        bump_reason="no git work tree and no registry to read released versions from: the initial "
                    "version", tags=tags, skipped_tags=tuple(skipped), notes=(note,))


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
        if ctx.repo is not None:
            disagreements = list(record.explain_git_only(ctx.repo, disagreements, listings[0].releases))
        return listings, merged, disagreements
    return listings, listings[0].releases, []


def decide(ctx: Context) -> VersionDecision:
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
    note: str | None = None
    if previous is None:  # every first release is the initial version, whatever was asked
        bump, why = Bump.patch, "no previous version" + (f" (--bump {ctx.bump} has nothing to step from)"
                                                         if ctx.bump != "auto" else "")
    elif ctx.bump != "auto":
        bump, why, note = Bump(ctx.bump), f"--bump {ctx.bump}", "--bump"
    else:
        diff = _diff_against(ctx, previous)
        bump = Bump.for_change(diff.summary)
        rules = sorted({c.rule for c in diff.changes if c.change_class == diff.summary})
        why = (f"contract diff against {previous.ref}: {diff.summary.name}"
               + (f" ({', '.join(rules)})" if rules else " (no contract change)"))
    stepped = bump_version(previous.version if previous else None, bump, policy)
    base, how = stepped.version, stepped.why
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
    tags, skipped = tag_set(version, used, ctx.short_commit, policy.tags, no_commit=ctx.no_commit)
    if ctx.no_commit and ctx.repo is not None:
        notes.append(f"no commit tag and no revision label: {ctx.no_commit}")
    git_tag = (sources.tag_name(policy.tag_format, ctx.folder.name, version)
               if ctx.source in ("git", "both") else None)
    notes += [f"skipped {li.source} tag {t}: {why_}" for li in listings for t, why_ in li.skipped]
    return VersionDecision(
        model=ctx.folder.name, version=str(version), full_version=with_build(version, ctx.short_commit),
        step=stepped.step.value, step_note=stepped.note or note, change=diff.summary.name if diff else None,
        bump_reason=f"{why}; {how}", tags=tags, skipped_tags=tuple(skipped),
        source=ctx.source, previous=previous, diff=diff, branch=branch, git_tag=git_tag,
        listings=tuple(li.summary() for li in listings), disagreements=tuple(disagreements),
        notes=tuple(notes),
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
    try:
        return folder_contract(folder)
    except ModelFileError as exc:
        raise PreviousContractError(
            f"{folder.root} declares no contract and none can be read from its files ({exc}), so --bump "
            "auto has nothing to compare", hint="declare the contract in serving.yaml, or pass --bump "
                                                "major|minor|patch") from None


def _default_contract_of(ctx: Context) -> Callable[[sources.Release], Contract | None]:
    rel = ctx.folder.root.resolve().relative_to(ctx.repo.resolve()).as_posix() if ctx.repo else ""

    def contract_of(release: sources.Release) -> Contract | None:
        if release.source == "git" and ctx.repo is not None:
            # the Model of the same name at the tagged commit (a serving file may hold several)
            found = contracts.contract_at_git_ref(ctx.repo, release.ref, rel, ctx.folder.name)
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
            return contracts.inferred_contract_at_git_ref(ctx.repo, release.ref, rel, ctx.folder.name)
        return None

    return contract_of


def detect_branch(repo: Path | None, env: Mapping[str, str] | None = None) -> str | None:
    """The branch being built: the CI's variables first (CI checks out a detached HEAD), then git."""
    env = os.environ if env is None else env
    if env.get("GITHUB_HEAD_REF"):  # pull requests: the source branch
        return env["GITHUB_HEAD_REF"]
    if env.get("GITHUB_REF_TYPE") == "branch" and env.get("GITHUB_REF_NAME"):
        return env["GITHUB_REF_NAME"]
    if env.get("CI_COMMIT_BRANCH"):  # GitLab
        return env["CI_COMMIT_BRANCH"]
    if repo is not None:
        return git.current_branch(repo)
    return None


def work_tree_of(root: Path) -> Path | None:
    """The git work tree holding ``root``; None outside git (or where git cannot tell)."""
    try:
        return git.repo_root(root) if git.is_work_tree(root) else None
    except git.GitError:
        return None


def context_for(folder: ModelFolder, *, source: str, bump: str = "auto", image: str | None = None,
                branch: str | None = None, remote: str | None = "origin",
                keychain: Keychain = DEFAULT_KEYCHAIN, insecure: bool | None = None,
                exclude: tuple[Path, ...] = ()) -> Context:
    """The one gatherer of what ``decide`` reads, for ``version next`` and the pipeline alike: the
    git work tree holding the folder, a client for ``image``'s registry (sources registry and
    both; ``image`` as ``reference.image_repository`` decided it), the branch being built (CI
    variables first) and the commit that holds what is shipped (``render.assemble.source_commit``,
    the revision label's rule; ``exclude``: our outputs inside the folder). Close the context when
    done (its registry client)."""
    repo = work_tree_of(folder.root)
    client = repository = None
    if source in ("registry", "both") and image:
        client = client_for(image, keychain, insecure=insecure)
        repository = parse_reference(image).repository
    commit = source_commit(folder, exclude) if repo is not None else SourceCommit()
    return Context(
        folder=folder, source=source, bump=bump, repo=repo, remote=remote, client=client,
        repository=repository, branch=branch or detect_branch(repo),
        short_commit=commit.short, no_commit=commit.no_commit,
    )
