"""OCI 1.1 referrers against real registries: the tag fallback on Debian's docker-registry 2.8 (it
has no referrers API), the API through faultproxy's referrers mode in front of the same registry."""

from __future__ import annotations

import json
from typing import Any

import pytest
from faultproxy import FaultProxy
from regkit import FAST, make_image

from hydro_ci.attest.artifact import Attachment, attach
from hydro_ci.errors import RegistryError
from hydro_ci.image.reference import parse_reference
from hydro_ci.image.remote import push_image
from hydro_ci.registry import RegistryClient
from hydro_ci.registry.referrers import MAX_REFERRERS, fallback_tag, list_referrers, parse_index

pytestmark = pytest.mark.registry

SPDX = Attachment(
    "sbom-spdx",
    "m-1.spdx.json",
    "application/spdx+json",
    "application/spdx+json",
    b'{"spdxVersion":"SPDX-2.3"}',
)
PROV = Attachment(
    "provenance",
    "m-1.intoto.json",
    "application/vnd.in-toto+json",
    "application/vnd.in-toto+json",
    b'{"_type":"https://in-toto.io/Statement/v1"}',
    {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v1"},
)


def _pushed(client: RegistryClient, repo: str) -> tuple[str, int]:
    image = make_image({"x": repo})
    result = push_image(client, parse_reference(f"{client.registry}/{repo}:1.0.0"), image)
    return result.digest, len(image.manifest_bytes)


def _attach_both(client: RegistryClient, repo: str, digest: str, size: int) -> list[Any]:
    return [
        attach(client, repo, a, subject_digest=digest, subject_size=size, epoch=0) for a in (SPDX, PROV)
    ]


def test_fallback_tag_on_a_registry_without_the_api(open_client: RegistryClient, unique_repo: str) -> None:
    digest, size = _pushed(open_client, unique_repo)
    assert open_client.get_referrers(unique_repo, digest) is None  # 2.8 has no referrers API
    pushed = _attach_both(open_client, unique_repo, digest, size)
    assert [p.via for p in pushed] == ["tag", "tag"]
    tag = fallback_tag(digest)
    assert tag == "sha256-" + digest[7:] and tag in open_client.list_tags(unique_repo)
    data, media_type, _ = open_client.get_manifest(unique_repo, tag)
    assert media_type == "application/vnd.oci.image.index.v1+json"
    assert [m["digest"] for m in json.loads(data)["manifests"]] == [p.digest for p in pushed]

    found, via = list_referrers(open_client, unique_repo, digest)
    assert via == "tag"
    assert [(r.artifact_type, r.digest) for r in found] == [
        ("application/spdx+json", pushed[0].digest),
        ("application/vnd.in-toto+json", pushed[1].digest),
    ]
    assert found[1].annotations["in-toto.io/predicate-type"] == "https://slsa.dev/provenance/v1"
    # each referrer is a real OCI 1.1 manifest naming the image as subject
    manifest = json.loads(open_client.get_manifest(unique_repo, pushed[0].digest)[0])
    assert manifest["subject"] == {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": digest,
        "size": size,
    }
    assert manifest["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
    assert open_client.get_blob(unique_repo, manifest["layers"][0]["digest"]) == SPDX.data

    # attaching again adds nothing; a filter keeps one type
    _attach_both(open_client, unique_repo, digest, size)
    assert len(list_referrers(open_client, unique_repo, digest)[0]) == 2
    only, _ = list_referrers(open_client, unique_repo, digest, "application/vnd.in-toto+json")
    assert [r.digest for r in only] == [pushed[1].digest]


def test_fallback_with_authentication(auth_client: RegistryClient, unique_repo: str) -> None:
    digest, size = _pushed(auth_client, unique_repo)
    _attach_both(auth_client, unique_repo, digest, size)
    assert len(list_referrers(auth_client, unique_repo, digest)[0]) == 2


def test_referrers_api_when_the_registry_has_it(open_registry: Any, unique_repo: str) -> None:
    with (
        FaultProxy(open_registry.host, referrers=True) as proxy,
        RegistryClient(proxy.host, insecure=True, retries=FAST) as client,
    ):
        digest, size = _pushed(client, unique_repo)
        pushed = _attach_both(client, unique_repo, digest, size)
        assert [p.via for p in pushed] == ["api", "api"]
        # the registry indexed them: no fallback tag was written
        assert fallback_tag(digest) not in client.list_tags(unique_repo)
        found, via = list_referrers(client, unique_repo, digest)
        assert via == "api"
        assert sorted(r.digest for r in found) == sorted(p.digest for p in pushed)
        only, _ = list_referrers(client, unique_repo, digest, "application/spdx+json")
        assert [r.digest for r in only] == [pushed[0].digest]
        assert any(m == "GET" and "/referrers/" in p for m, p, _ in proxy.log)


@pytest.mark.parametrize(
    "entry",
    [
        {"mediaType": "x", "digest": "sha256:../../etc/passwd", "size": 1},
        {"mediaType": "x", "digest": "sha256:" + "a" * 64, "size": -1},
        {"mediaType": "x", "digest": "sha256:" + "a" * 64, "size": True},
        {"mediaType": "x", "digest": "sha256:" + "a" * 64, "size": 1, "annotations": {"k": 1}},
        "not an object",
    ],
)
def test_a_hostile_index_entry_is_refused(entry: Any) -> None:
    index = {"schemaVersion": 2, "manifests": [entry]}
    with pytest.raises(RegistryError, match=r"not a (valid )?descriptor"):
        parse_index(json.dumps(index).encode(), "an index")


def test_an_index_too_long_or_not_an_index_is_refused() -> None:
    entry = {"mediaType": "x", "digest": "sha256:" + "a" * 64, "size": 1}
    with pytest.raises(RegistryError, match="more than"):
        parse_index(json.dumps({"manifests": [entry] * (MAX_REFERRERS + 1)}).encode(), "an index")
    for junk in (b"[]", b"\xff", b'{"manifests": 3}'):
        with pytest.raises(RegistryError):
            parse_index(junk, "an index")


def test_a_digest_that_is_no_digest_never_reaches_a_url(
    open_client: RegistryClient, unique_repo: str
) -> None:
    with pytest.raises(RegistryError, match="not a sha256 digest"):
        list_referrers(open_client, unique_repo, "sha256:../x")
