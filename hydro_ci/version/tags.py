"""The tag set of a version, metadata-action style, and the one place a tag's kind is decided.

- ``{version}`` (and any pattern holding it, or ``{patch}``): immutable, pushed once, never moved.
- ``{major}.{minor}``: moves to this release only when it is the highest of its ``X.Y`` line.
- ``{major}``: likewise for the ``X`` line; never made for 0.x (a ``0`` tag would mean nothing).
- a pattern without placeholders (``latest``): only when this is the highest release of all.
- ``{sha}``: the short commit, on every build.
Pre-releases get only immutable and commit tags: nothing moving may point at a release candidate.

The kind travels with the tag (``TagSet``) to every publisher, which never guesses it from the
spelling: an immutable tag is refused where it names another image, re-checked right before it is
written and read back after; moving and commit tags are set where they are (last writer wins).
"""

from __future__ import annotations

import enum
import string
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import semver

_SEMVER_RELEASE_CHARS = frozenset("0123456789.")


class TagKind(enum.StrEnum):
    immutable = "immutable"  # a version: written once, never moved
    moving = "moving"  # latest, X.Y, X: follows the highest release
    commit = "commit"  # sha-…: the commit built; a rebuild of it may move it


@dataclass(frozen=True)
class Tag:
    name: str
    kind: TagKind
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"tag": self.name, "kind": self.kind.value, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Tag:
        return cls(str(data["tag"]), TagKind(data["kind"]), str(data.get("reason") or ""))


@dataclass(frozen=True)
class TagSet:
    """The tags of one image, the version tag first, each once, each with its kind."""

    tags: tuple[Tag, ...]

    def __post_init__(self) -> None:
        if not self.tags or self.tags[0].kind is not TagKind.immutable:
            raise ValueError("a tag set starts with its version tag")

    def __iter__(self) -> Iterator[Tag]:
        return iter(self.tags)

    def __len__(self) -> int:
        return len(self.tags)

    @property
    def version(self) -> str:
        """The version tag: the first one."""
        return self.tags[0].name

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tags)

    @property
    def immutable(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tags if t.kind is TagKind.immutable)

    @property
    def moving(self) -> tuple[str, ...]:
        """Moving and commit tags: set where they are, whatever they named before."""
        return tuple(t.name for t in self.tags if t.kind is not TagKind.immutable)

    @classmethod
    def of(cls, tags: Iterable[Tag]) -> TagSet:
        """The tags in order, a name given twice kept once (its first kind)."""
        seen: dict[str, Tag] = {}
        for tag in tags:
            seen.setdefault(tag.name, tag)
        return cls(tuple(seen.values()))

    @classmethod
    def given(cls, version: str, extra: Sequence[str] = ()) -> TagSet:
        """``--version V --tag T…``: the version is immutable; an extra tag spelled like a release
        (``-t 1.0.0``) is too, as a released version must never move; the others are moving."""
        return cls.of([Tag(version, TagKind.immutable, "--version"),
                       *(Tag(t, TagKind.immutable if looks_like_release(t) else TagKind.moving, "--tag")
                         for t in extra)])

    def to_json(self) -> list[dict[str, str]]:
        return [t.to_dict() for t in self.tags]

    @classmethod
    def from_json(cls, data: Iterable[Mapping[str, Any]]) -> TagSet:
        return cls(tuple(Tag.from_dict(d) for d in data))


def looks_like_release(tag: str) -> bool:
    """A full release version (``1.2.3``, ``1.2.3-rc.1``, ``1.2.3+abc``): what a tag given by hand
    must not move once released."""
    core = tag.split("+", 1)[0].split("-", 1)[0]
    parts = core.split(".")
    return len(parts) == 3 and all(p.isdigit() for p in parts) and set(core) <= _SEMVER_RELEASE_CHARS


@dataclass(frozen=True)
class SkippedTag:
    pattern: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"pattern": self.pattern, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SkippedTag:
        return cls(str(data["pattern"]), str(data.get("reason") or ""))


def _fields(pattern: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(pattern) if name}


def tag_set(version: semver.Version, released: Iterable[semver.Version], short_commit: str | None,
            patterns: Iterable[str], *, no_commit: str | None = None) -> tuple[TagSet, list[SkippedTag]]:
    """Tags to push for ``version`` given every version already ``released`` (any source);
    ``no_commit``: why no commit names what is built (the commit tag's skip reason)."""
    releases = [v for v in released if not v.prerelease and not v.build]
    values = {"version": str(version), "major": version.major, "minor": version.minor,
              "patch": version.patch, "sha": short_commit or ""}
    tags: list[Tag] = []
    skipped: list[SkippedTag] = []

    def highest(line: str, same: list[semver.Version]) -> Tag | SkippedTag:
        higher = [v for v in same if v > version]
        if higher:
            return SkippedTag(pattern, f"{max(higher)} is higher in {line}")
        return Tag(pattern.format(**values), TagKind.moving, f"highest release in {line}")

    for pattern in patterns:
        names = _fields(pattern)
        result: Tag | SkippedTag
        if "sha" in names:
            result = (Tag(pattern.format(**values), TagKind.commit, "the commit built")
                      if short_commit else SkippedTag(pattern, f"no commit names it: {no_commit}" if no_commit
                                                      else "no commit names it (outside git, or "
                                                           "uncommitted changes)"))
        elif "version" in names or "patch" in names:
            if version.prerelease and "version" not in names:
                result = SkippedTag(pattern, "pre-release: would name the release")
            else:
                result = Tag(pattern.format(**values), TagKind.immutable, "this version, never moved")
        elif version.prerelease:
            result = SkippedTag(pattern, "pre-release: moving tags only point at releases")
        elif "minor" in names:
            result = highest(f"{version.major}.{version.minor}.x",
                             [v for v in releases if (v.major, v.minor) == (version.major, version.minor)])
        elif "major" in names:
            result = (SkippedTag(pattern, "0.x: no major-only tag before 1.0") if version.major == 0
                      else highest(f"{version.major}.x", [v for v in releases if v.major == version.major]))
        else:
            result = highest("all releases", releases)
        if isinstance(result, Tag):
            if all(t.name != result.name for t in tags):
                tags.append(result)
        else:
            skipped.append(result)
    # The version tag leads: the first immutable one, else the plain version (no pattern names it).
    first = next((t for t in tags if t.kind is TagKind.immutable), None)
    if first is None:
        first = Tag(str(version), TagKind.immutable, "the version (no tag pattern holds {version})")
    return TagSet.of([first, *tags]), skipped

