"""Semantic version math on the ``semver`` library: bumps, the 0.x rule, pre-releases, build metadata.

Pure. Every function that decides returns the reason too, so ``version next`` can explain itself.

The bump vocabulary, in one place: a release names the contract's **change** class (breaking,
additive, patch: ``contract.diff.ChangeClass``, whose ``bump`` is the step each class asks for) and
the semver **step** actually taken (``Step``: ``bump_version`` applies the 0.x rule, so a breaking
change on 0.x is ``step=minor (0.x)``; every first release is ``initial``). ``bump_text`` is how CLI
text, the job summary and the plan say it; JSON and GitHub outputs carry the same words.
"""

from __future__ import annotations

import enum
import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass

import semver

from hydro_ci.contract.diff import ChangeClass
from hydro_ci.contract.version_policy import VersionPolicy


class Bump(enum.Enum):
    """The step asked for (``--bump``, or by the contract's change class); ``Step`` is the one taken."""

    major = "major"
    minor = "minor"
    patch = "patch"

    @classmethod
    def for_change(cls, change: ChangeClass) -> Bump:
        return cls(change.bump)


class Step(enum.StrEnum):
    """The semver step a version took: the word CLI text, JSON, GitHub outputs and the summary use."""

    initial = "initial"  # no previous version: the policy's initial version
    major = "major"
    minor = "minor"
    patch = "patch"
    given = "given"  # --version: nothing decided
    none = "none"  # already released: no new version


ZERO_RULE = "0.x"  # the note of a breaking change held to a minor step before 1.0


@dataclass(frozen=True)
class Stepped:
    """The release after a previous one: the version, the step taken, a note on it, and why."""

    version: semver.Version
    step: Step
    note: str | None
    why: str


def bump_text(change: str | None, step: str, note: str | None = None) -> str:
    """``change=breaking, step=minor (0.x)``; ``step=initial`` when no contract was compared."""
    taken = f"step={step}" + (f" ({note})" if note else "")
    return f"change={change}, {taken}" if change else taken


def parse_version(text: str) -> semver.Version | None:
    """A strict semantic version (``1.2.3``, ``1.2.3-rc.1``), or None for anything else."""
    try:
        return semver.Version.parse(text)
    except (ValueError, TypeError):
        return None


def bump_version(previous: semver.Version | None, bump: Bump, policy: VersionPolicy) -> Stepped:
    """The release after ``previous`` for ``bump``: the step actually taken, and why."""
    if previous is None:
        return Stepped(policy.initial, Step.initial, None, f"the initial version {policy.initial}")
    previous = previous.finalize_version() if previous.prerelease else previous
    if bump is Bump.major and previous.major == 0 and not policy.major_on_zero:
        return Stepped(previous.bump_minor(), Step.minor, ZERO_RULE,
                       "breaking change on 0.x bumps the minor version until 1.0 (major-on-zero: false)")
    step = {Bump.major: previous.bump_major, Bump.minor: previous.bump_minor,
            Bump.patch: previous.bump_patch}[bump]
    return Stepped(step(), Step(bump.value), None, f"{bump.value} bump of {previous}")


def is_release_branch(branch: str | None, policy: VersionPolicy) -> bool:
    return branch is not None and any(fnmatch.fnmatchcase(branch, p) for p in policy.release_branches)


def prerelease_of(base: semver.Version, existing: Iterable[semver.Version],
                  token: str) -> semver.Version:
    """``base-token.N`` with N one above the highest such pre-release already used (else 1)."""
    numbers = [0]
    for v in existing:
        if v.finalize_version() == base and v.prerelease:
            head, _, num = str(v.prerelease).partition(".")
            if head == token and num.isdigit():
                numbers.append(int(num))
    return base.replace(prerelease=f"{token}.{max(numbers) + 1}")


def with_build(version: semver.Version, short_commit: str | None) -> str:
    """The version with build metadata (``1.4.0-rc.3+1a2b3c4``); tags never carry it ('+' is invalid)."""
    return str(version.replace(build=short_commit)) if short_commit else str(version)


def latest_release(versions: Iterable[semver.Version]) -> semver.Version | None:
    return max((v for v in versions if not v.prerelease), default=None)
