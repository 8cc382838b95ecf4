"""Credentials from Docker's config.json, credential helper programs and DOCKER_CONFIG."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from hydro_ci.errors import AuthError, CredentialsError
from hydro_ci.registry import client_for
from hydro_ci.registry.credentials import Credentials, from_docker_config
from hydro_ci.registry.keychain import Keychain

HELPER = """#!/bin/sh
# A docker-credential helper, as Docker's protocol has it: `get`, server on stdin, JSON on stdout.
echo "$1 $(cat)" >> "{log}"
read_server=$(tail -n 1 "{log}" | cut -d' ' -f2)
if [ "$1" = get ] && [ "$read_server" = "{server}" ]; then
  printf '{{"ServerURL":"%s","Username":"{user}","Secret":"{secret}"}}' "$read_server"
  exit 0
fi
echo "credentials not found in native keychain"
exit 1
"""


def _write_config(path: str, config: dict[str, Any]) -> None:
    Path(path, "config.json").write_text(json.dumps(config))


def _install_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: str, user: str,
                    secret: str) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "helper.log"
    helper = bindir / "docker-credential-test"
    helper.write_text(HELPER.format(log=log, server=server, user=user, secret=secret))
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return log


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.registry
def test_auths_base64_entry_logs_in(registry: Any, empty_docker_config: str) -> None:
    _write_config(empty_docker_config, {"auths": {registry.host: {"auth": _b64(
        f"{registry.username}:{registry.password}")}}})
    client_for(f"{registry.host}/test/x:1").ping()


@pytest.mark.registry
def test_auths_username_password_entry_with_scheme_in_key(registry: Any, empty_docker_config: str) -> None:
    _write_config(empty_docker_config, {"auths": {f"http://{registry.host}/v2/": {
        "username": registry.username, "password": registry.password}}})
    client_for(registry.host).ping()


@pytest.mark.registry
def test_cred_helper_program_is_asked(registry: Any, empty_docker_config: str, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    log = _install_helper(tmp_path, monkeypatch, registry.host, registry.username, registry.password)
    _write_config(empty_docker_config, {"auths": {registry.host: {"auth": _b64("wrong:wrong")}},
                                        "credHelpers": {registry.host: "test"}})
    client_for(registry.host).ping()  # the helper wins over auths, as in Docker
    assert log.read_text().split() == ["get", registry.host]


@pytest.mark.registry
def test_creds_store_then_auths_fallback(registry: Any, empty_docker_config: str, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    log = _install_helper(tmp_path, monkeypatch, "other.example.com", "u", "s")
    _write_config(empty_docker_config, {"credsStore": "test", "auths": {registry.host: {
        "auth": _b64(f"{registry.username}:{registry.password}")}}})
    client_for(registry.host).ping()  # the store has nothing for it: auths answers
    assert log.read_text().split() == ["get", registry.host]
    assert from_docker_config("other.example.com") == Credentials("u", "s")


@pytest.mark.registry
def test_nothing_configured_is_anonymous(registry: Any, empty_docker_config: str) -> None:
    assert from_docker_config(registry.host) is None
    with pytest.raises(AuthError, match="requires authentication"):
        client_for(registry.host).ping()


@pytest.mark.registry
def test_explicit_credentials_win_over_config(registry: Any, empty_docker_config: str) -> None:
    _write_config(empty_docker_config, {"auths": {registry.host: {"auth": _b64("nobody:wrong")}}})
    client_for(registry.host, Keychain(Credentials(registry.username, registry.password))).ping()
    with pytest.raises(AuthError, match="refused the credentials of 'nobody'"):
        client_for(registry.host).ping()


def test_missing_helper_is_one_line(empty_docker_config: str) -> None:
    _write_config(empty_docker_config, {"credHelpers": {"ghcr.io": "absent-helper-xyz"}})
    with pytest.raises(CredentialsError) as err:
        from_docker_config("ghcr.io")
    assert str(err.value) == ("credential helper docker-credential-absent-helper-xyz is not on PATH "
                              "(named in Docker's config.json)")


def test_helper_token_user_means_identity_token(empty_docker_config: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _install_helper(tmp_path, monkeypatch, "ghcr.io", "<token>", "refresh-abc")
    _write_config(empty_docker_config, {"credsStore": "test"})
    creds = from_docker_config("ghcr.io")
    assert creds is not None and creds.identity_token == "refresh-abc" and creds.username == ""


def test_docker_hub_key_and_home_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".docker").mkdir()
    hub = {"https://index.docker.io/v1/": {"auth": _b64("me:pw")}}
    _write_config(str(tmp_path / ".docker"), {"auths": hub})
    assert from_docker_config("docker.io") == Credentials("me", "pw")


def test_malformed_config_and_entries_are_one_line(empty_docker_config: str) -> None:
    Path(empty_docker_config, "config.json").write_text("{not json")
    with pytest.raises(CredentialsError, match="cannot read Docker config"):
        from_docker_config("ghcr.io")
    _write_config(empty_docker_config, {"auths": {"ghcr.io": {"auth": "!!!"}}})
    with pytest.raises(CredentialsError, match="not base64"):
        from_docker_config("ghcr.io")
    with pytest.raises(CredentialsError, match="needs a password"):
        Keychain.of("me", None)


def test_credentials_never_show_their_secret() -> None:
    creds = Credentials("me", "s3cr3t-pw", "tok-123")
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert "s3cr3t" not in text and "tok-123" not in text and "me" in text
