"""Faults a real registry cannot show on demand, injected by a real proxy in front of it.

Transient faults must be retried to success; permanent ones must fail with one line; and after
every script, no tag in the repository may point at an image with a missing blob.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faultproxy import Fault, FaultProxy
from regkit import make_image

from hydro_ci.errors import HydroCIError, RegistryError, TagExistsError
from hydro_ci.image.model import (
    OCI_CONFIG,
    OCI_LAYER,
    BytesBlob,
    Descriptor,
    Digest,
    FileBlob,
    Image,
    ImageConfig,
)
from hydro_ci.image.remote import push_image
from hydro_ci.reference import ImageReference
from hydro_ci.registry import RegistryClient, RetryPolicy
from hydro_ci.registry.credentials import Credentials
from hydro_ci.registry.retry import parse_retry_after

pytestmark = pytest.mark.registry


class Sleeps:
    """Records the waits the client asks for instead of waiting (no timings in tests)."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)


@pytest.fixture
def proxy(registry: Any) -> Iterator[FaultProxy]:
    with FaultProxy(registry.host) as p:
        yield p


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def _client(registry: Any, host: str, sleeps: Sleeps, **kw: Any) -> RegistryClient:
    policy = RetryPolicy(attempts=4, base=0.01, cap=0.05, sleep=sleeps)
    return RegistryClient(host, credentials=Credentials(registry.username, registry.password),
                          insecure=True, retries=policy, chunk_size=256 << 10, monolithic_max=128 << 10, **kw)


def _big_image(tmp_path: Path, seed: bytes = b"w") -> Image:
    """An image whose weights layer (1.25 MiB) is uploaded in PATCH chunks by the test clients."""
    weights = tmp_path / f"weights-{seed.hex()}.bin"
    block = hashlib.sha256(seed).digest() * 1024
    weights.write_bytes(b"".join(bytes([i]) + block[1:] for i in range(40)))
    layer = FileBlob(Descriptor(OCI_LAYER, Digest.of_file(weights), weights.stat().st_size), weights)
    small = BytesBlob.of(OCI_LAYER, b"code " + seed)
    config = ImageConfig.empty().to_dict()
    config["rootfs"]["diff_ids"] = [str(small.descriptor.digest), str(layer.descriptor.digest)]
    return Image.assemble(ImageConfig(config), [small, layer])


def assert_tags_complete(client: RegistryClient, repo: str) -> list[str]:
    """Every tag's manifest and every blob it references exist (HEAD each): the safety invariant."""
    tags = client.list_tags(repo)
    for tag in tags:
        data, media_type, _ = client.get_manifest(repo, tag)
        from hydro_ci.image.model import Manifest

        manifest = Manifest.from_bytes(data, media_type)
        for d in (manifest.config, *manifest.layers):
            assert client.blob_exists(repo, str(d.digest)), f"{repo}:{tag} references missing {d.digest}"
    return tags


TRANSIENT = {
    "dropped connections": [Fault("drop", "HEAD", r"/blobs/"), Fault("drop", "POST", r"/blobs/uploads/"),
                            Fault("drop", "GET", r"/manifests/")],
    "500s": [Fault("status", "POST", r"/blobs/uploads/", times=2, status=500),
             Fault("status", "PUT", r"/manifests/", status=502)],
    "429 with Retry-After": [Fault("status", "PUT", r"/manifests/", status=429, retry_after="3"),
                             Fault("status", "HEAD", r"/manifests/", status=429, retry_after="2")],
    "dropped chunk": [Fault("drop", "PATCH", r"/blobs/uploads/")],
    "500 on a chunk": [Fault("status", "PATCH", r"/blobs/uploads/", status=500, times=2)],
    "dropped final PUT": [Fault("drop", "PUT", r"/blobs/uploads/", times=2)],
    "401 (expired token)": [Fault("unauthorized", "PUT", r"/manifests/"),
                            Fault("unauthorized", "PATCH", r"/blobs/uploads/")],
    "503 on the tag list": [Fault("status", "GET", r"/tags/list", status=503)],
}


