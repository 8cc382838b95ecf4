"""Provenance: an in-toto v1 statement whose predicate is SLSA v1 provenance, from ``BuildFacts``.

``externalParameters`` holds exactly what decides the image's digest, so ``hydro-ci verify`` can
build it again: the source (repository, commit, folder and the Model in it, and whether it had
uncommitted changes), the version, ``SOURCE_DATE_EPOCH``, the base image pinned by digest, the
platform, and the Python version and wheel platforms pip resolved for. ``resolvedDependencies``
lists the commit, the base, the requirement files and each wheel (URL and sha256). ``byproducts``
names the SBOMs by digest, so a signature over the provenance covers them too.

Pure, and free of clocks: the same build gives the same statement. ``parse_recorded`` reads one
back, as hostile input: every field typed and bounded, nothing else trusted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from hydro_ci import boundedjson
from hydro_ci.attest.facts import BUILDER_ID, BuildFacts
from hydro_ci.errors import HydroCIError

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
SLSA_PROVENANCE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "https://github.com/hydro-ci/hydro-ci/build-types/oci@v1"
MEDIA_TYPE = "application/vnd.in-toto+json"
MAX_STATEMENT = 4 << 20
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


class ProvenanceError(HydroCIError):
    """A provenance statement is malformed or does not describe the image."""


def statement(facts: BuildFacts, byproducts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    src = facts.source
    # the Model too: the folder's serving file may hold several, each an image of its own
    source: dict[str, Any] = {"path": src.path, "model": facts.model_name, "dirty": src.dirty}
    if src.repository:
        source["uri"] = src.repository
    if src.commit:
        source["digest"] = {"gitCommit": src.commit}
    external: dict[str, Any] = {
        "source": source,
        "image": facts.repository,
        "version": facts.version,
        "sourceDateEpoch": facts.source_date_epoch,
        "base": {"ref": facts.base_ref, "digest": facts.base_digest, "name": facts.base_name},
        "platform": facts.platform,
    }
    if facts.python_version:
        external["pip"] = {"pythonVersion": facts.python_version, "platforms": list(facts.pip_platforms)}
    deps: list[dict[str, Any]] = []
    if src.commit:
        uri = f"git+{src.repository}@{src.commit}" if src.repository else f"git+local@{src.commit}"
        deps.append({"uri": uri, "digest": {"gitCommit": src.commit}, "name": "source"})
    if facts.base_digest and facts.base_name:
        deps.append(
            {
                "uri": f"oci://{facts.base_name}@{facts.base_digest}",
                "name": "base",
                "digest": {"sha256": facts.base_digest.partition(":")[2]},
            }
        )
    for f in facts.requirement_files:
        deps.append({"uri": f.path, "name": "requirements", "digest": {"sha256": f.sha256}})
    for p in facts.packages:
        dep: dict[str, Any] = {
            "name": f"{p.name}=={p.version}",
            "uri": p.url or f"pkg:pypi/{p.name}@{p.version}",
        }
        if p.sha256:
            dep["digest"] = {"sha256": p.sha256}
        deps.append(dep)
    run: dict[str, Any] = {
        "builder": {"id": BUILDER_ID, "version": {"hydro-ci": facts.builder_version}},
        "metadata": {},
    }
    if byproducts:
        run["byproducts"] = byproducts
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": facts.repository, "digest": {"sha256": facts.digest.partition(":")[2]}}],
        "predicateType": SLSA_PROVENANCE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": external,
                "internalParameters": {"layers": [layer.klass for layer in facts.layers]},
                "resolvedDependencies": deps,
            },
            "runDetails": run,
        },
    }


def statement_bytes(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class RecordedBuild:
    """What a provenance statement says about how to build the image again."""

    digest: str  # the subject
    repository_uri: str | None
    commit: str | None
    dirty: bool
    path: str
    version: str | None
    source_date_epoch: int
    base_ref: str
    base_digest: str | None
    base_name: str | None
    platform: str
    python_version: str | None
    builder_version: str | None
    byproducts: tuple[tuple[str, str], ...]  # (name, sha256 hex)
    model: str | None = None  # the Model document built (absent from statements before it was recorded)


def _get(doc: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def _str(value: Any, what: str, *, optional: bool = False, limit: int = 2048) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value or len(value) > limit or "\x00" in value:
        raise ProvenanceError(f"the provenance's {what} is missing or malformed")
    return value


def parse_recorded(data: bytes, digest: str) -> RecordedBuild:
    """The build the statement ``data`` records for ``digest``; ProvenanceError when it does not."""
    if len(data) > MAX_STATEMENT:
        raise ProvenanceError(f"the provenance is larger than {MAX_STATEMENT} bytes")
    try:
        doc = boundedjson.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise ProvenanceError("the provenance is not JSON") from None
    if _get(doc, "_type") != STATEMENT_TYPE or _get(doc, "predicateType") != SLSA_PROVENANCE:
        raise ProvenanceError("not an in-toto v1 statement with SLSA v1 provenance")
    subjects = _get(doc, "subject")
    hexes = [_get(s, "digest", "sha256") for s in subjects] if isinstance(subjects, list) else []
    if digest.partition(":")[2] not in hexes:
        raise ProvenanceError(
            f"the provenance is about {', '.join(map(str, hexes)) or 'nothing'}, not {digest}",
            hint="it was attached to another image's digest; do not trust it",
        )
    if _get(doc, "predicate", "buildDefinition", "buildType") != BUILD_TYPE:
        raise ProvenanceError(
            f"the provenance's build type is not {BUILD_TYPE}",
            hint="only images built by hydro-ci's oci builder can be rebuilt",
        )
    ext = _get(doc, "predicate", "buildDefinition", "externalParameters")
    commit = _str(_get(ext, "source", "digest", "gitCommit"), "source commit", optional=True)
    if commit is not None and not _COMMIT.match(commit):
        raise ProvenanceError("the provenance's source commit is not a commit id")
    path = _str(_get(ext, "source", "path"), "source path")
    assert path is not None
    if path.startswith("/") or ".." in path.split("/"):
        raise ProvenanceError(f"the provenance's source path {path!r} leaves the repository")
    epoch = _get(ext, "sourceDateEpoch")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise ProvenanceError("the provenance's sourceDateEpoch is missing or malformed")
    base_digest = _str(_get(ext, "base", "digest"), "base digest", optional=True)
    if base_digest is not None and not (
        base_digest.startswith("sha256:") and _HEX64.match(base_digest[7:])
    ):
        raise ProvenanceError("the provenance's base digest is malformed")
    dirty = _get(ext, "source", "dirty")
    byproducts = []
    for b in _get(doc, "predicate", "runDetails", "byproducts") or []:
        name, sha = _get(b, "name"), _get(b, "digest", "sha256")
        if isinstance(name, str) and isinstance(sha, str) and _HEX64.match(sha):
            byproducts.append((name[:200], sha))
    version = _get(doc, "predicate", "runDetails", "builder", "version", "hydro-ci")
    return RecordedBuild(
        digest=digest,
        repository_uri=_str(_get(ext, "source", "uri"), "source uri", optional=True),
        commit=commit,
        dirty=dirty is not False,
        path=path,
        version=_str(_get(ext, "version"), "version", optional=True, limit=128),
        source_date_epoch=epoch,
        base_ref=_str(_get(ext, "base", "ref"), "base ref") or "",
        base_digest=base_digest,
        base_name=_str(_get(ext, "base", "name"), "base name", optional=True),
        platform=_str(_get(ext, "platform"), "platform", limit=64) or "",
        python_version=_str(_get(ext, "pip", "pythonVersion"), "python version", optional=True, limit=16),
        builder_version=version if isinstance(version, str) and len(version) < 64 else None,
        byproducts=tuple(byproducts),
        model=_str(_get(ext, "source", "model"), "source model", optional=True, limit=128),
    )
