"""Registry authentication: the ``WWW-Authenticate`` challenge, then anonymous, basic or bearer.

The distribution spec's token flow: a request without a (valid) token gets 401 with
``Bearer realm=…,service=…,scope=…``; we GET the realm with those parameters (basic auth with the
user's credentials, or a POST with an identity token) and send ``Authorization: Bearer <token>``.
Only challenges from the registry's own origin reach this class (the client checks), the realm must
be HTTPS (plain HTTP on loopback only), a redirect from it is refused rather than followed, and the
header this class makes is only ever attached to requests to the registry's own origin.
Tokens are cached per scope set until shortly before they expire; a 401 on a token we thought was
valid (revoked, clock skew) drops it and fetches a fresh one once.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from hydro_ci.errors import AuthError
from hydro_ci.registry.credentials import Credentials
from hydro_ci.registry.endpoint import is_loopback

log = logging.getLogger(__name__)

# Refresh a little before expiry so a token does not die in flight.
_EXPIRY_SLACK = 10.0
_DEFAULT_TOKEN_LIFETIME = 60.0  # the distribution spec's default when expires_in is absent


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lowercase: "basic", "bearer", …
    params: Mapping[str, str]


_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"((?:[^"\\]|\\.)*)"'
_PARAM_RE = re.compile(rf"\s*({_TOKEN})\s*=\s*(?:{_QUOTED}|({_TOKEN}))\s*")
_SCHEME_RE = re.compile(rf"\s*({_TOKEN})(?:\s+|$)")
_TOKEN68_RE = re.compile(r"\s*[A-Za-z0-9._~+/-]+=*\s*(?:,|$)")


def parse_challenges(header: str) -> list[Challenge]:
    """RFC 7235 challenges: ``Scheme k=v, k="v", Scheme2 …`` (commas inside quotes are data)."""
    out: list[tuple[str, dict[str, str]]] = []
    pos, n = 0, len(header)
    while pos < n:
        if header[pos] in ", \t":
            pos += 1
            continue
        param = _PARAM_RE.match(header, pos)
        if param and out:
            value = param.group(2)
            value = re.sub(r"\\(.)", r"\1", value) if value is not None else param.group(3)
            out[-1][1][param.group(1).lower()] = value
            pos = param.end()
            continue
        scheme = _SCHEME_RE.match(header, pos)
        if not scheme:
            break  # garbage: keep what we understood
        out.append((scheme.group(1).lower(), {}))
        pos = scheme.end()
        token68 = _TOKEN68_RE.match(header, pos)
        if token68 and not _PARAM_RE.match(header, pos):
            pos = token68.end()
    return [Challenge(s, p) for s, p in out]


@dataclass
class _Token:
    value: str
    expires: float


# Sends one HTTP request (with retries on transient faults) without authentication.
Transport = Callable[..., requests.Response]


class Authenticator:
    """Decides the ``Authorization`` header for each request and learns from 401 challenges."""

    def __init__(self, registry: str, credentials: Credentials | None, transport: Transport) -> None:
        self.registry = registry
        self._credentials = credentials
        self._transport = transport
        self._lock = threading.Lock()
        self._fetch_lock = threading.Lock()  # one token fetch at a time; the others reuse its token
        self._scheme: str | None = None  # learned from the first challenge
        self._bearer: Mapping[str, str] = {}
        self._tokens: dict[frozenset[str], _Token] = {}
        self.clock: Callable[[], float] = time.monotonic  # replaceable: tests move time forward

    def __repr__(self) -> str:
        who = self._credentials.username if self._credentials else None
        return f"Authenticator(registry={self.registry!r}, scheme={self._scheme!r}, user={who!r})"

    @property
    def username(self) -> str | None:
        return self._credentials.username if self._credentials else None

    def header(self, scopes: Iterable[str]) -> dict[str, str]:
        """The Authorization header to send now (empty when anonymous or not yet challenged).

        Once the registry has asked for bearer tokens, a token for a new scope set is fetched
        before the request rather than after a 401 (one round trip less per repository).
        """
        key = frozenset(scopes)
        with self._lock:
            scheme = self._scheme
            if scheme == "basic" and self._credentials:
                return {"Authorization": _basic(self._credentials)}
            token = self._tokens.get(key)
        if scheme != "bearer":
            return {}
        if token is None or token.expires <= self.clock():
            token = self._refresh(key, key, None)
        return {"Authorization": f"Bearer {token.value}"}

    def challenge(self, response: requests.Response, scopes: Iterable[str], *, final: bool) -> None:
        """React to a 401: prepare credentials for the retry, or raise AuthError when ``final``."""
        scopes = frozenset(scopes)
        found = parse_challenges(response.headers.get("WWW-Authenticate", ""))
        by_scheme = {c.scheme: c for c in found}
        if "bearer" in by_scheme:
            params = by_scheme["bearer"].params
            with self._lock:
                self._scheme, self._bearer = "bearer", params
            if final:
                with self._lock:
                    self._tokens.pop(scopes, None)
                raise self._refused(scopes)
            # Whatever we sent is no good (expired, revoked, missing): get another.
            sent = response.request.headers.get("Authorization") if response.request else None
            self._refresh(scopes, scopes | _scopes_of(params.get("scope")), sent)
            return
        if "basic" in by_scheme:
            with self._lock:
                self._scheme = "basic"
            if self._credentials is None or final:
                raise self._refused(scopes)
            return
        raise AuthError(
            f"registry {self.registry} demands an authentication scheme hydro-ci does not speak "
            f"({', '.join(c.scheme for c in found) or 'no challenge given'})",
            hint="use a registry with basic or bearer-token auth",
        )

    def _refused(self, scopes: frozenset[str]) -> AuthError:
        what = f" to {', '.join(sorted(scopes))}" if scopes else ""
        if self._credentials is None:
            return AuthError(
                f"registry {self.registry} requires authentication{what}",
                hint=f"run: docker login {self.registry}, or pass --username and --password-stdin",
            )
        who = self._credentials.username or "identity token"
        return AuthError(
            f"registry {self.registry} refused the credentials of {who!r}{what}",
            hint="check the user name and password (or token), and that it may push/pull this repository",
        )

    def _refresh(self, key: frozenset[str], scopes: frozenset[str], rejected: str | None) -> _Token:
        """A fresh token for ``key``, fetched by one thread while the others wait for it."""
        with self._fetch_lock:
            with self._lock:
                current = self._tokens.get(key)
            usable = current is not None and current.expires > self.clock()
            if current is not None and usable and f"Bearer {current.value}" != rejected:
                return current  # another thread got a new one meanwhile
            token = self._fetch_token(scopes)
            with self._lock:
                self._tokens[key] = token
            return token

    def _fetch_token(self, scopes: frozenset[str]) -> _Token:
        realm = self._bearer.get("realm")
        if not realm:
            raise AuthError(f"registry {self.registry} sent a bearer challenge without a realm",
                            hint="the registry's token auth is misconfigured")
        parts = urlsplit(realm)
        if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(parts.hostname or "")):
            raise AuthError(
                f"registry {self.registry} sends us to a token server over plain HTTP ({parts.hostname})",
                hint="refusing to send credentials unencrypted; the registry must use an https realm",
            )
        service = self._bearer.get("service")
        params: list[tuple[str, str]] = [("service", service)] if service else []
        params += [("scope", s) for s in sorted(scopes)]
        creds = self._credentials
        if creds and creds.identity_token:
            form = [*params, ("grant_type", "refresh_token"), ("client_id", "hydro-ci"),
                    ("refresh_token", creds.identity_token)]
            response = self._transport("POST", realm, data=form)
        else:
            headers = {"Authorization": _basic(creds)} if creds else {}
            response = self._transport("GET", realm, params=params, headers=headers)
        if response.is_redirect:
            response.close()
            raise AuthError(
                f"token server of {self.registry} ({parts.hostname}) answered with a redirect; "
                "hydro-ci sends credentials only to the realm the registry's challenge names",
                hint="configure the registry's token realm with the token server's final URL",
            )
        if response.status_code in (401, 403):
            raise self._refused(scopes)
        try:
            response.raise_for_status()
            body = response.json()
            value = str(body.get("token") or body.get("access_token"))
            lifetime = float(body.get("expires_in") or _DEFAULT_TOKEN_LIFETIME)
        except (requests.RequestException, ValueError, AttributeError):
            raise AuthError(
                f"token server of {self.registry} answered {response.status_code} without a usable token",
                hint="the registry's token service may be down; try again later",
            ) from None
        if value == "None":
            raise AuthError(f"token server of {self.registry} returned no token",
                            hint="the registry's token service may be misconfigured")
        log.debug("bearer token for %s scopes %s, %.0fs", self.registry, sorted(scopes), lifetime)
        return _Token(value, self.clock() + max(lifetime - _EXPIRY_SLACK, lifetime / 2))


def _scopes_of(text: str | None) -> frozenset[str]:
    return frozenset(text.split()) if text else frozenset()


def _basic(creds: Credentials | None) -> str:
    assert creds is not None
    raw = f"{creds.username}:{creds.password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")