@pytest.mark.parametrize("script", list(TRANSIENT), ids=list(TRANSIENT))
def test_transient_faults_are_retried_to_success(script: str, registry: Any, proxy: FaultProxy,
                                                 sleeps: Sleeps, unique_repo: str, tmp_path: Path) -> None:
    faults = [Fault(**{**f.__dict__}) for f in TRANSIENT[script]]
    proxy.add(*faults)
    client = _client(registry, proxy.host, sleeps)
    image = _big_image(tmp_path)
    result = push_image(client, ImageReference(proxy.host, unique_repo), image,
                        immutable_tags=["1.0.0"], moving_tags=["latest"])
    assert result.digest == str(image.manifest_digest)
    assert sorted(client.list_tags(unique_repo)) == ["1.0.0", "latest"]
    assert all(f.hits > 0 for f in faults), [(f.action, f.method, f.path, f.hits) for f in faults]
    assert assert_tags_complete(client, unique_repo)
    if script == "429 with Retry-After":
        assert 3.0 in sleeps.asked and 2.0 in sleeps.asked  # the server's wait, not our own guess


def test_slow_response_times_out_and_is_retried(registry: Any, proxy: FaultProxy, sleeps: Sleeps,
                                                unique_repo: str, tmp_path: Path) -> None:
    fault = Fault("slow", "HEAD", r"/manifests/", delay=1.5)
    proxy.add(fault)
    client = _client(registry, proxy.host, sleeps, timeout=(5.0, 0.5))
    image = make_image({"k": "v"})
    push_image(client, ImageReference(proxy.host, unique_repo), image, immutable_tags=["1.0.0"])
    assert fault.hits == 1 and len(sleeps.asked) >= 1
    assert client.list_tags(unique_repo) == ["1.0.0"]


PERMANENT = {
    "manifest put always 500": ([Fault("status", "PUT", r"/manifests/", times=99, status=500)],
                                "HTTP 500", []),
    "chunks always dropped": ([Fault("drop", "PATCH", r"/blobs/uploads/", times=99)],
                              "failed 5 times", []),
    "version tag put always 503": ([Fault("status", "PUT", r"/manifests/1\.0\.0$", times=99, status=503)],
                                   "HTTP 503", []),
    "moving tag put always 500": ([Fault("status", "PUT", r"/manifests/latest$", times=99, status=500)],
                                  "HTTP 500", ["1.0.0"]),
    "registry gone": ([Fault("drop", None, r"", times=999)], "cannot reach registry", []),
    "push denied": ([Fault("status", "POST", r"/blobs/uploads/", times=99, status=403)],
                    "DENIED: injected HTTP 403", []),
}


@pytest.mark.parametrize("script", list(PERMANENT), ids=list(PERMANENT))
def test_permanent_faults_fail_in_one_line_and_leave_no_broken_tag(
        script: str, registry: Any, proxy: FaultProxy, sleeps: Sleeps, unique_repo: str,
        tmp_path: Path) -> None:
    faults, message, tags_after = PERMANENT[script]
    proxy.add(*[Fault(**{**f.__dict__}) for f in faults])
    client = _client(registry, proxy.host, sleeps)
    with pytest.raises(RegistryError) as err:
        push_image(client, ImageReference(proxy.host, unique_repo), _big_image(tmp_path),
                   immutable_tags=["1.0.0"], moving_tags=["latest"])
    assert message in str(err.value)
    assert "\n" not in str(err.value) and err.value.hint
    direct = _client(registry, registry.host, sleeps)
    assert sorted(assert_tags_complete(direct, unique_repo)) == tags_after


def test_interrupted_push_then_resume_uploads_only_the_rest(registry: Any, proxy: FaultProxy, sleeps: Sleeps,
                                                            unique_repo: str, tmp_path: Path) -> None:
    image = _big_image(tmp_path)
    proxy.add(Fault("status", "PUT", r"/manifests/", times=99, status=500))
    client = _client(registry, proxy.host, sleeps)
    ref = ImageReference(proxy.host, unique_repo)
    with pytest.raises(RegistryError):
        push_image(client, ref, image, immutable_tags=["1.0.0"])
    assert client.list_tags(unique_repo) == []
    proxy.clear()
    result = push_image(client, ref, image, immutable_tags=["1.0.0"])
    assert result.bytes_uploaded == 0 and result.blobs_skipped == 3 and not result.skipped
    assert assert_tags_complete(client, unique_repo) == ["1.0.0"]


