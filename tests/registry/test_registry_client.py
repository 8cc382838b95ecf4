"""The distribution client against the real test registries (htpasswd on :5000, open on :5001)."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from regkit import FAST, RecordingSession, make_image

from hydro_ci.errors import AuthError, InsecureRegistryError, NotFoundError, RegistryError
from hydro_ci.image.remote import read_image, read_labels
from hydro_ci.reference import parse_reference
from hydro_ci.registry import Keychain, RegistryClient, client_for
from hydro_ci.registry.credentials import Credentials

pytestmark = pytest.mark.registry


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _push_small(client: RegistryClient, repo: str, tag: str, labels: dict[str, str] | None = None) -> str:
    """Upload a tiny image's blobs and tag its manifest; returns the manifest digest."""
    image = make_image(labels, payload=tag.encode())
    for blob in image.blobs():
        d = blob.descriptor
        client.upload_blob(repo, str(d.digest), d.size, blob.open)
    return client.put_manifest(repo, tag, image.manifest_bytes, image.manifest_media_type)


def test_ping_with_basic_auth(auth_client: RegistryClient) -> None:
    auth_client.ping()


def test_anonymous_on_auth_registry_says_to_log_in(registry: Any, empty_docker_config: str) -> None:
    client = client_for(registry.host)
    with pytest.raises(AuthError) as err:
        client.ping()
    assert str(err.value) == f"registry {registry.host} requires authentication"
    assert err.value.hint and "docker login" in err.value.hint


def test_wrong_password_is_one_line_without_the_password(registry: Any) -> None:
    wrong = "not-the-password-93af"
    client = client_for(registry.host, Keychain(Credentials(registry.username, wrong)))
    with pytest.raises(AuthError) as err:
        client.list_tags("test/anything")
    text = f"{err.value}\n{err.value.hint}\n{err.value!r}"
    assert "\n" not in str(err.value)
    assert "refused the credentials of 'hydro'" in str(err.value)
    assert wrong not in text and registry.password not in text


def test_manifest_round_trip_and_head(auth_client: RegistryClient, unique_repo: str) -> None:
    image = make_image({"io.hydro-ci.contract": '{"name":"m"}'})
    assert auth_client.head_manifest(unique_repo, "1.0.0") is None
    for blob in image.blobs():
        d = blob.descriptor
        assert auth_client.upload_blob(unique_repo, str(d.digest), d.size, blob.open) == d.size
        assert auth_client.blob_exists(unique_repo, str(d.digest))
        # A second upload of the same blob sends nothing.
        assert auth_client.upload_blob(unique_repo, str(d.digest), d.size, blob.open) == 0
    digest = auth_client.put_manifest(unique_repo, "1.0.0", image.manifest_bytes, image.manifest_media_type)
    assert digest == str(image.manifest_digest)
    assert auth_client.head_manifest(unique_repo, "1.0.0") == digest
    data, media_type, got = auth_client.get_manifest(unique_repo, "1.0.0")
    assert (data, media_type, got) == (image.manifest_bytes, image.manifest_media_type, digest)
    config = image.manifest.config
    assert auth_client.get_blob(unique_repo, str(config.digest)) == image.config_bytes


def test_missing_manifest_and_blob(open_client: RegistryClient, unique_repo: str) -> None:
    with pytest.raises(NotFoundError) as err:
        open_client.get_manifest(unique_repo, "nope")
    assert "MANIFEST_UNKNOWN" in str(err.value) or "NAME_UNKNOWN" in str(err.value)
    assert not open_client.blob_exists(unique_repo, _digest(b"never pushed"))


def test_list_tags_of_unknown_repository_is_empty(open_client: RegistryClient, unique_repo: str) -> None:
    assert open_client.list_tags(unique_repo) == []


def test_list_tags_many(auth_client: RegistryClient, unique_repo: str) -> None:
    image = make_image()
    for blob in image.blobs():
        d = blob.descriptor
        auth_client.upload_blob(unique_repo, str(d.digest), d.size, blob.open)
    tags = [f"0.{i}.0" for i in range(23)]
    for tag in tags:
        auth_client.put_manifest(unique_repo, tag, image.manifest_bytes, image.manifest_media_type)
    # distribution 2.8 ignores n= on tags (pages came in v3): pagination is tested via the proxy.
    assert sorted(auth_client.list_tags(unique_repo, page_size=5)) == sorted(tags)
    assert sorted(auth_client.list_tags(unique_repo)) == sorted(tags)


def test_read_labels_and_pinned_read_image(auth_client: RegistryClient, registry: Any,
                                           unique_repo: str) -> None:
    contract = json.dumps({"name": "m", "signatures": []}, separators=(",", ":"))
    digest = _push_small(auth_client, unique_repo, "2.0.0", {"io.hydro-ci.contract": contract})
    ref = parse_reference(f"{registry.host}/{unique_repo}:2.0.0")
    assert read_labels(auth_client, ref) == {"io.hydro-ci.contract": contract}
    remote = read_image(auth_client, ref)
    assert remote.digest == digest and remote.reference.digest == digest
    layer = remote.image.layers[0]
    with layer.open() as f:
        assert f.read() == b"2.0.0\x00"
    assert layer.source == f"{registry.host}/{unique_repo}"  # type: ignore[attr-defined]


