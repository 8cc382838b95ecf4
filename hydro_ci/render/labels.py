"""Image labels: Hydrosphere's, the OCI annotations, serving.yaml metadata and the contract itself.

The contract label (``io.hydro-ci.contract``) holds the compact JSON form of the contract so tools
read it from the registry (image config) without pulling a layer. Pure: git and the epoch are read
by the caller and passed in.
"""

from __future__ import annotations

import json
import re

from hydro_ci.contract.jsonform import CONTRACT_LABEL, contract_to_dict
from hydro_ci.contract.model import Contract
from hydro_ci.epoch import rfc3339

OCI = "org.opencontainers.image."


def contract_label_value(contract: Contract) -> str:
    """The exact label value other tools parse; keep the form stable."""
    return json.dumps(contract_to_dict(contract), sort_keys=True, separators=(",", ":"))


def image_labels(
    *,
    name: str,
    version: str | None,
    contract: Contract,
    epoch: int,
    metadata: dict[str, str] | None = None,
    revision: str | None = None,
    source: str | None = None,
) -> dict[str, str]:
    """All labels, sorted by key. Ours win over metadata keys of the same name."""
    labels: dict[str, str] = {str(k): str(v) for k, v in (metadata or {}).items()}
    ours: dict[str, str | None] = {
        "MODEL_NAME": name,
        "MODEL_VERSION": version,
        OCI + "title": name,
        OCI + "version": version,
        OCI + "created": rfc3339(epoch),
        OCI + "revision": revision,
        OCI + "source": source_label(source) if source else None,
        CONTRACT_LABEL: contract_label_value(contract),
    }
    labels.update({k: v for k, v in ours.items() if v is not None})
    return dict(sorted(labels.items()))


# A remote a registry page can link to: http(s) or ssh URLs, or git's scp-like ``user@host:path``.
_LINKABLE_SCHEMES = ("http", "https", "ssh", "git+ssh", "ssh+git", "git+https")
_SCP_LIKE = re.compile(r"[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!/)[^\s]+")


def source_label(remote: str) -> str | None:
    """The ``org.opencontainers.image.source`` value for a git remote: a linkable URL without
    credentials, or None. A local path (``/home/runner/work/…``, ``file://``, ``../up.git``) is a
    fact about the build host, not where the source lives, and stays out of the image's labels."""
    if any(c.isspace() for c in remote):
        return None
    scheme, sep, rest = remote.partition("://")
    if not sep:
        return remote if _SCP_LIKE.fullmatch(remote) else None
    has_host = bool(rest.split("/", 1)[0].rpartition("@")[2])
    return _public_url(remote) if scheme.lower() in _LINKABLE_SCHEMES and has_host else None


def _public_url(url: str) -> str:
    """A remote URL without credentials (https://user:token@host/… would leak a token into the image)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url  # scp-like git@host:path: a user name, never a password
    host, slash, path = rest.partition("/")
    host = host.rpartition("@")[2]  # the last @: a raw '@' in a password must not leave its tail
    path = path.split("?", 1)[0].split("#", 1)[0]  # ?private_token=… is a credential too
    return f"{scheme}{sep}{host}{slash}{path}"
