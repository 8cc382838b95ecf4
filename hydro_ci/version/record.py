"""A release recorded where versions are read: the annotated git tag of each version.

Two hydro-ci runs write one: ``--reserve`` before building (``version.reserve``: its message names
the run), and the pipeline after a successful push (its message names the version, the registry's
manifest digest and the bump). Both are annotated tags, so the next run can tell from a tag's
message why a version it finds in git has no image: a reservation whose build or push failed (or
is still running), a release whose image was since deleted, or a tag made by hand.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydro_ci import git
from hydro_ci.version.sources import Disagreement, Release

_RESERVED = re.compile(r"^hydro-ci: \S+ \S+ reserved by run (?P<run>\S+)$")
_RELEASED = re.compile(r"^hydro-ci: \S+ \S+ released as (?P<digest>sha256:[0-9a-f]{64})$")
_EXPLAINED_AT_MOST = 50  # tag messages read per run; more disagreements keep the generic meaning


def reservation_message(model: str, full_version: str, run_id: str) -> str:
    return f"hydro-ci: {model} {full_version} reserved by run {run_id}"


def release_message(model: str, version: str, image: str, digest: str, bump: str, reason: str) -> str:
    """The annotation of a released version's tag: the version, the digest, the bump and why."""
    return (f"hydro-ci: {model} {version} released as {digest}\n\n"
            f"image: {image}@{digest}\nbump: {bump}\nwhy: {reason}\n")


@dataclass(frozen=True)
class RecordedTag:
    """tag.json: the annotated git tag a pipeline made for its release, and where it went."""

    tag: str
    object: str  # the tag object's id
    commit: str | None
    remote: str | None  # the remote it was pushed to; None: no such remote, the tag stays local
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"tag": self.tag, "object": self.object, "commit": self.commit, "remote": self.remote,
                "message": self.message}

    @classmethod
    def from_json(cls, data: Any) -> RecordedTag:
        return cls(str(data["tag"]), str(data["object"]), data.get("commit"), data.get("remote"),
                   str(data.get("message") or ""))


class TagTakenError(git.GitError):
    """The remote holds the release's tag as another tag object (another run, or a hand-made tag)."""


def record_release(repo: Path, tag: str, message: str, remote: str = "origin") -> RecordedTag:
    """Create the annotated tag at HEAD and push it (without force) when ``remote`` exists."""
    ours = git.create_tag(repo, tag, message)
    commit = git.head_commit(repo)
    if not git.has_remote(repo, remote):
        return RecordedTag(tag, ours, commit, None, message)
    if not git.push_tag(repo, tag, remote):
        raise TagTakenError(f"{remote} already has tag {tag} as another tag object; the image is pushed, "
                            "its version recorded only here",
                            hint=f"compare: git ls-remote {remote} refs/tags/{tag}; another run may have "
                                 "released the same version (use --reserve to take versions first)")
    return RecordedTag(tag, ours, commit, remote, message)


def explain_git_only(repo: Path, disagreements: Sequence[Disagreement],
                     releases: Sequence[Release]) -> tuple[Disagreement, ...]:
    """Each version only in git, explained by its tag's message (one ``for-each-ref``)."""
    tags = {r.version: r.ref for r in releases if r.source == "git"}
    wanted = [tags[d.version] for d in disagreements if d.only_in == "git" and d.version in tags]
    if not wanted:
        return tuple(disagreements)
    subjects = _subjects(repo, wanted[:_EXPLAINED_AT_MOST])
    out = []
    for d in disagreements:
        tag = tags.get(d.version)
        subject = subjects.get(tag) if tag else None
        if d.only_in != "git" or tag is None or subject is None:
            out.append(d)
        elif m := _RESERVED.match(subject):
            out.append(Disagreement(d.version, d.only_in,
                                    f"tag {tag} reserved it (run {m['run']}) but no image has it: that "
                                    "run's build or push failed, or it is still running; it is never reused"))
        elif m := _RELEASED.match(subject):
            out.append(Disagreement(d.version, d.only_in,
                                    f"tag {tag} records its release as {m['digest']}, but the registry has "
                                    "no such version tag: deleted from the registry?; it is never reused"))
        else:
            out.append(Disagreement(d.version, d.only_in,
                                    f"tag {tag} was not made by hydro-ci (by hand, or another tool) and no "
                                    "image has it; it is never reused"))
    return tuple(out)


def _subjects(repo: Path, tags: Sequence[str]) -> dict[str, str | None]:
    """Tag name → the subject of an annotated tag's message (None for a lightweight tag)."""
    refs = [f"refs/tags/{t}" for t in tags]
    out = git.run_git(["for-each-ref", "--format=%(refname:strip=2)%00%(objecttype)%00%(contents:subject)%00",
                       *refs], repo).stdout
    parts = [os.fsdecode(p) for p in out.split(b"\0")]
    found: dict[str, str | None] = {}
    for i in range(0, len(parts) - 2, 3):
        name, kind, subject = parts[i].strip(), parts[i + 1], parts[i + 2]
        found[name] = subject if kind == "tag" else None
    return found
