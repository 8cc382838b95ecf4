"""Is the image this run would build already released? Asked before a new version is chosen.

Daemonless builder (``same: image``): the version X holds this run's image when the image this run
would build *if it carried X's version, X's created time and X's revision label* has the manifest
digest of the registry's X. Those three are what a new version or a new commit changes in the bytes
of an image that is otherwise the same (MODEL_VERSION and ``org.opencontainers.image.version``; the
epoch in ``created``, the history and ``org.opencontainers.image.created``; HEAD in
``org.opencontainers.image.revision``); everything else must be equal byte for byte: every layer
(the base's and ours), the env, the workdir, every other label, the contract label among them. So a
re-run on the released commit and a commit that changes nothing shipped (docs elsewhere in the
repository, a file ``.hydroignore`` leaves out) are already released; any change to a shipped file,
the contract, the base's digest, the metadata or the template is a new version. The build is
byte-reproducible, so this is one render and one layer computation (the layer cache keeps them for
the build) per candidate, and two small reads from the registry (manifest, config).

Engine builder (``same: commit``): ``docker build`` makes other bytes on every run, so no digest can
be compared. X holds this run's image when X was built from this very commit (its revision label is
HEAD, and HEAD holds every shipped file: ``render.assemble.source_commit``) with this contract (its
contract label). A docs-only commit is a new version there, and a base tag that moved since X is
not noticed: ``--bump patch`` releases anew.

Candidates, most likely first (at most ``CANDIDATES``): the versions whose git tag points at HEAD
(a re-run of a released commit, whatever was released since), the previous release (a commit that
changed nothing shipped), and for a pre-release the previous pre-release of the same version. A
release build only matches releases: a release candidate's image becomes a release when its branch
is merged. Only ``--bump auto`` asks: a given ``--bump`` or ``--version`` wants a new version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import semver

from hydro_ci import git
from hydro_ci.contract.jsonform import CONTRACT_LABEL
from hydro_ci.contract.version_policy import VersionPolicy
from hydro_ci.epoch import parse_rfc3339
from hydro_ci.image.remote import read_image
from hydro_ci.reference import parse_reference
from hydro_ci.registry.client import RegistryClient
from hydro_ci.render.assemble import Provenance
from hydro_ci.render.labels import OCI
from hydro_ci.version import sources
from hydro_ci.version.bump import parse_version
from hydro_ci.version.decision import Context, Released, VersionDecision

CANDIDATES = 4
REVISION_LABEL = OCI + "revision"


@dataclass(frozen=True)
class Candidate:
    version: str
    git_tag: str | None  # when known to exist


@dataclass(frozen=True)
class Ours:
    """What this run would build, as the check compares it: by digest (oci) or by commit (engine)."""

    builder: str
    digest_as: Callable[[str, Provenance], str]  # oci: the manifest digest as version X would have it
    contract_label: str  # engine: the contract label the image carries


def candidates(ctx: Context, decision: VersionDecision) -> list[Candidate]:
    policy = VersionPolicy.from_config(ctx.folder.config)
    found: list[Candidate] = []
    if ctx.repo is not None and ctx.source in ("git", "both"):
        pattern = sources.tag_pattern(policy.tag_format, ctx.folder.name)
        at_head = []
        for tag in git.tags_at(ctx.repo):
            m = pattern.match(tag)
            version = parse_version(m["version"]) if m else None
            if version is not None and not version.build:
                at_head.append((version, tag))
        found += [Candidate(str(v), tag) for v, tag in sorted(at_head, reverse=True)]
    previous = decision.previous
    if previous is not None:
        found.append(Candidate(str(previous.version), previous.ref if previous.source == "git" else None))
    this = parse_version(decision.version)
    if this is not None and this.prerelease:
        head, _, number = str(this.prerelease).partition(".")
        if number.isdigit() and int(number) > 1:
            found.append(Candidate(str(this.replace(prerelease=f"{head}.{int(number) - 1}")), None))
    seen: set[str] = set()
    out = []
    for c in found:
        v = semver.Version.parse(c.version)
        if c.version in seen or (v.prerelease and not (this is not None and this.prerelease)):
            continue
        seen.add(c.version)
        out.append(c)
    return out[:CANDIDATES]


def find_released(ctx: Context, decision: VersionDecision, repository: str, client: RegistryClient,
                  ours: Ours) -> Released | None:
    """The released version holding this run's image (see the module docstring), or None."""
    ref = parse_reference(repository)
    policy = VersionPolicy.from_config(ctx.folder.config)
    head = git.head_commit(ctx.repo) if ctx.repo is not None and ctx.short_commit else None
    for c in candidates(ctx, decision):
        digest = client.head_manifest(ref.repository, c.version)
        if digest is None:
            continue  # only in git: a reservation whose build failed, say
        remote = read_image(client, ref.with_tag(c.version))
        if remote.index_digest is not None:
            continue  # hydro-ci pushes single-platform manifests: another tool's image
        labels = remote.config.labels
        if ours.builder == "oci":
            epoch = parse_rfc3339(remote.config.created)
            if epoch is None:
                continue
            revision = labels.get(REVISION_LABEL)
            if ours.digest_as(c.version, Provenance(epoch, revision)) != remote.digest:
                continue
            same = "image"
        else:
            epoch, revision = None, labels.get(REVISION_LABEL)
            if head is None or revision != head or labels.get(CONTRACT_LABEL) != ours.contract_label:
                continue
            same = "commit"
        tag = c.git_tag
        if tag is None and ctx.repo is not None and ctx.source in ("git", "both"):
            name = sources.tag_name(policy.tag_format, ctx.folder.name, c.version)
            tag = name if git.tag_exists(ctx.repo, name) else None
        return Released(c.version, remote.digest, f"{repository}:{c.version}", same, epoch, revision, tag)
    return None
