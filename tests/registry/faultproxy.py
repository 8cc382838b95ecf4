"""A small fault-injecting HTTP proxy in front of a real registry (a real threaded server on 127.0.0.1).

Requests are forwarded unchanged (the ``Host`` header too, so the registry's upload ``Location``s
point back at the proxy) unless a scripted ``Fault`` matches first: drop the connection, answer an
error status (with ``Retry-After``), answer slowly, answer 401 with the registry's own challenge
as an expired token would, flip a bit in the registry's answer, or stall: stop reading a request
body after ``after`` bytes (``reached`` is set) until the test sets ``resume`` (a registry that has
stopped taking an upload, without any clock). It can also serve tag lists in
``n=``/``last=`` pages with a ``Link`` header, as distribution v3, GHCR and Docker Hub do but the
2.8 registry here does not. With ``referrers=True`` it adds the OCI 1.1 referrers API the 2.8
registry lacks: a pushed manifest with a ``subject`` is indexed (the answer carries ``OCI-Subject``)
and ``GET /v2/<name>/referrers/<digest>`` lists them (``?artifactType=`` filtered), as zot, Harbor
and distribution v3 do; blobs and manifests themselves stay in the real registry.

For the credential tests it records every request's headers (``seen``), can point the registry's
upload ``Location``s and next-page ``Link``s at another server (``send_elsewhere``), redirect
(``Fault("redirect", location=…)``) and answer with a challenge of its own (``Fault("unauthorized",
challenge=…)``): a registry that names another host must never get our credentials sent there.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import parse_qs, urlencode, urlsplit

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
               "proxy-authorization", "proxy-authenticate", "content-length"}


@dataclass
class Fault:
    """Applies to the next ``times`` requests whose method and path match (``path`` is a regex)."""

    action: Literal["drop", "status", "slow", "unauthorized", "corrupt", "stall", "redirect"]
    method: str | None = None
    path: str = ""
    times: int = 1
    status: int = 500
    retry_after: str | None = None
    delay: float = 0.0
    hits: int = 0
    after: int = 0  # "stall": body bytes read before stalling
    reached: threading.Event = field(default_factory=threading.Event)  # "stall": it has stalled
    resume: threading.Event = field(default_factory=threading.Event)  # "stall": read on
    received: int = 0  # "stall": body bytes the client got through (until it gave up)
    content_length: int | None = None  # "stall": the body's declared size (None: sent chunked)
    challenge: str | None = None  # "unauthorized": this WWW-Authenticate instead of the registry's
    location: str | None = None  # "redirect": answer 307 to this base URL + the request's path

    def matches(self, method: str, path: str) -> bool:
        return (self.times > 0 and (self.method is None or self.method == method)
                and re.search(self.path, path) is not None)


@dataclass
class FaultProxy:
    upstream: str  # host:port of the real registry (plain HTTP)
    paginate_tags: bool = False
    referrers: bool = False  # serve the referrers API (index kept here, in memory)
    faults: list[Fault] = field(default_factory=list)
    log: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, what happened)
    # (method, path, headers) of every request; kept out of the repr, which a failing test prints
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list, repr=False)
    bodies: list[bytes] = field(default_factory=list, repr=False)  # request bodies, in order
    send_elsewhere: str | None = None  # host:port the upload Locations and tag-page Links point at

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.referrer_index: dict[tuple[str, str], dict[str, dict[str, object]]] = {}
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def add(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for f in self.faults:
                if f.matches(method, path):
                    f.times -= 1
                    f.hits += 1
                    return f
        return None

    def headers_seen(self) -> str:
        """Every request line, header and body this proxy received, as text (to grep for secrets)."""
        with self._lock:
            heads = [f"{m} {p} {k}: {v}" for m, p, h in self.seen for k, v in h.items()]
            return "\n".join(heads + [b.decode("latin-1") for b in self.bodies])

    def record(self, method: str, path: str, what: str) -> None:
        with self._lock:
            self.log.append((method, path, what))

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for f in self.faults:
            f.resume.set()  # no handler thread stays parked on a stall
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    owner: FaultProxy
    protocol_version = "HTTP/1.1"  # keep-alive, as real registries do

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _stalled_body(self, fault: Fault) -> bytes | None:
        """The body read up to ``fault.after`` bytes, then (once resumed) the rest; None if cut short.

        Only bodies with a Content-Length can be held this way (a chunked one is read whole).
        """
        if self.headers.get("Content-Length") is None:
            return self._body()
        length = fault.content_length = int(self.headers["Content-Length"])
        out = bytearray()

        def read(n: int) -> bool:
            try:
                while n > 0:
                    block = self.rfile.read(min(n, 64 << 10))
                    if not block:
                        return False
                    out.extend(block)
                    fault.received += len(block)
                    n -= len(block)
            except OSError:
                return False
            return True

        whole = read(min(fault.after, length))
        fault.reached.set()
        fault.resume.wait()
        whole = whole and read(length - len(out))
        return bytes(out) if whole else None

    def _handle(self) -> None:
        method, path = self.command, self.path
        with self.owner._lock:
            self.owner.seen.append((method, path, dict(self.headers.items())))
        fault = self.owner.take(method, urlsplit(path).path)
        if fault is not None and fault.action == "stall":
            stalled = self._stalled_body(fault)
            if stalled is None:  # the client gave up mid-body: nothing reaches the registry
                self.owner.record(method, path, f"stall: cut after {fault.received} bytes")
                self.close_connection = True
                return
            body, fault = stalled, None
        else:
            body = self._body()
        with self.owner._lock:
            self.owner.bodies.append(body[:4096])
        if fault is not None:
            self.owner.record(method, path, fault.action)
            if fault.action == "drop":
                self.close_connection = True
                self.connection.close()
                return
            if fault.action == "status":
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                self._reply(fault.status, _error_json(fault.status), headers)
                return
            if fault.action == "redirect":
                self._reply(307, b"", {"Location": f"{fault.location}{path}"})
                return
            if fault.action == "unauthorized":
                challenge = fault.challenge or self._upstream_challenge()
                self._reply(401, _error_json(401), {"WWW-Authenticate": challenge})
                return
            time.sleep(fault.delay)  # "slow" (and "corrupt"): then answer (if the client still listens)
        else:
            self.owner.record(method, path, "forward")
        if self.owner.paginate_tags and method == "GET" and re.match(r"^/v2/.+/tags/list", path):
            self._paginated_tags(path)
            return
        if self.owner.referrers and method == "GET" and re.match(r"^/v2/.+/referrers/", path):
            self._referrers(path)
            return
        status, headers, data = self._forward(method, path, body)
        if self.owner.referrers and method == "PUT" and status == 201:
            headers.update(self._index_referrer(path, body))
        elsewhere = self.owner.send_elsewhere
        if elsewhere and "Location" in headers and "/blobs/uploads/" in headers["Location"]:
            loc = urlsplit(headers["Location"])
            headers["Location"] = f"http://{elsewhere}{loc.path}" + (f"?{loc.query}" if loc.query else "")
        if fault is not None and fault.action == "corrupt" and data:
            data = data[:-1] + bytes([data[-1] ^ 0x01])  # one flipped bit, same length
        self._reply(status, data, headers, head=method == "HEAD")

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    def _forward(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.owner.upstream, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            headers["Content-Length"] = str(len(body))
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            out = {k: v for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP}
            if method == "HEAD":
                out["Content-Length"] = resp.getheader("Content-Length") or "0"
            return resp.status, out, data
        finally:
            conn.close()

    def _upstream_challenge(self) -> str:
        conn = http.client.HTTPConnection(self.owner.upstream, timeout=10)
        try:
            conn.request("GET", "/v2/", headers={"Host": self.headers.get("Host", "")})
            resp = conn.getresponse()
            resp.read()
            return resp.getheader("WWW-Authenticate") or 'Basic realm="faultproxy"'
        finally:
            conn.close()

    def _paginated_tags(self, path: str) -> None:
        parts = urlsplit(path)
        query = parse_qs(parts.query)
        status, headers, data = self._forward("GET", parts.path, b"")
        if status != 200:
            self._reply(status, data, headers)
            return
        doc = json.loads(data)
        tags = sorted(doc.get("tags") or [])
        last = query.get("last", [""])[0]
        if last:
            tags = [t for t in tags if t > last]
        n = int(query.get("n", ["0"])[0] or 0)
        extra: dict[str, str] = {}
        if n and len(tags) > n:
            tags = tags[:n]
            base = f"http://{self.owner.send_elsewhere}" if self.owner.send_elsewhere else ""
            extra["Link"] = f'<{base}{parts.path}?{urlencode({"n": n, "last": tags[-1]})}>; rel="next"'
        self._reply(200, json.dumps({"name": doc.get("name"), "tags": tags}).encode(),
                    {"Content-Type": "application/json", **extra})

    def _index_referrer(self, path: str, body: bytes) -> dict[str, str]:
        m = re.match(r"^/v2/(.+)/manifests/[^/]+$", urlsplit(path).path)
        try:
            doc = json.loads(body)
        except ValueError:
            return {}
        subject = doc.get("subject") if isinstance(doc, dict) else None
        if not m or not isinstance(subject, dict):
            return {}
        import hashlib

        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        entry: dict[str, object] = {"mediaType": doc.get("mediaType", self.headers.get("Content-Type")),
                                    "digest": digest, "size": len(body),
                                    "artifactType": doc.get("artifactType") or doc["config"]["mediaType"]}
        if doc.get("annotations"):
            entry["annotations"] = doc["annotations"]
        with self.owner._lock:
            self.owner.referrer_index.setdefault((m.group(1), subject["digest"]), {})[digest] = entry
        return {"OCI-Subject": subject["digest"]}

    def _referrers(self, path: str) -> None:
        parts = urlsplit(path)
        m = re.match(r"^/v2/(.+)/referrers/(sha256:[0-9a-f]{64})$", parts.path)
        if not m:
            self._reply(400, _error_json(400), {"Content-Type": "application/json"})
            return
        wanted = parse_qs(parts.query).get("artifactType", [None])[0]
        with self.owner._lock:
            entries = list(self.owner.referrer_index.get((m.group(1), m.group(2)), {}).values())
        extra = {}
        if wanted:
            entries = [e for e in entries if e["artifactType"] == wanted]
            extra["OCI-Filters-Applied"] = "artifactType"
        doc = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
               "manifests": entries}
        self._reply(200, json.dumps(doc).encode(),
                    {"Content-Type": "application/vnd.oci.image.index.v1+json", **extra})

    def _reply(self, status: int, data: bytes, headers: dict[str, str], *, head: bool = False) -> None:
        self.send_response(status)
        for k, v in headers.items():
            if k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", headers.get("Content-Length", str(len(data))) if head
                         else str(len(data)))
        self.end_headers()
        if not head:
            self.wfile.write(data)


def _error_json(status: int) -> bytes:
    code = {401: "UNAUTHORIZED", 403: "DENIED", 429: "TOOMANYREQUESTS"}.get(status, "UNKNOWN")
    return json.dumps({"errors": [{"code": code, "message": f"injected HTTP {status}"}]}).encode()
