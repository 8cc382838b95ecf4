"""A real registry with bearer-token auth, and the tiny token server it trusts (test aid).

``openssl`` makes an RSA key and a self-signed certificate; the registry (``docker-registry
serve``, distribution 2.8) is configured with ``auth: token`` and that certificate as its root
bundle; the token server signs RS256 JWTs (signature by ``openssl dgst``) carrying the cert in
``x5c``, granting the scopes asked for to one user, nothing to anyone else.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

SERVICE = "hydro-ci-test-registry"
ISSUER = "hydro-ci-test-token-issuer"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenServer:
    workdir: Path
    username: str
    password: str
    refresh_token: str = "refresh-7b2d"
    lifetime: int = 300
    requests: list[dict[str, object]] = field(default_factory=list)  # what each token request asked

    def __post_init__(self) -> None:
        key, cert = self.workdir / "key.pem", self.workdir / "cert.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                        "-out", str(cert), "-days", "2", "-subj", "/CN=hydro-ci test token issuer"],
                       check=True, capture_output=True)
        der = subprocess.run(["openssl", "x509", "-in", str(cert), "-outform", "DER"], check=True,
                             capture_output=True).stdout
        self.key, self.cert = key, cert
        self._x5c = base64.b64encode(der).decode()
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                owner._answer(self, query, self.headers.get("Authorization"))

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                owner._answer(self, parse_qs(body), None)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/token"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _who(self, query: dict[str, list[str]], authorization: str | None) -> str | bool | None:
        """The user, None for anonymous, False for bad credentials."""
        if query.get("grant_type") == ["refresh_token"]:
            return self.username if query.get("refresh_token") == [self.refresh_token] else False
        if not authorization:
            return None
        scheme, _, value = authorization.partition(" ")
        user, _, pw = base64.b64decode(value).decode().partition(":")
        return user if scheme == "Basic" and (user, pw) == (self.username, self.password) else False

    def _answer(self, handler: BaseHTTPRequestHandler, query: dict[str, list[str]],
                authorization: str | None) -> None:
        who = self._who(query, authorization)
        scopes = query.get("scope", [])
        with self._lock:
            self.requests.append({"user": who, "scopes": scopes, "service": query.get("service")})
        if who is False:
            handler.send_response(401)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        access: list[dict[str, object]] = []
        for scope in scopes if who else []:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        body = json.dumps({"token": self._sign(str(who or ""), access), "expires_in": self.lifetime}).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _sign(self, subject: str, access: list[dict[str, object]]) -> str:
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self._x5c]}
        claims = {"iss": ISSUER, "sub": subject, "aud": SERVICE, "exp": now + self.lifetime, "nbf": now - 5,
                  "iat": now, "jti": secrets.token_hex(8), "access": access}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(self.key)],
                             input=signing_input.encode(), check=True, capture_output=True).stdout
        return f"{signing_input}.{_b64url(sig)}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def token_registry(workdir: Path, username: str, password: str) -> Iterator[tuple[str, TokenServer]]:
    """Start a token server and a registry that trusts it; yields (registry host:port, server)."""
    tokens = TokenServer(workdir, username, password)
    port = _free_port()
    config = workdir / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: error}\n"
        f"storage: {{filesystem: {{rootdirectory: {workdir / 'data'}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}, secret: {secrets.token_hex(16)}}}\n"
        f"auth: {{token: {{realm: '{tokens.realm}', service: {SERVICE}, issuer: {ISSUER}, "
        f"rootcertbundle: {tokens.cert}}}}}\n"
    )
    log = (workdir / "registry.log").open("wb")
    proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env={**os.environ})
    host = f"127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if requests.get(f"http://{host}/v2/", timeout=1).status_code == 401:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"token registry exited: {(workdir / 'registry.log').read_text()[-500:]}")
            time.sleep(0.1)
        else:
            raise RuntimeError("token registry did not start")
        yield host, tokens
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
        tokens.close()
