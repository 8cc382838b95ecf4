"""Versioning settings: the ``version:`` key of serving.yaml's ``hydro-ci:`` section, with defaults.

Read by ``version/`` to decide versions and by ``contract check`` (``contract.rules.settings``) to
report a bad setting where it is written; it lives here because ``contract/`` imports nothing above it.

```yaml
hydro-ci:
  version:
    initial: 0.1.0                 # first version when nothing was released yet
    major-on-zero: false           # 0.x: a breaking change bumps the minor version
    release-branches: [main, master, "release/*"]   # other branches get pre-releases
    prerelease-token: rc           # 1.4.0-rc.3
    tag-format: "{name}-v{version}"                  # git tags; "v{version}" for one-model repos
    tags: ["{version}", "{major}.{minor}", "{major}", latest, "sha-{sha}"]
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import semver

from hydro_ci.errors import HydroCIError

DEFAULT_TAGS = ("{version}", "{major}.{minor}", "{major}", "latest", "sha-{sha}")
PLACEHOLDERS = ("version", "major", "minor", "patch", "sha")
_TOKEN_RE = re.compile(r"^[0-9A-Za-z-]+$")
_WHERE = "serving.yaml hydro-ci.version"
INITIAL_VERSION = semver.Version(0, 1, 0)


class VersionConfigError(HydroCIError):
    """The ``version:`` settings in serving.yaml are wrong."""


@dataclass(frozen=True)
class VersionPolicy:
    initial: semver.Version = INITIAL_VERSION
    major_on_zero: bool = False
    release_branches: tuple[str, ...] = ("main", "master")
    prerelease_token: str = "rc"
    tag_format: str = "{name}-v{version}"
    tags: tuple[str, ...] = DEFAULT_TAGS

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> VersionPolicy:
        section = config.get("version") or {}
        if not isinstance(section, Mapping):
            raise VersionConfigError(f"{_WHERE} must be a mapping")
        known = {"initial", "major-on-zero", "release-branches", "prerelease-token", "tag-format", "tags"}
        unknown = sorted(set(section) - known)
        if unknown:
            raise VersionConfigError(f"{_WHERE}: unknown key {unknown[0]!r}",
                                     hint="known keys: " + ", ".join(sorted(known)))
        default = cls()
        return cls(
            initial=_initial(section.get("initial", str(default.initial))),
            major_on_zero=_bool(section, "major-on-zero", default.major_on_zero),
            release_branches=_strings(section, "release-branches", default.release_branches),
            prerelease_token=_token(section.get("prerelease-token", default.prerelease_token)),
            tag_format=_tag_format(section.get("tag-format", default.tag_format)),
            tags=_tag_patterns(_strings(section, "tags", default.tags)),
        )


def _initial(value: object) -> semver.Version:
    try:
        version = semver.Version.parse(str(value))
    except ValueError:
        raise VersionConfigError(f"{_WHERE}.initial: {value!r} is not a semantic version",
                                 hint="use MAJOR.MINOR.PATCH, e.g. 0.1.0") from None
    if version.prerelease or version.build:
        raise VersionConfigError(f"{_WHERE}.initial must be a release (no -pre or +build)")
    return version


def _bool(section: Mapping[str, Any], key: str, default: bool) -> bool:
    value = section.get(key, default)
    if not isinstance(value, bool):
        raise VersionConfigError(f"{_WHERE}.{key} must be true or false")
    return value


def _strings(section: Mapping[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = section.get(key, list(default))
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise VersionConfigError(f"{_WHERE}.{key} must be a list of strings")
    return tuple(value)


def _token(value: object) -> str:
    if not isinstance(value, str) or not _TOKEN_RE.match(value) or value.isdigit():
        raise VersionConfigError(f"{_WHERE}.prerelease-token {value!r} must be letters, digits, '-'")
    return value


def _tag_format(value: object) -> str:
    if not isinstance(value, str) or value.count("{version}") != 1:
        raise VersionConfigError(f"{_WHERE}.tag-format must contain {{version}} exactly once",
                                 hint='e.g. "{name}-v{version}" or "v{version}"')
    rest = value.replace("{version}", "").replace("{name}", "")
    if "{" in rest or "}" in rest or any(ch in rest for ch in " ~^:?*[\\"):
        raise VersionConfigError(f"{_WHERE}.tag-format {value!r}: only {{name}} and {{version}} "
                                 "placeholders and characters allowed in git tag names")
    return value


def _tag_patterns(patterns: tuple[str, ...]) -> tuple[str, ...]:
    for pattern in patterns:
        names = re.findall(r"\{([^}]*)\}", pattern)
        bad = [n for n in names if n not in PLACEHOLDERS]
        if bad:
            raise VersionConfigError(f"{_WHERE}.tags: unknown placeholder {{{bad[0]}}} in {pattern!r}",
                                     hint="placeholders: " + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS))
        try:
            sample = pattern.format(version="1.0.0-rc.1", major=1, minor=0, patch=0, sha="0abcdef")
        except (ValueError, IndexError, KeyError) as exc:  # a lone brace: "{version", "a}"
            raise VersionConfigError(f"{_WHERE}.tags: {pattern!r} is not a tag pattern ({exc})",
                                     hint="write placeholders as {version}; a brace cannot stand "
                                          "alone") from None
        if not re.fullmatch(r"[\w][\w.-]{0,127}", sample):
            raise VersionConfigError(f"{_WHERE}.tags: {pattern!r} does not make a valid image tag")
    return patterns
