"""Pure transforms: appending layers, configuring, media type mapping."""

from __future__ import annotations

from hydro_ci.image import mutate
from hydro_ci.image.model import (
    DOCKER_CONFIG,
    DOCKER_LAYER_GZIP,
    DOCKER_MANIFEST,
    OCI_LAYER,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    BytesBlob,
    Descriptor,
    Digest,
    History,
    Image,
    ImageConfig,
    Manifest,
)


def _docker_base() -> Image:
    layer = BytesBlob.of(DOCKER_LAYER_GZIP, b"base layer")
    config = ImageConfig({"architecture": "amd64", "os": "linux",
                          "config": {"Env": ["PATH=/usr/bin", "PYTHONPATH=/app"], "Cmd": ["sh"]},
                          "rootfs": {"type": "layers", "diff_ids": [str(Digest.of_bytes(b"tar"))]},
                          "history": [{"created_by": "base"}]})
    cb = config.to_bytes()
    manifest = Manifest(Descriptor.of_bytes(DOCKER_CONFIG, cb), (layer.descriptor,), DOCKER_MANIFEST)
    return Image(manifest.to_bytes(), cb, (layer,), DOCKER_MANIFEST)


def test_append_layers_extends_diff_ids_history_and_maps_docker_types() -> None:
    base = _docker_base()
    new = BytesBlob.of(OCI_LAYER, b"new tar")
    out = mutate.append_layers(base, [mutate.Addendum(new, Digest.of_bytes(b"new tar"),
                                                      History(created_by="hydro-ci"))])
    m = out.manifest
    assert m.media_type == OCI_MANIFEST
    assert [d.media_type for d in m.layers] == [OCI_LAYER_GZIP, OCI_LAYER]
    # The base layer keeps its bytes and digest; only its label changes.
    assert m.layers[0].digest == base.manifest.layers[0].digest
    assert out.layers[0].open().read() == b"base layer"
    assert out.config.diff_ids[1] == Digest.of_bytes(b"new tar")
    assert [h.get("created_by") for h in out.config.history] == ["base", "hydro-ci"]
    assert out.config.raw["config"]["Cmd"] == ["sh"]  # fields we do not model survive


def test_configure_merges_labels_and_replaces_env_in_place() -> None:
    cfg = mutate.configure(_docker_base().config, labels={"a": "1"}, env={"PYTHONPATH": "/deps", "X": "y"},
                           working_dir="/model/files", created="1970-01-01T00:00:00Z")
    cfg = mutate.configure(cfg, labels={"b": "2"})
    assert dict(cfg.labels) == {"a": "1", "b": "2"}
    assert cfg.env == ("PATH=/usr/bin", "PYTHONPATH=/deps", "X=y")
    assert (cfg.working_dir, cfg.created) == ("/model/files", "1970-01-01T00:00:00Z")


def test_transforms_do_not_touch_their_input() -> None:
    base = _docker_base()
    before = base.config_bytes
    mutate.configure(base.config, labels={"a": "1"})
    mutate.append_layers(base, [mutate.Addendum(BytesBlob.of(OCI_LAYER, b"t"), Digest.of_bytes(b"t"))])
    assert base.config_bytes == before and base.config.labels == {}


def test_equal_inputs_give_equal_digests_and_annotations_change_it() -> None:
    a = mutate.with_annotations(mutate.to_oci(_docker_base()), {"k": "v"})
    b = mutate.with_annotations(mutate.to_oci(_docker_base()), {"k": "v"})
    c = mutate.with_annotations(mutate.to_oci(_docker_base()), {"k": "w"})
    assert a.manifest_digest == b.manifest_digest != c.manifest_digest
    assert dict(a.manifest.annotations) == {"k": "v"}


def test_scratch_is_empty() -> None:
    s = mutate.scratch()
    assert s.manifest.layers == () and s.config.diff_ids == () and s.layers == ()
