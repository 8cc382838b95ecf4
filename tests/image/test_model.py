"""The pure image model: digests, descriptors, manifests, indexes and canonical bytes."""

from __future__ import annotations

import hashlib
import json

import pytest

from hydro_ci.image.model import (
    DOCKER_MANIFEST,
    OCI_CONFIG,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    BytesBlob,
    Descriptor,
    Digest,
    Image,
    ImageConfig,
    ImageFormatError,
    Index,
    Manifest,
    Platform,
    PushableImage,
    canonical_json,
)

HEX = "a" * 64


def test_digest_parses_and_prints() -> None:
    d = Digest.parse(f"sha256:{HEX}")
    assert (d.algorithm, d.hex, str(d)) == ("sha256", HEX, f"sha256:{HEX}")
    assert Digest.of_bytes(b"x") == Digest("sha256", hashlib.sha256(b"x").hexdigest())


@pytest.mark.parametrize("text", ["sha256:abc", f"md5:{HEX}", f"sha256:{HEX.upper()}", HEX, ""])
def test_digest_rejects_malformed(text: str) -> None:
    with pytest.raises(ImageFormatError, match="invalid digest"):
        Digest.parse(text)


def test_canonical_json_is_sorted_and_compact() -> None:
    expected = '{"a":{"c":"é","d":[1,2]},"b":1}'.encode()
    assert canonical_json({"b": 1, "a": {"d": [1, 2], "c": "é"}}) == expected


def test_descriptor_round_trip_keeps_platform_and_annotations() -> None:
    d = Descriptor(OCI_MANIFEST, Digest.parse(f"sha256:{HEX}"), 12, {"k": "v"},
                   Platform("arm64", "linux", "v8"))
    assert Descriptor.from_dict(d.to_dict()) == d
    assert d.to_dict()["platform"] == {"architecture": "arm64", "os": "linux", "variant": "v8"}


def test_descriptor_without_digest_is_refused() -> None:
    with pytest.raises(ImageFormatError, match="lacks mediaType/digest/size"):
        Descriptor.from_dict({"mediaType": OCI_LAYER_GZIP, "size": 3})


def test_manifest_round_trip_and_docker_type_accepted() -> None:
    cfg = Descriptor.of_bytes(OCI_CONFIG, b"{}")
    m = Manifest(cfg, (Descriptor.of_bytes(OCI_LAYER_GZIP, b"layer"),), annotations={"a": "b"})
    assert Manifest.from_bytes(m.to_bytes()) == m
    docker = json.loads(m.to_bytes())
    docker["mediaType"] = DOCKER_MANIFEST
    assert Manifest.from_bytes(json.dumps(docker).encode()).media_type == DOCKER_MANIFEST


def test_manifest_schema1_is_refused() -> None:
    with pytest.raises(ImageFormatError, match="unsupported manifest"):
        Manifest.from_bytes(b'{"schemaVersion":1,"fsLayers":[]}')


def test_index_selects_platform_and_names_the_choices() -> None:
    amd = Descriptor(OCI_MANIFEST, Digest.parse(f"sha256:{'1' * 64}"), 1, platform=Platform("amd64", "linux"))
    arm = Descriptor(OCI_MANIFEST, Digest.parse(f"sha256:{'2' * 64}"), 1,
                     platform=Platform("arm64", "linux", "v8"))
    index = Index.from_bytes(Index((amd, arm)).to_bytes())
    assert index.select(Platform.parse("linux/arm64")) == arm
    assert index.select(Platform.parse("linux/amd64")) == amd
    with pytest.raises(ImageFormatError, match=r"linux/s390x.*linux/amd64, linux/arm64/v8"):
        index.select(Platform.parse("linux/s390x"))


def test_assembled_image_is_stable_and_pushable() -> None:
    layer = BytesBlob.of(OCI_LAYER_GZIP, b"not really gzip")
    a = Image.assemble(ImageConfig.empty(), [layer], {"x": "y"})
    b = Image.assemble(ImageConfig.empty(), [layer], {"x": "y"})
    assert a.manifest_bytes == b.manifest_bytes
    assert a.manifest_digest == Digest.of_bytes(a.manifest_bytes)
    assert isinstance(a, PushableImage)
    assert [x.descriptor for x in a.blobs()] == [a.manifest.config, layer.descriptor]
    assert a.blobs()[0].open().read() == a.config_bytes


def test_image_refuses_config_that_does_not_match_manifest() -> None:
    good = Image.assemble(ImageConfig.empty(), [])
    with pytest.raises(ImageFormatError, match="config does not match"):
        Image(good.manifest_bytes, b'{"other":1}', ())


def test_config_accessors() -> None:
    cfg = ImageConfig({"config": {"Env": ["A=1", "PATH=/bin", "A=2"], "WorkingDir": "/w",
                                  "Labels": {"l": "v"}},
                       "rootfs": {"diff_ids": [f"sha256:{HEX}"]}, "architecture": "arm64", "os": "linux"})
    assert cfg.env_value("A") == "2" and cfg.env_value("B") is None
    assert (cfg.working_dir, dict(cfg.labels)) == ("/w", {"l": "v"})
    assert cfg.diff_ids == (Digest.parse(f"sha256:{HEX}"),)
    assert str(cfg.platform) == "linux/arm64"