def test_version_tag_holding_another_digest_is_refused_before_upload(
        registry: Any, proxy: FaultProxy, sleeps: Sleeps, unique_repo: str, tmp_path: Path) -> None:
    client = _client(registry, proxy.host, sleeps)
    ref = ImageReference(proxy.host, unique_repo)
    first = push_image(client, ref, make_image({"v": "1"}), immutable_tags=["1.0.0"], moving_tags=["latest"])
    proxy.log.clear()
    other = _big_image(tmp_path)
    with pytest.raises(TagExistsError) as err:
        push_image(client, ref, other, immutable_tags=["1.0.0"], moving_tags=["latest"])
    assert str(err.value).startswith(f"{proxy.host}/{unique_repo}:1.0.0 already holds {first.digest}")
    assert [m for m, _, _ in proxy.log] == ["HEAD"]  # one look at the tag, not one byte uploaded
    assert client.head_manifest(unique_repo, "latest") == first.digest


def test_tag_pagination_follows_link(registry: Any, sleeps: Sleeps, unique_repo: str) -> None:
    with FaultProxy(registry.host, paginate_tags=True) as paging:
        client = _client(registry, paging.host, sleeps)
        image = make_image()
        for blob in image.blobs():
            d = blob.descriptor
            client.upload_blob(unique_repo, str(d.digest), d.size, blob.open)
        tags = [f"0.{i}.0" for i in range(23)]
        for tag in tags:
            client.put_manifest(unique_repo, tag, image.manifest_bytes, image.manifest_media_type)
        paging.log.clear()
        assert sorted(client.list_tags(unique_repo, page_size=5)) == sorted(tags)
        pages = [p for m, p, _ in paging.log if "/tags/list" in p]
        assert len(pages) == 5 and "last=" in pages[-1]


def test_retry_after_parsing() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    assert RetryPolicy(max_retry_after=60).delay(0, 3600.0) == 60.0


def test_manifest_with_missing_blob_is_refused_by_the_registry(open_client: RegistryClient,
                                                               unique_repo: str) -> None:
    """The registry's own check our 'no broken tag' guarantee leans on (manifest put last)."""
    config = BytesBlob.of(OCI_CONFIG, ImageConfig.empty().to_bytes())
    image = Image.assemble(ImageConfig.empty(), [BytesBlob.of(OCI_LAYER, b"never uploaded")])
    open_client.upload_blob(unique_repo, str(config.descriptor.digest), config.descriptor.size, config.open)
    with pytest.raises(HydroCIError) as err:
        open_client.put_manifest(unique_repo, "1.0.0", image.manifest_bytes, image.manifest_media_type)
    assert "MANIFEST_BLOB_UNKNOWN" in str(err.value)
    assert open_client.list_tags(unique_repo) == []


def test_corrupted_content_is_detected_and_nothing_is_tagged(registry: Any, proxy: FaultProxy, sleeps: Sleeps,
                                                              unique_repo: str) -> None:
    client = _client(registry, proxy.host, sleeps)
    image = make_image({"k": "v"})
    # The read-back of the manifest comes back altered: the push stops before any tag is set.
    proxy.add(Fault("corrupt", "GET", r"/manifests/sha256:"))
    with pytest.raises(RegistryError, match="does not match its digest"):
        push_image(client, ImageReference(proxy.host, unique_repo), image, immutable_tags=["1.0.0"])
    assert client.list_tags(unique_repo) == []
    config = image.manifest.config
    proxy.add(Fault("corrupt", "GET", r"/blobs/sha256:"))
    with pytest.raises(RegistryError, match="does not match its digest"):
        client.get_blob(unique_repo, str(config.digest))
    assert client.get_blob(unique_repo, str(config.digest)) == image.config_bytes


def test_rate_limit_that_never_lifts_is_one_line(registry: Any, proxy: FaultProxy, sleeps: Sleeps,
                                                 unique_repo: str) -> None:
    proxy.add(Fault("status", "GET", r"/tags/list", times=99, status=429, retry_after="7"))
    client = _client(registry, proxy.host, sleeps)
    with pytest.raises(RegistryError) as err:
        client.list_tags(unique_repo)
    assert str(err.value).endswith("TOOMANYREQUESTS: injected HTTP 429 (rate limited; gave up after retries)")
    assert sleeps.asked == [7.0] * 4  # every wait was the server's, retries as configured
