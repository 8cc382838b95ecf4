"""The pipeline attests and signs what it pushes; `hydro-ci verify` checks it and builds it again.

Real git (a bare "remote" the provenance names), the real registry (2.8: the referrers tag
fallback), the real CLI in subprocesses.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from hydro_ci.image.model import OCI_LAYER, BytesBlob, Image, ImageConfig
from hydro_ci.image.reference import parse_reference
from hydro_ci.image.remote import push_image
from hydro_ci.registry import RegistryClient
from hydro_ci.sign.keys import generate_key_pair

from .conftest import copy_example, git, hydro_ci, init_repo, read_json

pytestmark = [pytest.mark.registry, pytest.mark.slow]


def _base(registry: str, repo: str) -> str:
    """A small base image in the registry, so the build pins a base by digest."""
    layer = BytesBlob.of(OCI_LAYER, b"base layer bytes")
    config = ImageConfig.empty().to_dict()
    config["rootfs"]["diff_ids"] = [str(layer.descriptor.digest)]
    ref = f"{registry}/{repo}/base:1"
    with RegistryClient(registry, insecure=True) as c:
        push_image(c, parse_reference(ref), Image.assemble(ImageConfig(config), [layer]))
    return ref


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    """(work tree, bare remote) with the iris example committed and pushed."""
    remote = tmp_path / "remote.git"
    git(["init", "-q", "--bare", "-b", "main", str(remote)], tmp_path)
    root = tmp_path / "repo"
    copy_example("iris-sklearn", root / "models")
    init_repo(root)
    git(["remote", "add", "origin", str(remote)], root)
    git(["push", "-q", "origin", "main"], root)
    return root, remote


def test_pipeline_attests_signs_and_verify_reproduces_the_digest(
        project: tuple[Path, Path], tmp_path: Path, open_registry: Any, unique_repo: str) -> None:
    root, remote = project
    private, public = generate_key_pair(b"pw")
    (tmp_path / "cosign.key").write_bytes(private)
    (tmp_path / "cosign.pub").write_bytes(public)
    image = f"{open_registry.host}/{unique_repo}"
    base = _base(open_registry.host, unique_repo)
    args = ["pipeline", "models/iris-sklearn", "--image", image, "--base-image", base, "--push", "--sbom",
            "--provenance", "--sign-key", str(tmp_path / "cosign.key")]

    # --dry-run says what would be attached and signed, and attaches nothing
    dry = hydro_ci([*args, "--dry-run"], root, env={"COSIGN_PASSWORD": "pw"})
    assert "attest" in dry.stdout + dry.stderr
    attest_plan = read_json(root / ".hydro-ci/iris-sklearn/attest.json")
    assert attest_plan["dry_run"] and attest_plan["sign"].endswith("cosign.key")
    assert attest_plan["attach"] == ["SPDX SBOM", "CycloneDX SBOM", "provenance"]

    gh_out = tmp_path / "gh-output"
    run = hydro_ci([*args, "--format", "github"], root,
                   env={"COSIGN_PASSWORD": "pw", "GITHUB_OUTPUT": str(gh_out)})
    assert "  attached sbom-spdx sha256:" in run.stdout and "  signed   sha256-" in run.stdout
    out = root / ".hydro-ci/iris-sklearn"
    attested = read_json(out / "attest.json")
    digest = read_json(out / "push.json")["digest"]
    assert attested["digest"] == digest
    assert [r["kind"] for r in attested["referrers"]] == ["sbom-spdx", "sbom-cyclonedx", "provenance"]
    assert {r["via"] for r in attested["referrers"]} == {"tag"}  # docker-registry 2.8: the fallback
    assert attested["signature"]["tag"] == f"sha256-{digest[7:]}.sig"
    assert Path(root / attested["files"]["sbom-spdx"]).is_file()
    # the Action's outputs: each referrer's digest, and the signature manifest's
    outputs = dict(line.split("=", 1) for line in gh_out.read_text().splitlines() if "=" in line)
    assert json.loads(outputs["referrers"]) == {r["kind"]: r["digest"] for r in attested["referrers"]}
    assert outputs["signature"] == attested["signature"]["digest"]
    summary = (out / "summary.md").read_text()
    assert "### Attestations" in summary and attested["signature"]["tag"] in summary

    # verify: the signature, the signed provenance, then a rebuild from a fresh clone of the remote
    ok = hydro_ci(["verify", f"{image}:0.1.0", "--key", str(tmp_path / "cosign.pub"), "--json"], tmp_path)
    result = json.loads(ok.stdout)
    assert result["ok"] and result["signatures"] == 1 and result["provenance"]["signed"]
    assert result["provenance"]["repository"] == str(remote)
    assert result["reproduced"] and result["rebuilt"] == digest
    text = hydro_ci(["verify", f"{image}:0.1.0", "--key", str(tmp_path / "cosign.pub")], tmp_path).stdout
    assert f"reproduced: {digest} equals the registry's" in text

    # another key: refused before anything else
    _, other = generate_key_pair()
    (tmp_path / "other.pub").write_bytes(other)
    bad = hydro_ci(["verify", f"{image}:0.1.0", "--key", str(tmp_path / "other.pub"), "--no-rebuild"],
                   tmp_path, check=False)
    assert bad.returncode == 1 and "no signature by" in bad.stderr


def test_verify_names_the_file_that_differs_from_the_recorded_commit(
        project: tuple[Path, Path], tmp_path: Path, open_registry: Any, unique_repo: str) -> None:
    """An image built from a changed payload, with a provenance claiming the original commit."""
    root, _ = project
    base = _base(open_registry.host, unique_repo)
    honest = f"{open_registry.host}/{unique_repo}"
    hydro_ci(["pipeline", "models/iris-sklearn", "--image", honest, "--base-image", base, "--push",
              "--provenance"], root)
    statement = json.loads((root / "dist/iris-sklearn-0.1.0.intoto.json").read_text())

    git(["checkout", "-q", "-b", "change"], root)
    func = root / "models/iris-sklearn/src/func_main.py"
    func.write_text(func.read_text() + "\n# changed on a branch\n")
    git(["commit", "-q", "-am", "change"], root)
    forged_repo = f"{unique_repo}/forged"
    forged = f"{open_registry.host}/{forged_repo}"
    hydro_ci(["pipeline", "models/iris-sklearn", "--image", forged, "--base-image", base, "--push",
              "--version", "0.1.0", "--output", str(tmp_path / "o2"), "--dist", str(tmp_path / "d2")], root)
    digest = read_json(tmp_path / "o2/push.json")["digest"]
    # the lie: the original commit's statement, re-pointed at the changed image
    statement["subject"][0]["digest"]["sha256"] = digest[7:]
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from hydro_ci.attest.artifact import Attachment, attach

    data = json.dumps(statement).encode()
    with RegistryClient(open_registry.host, insecure=True) as c:
        manifest = c.get_manifest(forged_repo, digest)[0]
        attach(c, forged_repo, Attachment("provenance", "p.json", "application/vnd.in-toto+json",
                                          "application/vnd.in-toto+json", data),
               subject_digest=digest, subject_size=len(manifest), epoch=0)
    proc = hydro_ci(["verify", f"{forged}:0.1.0"], tmp_path, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "not reproduced" in proc.stderr
    assert "(code layer): /model/files/src/func_main.py differs" in proc.stderr


def test_a_wrong_key_password_fails_before_anything_is_pushed(
        project: tuple[Path, Path], tmp_path: Path, open_registry: Any, unique_repo: str) -> None:
    root, _ = project
    (tmp_path / "cosign.key").write_bytes(generate_key_pair(b"right")[0])
    image = f"{open_registry.host}/{unique_repo}"
    proc = hydro_ci(["pipeline", "models/iris-sklearn", "--image", image, "--push", "--provenance",
                     "--sign-key", str(tmp_path / "cosign.key")], root, env={"COSIGN_PASSWORD": "wrong"},
                    check=False)
    assert proc.returncode == 1 and "wrong password" in proc.stderr and "Traceback" not in proc.stderr
    with RegistryClient(open_registry.host, insecure=True) as c:
        assert c.list_tags(unique_repo) == []
