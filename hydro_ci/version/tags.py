"""The tag set of a version, metadata-action style, from the configured patterns.

- ``{version}`` (and any pattern holding it, or ``{patch}``): immutable, pushed once, never moved.
- ``{major}.{minor}``: moves to this release only when it is the highest of its ``X.Y`` line.
- ``{major}``: likewise for the ``X`` line; never made for 0.x (a ``0`` tag would mean nothing).
- a pattern without placeholders (``latest``): only when this is the highest release of all.
- ``{sha}``: the short commit, on every build.
Pre-releases get only immutable and commit tags: nothing moving may point at a release candidate.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from dataclasses import dataclass

import semver


@dataclass(frozen=True)
class Tag:
    name: str
    kind: str  # immutable | moving | commit
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"tag": self.name, "kind": self.kind, "reason": self.reason}


@dataclass(frozen=True)
class SkippedTag:
    pattern: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"pattern": self.pattern, "reason": self.reason}


def _fields(pattern: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(pattern) if name}


def tag_set(version: semver.Version, released: Iterable[semver.Version], short_commit: str | None,
            patterns: Iterable[str]) -> tuple[list[Tag], list[SkippedTag]]:
    """Tags to push for ``version`` given every version already ``released`` (any source)."""
    releases = [v for v in released if not v.prerelease and not v.build]
    values = {"version": str(version), "major": version.major, "minor": version.minor,
              "patch": version.patch, "sha": short_commit or ""}
    tags: list[Tag] = []
    skipped: list[SkippedTag] = []

    def highest(line: str, same: list[semver.Version]) -> Tag | SkippedTag:
        higher = [v for v in same if v > version]
        if higher:
            return SkippedTag(pattern, f"{max(higher)} is higher in {line}")
        return Tag(pattern.format(**values), "moving", f"highest release in {line}")

    for pattern in patterns:
        names = _fields(pattern)
        result: Tag | SkippedTag
        if "sha" in names:
            result = (Tag(pattern.format(**values), "commit", "the commit built")
                      if short_commit else SkippedTag(pattern, "no commit names it (outside git, or "
                                                              "uncommitted changes)"))
        elif "version" in names or "patch" in names:
            if version.prerelease and "version" not in names:
                result = SkippedTag(pattern, "pre-release: would name the release")
            else:
                result = Tag(pattern.format(**values), "immutable", "this version, never moved")
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
    return tags, skipped

