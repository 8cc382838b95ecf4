"""Bearer-token auth against a real registry configured with ``auth: token`` and our token server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from faultproxy import Fault, FaultProxy
from regkit import FAST, make_image, need
from tokenauth import SERVICE, TokenServer, token_registry

from hydro_ci.errors import AuthError
from hydro_ci.image.remote import push_image, read_labels
from hydro_ci.reference import ImageReference
from hydro_ci.registry import RegistryClient
from hydro_ci.registry.auth import parse_challenges
from hydro_ci.registry.credentials import Credentials

pytestmark = pytest.mark.registry

USER, PASSWORD = "tokenuser", "token-pw-1f3a"


@pytest.fixture(scope="module")
def token_reg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, TokenServer]]:
    need("docker-registry")
    need("openssl", "apt-get install openssl")
    with token_registry(tmp_path_factory.mktemp("token-registry"), USER, PASSWORD) as pair:
        yield pair


OWNER = Credentials(USER, PASSWORD)


def _client(host: str, creds: Credentials | None = OWNER) -> RegistryClient:
    return RegistryClient(host, credentials=creds, insecure=True, retries=FAST)


def test_push_and_read_with_bearer_tokens(token_reg: tuple[str, TokenServer], unique_repo: str) -> None:
    host, tokens = token_reg
    tokens.requests.clear()
    client = _client(host)
    client.ping()
    image = make_image({"io.hydro-ci.contract": "{}"}, n_layers=3)
    result = push_image(client, ImageReference(host, unique_repo), image, immutable_tags=["1.0.0"],
                        moving_tags=["latest"])
    assert not result.skipped and result.blobs_uploaded == 4
    assert sorted(client.list_tags(unique_repo)) == ["1.0.0", "latest"]
    assert read_labels(client, ImageReference(host, unique_repo, "1.0.0")) == {"io.hydro-ci.contract": "{}"}
    assert all(r["user"] == USER and r["service"] == [SERVICE] for r in tokens.requests)
    asked = {s for r in tokens.requests for s in r["scopes"]}  # type: ignore[attr-defined]
    assert f"repository:{unique_repo}:pull,push" in asked and f"repository:{unique_repo}:pull" in asked
    # Tokens are cached per scope set: a handful of fetches for dozens of requests.
    assert len(tokens.requests) <= 4, tokens.requests


def test_mount_asks_for_both_repositories(token_reg: tuple[str, TokenServer], unique_repo: str) -> None:
    host, tokens = token_reg
    client = _client(host)
    base = make_image({"base": "1"})
    push_image(client, ImageReference(host, unique_repo + "/base"), base, moving_tags=["1"])
    tokens.requests.clear()
    layer = base.layers[0]
    d = layer.descriptor
    sent = client.upload_blob(unique_repo + "/app", str(d.digest), d.size, layer.open,
                              mount_from=unique_repo + "/base")
    assert sent == 0
    asked = {s for r in tokens.requests for s in r["scopes"]}  # type: ignore[attr-defined]
    assert f"repository:{unique_repo}/base:pull" in asked


def test_wrong_password_at_the_token_server(token_reg: tuple[str, TokenServer], unique_repo: str) -> None:
    host, _ = token_reg
    with pytest.raises(AuthError) as err:
        _client(host, Credentials(USER, "wrong-9c")).list_tags(unique_repo)
    assert str(err.value).startswith(f"registry {host} refused the credentials of 'tokenuser'")
    assert "wrong-9c" not in f"{err.value} {err.value.hint}"


def test_anonymous_gets_no_access(token_reg: tuple[str, TokenServer], unique_repo: str) -> None:
    host, _ = token_reg
    with pytest.raises(AuthError) as err:
        _client(host, None).list_tags(unique_repo)
    assert str(err.value) == f"registry {host} requires authentication to repository:{unique_repo}:pull"


def test_identity_token_uses_the_refresh_grant(token_reg: tuple[str, TokenServer], unique_repo: str) -> None:
    host, tokens = token_reg
    tokens.requests.clear()
    client = _client(host, Credentials("", "", tokens.refresh_token))
    assert client.list_tags(unique_repo) == []
    assert tokens.requests and all(r["user"] == USER for r in tokens.requests)


def test_expired_token_is_refreshed_once(token_reg: tuple[str, TokenServer], unique_repo: str) -> None:
    host, tokens = token_reg
    with FaultProxy(host) as proxy:
        client = _client(proxy.host)
        image = make_image({"k": "v"})
        push_image(client, ImageReference(proxy.host, unique_repo), image, immutable_tags=["1.0.0"])
        before = len(tokens.requests)
        # The registry answers 401 with its Bearer challenge, as it does for an expired token.
        expired = Fault("unauthorized", "GET", r"/tags/list")
        proxy.add(expired)
        assert client.list_tags(unique_repo) == ["1.0.0"]
        assert expired.hits == 1 and len(tokens.requests) == before + 1
        # A token refused again right after a refresh is a real refusal: one line, no loop.
        proxy.add(Fault("unauthorized", "GET", r"/tags/list", times=2))
        with pytest.raises(AuthError, match="refused the credentials"):
            client.list_tags(unique_repo)


def test_token_past_its_lifetime_is_renewed_before_use(token_reg: tuple[str, TokenServer],
                                                       unique_repo: str) -> None:
    host, tokens = token_reg
    with FaultProxy(host) as proxy:
        client = _client(proxy.host)
        now = [1000.0]
        client.auth.clock = lambda: now[0]
        assert client.list_tags(unique_repo) == []
        fetched, sent = len(tokens.requests), len(proxy.log)
        assert client.list_tags(unique_repo) == []  # cached token: no fetch, one request
        assert (len(tokens.requests), len(proxy.log)) == (fetched, sent + 1)
        now[0] += tokens.lifetime  # past expires_in: renewed up front, no 401 round trip
        assert client.list_tags(unique_repo) == []
        assert (len(tokens.requests), len(proxy.log)) == (fetched + 1, sent + 2)


@pytest.mark.parametrize(("header", "expected"), [
    ('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
     'scope="repository:samalba/my-app:pull,push"',
     [("bearer", {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                  "scope": "repository:samalba/my-app:pull,push"})]),
    ('Basic realm="hydro-ci-test"', [("basic", {"realm": "hydro-ci-test"})]),
    ('Basic realm="a, b", Bearer realm="https://x/t", service=x', [
        ("basic", {"realm": "a, b"}), ("bearer", {"realm": "https://x/t", "service": "x"})]),
    ('Bearer realm="q\\"uote" , error="insufficient_scope"',
     [("bearer", {"realm": 'q"uote', "error": "insufficient_scope"})]),
    ("Negotiate abc123==, Basic realm=r", [("negotiate", {}), ("basic", {"realm": "r"})]),
    ("", []),
])
def test_parse_challenges(header: str, expected: list[tuple[str, dict[str, str]]]) -> None:
    assert [(c.scheme, dict(c.params)) for c in parse_challenges(header)] == expected


def test_token_realm_over_plain_http_elsewhere_is_refused() -> None:
    import requests

    client = RegistryClient("registry.example.com", credentials=Credentials("u", "p"))
    response = requests.Response()
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="http://auth.example.com/token",service=s'
    with pytest.raises(AuthError, match="plain HTTP"):
        client.auth.challenge(response, ["repository:a:pull"], final=False)
