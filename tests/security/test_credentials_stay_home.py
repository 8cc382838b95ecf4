"""Credentials go only to the scheme + host + port that challenged for them.

A registry (or whatever answers in its name) can name other URLs: an upload ``Location``, a next
page ``Link``, a redirect, a token realm. A real registry sits behind a recording proxy that points
those at a second recording server; the password, its Basic form and any bearer token must never
reach the second server, whatever the outcome of the operation.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from registry.faultproxy import Fault, FaultProxy
from registry.regkit import FAST, make_image, need
from registry.tokenauth import SERVICE, TokenServer, token_registry

from hydro_ci.errors import HydroCIError
from hydro_ci.image.reference import ImageReference
from hydro_ci.image.remote import push_image
from hydro_ci.registry import RegistryClient
from hydro_ci.registry.credentials import Credentials

pytestmark = pytest.mark.registry


def _secrets(user: str, password: str) -> list[str]:
    return [password, base64.b64encode(f"{user}:{password}".encode()).decode()]


@pytest.fixture
def pair(registry: Any) -> Iterator[tuple[FaultProxy, FaultProxy]]:
    """(front, elsewhere): both forward to the registry; front names elsewhere in Location and Link."""
    with FaultProxy(registry.host) as elsewhere, \
            FaultProxy(registry.host, paginate_tags=True, send_elsewhere=elsewhere.host) as front:
        yield front, elsewhere


def _client(host: str, user: str, password: str) -> RegistryClient:
    return RegistryClient(host, credentials=Credentials(user, password), insecure=True, retries=FAST)


def _no_credentials(server: FaultProxy) -> None:
    seen = server.headers_seen()
    assert server.seen, "the test did not reach the second server at all"
    assert "authorization" not in seen.lower(), seen


def test_an_upload_location_on_another_port_gets_no_credentials(
        registry: Any, unique_repo: str, pair: tuple[FaultProxy, FaultProxy]) -> None:
    front, elsewhere = pair
    client = _client(front.host, registry.username, registry.password)
    with pytest.raises(HydroCIError) as err:
        push_image(client, ImageReference(front.host, unique_repo), make_image({"a": "b"}), tags=["1.0.0"])
    _no_credentials(elsewhere)
    assert elsewhere.host in str(err.value)  # the message says where we were sent
    for secret in _secrets(registry.username, registry.password):
        assert secret not in elsewhere.headers_seen()
        assert secret not in str(err.value) + str(err.value.hint)


def test_a_next_page_link_to_another_port_gets_no_credentials(
        registry: Any, unique_repo: str, pair: tuple[FaultProxy, FaultProxy]) -> None:
    front, elsewhere = pair
    direct = _client(registry.host, registry.username, registry.password)
    push_image(direct, ImageReference(registry.host, unique_repo), make_image({"a": "b"}),
               tags=["1.0.0", "1.0.1", "1.0.2"])
    client = _client(front.host, registry.username, registry.password)
    with pytest.raises(HydroCIError):
        client.list_tags(unique_repo, page_size=1)
    _no_credentials(elsewhere)


def test_a_redirect_to_another_port_gets_no_credentials(
        registry: Any, unique_repo: str, pair: tuple[FaultProxy, FaultProxy]) -> None:
    front, elsewhere = pair
    direct = _client(registry.host, registry.username, registry.password)
    image = make_image({"a": "b"})
    push_image(direct, ImageReference(registry.host, unique_repo), image, tags=["1.0.0"])
    front.add(Fault("redirect", "GET", "/blobs/", location=f"http://{elsewhere.host}", times=10))
    client = _client(front.host, registry.username, registry.password)
    with pytest.raises(HydroCIError):
        client.get_blob(unique_repo, str(image.manifest.config.digest))
    _no_credentials(elsewhere)


# --- bearer tokens -----------------------------------------------------------------------------

USER, PASSWORD = "tokenuser", "token-pw-9e4c"


@pytest.fixture(scope="module")
def token_reg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, TokenServer]]:
    need("docker-registry")
    need("openssl", "apt-get install openssl")
    with token_registry(tmp_path_factory.mktemp("token-registry"), USER, PASSWORD) as reg:
        yield reg


def test_a_bearer_token_goes_only_to_the_registry_that_challenged(
        token_reg: tuple[str, TokenServer], unique_repo: str) -> None:
    host, tokens = token_reg
    with FaultProxy(host) as elsewhere, FaultProxy(host, send_elsewhere=elsewhere.host) as front:
        client = _client(front.host, USER, PASSWORD)
        with pytest.raises(HydroCIError):
            push_image(client, ImageReference(front.host, unique_repo), make_image({"a": "b"}),
                       tags=["1.0.0"])
        assert any(h.get("Authorization", "").startswith("Bearer ") for _, _, h in front.seen)
        _no_credentials(elsewhere)
        # The password went to the token realm only: the registry itself never saw it.
        assert not any(h.get("Authorization", "").startswith("Basic ") for _, _, h in front.seen)
    assert tokens.requests and all(r["user"] == USER for r in tokens.requests)


def test_a_challenge_from_another_host_sends_nothing_to_its_realm(
        token_reg: tuple[str, TokenServer], unique_repo: str, tmp_path: Path) -> None:
    host, _tokens = token_reg
    with FaultProxy(host) as realm, FaultProxy(host) as elsewhere, \
            FaultProxy(host, send_elsewhere=elsewhere.host) as front:
        # The other host asks for credentials at a realm of its own choosing.
        elsewhere.add(Fault("unauthorized", challenge=f'Bearer realm="http://{realm.host}/token",'
                                                      f'service="evil",scope="repository:x:pull"', times=50))
        client = _client(front.host, USER, PASSWORD)
        with pytest.raises(HydroCIError):
            push_image(client, ImageReference(front.host, unique_repo), make_image({"a": "b"}),
                       tags=["1.0.0"])
        assert elsewhere.seen
        assert "authorization" not in elsewhere.headers_seen().lower()
        assert not realm.seen, realm.headers_seen()


@pytest.mark.parametrize("kind", ["password", "identity token"])
def test_a_token_realm_that_redirects_gets_no_credentials_resent(
        token_reg: tuple[str, TokenServer], unique_repo: str, kind: str) -> None:
    """The realm is named by the registry's challenge; a redirect from it is not (and a 307 would
    resend a POST's body, the identity token, to wherever it points)."""
    host, tokens = token_reg
    token_host = tokens.realm.split("/")[2]
    creds = Credentials(USER, PASSWORD) if kind == "password" else Credentials("", "", tokens.refresh_token)
    with FaultProxy(token_host) as elsewhere, FaultProxy(token_host) as realm, FaultProxy(host) as front:
        realm.add(Fault("redirect", location=f"http://{elsewhere.host}", times=50))
        front.add(Fault("unauthorized", "GET", "/tags/list", times=1,
                        challenge=f'Bearer realm="http://{realm.host}/token",service="{SERVICE}"'))
        client = RegistryClient(front.host, credentials=creds, insecure=True, retries=FAST)
        with pytest.raises(HydroCIError) as err:
            client.list_tags(unique_repo)
        assert realm.seen  # the realm the challenge named was asked
        assert "redirect" in str(err.value)
        leaked = elsewhere.headers_seen() + repr(elsewhere.log)
        for secret in [*_secrets(USER, PASSWORD), tokens.refresh_token]:
            assert secret not in leaked
        assert "authorization" not in leaked.lower()


def test_netrc_credentials_are_never_added(registry: Any, unique_repo: str, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch,
                                           pair: tuple[FaultProxy, FaultProxy]) -> None:
    """requests adds ~/.netrc credentials (keyed by host, not port) to any request without an
    Authorization header: the other server on the same host would get them."""
    front, elsewhere = pair
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login netrc-user password netrc-secret-51d\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    client = _client(front.host, registry.username, registry.password)
    with pytest.raises(HydroCIError):
        push_image(client, ImageReference(front.host, unique_repo), make_image({"a": "b"}), tags=["1.0.0"])
    _no_credentials(elsewhere)
    for secret in _secrets("netrc-user", "netrc-secret-51d"):
        assert secret not in front.headers_seen() + elsewhere.headers_seen()