def test_read_image_resolves_an_index_to_the_platform(auth_client: RegistryClient, registry: Any,
                                                      unique_repo: str) -> None:
    from hydro_ci.image.model import OCI_INDEX, Descriptor, Index, Platform

    amd = make_image({"arch": "amd64"}, payload=b"amd")
    arm = make_image({"arch": "arm64"}, payload=b"arm")
    entries = []
    for image, arch in ((amd, "amd64"), (arm, "arm64")):
        for blob in image.blobs():
            d = blob.descriptor
            auth_client.upload_blob(unique_repo, str(d.digest), d.size, blob.open)
        auth_client.put_manifest(unique_repo, str(image.manifest_digest), image.manifest_bytes,
                                 image.manifest_media_type)
        entries.append(Descriptor.of_bytes(image.manifest_media_type, image.manifest_bytes,
                                           platform=Platform(arch, "linux")))
    index = Index(tuple(entries))
    index_digest = auth_client.put_manifest(unique_repo, "multi", index.to_bytes(), OCI_INDEX)
    ref = parse_reference(f"{registry.host}/{unique_repo}:multi")
    remote = read_image(auth_client, ref, platform=Platform("arm64", "linux"))
    assert remote.index_digest == index_digest
    assert remote.digest == str(arm.manifest_digest)
    assert read_labels(auth_client, ref, platform=Platform("amd64", "linux")) == {"arch": "amd64"}


def test_cross_repository_mount(auth_client: RegistryClient, unique_repo: str) -> None:
    data = b"mounted layer " * 100
    digest = _digest(data)
    assert auth_client.upload_blob(unique_repo, digest, len(data), lambda: io.BytesIO(data)) == len(data)
    other = unique_repo + "-other"
    calls: list[str] = []

    def opener() -> io.BytesIO:
        calls.append("opened")
        return io.BytesIO(data)

    assert auth_client.upload_blob(other, digest, len(data), opener, mount_from=unique_repo) == 0
    assert calls == []  # mounted: not a byte read, let alone sent
    assert auth_client.blob_exists(other, digest)


def test_chunked_upload_streams_a_file(registry: Any, unique_repo: str, tmp_path: Path) -> None:
    big = tmp_path / "weights.bin"
    block = hashlib.sha256(b"seed").digest() * 2048  # 64 KiB
    with big.open("wb") as out:
        for i in range(40):  # 2.5 MiB, 5 chunks of 512 KiB plus a tail
            out.write(bytes([i]) + block[1:])
    digest = "sha256:" + hashlib.sha256(big.read_bytes()).hexdigest()
    size = big.stat().st_size
    session = RecordingSession()
    client = RegistryClient(registry.host, credentials=Credentials(registry.username, registry.password),
                            insecure=True, retries=FAST, chunk_size=512 << 10, monolithic_max=256 << 10,
                            session=session)
    seen: list[int] = []
    sent = client.upload_blob(unique_repo, digest, size, lambda: big.open("rb"),
                              progress=lambda n, t: seen.append(n))
    assert sent == size and seen[-1] == size
    assert session.methods().count("PATCH") == 5
    with client.open_blob(unique_repo, digest) as f:
        assert hashlib.sha256(f.read()).hexdigest() == digest.split(":")[1]


def test_upload_with_a_wrong_digest_is_refused(open_client: RegistryClient, unique_repo: str) -> None:
    with pytest.raises(RegistryError) as err:
        open_client.upload_blob(unique_repo, _digest(b"other"), 5, lambda: io.BytesIO(b"bytes"))
    assert "DIGEST_INVALID" in str(err.value)


def test_insecure_is_refused_for_a_remote_registry() -> None:
    with pytest.raises(InsecureRegistryError) as err:
        RegistryClient("registry.example.com", insecure=True)
    assert "\n" not in str(err.value) and "127.0.0.0/8" in str(err.value)
    assert RegistryClient("localhost:5000", insecure=True).endpoint.base_url == "http://localhost:5000"
    assert RegistryClient("[::1]:5000").endpoint.base_url == "http://[::1]:5000"
    assert RegistryClient("ghcr.io").endpoint.base_url == "https://ghcr.io"


def test_unreachable_registry_is_one_line(unique_repo: str) -> None:
    client = RegistryClient("127.0.0.1:9", insecure=True, retries=FAST)  # discard port: nobody listens
    with pytest.raises(RegistryError) as err:
        client.list_tags(unique_repo)
    assert str(err.value).startswith("cannot reach registry 127.0.0.1:9: ConnectionError")
    assert "\n" not in str(err.value)
    # The hint names the URL tried, not a --insecure flag build/push do not have (and that would
    # change nothing for a loopback registry, which is plain HTTP already).
    assert "tried http://127.0.0.1:9" in str(err.value.hint) and "--insecure" not in str(err.value.hint)


def test_empty_blob(open_client: RegistryClient, unique_repo: str) -> None:
    digest = _digest(b"")
    assert open_client.upload_blob(unique_repo, digest, 0, lambda: io.BytesIO(b"")) == 0
    assert open_client.blob_exists(unique_repo, digest)
    assert open_client.get_blob(unique_repo, digest) == b""
