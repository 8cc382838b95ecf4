"""The image a Hydrosphere-format folder becomes: its payload where Hydrosphere's hs 2.x put it
(/model/files/<basename>), checked inside the layers of a daemonless build (no engine needed)."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from hydro_ci.cli import main
from hydro_ci.contract.proto import from_protobin

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hydrosphere"


def layer_files(layout: Path, tag: str) -> dict[str, bytes]:
    """Every regular file in the image's layers (later layers win), read from the OCI layout."""
    index = json.loads((layout / "index.json").read_text())
    (ref,) = [m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == tag]

    def blob(digest: str) -> bytes:
        return (layout / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()

    manifest = json.loads(blob(ref["digest"]))
    files: dict[str, bytes] = {}
    for layer in manifest["layers"]:
        data = blob(layer["digest"])
        raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
            for member in tar.getmembers():
                if member.isfile():
                    extracted = tar.extractfile(member)
                    assert extracted is not None
                    files[member.name.lstrip("./")] = extracted.read()
    return files


def build(folder: Path, out: Path) -> dict[str, bytes]:
    code = main(["build", str(folder), "--image", "local/hydrosphere-layout", "--version", "1.0.0",
                 "--builder", "oci", "--base-image", "scratch", "--output-layout", str(out / "layout"),
                 "--output", str(out / "context")])
    assert code == 0
    return layer_files(out / "layout", "1.0.0")


def repository(tmp_path: Path, *names: str) -> Path:
    """A git work tree holding copies of fixture folders under models/."""
    repo = tmp_path / "repo"
    (repo / "models").mkdir(parents=True)
    for name in names:
        shutil.copytree(FIXTURES / name, repo / "models" / name)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def test_nested_payload_lands_under_basenames_in_the_image(tmp_path: Path) -> None:
    repo = repository(tmp_path, "nested_payload", "shared")
    folder = repo / "models" / "nested_payload"
    serving = folder / "serving.yaml"  # no install: the daemonless build would fetch the wheel
    serving.write_text("".join(line for line in serving.read_text().splitlines(keepends=True)
                               if not line.startswith("install-command")))
    files = build(folder, tmp_path / "out")
    shipped = sorted(name for name in files if name.startswith("model/"))
    assert shipped == ["model/contract.protobin", "model/files/a.json", "model/files/b.json",
                       "model/files/forecaster.pkl", "model/files/requirements.txt",
                       "model/files/src/func_main.py"]
    # what func_main.py loads is there: /model/files/forecaster.pkl
    assert b'"/model/files/forecaster.pkl"' in files["model/files/src/func_main.py"]
    assert files["model/files/forecaster.pkl"] == b"forecaster weights\n"
    shared = repo / "models" / "shared" / "requirements.txt"
    assert files["model/files/requirements.txt"] == shared.read_bytes()
    assert from_protobin(files["model/contract.protobin"]).name == "predict"


def test_payload_outside_the_repository_is_refused_unless_trusted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    repo = repository(tmp_path, "serving_yml")
    folder = repo / "models" / "serving_yml"
    outside = tmp_path / "host-secret.txt"
    outside.write_text("not for the image\n")
    serving = folder / "serving.yml"
    text = serving.read_text()
    serving.write_text(text.replace('"requirements.txt"]', f'"requirements.txt", "{outside}"]'))
    code = main(["build", str(folder), "--image", "local/x", "--version", "1.0.0", "--builder", "oci",
                 "--base-image", "scratch", "--output", str(tmp_path / "ctx")])
    assert code == 1
    assert "resolves outside the repository" in capsys.readouterr().err
    monkeypatch.setenv("HYDRO_CI_TRUST_PAYLOAD_OUTSIDE", "1")
    files = build(folder, tmp_path / "trusted")
    assert files["model/files/host-secret.txt"] == b"not for the image\n"


@pytest.mark.parametrize("name", ["legacy_01x", "legacy_00x", "prototxt_v2"])
def test_contract_migrate_builds_the_same_image_layout(tmp_path: Path, name: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """An older-format folder read directly and the folder `contract migrate --write` made of it
    give the same files under /model (the migrated files themselves aside) and the same contract."""
    repo = repository(tmp_path, name)
    folder = repo / "models" / name
    before = build(folder, tmp_path / "legacy")
    assert {"model/contract.protobin", "model/files/src/func_main.py",
            "model/files/requirements.txt"} <= set(before)
    capsys.readouterr()
    assert main(["contract", "migrate", str(folder)]) == 0
    diff = capsys.readouterr().out
    assert diff.startswith("--- a/") and "+++ b/" in diff
    assert main(["contract", "migrate", str(folder), "--write"]) == 0
    assert main(["contract", "check", str(folder)]) == 0
    assert "legacy-format" not in capsys.readouterr().out
    after = build(folder, tmp_path / "migrated")
    assert sorted(before) == sorted(after)
    migrated = {"model/files/serving.yaml", "model/files/contract.prototxt"}
    assert {k: v for k, v in before.items() if k not in migrated} == {
        k: v for k, v in after.items() if k not in migrated}
    assert main(["contract", "migrate", str(folder)]) == 0
    assert "nothing to migrate" in capsys.readouterr().err


def image_config(layout: Path, tag: str) -> dict[str, object]:
    index = json.loads((layout / "index.json").read_text())
    (ref,) = [m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == tag]
    blobs = layout / "blobs" / "sha256"
    manifest = json.loads((blobs / ref["digest"].split(":", 1)[1]).read_bytes())
    config: dict[str, object] = json.loads(
        (blobs / manifest["config"]["digest"].split(":", 1)[1]).read_bytes())
    return config


def test_each_model_of_a_serving_file_is_an_image_of_its_own(tmp_path: Path) -> None:
    """Two Models (and an Application) in one serving.yaml: the pipeline of each builds an image
    named by its Model, with that Model's own payload, each entry resolved relative to the folder."""
    folder = Path(shutil.copytree(FIXTURES / "several_models", tmp_path / "several_models"))
    dist = tmp_path / "dist"
    for name in ("scorer", "ranker"):
        assert main(["pipeline", str(folder), "--model", name, "--base-image", "scratch", "--dist", str(dist),
                     "--output", str(tmp_path / "out" / name)]) == 0
    scorer = layer_files(dist / "scorer-0.1.0.oci", "0.1.0")
    ranker = layer_files(dist / "ranker-0.1.0.oci", "0.1.0")
    assert sorted(n for n in scorer if n.startswith("model/")) == [
        "model/contract.protobin", "model/files/src/func_main.py", "model/files/weights.txt"]
    assert sorted(n for n in ranker if n.startswith("model/")) == [
        "model/contract.protobin", "model/files/labels.txt", "model/files/src/func_main.py"]
    assert scorer["model/files/src/func_main.py"] == (folder / "scorer/src/func_main.py").read_bytes()
    assert ranker["model/files/src/func_main.py"] == (folder / "ranker/src/func_main.py").read_bytes()
    assert from_protobin(scorer["model/contract.protobin"]).name == "predict"
    assert from_protobin(ranker["model/contract.protobin"]).name == "rank"
    for name in ("scorer", "ranker"):
        config = image_config(dist / f"{name}-0.1.0.oci", "0.1.0")
        labels = config["config"]["Labels"]  # type: ignore[index]
        assert (labels["MODEL_NAME"], labels["org.opencontainers.image.title"]) == (name, name)
        assert json.loads((tmp_path / "out" / name / "summary.json").read_text())["model"] == name
