"""Which URL a registry name is reached at, and whether plain HTTP is allowed for it.

Plain HTTP is only ever allowed for this machine (127.0.0.0/8, ::1, ``localhost``): a CI runner's
own throwaway registry. Anything else gets TLS, and ``--insecure`` for it is refused rather than
silently sending credentials and images in the clear.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from hydro_ci.errors import InsecureRegistryError

# Docker Hub's API does not live at its name.
_API_HOSTS = {"docker.io": "registry-1.docker.io", "index.docker.io": "registry-1.docker.io"}


def split_host(registry: str) -> tuple[str, int | None]:
    """``host:port`` / ``[::1]:5000`` / ``::1`` → (host, port)."""
    if registry.startswith("["):
        host, _, rest = registry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if registry.count(":") == 1:
        host, _, port = registry.partition(":")
        return host, int(port) if port.isdigit() else None
    return registry, None


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Endpoint:
    registry: str  # as the user wrote it (host[:port]); the key for credentials
    base_url: str  # scheme://api-host[:port]

    @property
    def insecure(self) -> bool:
        return self.base_url.startswith("http://")

    @property
    def origin(self) -> Origin:
        return origin_of(self.base_url)


# (scheme, host, port): the unit credentials are scoped to, as browsers scope cookies and tokens.
Origin = tuple[str, str, int]
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> Origin:
    """The scheme, lower-case host and port (explicit or the scheme's default) of ``url``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # a port that is no number: matches no registry
        port = -1
    if port is None:
        port = _DEFAULT_PORTS.get(scheme, -1)
    return scheme, (parts.hostname or "").lower(), port


def show_origin(url: str) -> str:
    """``scheme://host:port`` of ``url``, for messages (never its path, query or user info)."""
    scheme, host, port = origin_of(url)
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"


def endpoint_for(registry: str, *, insecure: bool | None = None) -> Endpoint:
    """``insecure=None`` means: plain HTTP for loopback registries (as Docker does), TLS otherwise."""
    host, _port = split_host(registry)
    local = is_loopback(host)
    if insecure and not local:
        raise InsecureRegistryError(
            f"--insecure is only allowed for registries on this machine "
            f"(127.0.0.0/8, ::1, localhost), not {registry}",
            hint="serve the registry over HTTPS (with a CA your system trusts) and drop --insecure",
        )
    plain = local if insecure is None else insecure
    api = _API_HOSTS.get(registry, registry)
    return Endpoint(registry, f"{'http' if plain else 'https'}://{api}")
