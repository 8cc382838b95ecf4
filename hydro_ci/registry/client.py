"""Our client for the OCI distribution API (https://github.com/opencontainers/distribution-spec).

One ``RegistryClient`` per registry, safe to share between threads (parallel blob uploads). Every
request goes through ``_request``: authentication (``auth.Authenticator``), then retries with backoff
on connection errors, 429 and 5xx (``retry.RetryPolicy``, honouring ``Retry-After``). Credentials
and tokens go only to the registry's own origin (scheme, host and port): an upload ``Location``, a
next-page ``Link`` or a redirect elsewhere is requested without them, and a challenge from there
is refused rather than answered. Blob uploads
stream from the opener in windows, so memory stays bounded whatever the blob's size, and a lost
upload session is started again. An upload given ``cancel`` stops at its next block once ``cancel()``
is true, raising ``UploadCancelledError``. Digests are strings (``sha256:…``) here: this module knows
HTTP, not images.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, BinaryIO
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from hydro_ci.errors import AuthError, NotFoundError, RegistryError
from hydro_ci.registry.auth import Authenticator
from hydro_ci.registry.credentials import Credentials, resolve
from hydro_ci.registry.endpoint import endpoint_for, origin_of, show_origin
from hydro_ci.registry.retry import RETRY_STATUSES, RetryPolicy, parse_retry_after

log = logging.getLogger(__name__)

MANIFEST_ACCEPT = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
# Blobs up to this size go in one PUT; larger ones in PATCH chunks of ``chunk_size``.
MONOLITHIC_MAX = 16 << 20
CHUNK_SIZE = 64 << 20
SMALL_BLOB_MAX = 64 << 20  # get_blob() reads into memory; larger blobs must use open_blob()
_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MAX_MANIFEST = 4 << 20  # the size registries must accept (distribution spec); a larger one is refused
_PROGRESS_STEP = 1 << 20
TIMEOUT = (10.0, 300.0)  # connect, read (a registry may take long to commit a big blob)
MAX_REDIRECTS = 10
LONG_WAIT = 5.0  # seconds: a wait this long is said in a line
_CONNECTION_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)

Progress = Callable[[int, int], None]  # (bytes sent of this blob so far, blob size)
Cancel = Callable[[], bool]  # asked between blocks of an upload: True stops it


class UploadCancelledError(RegistryError):
    """An upload was stopped on purpose (Ctrl-C, or another upload of the same push failed)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} cancelled",
                         hint="push again: blobs already uploaded are skipped, and no tag was written")


