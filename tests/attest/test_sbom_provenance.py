"""SBOM and provenance of a real daemonless build, checked by the formats' own validators
(spdx-tools for SPDX 2.3, CycloneDX's JSON schema through cyclonedx-python-lib)."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from wheelkit import write_wheel

from hydro_ci.attest import facts as facts_mod
from hydro_ci.attest import provenance, sbom
from hydro_ci.attest.artifact import make_attachments
from hydro_ci.build import BuildRequest, OCIOptions
from hydro_ci.build.oci import OCIBuilder
from hydro_ci.contract.model import Contract, DType, Field, ModelFolder, Signature
from hydro_ci.render.assemble import RenderOptions, render_folder
from hydro_ci.sign import keys
from hydro_ci.sign.dsse import open_envelope

CONTRACT = Contract(
    "demo", (Signature("infer", (Field("x", DType.float32, (-1, 3)),), (Field("y", DType.int64, ()),)),)
)


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> facts_mod.BuildFacts:
    wheels = tmp_path / "wheels"
    # The build machine's wheelhouse comes from its own pip settings: a requirements file may not
    # point pip at a folder outside the payload (tests/security/test_host_code.py).
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    write_wheel(wheels, "tinymit", "1.2.3", metadata="License-Expression: MIT\n")
    write_wheel(wheels, "tinyold", "0.9", metadata="License: Some Custom License v2\n")
    root = tmp_path / "model"
    (root / "src").mkdir(parents=True)
    (root / "src" / "func_main.py").write_text("def infer(x):\n    return {'y': 1}\n")
    (root / "model.onnx").write_bytes(b"\x08\x07\x12" + bytes(range(256)) * 8)
    (root / "requirements.txt").write_text("tinymit==1.2.3\ntinyold==0.9\n")
    folder = ModelFolder(
        root=root,
        name="demo",
        runtime="scratch",
        contract=CONTRACT,
        install_command="pip install -r requirements.txt",
    )
    ctx = render_folder(
        folder, RenderOptions(output=tmp_path / "ctx", version="1.0.0", epoch=1_700_000_000)
    )
    builder = OCIBuilder(OCIOptions(cache=tmp_path / "cache", base_from="scratch", python_version="3.11"))
    got = builder.build(BuildRequest(ctx, "127.0.0.1:5000/acme/demo", "1.0.0"))
    return facts_mod.collect(
        ctx, got.image, got.result, repository="127.0.0.1:5000/acme/demo", platform="linux/amd64",
        model_dir=root
    )


def _with_base(f: facts_mod.BuildFacts) -> facts_mod.BuildFacts:
    return dataclasses.replace(
        f,
        base_ref="ghcr.io/acme/python:3.11",
        base_name="ghcr.io/acme/python",
        base_digest="sha256:" + "b" * 64,
    )


def test_facts_of_a_build(built: facts_mod.BuildFacts) -> None:
    assert built.digest.startswith("sha256:") and built.version == "1.0.0"
    by_path = {f.path: f for f in built.files}
    onnx = by_path["/model/files/model.onnx"]
    assert (onnx.format, onnx.framework) == ("onnx", "onnx")
    assert by_path["/model/files/src/func_main.py"].format is None
    assert built.framework == "onnx"
    assert built.contract_sha256 == by_path["/model/contract.protobin"].sha256
    pkgs = {p.name: p for p in built.packages}
    assert pkgs["tinymit"].version == "1.2.3" and pkgs["tinymit"].license == "MIT"
    assert pkgs["tinyold"].license == "Some Custom License v2"
    # pip's report gives each wheel's hash; a local wheel is named, its path on this machine is not
    assert pkgs["tinymit"].sha256 and len(pkgs["tinymit"].sha256) == 64
    assert pkgs["tinymit"].url == "file:tinymit-1.2.3-py3-none-any.whl"
    assert [r.path for r in built.requirement_files] == ["/model/files/requirements.txt"]
    assert built.python_version == "3.11" and built.source_date_epoch == 1_700_000_000
    assert not built.source.commit and built.source.dirty  # not a git repository


@pytest.mark.parametrize("with_base", [False, True])
def test_spdx_document_is_valid_spdx_2_3(
    built: facts_mod.BuildFacts, tmp_path: Path, with_base: bool
) -> None:
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    f = _with_base(built) if with_base else built
    doc = sbom.spdx_document(f)
    path = tmp_path / "sbom.spdx.json"
    path.write_text(json.dumps(doc))
    messages = validate_full_spdx_document(parse_file(str(path)), "SPDX-2.3")
    assert [m.validation_message for m in messages] == []
    names = {p["name"]: p for p in doc["packages"]}
    assert names["/model/files/model.onnx"]["checksums"][0]["checksumValue"] == next(
        x.sha256 for x in f.files if x.path.endswith("model.onnx")
    )
    assert "model format onnx" in names["/model/files/model.onnx"]["comment"]
    assert names["tinymit"]["licenseDeclared"] == "MIT"
    assert names["tinyold"]["licenseDeclared"].startswith("LicenseRef-")
    assert f"contract sha256:{f.contract_sha256}" in names[f.repository]["comment"]
    if with_base:
        assert any(r["relationshipType"] == "DESCENDANT_OF" for r in doc["relationships"])
    assert sbom.spdx_document(f) == doc  # pure: same facts, same document


def test_spdx_validator_catches_a_broken_document(built: facts_mod.BuildFacts, tmp_path: Path) -> None:
    """The oracle above can fail: a checksum that is not hex is reported."""
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    doc = sbom.spdx_document(built)
    doc["packages"][1]["checksums"][0]["checksumValue"] = "zz"
    path = tmp_path / "bad.spdx.json"
    path.write_text(json.dumps(doc))
    assert validate_full_spdx_document(parse_file(str(path)), "SPDX-2.3")


def test_cyclonedx_document_is_valid_1_6(built: facts_mod.BuildFacts) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    validator = JsonStrictValidator(SchemaVersion.V1_6)
    doc = sbom.cyclonedx_document(_with_base(built))
    assert validator.validate_str(json.dumps(doc)) is None
    models = [c for c in doc["components"] if c["type"] == "machine-learning-model"]
    assert [m["name"] for m in models] == ["/model/files/model.onnx"]
    doc["components"][0]["type"] = "no-such-type"
    assert validator.validate_str(json.dumps(doc)) is not None


def test_provenance_records_what_decides_the_digest(built: facts_mod.BuildFacts) -> None:
    f = _with_base(built)
    doc = provenance.statement(f, [{"name": "x.spdx.json", "digest": {"sha256": "c" * 64}}])
    assert doc["_type"] == "https://in-toto.io/Statement/v1"
    assert doc["predicateType"] == "https://slsa.dev/provenance/v1"
    assert doc["subject"] == [{"name": f.repository, "digest": {"sha256": f.digest[7:]}}]
    ext = doc["predicate"]["buildDefinition"]["externalParameters"]
    assert ext["sourceDateEpoch"] == 1_700_000_000 and ext["version"] == "1.0.0"
    assert ext["base"]["digest"] == "sha256:" + "b" * 64 and ext["platform"] == "linux/amd64"
    assert ext["pip"]["pythonVersion"] == "3.11"
    deps = {d["name"]: d for d in doc["predicate"]["buildDefinition"]["resolvedDependencies"]}
    assert deps["base"]["digest"] == {"sha256": "b" * 64}
    assert deps["tinymit==1.2.3"]["digest"]["sha256"] == next(
        p.sha256 for p in f.packages if p.name == "tinymit"
    )
    assert deps["requirements"]["uri"] == "/model/files/requirements.txt"
    rec = provenance.parse_recorded(provenance.statement_bytes(doc), f.digest)
    assert (rec.version, rec.source_date_epoch, rec.base_digest, rec.python_version) == (
        "1.0.0",
        1_700_000_000,
        "sha256:" + "b" * 64,
        "3.11",
    )
    assert rec.byproducts == (("x.spdx.json", "c" * 64),)
    # the Model of the folder (a serving file may hold several): the one a rebuild loads
    assert ext["source"]["model"] == f.model_name and rec.model == f.model_name
    with pytest.raises(provenance.ProvenanceError, match="not sha256:"):
        provenance.parse_recorded(provenance.statement_bytes(doc), "sha256:" + "0" * 64)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(_type="x"),
        lambda d: d["predicate"]["buildDefinition"]["externalParameters"]["source"].update(
            path="../../etc"
        ),
        lambda d: d["predicate"]["buildDefinition"]["externalParameters"].update(sourceDateEpoch="1"),
        lambda d: d["predicate"]["buildDefinition"]["externalParameters"]["source"].update(
            digest={"gitCommit": "--upload-pack=evil"}
        ),
        lambda d: d["predicate"]["buildDefinition"].update(buildType="https://example.com/other"),
    ],
)
def test_hostile_provenance_is_refused(built: facts_mod.BuildFacts, change: object) -> None:
    doc = provenance.statement(built)
    doc["predicate"]["buildDefinition"]["externalParameters"]["source"]["digest"] = {"gitCommit": "a" * 40}
    change(doc)  # type: ignore[operator]
    with pytest.raises(provenance.ProvenanceError):
        provenance.parse_recorded(provenance.statement_bytes(doc), built.digest)


def test_attachments_sign_the_provenance_which_names_the_sboms(
    built: facts_mod.BuildFacts, tmp_path: Path
) -> None:
    private, _public = keys.generate_key_pair()
    (tmp_path / "k").write_bytes(private)
    key = keys.load_signing_key(tmp_path / "k")
    spdx, cdx, prov = make_attachments(built, key=key)
    assert prov.media_type == "application/vnd.dsse.envelope.v1+json"
    body, ok = open_envelope(prov.data, keys.VerifyingKey(key.public))
    assert ok
    rec = provenance.parse_recorded(body, built.digest)
    assert dict(rec.byproducts) == {spdx.filename: spdx.digest[7:], cdx.filename: cdx.digest[7:]}
    plain = make_attachments(built, sbom_on=False)
    assert [a.kind for a in plain] == ["provenance"] and plain[
        0
    ].media_type == "application/vnd.in-toto+json"


def _recorded(**kw: object) -> provenance.RecordedBuild:
    base = dict(
        digest="sha256:" + "a" * 64,
        repository_uri=None,
        commit="b" * 40,
        dirty=False,
        path=".",
        version="1.0.0",
        source_date_epoch=0,
        base_ref="x",
        base_digest=None,
        base_name=None,
        platform="linux/amd64",
        python_version=None,
        builder_version=None,
        byproducts=(),
    )
    return provenance.RecordedBuild(**{**base, **kw})  # type: ignore[arg-type]


def test_a_rebuild_opens_only_registry_bases_a_provenance_names() -> None:
    from hydro_ci.attest.rebuild import RebuildError, _recorded_base

    digest = "sha256:" + "c" * 64
    assert (
        _recorded_base(_recorded(base_name="ghcr.io/acme/py", base_digest=digest))
        == f"ghcr.io/acme/py@{digest}"
    )
    assert _recorded_base(_recorded(base_ref="scratch")) == "scratch"
    for local in ("docker-daemon:secret/image:1", "oci:/etc:x", "docker-archive:/etc/shadow"):
        with pytest.raises(RebuildError, match="not from a registry"):
            _recorded_base(_recorded(base_ref=local))


def test_an_untracked_payload_file_makes_the_source_dirty(tmp_path: Path) -> None:
    import subprocess

    from hydro_ci.render.context import ContextFile, LayerClass

    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
        "PATH": "/usr/bin:/bin",
    }
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "a.py").write_text("a = 1\n")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "x"]):
        subprocess.run(["git", *args], cwd=tmp_path, env=env, check=True)
    shipped = [ContextFile("model/files/a.py", LayerClass.code, 6, 0o644, "0" * 64)]
    assert not facts_mod._source(tmp_path / "m", shipped).dirty
    (tmp_path / "m" / "w.bin").write_bytes(b"not committed")
    assert not facts_mod._source(tmp_path / "m", shipped).dirty  # not shipped: does not count
    shipped.append(ContextFile("model/files/w.bin", LayerClass.weights, 13, 0o644, "0" * 64))
    src = facts_mod._source(tmp_path / "m", shipped)
    assert src.dirty and src.commit and src.path == "m"
