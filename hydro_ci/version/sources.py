"""Where released versions are found: git tags and registry tags, and how the two are reconciled.

git: tags matching the tag format (default ``{name}-v{version}``), read from the local clone after
checking it is complete (not shallow, no tag on the remote missing here) — setuptools-scm and
python-semantic-release silently compute a wrong version on such clones; we refuse instead.
registry: the repository's tags that are strict semantic versions (moving tags are ignored).
both: the union. A version is used once it appears in either place: a git tag without an image is a
reservation whose build failed or is running (``version.record`` reads the tag's message to say
which), an image without a git tag was pushed by a run that made no tag or by another tool. Both are
reported as disagreements and both count, so the next version is above everything seen anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import semver

from hydro_ci import git
from hydro_ci.errors import HydroCIError
from hydro_ci.registry.client import RegistryClient
from hydro_ci.version.bump import parse_version


class IncompleteCloneError(HydroCIError):
    """The clone lacks history or tags, so the versions in it cannot be trusted."""


@dataclass(frozen=True)
class Release:
    """A version in use, and where it was seen (a git tag name or an image reference)."""

    version: semver.Version
    source: str  # git | registry
    ref: str

    def to_dict(self) -> dict[str, str]:
        return {"version": str(self.version), "source": self.source, "ref": self.ref}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Release:
        return cls(semver.Version.parse(str(data["version"])), str(data["source"]), str(data["ref"]))


@dataclass
class Listing:
    """What one source holds: the versions found, and the tags skipped with the reason."""

    source: str
    releases: list[Release] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    ignored: int = 0  # tags of other models / moving tags, not worth a note each

    @property
    def versions(self) -> set[semver.Version]:
        return {r.version for r in self.releases}

    def summary(self) -> ListingSummary:
        return ListingSummary(self.source, len(self.releases), self.ignored, tuple(self.skipped))


@dataclass(frozen=True)
class ListingSummary:
    """What a decision keeps of a listing: how many versions, other tags, and the tags skipped."""

    source: str
    versions: int
    ignored: int
    skipped: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"versions": self.versions, "ignored": self.ignored,
                "skipped": [{"tag": t, "reason": why} for t, why in self.skipped]}

    @classmethod
    def from_dict(cls, source: str, data: Mapping[str, Any]) -> ListingSummary:
        return cls(source, int(data.get("versions") or 0), int(data.get("ignored") or 0),
                   tuple((str(s["tag"]), str(s["reason"])) for s in data.get("skipped") or ()))


def tag_pattern(tag_format: str, name: str) -> re.Pattern[str]:
    """A regex for the tags of model ``name``; group ``version`` is whatever stands for the version."""
    before, _, after = tag_format.partition("{version}")
    esc = [re.escape(part).replace(re.escape("{name}"), re.escape(name)) for part in (before, after)]
    return re.compile(f"^{esc[0]}(?P<version>.+?){esc[1]}$")


def tag_name(tag_format: str, name: str, version: semver.Version | str) -> str:
    return tag_format.replace("{name}", name).replace("{version}", str(version))


def versions_from_tags(tags: Iterable[str], tag_format: str, name: str, source: str) -> Listing:
    pattern = tag_pattern(tag_format, name)
    listing = Listing(source)
    for tag in tags:
        m = pattern.match(tag)
        if m is None:
            listing.ignored += 1
            continue
        version = parse_version(m["version"])
        if version is None:
            listing.skipped.append((tag, f"{m['version']!r} is not a semantic version"))
        elif version.build:
            listing.skipped.append((tag, "build metadata (+…) does not belong in a version tag"))
        else:
            listing.releases.append(Release(version, source, tag))
    return listing


def check_complete_clone(repo: Path, tag_format: str, name: str, remote: str | None) -> None:
    """Refuse a shallow clone, or one missing tags of this model that the remote has."""
    if git.is_shallow(repo):
        raise IncompleteCloneError(
            f"{repo} is a shallow clone: its tags and history are incomplete, so the version would be wrong",
            hint="check out with full history (actions/checkout: fetch-depth: 0) "
                 "or run: git fetch --unshallow --tags")
    if remote is None or not git.has_remote(repo, remote):
        return
    pattern = tag_pattern(tag_format, name)
    here = git.local_tags(repo)
    missing = sorted(t for t in git.remote_tags(repo, remote) if pattern.match(t) and t not in here)
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise IncompleteCloneError(
            f"{remote} has tag {missing[0]}{more} that this clone lacks, so the version would be wrong",
            hint=f"run: git fetch --tags {remote} (actions/checkout: fetch-depth: 0)")


def git_versions(repo: Path, tag_format: str, name: str, *, remote: str | None = "origin") -> Listing:
    """Released versions of model ``name`` from the tags of the clone at ``repo`` (checked complete)."""
    check_complete_clone(repo, tag_format, name, remote)
    return versions_from_tags(git.local_tags(repo), tag_format, name, "git")


def registry_versions(client: RegistryClient, repository: str) -> Listing:
    """Every tag of ``repository`` that is a strict semantic version; moving tags are ignored."""
    listing = Listing("registry")
    for tag in client.list_tags(repository):
        version = parse_version(tag)
        if version is None:
            listing.ignored += 1
        else:
            listing.releases.append(Release(version, "registry", f"{client.registry}/{repository}:{tag}"))
    return listing


@dataclass(frozen=True)
class Disagreement:
    version: semver.Version
    only_in: str
    meaning: str

    def to_dict(self) -> dict[str, str]:
        return {"version": str(self.version), "only_in": self.only_in, "meaning": self.meaning}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Disagreement:
        return cls(semver.Version.parse(str(data["version"])), str(data["only_in"]), str(data["meaning"]))


def reconcile(git_listing: Listing, registry_listing: Listing) -> tuple[list[Release], list[Disagreement]]:
    """The union of both (git's entry first for a version in both), and every disagreement."""
    in_git, in_registry = git_listing.versions, registry_listing.versions
    disagreements = [
        *(Disagreement(v, "git", "tag without an image: a reserved version whose build failed or is "
                                 "still running; it is never reused")
          for v in sorted(in_git - in_registry)),
        *(Disagreement(v, "registry", "image without a git tag: pushed by a run that made none "
                                      "(--no-git-tag, versions read from the registry alone, a failed tag "
                                      "push), by another tool, or its tag was deleted; it is never reused")
          for v in sorted(in_registry - in_git)),
    ]
    merged = [*git_listing.releases, *(r for r in registry_listing.releases if r.version not in in_git)]
    return merged, disagreements
