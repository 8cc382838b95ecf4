"""Docker's own store of registry logins: config.json and the credential helpers it names.

Docker's lookup order, which we follow: ``credHelpers[registry]`` → ``credsStore`` → ``auths``.
The config lives in ``$DOCKER_CONFIG/config.json`` (default ``~/.docker/config.json``). Helpers are
the ``docker-credential-<name>`` programs: ``get`` reads the server on stdin, prints JSON.

A secret never reaches a message, a log record or a repr: ``Credentials`` hides it.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hydro_ci.boundedjson as boundedjson
from hydro_ci.errors import CredentialsError

log = logging.getLogger(__name__)

# Docker Hub is stored under its v1 index address in config.json, whatever name the user typed.
DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})
# A helper answering this user name means: the secret is an identity (refresh) token.
_TOKEN_USER = "<token>"


@dataclass(frozen=True)
class Credentials:
    """A user name and a secret; ``identity_token`` is an OAuth2 refresh token (``docker login`` SSO)."""

    username: str
    password: str = field(repr=False)
    identity_token: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        kind = "identity token" if self.identity_token else "password"
        return f"Credentials(username={self.username!r}, {kind}=<hidden>)"

    __str__ = __repr__


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"]).expanduser()
    return Path(env.get("HOME") or Path.home()) / ".docker"


def server_key(registry: str) -> str:
    """The key Docker uses for ``registry`` in config.json and with helpers."""
    return DOCKER_HUB_KEY if registry in _HUB_ALIASES else registry


def normalize_registry(key: str) -> str:
    """``https://host:5000/v2/`` → ``host:5000``: config.json keys come with or without scheme/path."""
    for scheme in ("https://", "http://"):
        if key.startswith(scheme):
            key = key[len(scheme):]
    host = key.split("/", 1)[0]
    return "docker.io" if host in _HUB_ALIASES else host


def load_config(path: Path) -> dict[str, Any]:
    try:
        data = boundedjson.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise CredentialsError(
            f"{path}: cannot read Docker config ({type(e).__name__})",
            hint="fix or remove the file, or pass --username and --password-stdin",
        ) from None
    if not isinstance(data, dict):
        raise CredentialsError(f"{path}: Docker config is not a JSON object", hint="fix or remove the file")
    return data


def from_docker_config(registry: str, *, env: Mapping[str, str] | None = None) -> Credentials | None:
    """Credentials Docker would use for ``registry`` (host[:port]), or None for anonymous."""
    path = config_dir(env) / "config.json"
    config = load_config(path)
    host = normalize_registry(registry)
    helpers = config.get("credHelpers") or {}
    for key, helper in helpers.items() if isinstance(helpers, dict) else ():
        if normalize_registry(key) == host:
            return from_helper(str(helper), server_key(host), env=env)
    auths = config.get("auths") or {}
    if config.get("credsStore"):
        found = from_helper(str(config["credsStore"]), server_key(host), env=env)
        if found is not None:
            return found
    for key, entry in auths.items() if isinstance(auths, dict) else ():
        if normalize_registry(key) == host and isinstance(entry, dict):
            creds = _from_auth_entry(entry, path, key)
            if creds is not None:
                return creds
    return None


def _from_auth_entry(entry: Mapping[str, Any], path: Path, key: str) -> Credentials | None:
    identity = entry.get("identitytoken") or None
    if entry.get("auth"):
        try:
            decoded = base64.b64decode(str(entry["auth"]), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise CredentialsError(
                f"{path}: the 'auth' entry for {key} is not base64 of user:password",
                hint=f"run: docker login {normalize_registry(key)}",
            ) from None
        username, sep, password = decoded.partition(":")
        if not sep:
            raise CredentialsError(
                f"{path}: the 'auth' entry for {key} lacks the ':' between user and password",
                hint=f"run: docker login {normalize_registry(key)}",
            )
        return Credentials(username, password, identity)
    if entry.get("username") and entry.get("password") is not None:
        return Credentials(str(entry["username"]), str(entry["password"]), identity)
    if identity:
        return Credentials("", "", str(identity))
    return None


def from_helper(name: str, server: str, *, env: Mapping[str, str] | None = None) -> Credentials | None:
    """Ask ``docker-credential-<name> get``; None when it has nothing for ``server``."""
    program = f"docker-credential-{name}"
    search_path = (os.environ if env is None else env).get("PATH")
    exe = shutil.which(program, path=search_path)
    if exe is None:
        raise CredentialsError(
            f"credential helper {program} is not on PATH (named in Docker's config.json)",
            hint=f"install {program}, or remove it from credsStore/credHelpers in config.json",
        )
    try:
        proc = subprocess.run(
            [exe, "get"], input=server.encode(), capture_output=True, timeout=60, check=False,
            env=None if env is None else dict(env),
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise CredentialsError(f"credential helper {program} failed to run ({type(e).__name__})",
                               hint=f"try: echo {server} | {program} get") from None
    out = proc.stdout.decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        # Helpers say "credentials not found" on stdout and exit 1 for an unknown server.
        if "credentials not found" in out.lower():
            return None
        # The helper's own output may echo secrets, so only its exit code is reported.
        raise CredentialsError(f"credential helper {program} exited with {proc.returncode} for {server}",
                               hint=f"try: echo {server} | {program} get")
    try:
        answer = boundedjson.loads(out)
        username, secret = str(answer["Username"]), str(answer["Secret"])
    except (ValueError, KeyError, TypeError):
        raise CredentialsError(f"credential helper {program} printed no Username/Secret JSON",
                               hint=f"try: echo {server} | {program} get") from None
    log.debug("credentials for %s from %s", server, program)
    if username == _TOKEN_USER:
        return Credentials("", "", secret)
    return Credentials(username, secret)
