"""Image references (``registry/repo/name:tag@sha256:…``), parsed the way Docker does.

Grammar after distribution/reference: a domain is recognised only when the first path component
contains a ``.`` or ``:`` or is ``localhost``; otherwise the image lives on Docker Hub.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hydro_ci.errors import HydroCIError, UsageError

DOCKER_HUB = "docker.io"
DEFAULT_TAG = "latest"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = (
    r"(?:\[[0-9a-fA-F:]+\]|(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)"
    r"(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*)(?::[0-9]+)?"
)
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}"
_REPO_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_DOMAIN_RE = re.compile(rf"^{_DOMAIN}$")
_TAG_RE = re.compile(rf"^{_TAG}$")
_DIGEST_RE = re.compile(rf"^{_DIGEST}$")
# ``[scheme://]userinfo@`` in front of the first ``/``: a URL with credentials, not a reference.
_USERINFO_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)?([^/@]+)@(.*)$", re.DOTALL)


def _userinfo(text: str) -> str | None:
    """The ``user:password`` of ``[scheme://]user:password@host/…`` (not a ``name@digest``)."""
    m = _USERINFO_RE.match(text)
    return m.group(2) if m and not _DIGEST_RE.match(m.group(3)) else None


class ReferenceError(HydroCIError):
    """Not a valid image reference."""

    def __init__(self, text: str, reason: str) -> None:
        secret = _userinfo(text)
        if secret:  # user:password@ pasted into a reference is never echoed back
            text, reason = (s.replace(secret, "***") for s in (text, reason))
        super().__init__(
            f"invalid image reference {text!r}: {reason}",
            hint="use [REGISTRY/]REPOSITORY[:TAG][@sha256:DIGEST], e.g. ghcr.io/acme/model:1.0.0",
        )
        self.text = text
        self.reason = reason


@dataclass(frozen=True)
class ImageReference:
    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        out = f"{self.registry}/{self.repository}"
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    @property
    def name(self) -> str:
        """Registry and repository, without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def reference(self) -> str:
        """What goes after /manifests/ in the distribution API: digest first, else tag."""
        return self.digest or self.tag or DEFAULT_TAG

    def with_tag(self, tag: str) -> ImageReference:
        if not _TAG_RE.match(tag):
            raise ReferenceError(f"{self.name}:{tag}", f"bad tag {tag!r}")
        return ImageReference(self.registry, self.repository, tag, None)

    def with_digest(self, digest: str) -> ImageReference:
        return ImageReference(self.registry, self.repository, self.tag, digest)


def parse_reference(text: str, *, require_tag: bool = False) -> ImageReference:
    """Parse ``text``; Docker Hub names get ``docker.io`` and ``library/`` as Docker does."""
    if not text or text != text.strip():
        raise ReferenceError(text, "empty or surrounded by white space")
    if len(text) > 4096:
        raise ReferenceError(text[:40] + "…", "too long")
    if "://" in text:
        raise ReferenceError(text, "a reference has no URL scheme; give REGISTRY/REPOSITORY")
    if _userinfo(text):
        raise ReferenceError(text, "credentials do not belong in a reference; "
                                   "use --username/--password-stdin or docker login")
    rest, digest = text, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST_RE.match(digest):
            raise ReferenceError(text, f"bad digest {digest!r}")
    tag = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG_RE.match(tag):
            raise ReferenceError(text, f"bad tag {tag!r}")
    first, _, remainder = rest.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, remainder
        if not _DOMAIN_RE.match(registry):
            raise ReferenceError(text, f"bad registry {registry!r}")
    else:
        registry, repository = DOCKER_HUB, rest
        if "/" not in repository:
            repository = f"library/{repository}"
    if not _REPO_RE.match(repository):
        raise ReferenceError(
            text, "repository must be lowercase letters, digits and separators (. _ __ -)"
        )
    if len(repository) > 255:
        raise ReferenceError(text, "repository name longer than 255 characters")
    if require_tag and tag is None and digest is None:
        raise ReferenceError(text, "a tag (or digest) is required")
    return ImageReference(registry, repository, tag, digest)


def image_repository(given: str | None, configured: object = None) -> str | None:
    """The repository a model's image is versioned and pushed as, for every verb and stage:
    ``--image``, else serving.yaml's ``hydro-ci: image:``; None when neither names one.

    A tag or digest is refused: the version decides the tags. (``contract check`` refuses one in
    serving.yaml already, with its location.)
    """
    image = given or (configured if isinstance(configured, str) and configured else None)
    if image is None:
        return None
    ref = parse_reference(image)
    if ref.tag or ref.digest:
        where = f"--image {image}" if given else f"serving.yaml hydro-ci.image {image}"
        raise UsageError(f"{where} must not carry a tag or digest",
                         hint=f"give the repository (e.g. {ref.name}); the version decides the tags")
    return image