class _UploadLost(Exception):
    """An upload session failed mid-way; start another (internal)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class RegistryClient:
    def __init__(
        self,
        registry: str,
        *,
        credentials: Credentials | None = None,
        insecure: bool | None = None,
        session: requests.Session | None = None,
        retries: RetryPolicy | None = None,
        chunk_size: int = CHUNK_SIZE,
        monolithic_max: int = MONOLITHIC_MAX,
        pool_size: int = 16,
        timeout: tuple[float, float] = TIMEOUT,
    ) -> None:
        self.endpoint = endpoint_for(registry, insecure=insecure)
        self.registry = registry
        self.retries = retries or RetryPolicy()
        self.chunk_size = chunk_size
        self.monolithic_max = monolithic_max
        self.timeout = timeout
        self._session = session or requests.Session()
        if session is None:
            adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
            self._session.mount("http://", adapter)
            self._session.mount("https://", adapter)
        self._session.headers["User-Agent"] = "hydro-ci"
        # An auth of our own (that adds nothing) keeps requests from adding ~/.netrc credentials,
        # which it matches by host alone (any port) and which would even replace our header.
        self._session.auth = _as_is
        self.auth = Authenticator(registry, credentials, self._send)
        self._origin = self.endpoint.origin

    def __repr__(self) -> str:
        return f"RegistryClient({self.endpoint.base_url!r}, user={self.auth.username!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading -------------------------------------------------------------------------------

    def ping(self) -> None:
        """Check the registry speaks the v2 API and accepts our credentials."""
        r = self._request("GET", "/v2/", scopes=())
        self._check(r, (200,), "the /v2/ API endpoint")

    def list_tags(self, repository: str, *, page_size: int | None = 1000) -> list[str]:
        """Every tag of ``repository`` (following ``Link`` pages); [] when it does not exist yet."""
        url: str | None = self._url(repository, "tags/list")
        params = {"n": str(page_size)} if page_size else None
        tags: list[str] = []
        while url:
            r = self._request("GET", url, scopes=_pull(repository), params=params)
            if r.status_code == 404:
                return tags
            if r.status_code == 400 and params and _error_code(r) == "PAGINATION_NUMBER_INVALID":
                params = None  # this registry caps n= lower: let it choose its own page size
                continue
            self._check(r, (200,), f"tags of {repository}")
            try:
                tags += [str(t) for t in r.json().get("tags") or ()]
            except (ValueError, AttributeError):
                raise RegistryError(f"registry {self.registry} sent an unreadable tag list for {repository}",
                                    hint="check the registry's health") from None
            nxt = r.links.get("next", {}).get("url")
            url, params = (urljoin(r.url, nxt), None) if nxt else (None, None)
        return tags

    def get_manifest(self, repository: str, reference: str,
                     accept: Sequence[str] = MANIFEST_ACCEPT) -> tuple[bytes, str, str]:
        """(bytes, media type, digest) of a manifest or index; the digest is checked, not trusted."""
        r = self._request("GET", self._url(repository, f"manifests/{reference}"), scopes=_pull(repository),
                          headers={"Accept": ", ".join(accept)}, stream=True)
        what = f"manifest {_named(repository, reference)}"
        self._check(r, (200,), what)
        data = _read_bounded(r, MAX_MANIFEST, f"{what} from {self.registry}")
        digest = _sha256(data)
        claimed = r.headers.get("Docker-Content-Digest")
        if (reference.startswith("sha256:") and reference != digest) or (
                claimed and claimed.startswith("sha256:") and claimed != digest):
            raise RegistryError(
                f"manifest {repository}@{reference} from {self.registry} does not match its digest",
                hint="the registry or a proxy altered the content; try again or report it",
            )
        media_type = r.headers.get("Content-Type", "").split(";")[0].strip()
        return data, media_type, digest

    def head_manifest(self, repository: str, reference: str) -> str | None:
        """The digest ``reference`` points at, or None when there is no such manifest."""
        r = self._request("HEAD", self._url(repository, f"manifests/{reference}"), scopes=_pull(repository),
                          headers={"Accept": ", ".join(MANIFEST_ACCEPT)})
        if r.status_code == 404:
            return None
        self._check(r, (200,), f"manifest {_named(repository, reference)}")
        digest = r.headers.get("Docker-Content-Digest")
        if digest:
            return digest
        # Some registries omit the header on HEAD: fall back to reading the manifest.
        return self.get_manifest(repository, reference)[2]

    def blob_exists(self, repository: str, digest: str) -> bool:
        r = self._request("HEAD", self._url(repository, f"blobs/{digest}"), scopes=_pull(repository))
        if r.status_code == 404:
            return False
        # A redirect to blob storage means it exists (and a presigned GET URL may refuse a HEAD).
        self._check(r, (200, 302, 303, 307, 308), f"blob {digest} in {repository}")
        return True

    def get_blob(self, repository: str, digest: str, *, max_size: int = SMALL_BLOB_MAX) -> bytes:
        """A small blob (a config) read whole and checked against its digest."""
        with self.open_blob(repository, digest) as f:
            data = f.read(max_size + 1)
        if len(data) > max_size:
            raise RegistryError(f"blob {digest} in {repository} is larger than {max_size} bytes",
                                hint="stream it with open_blob()")
        if _sha256(data) != digest:
            raise RegistryError(f"blob {digest} from {self.registry}/{repository} does not match its digest",
                                hint="the registry or a proxy altered the content; try again or report it")
        return data

    def open_blob(self, repository: str, digest: str) -> BinaryIO:
        """A stream of the blob; it raises RegistryError at the end if the bytes miss the digest."""
        # identity: the digest is of the stored bytes; a layer that is itself gzip must not be
        # decoded because some storage backend labels it Content-Encoding: gzip.
        r = self._request("GET", self._url(repository, f"blobs/{digest}"), scopes=_pull(repository),
                          stream=True, headers={"Accept-Encoding": "identity"})
        self._check(r, (200,), f"blob {digest} in {repository}")
        return io.BufferedReader(_VerifyingReader(r, digest, f"{self.registry}/{repository}"), 1 << 20)

    # --- writing -------------------------------------------------------------------------------

    def put_manifest(self, repository: str, reference: str, data: bytes, media_type: str) -> str:
        """Store a manifest under a tag or its digest; returns the digest (checked)."""
        return self.put_manifest_subject(repository, reference, data, media_type)[0]

    def put_manifest_subject(self, repository: str, reference: str, data: bytes,
                             media_type: str) -> tuple[str, str | None]:
        """``put_manifest``, plus the ``OCI-Subject`` header: a registry with the referrers API
        names the subject it indexed the manifest under (then no fallback tag is needed)."""
        r = self._request("PUT", self._url(repository, f"manifests/{reference}"), scopes=_push(repository),
                          headers={"Content-Type": media_type}, body=data)
        self._check(r, (200, 201), f"pushing manifest {_named(repository, reference)}")
        digest = _sha256(data)
        claimed = r.headers.get("Docker-Content-Digest")
        if claimed and claimed != digest:
            raise RegistryError(f"registry {self.registry} stored manifest {_named(repository, reference)} "
                                f"as {claimed}, expected {digest}",
                                hint="the registry rewrote the manifest; it may not support this media type")
        return digest, r.headers.get("OCI-Subject")

    def get_referrers(self, repository: str, digest: str, artifact_type: str | None = None) -> bytes | None:
        """The referrers API's index of manifests whose subject is ``digest``; None when the
        registry has no such API (404: use the tag fallback)."""
        params = {"artifactType": artifact_type} if artifact_type else None
        r = self._request("GET", self._url(repository, f"referrers/{digest}"), scopes=_pull(repository),
                          headers={"Accept": _OCI_INDEX}, params=params,
                          stream=True)
        if r.status_code in (404, 405):  # no referrers API (2.8 answers 404 to the unknown route)
            r.close()
            return None
        self._check(r, (200,), f"referrers of {repository}@{digest}")
        if r.headers.get("Content-Type", "").split(";")[0].strip() != _OCI_INDEX:
            r.close()
            return None  # a registry that answers some other page here has no referrers API
        return _read_bounded(r, MAX_MANIFEST, f"referrers of {repository}@{digest} from {self.registry}")

    def upload_blob(self, repository: str, digest: str, size: int, opener: Callable[[], BinaryIO], *,
                    mount_from: str | None = None, progress: Progress | None = None,
                    check_exists: bool = True, cancel: Cancel | None = None) -> int:
        """Make ``digest`` exist in ``repository``; returns the bytes sent (0: existed or mounted).

        ``opener`` is called again whenever an upload has to start over, so it must give the same
        bytes each time (a file opened afresh). ``cancel`` is asked before each request and between
        blocks of the body; once it is true the upload stops with ``UploadCancelledError`` (the
        registry is left an unfinished upload session, which it expires).
        """
        if check_exists and self.blob_exists(repository, digest):
            return 0
        try:
            return self._upload_retrying(repository, digest, size, opener, mount_from, progress, cancel)
        except UploadCancelledError:
            raise UploadCancelledError(f"upload of {digest[:19]} to {self.registry}/{repository}") from None

    def _upload_retrying(self, repository: str, digest: str, size: int, opener: Callable[[], BinaryIO],
                         mount_from: str | None, progress: Progress | None, cancel: Cancel | None) -> int:
        attempt = 0
        while True:
            _check_cancel(cancel)
            try:
                return self._upload_once(repository, digest, size, opener, mount_from, progress, cancel)
            except _UploadLost as lost:
                if attempt >= self.retries.attempts:
                    raise RegistryError(
                        f"upload of {digest[:19]} to {self.registry}/{repository} failed "
                        f"{attempt + 1} times: {lost.reason}",
                        hint="check the network and the registry's health, then push again "
                             "(blobs already uploaded are skipped)",
                    ) from None
                log.info("upload of %s to %s lost (%s); starting again", digest[:19], repository, lost.reason)
                self._wait(f"upload of {digest[:19]} to {repository}", attempt, lost.retry_after)
                attempt += 1
                _check_cancel(cancel)
                if self.blob_exists(repository, digest):  # the lost request may have completed it
                    return size
                mount_from = None  # a failed mount is not worth repeating

    def _upload_once(self, repository: str, digest: str, size: int, opener: Callable[[], BinaryIO],
                     mount_from: str | None, progress: Progress | None, cancel: Cancel | None) -> int:
        scopes = _push(repository) + (_pull(mount_from) if mount_from else ())
        params = {"mount": digest, "from": mount_from} if mount_from else None
        r = self._request("POST", self._url(repository, "blobs/uploads/"), scopes=scopes, params=params)
        if r.status_code == 201 and mount_from:
            log.debug("mounted %s from %s into %s", digest[:19], mount_from, repository)
            return 0
        self._check(r, (202,), f"starting an upload to {repository}")
        location = self._location(r)
        with opener() as stream:
            if size <= self.monolithic_max:
                body = _Window(stream, size, progress, 0, size, cancel) if size else None
                r = self._upload_step("PUT", _with_digest(location, digest), repository, body)
                self._check(r, (201,), f"uploading {digest[:19]} to {repository}")
                return size
            offset = 0
            while offset < size:
                length = min(self.chunk_size, size - offset)
                _check_cancel(cancel)
                body = _Window(stream, length, progress, offset, size, cancel)
                headers = {"Content-Range": f"{offset}-{offset + length - 1}"}
                r = self._upload_step("PATCH", location, repository, body, headers)
                self._check(r, (202,), f"uploading {digest[:19]} to {repository}")
                location = self._location(r)
                offset += length
        _check_cancel(cancel)
        r = self._upload_step("PUT", _with_digest(location, digest), repository, None)
        self._check(r, (201,), f"finishing the upload of {digest[:19]} to {repository}")
        return size

    def _upload_step(self, method: str, url: str, repository: str, body: Any,
                     headers: dict[str, str] | None = None) -> requests.Response:
        """One request of an upload session: a transient failure loses the session (no blind resend)."""
        headers = {"Content-Type": "application/octet-stream", **(headers or {})}
        try:
            r = self._request(method, url, scopes=_push(repository), headers=headers, body=body, retry=False)
        except _Transient as t:
            raise _UploadLost(t.reason, t.retry_after) from None
        if r.status_code in RETRY_STATUSES:
            raise _UploadLost(f"HTTP {r.status_code}", parse_retry_after(r.headers.get("Retry-After")))
        if r.status_code in (404, 416) or _error_code(r) in ("BLOB_UPLOAD_UNKNOWN", "BLOB_UPLOAD_INVALID"):
            raise _UploadLost(f"upload session gone (HTTP {r.status_code})")
        return r

    # --- plumbing ------------------------------------------------------------------------------

    def _url(self, repository: str, rest: str) -> str:
        return f"{self.endpoint.base_url}/v2/{repository}/{rest}"

    def _location(self, r: requests.Response) -> str:
        loc = r.headers.get("Location")
        if not loc:
            raise RegistryError(f"registry {self.registry} started an upload without a Location",
                                hint="the registry does not follow the distribution API")
        return urljoin(r.url, loc)

    def _send(self, method: str, url: str, **kw: Any) -> requests.Response:
        """A request with retries on transient faults, no registry auth (used for token servers).

        Redirects are not followed: whatever it carries (credentials, a refresh token in a POST body,
        which a 307 would resend) goes to the URL the registry's challenge named and nowhere else.
        """
        return self._with_retries(lambda: self._session.request(method, url, timeout=self.timeout,
                                                                allow_redirects=False, **kw),
                                  url, retry=True)

    def _request(self, method: str, url: str, *, scopes: Iterable[str], headers: dict[str, str] | None = None,
                 params: Any = None, body: bytes | _Window | None = None, stream: bool = False,
                 retry: bool = True) -> requests.Response:
        if url.startswith("/"):
            url = self.endpoint.base_url + url
        scopes = tuple(scopes)

        def attempt() -> requests.Response:
            # One challenge round: a 401 (first contact, or an expired token) earns one retry.
            for final in (False, True):
                if isinstance(body, _Window):
                    body.rewind()  # a retry after a 401 sends the same bytes again
                r = self._session.request(method, url, headers=self._headers(url, headers, scopes),
                                          params=params, data=body, stream=stream, timeout=self.timeout,
                                          allow_redirects=False)
                if method == "GET":
                    r = self._follow_redirects(r, headers, scopes, stream)
                if r.status_code != 401:
                    return r
                r.close()
                if origin_of(r.url) != self._origin:
                    raise self._foreign_challenge(r.url)
                self.auth.challenge(r, scopes, final=final)
            raise AssertionError("unreachable")

        return self._with_retries(attempt, url, retry=retry)

    def _headers(self, url: str, headers: dict[str, str] | None, scopes: tuple[str, ...]) -> dict[str, str]:
        """The request's headers, with Authorization only for the registry's own origin."""
        if origin_of(url) != self._origin:
            return dict(headers or {})
        return {**(headers or {}), **self.auth.header(scopes)}

    def _follow_redirects(self, r: requests.Response, headers: dict[str, str] | None, scopes: tuple[str, ...],
                          stream: bool) -> requests.Response:
        """Follow a GET's redirects here rather than in requests, so that one rule (``_headers``)
        decides what each hop gets: a blob store on another host gets no registry credentials."""
        for _ in range(MAX_REDIRECTS):
            if not r.is_redirect:
                return r
            target = urljoin(r.url, r.headers["Location"])
            r.close()
            r = self._session.request("GET", target, headers=self._headers(target, headers, scopes),
                                      stream=stream, timeout=self.timeout, allow_redirects=False)
        r.close()
        raise RegistryError(f"registry {self.registry} redirected more than {MAX_REDIRECTS} times",
                            hint="the registry or a proxy in front of it loops; check its configuration")

    def _foreign_challenge(self, url: str) -> AuthError:
        where = show_origin(url)
        return AuthError(
            f"registry {self.registry} sent hydro-ci to {where}, which asks for credentials; they are "
            f"only ever sent to {show_origin(self.endpoint.base_url)}",
            hint="the registry's upload, redirect or next-page URLs must be on its own host and port, "
                 "or accept requests without credentials (as pre-signed storage URLs do)",
        )

    def _with_retries(self, send: Callable[[], requests.Response], url: str, *,
                      retry: bool) -> requests.Response:
        attempts = self.retries.attempts if retry else 0
        for n in range(attempts + 1):
            last = n == attempts
            try:
                r = send()
            except _CONNECTION_ERRORS as e:
                reason = _reason(e)
                if not retry:
                    raise _Transient(reason) from None
                if last:
                    raise RegistryError(
                        f"cannot reach registry {self.registry}: {reason} (after {n + 1} tries)",
                        # --insecure cannot help here (loopback is plain HTTP already), so say
                        # which URL was used rather than send users after a flag that changes nothing.
                        hint=f"check the registry address and the network; tried {self.endpoint.base_url}"
                             " (plain HTTP for registries on this machine, HTTPS otherwise)",
                    ) from None
                log.info("%s: %s; retrying", _path(url), reason)
                self._wait(_path(url), n, None)
                continue
            if r.status_code in RETRY_STATUSES and retry and not last:
                wait = parse_retry_after(r.headers.get("Retry-After"))
                log.info("%s: HTTP %d; retrying%s", _path(url), r.status_code,
                         f" after {wait:.0f}s as asked" if wait is not None else "")
                r.close()
                self._wait(f"{_path(url)} (HTTP {r.status_code})", n, wait)
                continue
            return r
        raise AssertionError("unreachable")

    def _wait(self, what: str, attempt: int, retry_after: float | None) -> None:
        """Back off before another try; a long wait (or a Retry-After beyond the cap) gets a line,
        so a CI log never sits silent for minutes."""
        delay = self.retries.delay(attempt, retry_after)
        if retry_after is not None and retry_after > delay:
            log.warning("registry %s asked to wait %.0f s before retrying %s; waiting %.0f s (the most "
                        "hydro-ci waits)", self.registry, retry_after, what, delay)
        elif delay >= LONG_WAIT:
            log.warning("registry %s: waiting %.0f s before retrying %s", self.registry, delay, what)
        self.retries.sleep(delay)

    def _check(self, r: requests.Response, ok: tuple[int, ...], what: str) -> None:
        if r.status_code in ok:
            return
        code, message = _error_code(r), _error_message(r)
        detail = f"{code}: {message}" if code else f"HTTP {r.status_code}"
        text = f"{what} on {self.registry}: {detail}"
        r.close()
        if r.status_code in (401, 403) or code in ("UNAUTHORIZED", "DENIED"):
            raise AuthError(text, hint="the credentials may not pull/push this repository")
        if r.status_code == 404:
            raise NotFoundError(text, hint="check the repository, tag and digest")
        if r.status_code == 429:
            raise RegistryError(text + " (rate limited; gave up after retries)",
                                hint="log in (anonymous pulls have lower limits) or try again later")
        if r.status_code in RETRY_STATUSES:
            raise RegistryError(text + " (gave up after retries)", hint="the registry is failing; try later")
        if code == "DIGEST_INVALID":
            raise RegistryError(text, hint="the bytes sent are not the ones their digest names: the local "
                                           "copy (layer cache, OCI layout or build context) changed since "
                                           "the image was built; build it again, then push")
        raise RegistryError(text, hint="the registry refused the request")


class _Transient(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _Window(io.RawIOBase):
    """``length`` bytes of ``stream`` from ``offset``, read in small pieces (bounded memory).

    requests sends it with a Content-Length (``__len__``) and reads it block by block; a retry of
    the same request rewinds it (seekable streams) so the same bytes go again. ``cancel`` is asked
    before each block: raising from here makes urllib3 drop the connection mid-body.
    """

    def __init__(self, stream: BinaryIO, length: int, progress: Progress | None, offset: int, total: int,
                 cancel: Cancel | None = None):
        super().__init__()
        self._stream, self._length, self._offset, self._total = stream, length, offset, total
        self._progress, self._cancel = progress, cancel
        self._start_pos = stream.tell() if stream.seekable() else None
        self._left = length
        self._unreported = 0

    def rewind(self) -> None:
        if self._left == self._length:
            return
        if self._start_pos is None:
            raise _Transient("the blob stream cannot be rewound")
        self._stream.seek(self._start_pos)
        self._left = self._length

    def __len__(self) -> int:
        return self._length

    def tell(self) -> int:
        # requests sizes a body as len() minus tell(); RawIOBase.tell() raises, which made
        # requests send every upload chunked (Transfer-Encoding) instead of with a Content-Length.
        return self._length - self._left

    def readable(self) -> bool:
        return True

    def read(self, n: int | None = -1) -> bytes:
        if self._left <= 0:
            return b""
        if self._cancel is not None and self._cancel():
            raise UploadCancelledError("upload")
        n = self._left if n is None or n < 0 else min(n, self._left)
        data = self._stream.read(min(n, 1 << 20))
        if not data:
            raise RegistryError("a blob ended before its declared size",
                                hint="the file changed while it was being pushed; build again")
        self._left -= len(data)
        self._unreported += len(data)
        # Reads come in 16 KiB blocks: report every MiB (and the end), not 65 536 times a GiB.
        if self._progress and (self._unreported >= _PROGRESS_STEP or not self._left):
            self._unreported = 0
            self._progress(self._offset + self._length - self._left, self._total)
        return data

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(64 << 10):
            yield chunk


class _VerifyingReader(io.RawIOBase):
    """A blob response read as a file; checks the digest once the stream ends."""

    def __init__(self, response: requests.Response, digest: str, where: str) -> None:
        super().__init__()
        self._response, self._digest, self._where = response, digest, where
        self._hash = hashlib.sha256()
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._response.raw.read(len(buffer), decode_content=False)
        if data:
            self._hash.update(data)
            buffer[: len(data)] = data
            return len(data)
        if not self._done:
            self._done = True
            if self._digest.startswith("sha256:") and "sha256:" + self._hash.hexdigest() != self._digest:
                raise RegistryError(f"blob {self._digest} from {self._where} does not match its digest",
                                    hint="the registry or a proxy altered the content; try again")
        return 0

    def close(self) -> None:
        self._response.close()
        super().close()


def client_for(image_ref_or_registry: str, *, username: str | None = None, password: str | None = None,
               insecure: bool | None = None, retries: RetryPolicy | None = None) -> RegistryClient:
    """A client for the registry of an image reference (or a bare ``host[:port]``).

    Credentials: explicit ``username``/``password``, else Docker's config (``DOCKER_CONFIG``),
    else anonymous.
    """
    from hydro_ci.image.reference import parse_reference

    text = image_ref_or_registry.rstrip("/")
    host = re.fullmatch(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(:[0-9]+)?", text)
    bare_host = host is not None and ("." in text or host.group(1) or text.startswith(("localhost", "[")))
    registry = text if bare_host else parse_reference(text).registry
    creds = resolve(registry, username=username, password=password)
    return RegistryClient(registry, credentials=creds, insecure=insecure, retries=retries)


def _read_bounded(r: requests.Response, limit: int, what: str) -> bytes:
    """The response body, refused past ``limit`` bytes (a registry's answer is not trusted)."""
    out = bytearray()
    try:
        for block in r.iter_content(64 << 10):
            out += block
            if len(out) > limit:
                break
    except _CONNECTION_ERRORS as e:
        raise RegistryError(f"{what}: the connection broke ({_reason(e)})", hint="try again") from None
    finally:
        r.close()
    data = bytes(out)
    if len(data) > limit:
        raise RegistryError(f"{what} is larger than {limit} bytes",
                            hint="check the registry; this is not a manifest")
    return data


def _as_is(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


def _check_cancel(cancel: Cancel | None) -> None:
    if cancel is not None and cancel():
        raise UploadCancelledError("upload")  # upload_blob names the blob


def _named(repository: str, reference: str) -> str:
    """``repo:tag``, or ``repo@sha256:…`` for a digest (a tag never holds a colon)."""
    return f"{repository}{'@' if ':' in reference else ':'}{reference}"


def _pull(repository: str) -> tuple[str, ...]:
    return (f"repository:{repository}:pull",)


def _push(repository: str) -> tuple[str, ...]:
    return (f"repository:{repository}:pull,push",)


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _with_digest(location: str, digest: str) -> str:
    parts = urlsplit(location)
    query = (parts.query + "&" if parts.query else "") + "digest=" + quote(digest, safe="")
    return urlunsplit(parts._replace(query=query))


def _error_body(r: requests.Response) -> dict[str, Any]:
    try:
        errors = r.json().get("errors") or [{}]
        first = errors[0]
        return first if isinstance(first, dict) else {}
    except (ValueError, AttributeError, IndexError, RuntimeError):
        return {}


def _error_code(r: requests.Response) -> str:
    return str(_error_body(r).get("code") or "")


def _error_message(r: requests.Response) -> str:
    return " ".join(str(_error_body(r).get("message") or "").split())[:200]


def _reason(e: Exception) -> str:
    text = str(e)
    for marker in ("Connection refused", "Connection reset", "Connection aborted", "RemoteDisconnected",
                   "timed out", "Name or service not known", "certificate verify failed", "wrong version"):
        if marker in text:
            return f"{type(e).__name__} ({marker})"
    return type(e).__name__


def _path(url: str) -> str:
    return urlsplit(url).path
